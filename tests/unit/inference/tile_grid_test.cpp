#include "mcval/inference/tile_grid.h"

#include <cmath>

#include <gtest/gtest.h>

#include "mcval/slide/openslide_source.h"

namespace mcval::inference {
namespace {

slide::SlideProperties slide_with(std::int64_t width, std::int64_t height, std::optional<double> mpp,
                                  std::vector<double> downsamples = {1}) {
  slide::SlideProperties props;
  for (double d : downsamples) {
    props.levels.push_back({static_cast<std::int64_t>(std::ceil(static_cast<double>(width) / d)),
                            static_cast<std::int64_t>(std::ceil(static_cast<double>(height) / d)), d});
  }
  props.mpp_x = mpp;
  props.mpp_y = mpp;
  return props;
}

TileGrid plan_or_fail(const slide::SlideProperties& props, int input_px, double model_mpp,
                      const TissueMask* mask = nullptr, double min_fraction = 0.5) {
  auto grid = plan_tile_grid(props, input_px, model_mpp, mask, min_fraction);
  if (!grid.ok()) {
    ADD_FAILURE() << grid.error().to_string();
    return {};
  }
  return *grid;
}

struct GridCase {
  double slide_mpp;
  std::vector<double> downsamples;
  double model_mpp;
  double tile_level0;
  int read_level;
  int read_px;
};

TEST(PlanTileGrid, TileSizeReadLevelAndReadSizeAtSeveralResolutions) {
  const std::vector<GridCase> cases = {
      {0.25, {1, 4, 16}, 0.25, 224, 0, 224},  // same resolution
      {0.25, {1, 4, 16}, 0.5, 448, 0, 448},   // 2x: level 0, shrink
      {0.25, {1, 4, 16}, 1.0, 896, 1, 224},   // 4x: exactly level 1
      {0.25, {1, 4, 16}, 2.0, 1792, 1, 448},  // 8x: level 1, shrink by 2
      {0.25, {1, 4, 16}, 4.0, 3584, 2, 224},  // 16x: level 2
      {0.5, {1, 4, 16}, 0.5, 224, 0, 224},
      {0.5, {1, 4, 16}, 2.0, 896, 1, 224},
      {0.499, {1}, 1.0, 224 / 0.499, 0, 449},               // CMU: non-integer ratio, one level
      {0.499, {1, 4, 16}, 2.0, 448 / 0.499, 1, 225},        // generated slide: 4.008x
      {0.2525, {1, 4}, 0.25, 224 * 0.25 / 0.2525, 0, 222},  // 1 % coarser: still allowed
  };
  for (const auto& c : cases) {
    const auto grid = plan_or_fail(slide_with(20000, 15000, c.slide_mpp, c.downsamples), 224, c.model_mpp);
    SCOPED_TRACE("slide " + std::to_string(c.slide_mpp) + " model " + std::to_string(c.model_mpp));
    EXPECT_NEAR(grid.tile_level0, c.tile_level0, 1e-9);
    EXPECT_EQ(grid.read_level, c.read_level);
    EXPECT_EQ(grid.read_px, c.read_px);
    EXPECT_EQ(grid.input_px, 224);
    EXPECT_DOUBLE_EQ(grid.slide_mpp, c.slide_mpp);
    EXPECT_EQ(grid.cols, static_cast<int>(20000 / c.tile_level0));
    EXPECT_EQ(grid.rows, static_cast<int>(15000 / c.tile_level0));
    EXPECT_EQ(grid.tiles.size(), static_cast<std::size_t>(grid.cols) * grid.rows);
    // The region read covers the tile, by at most one level pixel more.
    const double covered = grid.read_px * c.downsamples[static_cast<std::size_t>(grid.read_level)];
    EXPECT_GE(covered, grid.tile_level0 - 1e-9);
    EXPECT_LT(covered, grid.tile_level0 + c.downsamples[static_cast<std::size_t>(grid.read_level)]);
  }
}

TEST(PlanTileGrid, PartialEdgeTilesAreDroppedAndOriginsRounded) {
  EXPECT_EQ(plan_or_fail(slide_with(896, 448, 0.25), 224, 0.5).cols, 2);  // exactly two
  EXPECT_EQ(plan_or_fail(slide_with(895, 448, 0.25), 224, 0.5).cols, 1);  // one pixel short
  const auto one = plan_or_fail(slide_with(447, 447, 0.25), 224, 0.5);    // smaller than a tile
  EXPECT_EQ(one.cols, 0);
  EXPECT_TRUE(one.tiles.empty());

  // CMU: 2220 x 2967 at 0.499 mpp, tiles of 448.9 level-0 px at 1 mpp.
  const auto grid = plan_or_fail(slide_with(2220, 2967, 0.499), 224, 1.0);
  EXPECT_EQ(grid.cols, 4);
  EXPECT_EQ(grid.rows, 6);
  ASSERT_EQ(grid.tiles.size(), 24u);
  for (std::size_t i = 0; i < grid.tiles.size(); ++i) {
    const auto& t = grid.tiles[i];
    EXPECT_EQ(t.col, static_cast<int>(i % 4));  // row-major
    EXPECT_EQ(t.row, static_cast<int>(i / 4));
    EXPECT_EQ(t.x0, std::llround(t.col * grid.tile_level0));
    EXPECT_EQ(t.y0, std::llround(t.row * grid.tile_level0));
    EXPECT_EQ(t.tissue_fraction, 1.0F);
  }
  EXPECT_EQ(grid.tiles[3].x0, 1347);  // 3 * 448.897... = 1346.69
  EXPECT_LE(grid.tiles.back().x0 + grid.read_px, 2220);
}

TEST(PlanTileGrid, TheMaskKeepsTilesWithEnoughTissue) {
  // 8 x 4 tiles of 448 px; the mask (16 px per mask pixel) has tissue on the left 2.5 tiles.
  const auto props = slide_with(3584, 1792, 0.25, {1, 4});
  TissueMask mask;
  mask.downsample = 16;
  mask.width = 224;
  mask.height = 112;
  mask.pixels.assign(224 * 112, 0);
  for (int y = 0; y < 112; ++y) {
    for (int x = 0; x < 70; ++x) mask.pixels[static_cast<std::size_t>(y) * 224 + x] = 255;  // 1120 px = 2.5 tiles
  }
  const auto half = plan_or_fail(props, 224, 0.5, &mask, 0.5);
  EXPECT_EQ(half.cols, 8);
  EXPECT_EQ(half.rows, 4);
  ASSERT_EQ(half.tiles.size(), 12u);  // columns 0, 1 and the half-covered 2, in every row
  for (const auto& t : half.tiles) {
    EXPECT_LE(t.col, 2);
    EXPECT_FLOAT_EQ(t.tissue_fraction, t.col == 2 ? 0.5F : 1.0F);
  }
  EXPECT_EQ(plan_or_fail(props, 224, 0.5, &mask, 0.75).tiles.size(), 8u);
  EXPECT_EQ(plan_or_fail(props, 224, 0.5, &mask, 0.0).tiles.size(), 32u);
  TissueMask empty = mask;
  std::fill(empty.pixels.begin(), empty.pixels.end(), 0);
  EXPECT_TRUE(plan_or_fail(props, 224, 0.5, &empty, 0.5).tiles.empty());
}

TEST(PlanTileGrid, RefusesSlidesWithoutMppOrCoarserThanTheModel) {
  auto no_mpp = plan_tile_grid(slide_with(2000, 2000, std::nullopt), 224, 0.5, nullptr, 0.5);
  ASSERT_FALSE(no_mpp.ok());
  EXPECT_EQ(no_mpp.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(no_mpp.error().detail.find("no microns per pixel"), std::string::npos);

  auto coarse = plan_tile_grid(slide_with(2000, 2000, 0.5), 224, 0.25, nullptr, 0.5);
  ASSERT_FALSE(coarse.ok());
  EXPECT_EQ(coarse.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(coarse.error().detail.find("coarser than the model"), std::string::npos) << coarse.error().detail;

  auto props = slide_with(2000, 2000, 0.25);
  props.mpp_y = 0.3;
  EXPECT_FALSE(plan_tile_grid(props, 224, 0.5, nullptr, 0.5).ok());
  EXPECT_FALSE(plan_tile_grid(slide::SlideProperties{}, 224, 0.5, nullptr, 0.5).ok());
  EXPECT_FALSE(plan_tile_grid(slide_with(2000, 2000, 0.25), 0, 0.5, nullptr, 0.5).ok());
}

TEST(PlanTileGrid, CmuSlideWithItsTissueMask) {
  auto slide = slide::OpenSlideSource().open(MCVAL_TEST_CMU_SLIDE);
  ASSERT_TRUE(slide.ok()) << slide.error().to_string();
  auto mask = detect_tissue(**slide);
  ASSERT_TRUE(mask.ok());
  const auto grid = plan_or_fail((*slide)->properties(), 32, 2.0, &*mask, 0.5);
  EXPECT_NEAR(grid.tile_level0, 64 / 0.499, 1e-9);
  EXPECT_EQ(grid.read_level, 0);
  EXPECT_EQ(grid.read_px, 129);
  EXPECT_EQ(grid.cols, 17);
  EXPECT_EQ(grid.rows, 23);
  EXPECT_GT(grid.tiles.size(), 0.2 * grid.cols * grid.rows);
  EXPECT_LT(grid.tiles.size(), static_cast<std::size_t>(grid.cols * grid.rows));
  for (const auto& t : grid.tiles) EXPECT_GE(t.tissue_fraction, 0.5F);
  // Every tile reads inside the slide.
  const auto& tile = grid.tiles.back();
  auto region = (*slide)->read_region(tile.x0, tile.y0, grid.read_level, grid.read_px, grid.read_px);
  ASSERT_TRUE(region.ok());
  EXPECT_EQ(region->width, 129);
}

}  // namespace
}  // namespace mcval::inference
