#include "mcval/stats/smoothed_calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "validate.h"

namespace mcval::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double cube(double v) { return v * v * v; }

// The local fit at xs over x[nleft..nright] (extended right over ties), as R's lowest() with
// no robustness weights. x is sorted. Returns false when every weight is 0.
bool local_fit(const std::vector<double>& x, const std::vector<double>& y, double xs, std::size_t nleft,
               std::size_t nright, std::vector<double>& w, double& ys) {
  const std::size_t n = x.size();
  const double range = x[n - 1] - x[0];
  const double h = std::max(xs - x[nleft], x[nright] - xs);
  const double h9 = 0.999 * h;
  const double h1 = 0.001 * h;
  double a = 0;
  std::size_t j = nleft;
  while (j < n) {
    w[j] = 0;
    const double r = std::fabs(x[j] - xs);
    if (r <= h9) {
      w[j] = r <= h1 ? 1.0 : cube(1.0 - cube(r / h));
      a += w[j];
    } else if (x[j] > xs) {
      break;
    }
    ++j;
  }
  const std::size_t nrt = j - 1;
  if (a <= 0) return false;
  for (j = nleft; j <= nrt; ++j) w[j] /= a;
  if (h > 0) {
    a = 0;
    for (j = nleft; j <= nrt; ++j) a += w[j] * x[j];
    double b = xs - a;
    double c = 0;
    for (j = nleft; j <= nrt; ++j) c += w[j] * (x[j] - a) * (x[j] - a);
    if (std::sqrt(c) > 0.001 * range) {
      b /= c;
      for (j = nleft; j <= nrt; ++j) w[j] *= b * (x[j] - a) + 1.0;
    }
  }
  ys = 0;
  for (j = nleft; j <= nrt; ++j) ys += w[j] * y[j];
  return true;
}

// R's clowess with nsteps = 0 on sorted x.
std::vector<double> lowess_sorted(const std::vector<double>& x, const std::vector<double>& y, double span,
                                  double delta) {
  const std::size_t n = x.size();
  std::vector<double> ys(n);
  if (n < 2) {
    ys[0] = y[0];
    return ys;
  }
  const auto ns = static_cast<std::size_t>(
      std::max<long long>(2, std::min<long long>(static_cast<long long>(n),
                                                 static_cast<long long>(span * static_cast<double>(n) + 1e-7))));
  std::vector<double> w(n, 0.0);
  std::size_t nleft = 0, nright = ns - 1;
  long long last = -1;  // index of the previous fitted point
  std::size_t i = 0;
  for (;;) {
    if (nright < n - 1) {
      const double d1 = x[i] - x[nleft];
      const double d2 = x[nright + 1] - x[i];
      if (d1 > d2) {
        ++nleft;
        ++nright;
        continue;
      }
    }
    if (!local_fit(x, y, x[i], nleft, nright, w, ys[i])) ys[i] = y[i];
    if (last < static_cast<long long>(i) - 1) {
      const auto l = static_cast<std::size_t>(last);
      const double denom = x[i] - x[l];
      for (std::size_t j = l + 1; j < i; ++j) {
        const double alpha = (x[j] - x[l]) / denom;
        ys[j] = alpha * ys[i] + (1.0 - alpha) * ys[l];
      }
    }
    last = static_cast<long long>(i);
    const double cut = x[i] + delta;
    for (i = static_cast<std::size_t>(last) + 1; i < n; ++i) {
      if (x[i] > cut) break;
      if (x[i] == x[static_cast<std::size_t>(last)]) {
        ys[i] = ys[static_cast<std::size_t>(last)];
        last = static_cast<long long>(i);
      }
    }
    i = std::max(static_cast<std::size_t>(last) + 1, i - 1);
    if (last >= static_cast<long long>(n) - 1) break;
  }
  return ys;
}

// Sorted copy of (x, y) by x, stable (R's order()).
void sort_pairs(std::span<const double> x, std::span<const double> y, std::vector<std::size_t>& order,
                std::vector<double>& xs, std::vector<double>& ysorted) {
  order.resize(x.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return x[a] < x[b]; });
  xs.resize(x.size());
  ysorted.resize(x.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    xs[k] = x[order[k]];
    ysorted[k] = y[order[k]];
  }
}

// Linear interpolation of the sorted knots (x, fitted) at t; NaN outside [x0, xn]. Tied knots
// carry equal fitted values (lowess copies them), so which one is used does not matter.
double interpolate(const std::vector<double>& x, const std::vector<double>& fitted, double t) {
  if (!(t >= x.front() && t <= x.back())) return kNaN;
  const auto hi = static_cast<std::size_t>(std::lower_bound(x.begin(), x.end(), t) - x.begin());
  if (x[hi] == t) return fitted[hi];
  const std::size_t lo = hi - 1;
  const double alpha = (t - x[lo]) / (x[hi] - x[lo]);
  return fitted[lo] + alpha * (fitted[hi] - fitted[lo]);
}

