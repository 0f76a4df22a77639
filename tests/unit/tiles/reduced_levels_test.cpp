// ReducedLevels against the definition: level k is level k-1 averaged 2 x 2 (slide::reduce_box),
// from the stored level it starts at; tiles are made once and kept in the tile cache, also when
// many threads ask at once; limits and the choice of the base level.
#include "mcval/tiles/reduced_levels.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "mcval/slide/resample.h"

namespace mcval::tiles {
namespace {

using slide::RgbImage;

RgbImage noise(int width, int height, unsigned seed) {
  RgbImage image(width, height);
  std::mt19937 rng(seed);
  for (auto& v : image.pixels) v = static_cast<std::uint8_t>(rng());
  return image;
}

RgbImage crop(const RgbImage& image, int x, int y, int width, int height, const std::uint8_t (&bg)[3]) {
  RgbImage out(width, height);
  for (int row = 0; row < height; ++row) {
    for (int col = 0; col < width; ++col) {
      const int sx = x + col, sy = y + row;
      const bool inside = sx >= 0 && sy >= 0 && sx < image.width && sy < image.height;
      std::memcpy(out.row(row) + col * 3, inside ? image.row(sy) + sx * 3 : bg, 3);
    }
  }
  return out;
}

// A slide in memory: each level an image of its own (a stored level need not be the average of
// the one below, so a test can tell which level a pixel came from). Counts reads.
class MemoryPyramid final : public slide::SlideReader {
 public:
  explicit MemoryPyramid(int tile_px) {
    properties_.vendor = "memory";
    properties_.background_rgb[0] = 10;
    properties_.background_rgb[1] = 200;
    properties_.background_rgb[2] = 30;
    tile_px_ = tile_px;
  }
  void add_level(RgbImage image, double downsample) {
    properties_.levels.push_back({image.width, image.height, downsample});
    properties_.level_tile_width.push_back(tile_px_);
    properties_.level_tile_height.push_back(tile_px_);
    images_.push_back(std::move(image));
  }
  const slide::SlideProperties& properties() const override { return properties_; }
  Result<RgbImage> read_region(std::int64_t x0, std::int64_t y0, int level, int width, int height) const override {
    reads_.fetch_add(1);
    const double ds = properties_.levels[static_cast<std::size_t>(level)].downsample;
    return crop(images_[static_cast<std::size_t>(level)], static_cast<int>(static_cast<double>(x0) / ds),
                static_cast<int>(static_cast<double>(y0) / ds), width, height, properties_.background_rgb);
  }
  Result<RgbImage> read_associated(std::string_view) const override {
    return Error{ErrorCode::not_found, "none"};
  }
  const RgbImage& level(int i) const { return images_[static_cast<std::size_t>(i)]; }
  int reads() const { return reads_.load(); }

 private:
  slide::SlideProperties properties_;
  std::vector<RgbImage> images_;
  int tile_px_ = 64;
  mutable std::atomic<int> reads_{0};
};

/// `image` averaged 2 x 2, `times` times.
RgbImage halved(RgbImage image, int times) {
  for (int i = 0; i < times; ++i) image = slide::reduce_box(image, 2);
  return image;
}

TEST(ReducedLevels, EveryLevelOfAOneLevelSlideIsTheLevelBelowAveragedTwoByTwo) {
  MemoryPyramid slide(64);
  slide.add_level(noise(1001, 733, 1), 1.0);  // odd sizes: partial blocks at every level's edge
  slide::TileCache cache(64 << 20);
  ReducedLevelLocks locks;
  const ReducedLevels reduced(slide, cache, locks, "s|");
  EXPECT_EQ(reduced.tile_px(), 64);
  for (int k = 1; k <= 6; ++k) {
    ASSERT_EQ(reduced.base_level_for(k), 0);
    const RgbImage want = halved(slide.level(0), k);
    EXPECT_EQ(want.width, (1001 + (1 << k) - 1) >> k);
    auto got = reduced.read(0, k, 0, 0, want.width, want.height);
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    EXPECT_EQ(got->pixels, want.pixels) << "level " << k;
  }
  // Regions anywhere, also across the level's edges (background outside).
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    const int k = 1 + static_cast<int>(rng() % 4);
    const RgbImage level = halved(slide.level(0), k);
    const int x = static_cast<int>(rng() % (level.width + 40)) - 20;
    const int y = static_cast<int>(rng() % (level.height + 40)) - 20;
    const int w = 1 + static_cast<int>(rng() % 150), h = 1 + static_cast<int>(rng() % 150);
    auto got = reduced.read(0, k, x, y, w, h);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->pixels, crop(level, x, y, w, h, slide.properties().background_rgb).pixels)
        << "k " << k << " at " << x << "," << y << " " << w << "x" << h;
  }
}

