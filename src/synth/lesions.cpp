#include "mcval/synth/lesions.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numbers>

#include "mcval/synth/tissue_mosaic.h"
#include "random.h"

namespace mcval::synth {

const char* to_string(RegionKind kind) { return kind == RegionKind::lesion ? "lesion" : "mimic"; }

namespace {

constexpr int kHarmonics = 6;          // outline harmonics 2..7
constexpr int kRingPoints = 128;       // vertices of an outline
constexpr int kDepthStep = 16;         // region depth is sampled every 16 px and interpolated
constexpr double kFeatherUm = 60;      // a region fades in over this much of its edge
constexpr double kDenseShare = 0.125;  // the densest share of the source's patches: the lesion base
constexpr int kShades = 256;           // nucleus colours, by haematoxylin amount
constexpr double kMaxAmount = 2.0;     // darkest shade, in multiples of the source's nucleus OD
constexpr int kBoostLevels = 32;       // background haematoxylin boost, by region weight
constexpr int kPlacementTries = 48;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

float smooth_unit(double t) {
  const double c = std::clamp(t, 0.0, 1.0);
  return static_cast<float>(c * c * (3 - 2 * c));
}

/// How a region looks, in level-0 pixels.
struct Appearance {
  double spacing_px = 0;    // lattice step between nuclei
  double radius_px = 0;     // mean nuclear radius
  double pleomorphism = 0;  // spread of nuclear size, elongation, outline and darkness
  double darkness = 0;      // nuclear OD, in multiples of the source's nuclei
  double fill = 0;          // share of lattice sites holding a nucleus, deep inside
  double base_mix = 0;      // share of dense source tissue replacing the slide's own
  double od_boost = 0;      // haematoxylin OD added to the background
  double nucleolus = 0;     // share of nuclei with a dark nucleolus
  double vesicular = 0;     // paler centre and darker rim, 0..1
};

/// Lesion of ISUP grade 1-5: the higher, the denser, larger, darker and more varied the nuclei.
Appearance lesion_look(int grade, double mpp, double jitter) {
  const double t = std::clamp((grade - 1) / 4.0 + jitter, 0.0, 1.0);
  Appearance a;
  a.spacing_px = (14.0 - 4.0 * t) / mpp;
  a.radius_px = (4.5 + 1.5 * t) / mpp;
  a.pleomorphism = 0.12 + 0.26 * t;
  a.darkness = 0.78 + 0.24 * t;
  a.fill = 0.85 + 0.12 * t;
  a.base_mix = 0.85;
  a.od_boost = 0.12 + 0.10 * t;
  a.nucleolus = 0.15 + 0.55 * t;
  a.vesicular = 0.2 + 0.6 * t;
  return a;
}

/// Benign mimic: a lymphoid aggregate, small round dark uniform nuclei, tightly packed.
Appearance mimic_look(double mpp) {
  Appearance a;
  a.spacing_px = 8.0 / mpp;
  a.radius_px = 3.1 / mpp;
  a.pleomorphism = 0.05;
  a.darkness = 0.95;
  a.fill = 0.92;
  a.base_mix = 0.35;
  a.od_boost = 0.15;
  return a;
}

/// One region: a blob with a harmonic outline, and how it looks.
struct Shape {
  RegionKind kind = RegionKind::lesion;
  int isup_grade = 0;
  double cx = 0, cy = 0;        // centre, level-0 px
  double cos_a = 1, sin_a = 0;  // rotation
  double ax = 1, ay = 1;        // semi-axes, px
  double amplitude[kHarmonics] = {};
  double cos_phase[kHarmonics] = {};
  double sin_phase[kHarmonics] = {};
  double reach = 1;  // bound of the outline's normalised radius
  double feather_px = 1;
  Appearance look;
  std::uint64_t seed = 0;
  std::int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;  // bounding box, [x0, x1) x [y0, y1)
};

/// Normalised outline radius in the direction (c, s) (a unit vector): 1 + sum of harmonics.
double outline_radius(const Shape& shape, double c, double s) {
  double ck = c;
  double sk = s;
  double r = 1.0;
  for (int k = 0; k < kHarmonics; ++k) {  // harmonic k + 2, by angle addition
    const double cn = ck * c - sk * s;
    const double sn = sk * c + ck * s;
    ck = cn;
    sk = sn;
    r += shape.amplitude[k] * (ck * shape.cos_phase[k] - sk * shape.sin_phase[k]);
  }
  return r;
}

/// Signed distance into the region at (x, y), in pixels (approximately): > 0 inside.
double region_depth(const Shape& shape, double x, double y) {
  const double dx = x - shape.cx;
  const double dy = y - shape.cy;
  const double u = (dx * shape.cos_a + dy * shape.sin_a) / shape.ax;
  const double v = (-dx * shape.sin_a + dy * shape.cos_a) / shape.ay;
  const double d = std::sqrt(u * u + v * v);
  const double scale = std::min(shape.ax, shape.ay);
  if (d > shape.reach) return (shape.reach - d) * scale - 1.0;
  if (d < 1e-9) return outline_radius(shape, 1, 0) * scale;
  return (outline_radius(shape, u / d, v / d) - d) * scale;
}

/// A point of the outline at normalised radius fraction `f` of the boundary, angle theta.
PixelPoint outline_point(const Shape& shape, double theta, double f) {
  const double c = std::cos(theta);
  const double s = std::sin(theta);
  const double r = f * outline_radius(shape, c, s);
  const double u = r * c * shape.ax;
  const double v = r * s * shape.ay;
  return {shape.cx + u * shape.cos_a - v * shape.sin_a, shape.cy + u * shape.sin_a + v * shape.cos_a};
}

std::vector<PixelPoint> outline_ring(const Shape& shape) {
  std::vector<PixelPoint> ring;
  ring.reserve(kRingPoints + 1);
  for (int i = 0; i < kRingPoints; ++i) ring.push_back(outline_point(shape, 2 * std::numbers::pi * i / kRingPoints, 1.0));
  ring.push_back(ring.front());
  return ring;
}

/// A blob of equal-area diameter `diameter_px` around (cx, cy), its outline from `rng`.
Shape make_shape(RegionKind kind, double cx, double cy, double diameter_px, detail::Rng& rng) {
  Shape shape;
  shape.kind = kind;
  shape.cx = cx;
  shape.cy = cy;
  const double angle = rng.uniform(0.0, std::numbers::pi);
  shape.cos_a = std::cos(angle);
  shape.sin_a = std::sin(angle);
  const double aspect = kind == RegionKind::lesion ? rng.uniform(0.55, 0.95) : rng.uniform(0.8, 1.0);
  shape.ax = diameter_px / 2 / std::sqrt(aspect);
  shape.ay = diameter_px / 2 * std::sqrt(aspect);
  double reach = 1.0;
  for (int k = 0; k < kHarmonics; ++k) {
    const double bound = kind == RegionKind::lesion ? 0.22 / std::pow(k + 1, 0.7) : 0.06 / (k + 1);
    shape.amplitude[k] = rng.uniform(0.0, bound);
    const double phase = rng.uniform(0.0, 2 * std::numbers::pi);
    shape.cos_phase[k] = std::cos(phase);
    shape.sin_phase[k] = std::sin(phase);
    reach += shape.amplitude[k];
  }
  shape.reach = reach;
  return shape;
}

void set_bounds(Shape& shape, std::int64_t width, std::int64_t height) {
  const double extent = shape.reach * std::max(shape.ax, shape.ay) + 2;
  shape.x0 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(shape.cx - extent)), 0, width);
  shape.y0 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(shape.cy - extent)), 0, height);
  shape.x1 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(shape.cx + extent)) + 1, 0, width);
  shape.y1 = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(shape.cy + extent)) + 1, 0, height);
}

