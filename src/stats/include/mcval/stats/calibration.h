#pragma once
// Calibration of predicted probabilities: Brier score, expected calibration error, reliability
// curve, calibration slope and calibration-in-the-large.
//
// Inputs: labels 0/1 and probabilities p in [0, 1] (finite). For the logistic fits p is clipped
// to [1e-12, 1 - 1e-12] before logit(p) = log(p / (1 - p)).
#include <cstddef>
#include <span>
#include <vector>

#include "mcval/common/result.h"

namespace mcval::stats {

/// Brier score: mean of (p_i - y_i)^2 (scikit-learn's brier_score_loss). One class is allowed.
/// Errors: empty, lengths differ, a label not 0/1, p not in [0, 1] or NaN.
Result<double> brier_score(std::span<const int> labels, std::span<const double> probabilities);

/// One bin of the reliability curve: the cases with lower < p <= upper (the first bin also
/// holds p = 0), with lower = b / B and upper = (b + 1) / B computed in double precision.
struct ReliabilityBin {
  double lower = 0;
  double upper = 0;
  std::size_t count = 0;
  double mean_predicted = 0;     ///< mean p in the bin (NaN when count == 0)
  double observed_fraction = 0;  ///< mean label in the bin (NaN when count == 0)
};

/// Equal-width reliability curve over [0, 1] and the expected calibration error
/// ECE = sum over non-empty bins of (n_b / N) |observed_fraction_b - mean_predicted_b|.
/// Bins are right-closed as in Guo et al. (2017) and scikit-learn's
/// calibration_curve(strategy="uniform"), whose non-empty bins this reproduces.
struct Reliability {
  std::vector<ReliabilityBin> bins;  ///< all B bins, empty ones included (count 0)
  double ece = 0;
};

/// Errors: as for brier_score(), bins < 1.
Result<Reliability> reliability(std::span<const int> labels, std::span<const double> probabilities, int bins = 10);

/// Maximum-likelihood logistic regression fit by Newton-Raphson (equivalent to IRLS) from zero,
/// iterated until the full Newton step is below 1e-13 (relative to max(1, |coefficient|)); a step
/// longer than 10 on the logit scale is shortened and a step that lowers the log-likelihood is
/// halved. Residuals y - mu and weights mu (1 - mu) are computed from expit(eta) and expit(-eta),
/// so they keep their digits when p is near 0 or 1. Standard errors are the square roots of the
/// diagonal of the inverse information at the estimate (statsmodels reports its bse from the
/// weights of its last-but-one iteration, which differs in about the tenth digit).
struct CalibrationSlope {
  /// b in logit P(y = 1) = a + b logit(p). 1 is ideal; below 1 means predictions too extreme.
  double slope = 0;
  double slope_se = 0;
  double intercept = 0;  ///< a of the same fit (not calibration-in-the-large)
  double intercept_se = 0;
  int iterations = 0;
};

/// Calibration slope: logistic regression of the label on logit(p) with an intercept
/// (statsmodels GLM(y, [1, logit(p)], family=Binomial())).
/// Errors: as for brier_score(); one class only; no maximum-likelihood estimate because the
/// labels are (quasi-)completely separated by logit(p) (max logit(p) of the negatives <= min of
/// the positives, or the reverse), which includes all p equal.
Result<CalibrationSlope> calibration_slope(std::span<const int> labels, std::span<const double> probabilities);

struct CalibrationInTheLarge {
  /// a in logit P(y = 1) = a + 1 * logit(p), logit(p) entered as an offset (TRIPOD; Steyerberg,
  /// Clinical Prediction Models). 0 is ideal; positive means predictions too low on average.
  double intercept = 0;
  double intercept_se = 0;
  int iterations = 0;
};

/// Calibration-in-the-large (statsmodels GLM(y, ones, family=Binomial(), offset=logit(p))).
/// Errors: as for brier_score(); one class only (then no finite estimate exists).
Result<CalibrationInTheLarge> calibration_in_the_large(std::span<const int> labels,
                                                       std::span<const double> probabilities);

}  // namespace mcval::stats
