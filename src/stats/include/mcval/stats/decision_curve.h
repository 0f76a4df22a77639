#pragma once
// Decision curve analysis (Vickers and Elkin 2006): the net benefit of acting on the model's
// score, of treating everyone and of treating no one, as a function of the threshold probability.
//
// At threshold probability pt (0 < pt < 1), a case is called positive when its score >= pt, and
// net benefit = TP/n - FP/n * pt/(1 - pt) (true and false positives counted over all n cases).
// Treat all: P/n - N/n * pt/(1 - pt). Treat none: 0 at every pt. The scores are read as
// probabilities: the decision curve of an uncalibrated model is that of its scores.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/stats/bootstrap.h"
#include "mcval/stats/types.h"

namespace mcval::stats {

/// Net benefit of calling positive `true_positives` + `false_positives` of n cases at threshold
/// probability pt. NaN when n is 0 or pt is not inside (0, 1).
double net_benefit(double true_positives, double false_positives, double n, double threshold);

/// The default grid of threshold probabilities: 0.01, 0.02, ..., 0.99.
std::vector<double> default_decision_thresholds();

struct DecisionCurve {
  std::vector<double> thresholds;
  std::vector<std::int64_t> true_positives;   ///< positives with score >= threshold
  std::vector<std::int64_t> false_positives;  ///< negatives with score >= threshold
  std::vector<double> model;                  ///< net benefit of the model
  std::vector<double> treat_all;              ///< net benefit of treating everyone
  std::int64_t n = 0;
  std::int64_t n_positive = 0;
};

/// Errors (invalid_argument): as check_binary() (one class suffices), thresholds empty, not
/// strictly increasing or not inside (0, 1). O(n log T + T).
Result<DecisionCurve> decision_curve(std::span<const int> labels, std::span<const double> scores,
                                     std::span<const double> thresholds);

/// The same curve from counts only (federated summaries): the positives and negatives with
/// score >= each threshold, and the class totals. Errors: lengths differ, counts not
/// non-increasing or above the class totals, thresholds as for decision_curve().
Result<DecisionCurve> decision_curve_from_counts(std::span<const double> thresholds,
                                                 std::span<const std::int64_t> true_positives,
                                                 std::span<const std::int64_t> false_positives, std::int64_t n_positive,
                                                 std::int64_t n_negative);

/// Pointwise bootstrap bands of the model's and treat-all net benefit at each threshold.
struct DecisionCurveBand {
  std::vector<Interval> model;
  std::vector<Interval> treat_all;
  std::size_t replicates = 0;
};

/// Cases resampled with replacement (clusters, e.g. patients, when ids are given; not stratified
/// by class, so the prevalence and the treat-all curve vary between replicates), the scheme and
/// draws of bootstrap_band(). Errors: as decision_curve() and bootstrap_band().
Result<DecisionCurveBand> bootstrap_decision_curve(std::span<const int> labels, std::span<const double> scores,
                                                   std::span<const std::int64_t> clusters,
                                                   std::span<const double> thresholds,
                                                   const BootstrapOptions& options);

/// The same band from counts (no clusters): resampling cases is resampling the cells "class x
/// between which two thresholds the score lies", whose counts decision_curve_from_counts() takes.
Result<DecisionCurveBand> bootstrap_decision_curve_from_counts(std::span<const double> thresholds,
                                                               std::span<const std::int64_t> true_positives,
                                                               std::span<const std::int64_t> false_positives,
                                                               std::int64_t n_positive, std::int64_t n_negative,
                                                               const BootstrapOptions& options);

}  // namespace mcval::stats
