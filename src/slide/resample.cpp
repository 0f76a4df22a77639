#include "mcval/slide/resample.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>

namespace mcval::slide {

// A transcription of Pillow 9.4's libImaging/Resample.c (8 bits per channel) and Reduce.c,
// including their fixed-point rounding, so results agree with Pillow pixel for pixel.

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;
constexpr double kLanczosSupport = 3.0;

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= std::numbers::pi;
  return std::sin(x) / x;
}

double lanczos(double x) {
  if (-3.0 <= x && x < 3.0) return sinc(x) * sinc(x / 3);
  return 0.0;
}

std::uint8_t clip8(std::int64_t in) {
  if (in >= (std::int64_t{1} << kPrecisionBits << 8)) return 255;
  if (in <= 0) return 0;
  return static_cast<std::uint8_t>(in >> kPrecisionBits);
}

// Fixed-point filter taps for one axis: output pixel i reads input [start[i], start[i]+count[i]).
struct Coefficients {
  int ksize = 0;
  std::vector<int> start;
  std::vector<int> count;
  std::vector<std::int32_t> taps;  // ksize per output pixel
};

// precompute_coeffs + normalize_coeffs_8bpc. The box edges are floats, as in Pillow.
Coefficients precompute(int in_size, float in0, float in1, int out_size) {
  const double scale = static_cast<double>(in1 - in0) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = kLanczosSupport * filterscale;
  Coefficients c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.start.resize(static_cast<std::size_t>(out_size));
  c.count.resize(static_cast<std::size_t>(out_size));
  c.taps.assign(static_cast<std::size_t>(out_size) * static_cast<std::size_t>(c.ksize), 0);
  std::vector<double> k(static_cast<std::size_t>(c.ksize));
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double w = lanczos((x + xmin - center + 0.5) * ss);
      k[static_cast<std::size_t>(x)] = w;
      ww += w;
    }
    std::int32_t* taps = c.taps.data() + static_cast<std::size_t>(xx) * static_cast<std::size_t>(c.ksize);
    for (int x = 0; x < xmax; ++x) {
      double w = k[static_cast<std::size_t>(x)];
      if (ww != 0.0) w /= ww;
      taps[x] = w < 0 ? static_cast<std::int32_t>(-0.5 + w * (1 << kPrecisionBits))
                      : static_cast<std::int32_t>(0.5 + w * (1 << kPrecisionBits));
    }
    c.start[static_cast<std::size_t>(xx)] = xmin;
    c.count[static_cast<std::size_t>(xx)] = xmax;
  }
  return c;
}

// Rows [row_first, row_first + out.height) of `in`, resampled horizontally into `out`.
void resample_horizontal(const RgbImage& in, int row_first, const Coefficients& c, RgbImage& out) {
  for (int y = 0; y < out.height; ++y) {
    const std::uint8_t* src = in.row(y + row_first);
    std::uint8_t* dst = out.row(y);
    for (int xx = 0; xx < out.width; ++xx) {
      const int xmin = c.start[static_cast<std::size_t>(xx)];
      const int n = c.count[static_cast<std::size_t>(xx)];
      const std::int32_t* k = c.taps.data() + static_cast<std::size_t>(xx) * static_cast<std::size_t>(c.ksize);
      std::int64_t s0 = 1 << (kPrecisionBits - 1);
      std::int64_t s1 = s0;
      std::int64_t s2 = s0;
      const std::uint8_t* p = src + static_cast<std::size_t>(xmin) * 3;
      for (int x = 0; x < n; ++x, p += 3) {
        s0 += p[0] * std::int64_t{k[x]};
        s1 += p[1] * std::int64_t{k[x]};
        s2 += p[2] * std::int64_t{k[x]};
      }
      dst[xx * 3 + 0] = clip8(s0);
      dst[xx * 3 + 1] = clip8(s1);
      dst[xx * 3 + 2] = clip8(s2);
    }
  }
}

// Vertical pass; `row_offset` is subtracted from the taps' start rows.
void resample_vertical(const RgbImage& in, int row_offset, const Coefficients& c, RgbImage& out) {
  const std::size_t stride = in.stride();
  for (int yy = 0; yy < out.height; ++yy) {
    const int ymin = c.start[static_cast<std::size_t>(yy)] - row_offset;
    const int n = c.count[static_cast<std::size_t>(yy)];
    const std::int32_t* k = c.taps.data() + static_cast<std::size_t>(yy) * static_cast<std::size_t>(c.ksize);
    std::uint8_t* dst = out.row(yy);
    for (std::size_t xx = 0; xx < stride; ++xx) {
      std::int64_t s = 1 << (kPrecisionBits - 1);
      const std::uint8_t* p = in.row(ymin) + xx;
      for (int y = 0; y < n; ++y, p += stride) s += *p * std::int64_t{k[y]};
      dst[xx] = clip8(s);
    }
  }
}

