#include "mcval/stats/calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "validate.h"

namespace mcval::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kClip = 1e-12;
constexpr int kMaxIterations = 100;
constexpr double kStepTolerance = 1e-13;
constexpr double kMaxStep = 10.0;

std::vector<double> clipped_logits(std::span<const double> probabilities) {
  std::vector<double> x(probabilities.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double p = std::clamp(probabilities[i], kClip, 1.0 - kClip);
    x[i] = std::log(p / (1.0 - p));
  }
  return x;
}

// log(1 + exp(eta)) without overflow.
double softplus(double eta) { return eta > 0.0 ? eta + std::log1p(std::exp(-eta)) : std::log1p(std::exp(eta)); }

double expit(double eta) { return 1.0 / (1.0 + std::exp(-eta)); }

// Log-likelihood of logit P(y = 1) = a + b x + offset.
double log_likelihood(std::span<const int> y, const std::vector<double>& x, double a, double b, bool offset) {
  double ll = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double eta = offset ? a + x[i] : a + b * x[i];
    ll -= y[i] == 1 ? softplus(-eta) : softplus(eta);  // log mu or log(1 - mu), without cancellation
  }
  return ll;
}

struct Fit {
  double a = 0;
  double b = 0;
  double var_a = 0;
  double var_b = 0;
  int iterations = 0;
};

// Newton-Raphson for logit P(y = 1) = a + b x (offset == false) or a + x (offset == true, b fixed
// at 1), from a = b = 0 (a = 0 with the offset), halving a step while the log-likelihood drops.
// Converged when the relative step is below kStepTolerance.
Fit newton(std::span<const int> y, const std::vector<double>& x, bool offset) {
  Fit fit;
  fit.b = offset ? 1.0 : 0.0;
  double ll = log_likelihood(y, x, fit.a, fit.b, offset);
  double h00 = 0;
  double h01 = 0;
  double h11 = 0;
  for (int iteration = 1; iteration <= kMaxIterations; ++iteration) {
    double g0 = 0;
    double g1 = 0;
    h00 = h01 = h11 = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
      // y - mu and mu (1 - mu) from expit(eta) and expit(-eta), so that neither loses digits when
      // mu is within rounding of 0 or 1 (p clipped near 0 or 1).
      const double eta = fit.a + fit.b * x[i];
      const double mu = expit(eta);
      const double one_minus_mu = expit(-eta);
      const double w = mu * one_minus_mu;
      const double r = y[i] == 1 ? one_minus_mu : -mu;
      g0 += r;
      h00 += w;
      if (!offset) {
        g1 += r * x[i];
        h01 += w * x[i];
        h11 += w * x[i] * x[i];
      }
    }
    double step_a = 0;
    double step_b = 0;
    if (offset) {
      step_a = g0 / h00;
    } else {
      const double det = h00 * h11 - h01 * h01;
      step_a = (h11 * g0 - h01 * g1) / det;
      step_b = (h00 * g1 - h01 * g0) / det;
    }
    // Converged when the full Newton step is negligible; judged before any shortening, so that a
    // shortened step is never mistaken for convergence.
    const double size = std::max(std::fabs(step_a) / std::max(1.0, std::fabs(fit.a)),
                                 std::fabs(step_b) / std::max(1.0, std::fabs(fit.b)));
    // A Newton step longer than kMaxStep on the logit scale is shortened (far from the optimum,
    // e.g. when every p is near 0 or 1, the quadratic model is poor), and halved while the
    // log-likelihood drops by more than rounding.
    const double longest = std::max(std::fabs(step_a), std::fabs(step_b));
    double scale = longest > kMaxStep ? kMaxStep / longest : 1.0;
    const double slack = 1e-12 * (1.0 + std::fabs(ll));
    double next_ll = log_likelihood(y, x, fit.a + scale * step_a, fit.b + scale * step_b, offset);
    for (int halving = 0; halving < 60 && next_ll < ll - slack; ++halving) {
      scale *= 0.5;
      next_ll = log_likelihood(y, x, fit.a + scale * step_a, fit.b + scale * step_b, offset);
    }
    fit.a += scale * step_a;
    fit.b += scale * step_b;
    ll = next_ll;
    fit.iterations = iteration;
    if (size < kStepTolerance) break;
  }
  // Observed information at the final estimate.
  h00 = h01 = h11 = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double eta = fit.a + fit.b * x[i];
    const double w = expit(eta) * expit(-eta);
    h00 += w;
    h01 += w * x[i];
    h11 += w * x[i] * x[i];
  }
  if (offset) {
    fit.var_a = 1.0 / h00;
  } else {
    const double det = h00 * h11 - h01 * h01;
    fit.var_a = h11 / det;
    fit.var_b = h00 / det;
  }
  return fit;
}

}  // namespace

