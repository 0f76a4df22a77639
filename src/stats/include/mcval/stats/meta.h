#pragma once
// Between-centre heterogeneity and pooling: inverse-variance fixed-effect and DerSimonian-Laird
// random-effects meta-analysis, and its application to per-centre AUCs on the logit scale.
#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/stats/types.h"

namespace mcval::stats {

/// Meta-analysis of k estimates y_i with known variances v_i.
/// Fixed effect: w_i = 1/v_i, mu_FE = sum(w y)/sum(w), se_FE = 1/sqrt(sum(w)).
/// Cochran's Q = sum(w (y - mu_FE)^2) on df = k - 1, with its chi-square p-value.
/// I^2 = max(0, (Q - df)/Q) (0 when Q = 0). DerSimonian-Laird:
/// tau^2 = max(0, (Q - df) / (sum(w) - sum(w^2)/sum(w))).
/// Random effects: w*_i = 1/(v_i + tau^2), mu_RE = sum(w* y)/sum(w*), se_RE = 1/sqrt(sum(w*)).
/// Confidence intervals mu -/+ z se (normal, as statsmodels' combine_effects default).
/// Prediction interval (Higgins, Thompson and Spiegelhalter 2009):
/// mu_RE -/+ t_{k-2, 1-alpha/2} sqrt(tau^2 + se_RE^2), defined for k >= 3.
/// Identical to statsmodels.stats.meta_analysis.combine_effects(method_re="dl") when Q >= df
/// (statsmodels does not truncate tau^2 at 0).
struct MetaAnalysis {
  std::size_t k = 0;
  double q = 0;
  double df = 0;
  double q_p_value = 1;  ///< P(chi-square_df > Q); 1 when df = 0
  double i2 = 0;
  double tau2 = 0;
  double fixed_estimate = 0;
  double fixed_se = 0;
  Interval fixed_ci;
  double random_estimate = 0;
  double random_se = 0;
  Interval random_ci;
  std::optional<Interval> prediction_interval;  ///< only for k >= 3
};

/// Errors: k == 0, lengths differ, a non-finite estimate, a variance not finite and > 0,
/// confidence outside (0, 1).
Result<MetaAnalysis> meta_analysis(std::span<const double> estimates, std::span<const double> variances,
                                   double confidence = kDefaultConfidence);

/// One centre's AUC, its DeLong variance (see delong_auc()) and its class counts. The counts are
/// needed only where the continuity correction applies (see pool_auc()).
struct CentreAuc {
  double auc = 0;
  double variance = 0;
  std::size_t n_positive = 0;
  std::size_t n_negative = 0;
};

/// How pool_auc() lets a centre at AUC 0 or 1 take part, in words for the report.
inline constexpr const char* kBoundaryAucMethod =
    "continuity correction: a centre whose AUC is 0 or 1 (DeLong variance 0, no logit) enters with 1/2 a "
    "discordant (or concordant) pair added to its n_positive x n_negative pairs, AUC* = (pairs - 1/2)/pairs "
    "(or 1/2 / pairs), as the 1/2 added to a zero cell of a 2x2 table (Haldane 1956; Anscombe 1956), and the "
    "Hanley-McNeil (1982) variance at AUC*; a centre whose DeLong variance is 0 at an AUC inside (0, 1) takes "
    "the Hanley-McNeil variance at its AUC. The corrected centres are marked; every other centre enters with "
    "its DeLong variance";

/// Hanley and McNeil's (1982) variance of an AUC with n_positive and n_negative cases:
/// (A(1-A) + (n_pos-1)(Q1-A^2) + (n_neg-1)(Q2-A^2)) / (n_pos n_neg), Q1 = A/(2-A),
/// Q2 = 2A^2/(1+A). NaN when a count is 0.
double hanley_mcneil_variance(double auc, double n_positive, double n_negative);

/// Random-effects pooling of centre AUCs on the logit scale. Per centre:
/// y = logit(auc) = log(auc / (1 - auc)), v = variance / (auc (1 - auc))^2 (delta method).
/// The meta-analysis runs on (y, v); estimates and intervals are back-transformed with
/// expit(x) = 1 / (1 + exp(-x)), so every AUC-scale interval lies inside (0, 1).
struct PooledAuc {
  std::vector<double> auc;             ///< the AUC that entered per centre (AUC* where corrected)
  std::vector<bool> corrected;         ///< per centre: the continuity correction applied
  std::vector<double> logit_auc;       ///< y per centre
  std::vector<double> logit_variance;  ///< v per centre
  MetaAnalysis logit;                  ///< the meta-analysis on the logit scale
  double fixed_auc = 0;
  Interval fixed_ci;
  double random_auc = 0;
  Interval random_ci;
  std::optional<Interval> prediction_interval;  ///< only for k >= 3
};

/// A centre at AUC 0 or 1 (a perfectly separating centre: DeLong variance 0, no logit), or with
/// DeLong variance 0, enters by the continuity correction of kBoundaryAucMethod instead of dropping
/// out; `corrected` says which. Errors: no centre; a centre whose AUC is not in [0, 1], whose
/// variance is not finite and >= 0, or that needs the correction without n_positive and
/// n_negative >= 1, the detail naming the centre's index; confidence outside (0, 1).
Result<PooledAuc> pool_auc(std::span<const CentreAuc> centres, double confidence = kDefaultConfidence);

}  // namespace mcval::stats