// ImagingResampleInner: horizontal pass over the rows the vertical pass needs, then vertical.
RgbImage resample(const RgbImage& in, int width, int height, const float (&box)[4]) {
  const bool need_horizontal = width != in.width || box[0] != 0.0f || box[2] != static_cast<float>(width);
  const bool need_vertical = height != in.height || box[1] != 0.0f || box[3] != static_cast<float>(height);
  const Coefficients horiz = precompute(in.width, box[0], box[2], width);
  const Coefficients vert = precompute(in.height, box[1], box[3], height);
  const int row_first = vert.start.front();
  const int row_last = vert.start.back() + vert.count.back();

  RgbImage current;
  const RgbImage* source = &in;
  int row_offset = 0;
  if (need_horizontal) {
    current = RgbImage(width, row_last - row_first);
    resample_horizontal(in, row_first, horiz, current);
    source = &current;
    row_offset = row_first;
  }
  if (need_vertical) {
    RgbImage out(source->width, height);
    resample_vertical(*source, row_offset, vert, out);
    return out;
  }
  if (need_horizontal) return current;
  return in;
}

bool valid(const RgbImage& image, int width, int height) {
  return image.width > 0 && image.height > 0 && width > 0 && height > 0 &&
         image.pixels.size() == static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) * 3;
}

// Reduce.c's division_UINT32: a fixed-point reciprocal computed in float.
std::uint32_t reciprocal(std::uint32_t divider) {
  const float max_int = static_cast<float>((1 << 30) * 4.0);
  return static_cast<std::uint32_t>(max_int / static_cast<float>(std::uint32_t{256} * divider));
}

}  // namespace

RgbImage resize_lanczos(const RgbImage& image, int width, int height) {
  if (!valid(image, width, height)) return RgbImage();
  if (image.width == width && image.height == height) return image;
  const float box[4] = {0.0f, 0.0f, static_cast<float>(image.width), static_cast<float>(image.height)};
  return resample(image, width, height, box);
}

RgbImage reduce_box(const RgbImage& image, int factor) { return reduce_box(image, factor, factor); }

RgbImage reduce_box(const RgbImage& image, int factor_x, int factor_y) {
  if (!valid(image, 1, 1) || factor_x < 1 || factor_y < 1) return RgbImage();
  if (factor_x == 1 && factor_y == 1) return image;
  RgbImage out((image.width + factor_x - 1) / factor_x, (image.height + factor_y - 1) / factor_y);
  for (int y = 0; y < out.height; ++y) {
    const int y0 = y * factor_y;
    const int y1 = std::min(image.height, y0 + factor_y);
    std::uint8_t* dst = out.row(y);
    for (int x = 0; x < out.width; ++x) {
      const int x0 = x * factor_x;
      const int x1 = std::min(image.width, x0 + factor_x);
      const auto count = static_cast<std::uint32_t>((x1 - x0) * (y1 - y0));
      const std::uint32_t multiplier = reciprocal(count);
      const std::uint32_t amend = count / 2;
      std::uint32_t s[3] = {amend, amend, amend};
      for (int yy = y0; yy < y1; ++yy) {
        const std::uint8_t* p = image.row(yy) + static_cast<std::size_t>(x0) * 3;
        for (int xx = x0; xx < x1; ++xx, p += 3) {
          s[0] += p[0];
          s[1] += p[1];
          s[2] += p[2];
        }
      }
      for (int i = 0; i < 3; ++i) dst[x * 3 + i] = static_cast<std::uint8_t>((s[i] * multiplier) >> 24);
    }
  }
  return out;
}

RgbImage resize_tile(const RgbImage& image, int width, int height) {
  if (!valid(image, width, height)) return RgbImage();
  if (image.width == width && image.height == height) return image;
  // Image.resize(size, LANCZOS, reducing_gap=2.0): factor = int(in / out / 2.0) or 1.
  constexpr double kReducingGap = 2.0;
  const int factor_x = std::max(1, static_cast<int>(static_cast<double>(image.width) / width / kReducingGap));
  const int factor_y = std::max(1, static_cast<int>(static_cast<double>(image.height) / height / kReducingGap));
  if (factor_x == 1 && factor_y == 1) return resize_lanczos(image, width, height);
  const RgbImage reduced = reduce_box(image, factor_x, factor_y);
  const float box[4] = {0.0f, 0.0f, static_cast<float>(static_cast<double>(image.width) / factor_x),
                        static_cast<float>(static_cast<double>(image.height) / factor_y)};
  if (reduced.width == width && reduced.height == height && box[2] == static_cast<float>(width) &&
      box[3] == static_cast<float>(height)) {
    return reduced;
  }
  return resample(reduced, width, height, box);
}

}  // namespace mcval::slide
