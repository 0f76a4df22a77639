#include "mcval/stats/binary.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "mcval/stats/distributions.h"
#include "tie_groups.h"
#include "validate.h"

namespace mcval::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The Wilson interval for already validated arguments.
Proportion wilson(std::size_t successes, std::size_t trials, double z) {
  Proportion p;
  p.successes = successes;
  p.trials = trials;
  if (trials == 0) {
    p.estimate = kNaN;
    p.ci = {0.0, 1.0};
    return p;
  }
  const auto n = static_cast<double>(trials);
  const double q = static_cast<double>(successes) / n;
  const double z2 = z * z;
  const double denominator = 1.0 + z2 / n;
  const double center = (q + z2 / (2.0 * n)) / denominator;
  const double half_width = z * std::sqrt(q * (1.0 - q) / n + z2 / (4.0 * n * n)) / denominator;
  p.estimate = q;
  p.ci = {std::max(0.0, center - half_width), std::min(1.0, center + half_width)};
  return p;
}

BinaryMetrics metrics_of(const Confusion& c, double threshold, double z) {
  BinaryMetrics m;
  m.threshold = threshold;
  m.confusion = c;
  m.sensitivity = wilson(c.tp, c.tp + c.fn, z);
  m.specificity = wilson(c.tn, c.tn + c.fp, z);
  m.ppv = wilson(c.tp, c.tp + c.fp, z);
  m.npv = wilson(c.tn, c.tn + c.fn, z);
  return m;
}

// Operating point at threshold groups.values[g] from the numbers of positives and negatives
// scoring at or above it.
ThresholdChoice operating_point(double threshold, std::uint64_t tp, std::uint64_t fp, const detail::TieGroups& groups) {
  ThresholdChoice choice;
  choice.threshold = threshold;
  choice.sensitivity = static_cast<double>(tp) / static_cast<double>(groups.n_positive);
  choice.specificity = static_cast<double>(groups.n_negative - fp) / static_cast<double>(groups.n_negative);
  choice.youden = choice.sensitivity + choice.specificity - 1.0;
  return choice;
}

}  // namespace

Result<Proportion> wilson_interval(std::size_t successes, std::size_t trials, double confidence) {
  MCVAL_TRY(detail::check_confidence(confidence));
  if (successes > trials) return Error{ErrorCode::invalid_argument, "more successes than trials"};
  return wilson(successes, trials, normal_critical_value(confidence));
}

Result<Confusion> confusion_at(std::span<const int> labels, std::span<const double> scores, double threshold) {
  MCVAL_TRY(detail::check_binary(labels, scores, false));
  if (!std::isfinite(threshold)) return Error{ErrorCode::invalid_argument, "threshold is not a finite number"};
  Confusion c;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const bool called_positive = scores[i] >= threshold;
    if (labels[i] == 1) {
      ++(called_positive ? c.tp : c.fn);
    } else {
      ++(called_positive ? c.fp : c.tn);
    }
  }
  return c;
}

Result<BinaryMetrics> binary_metrics(std::span<const int> labels, std::span<const double> scores, double threshold,
                                     double confidence) {
  MCVAL_TRY(detail::check_confidence(confidence));
  MCVAL_TRY_ASSIGN(confusion, confusion_at(labels, scores, threshold));
  return metrics_of(confusion, threshold, normal_critical_value(confidence));
}

Result<BinaryMetrics> binary_metrics(const Confusion& confusion, double threshold, double confidence) {
  MCVAL_TRY(detail::check_confidence(confidence));
  return metrics_of(confusion, threshold, normal_critical_value(confidence));
}

Result<ThresholdChoice> threshold_for_sensitivity(std::span<const int> labels, std::span<const double> scores,
                                                  double target_sensitivity) {
  MCVAL_TRY_ASSIGN(counts, detail::check_binary(labels, scores, true));
  if (!(target_sensitivity > 0.0 && target_sensitivity <= 1.0)) {
    return Error{ErrorCode::invalid_argument, "target sensitivity must lie in (0, 1]"};
  }
  const auto n_pos = static_cast<double>(counts.positive);
  // Smallest k with k / n_positive >= target, evaluated exactly as a sensitivity is.
  auto k = static_cast<std::size_t>(std::ceil(target_sensitivity * n_pos));
  k = std::clamp<std::size_t>(k, 1, counts.positive);
  while (k > 1 && static_cast<double>(k - 1) / n_pos >= target_sensitivity) --k;
  while (k < counts.positive && static_cast<double>(k) / n_pos < target_sensitivity) ++k;
  std::vector<double> positive_scores;
  positive_scores.reserve(counts.positive);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == 1) positive_scores.push_back(scores[i]);
  }
  // The k-th largest positive score.
  std::nth_element(positive_scores.begin(), positive_scores.begin() + static_cast<std::ptrdiff_t>(k - 1),
                   positive_scores.end(), std::greater<>());
  const double threshold = positive_scores[k - 1];
  MCVAL_TRY_ASSIGN(c, confusion_at(labels, scores, threshold));
  ThresholdChoice choice;
  choice.threshold = threshold;
  choice.sensitivity = static_cast<double>(c.tp) / n_pos;
  choice.specificity = static_cast<double>(c.tn) / static_cast<double>(counts.negative);
  choice.youden = choice.sensitivity + choice.specificity - 1.0;
  return choice;
}

Result<ThresholdChoice> youden_threshold(std::span<const int> labels, std::span<const double> scores) {
  MCVAL_TRY(detail::check_binary(labels, scores, true));
  const auto groups = detail::make_tie_groups(labels, scores);
  // J(t) * n_pos * n_neg = tp * n_neg - fp * n_pos, compared exactly (each product is at most
  // n^2 / 4 < 2^62 for n < 2^32). Thresholds are visited in decreasing order and only a strictly
  // larger J replaces the best, so ties keep the largest threshold.
  const auto n_pos = static_cast<std::int64_t>(groups.n_positive);
  const auto n_neg = static_cast<std::int64_t>(groups.n_negative);
  std::uint64_t tp = 0;
  std::uint64_t fp = 0;
  std::size_t best_group = groups.values.size() - 1;
  std::int64_t best = 0;
  bool first = true;
  for (std::size_t g = groups.values.size(); g-- > 0;) {
    tp += groups.positives[g];
    fp += groups.negatives[g];
    const std::int64_t j = static_cast<std::int64_t>(tp) * n_neg - static_cast<std::int64_t>(fp) * n_pos;
    if (first || j > best) {
      best = j;
      best_group = g;
      first = false;
    }
  }
  std::uint64_t best_tp = 0;
  std::uint64_t best_fp = 0;
  for (std::size_t g = best_group; g < groups.values.size(); ++g) {
    best_tp += groups.positives[g];
    best_fp += groups.negatives[g];
  }
  return operating_point(groups.values[best_group], best_tp, best_fp, groups);
}

}  // namespace mcval::stats
