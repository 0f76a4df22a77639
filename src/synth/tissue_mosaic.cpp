#include "mcval/synth/tissue_mosaic.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "random.h"

namespace mcval::synth {

namespace {

constexpr int kMaskStep = 16;            // tissue depth is sampled every 16 px and interpolated
constexpr double kEdgePx = 3.0;          // width of the ramp from glass to tissue
constexpr float kDepthClamp = 48.0f;     // depths are clamped so interpolation stays local
constexpr double kOutside = -1e9;        // blob depth far outside
constexpr double kFineNoisePx = 5.0;     // edge raggedness at the 16 px scale
constexpr double kCoarseNoisePx = 14.0;  // and at the 64 px scale
constexpr double kRegionCells = 12.0;    // size of a region of alike tissue, in mosaic cells
constexpr double kPatchJitter = 0.1;     // spread of patch choice around the region's density

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

float ramp(float depth) {
  const float t = std::clamp(depth / static_cast<float>(kEdgePx) + 0.5f, 0.0f, 1.0f);
  return t * t * (3.0f - 2.0f * t);
}

/// Uniform in [-1, 1) from a hash.
double signed_unit(std::uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-52 - 1.0; }

/// One axis of the patch grid at one pixel: the cell `a` with patch coordinate `ua` and, in a
/// seam's band, the next cell a + 1 (patch coordinate ua - cell_px) with weight `wb`.
struct AxisSample {
  std::int64_t a = 0;
  int ua = 0;
  float wb = 0;
};

/// `seams[k]` is the position of seam first + k; `x` a pixel index along the axis.
AxisSample axis_sample(std::int64_t x, const double* seams, std::int64_t first, int cell_px, int half_overlap,
                       int margin) {
  const double centre = static_cast<double>(x) + 0.5;
  std::int64_t k = floor_div(x, cell_px);
  if (centre < seams[k - first]) {
    --k;
  } else if (centre >= seams[k + 1 - first]) {
    ++k;
  }
  const double from_left = centre - seams[k - first];
  const double to_right = seams[k + 1 - first] - centre;
  AxisSample s;
  if (from_left < half_overlap) {
    s.a = k - 1;
    s.wb = static_cast<float>((from_left + half_overlap) / (2.0 * half_overlap));
  } else if (to_right <= half_overlap) {
    s.a = k;
    s.wb = static_cast<float>((half_overlap - to_right) / (2.0 * half_overlap));
  } else {
    s.a = k;
  }
  s.ua = static_cast<int>(x - (s.a * cell_px - margin));
  return s;
}

}  // namespace

TissueMosaic::TissueMosaic(const TissueSource& source, std::int64_t width, std::int64_t height, std::uint64_t seed,
                           PatchRange patches)
    : source_(&source),
      width_(std::max<std::int64_t>(width, 1)),
      height_(std::max<std::int64_t>(height, 1)),
      seed_(seed),
      patch_px_(source.patch_px()),
      overlap_px_(2 * std::max(1, source.patch_px() / 32)),
      wave_px_(source.patch_px() * 5 / 64),
      cell_px_(source.patch_px() - 2 * std::max(1, source.patch_px() / 32) - 2 * (source.patch_px() * 5 / 64)) {
  const std::size_t total = source.patches().size();
  const double from = std::clamp(patches.from, 0.0, 1.0);
  const double to = std::clamp(patches.to, from, 1.0);
  first_patch_ = std::min(static_cast<std::size_t>(from * static_cast<double>(total)), total - 1);
  const auto last = static_cast<std::size_t>(std::ceil(to * static_cast<double>(total)));
  patch_count_ = std::clamp<std::size_t>(last, first_patch_ + 1, total) - first_patch_;

  detail::Rng rng(detail::hash_mix(seed, 0x15a7d5));
  const int count = 2 + static_cast<int>(rng.below(3));
  const double w = static_cast<double>(width_);
  const double h = static_cast<double>(height_);
  // Islands sit in the cells of a grid of roughly square cells; some cells stay empty.
  const int cols = std::clamp(static_cast<int>(std::lround(std::sqrt(count * w / h))), 1, count);
  const int rows = (count + cols - 1) / cols;
  std::vector<int> slots(static_cast<std::size_t>(rows * cols));
  for (int i = 0; i < rows * cols; ++i) slots[static_cast<std::size_t>(i)] = i;
  for (int i = rows * cols - 1; i > 0; --i) {
    std::swap(slots[static_cast<std::size_t>(i)],
              slots[static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(i) + 1))]);
  }
  const double cell_w = w / cols;
  const double cell_h = h / rows;
  const double coverage = rng.uniform(0.40, 0.60);
  for (int n = 0; n < count; ++n) {
    const int slot = slots[static_cast<std::size_t>(n)];
    Blob b;
    const int slot_col = slot % cols;
    const int slot_row = slot / cols;
    b.cx = (slot_col + 0.5 + rng.uniform(-0.08, 0.08)) * cell_w;
    b.cy = (slot_row + 0.5 + rng.uniform(-0.08, 0.08)) * cell_h;
    const bool wide = cell_w >= cell_h;
    const double angle = (wide ? 0.0 : std::numbers::pi / 2) + rng.uniform(-0.35, 0.35);
    b.cos_a = std::cos(angle);
    b.sin_a = std::sin(angle);
    const double aspect = rng.uniform(0.5, 0.85);
    const double area = coverage * w * h / count;
    b.ax = std::min(std::sqrt(area / (std::numbers::pi * aspect)), 0.40 * std::max(cell_w, cell_h));
    b.ay = std::min(b.ax * aspect, 0.36 * std::min(cell_w, cell_h));
    double reach = 1.0;
    for (int k = 0; k < 5; ++k) {
      b.amplitude[k] = rng.uniform(0.0, 0.16 / (k + 1));
      b.phase[k] = rng.uniform(0.0, 2 * std::numbers::pi);
      reach += b.amplitude[k];
    }
    b.reach = reach + (kDepthClamp + kFineNoisePx + kCoarseNoisePx) / std::min(b.ax, b.ay);
    islands_.push_back(b);

    const int hole_count = static_cast<int>(rng.below(4));
    for (int k = 0; k < hole_count; ++k) {
      Blob hole;
      const double rho = rng.uniform(0.0, 0.55);
      const double phi = rng.uniform(0.0, 2 * std::numbers::pi);
      const double u = rho * std::cos(phi) * b.ax;
      const double v = rho * std::sin(phi) * b.ay;
      hole.cx = b.cx + u * b.cos_a - v * b.sin_a;
      hole.cy = b.cy + u * b.sin_a + v * b.cos_a;
      const double hole_angle = rng.uniform(0.0, std::numbers::pi);
      hole.cos_a = std::cos(hole_angle);
      hole.sin_a = std::sin(hole_angle);
      hole.ax = std::max(3 * kMaskStep * 1.0, rng.uniform(0.04, 0.12) * std::min(b.ax, b.ay));
      hole.ay = hole.ax * rng.uniform(0.5, 1.0);
      double hole_reach = 1.0;
      for (int m = 0; m < 5; ++m) {
        hole.amplitude[m] = rng.uniform(0.0, 0.12 / (m + 1));
        hole.phase[m] = rng.uniform(0.0, 2 * std::numbers::pi);
        hole_reach += hole.amplitude[m];
      }
      hole.reach = hole_reach + kDepthClamp / std::min(hole.ax, hole.ay);
      holes_.push_back(hole);
    }
  }

  constexpr int kSamples = 128;
  double sum = 0;
  for (int j = 0; j < kSamples; ++j) {
    for (int i = 0; i < kSamples; ++i) {
      sum += tissue_weight(static_cast<std::int64_t>((i + 0.5) * w / kSamples),
                           static_cast<std::int64_t>((j + 0.5) * h / kSamples));
    }
  }
  tissue_fraction_ = sum / (kSamples * kSamples);
}