Result<double> brier_score(std::span<const int> labels, std::span<const double> probabilities) {
  MCVAL_TRY(detail::check_probabilities(labels, probabilities, false));
  double sum = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const double d = probabilities[i] - labels[i];
    sum += d * d;
  }
  return sum / static_cast<double>(labels.size());
}

Result<Reliability> reliability(std::span<const int> labels, std::span<const double> probabilities, int bins) {
  MCVAL_TRY(detail::check_probabilities(labels, probabilities, false));
  if (bins < 1) return Error{ErrorCode::invalid_argument, "at least one calibration bin is needed"};
  const auto b_count = static_cast<std::size_t>(bins);
  const auto b = static_cast<double>(bins);
  std::vector<double> sum_p(b_count, 0.0);
  std::vector<double> sum_y(b_count, 0.0);
  std::vector<std::size_t> count(b_count, 0);
  auto upper_edge = [&](std::size_t k) { return static_cast<double>(k + 1) / b; };
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const double p = probabilities[i];
    // Right-closed bins: the smallest k with p <= (k + 1) / B; ceil(p B) - 1 is within one of it.
    const double guess = std::ceil(p * b) - 1.0;
    std::size_t k = guess <= 0.0 ? 0 : std::min(b_count - 1, static_cast<std::size_t>(guess));
    while (k > 0 && p <= upper_edge(k - 1)) --k;
    while (k + 1 < b_count && p > upper_edge(k)) ++k;
    sum_p[k] += p;
    sum_y[k] += labels[i];
    ++count[k];
  }
  Reliability result;
  result.bins.resize(b_count);
  const auto n = static_cast<double>(labels.size());
  for (std::size_t k = 0; k < b_count; ++k) {
    ReliabilityBin& bin = result.bins[k];
    bin.lower = static_cast<double>(k) / b;
    bin.upper = upper_edge(k);
    bin.count = count[k];
    if (count[k] == 0) {
      bin.mean_predicted = kNaN;
      bin.observed_fraction = kNaN;
      continue;
    }
    const auto c = static_cast<double>(count[k]);
    bin.mean_predicted = sum_p[k] / c;
    bin.observed_fraction = sum_y[k] / c;
    result.ece += c / n * std::fabs(bin.observed_fraction - bin.mean_predicted);
  }
  return result;
}

Result<CalibrationSlope> calibration_slope(std::span<const int> labels, std::span<const double> probabilities) {
  MCVAL_TRY(detail::check_probabilities(labels, probabilities, true));
  const std::vector<double> x = clipped_logits(probabilities);
  // The maximum-likelihood estimate exists iff the logits of the two classes overlap strictly.
  double neg_min = std::numeric_limits<double>::infinity();
  double neg_max = -neg_min;
  double pos_min = neg_min;
  double pos_max = -neg_min;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (labels[i] == 1) {
      pos_min = std::min(pos_min, x[i]);
      pos_max = std::max(pos_max, x[i]);
    } else {
      neg_min = std::min(neg_min, x[i]);
      neg_max = std::max(neg_max, x[i]);
    }
  }
  if (!(neg_max > pos_min && pos_max > neg_min)) {
    return Error{ErrorCode::invalid_argument,
                 "calibration slope has no maximum-likelihood estimate: the labels are separated by logit(p)"};
  }
  const Fit fit = newton(labels, x, false);
  if (!std::isfinite(fit.b) || !std::isfinite(fit.var_b)) {
    return Error{ErrorCode::invalid_argument, "calibration slope fit did not converge"};
  }
  CalibrationSlope result;
  result.slope = fit.b;
  result.slope_se = std::sqrt(fit.var_b);
  result.intercept = fit.a;
  result.intercept_se = std::sqrt(fit.var_a);
  result.iterations = fit.iterations;
  return result;
}

Result<CalibrationInTheLarge> calibration_in_the_large(std::span<const int> labels,
                                                       std::span<const double> probabilities) {
  MCVAL_TRY(detail::check_probabilities(labels, probabilities, true));
  const Fit fit = newton(labels, clipped_logits(probabilities), true);
  if (!std::isfinite(fit.a) || !std::isfinite(fit.var_a)) {
    return Error{ErrorCode::invalid_argument, "calibration-in-the-large fit did not converge"};
  }
  CalibrationInTheLarge result;
  result.intercept = fit.a;
  result.intercept_se = std::sqrt(fit.var_a);
  result.iterations = fit.iterations;
  return result;
}

}  // namespace mcval::stats
