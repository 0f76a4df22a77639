// The optimised resampling (int32 sums, interleaved row blocks, AVX2 where the CPU has it, the
// 2 x 2 box fast path) against a plain transcription of Pillow 9.4's Resample.c and Reduce.c
// kept here as the reference: outputs must be identical byte for byte, on random sizes
// (1..600 px, shrinking and enlarging, odd sizes, ratio exactly 2, the box offsets resize_tile
// uses) and on random and extreme content (all 0, all 255, 0/255 checkerboards that drive the
// sums past both clipping limits).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "mcval/slide/resample.h"

namespace mcval::slide {
namespace {

namespace reference {

constexpr int kPrecisionBits = 32 - 8 - 2;

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

struct Taps {
  int first = 0;
  std::vector<std::int64_t> k;
};

// precompute_coeffs + normalize_coeffs_8bpc, one output pixel at a time.
std::vector<Taps> precompute(int in_size, float in0, float in1, int out_size) {
  const double scale = static_cast<double>(in1 - in0) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 3.0 * filterscale;
  std::vector<Taps> all;
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    const int xmin = std::max(0, static_cast<int>(center - support + 0.5));
    const int xmax = std::min(in_size, static_cast<int>(center + support + 0.5));
    std::vector<double> w;
    double ww = 0.0;
    for (int x = xmin; x < xmax; ++x) {
      w.push_back(lanczos((x - center + 0.5) / filterscale));
      ww += w.back();
    }
    Taps taps{xmin, {}};
    for (double v : w) {
      if (ww != 0.0) v /= ww;
      taps.k.push_back(v < 0 ? static_cast<std::int32_t>(-0.5 + v * (1 << kPrecisionBits))
                             : static_cast<std::int32_t>(0.5 + v * (1 << kPrecisionBits)));
    }
    all.push_back(std::move(taps));
  }
  return all;
}

RgbImage resample(const RgbImage& in, int width, int height, const float (&box)[4]) {
  const bool need_horizontal = width != in.width || box[0] != 0.0f || box[2] != static_cast<float>(width);
  const bool need_vertical = height != in.height || box[1] != 0.0f || box[3] != static_cast<float>(height);
  const auto horiz = precompute(in.width, box[0], box[2], width);
  const auto vert = precompute(in.height, box[1], box[3], height);
  const int row_first = vert.front().first;
  const int row_last = vert.back().first + static_cast<int>(vert.back().k.size());
  RgbImage current = in;
  int row_offset = 0;
  if (need_horizontal) {
    RgbImage h(width, row_last - row_first);
    for (int y = 0; y < h.height; ++y) {
      for (int xx = 0; xx < width; ++xx) {
        for (int ch = 0; ch < 3; ++ch) {
          std::int64_t s = 1 << (kPrecisionBits - 1);
          const Taps& t = horiz[static_cast<std::size_t>(xx)];
          for (std::size_t i = 0; i < t.k.size(); ++i) {
            s += in.row(y + row_first)[(static_cast<std::size_t>(t.first) + i) * 3 + static_cast<std::size_t>(ch)] *
                 t.k[i];
          }
          h.row(y)[xx * 3 + ch] = clip8(s);
        }
      }
    }
    current = h;
    row_offset = row_first;
  }
  if (!need_vertical) return current;
  RgbImage out(current.width, height);
  for (int yy = 0; yy < height; ++yy) {
    const Taps& t = vert[static_cast<std::size_t>(yy)];
    for (std::size_t x = 0; x < current.stride(); ++x) {
      std::int64_t s = 1 << (kPrecisionBits - 1);
      for (std::size_t i = 0; i < t.k.size(); ++i)
        s += current.row(t.first - row_offset + static_cast<int>(i))[x] * t.k[i];
      out.row(yy)[x] = clip8(s);
    }
  }
  return out;
}

RgbImage resize_lanczos(const RgbImage& image, int width, int height) {
  if (image.width == width && image.height == height) return image;
  const float box[4] = {0.0f, 0.0f, static_cast<float>(image.width), static_cast<float>(image.height)};
  return resample(image, width, height, box);
}

// ImagingReduceNxN / ImagingReduceCorners: sums times a float reciprocal, >> 24.
RgbImage reduce_box(const RgbImage& image, int factor_x, int factor_y) {
  if (factor_x == 1 && factor_y == 1) return image;
  RgbImage out((image.width + factor_x - 1) / factor_x, (image.height + factor_y - 1) / factor_y);
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      const int x1 = std::min(image.width, (x + 1) * factor_x);
      const int y1 = std::min(image.height, (y + 1) * factor_y);
      const auto count = static_cast<std::uint32_t>((x1 - x * factor_x) * (y1 - y * factor_y));
      const auto multiplier =
          static_cast<std::uint32_t>(static_cast<float>((1 << 30) * 4.0) / static_cast<float>(256 * count));
      for (int ch = 0; ch < 3; ++ch) {
        std::uint32_t s = count / 2;
        for (int yy = y * factor_y; yy < y1; ++yy) {
          for (int xx = x * factor_x; xx < x1; ++xx) s += image.row(yy)[xx * 3 + ch];
        }
        out.row(y)[x * 3 + ch] = static_cast<std::uint8_t>((s * multiplier) >> 24);
      }
    }
  }
  return out;
}

