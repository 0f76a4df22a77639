#pragma once
// Bootstrap confidence intervals: stratified, optionally clustered, seeded, reproducible.
//
// Resampling scheme. The resampled units are the cases, or, when cluster ids are given, the
// clusters (e.g. patients: all slides of a drawn patient enter the replicate together, as often
// as the patient is drawn). Units are grouped into strata: a case's stratum is its `strata`
// value (the class label for binary data); a cluster's stratum is the largest stratum value of
// its cases, so for binary labels clusters are stratified by whether they contain any positive.
// Within each stratum, taken in increasing stratum value, as many units as the stratum holds are
// drawn uniformly with replacement; units are listed in order of first appearance.
//
// Random numbers. Replicate r (0-based) uses its own std::mt19937_64 seeded with the splitmix64
// output function of seed + (r + 1) * 0x9E3779B97F4A7C15 (mod 2^64); a unit is drawn from the
// upper 32 bits of one output by Lemire's unbiased multiply-and-reject method. Replicates are therefore independent of
// how they are spread over threads: results depend only on the data, the seed and the number of
// replicates, on every platform.
//
// Intervals. Percentile: the alpha/2 and 1 - alpha/2 quantiles of the finite replicate values,
// with linear interpolation between order statistics (numpy.percentile's default, type 7 of
// Hyndman and Fan). BCa (Efron 1987): bias correction z0 = Phi^-1((#{theta* < theta} +
// 1/2 #{theta* = theta}) / B), acceleration a = sum(d^3) / (6 (sum(d^2))^(3/2)) with
// d = mean(jackknife) - jackknife_i from the leave-one-unit-out jackknife over all units, and
// quantile levels Phi(z0 + (z0 + z_q) / (1 - a (z0 + z_q))) for z_q = Phi^-1(alpha/2) and
// Phi^-1(1 - alpha/2).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/stats/types.h"

namespace mcval::stats {

struct BootstrapOptions {
  std::size_t replicates = 2000;  ///< B >= 2
  std::uint64_t seed = 0;
  double confidence = kDefaultConfidence;  ///< in (0, 1)
  /// Worker threads; 0 means std::thread::hardware_concurrency(). The result does not depend on it.
  unsigned threads = 0;
  /// Compute the BCa interval. It needs one jackknife evaluation of the statistic per unit (case
  /// or cluster); bootstrap_auc() does these in O(n log n) in total, the generic bootstrap() calls
  /// the statistic once per unit.
  bool bca = true;
  /// Return the replicate values in BootstrapResult::replicates.
  bool keep_replicates = false;
};

struct BootstrapResult {
  double estimate = 0;  ///< the statistic on the original sample
  /// Standard deviation (denominator B - 1) of the finite replicate values.
  double se = 0;
  Interval percentile;
  /// Absent when z0 is infinite (all replicates on one side of the estimate) or when a jackknife
  /// value is not finite.
  std::optional<Interval> bca;
  double bias_correction = 0;  ///< z0 (NaN when infinite or not computed)
  double acceleration = 0;     ///< a (NaN when not computed)
  /// Replicates whose statistic was finite. A replicate whose statistic is NaN (e.g. a clustered
  /// replicate that drew no negative case) is left out of every interval and counted here.
  std::size_t replicates_used = 0;
  /// Replicate values in replicate order (NaN kept), only with keep_replicates.
  std::vector<double> replicates;
};

/// A statistic evaluated on a resample given as indices into the original data (with
/// repetitions). It must be safe to call concurrently from several threads (a pure function) and
/// may return NaN when undefined on a resample.
using BootstrapStatistic = std::function<double(std::span<const std::size_t> indices)>;

/// Generic bootstrap of any statistic over `n` cases.
/// `strata`: empty (one stratum) or one value per case. `clusters`: empty (cases are resampled)
/// or one cluster id per case. The estimate is statistic(0, 1, ..., n - 1).
/// Errors (invalid_argument): n == 0, a span of the wrong length, replicates < 2, confidence
/// outside (0, 1), a stratum holding more than 2^32 - 1 units, or a non-finite estimate.
/// An exception thrown by the statistic propagates to the caller.
Result<BootstrapResult> bootstrap(std::size_t n, std::span<const int> strata, std::span<const std::int64_t> clusters,
                                  const BootstrapStatistic& statistic, const BootstrapOptions& options = {});

/// A vector-valued statistic on a resample: writes one value per component into `values` (NaN
/// where undefined). Must be safe to call concurrently from several threads.
using BootstrapVectorStatistic = std::function<void(std::span<const std::size_t> indices, std::span<double> values)>;

/// Pointwise percentile band of a vector-valued statistic (a curve): per component, the alpha/2
/// and 1 - alpha/2 quantiles (type 7) of its finite replicate values.
struct BootstrapBand {
  std::vector<Interval> percentile;          ///< per component; NaN where no replicate was finite
  std::vector<std::size_t> replicates_used;  ///< per component: replicates with a finite value
};

/// Bootstrap band with the same resampling scheme and random draws as bootstrap() (no BCa).
/// Errors: as for bootstrap(), and dimension == 0.
Result<BootstrapBand> bootstrap_band(std::size_t n, std::span<const int> strata, std::span<const std::int64_t> clusters,
                                     std::size_t dimension, const BootstrapVectorStatistic& statistic,
                                     const BootstrapOptions& options = {});

/// Bootstrap of the AUC, stratified by class and optionally clustered (pass an empty span for no
/// clusters). Each replicate costs O(n) using tie groups of the original sorted scores (a
/// replicate is a multiset of original cases, so its AUC is a sweep over per-group counts) and
/// the jackknife O(n log n) in total; the values are bit-identical to bootstrap() with auc() as
/// the statistic. Errors: as for auc(), plus those of bootstrap().
Result<BootstrapResult> bootstrap_auc(std::span<const int> labels, std::span<const double> scores,
                                      std::span<const std::int64_t> clusters, const BootstrapOptions& options = {});

}  // namespace mcval::stats