/// Places regions one after the other on the mosaic's tissue, without overlaps.
class Placer {
 public:
  Placer(const TissueMosaic& mosaic, double feather_px, std::uint64_t seed)
      : mosaic_(mosaic), feather_px_(feather_px), rng_(seed) {}

  /// Tries to place a region of about `diameter_px`, shrinking it down to `min_share` of
  /// that; `coverage`: share of its outline that must lie on tissue.
  bool place(RegionKind kind, double diameter_px, double min_share, double coverage, int tries) {
    const auto w = static_cast<double>(mosaic_.width());
    const auto h = static_cast<double>(mosaic_.height());
    for (int attempt = 0; attempt < tries; ++attempt) {
      const double scale = 1.0 - (1.0 - min_share) * attempt / std::max(1, tries - 1);
      const double x = rng_.uniform(0.0, w);
      const double y = rng_.uniform(0.0, h);
      detail::Rng outline(rng_.next());
      Shape shape = make_shape(kind, x, y, diameter_px * scale, outline);
      shape.feather_px = feather_px_;
      if (fits(shape, coverage)) {
        shapes_.push_back(shape);
        return true;
      }
    }
    return false;
  }

  /// The deepest tissue point of a coarse grid (a last resort).
  std::pair<double, double> deepest_tissue() const {
    constexpr int kGrid = 32;
    double best_weight = -1;
    std::pair<double, double> best{mosaic_.width() / 2.0, mosaic_.height() / 2.0};
    for (int j = 1; j < kGrid; ++j) {
      for (int i = 1; i < kGrid; ++i) {
        const double x = static_cast<double>(mosaic_.width()) * i / kGrid;
        const double y = static_cast<double>(mosaic_.height()) * j / kGrid;
        double sum = 0;
        for (int k = 0; k < 8; ++k) {
          const double a = 2 * std::numbers::pi * k / 8;
          sum += mosaic_.tissue_weight(static_cast<std::int64_t>(x + 40 * std::cos(a)),
                                       static_cast<std::int64_t>(y + 40 * std::sin(a)));
        }
        if (sum > best_weight) {
          best_weight = sum;
          best = {x, y};
        }
      }
    }
    return best;
  }

