#pragma once
// Classification at a threshold: the 2x2 table, sensitivity, specificity, PPV and NPV with
// Wilson score intervals, and threshold derivation.
//
// Convention: at threshold t a case is called positive when score >= t.
#include <cstddef>
#include <span>

#include "mcval/common/result.h"
#include "mcval/stats/types.h"

namespace mcval::stats {

/// The 2x2 table at a threshold.
struct Confusion {
  std::size_t tp = 0;  ///< label 1, score >= t
  std::size_t fp = 0;  ///< label 0, score >= t
  std::size_t tn = 0;  ///< label 0, score < t
  std::size_t fn = 0;  ///< label 1, score < t
};

/// A proportion successes / trials with its Wilson score interval.
/// When trials == 0 the estimate is NaN and the interval is [0, 1] (no information).
struct Proportion {
  double estimate = 0;
  Interval ci;
  std::size_t successes = 0;
  std::size_t trials = 0;
};

/// Wilson score interval (Wilson 1927), as statsmodels' proportion_confint(method="wilson"):
/// with p = k/n and z = Phi^-1(1 - alpha/2), center = (p + z^2/(2n)) / (1 + z^2/n) and
/// half-width = z sqrt(p (1 - p)/n + z^2/(4 n^2)) / (1 + z^2/n); bounds clipped to [0, 1] (this only
/// removes rounding below 0 or above 1 at k = 0 or k = n).
/// Errors: successes > trials, confidence outside (0, 1).
Result<Proportion> wilson_interval(std::size_t successes, std::size_t trials, double confidence = kDefaultConfidence);

/// The 2x2 table at threshold t. One class only is allowed here.
/// Errors: empty input, lengths differ, a label not 0/1, a non-finite score or threshold.
Result<Confusion> confusion_at(std::span<const int> labels, std::span<const double> scores, double threshold);

/// Sensitivity tp/(tp+fn), specificity tn/(tn+fp), PPV tp/(tp+fp), NPV tn/(tn+fn), each with a
/// Wilson interval (a 0/0 ratio is NaN with interval [0, 1]).
struct BinaryMetrics {
  double threshold = 0;
  Confusion confusion;
  Proportion sensitivity;
  Proportion specificity;
  Proportion ppv;
  Proportion npv;
};

/// Metrics at threshold t. Errors: as for confusion_at(), confidence outside (0, 1).
Result<BinaryMetrics> binary_metrics(std::span<const int> labels, std::span<const double> scores, double threshold,
                                     double confidence = kDefaultConfidence);

/// Metrics from a given table (e.g. summed over centres). Errors: confidence outside (0, 1).
Result<BinaryMetrics> binary_metrics(const Confusion& confusion, double threshold,
                                     double confidence = kDefaultConfidence);

/// A derived threshold and the operating point it gives on the data it was derived from.
struct ThresholdChoice {
  double threshold = 0;
  double sensitivity = 0;
  double specificity = 0;
  double youden = 0;  ///< sensitivity + specificity - 1
};

/// The largest threshold t whose sensitivity on these data is >= target (0 < target <= 1). It is
/// the k-th largest positive score with k the smallest integer such that k / n_positive >= target
/// (evaluated in double precision). Ties at t can make the achieved sensitivity exceed the target.
/// Errors: as for auc() (both classes needed), target outside (0, 1] or NaN.
Result<ThresholdChoice> threshold_for_sensitivity(std::span<const int> labels, std::span<const double> scores,
                                                  double target_sensitivity);

/// The threshold maximising Youden's J = sensitivity + specificity - 1 over the observed distinct
/// scores (compared exactly, in integer arithmetic); among equal maxima, the largest threshold
/// (the most specific operating point). Errors: as for auc().
Result<ThresholdChoice> youden_threshold(std::span<const int> labels, std::span<const double> scores);

}  // namespace mcval::stats
