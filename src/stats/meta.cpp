#include "mcval/stats/meta.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "mcval/stats/distributions.h"
#include "validate.h"

namespace mcval::stats {
namespace {

double expit(double x) { return 1.0 / (1.0 + std::exp(-x)); }

Interval expit(const Interval& interval) { return {expit(interval.low), expit(interval.high)}; }

}  // namespace

Result<MetaAnalysis> meta_analysis(std::span<const double> estimates, std::span<const double> variances,
                                   double confidence) {
  MCVAL_TRY(detail::check_confidence(confidence));
  if (estimates.empty()) return Error{ErrorCode::invalid_argument, "no estimates to combine"};
  if (estimates.size() != variances.size()) {
    return Error{ErrorCode::invalid_argument, "estimates and variances differ in length"};
  }
  for (std::size_t i = 0; i < estimates.size(); ++i) {
    if (!std::isfinite(estimates[i])) {
      return Error{ErrorCode::invalid_argument, "estimate " + std::to_string(i) + " is not finite"};
    }
    if (!(std::isfinite(variances[i]) && variances[i] > 0.0)) {
      return Error{ErrorCode::invalid_argument, "variance " + std::to_string(i) + " is not finite and positive"};
    }
  }
  const std::size_t k = estimates.size();
  MetaAnalysis m;
  m.k = k;
  m.df = static_cast<double>(k - 1);
  double sum_w = 0;
  double sum_w2 = 0;
  double sum_wy = 0;
  for (std::size_t i = 0; i < k; ++i) {
    const double w = 1.0 / variances[i];
    sum_w += w;
    sum_w2 += w * w;
    sum_wy += w * estimates[i];
  }
  m.fixed_estimate = sum_wy / sum_w;
  m.fixed_se = std::sqrt(1.0 / sum_w);
  for (std::size_t i = 0; i < k; ++i) {
    const double d = estimates[i] - m.fixed_estimate;
    m.q += d * d / variances[i];
  }
  m.q_p_value = k > 1 ? chi_square_sf(m.q, m.df) : 1.0;
  m.i2 = m.q > 0.0 ? std::max(0.0, (m.q - m.df) / m.q) : 0.0;
  const double c = sum_w - sum_w2 / sum_w;
  m.tau2 = c > 0.0 ? std::max(0.0, (m.q - m.df) / c) : 0.0;
  double sum_w_re = 0;
  double sum_wy_re = 0;
  for (std::size_t i = 0; i < k; ++i) {
    const double w = 1.0 / (variances[i] + m.tau2);
    sum_w_re += w;
    sum_wy_re += w * estimates[i];
  }
  m.random_estimate = sum_wy_re / sum_w_re;
  m.random_se = std::sqrt(1.0 / sum_w_re);
  const double z = normal_critical_value(confidence);
  m.fixed_ci = {m.fixed_estimate - z * m.fixed_se, m.fixed_estimate + z * m.fixed_se};
  m.random_ci = {m.random_estimate - z * m.random_se, m.random_estimate + z * m.random_se};
  if (k >= 3) {
    const double t = student_t_quantile(1.0 - 0.5 * (1.0 - confidence), static_cast<double>(k - 2));
    const double half = t * std::sqrt(m.tau2 + m.random_se * m.random_se);
    m.prediction_interval = Interval{m.random_estimate - half, m.random_estimate + half};
  }
  return m;
}

double hanley_mcneil_variance(double auc, double n_positive, double n_negative) {
  if (!(n_positive >= 1.0 && n_negative >= 1.0)) return std::nan("");
  const double q1 = auc / (2.0 - auc);
  const double q2 = 2.0 * auc * auc / (1.0 + auc);
  const double a2 = auc * auc;
  return (auc * (1.0 - auc) + (n_positive - 1.0) * (q1 - a2) + (n_negative - 1.0) * (q2 - a2)) /
         (n_positive * n_negative);
}

Result<PooledAuc> pool_auc(std::span<const CentreAuc> centres, double confidence) {
  if (centres.empty()) return Error{ErrorCode::invalid_argument, "no centres to pool"};
  PooledAuc pooled;
  for (std::size_t i = 0; i < centres.size(); ++i) {
    double a = centres[i].auc;
    double v = centres[i].variance;
    if (!(a >= 0.0 && a <= 1.0)) {
      return Error{ErrorCode::invalid_argument, "AUC of centre " + std::to_string(i) + " is not between 0 and 1"};
    }
    if (!(std::isfinite(v) && v >= 0.0)) {
      return Error{ErrorCode::invalid_argument, "AUC variance of centre " + std::to_string(i) + " is not finite"};
    }
    const bool boundary = a == 0.0 || a == 1.0;
    const bool correct = boundary || v == 0.0;
    if (correct) {
      if (centres[i].n_positive == 0 || centres[i].n_negative == 0) {
        return Error{ErrorCode::invalid_argument, "centre " + std::to_string(i) +
                                                      " needs the continuity correction but has no class counts"};
      }
      const double n_pos = static_cast<double>(centres[i].n_positive);
      const double n_neg = static_cast<double>(centres[i].n_negative);
      const double pairs = n_pos * n_neg;
      if (a == 1.0) a = (pairs - 0.5) / pairs;
      if (a == 0.0) a = 0.5 / pairs;
      v = hanley_mcneil_variance(a, n_pos, n_neg);
      if (!(std::isfinite(v) && v > 0.0)) {
        return Error{ErrorCode::invalid_argument,
                     "AUC variance of centre " + std::to_string(i) + " is 0 even after the continuity correction"};
      }
    }
    pooled.auc.push_back(a);
    pooled.corrected.push_back(correct);
    pooled.logit_auc.push_back(std::log(a / (1.0 - a)));
    const double slope = a * (1.0 - a);
    pooled.logit_variance.push_back(v / (slope * slope));
  }
  MCVAL_TRY_ASSIGN(logit, meta_analysis(pooled.logit_auc, pooled.logit_variance, confidence));
  pooled.logit = logit;
  pooled.fixed_auc = expit(logit.fixed_estimate);
  pooled.fixed_ci = expit(logit.fixed_ci);
  pooled.random_auc = expit(logit.random_estimate);
  pooled.random_ci = expit(logit.random_ci);
  if (logit.prediction_interval) pooled.prediction_interval = expit(*logit.prediction_interval);
  return pooled;
}

}  // namespace mcval::stats