  /// Places a region at (x, y) whatever is there, moved and shrunk to fit the slide.
  void force(RegionKind kind, double x, double y, double diameter_px) {
    detail::Rng outline(rng_.next());
    Shape shape = make_shape(kind, x, y, diameter_px, outline);
    const auto w = static_cast<double>(mosaic_.width());
    const auto h = static_cast<double>(mosaic_.height());
    double extent = shape.reach * std::max(shape.ax, shape.ay);
    const double room = (std::min(w, h) - 4) / 2;
    if (extent > room) {
      const double shrink = std::max(room, 1.0) / extent;
      shape.ax *= shrink;
      shape.ay *= shrink;
      extent *= shrink;
    }
    shape.cx = std::clamp(x, extent + 1, std::max(extent + 1, w - extent - 2));
    shape.cy = std::clamp(y, extent + 1, std::max(extent + 1, h - extent - 2));
    shape.feather_px = feather_px_;
    shapes_.push_back(shape);
  }

  std::vector<Shape>& shapes() { return shapes_; }
  detail::Rng& rng() { return rng_; }

 private:
  bool fits(const Shape& shape, double coverage) const {
    const double extent = shape.reach * std::max(shape.ax, shape.ay);
    if (shape.cx - extent < 0 || shape.cy - extent < 0 || shape.cx + extent >= static_cast<double>(mosaic_.width()) ||
        shape.cy + extent >= static_cast<double>(mosaic_.height())) {
      return false;
    }
    auto weight = [&](const PixelPoint& p) {
      return mosaic_.tissue_weight(static_cast<std::int64_t>(p.x), static_cast<std::int64_t>(p.y));
    };
    if (weight({shape.cx, shape.cy}) < 0.99f) return false;
    // Inside: tissue everywhere (a small hole aside); along the outline: mostly tissue.
    constexpr int kAngles = 16;
    int inner_misses = 0;
    int edge_on_tissue = 0;
    int edge_samples = 0;
    for (const double f : {0.25, 0.5, 0.75, 0.9, 1.0}) {
      for (int k = 0; k < kAngles; ++k) {
        const PixelPoint p = outline_point(shape, 2 * std::numbers::pi * (k + 0.5 * f) / kAngles, f);
        const bool on_tissue = weight(p) >= 0.5f;
        if (f < 0.8) {
          inner_misses += on_tissue ? 0 : 1;
        } else {
          edge_on_tissue += on_tissue ? 1 : 0;
          ++edge_samples;
        }
      }
    }
    if (inner_misses > 2 || edge_on_tissue < coverage * edge_samples) return false;
    // No overlap with the regions already placed (feathered edges included).
    for (const Shape& other : shapes_) {
      const double margin = feather_px_;
      for (int k = 0; k < 64; ++k) {
        const double theta = 2 * std::numbers::pi * k / 64;
        const PixelPoint p = outline_point(shape, theta, 1.0);
        if (region_depth(other, p.x, p.y) > -margin) return false;
        const PixelPoint q = outline_point(other, theta, 1.0);
        if (region_depth(shape, q.x, q.y) > -margin) return false;
      }
      if (region_depth(other, shape.cx, shape.cy) > -margin) return false;
    }
    return true;
  }

  const TissueMosaic& mosaic_;
  double feather_px_;
  detail::Rng rng_;
  std::vector<Shape> shapes_;
};

/// Paints the regions of one slide. Immutable once built.
class LesionStage final : public ContentStage {
 public:
  LesionStage(const TissueSource& tissue, const SlideSpec& spec, std::vector<Shape> shapes)
      : mosaic_(tissue, spec.width, spec.height, spec.seed),
        dense_(tissue, spec.width, spec.height, spec.seed, PatchRange{1.0 - kDenseShare, 1.0}),
        shapes_(std::move(shapes)) {
    // Synthetic nuclei take the colour of the source's own (its darkest tenth in red), so the
    // centre's stain transform treats them as it treats real nuclei.
    std::array<double, 3> nucleus = tissue.nucleus_od();
    if (nucleus[0] + nucleus[1] + nucleus[2] < 0.5) {
      for (std::size_t c = 0; c < 3; ++c) nucleus[c] = 3.0 * tissue.stain_vectors().haematoxylin[c];
    }
    const double length = std::sqrt(nucleus[0] * nucleus[0] + nucleus[1] * nucleus[1] + nucleus[2] * nucleus[2]);
    for (int i = 0; i < kShades; ++i) {
      const double amount = kMaxAmount * i / (kShades - 1);
      for (std::size_t c = 0; c < 3; ++c) {
        shade_[static_cast<std::size_t>(i)][c] =
            static_cast<float>(std::clamp(256.0 * std::exp(-amount * nucleus[c]) - 1.0, 0.0, 255.0));
      }
    }
    boost_.resize(shapes_.size());
    for (std::size_t r = 0; r < shapes_.size(); ++r) {
      for (int q = 0; q <= kBoostLevels; ++q) {
        for (std::size_t c = 0; c < 3; ++c) {
          const double od = shapes_[r].look.od_boost * q / kBoostLevels * nucleus[c] / length;
          boost_[r][static_cast<std::size_t>(q)][c] = static_cast<float>(std::exp(-od));
        }
      }
    }
    bx0_ = by0_ = std::numeric_limits<std::int64_t>::max();
    bx1_ = by1_ = std::numeric_limits<std::int64_t>::min();
    for (const Shape& s : shapes_) {
      bx0_ = std::min(bx0_, s.x0);
      by0_ = std::min(by0_, s.y0);
      bx1_ = std::max(bx1_, s.x1);
      by1_ = std::max(by1_, s.y1);
    }
  }