double TissueMosaic::blob_depth(const Blob& blob, double x, double y) {
  const double dx = x - blob.cx;
  const double dy = y - blob.cy;
  const double u = (dx * blob.cos_a + dy * blob.sin_a) / blob.ax;
  const double v = (-dx * blob.sin_a + dy * blob.cos_a) / blob.ay;
  const double d2 = u * u + v * v;
  if (d2 > blob.reach * blob.reach) return kOutside;
  const double d = std::sqrt(d2);
  const double theta = std::atan2(v, u);
  double radius = 1.0;
  for (int k = 0; k < 5; ++k) radius += blob.amplitude[k] * std::sin((k + 2) * theta + blob.phase[k]);
  return (radius - d) * std::min(blob.ax, blob.ay);
}

float TissueMosaic::grid_depth(std::int64_t gx, std::int64_t gy) const {
  const double x = static_cast<double>(gx * kMaskStep);
  const double y = static_cast<double>(gy * kMaskStep);
  double island = kOutside;
  for (const Blob& b : islands_) island = std::max(island, blob_depth(b, x, y));
  if (island <= -kDepthClamp - kFineNoisePx - kCoarseNoisePx) return -kDepthClamp;
  // Ragged edges: value noise on the grid itself and, smoothly interpolated, every 4th point.
  const auto ugx = static_cast<std::uint64_t>(gx);
  const auto ugy = static_cast<std::uint64_t>(gy);
  double noise = kFineNoisePx * signed_unit(detail::hash_mix(seed_, ugx, ugy, 0xed9e));
  const std::int64_t cx = floor_div(gx, 4);
  const std::int64_t cy = floor_div(gy, 4);
  const double fx = static_cast<double>(gx - cx * 4) / 4.0;
  const double fy = static_cast<double>(gy - cy * 4) / 4.0;
  auto coarse = [&](std::int64_t i, std::int64_t j) {
    return signed_unit(detail::hash_mix(seed_, static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(j), 0xc0a5e));
  };
  const double top = coarse(cx, cy) * (1 - fx) + coarse(cx + 1, cy) * fx;
  const double bottom = coarse(cx, cy + 1) * (1 - fx) + coarse(cx + 1, cy + 1) * fx;
  noise += kCoarseNoisePx * (top * (1 - fy) + bottom * fy);
  double depth = island + noise;
  for (const Blob& b : holes_) depth = std::min(depth, -blob_depth(b, x, y));
  return static_cast<float>(std::clamp(depth, -static_cast<double>(kDepthClamp), static_cast<double>(kDepthClamp)));
}

