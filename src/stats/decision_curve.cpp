#include "mcval/stats/decision_curve.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "validate.h"

namespace mcval::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Status check_thresholds(std::span<const double> thresholds) {
  if (thresholds.empty()) return Error{ErrorCode::invalid_argument, "no threshold probability"};
  for (std::size_t i = 0; i < thresholds.size(); ++i) {
    if (!(thresholds[i] > 0.0 && thresholds[i] < 1.0)) {
      return Error{ErrorCode::invalid_argument, "threshold probability " + std::to_string(i) + " is not inside (0, 1)"};
    }
    if (i > 0 && !(thresholds[i] > thresholds[i - 1])) {
      return Error{ErrorCode::invalid_argument, "threshold probabilities are not strictly increasing"};
    }
  }
  return {};
}

/// Cell of a case: how many thresholds its score reaches (0 .. T).
std::uint32_t cell_of(double score, std::span<const double> thresholds) {
  return static_cast<std::uint32_t>(std::upper_bound(thresholds.begin(), thresholds.end(), score) - thresholds.begin());
}

/// Net benefits from per-cell counts by class (cells 0..T): a case in cell c reaches thresholds
/// 0..c-1. Writes model then treat-all (2T values).
void curves_from_cells(std::span<const double> thresholds, std::span<const std::int64_t> positive_cells,
                       std::span<const std::int64_t> negative_cells, std::span<double> out) {
  const std::size_t t_count = thresholds.size();
  std::int64_t n_pos = 0, n_neg = 0;
  for (std::size_t c = 0; c <= t_count; ++c) {
    n_pos += positive_cells[c];
    n_neg += negative_cells[c];
  }
  const auto n = static_cast<double>(n_pos + n_neg);
  std::int64_t tp = 0, fp = 0;
  for (std::size_t k = t_count; k-- > 0;) {
    tp += positive_cells[k + 1];
    fp += negative_cells[k + 1];
    out[k] = net_benefit(static_cast<double>(tp), static_cast<double>(fp), n, thresholds[k]);
    out[t_count + k] = net_benefit(static_cast<double>(n_pos), static_cast<double>(n_neg), n, thresholds[k]);
  }
}

/// The band from cases given as (label, cell), clustered or not.
Result<DecisionCurveBand> band_from_cells(std::span<const int> labels, std::span<const std::uint32_t> cells,
                                          std::span<const std::int64_t> clusters, std::span<const double> thresholds,
                                          const BootstrapOptions& options) {
  const std::size_t t_count = thresholds.size();
  const BootstrapVectorStatistic statistic = [&](std::span<const std::size_t> indices, std::span<double> values) {
    std::vector<std::int64_t> positive(t_count + 1, 0), negative(t_count + 1, 0);
    for (std::size_t i : indices) (labels[i] == 1 ? positive : negative)[cells[i]] += 1;
    curves_from_cells(thresholds, positive, negative, values);
  };
  MCVAL_TRY_ASSIGN(band, bootstrap_band(labels.size(), {}, clusters, 2 * t_count, statistic, options));
  DecisionCurveBand out;
  out.replicates = options.replicates;
  out.model.assign(band.percentile.begin(), band.percentile.begin() + static_cast<std::ptrdiff_t>(t_count));
  out.treat_all.assign(band.percentile.begin() + static_cast<std::ptrdiff_t>(t_count), band.percentile.end());
  return out;
}

/// Per-cell counts from "at or above each threshold" counts; errors when they are not a valid
/// cumulative table.
Status cells_from_counts(std::span<const double> thresholds, std::span<const std::int64_t> at_or_above,
                         std::int64_t total, const char* what, std::vector<std::int64_t>& cells) {
  const std::size_t t_count = thresholds.size();
  if (at_or_above.size() != t_count) {
    return Error{ErrorCode::invalid_argument, std::string(what) + " counts and thresholds differ in length"};
  }
  cells.assign(t_count + 1, 0);
  std::int64_t previous = total;
  for (std::size_t k = 0; k < t_count; ++k) {
    if (at_or_above[k] < 0 || at_or_above[k] > previous) {
      return Error{ErrorCode::invalid_argument,
                   std::string(what) + " counts are not non-increasing within the class total"};
    }
    cells[k] = previous - at_or_above[k];
    previous = at_or_above[k];
  }
  cells[t_count] = previous;
  return {};
}