  void paint(std::int64_t x0, std::int64_t y0, slide::RgbImage& tile) const override {
    const int tw = tile.width;
    const int th = tile.height;
    if (tw <= 0 || th <= 0 || x0 >= bx1_ || y0 >= by1_ || x0 + tw <= bx0_ || y0 + th <= by0_) return;
    std::vector<std::size_t> hits;
    for (std::size_t r = 0; r < shapes_.size(); ++r) {
      const Shape& s = shapes_[r];
      if (x0 < s.x1 && y0 < s.y1 && x0 + tw > s.x0 && y0 + th > s.y0) hits.push_back(r);
    }
    if (hits.empty()) return;

    const std::size_t n = static_cast<std::size_t>(tw) * th;
    std::vector<float> tissue(n);
    mosaic_.tissue_weights(x0, y0, tw, th, tissue.data());
    std::vector<float> weight(n, 0.0f);
    std::vector<std::uint8_t> owner(n, 0);
    bool any = false;
    for (const std::size_t r : hits) any = region_weights(r, x0, y0, tw, th, weight, owner) || any;
    if (any) paint_base(x0, y0, tile, tissue, weight, owner);
    for (const std::size_t r : hits) paint_nuclei(shapes_[r], x0, y0, tile, tissue);
  }

 private:
  /// Region weight of shape r over the tile, kept where it beats the weight so far. True
  /// when any pixel has weight.
  bool region_weights(std::size_t r, std::int64_t x0, std::int64_t y0, int tw, int th, std::vector<float>& weight,
                      std::vector<std::uint8_t>& owner) const {
    const Shape& s = shapes_[r];
    const int ix0 = static_cast<int>(std::max(x0, s.x0) - x0);
    const int iy0 = static_cast<int>(std::max(y0, s.y0) - y0);
    const int ix1 = static_cast<int>(std::min(x0 + tw, s.x1) - x0);
    const int iy1 = static_cast<int>(std::min(y0 + th, s.y1) - y0);
    if (ix0 >= ix1 || iy0 >= iy1) return false;
    const std::int64_t gx0 = floor_div(x0 + ix0, kDepthStep);
    const std::int64_t gy0 = floor_div(y0 + iy0, kDepthStep);
    const int gw = static_cast<int>(floor_div(x0 + ix1 - 1, kDepthStep) + 2 - gx0);
    const int gh = static_cast<int>(floor_div(y0 + iy1 - 1, kDepthStep) + 2 - gy0);
    std::vector<float> grid(static_cast<std::size_t>(gw) * gh);
    float deepest = -1e30f;
    for (int j = 0; j < gh; ++j) {
      for (int i = 0; i < gw; ++i) {
        const double d = region_depth(s, static_cast<double>((gx0 + i) * kDepthStep),
                                      static_cast<double>((gy0 + j) * kDepthStep));
        const float df = static_cast<float>(std::max(d, -1e6));
        grid[static_cast<std::size_t>(j) * gw + i] = df;
        deepest = std::max(deepest, df);
      }
    }
    if (deepest <= 0.0f) return false;
    const float inverse_feather = static_cast<float>(1.0 / s.feather_px);
    bool any = false;
    for (int y = iy0; y < iy1; ++y) {
      const std::int64_t sy = y0 + y;
      const std::int64_t gy = floor_div(sy, kDepthStep);
      const float fy = static_cast<float>(sy - gy * kDepthStep) / kDepthStep;
      const float* g_top = grid.data() + static_cast<std::size_t>(gy - gy0) * gw;
      const float* g_bottom = g_top + gw;
      for (int x = ix0; x < ix1; ++x) {
        const std::int64_t sx = x0 + x;
        const std::int64_t gx = floor_div(sx, kDepthStep);
        const int gi = static_cast<int>(gx - gx0);
        const float fx = static_cast<float>(sx - gx * kDepthStep) / kDepthStep;
        const float top = g_top[gi] + (g_top[gi + 1] - g_top[gi]) * fx;
        const float bottom = g_bottom[gi] + (g_bottom[gi + 1] - g_bottom[gi]) * fx;
        const float depth = top + (bottom - top) * fy;
        if (depth <= 0.0f) continue;
        const float t = std::min(depth * inverse_feather, 1.0f);
        const float w = t * t * (3.0f - 2.0f * t);
        const std::size_t p = static_cast<std::size_t>(y) * tw + x;
        if (w > weight[p]) {
          weight[p] = w;
          owner[p] = static_cast<std::uint8_t>(r);
          any = true;
        }
      }
    }
    return any;
  }

