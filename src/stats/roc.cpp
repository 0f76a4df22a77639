#include "mcval/stats/roc.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "mcval/stats/distributions.h"
#include "tie_groups.h"
#include "validate.h"

namespace mcval::stats {
namespace {

double expit(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// Placements of already validated data, in input order.
DeLongPlacements placements_of(std::span<const int> labels, const detail::TieGroups& groups) {
  const auto [twice_v10, twice_v01] = detail::twice_placements(groups);
  DeLongPlacements result;
  result.auc = detail::auc_from_counts(detail::twice_pair_count(groups), groups.n_positive, groups.n_negative);
  result.positive_placements.reserve(groups.n_positive);
  result.negative_placements.reserve(groups.n_negative);
  const double pos_denominator = 2.0 * static_cast<double>(groups.n_positive);
  const double neg_denominator = 2.0 * static_cast<double>(groups.n_negative);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::uint32_t g = groups.group_of[i];
    if (labels[i] == 1) {
      result.positive_placements.push_back(static_cast<double>(twice_v10[g]) / neg_denominator);
    } else {
      result.negative_placements.push_back(static_cast<double>(twice_v01[g]) / pos_denominator);
    }
  }
  return result;
}

// Sample covariance (denominator n - 1) of two equally long vectors around given means.
double covariance(const std::vector<double>& a, double mean_a, const std::vector<double>& b, double mean_b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += (a[i] - mean_a) * (b[i] - mean_b);
  return sum / static_cast<double>(a.size() - 1);
}

double delong_variance(const DeLongPlacements& p) {
  const double s10 = covariance(p.positive_placements, p.auc, p.positive_placements, p.auc);
  const double s01 = covariance(p.negative_placements, p.auc, p.negative_placements, p.auc);
  return s10 / static_cast<double>(p.positive_placements.size()) +
         s01 / static_cast<double>(p.negative_placements.size());
}

}  // namespace

Result<double> auc(std::span<const int> labels, std::span<const double> scores) {
  MCVAL_TRY(detail::check_binary(labels, scores, true));
  const auto groups = detail::make_tie_groups(labels, scores);
  return detail::auc_from_counts(detail::twice_pair_count(groups), groups.n_positive, groups.n_negative);
}

Result<DeLongPlacements> delong_placements(std::span<const int> labels, std::span<const double> scores) {
  MCVAL_TRY(detail::check_binary(labels, scores, true));
  return placements_of(labels, detail::make_tie_groups(labels, scores));
}

Result<DeLongAuc> delong_auc(std::span<const int> labels, std::span<const double> scores, double confidence) {
  MCVAL_TRY(detail::check_confidence(confidence));
  MCVAL_TRY_ASSIGN(counts, detail::check_binary(labels, scores, true, 2));
  const DeLongPlacements p = placements_of(labels, detail::make_tie_groups(labels, scores));
  DeLongAuc result;
  result.auc = p.auc;
  result.n_positive = counts.positive;
  result.n_negative = counts.negative;
  result.variance = delong_variance(p);
  result.se = std::sqrt(result.variance);
  const double z = normal_critical_value(confidence);
  result.ci = {std::max(0.0, p.auc - z * result.se), std::min(1.0, p.auc + z * result.se)};
  if (p.auc > 0.0 && p.auc < 1.0) {
    const double logit = std::log(p.auc / (1.0 - p.auc));
    const double logit_se = result.se / (p.auc * (1.0 - p.auc));
    result.ci_logit = {expit(logit - z * logit_se), expit(logit + z * logit_se)};
  } else {
    result.ci_logit = {p.auc, p.auc};
  }
  return result;
}

Result<PairedDeLongTest> paired_delong_test(std::span<const int> labels, std::span<const double> scores1,
                                            std::span<const double> scores2, double confidence) {
  MCVAL_TRY(detail::check_confidence(confidence));
  MCVAL_TRY(detail::check_binary(labels, scores1, true, 2));
  MCVAL_TRY(detail::check_binary(labels, scores2, true, 2));
  const DeLongPlacements p1 = placements_of(labels, detail::make_tie_groups(labels, scores1));
  const DeLongPlacements p2 = placements_of(labels, detail::make_tie_groups(labels, scores2));
  const auto m = static_cast<double>(p1.positive_placements.size());
  const auto n = static_cast<double>(p1.negative_placements.size());
  PairedDeLongTest t;
  t.auc1 = p1.auc;
  t.auc2 = p2.auc;
  t.difference = p1.auc - p2.auc;
  t.variance1 = delong_variance(p1);
  t.variance2 = delong_variance(p2);
  t.covariance = covariance(p1.positive_placements, p1.auc, p2.positive_placements, p2.auc) / m +
                 covariance(p1.negative_placements, p1.auc, p2.negative_placements, p2.auc) / n;
  // A variance of a difference can come out a hair below 0 by rounding when the curves are
  // (almost) identical.
  t.se_difference = std::sqrt(std::max(0.0, t.variance1 + t.variance2 - 2.0 * t.covariance));
  if (t.se_difference > 0.0) {
    t.z = t.difference / t.se_difference;
  } else if (t.difference == 0.0) {
    t.z = 0.0;
  } else {
    t.z = t.difference > 0 ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  }
  t.p_value = 2.0 * normal_sf(std::fabs(t.z));
  const double z = normal_critical_value(confidence);
  t.ci_difference = {t.difference - z * t.se_difference, t.difference + z * t.se_difference};
  return t;
}

Result<UnpairedDeLongTest> unpaired_delong_test(const DeLongAuc& first, const DeLongAuc& second, double confidence) {
  MCVAL_TRY(detail::check_confidence(confidence));
  UnpairedDeLongTest t;
  t.difference = first.auc - second.auc;
  t.se_difference = std::sqrt(first.variance + second.variance);
  if (t.se_difference > 0.0) {
    t.z = t.difference / t.se_difference;
  } else if (t.difference == 0.0) {
    t.z = 0.0;
  } else {
    t.z = t.difference > 0 ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  }
  const double v1 = first.variance, v2 = second.variance;
  const auto n1 = static_cast<double>(first.n_positive + first.n_negative);
  const auto n2 = static_cast<double>(second.n_positive + second.n_negative);
  t.df = (v1 + v2) * (v1 + v2) / (v1 * v1 / (n1 - 1.0) + v2 * v2 / (n2 - 1.0));
  t.p_value = std::isfinite(t.df) ? 2.0 * student_t_sf(std::fabs(t.z), t.df) : (t.z == 0.0 ? 1.0 : 0.0);
  const double z = normal_critical_value(confidence);
  t.ci_difference = {t.difference - z * t.se_difference, t.difference + z * t.se_difference};
  return t;
}

Result<RocCurve> roc_curve(std::span<const int> labels, std::span<const double> scores) {
  MCVAL_TRY(detail::check_binary(labels, scores, true));
  const auto groups = detail::make_tie_groups(labels, scores);
  const std::size_t g_count = groups.values.size();
  RocCurve curve;
  curve.fpr.reserve(g_count + 1);
  curve.tpr.reserve(g_count + 1);
  curve.thresholds.reserve(g_count + 1);
  curve.fpr.push_back(0.0);
  curve.tpr.push_back(0.0);
  curve.thresholds.push_back(groups.values.back() + 1.0);
  const auto n_pos = static_cast<double>(groups.n_positive);
  const auto n_neg = static_cast<double>(groups.n_negative);
  std::uint64_t tp = 0;
  std::uint64_t fp = 0;
  for (std::size_t g = g_count; g-- > 0;) {
    tp += groups.positives[g];
    fp += groups.negatives[g];
    curve.fpr.push_back(static_cast<double>(fp) / n_neg);
    curve.tpr.push_back(static_cast<double>(tp) / n_pos);
    curve.thresholds.push_back(groups.values[g]);
  }
  return curve;
}

}  // namespace mcval::stats