DecisionCurve curve_from_cells(std::span<const double> thresholds, const std::vector<std::int64_t>& positive,
                               const std::vector<std::int64_t>& negative) {
  const std::size_t t_count = thresholds.size();
  DecisionCurve curve;
  curve.thresholds.assign(thresholds.begin(), thresholds.end());
  std::vector<double> values(2 * t_count);
  curves_from_cells(thresholds, positive, negative, values);
  curve.model.assign(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(t_count));
  curve.treat_all.assign(values.begin() + static_cast<std::ptrdiff_t>(t_count), values.end());
  curve.true_positives.resize(t_count);
  curve.false_positives.resize(t_count);
  std::int64_t tp = 0, fp = 0;
  for (std::size_t k = t_count; k-- > 0;) {
    tp += positive[k + 1];
    fp += negative[k + 1];
    curve.true_positives[k] = tp;
    curve.false_positives[k] = fp;
  }
  for (std::size_t c = 0; c <= t_count; ++c) {
    curve.n_positive += positive[c];
    curve.n += positive[c] + negative[c];
  }
  return curve;
}

}  // namespace

double net_benefit(double true_positives, double false_positives, double n, double threshold) {
  if (!(n > 0.0) || !(threshold > 0.0 && threshold < 1.0)) return kNaN;
  return true_positives / n - false_positives / n * (threshold / (1.0 - threshold));
}

std::vector<double> default_decision_thresholds() {
  std::vector<double> t;
  for (int k = 1; k <= 99; ++k) t.push_back(k / 100.0);
  return t;
}

Result<DecisionCurve> decision_curve(std::span<const int> labels, std::span<const double> scores,
                                     std::span<const double> thresholds) {
  MCVAL_TRY(detail::check_binary(labels, scores, false));
  MCVAL_TRY(check_thresholds(thresholds));
  std::vector<std::int64_t> positive(thresholds.size() + 1, 0), negative(thresholds.size() + 1, 0);
  for (std::size_t i = 0; i < labels.size(); ++i) (labels[i] == 1 ? positive : negative)[cell_of(scores[i], thresholds)] += 1;
  return curve_from_cells(thresholds, positive, negative);
}

Result<DecisionCurve> decision_curve_from_counts(std::span<const double> thresholds,
                                                 std::span<const std::int64_t> true_positives,
                                                 std::span<const std::int64_t> false_positives, std::int64_t n_positive,
                                                 std::int64_t n_negative) {
  MCVAL_TRY(check_thresholds(thresholds));
  if (n_positive < 0 || n_negative < 0 || n_positive + n_negative == 0) {
    return Error{ErrorCode::invalid_argument, "no case"};
  }
  std::vector<std::int64_t> positive, negative;
  MCVAL_TRY(cells_from_counts(thresholds, true_positives, n_positive, "true positive", positive));
  MCVAL_TRY(cells_from_counts(thresholds, false_positives, n_negative, "false positive", negative));
  return curve_from_cells(thresholds, positive, negative);
}

Result<DecisionCurveBand> bootstrap_decision_curve(std::span<const int> labels, std::span<const double> scores,
                                                   std::span<const std::int64_t> clusters,
                                                   std::span<const double> thresholds,
                                                   const BootstrapOptions& options) {
  MCVAL_TRY(detail::check_binary(labels, scores, false));
  MCVAL_TRY(check_thresholds(thresholds));
  std::vector<std::uint32_t> cells(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) cells[i] = cell_of(scores[i], thresholds);
  return band_from_cells(labels, cells, clusters, thresholds, options);
}

Result<DecisionCurveBand> bootstrap_decision_curve_from_counts(std::span<const double> thresholds,
                                                               std::span<const std::int64_t> true_positives,
                                                               std::span<const std::int64_t> false_positives,
                                                               std::int64_t n_positive, std::int64_t n_negative,
                                                               const BootstrapOptions& options) {
  MCVAL_TRY(check_thresholds(thresholds));
  if (n_positive < 0 || n_negative < 0 || n_positive + n_negative == 0) {
    return Error{ErrorCode::invalid_argument, "no case"};
  }
  if (static_cast<std::uint64_t>(n_positive + n_negative) > detail::kMaxCases) {
    return Error{ErrorCode::invalid_argument, "more than 2^32 - 1 cases"};
  }
  std::vector<std::int64_t> positive, negative;
  MCVAL_TRY(cells_from_counts(thresholds, true_positives, n_positive, "true positive", positive));
  MCVAL_TRY(cells_from_counts(thresholds, false_positives, n_negative, "false positive", negative));
  // One pseudo-case per counted case: its class and cell, nothing else.
  std::vector<int> labels;
  std::vector<std::uint32_t> cells;
  for (int label = 0; label <= 1; ++label) {
    const auto& counts = label == 1 ? positive : negative;
    for (std::size_t c = 0; c < counts.size(); ++c) {
      labels.insert(labels.end(), static_cast<std::size_t>(counts[c]), label);
      cells.insert(cells.end(), static_cast<std::size_t>(counts[c]), static_cast<std::uint32_t>(c));
    }
  }
  return band_from_cells(labels, cells, {}, thresholds, options);
}

}  // namespace mcval::stats