  /// The background of the regions: the same mosaic drawn from the densest source patches
  /// blended in, and some haematoxylin added.
  void paint_base(std::int64_t x0, std::int64_t y0, slide::RgbImage& tile, const std::vector<float>& tissue,
                  const std::vector<float>& weight, const std::vector<std::uint8_t>& owner) const {
    const int tw = tile.width;
    const int th = tile.height;
    slide::RgbImage dense(tw, th);
    dense_.render(x0, y0, dense);
    for (int y = 0; y < th; ++y) {
      std::uint8_t* out = tile.row(y);
      const std::uint8_t* in = dense.row(y);
      for (int x = 0; x < tw; ++x) {
        const std::size_t p = static_cast<std::size_t>(y) * tw + x;
        const float w = weight[p] * tissue[p];
        if (w <= 0.0f) continue;
        const std::size_t r = owner[p];
        const float mix = w * static_cast<float>(shapes_[r].look.base_mix);
        const auto& boost = boost_[r][static_cast<std::size_t>(std::lround(w * kBoostLevels))];
        std::uint8_t* px = out + x * 3;
        const std::uint8_t* src = in + x * 3;
        for (std::size_t c = 0; c < 3; ++c) {
          const float blended = px[c] + mix * (static_cast<float>(src[c]) - px[c]);
          px[c] = static_cast<std::uint8_t>(std::clamp((blended + 1.0f) * boost[c] - 1.0f + 0.5f, 0.0f, 255.0f));
        }
      }
    }
  }

