#include "mcval/stats/distributions.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace mcval::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kLogSqrt2Pi = 0.918938533204672741780329736406;  // log(sqrt(2 pi))

// Rational approximations of Wichura's AS 241 (PPND16), coefficients from the paper.
double ppnd16_central(double q) {
  const double r = 0.180625 - q * q;
  const double num = ((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r +
                         45921.953931549871457) *
                            r +
                        13731.693765509461125) *
                           r +
                       1971.5909503065514427) *
                          r +
                      133.14166789178437745) *
                         r +
                     3.387132872796366608;
  const double den =
      ((((((5226.495278852854561 * r + 28729.085735721942674) * r + 39307.89580009271061) * r + 21213.794301586595867) *
             r +
         5394.1960214247511077) *
            r +
        687.1870074920579083) *
           r +
       42.313330701600911252) *
          r +
      1.0;
  return q * num / den;
}

// Tail of AS 241 for r = sqrt(-log(min(p, 1 - p))); returns the positive deviate.
double ppnd16_tail(double r) {
  if (r <= 5.0) {
    r -= 1.6;
    const double num =
        ((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r +
            1.27045825245236838258) *
               r +
           3.64784832476320460504) *
              r +
          5.7694972214606914055) *
             r +
         4.6303378461565452959) *
            r +
        1.42343711074968357734;
    const double den =
        ((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r +
            0.14810397642748007459) *
               r +
           0.68976733498510000455) *
              r +
          1.6763848301838038494) *
             r +
         2.05319162663775882187) *
            r +
        1.0;
    return num / den;
  }
  r -= 5.0;
  const double num =
      ((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r +
          0.026532189526576123093) *
             r +
         0.29656057182850489123) *
            r +
        1.7848265399172913358) *
           r +
       5.4637849111641143699) *
          r +
      6.6579046435011037772;
  const double den =
      ((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r +
          7.868691311456132591e-4) *
             r +
         0.0148753612908506148525) *
            r +
        0.13692988092273580531) *
           r +
       0.59983220655588793769) *
          r +
      1.0;
  return num / den;
}

// Stirling correction lgamma(x) - ((x - 1/2) log x - x + log sqrt(2 pi)) for x >= 10, from the
// asymptotic series with Bernoulli numbers B_2k / (2k (2k - 1) x^(2k-1)); error below 1e-17.
double lgamma_correction(double x) {
  static constexpr double kCoefficients[] = {1.0 / 12.0,    -1.0 / 360.0,       1.0 / 1260.0,
                                             -1.0 / 1680.0, 1.0 / 1188.0,       -691.0 / 360360.0,
                                             1.0 / 156.0,   -3617.0 / 122400.0, 43867.0 / 244188.0};
  const double inv = 1.0 / x;
  const double inv2 = inv * inv;
  double sum = 0;
  double power = inv;
  for (double c : kCoefficients) {
    sum += c * power;
    power *= inv2;
  }
  return sum;
}

// log Gamma(x) for x > 0: Stirling's series for x >= 10, shifted up by the recurrence
// Gamma(x) = Gamma(x + k) / (x (x + 1) ... (x + k - 1)) below. (std::lgamma writes the global
// signgam and so is not thread-safe.)
double log_gamma(double x) {
  double product = 1.0;
  while (x < 10.0) {
    product *= x;
    x += 1.0;
  }
  return (x - 0.5) * std::log(x) - x + kLogSqrt2Pi + lgamma_correction(x) - std::log(product);
}

// log B(a, b) without the cancellation of lgamma(a) + lgamma(b) - lgamma(a + b) for large
// arguments (the approach of R's lbeta).
double log_beta(double a, double b) {
  const double p = std::min(a, b);
  const double q = std::max(a, b);
  if (p >= 10.0) {
    const double corr = lgamma_correction(p) + lgamma_correction(q) - lgamma_correction(p + q);
    return -0.5 * std::log(q) + kLogSqrt2Pi + corr + (p - 0.5) * std::log(p / (p + q)) + q * std::log1p(-p / (p + q));
  }
  if (q >= 10.0) {
    const double corr = lgamma_correction(q) - lgamma_correction(p + q);
    return log_gamma(p) + corr + p - p * std::log(p + q) + (q - 0.5) * std::log1p(-p / (p + q));
  }
  return log_gamma(p) + log_gamma(q) - log_gamma(p + q);
}

// Continued fraction of the incomplete beta function (modified Lentz), valid for
// x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEps = 1e-16;
  const double qab = a + b;
  const double qap = a + 1.0;
  const double qam = a - 1.0;
  double c = 1.0;
  double d = 1.0 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const double m2 = 2.0 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < kEps) break;
  }
  return h;
}

// I_x(a, b) with y = 1 - x supplied separately so that neither loses precision.
double incomplete_beta(double x, double y, double a, double b) {
  if (x <= 0.0) return 0.0;
  if (y <= 0.0) return 1.0;
  const double log_front = a * std::log(x) + b * std::log(y) - log_beta(a, b);
  if (x < (a + 1.0) / (a + b + 2.0)) return std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
  return 1.0 - std::exp(log_front) * beta_continued_fraction(b, a, y) / b;
}

// P(T > t) for t >= 0.
double t_upper_tail(double t, double df) {
  const double t2 = t * t;
  const double x = df / (df + t2);
  const double y = t2 / (df + t2);
  return 0.5 * incomplete_beta(x, y, 0.5 * df, 0.5);
}

// log of the t density.
double t_log_density(double t, double df) {
  return -log_beta(0.5 * df, 0.5) - 0.5 * std::log(df) - 0.5 * (df + 1.0) * std::log1p(t * t / df);
}