float TissueMosaic::tissue_weight(std::int64_t x, std::int64_t y) const {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return 0;
  const std::int64_t gx = x / kMaskStep;
  const std::int64_t gy = y / kMaskStep;
  const float fx = static_cast<float>(x - gx * kMaskStep) / kMaskStep;
  const float fy = static_cast<float>(y - gy * kMaskStep) / kMaskStep;
  const float d00 = grid_depth(gx, gy);
  const float d10 = grid_depth(gx + 1, gy);
  const float d01 = grid_depth(gx, gy + 1);
  const float d11 = grid_depth(gx + 1, gy + 1);
  const float top = d00 + (d10 - d00) * fx;
  const float bottom = d01 + (d11 - d01) * fx;
  return ramp(top + (bottom - top) * fy);
}

void TissueMosaic::tissue_weights(std::int64_t x0, std::int64_t y0, int width, int height, float* out) const {
  if (width <= 0 || height <= 0) return;
  const std::int64_t gx0 = floor_div(x0, kMaskStep);
  const std::int64_t gy0 = floor_div(y0, kMaskStep);
  const int gw = static_cast<int>(floor_div(x0 + width - 1, kMaskStep) + 2 - gx0);
  const int gh = static_cast<int>(floor_div(y0 + height - 1, kMaskStep) + 2 - gy0);
  std::vector<float> grid(static_cast<std::size_t>(gw) * gh);
  for (int j = 0; j < gh; ++j)
    for (int i = 0; i < gw; ++i) grid[static_cast<std::size_t>(j) * gw + i] = grid_depth(gx0 + i, gy0 + j);
  for (int y = 0; y < height; ++y) {
    float* row = out + static_cast<std::size_t>(y) * width;
    const std::int64_t sy = y0 + y;
    if (sy < 0 || sy >= height_) {
      std::fill_n(row, width, 0.0f);
      continue;
    }
    const std::int64_t gy = sy / kMaskStep;
    const float fy = static_cast<float>(sy - gy * kMaskStep) / kMaskStep;
    const float* g_top = grid.data() + static_cast<std::size_t>(gy - gy0) * gw;
    const float* g_bottom = g_top + gw;
    for (int x = 0; x < width; ++x) {
      const std::int64_t sx = x0 + x;
      if (sx < 0 || sx >= width_) {
        row[x] = 0.0f;
        continue;
      }
      // As tissue_weight, operation for operation.
      const std::int64_t gx = sx / kMaskStep;
      const int gi = static_cast<int>(gx - gx0);
      const float fx = static_cast<float>(sx - gx * kMaskStep) / kMaskStep;
      const float top = g_top[gi] + (g_top[gi + 1] - g_top[gi]) * fx;
      const float bottom = g_bottom[gi] + (g_bottom[gi + 1] - g_bottom[gi]) * fx;
      row[x] = ramp(top + (bottom - top) * fy);
    }
  }
}

