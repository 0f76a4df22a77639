#pragma once
// Proof that TiffJpegTiles::read_region gives OpenSlide's pixels exactly: random regions of every
// level of a slide (slivers, regions straddling 2x2 and 3x3 stored tiles, whole and nearly whole
// tiles, regions at and past the level's edges) read both ways and compared byte for byte. Shared
// by the slide tests (the CMU slide) and the synth tests (a generated slide).
#include <openslide.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mcval/slide/image.h"
#include "mcval/slide/openslide_source.h"
#include "mcval/slide/tiff_jpeg_tiles.h"

namespace mcval::testing {

/// A region in the coordinates of one level.
struct LevelRegion {
  std::int64_t x = 0;
  std::int64_t y = 0;
  int width = 0;
  int height = 0;
};

inline std::string describe(int level, const LevelRegion& r) {
  std::ostringstream out;
  out << "level " << level << " region " << r.width << "x" << r.height << " at " << r.x << "," << r.y;
  return out.str();
}

/// openslide_read_region's pixels, composited over `background` the way mcval composites them
/// (transparent outside the level).
inline slide::RgbImage openslide_pixels(openslide_t* osr, int level, std::int64_t downsample, const LevelRegion& r,
                                        const std::uint8_t (&background)[3]) {
  std::vector<std::uint32_t> argb(static_cast<std::size_t>(r.width) * static_cast<std::size_t>(r.height));
  openslide_read_region(osr, argb.data(), r.x * downsample, r.y * downsample, level, r.width, r.height);
  EXPECT_EQ(openslide_get_error(osr), nullptr);
  slide::RgbImage out(r.width, r.height);
  std::uint8_t* dst = out.pixels.data();
  for (const std::uint32_t p : argb) {
    const std::uint32_t a = p >> 24;
    const std::uint32_t c[3] = {(p >> 16) & 0xFF, (p >> 8) & 0xFF, p & 0xFF};
    for (int i = 0; i < 3; ++i) {  // premultiplied ARGB
      const std::uint32_t v = c[i] + (background[i] * (255 - a) + 127) / 255;
      *dst++ = static_cast<std::uint8_t>(std::min<std::uint32_t>(v, 255));
    }
  }
  return out;
}

/// Empty if the images are equal; otherwise where they first differ.
inline std::string first_difference(const slide::RgbImage& got, const slide::RgbImage& expected) {
  if (got.width != expected.width || got.height != expected.height || got.pixels.size() != expected.pixels.size()) {
    return "sizes differ";
  }
  const auto mismatch = std::mismatch(got.pixels.begin(), got.pixels.end(), expected.pixels.begin());
  if (mismatch.first == got.pixels.end()) return {};
  const auto offset = static_cast<std::size_t>(mismatch.first - got.pixels.begin());
  const std::size_t pixel = offset / 3;
  std::ostringstream out;
  out << "pixel " << pixel % static_cast<std::size_t>(got.width) << "," << pixel / static_cast<std::size_t>(got.width)
      << " channel " << offset % 3 << ": " << int{*mismatch.first} << " instead of " << int{*mismatch.second};
  return out.str();
}

/// `count` random regions of a level of `level_w` x `level_h` pixels stored as tiles of
/// `tile_w` x `tile_h`, cycling through the shapes that exercise partial decoding (the level
/// must be at least two tiles each way).
inline std::vector<LevelRegion> random_regions(std::int64_t level_w, std::int64_t level_h, int tile_w, int tile_h,
                                               int count, std::mt19937_64& rng) {
  const auto uniform = [&rng](std::int64_t lo, std::int64_t hi) {  // [lo, hi]
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  const std::int64_t across = (level_w + tile_w - 1) / tile_w, down = (level_h + tile_h - 1) / tile_h;
  EXPECT_GE(across, 2);
  EXPECT_GE(down, 2);
  // One axis of a region: `kind` picks the shape; (position, length) in level pixels.
  const auto axis = [&](int kind, std::int64_t size, int tile, std::int64_t tiles) -> std::pair<std::int64_t, int> {
    switch (kind) {
      case 0:  // one pixel
        return {uniform(0, size - 1), 1};
      case 1: {  // across one tile boundary
        const std::int64_t boundary = uniform(1, tiles - 1) * tile;
        const std::int64_t before = uniform(1, tile);
        return {boundary - before,
                static_cast<int>(before + uniform(1, std::min<std::int64_t>(tile, size - boundary)))};
      }
      case 2: {  // across two tile boundaries (three tiles), when the level has them
        const std::int64_t first = uniform(1, std::max<std::int64_t>(tiles - 2, 1)) * tile;
        const std::int64_t before = uniform(1, tile);
        return {first - before, static_cast<int>(before + tile + uniform(1, tile))};
      }
      case 3: {  // one whole tile or nearly (decoded whole and kept)
        const std::int64_t start = uniform(0, tiles - 1) * tile + uniform(0, tile / 16);
        return {start, static_cast<int>(std::max<std::int64_t>(1, tile - uniform(0, tile / 16) - start % tile))};
      }
      case 4: {  // a Deep Zoom tile: 254 px and a 1 px overlap each side
        const std::int64_t column = uniform(0, (size - 1) / 254);
        return {std::max<std::int64_t>(column * 254 - 1, 0), column == 0 ? 255 : 256};
      }
      case 5: {  // ending at the level's edge
        const int length = static_cast<int>(uniform(1, 2 * tile));
        return {size - length, length};
      }
      case 6: {  // across the level's first or last pixel, or wholly outside
        const int length = static_cast<int>(uniform(2, 2 * tile));
        const bool before = uniform(0, 1) == 0;
        if (uniform(0, 7) == 0) return {before ? -length - uniform(0, tile) : size + uniform(0, tile), length};
        return {before ? -uniform(1, length - 1) : size - uniform(1, length - 1), length};
      }
      default:  // anywhere, up to three tiles long
        return {uniform(-tile / 2, size - 1), static_cast<int>(uniform(1, 3 * tile))};
    }
  };
  std::vector<LevelRegion> regions;
  for (int i = 0; i < count; ++i) {
    // Both axes of one shape, or shapes mixed (e.g. a one-pixel column across a tile boundary).
    const int kx = i % 8, ky = i % 16 < 8 ? kx : static_cast<int>(uniform(0, 7));
    const auto [x, w] = axis(kx, level_w, tile_w, across);
    const auto [y, h] = axis(ky, level_h, tile_h, down);
    regions.push_back({x, y, w, h});
  }
  return regions;
}

/// Reads `regions_per_level` random regions of every level of the slide at `path` with
/// TiffJpegTiles::read_region, four times (with an object whose decoded-tile cache has seen the
/// regions before, with a fresh one, with one that keeps no decoded tiles, so that every part of
/// a stored tile is decoded alone, cropped in place between its neighbours, and with one that
/// keeps two, so that tiles are decoded into the recycled buffers of earlier ones), and expects
/// OpenSlide's pixels exactly. Returns how many regions were compared.
inline int expect_read_region_is_openslides(const std::filesystem::path& path, int regions_per_level,
                                            std::uint64_t seed) {
  const slide::OpenSlideSource source;
  auto reader = source.open(path);
  EXPECT_TRUE(reader.ok()) << (reader.ok() ? "" : reader.error().to_string());
  if (!reader.ok()) return 0;
  const slide::SlideProperties& props = (*reader)->properties();
  const auto warm = slide::TiffJpegTiles::open(path, props);
  EXPECT_TRUE(warm);
  // Room for two decoded tiles: nearly every tile kept pushes one out, whose buffer the next
  // tile decoded reuses.
  const auto recycling = slide::TiffJpegTiles::open(
      path, props, 2 * static_cast<std::size_t>(props.level_tile_width.at(0)) * props.level_tile_height.at(0) * 3);
  EXPECT_TRUE(recycling);
  std::unique_ptr<openslide_t, void (*)(openslide_t*)> osr(openslide_open(path.c_str()), openslide_close);
  EXPECT_TRUE(osr);
  if (!warm || !recycling || !osr) return 0;
  const std::uint8_t background[3] = {0x12, 0xC8, 0x4D};  // not grey: channel order shows
  std::mt19937_64 rng(seed);
  int compared = 0;
  for (int level = 0; level < static_cast<int>(props.levels.size()); ++level) {
    const auto& info = props.levels[static_cast<std::size_t>(level)];
    const auto downsample = static_cast<std::int64_t>(std::llround(info.downsample));
    EXPECT_EQ(static_cast<double>(downsample), info.downsample);
    const int tile_w = props.level_tile_width[static_cast<std::size_t>(level)];
    const int tile_h = props.level_tile_height[static_cast<std::size_t>(level)];
    for (const LevelRegion& r : random_regions(info.width, info.height, tile_w, tile_h, regions_per_level, rng)) {
      const slide::RgbImage expected = openslide_pixels(osr.get(), level, downsample, r, background);
      const auto cold = slide::TiffJpegTiles::open(path, props);
      const auto uncached = slide::TiffJpegTiles::open(path, props, 0);
      for (const auto* tiles : {warm.get(), cold.get(), uncached.get(), recycling.get()}) {
        const auto got = tiles->read_region(level, r.x * downsample, r.y * downsample, r.width, r.height, background);
        if (!got) {
          ADD_FAILURE() << describe(level, r) << ": not read";
          continue;
        }
        const std::string difference = first_difference(*got, expected);
        EXPECT_EQ(difference, "") << describe(level, r)
                                  << (tiles == warm.get()        ? " (warm)"
                                      : tiles == cold.get()      ? " (fresh)"
                                      : tiles == uncached.get()  ? " (uncached)"
                                                                 : " (recycling buffers)");
      }
      ++compared;
    }
  }
  return compared;
}

}  // namespace mcval::testing
