#pragma once
// Smoothed calibration curve as R rms::val.prob draws it, and the calibration errors derived from
// it: ICI (integrated calibration index, Austin and Steyerberg 2019), E50, E90 and Emax.
//
// The smoother is R's lowess(p, y, f = 2/3, iter = 0, delta = 0.01 * diff(range(p))) (Cleveland
// 1979: locally weighted linear fits with tricube weights over the nearest f * n points, fitted
// at points at least delta apart and linearly interpolated between them; no robustness
// iterations), exactly as val.prob calls it. For each case, e_i = |p_i - s(p_i)| with s the
// smoothed curve; ICI = mean(e) (val.prob's "Eavg"), E50 = median(e), E90 = the 0.9 quantile of e
// (type 7, R's default), Emax = max(e).
#include <cstddef>
#include <span>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/stats/bootstrap.h"
#include "mcval/stats/types.h"

namespace mcval::stats {

/// R's lowess with iter = 0: the fitted value at each x, in input order. `span` is R's f.
/// Errors: lengths differ, empty, a non-finite value, span not in (0, 1].
Result<std::vector<double>> lowess(std::span<const double> x, std::span<const double> y, double span,
                                   double delta);

struct SmoothedCalibration {
  std::vector<double> curve_predicted;  ///< grid of predicted probabilities (the range of p)
  std::vector<double> curve_observed;   ///< the smoothed observed proportion at each grid point
  double ici = 0;
  double e50 = 0;
  double e90 = 0;
  double emax = 0;
};

/// The method in words, for reports.
inline constexpr const char* kSmoothedCalibrationMethod =
    "lowess(p, y, f = 2/3, iter = 0, delta = 0.01 range(p)) as rms::val.prob; errors |p - smoothed(p)|: "
    "ICI = mean (val.prob's Eavg), E50 = median, E90 = 0.9 quantile, Emax = max (Austin and Steyerberg 2019)";

/// The default number of curve points between min(p) and max(p).
inline constexpr std::size_t kSmoothedCurvePoints = 50;

/// Errors: as for brier_score() (labels 0/1, probabilities in [0, 1]), fewer than 2 cases,
/// all probabilities equal (no range to smooth over).
Result<SmoothedCalibration> smoothed_calibration(std::span<const int> labels, std::span<const double> probabilities,
                                                 double span = 2.0 / 3.0,
                                                 std::size_t curve_points = kSmoothedCurvePoints);

/// Pointwise bootstrap band of the smoothed curve at the original curve_predicted grid: cases
/// (or clusters) resampled, the smoother refitted, its curve interpolated linearly at the grid
/// (a grid point outside a replicate's range of p is left out of that replicate).
Result<std::vector<Interval>> bootstrap_smoothed_calibration(std::span<const int> labels,
                                                             std::span<const double> probabilities,
                                                             std::span<const std::int64_t> clusters,
                                                             std::span<const double> grid,
                                                             const BootstrapOptions& options, double span = 2.0 / 3.0);

}  // namespace mcval::stats