TEST(ReducedLevels, TilesAreMadeOnceAndKeptInTheTileCache) {
  MemoryPyramid slide(64);
  slide.add_level(noise(512, 512, 2), 1.0);
  slide::TileCache cache(64 << 20);
  ReducedLevelLocks locks;
  const ReducedLevels reduced(slide, cache, locks, "s|");
  ASSERT_TRUE(reduced.read(0, 3, 0, 0, 64, 64).ok());  // the whole of level 3: one tile
  // Level 1 is made from one read of the stored level per tile (4 x 4 tiles of 64 px).
  EXPECT_EQ(slide.reads(), 16);
  EXPECT_GT(cache.stats().entries, 0u);
  // Everything below level 3 is cached now: level 2 and level 1 cost no read.
  ASSERT_TRUE(reduced.read(0, 2, 0, 0, 128, 128).ok());
  ASSERT_TRUE(reduced.read(0, 1, 0, 0, 256, 256).ok());
  EXPECT_EQ(slide.reads(), 16);
  // A different file identity (the slide changed) has tiles of its own.
  const ReducedLevels changed(slide, cache, locks, "s2|");
  ASSERT_TRUE(changed.read(0, 1, 0, 0, 64, 64).ok());
  EXPECT_EQ(slide.reads(), 17);
  // No cache budget: still the same pixels, only made again each time.
  slide::TileCache none(0);
  const ReducedLevels uncached(slide, none, locks, "s|");
  EXPECT_EQ(uncached.read(0, 3, 0, 0, 64, 64)->pixels, reduced.read(0, 3, 0, 0, 64, 64)->pixels);
}

TEST(ReducedLevels, ConcurrentRequestsMakeEachTileOnce) {
  MemoryPyramid slide(64);
  slide.add_level(noise(700, 500, 3), 1.0);
  const RgbImage want = halved(slide.level(0), 4);
  slide::TileCache cache(64 << 20);
  ReducedLevelLocks locks;
  std::vector<std::thread> threads;
  std::atomic<int> equal{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const ReducedLevels reduced(slide, cache, locks, "s|");
      // Half ask for level 4 as a whole, half for level 2 tile by tile first.
      if (t % 2 == 1) {
        for (int y = 0; y < 125; y += 32) {
          for (int x = 0; x < 175; x += 32) (void)reduced.read(0, 2, x, y, 32, 32);
        }
      }
      auto got = reduced.read(0, 4, 0, 0, want.width, want.height);
      if (got.ok() && got->pixels == want.pixels) equal.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(equal.load(), 8);
  // One read of the stored level per level-1 tile (64 px tiles of 350 x 250: 6 x 4), none twice.
  EXPECT_EQ(slide.reads(), 6 * 4);
}

TEST(ReducedLevels, StartsFromTheStoredLevelOfAnExactPowerOfTwo) {
  MemoryPyramid slide(64);
  slide.add_level(noise(1024, 1024, 4), 1.0);
  slide.add_level(noise(256, 256, 5), 4.0);   // not the average of level 0: tells where pixels came from
  slide.add_level(noise(62, 62, 6), 16.5);    // a downsample that is not a power of two
  slide::TileCache cache(64 << 20);
  ReducedLevelLocks locks;
  const ReducedLevels reduced(slide, cache, locks, "s|");
  EXPECT_EQ(reduced.base_level_for(1), 0);
  EXPECT_EQ(reduced.base_level_for(2), std::nullopt);  // stored: read it as it is
  EXPECT_EQ(reduced.base_level_for(3), 1);
  EXPECT_EQ(reduced.base_level_for(4), 1);             // 16.5 > 16: level 1 is the best level
  EXPECT_EQ(reduced.base_level_for(5), std::nullopt);  // best level 16.5: not a power of two
  EXPECT_EQ(reduced.base_level_for(0), std::nullopt);
  auto got = reduced.read(1, 4, 0, 0, 64, 64);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->pixels, halved(slide.level(1), 2).pixels);
  // Level 3 is kept (level 4 is made from it); level 1 is not: level 2 is stored.
  const auto entries = cache.stats().entries;
  ASSERT_TRUE(reduced.read(0, 1, 0, 0, 64, 64).ok());
  EXPECT_EQ(cache.stats().entries, entries);
  EXPECT_FALSE(reduced.read(2, 6, 0, 0, 16, 16).ok());  // base 16.5 is refused
}

TEST(ReducedLevels, RefusesRegionsWhoseBaseAreaIsOverTheReadLimit) {
  MemoryPyramid slide(256);
  slide.add_level(RgbImage(1 << 20, 1), 1.0);  // only the geometry matters: nothing is read
  slide::TileCache cache(1 << 20);
  ReducedLevelLocks locks;
  const ReducedLevels reduced(slide, cache, locks, "s|");
  auto got = reduced.read(0, 10, 0, 0, 8192, 8192);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, ErrorCode::payload_too_large);
  EXPECT_EQ(slide.reads(), 0);
}

}  // namespace
}  // namespace mcval::tiles