RgbImage resize_tile(const RgbImage& image, int width, int height) {
  if (image.width == width && image.height == height) return image;
  const int factor_x = std::max(1, static_cast<int>(static_cast<double>(image.width) / width / 2.0));
  const int factor_y = std::max(1, static_cast<int>(static_cast<double>(image.height) / height / 2.0));
  if (factor_x == 1 && factor_y == 1) return reference::resize_lanczos(image, width, height);
  const RgbImage reduced = reference::reduce_box(image, factor_x, factor_y);
  const float box[4] = {0.0f, 0.0f, static_cast<float>(static_cast<double>(image.width) / factor_x),
                        static_cast<float>(static_cast<double>(image.height) / factor_y)};
  if (reduced.width == width && reduced.height == height && box[2] == static_cast<float>(width) &&
      box[3] == static_cast<float>(height)) {
    return reduced;
  }
  return resample(reduced, width, height, box);
}

}  // namespace reference

enum class Content { kRandom, kBlack, kWhite, kCheckerboard, kChannelCheckerboard, kStripes, kSmooth };

std::uint8_t pixel_value(Content content, int x, int y, int ch, std::mt19937& rng) {
  switch (content) {
    case Content::kRandom:
      return static_cast<std::uint8_t>(rng());
    case Content::kBlack:
      return 0;
    case Content::kWhite:
      return 255;
    case Content::kCheckerboard:
      return (x + y) % 2 == 0 ? 255 : 0;
    case Content::kChannelCheckerboard:
      return (x + y + ch) % 2 == 0 ? 255 : 0;
    case Content::kStripes:
      return (x / 3 + y / 2 + ch) % 2 == 0 ? 255 : 0;
    case Content::kSmooth:
      return static_cast<std::uint8_t>((x * 5 + y * 3 + ch * 40) % 256);
  }
  return 0;
}

RgbImage make_image(int width, int height, Content content, std::mt19937& rng) {
  RgbImage image(width, height);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int ch = 0; ch < 3; ++ch) image.row(y)[x * 3 + ch] = pixel_value(content, x, y, ch, rng);
    }
  }
  return image;
}

// The first differing byte, or "" when equal.
std::string first_difference(const RgbImage& ours, const RgbImage& expected) {
  std::ostringstream s;
  if (ours.width != expected.width || ours.height != expected.height) {
    s << "size " << ours.width << "x" << ours.height << " vs " << expected.width << "x" << expected.height;
    return s.str();
  }
  for (std::size_t i = 0; i < ours.pixels.size(); ++i) {
    if (ours.pixels[i] != expected.pixels[i]) {
      const std::size_t pixel = i / 3;
      s << "at x " << pixel % static_cast<std::size_t>(ours.width) << " y "
        << pixel / static_cast<std::size_t>(ours.width) << " channel " << i % 3 << ": " << int{ours.pixels[i]} << " vs "
        << int{expected.pixels[i]};
      return s.str();
    }
  }
  return "";
}

