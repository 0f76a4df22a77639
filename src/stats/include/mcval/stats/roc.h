#pragma once
// The area under the ROC curve (AUC), its DeLong variance and confidence intervals, the paired
// DeLong test, and ROC curve points.
//
// Definition: AUC = P(score of a random positive > score of a random negative) + 1/2 P(tie),
// the Mann-Whitney statistic divided by n_positive * n_negative. It is computed from one sort of
// the scores (O(n log n)) with exact integer counts of the pairs, so it is reproducible to the
// last bit. The direction is fixed: higher scores mean positive (pROC's direction = "<"); no
// automatic flipping when the AUC is below 0.5.
#include <cstddef>
#include <span>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/stats/types.h"

namespace mcval::stats {

/// AUC by Mann-Whitney with ties counted 1/2.
/// Errors (invalid_argument): empty input, lengths differ, a label not 0/1, a non-finite score,
/// or only one class present.
Result<double> auc(std::span<const int> labels, std::span<const double> scores);

/// DeLong's placement values (structural components), in the order the cases appear in input.
/// For a positive case i, positive_placements[i] = V10_i = (#negatives scoring below it
/// + 1/2 #negatives tied with it) / n_negative; for a negative case j, negative_placements[j] =
/// V01_j = (#positives scoring above it + 1/2 #positives tied with it) / n_positive.
/// The AUC is the mean of either vector. O(n log n).
struct DeLongPlacements {
  double auc = 0;
  std::vector<double> positive_placements;  ///< V10, one per positive case
  std::vector<double> negative_placements;  ///< V01, one per negative case
};

/// Errors as for auc().
Result<DeLongPlacements> delong_placements(std::span<const int> labels, std::span<const double> scores);

/// AUC with DeLong's variance and two confidence intervals.
struct DeLongAuc {
  double auc = 0;
  /// DeLong variance S10/n_positive + S01/n_negative, where S10 and S01 are the sample variances
  /// (denominator n - 1) of the positive and negative placements (as pROC's var(method="delong")).
  double variance = 0;
  double se = 0;  ///< sqrt(variance)
  /// Normal interval on the AUC scale, auc -/+ z se, each bound clipped to [0, 1]; identical to
  /// pROC's ci.auc(method = "delong").
  Interval ci;
  /// Interval on the logit scale back-transformed: expit(logit(auc) -/+ z se / (auc (1 - auc)))
  /// (delta method). Always inside (0, 1); when auc is 0 or 1 the variance is 0 and the interval
  /// is the point [auc, auc].
  Interval ci_logit;
  std::size_t n_positive = 0;
  std::size_t n_negative = 0;
};

/// AUC with DeLong variance and CIs at `confidence` (0 < confidence < 1; z = Phi^-1(1 - alpha/2)).
/// Errors: as for auc(), and fewer than two cases of either class (the variance needs n - 1 > 0,
/// as pROC, which answers NA there), or confidence outside (0, 1).
Result<DeLongAuc> delong_auc(std::span<const int> labels, std::span<const double> scores,
                             double confidence = kDefaultConfidence);

/// DeLong's test for two correlated AUCs: two score vectors on the same cases (paired), as pROC's
/// roc.test(roc1, roc2, method = "delong", paired = TRUE).
struct PairedDeLongTest {
  double auc1 = 0;
  double auc2 = 0;
  double difference = 0;     ///< auc1 - auc2
  double variance1 = 0;      ///< DeLong variance of auc1
  double variance2 = 0;      ///< DeLong variance of auc2
  double covariance = 0;     ///< DeLong covariance of auc1 and auc2 (pROC's cov(method = "delong"))
  double se_difference = 0;  ///< sqrt(variance1 + variance2 - 2 covariance)
  /// difference / se_difference; 0 when both are 0 (identical placements, as pROC); +/-infinity
  /// when only the standard error is 0.
  double z = 0;
  double p_value = 1;      ///< two-sided, 2 (1 - Phi(|z|))
  Interval ci_difference;  ///< difference -/+ z_crit se_difference (not clipped)
};

/// Errors: as for delong_auc() for either score vector; the three spans must have equal length.
Result<PairedDeLongTest> paired_delong_test(std::span<const int> labels, std::span<const double> scores1,
                                            std::span<const double> scores2, double confidence = kDefaultConfidence);

/// DeLong's test for two AUCs on independent samples (e.g. two subgroups), as pROC's
/// roc.test(roc1, roc2, method = "delong", paired = FALSE): D = (auc1 - auc2) / sqrt(V1 + V2) with
/// the two DeLong variances, referred to Student's t with the Welch-Satterthwaite
/// df = (V1 + V2)^2 / (V1^2 / (n1 - 1) + V2^2 / (n2 - 1)), n the number of cases of each curve;
/// D as for the paired test when the standard error is 0.
struct UnpairedDeLongTest {
  double difference = 0;  ///< auc1 - auc2
  double se_difference = 0;
  double z = 0;   ///< pROC's D
  double df = 0;  ///< Welch-Satterthwaite degrees of freedom
  double p_value = 1;  ///< two-sided, 2 P(T_df > |D|)
  Interval ci_difference;  ///< difference -/+ z_crit se (normal)
};

/// Errors: confidence outside (0, 1).
Result<UnpairedDeLongTest> unpaired_delong_test(const DeLongAuc& first, const DeLongAuc& second,
                                                double confidence = kDefaultConfidence);

/// ROC curve points for plotting, identical to scikit-learn 1.2's
/// roc_curve(labels, scores, drop_intermediate=False): one point per distinct score, in order of
/// decreasing threshold, preceded by the point (0, 0) whose threshold is max(score) + 1.
/// At threshold t a case is called positive when score >= t.
struct RocCurve {
  std::vector<double> fpr;         ///< false positive rate, 1 - specificity
  std::vector<double> tpr;         ///< true positive rate, sensitivity
  std::vector<double> thresholds;  ///< decreasing (strictly unless max(score) + 1 rounds to max(score))
};

/// Errors as for auc().
Result<RocCurve> roc_curve(std::span<const int> labels, std::span<const double> scores);

}  // namespace mcval::stats