double TissueMosaic::seam(int axis, std::int64_t index, std::int64_t t) const {
  const std::uint64_t h =
      detail::hash_mix(seed_, static_cast<std::uint64_t>(index), static_cast<std::uint64_t>(axis), 0x5ea3);
  detail::Rng rng(h);
  const double wavelength1 = rng.uniform(0.8, 2.0) * cell_px_;
  const double wavelength2 = rng.uniform(0.25, 0.6) * cell_px_;
  const double phase1 = rng.uniform(0.0, 2 * std::numbers::pi);
  const double phase2 = rng.uniform(0.0, 2 * std::numbers::pi);
  const double tt = static_cast<double>(t) + 0.5;
  const double wave = 0.75 * std::sin(2 * std::numbers::pi * tt / wavelength1 + phase1) +
                      0.25 * std::sin(2 * std::numbers::pi * tt / wavelength2 + phase2);
  return static_cast<double>(index * cell_px_) + wave_px_ * wave;
}

double TissueMosaic::region(std::int64_t i, std::int64_t j) const {
  auto octave = [&](double period, std::uint64_t tag) {
    const double x = (static_cast<double>(i) + 0.5) / period;
    const double y = (static_cast<double>(j) + 0.5) / period;
    const double fx0 = std::floor(x);
    const double fy0 = std::floor(y);
    const auto lx = static_cast<std::int64_t>(fx0);
    const auto ly = static_cast<std::int64_t>(fy0);
    auto smooth = [](double t) { return t * t * (3 - 2 * t); };
    const double tx = smooth(x - fx0);
    const double ty = smooth(y - fy0);
    auto at = [&](std::int64_t a, std::int64_t b) {
      return 0.5 + 0.5 * signed_unit(detail::hash_mix(seed_, static_cast<std::uint64_t>(a),
                                                      static_cast<std::uint64_t>(b), tag));
    };
    const double top = at(lx, ly) + (at(lx + 1, ly) - at(lx, ly)) * tx;
    const double bottom = at(lx, ly + 1) + (at(lx + 1, ly + 1) - at(lx, ly + 1)) * tx;
    return top + (bottom - top) * ty;
  };
  const double value = 0.65 * octave(kRegionCells, 0x4e61) + 0.35 * octave(kRegionCells / 3.0, 0x4e62);
  return std::clamp(0.5 + (value - 0.5) * 2.2, 0.0, 1.0);
}