  /// Nuclei on a jittered lattice; a site holds one with a probability that fades in over the
  /// edge, so the region's border is a thinning of nuclei rather than a fade of colour. Every
  /// nucleus is a function of its lattice site, so tiles agree where one crosses their edge.
  void paint_nuclei(const Shape& s, std::int64_t x0, std::int64_t y0, slide::RgbImage& tile,
                    const std::vector<float>& tissue) const {
    const Appearance& look = s.look;
    const int tw = tile.width;
    const int th = tile.height;
    const double spacing = look.spacing_px;
    const double pleo = look.pleomorphism;
    const double extent =
        look.radius_px * (1 + pleo) * std::sqrt(1 + 1.5 * pleo) * (1 + 0.6 * pleo) + 2.0;  // bound of a nucleus
    const double ox = static_cast<double>(s.x0);
    const double oy = static_cast<double>(s.y0);
    const double reach = extent + spacing;
    const auto cell_of = [&](double v, double origin) { return static_cast<std::int64_t>(std::floor((v - origin) / spacing)); };
    const std::int64_t i0 = std::max<std::int64_t>(cell_of(static_cast<double>(x0) - reach, ox), 0);
    const std::int64_t j0 = std::max<std::int64_t>(cell_of(static_cast<double>(y0) - reach, oy), 0);
    const std::int64_t i1 = std::min(cell_of(static_cast<double>(x0 + tw) + reach, ox),
                                     cell_of(static_cast<double>(s.x1), ox) + 1);
    const std::int64_t j1 = std::min(cell_of(static_cast<double>(y0 + th) + reach, oy),
                                     cell_of(static_cast<double>(s.y1), oy) + 1);
    const double scale = (kShades - 1) / kMaxAmount;
    const double inverse_feather = 1.0 / s.feather_px;
    for (std::int64_t j = j0; j <= j1; ++j) {
      for (std::int64_t i = i0; i <= i1; ++i) {
        detail::Rng rng(detail::hash_mix(s.seed, static_cast<std::uint64_t>(i), static_cast<std::uint64_t>(j), 0x9c1e));
        const double cx = ox + (static_cast<double>(i) + 0.5 + rng.uniform(-0.42, 0.42)) * spacing;
        const double cy = oy + (static_cast<double>(j) + 0.5 + rng.uniform(-0.42, 0.42)) * spacing;
        if (cx + extent < static_cast<double>(x0) || cx - extent >= static_cast<double>(x0 + tw) ||
            cy + extent < static_cast<double>(y0) || cy - extent >= static_cast<double>(y0 + th)) {
          continue;
        }
        const double presence = rng.uniform(0.0, 1.0);
        const double depth = region_depth(s, cx, cy) - extent;
        if (depth <= 0) continue;
        if (presence >= look.fill * smooth_unit(depth * inverse_feather)) continue;
        if (mosaic_.tissue_weight(static_cast<std::int64_t>(cx), static_cast<std::int64_t>(cy)) < 0.5f) continue;

        const double size = 1 + pleo * (rng.uniform(0.0, 1.0) + rng.uniform(0.0, 1.0) - 1.0);
        const double elongation = 1 + 0.08 + 1.5 * pleo * rng.uniform(0.0, 1.0);
        const double radius = look.radius_px * size;
        const double a = radius * std::sqrt(elongation);
        const double b = radius / std::sqrt(elongation);
        const double angle = rng.uniform(0.0, std::numbers::pi);
        const double ca = std::cos(angle);
        const double sa = std::sin(angle);
        const double e2 = 0.35 * pleo * rng.uniform(-1.0, 1.0);
        const double e3 = 0.25 * pleo * rng.uniform(-1.0, 1.0);
        const double phase2 = rng.uniform(0.0, 2 * std::numbers::pi);
        const double phase3 = rng.uniform(0.0, 2 * std::numbers::pi);
        const double cp2 = std::cos(phase2), sp2 = std::sin(phase2);
        const double cp3 = std::cos(phase3), sp3 = std::sin(phase3);
        const double darkness = look.darkness * (1 + 0.3 * pleo * rng.uniform(-1.0, 1.0));
        const bool nucleolus = rng.uniform(0.0, 1.0) < look.nucleolus;
        const double nucleolus_angle = rng.uniform(0.0, 2 * std::numbers::pi);
        const double nx = cx + 0.3 * radius * std::cos(nucleolus_angle);
        const double ny = cy + 0.3 * radius * std::sin(nucleolus_angle);
        const double nr2 = std::pow(std::max(1.0, 0.17 * radius), 2);
        const std::uint64_t grain_seed = rng.next();
        const double minor = std::min(a, b);
        const double limit = 1 + std::abs(e2) + std::abs(e3) + 1.5 / minor;
        const double limit2 = limit * limit;
        const double half = std::max(a, b) * limit + 1;
        const int px0 = static_cast<int>(std::max<double>(std::floor(cx - half) - static_cast<double>(x0), 0));
        const int py0 = static_cast<int>(std::max<double>(std::floor(cy - half) - static_cast<double>(y0), 0));
        const int px1 = static_cast<int>(std::min<double>(std::ceil(cx + half) - static_cast<double>(x0), tw));
        const int py1 = static_cast<int>(std::min<double>(std::ceil(cy + half) - static_cast<double>(y0), th));
        const double centre_level = 1 - 0.3 * look.vesicular;
        const double rim_level = 0.5 * look.vesicular;
        for (int py = py0; py < py1; ++py) {
          const double dv = static_cast<double>(y0 + py) + 0.5 - cy;
          std::uint8_t* row = tile.row(py);
          for (int px = px0; px < px1; ++px) {
            const double du = static_cast<double>(x0 + px) + 0.5 - cx;
            const double pn = (du * ca + dv * sa) / a;
            const double qn = (-du * sa + dv * ca) / b;
            const double rho2 = pn * pn + qn * qn;
            if (rho2 > limit2) continue;
            const double rho = std::sqrt(rho2);
            double c = 1;
            double sn = 0;
            if (rho > 1e-9) {
              c = pn / rho;
              sn = qn / rho;
            }
            const double cos2 = c * c - sn * sn;
            const double sin2 = 2 * c * sn;
            const double cos3 = c * (4 * c * c - 3);
            const double sin3 = sn * (3 - 4 * sn * sn);
            const double outline = 1 + e2 * (cos2 * cp2 - sin2 * sp2) + e3 * (cos3 * cp3 - sin3 * sp3);
            double alpha = std::clamp((outline - rho) * minor / 1.2 + 0.5, 0.0, 1.0);
            const std::size_t p = static_cast<std::size_t>(py) * tw + px;
            alpha *= 0.95 * tissue[p];
            if (alpha <= 0) continue;
            const double rim = std::min(rho / outline, 1.0);
            const auto ux = static_cast<std::uint64_t>(x0 + px);
            const auto uy = static_cast<std::uint64_t>(y0 + py);
            const std::uint64_t fine = detail::splitmix64(grain_seed ^ (ux * 0x9e3779b97f4a7c15ULL) ^
                                                          (uy * 0xc2b2ae3d27d4eb4fULL));
            const std::uint64_t coarse = detail::splitmix64(grain_seed ^ ((ux >> 1) * 0xd6e8feb86659fd93ULL) ^
                                                            ((uy >> 1) * 0xa0761d6478bd642fULL));
            const double grain = 0.8 + 0.4 * (0.55 * static_cast<double>(fine >> 40) * 0x1.0p-24 +
                                              0.45 * static_cast<double>(coarse >> 40) * 0x1.0p-24);
            const double rim4 = rim * rim * rim * rim;
            double amount = darkness * (centre_level + rim_level * rim4) * grain;
            if (nucleolus) {
              const double ex = static_cast<double>(x0 + px) + 0.5 - nx;
              const double ey = static_cast<double>(y0 + py) + 0.5 - ny;
              if (ex * ex + ey * ey < nr2) amount *= 1.45;
            }
            const auto shade = static_cast<std::size_t>(std::clamp(amount * scale, 0.0, kShades - 1.0));
            const auto& colour = shade_[shade];
            std::uint8_t* out = row + px * 3;
            const auto k = static_cast<float>(alpha);
            for (std::size_t ch = 0; ch < 3; ++ch) {
              out[ch] = static_cast<std::uint8_t>(out[ch] + k * (colour[ch] - out[ch]) + 0.5f);
            }
          }
        }
      }
    }
  }

  TissueMosaic mosaic_;
  TissueMosaic dense_;  // same islands and seams, filled from the densest patches
  std::vector<Shape> shapes_;
  std::array<std::array<float, 3>, kShades> shade_{};
  std::vector<std::array<std::array<float, 3>, kBoostLevels + 1>> boost_;
  std::int64_t bx0_ = 0, by0_ = 0, bx1_ = 0, by1_ = 0;
};

