#include "mcval/synth/stain.h"

#include <algorithm>
#include <cmath>

#include "random.h"

namespace mcval::synth {

namespace {

using Vec3 = std::array<double, 3>;
using Mat3 = std::array<double, 9>;  // row-major

constexpr double kMaxOd = 5.545177444479562;  // ln(256): OD of intensity 0
constexpr int kOdBins = 8192;

double dot(const Vec3& a, const Vec3& b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

Vec3 cross(const Vec3& a, const Vec3& b) {
  return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

Vec3 normalized(Vec3 v) {
  const double n = std::sqrt(dot(v, v));
  if (n <= 0) return v;
  for (double& c : v) c /= n;
  return v;
}

/// A stain vector after a shift: components kept positive (a dye absorbs, never emits).
Vec3 shifted_stain(const Vec3& v, const Vec3& shift) {
  Vec3 out;
  for (int i = 0; i < 3; ++i) out[i] = std::max(v[i] + shift[i], 0.01);
  return normalized(out);
}

Mat3 columns(const Vec3& a, const Vec3& b, const Vec3& c) {
  return {a[0], b[0], c[0], a[1], b[1], c[1], a[2], b[2], c[2]};
}

Mat3 multiply(const Mat3& a, const Mat3& b) {
  Mat3 out{};
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c)
      for (int k = 0; k < 3; ++k) out[r * 3 + c] += a[r * 3 + k] * b[k * 3 + c];
  return out;
}

bool invert(const Mat3& m, Mat3& out) {
  const double det =
      m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
  if (std::abs(det) < 1e-9) return false;
  const double inv = 1.0 / det;
  out = {(m[4] * m[8] - m[5] * m[7]) * inv, (m[2] * m[7] - m[1] * m[8]) * inv, (m[1] * m[5] - m[2] * m[4]) * inv,
         (m[5] * m[6] - m[3] * m[8]) * inv, (m[0] * m[8] - m[2] * m[6]) * inv, (m[2] * m[3] - m[0] * m[5]) * inv,
         (m[3] * m[7] - m[4] * m[6]) * inv, (m[1] * m[6] - m[0] * m[7]) * inv, (m[0] * m[4] - m[1] * m[3]) * inv};
  return true;
}

/// Eigen-decomposition of a symmetric 3x3 matrix by Jacobi rotations; eigenvectors are the
/// columns of `vectors`, sorted by decreasing eigenvalue.
void symmetric_eigen(Mat3 a, Vec3& values, Mat3& vectors) {
  vectors = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  for (int sweep = 0; sweep < 50; ++sweep) {
    const double off = a[1] * a[1] + a[2] * a[2] + a[5] * a[5];
    if (off < 1e-20) break;
    for (int p = 0; p < 2; ++p) {
      for (int q = p + 1; q < 3; ++q) {
        const double apq = a[p * 3 + q];
        if (std::abs(apq) < 1e-30) continue;
        const double theta = (a[q * 3 + q] - a[p * 3 + p]) / (2 * apq);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1);
        const double s = t * c;
        for (int k = 0; k < 3; ++k) {  // A = A * J
          const double akp = a[k * 3 + p];
          const double akq = a[k * 3 + q];
          a[k * 3 + p] = c * akp - s * akq;
          a[k * 3 + q] = s * akp + c * akq;
        }
        for (int k = 0; k < 3; ++k) {  // A = J^T * A
          const double apk = a[p * 3 + k];
          const double aqk = a[q * 3 + k];
          a[p * 3 + k] = c * apk - s * aqk;
          a[q * 3 + k] = s * apk + c * aqk;
        }
        for (int k = 0; k < 3; ++k) {  // V = V * J
          const double vkp = vectors[k * 3 + p];
          const double vkq = vectors[k * 3 + q];
          vectors[k * 3 + p] = c * vkp - s * vkq;
          vectors[k * 3 + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  std::array<int, 3> order{0, 1, 2};
  std::sort(order.begin(), order.end(), [&](int x, int y) { return a[x * 3 + x] > a[y * 3 + y]; });
  Mat3 sorted{};
  for (int c = 0; c < 3; ++c) {
    values[c] = a[order[c] * 3 + order[c]];
    for (int r = 0; r < 3; ++r) sorted[r * 3 + c] = vectors[r * 3 + order[c]];
  }
  vectors = sorted;
}

double percentile(std::vector<double>& values, double fraction) {
  const auto index = static_cast<std::size_t>(fraction * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index), values.end());
  return values[index];
}

}  // namespace

double optical_density(std::uint8_t intensity) { return -std::log((static_cast<double>(intensity) + 1.0) / 256.0); }

StainVectors estimate_stain_vectors(const slide::RgbImage& image, double min_od) {
  std::array<double, 256> od_table{};
  for (int i = 0; i < 256; ++i) od_table[i] = optical_density(static_cast<std::uint8_t>(i));

  std::vector<Vec3> od;
  const std::size_t pixels = image.pixels.size() / 3;
  const std::size_t step = std::max<std::size_t>(1, pixels / 200000);
  for (std::size_t i = 0; i < pixels; i += step) {
    const std::uint8_t* p = image.pixels.data() + i * 3;
    const Vec3 v{od_table[p[0]], od_table[p[1]], od_table[p[2]]};
    if (v[0] < min_od || v[1] < min_od || v[2] < min_od) continue;
    od.push_back(v);
  }
  if (od.size() < 500) return {};

  Vec3 mean{};
  for (const Vec3& v : od)
    for (int c = 0; c < 3; ++c) mean[c] += v[c];
  for (double& m : mean) m /= static_cast<double>(od.size());
  Mat3 cov{};
  for (const Vec3& v : od)
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) cov[r * 3 + c] += (v[r] - mean[r]) * (v[c] - mean[c]);
  Vec3 values;
  Mat3 vectors;
  symmetric_eigen(cov, values, vectors);
  Vec3 e1{vectors[0], vectors[3], vectors[6]};
  Vec3 e2{vectors[1], vectors[4], vectors[7]};
  if (e1[0] + e1[1] + e1[2] < 0)
    for (double& c : e1) c = -c;
  if (e2[0] + e2[1] + e2[2] < 0)
    for (double& c : e2) c = -c;

  std::vector<double> angles;
  angles.reserve(od.size());
  for (const Vec3& v : od) angles.push_back(std::atan2(dot(v, e2), dot(v, e1)));
  const double low = percentile(angles, 0.01);
  const double high = percentile(angles, 0.99);
  auto direction = [&](double angle) {
    Vec3 v;
    for (int c = 0; c < 3; ++c) v[c] = e1[c] * std::cos(angle) + e2[c] * std::sin(angle);
    return v;
  };
  Vec3 a = direction(low);
  Vec3 b = direction(high);
  if (a[0] < b[0]) std::swap(a, b);
  // Stain vectors absorb in every channel; a clearly negative component means the estimate
  // picked up something else (pen marks, a non-H&E stain).
  for (const Vec3* v : {&a, &b})
    for (double c : *v)
      if (c < -0.05) return {};
  StainVectors out;
  out.haematoxylin = shifted_stain(a, {0, 0, 0});
  out.eosin = shifted_stain(b, {0, 0, 0});
  if (std::abs(dot(out.haematoxylin, out.eosin)) > 0.995) return {};
  return out;
}

bool StainProfile::is_identity() const {
  for (int c = 0; c < 3; ++c) {
    if (haematoxylin_shift[c] != 0 || eosin_shift[c] != 0 || illuminant_rgb[c] != 255) return false;
  }
  return haematoxylin_scale == 1.0 && eosin_scale == 1.0;
}

std::vector<StainProfile> centre_stains(int count, std::uint64_t seed) {
  std::vector<StainProfile> out;
  if (count <= 0) return out;
  out.emplace_back();

  StainProfile blue;
  blue.name = "blue-haematoxylin";
  blue.haematoxylin_shift = {0.22, 0.02, -0.16};
  blue.haematoxylin_scale = 1.35;
  blue.eosin_shift = {0.0, 0.0, 0.05};
  blue.eosin_scale = 0.7;
  blue.illuminant_rgb = {243, 248, 255};

  StainProfile orange;
  orange.name = "orange-eosin";
  orange.haematoxylin_shift = {0.0, 0.02, 0.04};
  orange.haematoxylin_scale = 0.85;
  orange.eosin_shift = {0.0, -0.08, 0.28};
  orange.eosin_scale = 1.2;
  orange.illuminant_rgb = {255, 248, 236};

  StainProfile purple;
  purple.name = "dark-purple";
  purple.haematoxylin_shift = {-0.10, 0.0, 0.12};
  purple.haematoxylin_scale = 1.2;
  purple.eosin_shift = {0.25, 0.0, 0.10};
  purple.eosin_scale = 1.25;
  purple.illuminant_rgb = {236, 232, 242};

  const std::array<StainProfile, 3> presets{blue, orange, purple};
  for (int centre = 1; centre < count; ++centre) {
    detail::Rng rng(detail::hash_mix(seed, 0x57a1, static_cast<std::uint64_t>(centre)));
    StainProfile p;
    if (centre <= static_cast<int>(presets.size())) {
      p = presets[static_cast<std::size_t>(centre - 1)];
      for (int c = 0; c < 3; ++c) {
        p.haematoxylin_shift[c] += rng.uniform(-0.02, 0.02);
        p.eosin_shift[c] += rng.uniform(-0.02, 0.02);
        p.illuminant_rgb[c] = std::min(255.0, p.illuminant_rgb[c] + rng.uniform(-2.0, 2.0));
      }
      p.haematoxylin_scale *= rng.uniform(0.96, 1.04);
      p.eosin_scale *= rng.uniform(0.96, 1.04);
    } else {
      p.name = "random-" + std::to_string(centre);
      for (int c = 0; c < 3; ++c) {
        p.haematoxylin_shift[c] = rng.uniform(-0.2, 0.2);
        p.eosin_shift[c] = rng.uniform(-0.2, 0.3);
      }
      p.haematoxylin_scale = rng.uniform(0.75, 1.4);
      p.eosin_scale = rng.uniform(0.7, 1.35);
      const double level = rng.uniform(232, 255);
      for (int c = 0; c < 3; ++c) p.illuminant_rgb[c] = std::min(255.0, level + rng.uniform(-8, 8));
    }
    out.push_back(std::move(p));
  }
  return out;
}

StainTransform::StainTransform(const StainProfile& profile, const StainVectors& source) {
  for (int i = 0; i < 256; ++i) od_[i] = static_cast<float>(optical_density(static_cast<std::uint8_t>(i)));
  intensity_.resize(kOdBins + 1);
  for (int i = 0; i <= kOdBins; ++i) {
    const double od = kMaxOd * i / kOdBins;
    const double value = 256.0 * std::exp(-od) - 1.0;
    intensity_[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(std::clamp(std::lround(value), 0L, 255L));
  }
  identity_ = profile.is_identity();
  matrix_ = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  if (identity_) return;

  const Vec3 h = normalized(source.haematoxylin);
  const Vec3 e = normalized(source.eosin);
  const Vec3 residual = normalized(cross(h, e));
  Mat3 source_inverse;
  if (!invert(columns(h, e, residual), source_inverse)) {
    // Degenerate source vectors: fall back to the published ones.
    const StainVectors defaults;
    *this = StainTransform(profile, defaults);
    return;
  }
  const Vec3 h_target = shifted_stain(h, profile.haematoxylin_shift);
  const Vec3 e_target = shifted_stain(e, profile.eosin_shift);
  const Mat3 target = columns(h_target, e_target, residual);
  const Mat3 scale{profile.haematoxylin_scale, 0, 0, 0, profile.eosin_scale, 0, 0, 0, 1};
  const Mat3 m = multiply(multiply(target, scale), source_inverse);
  for (int i = 0; i < 9; ++i) matrix_[static_cast<std::size_t>(i)] = static_cast<float>(m[static_cast<std::size_t>(i)]);
  for (int c = 0; c < 3; ++c) {
    const double level = std::clamp(profile.illuminant_rgb[c], 1.0, 255.0);
    offset_[c] = static_cast<float>(-std::log((level + 1.0) / 256.0));
  }
}

void StainTransform::apply(std::uint8_t* rgb, std::size_t pixel_count) const {
  if (identity_) return;
  const float* m = matrix_.data();
  constexpr float kBinsPerOd = static_cast<float>(kOdBins / kMaxOd);
  for (std::size_t i = 0; i < pixel_count; ++i, rgb += 3) {
    const float r = od_[rgb[0]];
    const float g = od_[rgb[1]];
    const float b = od_[rgb[2]];
    for (int c = 0; c < 3; ++c) {
      float od = m[c * 3] * r + m[c * 3 + 1] * g + m[c * 3 + 2] * b + offset_[static_cast<std::size_t>(c)];
      od = std::clamp(od * kBinsPerOd + 0.5f, 0.0f, static_cast<float>(kOdBins));
      rgb[c] = intensity_[static_cast<std::size_t>(od)];
    }
  }
}

std::array<std::uint8_t, 3> StainTransform::apply(std::array<std::uint8_t, 3> rgb) const {
  apply(rgb.data(), 1);
  return rgb;
}

}  // namespace mcval::synth