TissueMosaic::Cell TissueMosaic::cell(std::int64_t i, std::int64_t j) const {
  const std::uint64_t h =
      detail::hash_mix(seed_, static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(j), 0x305a1c);
  const auto& patches = source_->patches();
  // Patches are ordered by haematoxylin density; the region field picks the density, so
  // neighbouring cells draw alike patches and the slide shows regions at low magnification.
  const double pick = region(i, j) + kPatchJitter * signed_unit(detail::splitmix64(h));
  const auto count = static_cast<double>(patch_count_);
  const auto index = first_patch_ + static_cast<std::size_t>(std::clamp(pick * count, 0.0, count - 1));
  const PatchOrigin& origin = patches[index];
  const unsigned orientation = static_cast<unsigned>(h >> 40) & 7u;
  const int last = patch_px_ - 1;
  // Patch (u, v) -> source (x, y): optional transpose, then optional flips.
  auto map = [&](int u, int v) {
    int a = u;
    int b = v;
    if (orientation & 4u) std::swap(a, b);
    if (orientation & 1u) a = last - a;
    if (orientation & 2u) b = last - b;
    return std::pair<int, int>{origin.x + a, origin.y + b};
  };
  const slide::RgbImage& image = source_->image();
  auto offset = [&](std::pair<int, int> p) {
    return static_cast<std::int64_t>(p.second) * image.width * 3 + static_cast<std::int64_t>(p.first) * 3;
  };
  const std::int64_t base = offset(map(0, 0));
  Cell c;
  c.origin = image.pixels.data() + base;
  c.step_u = offset(map(1, 0)) - base;
  c.step_v = offset(map(0, 1)) - base;
  return c;
}