double quantile_type7(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const double h = static_cast<double>(values.size() - 1) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (h - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

}  // namespace

Result<std::vector<double>> lowess(std::span<const double> x, std::span<const double> y, double span, double delta) {
  if (x.empty() || x.size() != y.size()) return Error{ErrorCode::invalid_argument, "x and y empty or of different length"};
  if (!(span > 0.0 && span <= 1.0)) return Error{ErrorCode::invalid_argument, "the span must lie in (0, 1]"};
  if (!(std::isfinite(delta) && delta >= 0.0)) return Error{ErrorCode::invalid_argument, "delta must be >= 0"};
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) return Error{ErrorCode::invalid_argument, "a value is not finite"};
  }
  std::vector<std::size_t> order;
  std::vector<double> xs, ys;
  sort_pairs(x, y, order, xs, ys);
  const std::vector<double> fitted = lowess_sorted(xs, ys, span, delta);
  std::vector<double> out(x.size());
  for (std::size_t k = 0; k < order.size(); ++k) out[order[k]] = fitted[k];
  return out;
}

Result<SmoothedCalibration> smoothed_calibration(std::span<const int> labels, std::span<const double> probabilities,
                                                 double span, std::size_t curve_points) {
  MCVAL_TRY(detail::check_probabilities(labels, probabilities, false));
  if (labels.size() < 2) return Error{ErrorCode::invalid_argument, "fewer than 2 cases"};
  if (curve_points < 2) return Error{ErrorCode::invalid_argument, "fewer than 2 curve points"};
  const auto [min_it, max_it] = std::minmax_element(probabilities.begin(), probabilities.end());
  const double low = *min_it, high = *max_it;
  if (!(high > low)) return Error{ErrorCode::invalid_argument, "all predicted probabilities are equal"};
  std::vector<double> y(labels.begin(), labels.end());
  std::vector<std::size_t> order;
  std::vector<double> xs, ys;
  sort_pairs(probabilities, y, order, xs, ys);
  const std::vector<double> fitted = lowess_sorted(xs, ys, span, 0.01 * (high - low));
  SmoothedCalibration out;
  std::vector<double> errors(xs.size());
  for (std::size_t k = 0; k < xs.size(); ++k) errors[k] = std::fabs(xs[k] - fitted[k]);
  out.ici = std::accumulate(errors.begin(), errors.end(), 0.0) / static_cast<double>(errors.size());
  out.e50 = quantile_type7(errors, 0.5);
  out.e90 = quantile_type7(errors, 0.9);
  out.emax = *std::max_element(errors.begin(), errors.end());
  for (std::size_t g = 0; g < curve_points; ++g) {
    const double t = g + 1 == curve_points
                         ? high
                         : low + (high - low) * static_cast<double>(g) / static_cast<double>(curve_points - 1);
    out.curve_predicted.push_back(t);
    out.curve_observed.push_back(interpolate(xs, fitted, t));
  }
  return out;
}

Result<std::vector<Interval>> bootstrap_smoothed_calibration(std::span<const int> labels,
                                                             std::span<const double> probabilities,
                                                             std::span<const std::int64_t> clusters,
                                                             std::span<const double> grid,
                                                             const BootstrapOptions& options, double span) {
  MCVAL_TRY(detail::check_probabilities(labels, probabilities, false));
  if (grid.empty()) return Error{ErrorCode::invalid_argument, "no curve point"};
  const BootstrapVectorStatistic statistic = [&](std::span<const std::size_t> indices, std::span<double> values) {
    std::vector<double> x(indices.size()), y(indices.size());
    for (std::size_t k = 0; k < indices.size(); ++k) {
      x[k] = probabilities[indices[k]];
      y[k] = labels[indices[k]];
    }
    std::vector<std::size_t> order;
    std::vector<double> xs, ys;
    sort_pairs(x, y, order, xs, ys);
    const double range = xs.back() - xs.front();
    if (!(range > 0.0)) {
      std::fill(values.begin(), values.end(), kNaN);
      return;
    }
    const std::vector<double> fitted = lowess_sorted(xs, ys, span, 0.01 * range);
    for (std::size_t g = 0; g < grid.size(); ++g) values[g] = interpolate(xs, fitted, grid[g]);
  };
  MCVAL_TRY_ASSIGN(band, bootstrap_band(labels.size(), {}, clusters, grid.size(), statistic, options));
  return band.percentile;
}

}  // namespace mcval::stats