/// Largest-remainder apportionment of `total` to the shares in `mix`.
std::array<int, 5> apportion(const std::array<double, 5>& mix, int total) {
  double sum = 0;
  for (const double m : mix) sum += std::max(m, 0.0);
  std::array<int, 5> counts{};
  if (total <= 0 || sum <= 0) return counts;
  std::array<std::pair<double, int>, 5> remainders{};
  int given = 0;
  for (int g = 0; g < 5; ++g) {
    const double exact = std::max(mix[static_cast<std::size_t>(g)], 0.0) / sum * total;
    counts[static_cast<std::size_t>(g)] = static_cast<int>(std::floor(exact));
    given += counts[static_cast<std::size_t>(g)];
    remainders[static_cast<std::size_t>(g)] = {exact - std::floor(exact), g};
  }
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& x, const auto& y) { return x.first > y.first; });
  for (int k = 0; given < total; ++k, ++given) ++counts[static_cast<std::size_t>(remainders[static_cast<std::size_t>(k % 5)].second)];
  return counts;
}

template <typename T>
void shuffle(std::vector<T>& items, detail::Rng& rng) {
  for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.below(i)]);
}

std::string patient_prefix(const std::vector<std::string>& centres, std::size_t c) {
  auto short_name = [](const std::string& name) {
    const auto dash = name.rfind('-');
    return dash == std::string::npos ? name : name.substr(dash + 1);
  };
  const std::string mine = short_name(centres[c]);
  if (mine.empty()) return centres[c];
  for (std::size_t other = 0; other < centres.size(); ++other) {
    if (other != c && short_name(centres[other]) == mine) return centres[c];
  }
  return mine;
}

}  // namespace

double default_prevalence(int position) {
  constexpr std::array<double, 4> kPrevalence{0.5, 0.35, 0.25, 0.4};
  return kPrevalence[static_cast<std::size_t>(std::max(position, 0)) % kPrevalence.size()];
}

std::array<double, 5> default_grade_mix(int position) {
  constexpr std::array<std::array<double, 5>, 4> kMix{{{0.30, 0.30, 0.20, 0.12, 0.08},
                                                       {0.40, 0.30, 0.15, 0.10, 0.05},
                                                       {0.10, 0.15, 0.25, 0.25, 0.25},
                                                       {0.20, 0.25, 0.25, 0.15, 0.15}}};
  return kMix[static_cast<std::size_t>(std::max(position, 0)) % kMix.size()];
}

std::string default_scanner(int position) {
  constexpr std::array<const char*, 4> kScanners{"Aperio AT2", "Aperio GT450", "Hamamatsu S360", "Philips UFS"};
  return kScanners[static_cast<std::size_t>(std::max(position, 0)) % kScanners.size()];
}

Result<std::vector<std::vector<SlideTruth>>> plan_cohort(const std::vector<std::string>& centres,
                                                         int slides_per_centre, std::uint64_t seed,
                                                         const LesionOptions& options) {
  const std::size_t given = options.prevalence.size();
  if (given > 1 && given != centres.size()) {
    return Error{ErrorCode::invalid_argument, "give one prevalence, or one per centre (" +
                                                  std::to_string(centres.size()) + "), not " + std::to_string(given)};
  }
  for (const double p : options.prevalence) {
    if (!(p >= 0.0 && p <= 1.0)) return Error{ErrorCode::invalid_argument, "a prevalence must be in [0, 1]"};
  }
  if (slides_per_centre < 0) return Error{ErrorCode::invalid_argument, "slides per centre must not be negative"};
  constexpr std::array<double, 4> kBiopsyShare{0.7, 0.6, 0.8, 0.5};

  std::vector<std::vector<SlideTruth>> cohort;
  for (std::size_t c = 0; c < centres.size(); ++c) {
    const int position = static_cast<int>(c);
    const double prevalence = given == 0 ? default_prevalence(position) : options.prevalence[given == 1 ? 0 : c];
    const int n = slides_per_centre;
    const int positives =
        std::clamp(static_cast<int>(std::floor(prevalence * n + 0.5 + 1e-9)), 0, n);
    detail::Rng rng(detail::hash_mix(seed, 0xc0407, c));

    std::vector<int> labels(static_cast<std::size_t>(n), 0);
    std::fill_n(labels.begin(), positives, 1);
    shuffle(labels, rng);

    const auto counts = apportion(default_grade_mix(position), positives);
    std::vector<int> grades;
    for (int g = 0; g < 5; ++g) grades.insert(grades.end(), static_cast<std::size_t>(counts[static_cast<std::size_t>(g)]), g + 1);
    shuffle(grades, rng);

    const std::string prefix = patient_prefix(centres, c);
    const std::string scanner = default_scanner(position);
    const double biopsy_share = kBiopsyShare[c % kBiopsyShare.size()];
    std::vector<SlideTruth> slides(static_cast<std::size_t>(n));
    std::size_t next_grade = 0;
    int patient = 0;
    for (int i = 0; i < n;) {
      const std::uint64_t draw = rng.below(10);
      const int wanted = draw < 5 ? 1 : (draw < 8 ? 2 : 3);
      const std::string specimen = rng.uniform(0.0, 1.0) < biopsy_share ? "biopsy" : "resection";
      char id[32];
      std::snprintf(id, sizeof id, "-P%04d", ++patient);
      const int label = labels[static_cast<std::size_t>(i)];
      for (int k = 0; k < wanted && i < n && labels[static_cast<std::size_t>(i)] == label; ++k, ++i) {
        SlideTruth& truth = slides[static_cast<std::size_t>(i)];
        truth.patient_id = prefix + id;
        truth.label = label;
        truth.isup_grade = label == 1 ? grades[next_grade++] : 0;
        truth.scanner = scanner;
        truth.specimen = specimen;
      }
    }
    cohort.push_back(std::move(slides));
  }
  return cohort;
}