void TissueMosaic::render(std::int64_t x0, std::int64_t y0, slide::RgbImage& tile) const {
  const int tw = tile.width;
  const int th = tile.height;
  const auto glass = source_->background_rgb();
  if (tw <= 0 || th <= 0) return;
  auto fill_glass = [&](std::uint8_t* px) {
    px[0] = glass[0];
    px[1] = glass[1];
    px[2] = glass[2];
  };

  // Tissue depth on the mask-grid points covering the tile.
  const std::int64_t gx0 = floor_div(x0, kMaskStep);
  const std::int64_t gy0 = floor_div(y0, kMaskStep);
  const int gw = static_cast<int>(floor_div(x0 + tw - 1, kMaskStep) + 2 - gx0);
  const int gh = static_cast<int>(floor_div(y0 + th - 1, kMaskStep) + 2 - gy0);
  std::vector<float> grid(static_cast<std::size_t>(gw) * gh);
  float deepest = -kDepthClamp;
  for (int j = 0; j < gh; ++j) {
    for (int i = 0; i < gw; ++i) {
      const float d = grid_depth(gx0 + i, gy0 + j);
      grid[static_cast<std::size_t>(j) * gw + i] = d;
      deepest = std::max(deepest, d);
    }
  }
  if (ramp(deepest) <= 0.0f || x0 >= width_ || y0 >= height_) {
    for (int y = 0; y < th; ++y)
      for (int x = 0; x < tw; ++x) fill_glass(tile.row(y) + x * 3);
    return;
  }

  // Seams near the tile: vertical ones (x positions, varying with y) and horizontal ones.
  const int half = overlap_px_ / 2;
  const int margin = wave_px_ + half;  // patch coordinate of a cell's straight left edge
  const std::int64_t si0 = floor_div(x0, cell_px_) - 1;
  const std::int64_t si1 = floor_div(x0 + tw - 1, cell_px_) + 2;
  const std::int64_t sj0 = floor_div(y0, cell_px_) - 1;
  const std::int64_t sj1 = floor_div(y0 + th - 1, cell_px_) + 2;
  const int n_si = static_cast<int>(si1 - si0 + 1);
  const int n_sj = static_cast<int>(sj1 - sj0 + 1);
  std::vector<double> horizontal(static_cast<std::size_t>(n_sj) * tw);  // [seam][x]
  for (int k = 0; k < n_sj; ++k)
    for (int x = 0; x < tw; ++x) horizontal[static_cast<std::size_t>(k) * tw + x] = seam(1, sj0 + k, x0 + x);
  std::vector<double> vertical(static_cast<std::size_t>(n_si));
  std::vector<double> column_seams(static_cast<std::size_t>(n_sj));

  // Cells that may contribute: a and a + 1 for a in [si0 - 1, si1].
  const std::int64_t ci0 = si0 - 1;
  const std::int64_t cj0 = sj0 - 1;
  const int cells_x = n_si + 2;
  const int cells_y = n_sj + 2;
  std::vector<Cell> cells(static_cast<std::size_t>(cells_x) * cells_y);
  for (int j = 0; j < cells_y; ++j)
    for (int i = 0; i < cells_x; ++i) cells[static_cast<std::size_t>(j) * cells_x + i] = cell(ci0 + i, cj0 + j);

  for (int y = 0; y < th; ++y) {
    std::uint8_t* out = tile.row(y);
    const std::int64_t sy = y0 + y;
    if (sy >= height_) {
      for (int x = 0; x < tw; ++x) fill_glass(out + x * 3);
      continue;
    }
    for (int k = 0; k < n_si; ++k) vertical[static_cast<std::size_t>(k)] = seam(0, si0 + k, sy);
    const std::int64_t gy = floor_div(sy, kMaskStep);
    const float fy = static_cast<float>(sy - gy * kMaskStep) / kMaskStep;
    const float* g_top = grid.data() + static_cast<std::size_t>(gy - gy0) * gw;
    const float* g_bottom = g_top + gw;
    for (int x = 0; x < tw; ++x) {
      std::uint8_t* px = out + x * 3;
      const std::int64_t sx = x0 + x;
      if (sx >= width_) {
        fill_glass(px);
        continue;
      }
      const std::int64_t gx = floor_div(sx, kMaskStep);
      const int gi = static_cast<int>(gx - gx0);
      const float fx = static_cast<float>(sx - gx * kMaskStep) / kMaskStep;
      const float top = g_top[gi] + (g_top[gi + 1] - g_top[gi]) * fx;
      const float bottom = g_bottom[gi] + (g_bottom[gi + 1] - g_bottom[gi]) * fx;
      const float m = ramp(top + (bottom - top) * fy);
      if (m <= 0.0f) {
        fill_glass(px);
        continue;
      }
      for (int k = 0; k < n_sj; ++k) {
        column_seams[static_cast<std::size_t>(k)] = horizontal[static_cast<std::size_t>(k) * tw + x];
      }
      const AxisSample cx = axis_sample(sx, vertical.data(), si0, cell_px_, half, margin);
      const AxisSample cy = axis_sample(sy, column_seams.data(), sj0, cell_px_, half, margin);
      const Cell* row_a = cells.data() + static_cast<std::size_t>(cy.a - cj0) * cells_x;
      const Cell* row_b = row_a + cells_x;
      const int ci = static_cast<int>(cx.a - ci0);
      float acc[3] = {0, 0, 0};
      auto add = [&](const Cell& c, int u, int v, float weight) {
        if (weight <= 0.0f) return;
        const std::uint8_t* p = c.origin + u * c.step_u + v * c.step_v;
        acc[0] += weight * p[0];
        acc[1] += weight * p[1];
        acc[2] += weight * p[2];
      };
      const float wxa = 1.0f - cx.wb;
      const float wya = 1.0f - cy.wb;
      add(row_a[ci], cx.ua, cy.ua, wxa * wya);
      add(row_a[ci + 1], cx.ua - cell_px_, cy.ua, cx.wb * wya);
      add(row_b[ci], cx.ua, cy.ua - cell_px_, wxa * cy.wb);
      add(row_b[ci + 1], cx.ua - cell_px_, cy.ua - cell_px_, cx.wb * cy.wb);
      for (int c = 0; c < 3; ++c) {
        const float g = glass[static_cast<std::size_t>(c)];
        px[c] = static_cast<std::uint8_t>(std::clamp(g + m * (acc[c] - g) + 0.5f, 0.0f, 255.0f));
      }
    }
  }
}

}  // namespace mcval::synth