// The x > 0 with P(T > x) = q, for 0 < q < 1/2.
double t_upper_quantile(double q, double df) {
  if (df == 1.0) return 1.0 / std::tan(std::numbers::pi * q);
  if (df == 2.0) return (1.0 - 2.0 * q) / std::sqrt(2.0 * q * (1.0 - q));
  // Start from the Cornish-Fisher expansion around the normal quantile.
  const double z = -normal_quantile(q);
  const double z2 = z * z;
  double x = z + z * (z2 + 1.0) / (4.0 * df) + z * ((5.0 * z2 + 16.0) * z2 + 3.0) / (96.0 * df * df);
  if (!(x > 0.0) || !std::isfinite(x)) x = z > 0.0 ? z : 1.0;
  // Bracket: t_upper_tail(lo) > q >= t_upper_tail(hi).
  double lo = 0.0;
  double hi = x;
  while (t_upper_tail(hi, df) > q) {
    lo = hi;
    hi *= 2.0;
    if (!std::isfinite(hi)) return kInf;
  }
  const double log_q = std::log(q);
  for (int iteration = 0; iteration < 200; ++iteration) {
    const double tail = t_upper_tail(x, df);
    if (tail > q) {
      lo = std::max(lo, x);
    } else {
      hi = std::min(hi, x);
    }
    // Newton on log P(T > x) - log q; its derivative is -density / tail.
    const double step = (std::log(tail) - log_q) * tail / std::exp(t_log_density(x, df));
    double next = x + step;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (std::fabs(next - x) <= 1e-15 * std::fabs(x) || hi - lo <= 1e-15 * hi) return next;
    x = next;
  }
  return x;
}

// P(a, x) by its series, for x < a + 1.
double lower_gamma_series(double a, double x) {
  double term = 1.0 / a;
  double sum = term;
  for (int n = 1; n < 100000; ++n) {
    term *= x / (a + n);
    sum += term;
    if (std::fabs(term) < std::fabs(sum) * 1e-17) break;
  }
  return sum * std::exp(-x + a * std::log(x) - log_gamma(a));
}

// Q(a, x) by its continued fraction (modified Lentz), for x >= a + 1.
double upper_gamma_continued_fraction(double a, double x) {
  constexpr double kTiny = 1e-300;
  double b = x + 1.0 - a;
  double c = 1.0 / kTiny;
  double d = 1.0 / b;
  double h = d;
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1.0) < 1e-16) break;
  }
  return std::exp(-x + a * std::log(x) - log_gamma(a)) * h;
}

}  // namespace

double normal_cdf(double x) noexcept { return 0.5 * std::erfc(-x / std::numbers::sqrt2); }

double normal_sf(double x) noexcept { return 0.5 * std::erfc(x / std::numbers::sqrt2); }

double normal_quantile(double p) noexcept {
  if (std::isnan(p) || p < 0.0 || p > 1.0) return kNaN;
  if (p == 0.0) return -kInf;
  if (p == 1.0) return kInf;
  const double q = p - 0.5;
  if (std::fabs(q) <= 0.425) return ppnd16_central(q);
  const double r = std::sqrt(-std::log(q < 0.0 ? p : 1.0 - p));
  const double value = ppnd16_tail(r);
  return q < 0.0 ? -value : value;
}

double normal_critical_value(double confidence) noexcept {
  if (!(confidence > 0.0 && confidence < 1.0)) return kNaN;
  return -normal_quantile(0.5 * (1.0 - confidence));
}

double regularized_incomplete_beta(double x, double a, double b) noexcept {
  if (std::isnan(x) || !(a > 0.0) || !(b > 0.0) || x < 0.0 || x > 1.0) return kNaN;
  return incomplete_beta(x, 1.0 - x, a, b);
}

double student_t_sf(double t, double df) noexcept {
  if (std::isnan(t) || !(df > 0.0)) return kNaN;
  if (std::isinf(df)) return normal_sf(t);
  if (std::isinf(t)) return t > 0 ? 0.0 : 1.0;
  return t >= 0.0 ? t_upper_tail(t, df) : 1.0 - t_upper_tail(-t, df);
}

double student_t_cdf(double t, double df) noexcept {
  if (std::isnan(t) || !(df > 0.0)) return kNaN;
  if (std::isinf(df)) return normal_cdf(t);
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  return t <= 0.0 ? t_upper_tail(-t, df) : 1.0 - t_upper_tail(t, df);
}

double student_t_quantile(double p, double df) noexcept {
  if (std::isnan(p) || !(df > 0.0) || p < 0.0 || p > 1.0) return kNaN;
  if (p == 0.0) return -kInf;
  if (p == 1.0) return kInf;
  if (p == 0.5) return 0.0;
  if (std::isinf(df)) return normal_quantile(p);
  if (p < 0.5) return -t_upper_quantile(p, df);
  return t_upper_quantile(1.0 - p, df);
}

double regularized_upper_gamma(double a, double x) noexcept {
  if (std::isnan(x) || !(a > 0.0) || x < 0.0) return kNaN;
  if (x == 0.0) return 1.0;
  if (std::isinf(x)) return 0.0;
  if (x < a + 1.0) return 1.0 - lower_gamma_series(a, x);
  return upper_gamma_continued_fraction(a, x);
}

double chi_square_sf(double x, double df) noexcept {
  if (std::isnan(x) || !(df > 0.0)) return kNaN;
  if (x <= 0.0) return 1.0;
  return regularized_upper_gamma(0.5 * df, 0.5 * x);
}

}  // namespace mcval::stats