Result<SlideContent> make_lesion_content(const SlidePlan& plan, const TissueSource& tissue, const SlideTruth& truth,
                                         const LesionOptions& options) {
  const SlideSpec& spec = plan.spec;
  if (!(spec.mpp > 0) || spec.width < 1 || spec.height < 1) {
    return Error{ErrorCode::invalid_argument, "lesions need a slide size and a positive mpp"};
  }
  if (truth.label != 0 && truth.label != 1) return Error{ErrorCode::invalid_argument, "label must be 0 or 1"};
  if (truth.label == 1 && (truth.isup_grade < 1 || truth.isup_grade > 5)) {
    return Error{ErrorCode::invalid_argument, "a positive slide needs an ISUP grade of 1-5"};
  }
  TissueMosaic mosaic(tissue, spec.width, spec.height, spec.seed);
  const double mpp = spec.mpp;
  const double feather_px = kFeatherUm / mpp;
  const double largest_um = 0.45 * static_cast<double>(std::min(spec.width, spec.height)) * mpp;
  Placer placer(mosaic, feather_px, detail::hash_mix(spec.seed, 0x1e5105));
  detail::Rng& rng = placer.rng();

  if (truth.label == 1) {
    const int grade = truth.isup_grade;
    const double t = (grade - 1) / 4.0;
    constexpr std::array<std::array<int, 2>, 5> kRegions{{{1, 1}, {1, 2}, {2, 2}, {2, 3}, {3, 4}}};
    const auto& range = kRegions[static_cast<std::size_t>(grade - 1)];
    const int count = range[0] + static_cast<int>(rng.below(static_cast<std::uint64_t>(range[1] - range[0] + 1)));
    for (int k = 0; k < count; ++k) {
      const double diameter_um = std::min(rng.uniform(400 + 250 * t, 1000 + 2000 * t), largest_um);
      const std::size_t before = placer.shapes().size();
      if (!placer.place(RegionKind::lesion, diameter_um / mpp, 0.4, 0.9, kPlacementTries) && k == 0) {
        // A positive slide always shows a lesion: smaller, then anywhere on tissue.
        if (!placer.place(RegionKind::lesion, std::min(400.0, largest_um) / mpp, 0.15, 0.6, 4 * kPlacementTries)) {
          const auto [x, y] = placer.deepest_tissue();
          placer.force(RegionKind::lesion, x, y, std::min(150.0, largest_um) / mpp);
        }
      }
      for (std::size_t r = before; r < placer.shapes().size(); ++r) {
        Shape& shape = placer.shapes()[r];
        shape.isup_grade = grade;
        shape.look = lesion_look(grade, mpp, rng.uniform(-0.04, 0.04));
      }
    }
  }
  if (options.mimics) {
    const double chance = truth.label == 1 ? 0.3 : 0.55;
    const int count = rng.uniform(0.0, 1.0) < chance ? 1 + static_cast<int>(rng.below(truth.label == 1 ? 1 : 2)) : 0;
    for (int k = 0; k < count; ++k) {
      const double diameter_um = std::min(rng.uniform(150, 600), largest_um);
      const std::size_t before = placer.shapes().size();
      placer.place(RegionKind::mimic, diameter_um / mpp, 0.5, 0.9, kPlacementTries);
      for (std::size_t r = before; r < placer.shapes().size(); ++r) placer.shapes()[r].look = mimic_look(mpp);
    }
  }

  std::vector<Shape> shapes = std::move(placer.shapes());
  SlideContent content;
  content.truth = truth;
  for (std::size_t r = 0; r < shapes.size(); ++r) {
    Shape& shape = shapes[r];
    shape.seed = detail::hash_mix(spec.seed, 0x1e5e, r);
    set_bounds(shape, spec.width, spec.height);
    content.regions.push_back(LesionRegion{shape.kind, shape.isup_grade, outline_ring(shape)});
  }
  if (!shapes.empty()) {
    content.stages.push_back(std::make_shared<LesionStage>(tissue, spec, std::move(shapes)));
  }
  return content;
}

ContentFactory lesion_content_factory(std::vector<std::vector<SlideTruth>> cohort, LesionOptions options) {
  return [cohort = std::move(cohort), options = std::move(options)](const SlidePlan& plan,
                                                                    const TissueSource& tissue) -> Result<SlideContent> {
    const auto c = static_cast<std::size_t>(plan.centre_index);
    const auto i = static_cast<std::size_t>(plan.index);
    if (plan.centre_index < 0 || plan.index < 0 || c >= cohort.size() || i >= cohort[c].size()) {
      return Error{ErrorCode::invalid_argument, "no ground truth planned for slide " + std::to_string(plan.index) +
                                                    " of centre " + plan.centre};
    }
    return make_lesion_content(plan, tissue, cohort[c][i], options);
  };
}

}  // namespace mcval::synth
