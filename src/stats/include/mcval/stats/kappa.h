#pragma once
// Agreement on ordinal grades 0..K-1 (e.g. ISUP grade groups 0-5, K = 6): the confusion matrix
// and Cohen's quadratic weighted kappa with an analytic and a bootstrap interval.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/stats/bootstrap.h"
#include "mcval/stats/types.h"

namespace mcval::stats {

/// K x K counts; row = reference (true) grade, column = predicted grade, as scikit-learn's
/// confusion_matrix(truth, predicted, labels=range(K)).
struct GradeConfusion {
  int classes = 0;
  std::vector<std::size_t> counts;  ///< row-major, counts[truth * classes + predicted]
  std::size_t at(int truth, int predicted) const {
    return counts[static_cast<std::size_t>(truth) * static_cast<std::size_t>(classes) +
                  static_cast<std::size_t>(predicted)];
  }
};

/// Errors: empty input, lengths differ, classes < 2, a grade outside 0..classes-1.
Result<GradeConfusion> grade_confusion(std::span<const int> truth, std::span<const int> predicted, int classes);

/// Quadratic weighted kappa: kappa = 1 - sum(w O) / sum(w E) with disagreement weights
/// w_ij = (i - j)^2 / (K - 1)^2 on the grade values, O the observed proportions and E the outer
/// product of the marginals; identical to scikit-learn's cohen_kappa_score(weights="quadratic",
/// labels=range(K)). Grades absent from the data keep their place in the weights.
struct WeightedKappa {
  double estimate = 0;
  /// Large-sample standard error of Fleiss, Cohen and Everitt (1969), not under the null
  /// (statsmodels' cohens_kappa(table, wt="quadratic").std_kappa).
  double se = 0;
  Interval ci;  ///< estimate -/+ z se (not clipped)
  GradeConfusion confusion;
};

/// Errors: as for grade_confusion(); confidence outside (0, 1); kappa undefined because the
/// expected disagreement is 0 (both raters used one and the same grade for every case).
Result<WeightedKappa> quadratic_weighted_kappa(std::span<const int> truth, std::span<const int> predicted, int classes,
                                               double confidence = kDefaultConfidence);

/// Bootstrap of the quadratic weighted kappa: cases (or clusters) resampled without
/// stratification; replicates where kappa is undefined are left out (see BootstrapResult).
/// `clusters` may be empty. Errors: as for quadratic_weighted_kappa() and bootstrap().
Result<BootstrapResult> bootstrap_quadratic_weighted_kappa(std::span<const int> truth, std::span<const int> predicted,
                                                           int classes, std::span<const std::int64_t> clusters,
                                                           const BootstrapOptions& options = {});

}  // namespace mcval::stats