int random_int(std::mt19937& rng, int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng); }

// An output size for `in`: shrinking by up to 12, exactly by 2, enlarging by up to 2, or any.
int random_out_size(std::mt19937& rng, int in) {
  switch (random_int(rng, 0, 4)) {
    case 0:
      return std::max(1, static_cast<int>(in / std::uniform_real_distribution<double>(1.0, 12.0)(rng)));
    case 1:
      return std::max(1, in / 2);
    case 2:
      return std::min(600, static_cast<int>(in * std::uniform_real_distribution<double>(1.0, 2.0)(rng)) + 1);
    case 3:
      return std::max(1, in - random_int(rng, 0, 3));
    default:
      return random_int(rng, 1, 600);
  }
}

TEST(ResampleReference, RandomSizesAndContentMatchThePlainTranscription) {
  std::mt19937 rng(20261124);
  constexpr int kCases = 240;
  int compared = 0;
  for (int i = 0; i < kCases; ++i) {
    const int in_w = random_int(rng, 1, 600);
    const int in_h = random_int(rng, 1, 600);
    const auto content = static_cast<Content>(i % 7);
    const RgbImage image = make_image(in_w, in_h, content, rng);
    const int out_w = random_out_size(rng, in_w);
    const int out_h = random_out_size(rng, in_h);
    SCOPED_TRACE(::testing::Message() << "case " << i << ": " << in_w << "x" << in_h << " -> " << out_w << "x" << out_h
                                      << ", content " << static_cast<int>(content));
    EXPECT_EQ(first_difference(resize_lanczos(image, out_w, out_h), reference::resize_lanczos(image, out_w, out_h)), "")
        << "resize_lanczos";
    EXPECT_EQ(first_difference(resize_tile(image, out_w, out_h), reference::resize_tile(image, out_w, out_h)), "")
        << "resize_tile";
    const int factor_x = i % 3 == 0 ? 2 : random_int(rng, 1, 5);
    const int factor_y = i % 3 == 0 ? 2 : random_int(rng, 1, 5);
    EXPECT_EQ(first_difference(reduce_box(image, factor_x, factor_y), reference::reduce_box(image, factor_x, factor_y)),
              "")
        << "reduce_box " << factor_x << "x" << factor_y;
    compared += 3;
  }
  EXPECT_EQ(compared, 3 * kCases);
}

// The Deep Zoom shapes: a region read at the level below, twice the tile (plus overlap, odd at
// the slide's right and bottom edges), or four times it and box-reduced first with a box edge
// such as 510.5 that is not a pixel edge.
TEST(ResampleReference, DeepZoomShapesMatchThePlainTranscription) {
  std::mt19937 rng(7);
  const std::pair<int, int> shapes[] = {{510, 255},  {512, 256},  {514, 257},  {258, 129}, {257, 128}, {1020, 255},
                                        {1021, 255}, {1022, 256}, {1027, 257}, {33, 16},   {2, 1},     {480, 240}};
  for (const auto& [in, out] : shapes) {
    for (const Content content : {Content::kRandom, Content::kChannelCheckerboard, Content::kWhite}) {
      SCOPED_TRACE(::testing::Message() << in << " -> " << out << ", content " << static_cast<int>(content));
      const RgbImage image = make_image(in, std::max(1, in - 3), content, rng);
      const int out_h = std::max(1, out - 1);
      EXPECT_EQ(first_difference(resize_tile(image, out, out_h), reference::resize_tile(image, out, out_h)), "");
      EXPECT_EQ(first_difference(reduce_box(image, 2), reference::reduce_box(image, 2, 2)), "");
    }
  }
}

}  // namespace
}  // namespace mcval::slide
