#include "mcval/inference/tile_grid.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace mcval::inference {
namespace {

constexpr std::int64_t kMaxGridTiles = std::int64_t{1} << 24;

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.4g", value);
  return text;
}

}  // namespace

Result<TileGrid> plan_tile_grid(const slide::SlideProperties& slide, int input_px, double model_mpp,
                                const TissueMask* mask, double min_tissue_fraction) {
  if (slide.levels.empty()) return Error{ErrorCode::invalid_argument, "the slide has no levels"};
  if (input_px <= 0 || !(model_mpp > 0) || !std::isfinite(model_mpp)) {
    return Error{ErrorCode::invalid_argument, "input_px and the model's mpp must be positive"};
  }
  if (!slide.mpp_x || !(*slide.mpp_x > 0) || !std::isfinite(*slide.mpp_x)) {
    return Error{ErrorCode::invalid_argument, "the slide states no microns per pixel, so tiles at the model's " +
                                                  number(model_mpp) + " mpp cannot be cut from it"};
  }
  const double slide_mpp = *slide.mpp_x;
  if (slide.mpp_y && std::abs(*slide.mpp_y - slide_mpp) > 0.01 * slide_mpp) {
    return Error{ErrorCode::invalid_argument,
                 "the slide's pixels are not square (mpp " + number(slide_mpp) + " x " + number(*slide.mpp_y) + ")"};
  }
  if (slide_mpp > model_mpp * 1.01) {
    return Error{ErrorCode::invalid_argument, "the slide's level 0 (" + number(slide_mpp) +
                                                  " mpp) is coarser than the model's " + number(model_mpp) + " mpp"};
  }

  TileGrid grid;
  grid.slide_mpp = slide_mpp;
  grid.input_px = input_px;
  grid.tile_level0 = input_px * model_mpp / slide_mpp;
  const auto& base = slide.levels.front();
  // Whole tiles only; the tolerance keeps a slide of exactly n tiles at n despite rounding.
  grid.cols = static_cast<int>(std::floor(static_cast<double>(base.width) / grid.tile_level0 + 1e-9));
  grid.rows = static_cast<int>(std::floor(static_cast<double>(base.height) / grid.tile_level0 + 1e-9));
  if (static_cast<std::int64_t>(grid.cols) * grid.rows > kMaxGridTiles) {
    return Error{ErrorCode::invalid_argument, "the grid would have " + std::to_string(grid.cols) + " x " +
                                                  std::to_string(grid.rows) + " tiles (at most " +
                                                  std::to_string(kMaxGridTiles) + ")"};
  }
  grid.read_level = slide::best_level_for_downsample(slide, grid.tile_level0 / input_px);
  const double level_downsample = slide.levels[static_cast<std::size_t>(grid.read_level)].downsample;
  grid.read_px = static_cast<int>(std::ceil(grid.tile_level0 / level_downsample - 1e-9));

  for (int row = 0; row < grid.rows; ++row) {
    for (int col = 0; col < grid.cols; ++col) {
      GridTile tile;
      tile.col = col;
      tile.row = row;
      tile.x0 = std::llround(col * grid.tile_level0);
      tile.y0 = std::llround(row * grid.tile_level0);
      if (mask != nullptr) {
        const double fraction = mask->fraction_in(static_cast<double>(tile.x0), static_cast<double>(tile.y0),
                                                  grid.tile_level0, grid.tile_level0);
        if (fraction + 1e-9 < min_tissue_fraction) continue;
        tile.tissue_fraction = static_cast<float>(fraction);
      } else {
        tile.tissue_fraction = 1;
      }
      grid.tiles.push_back(tile);
    }
  }
  return grid;
}

}  // namespace mcval::inference
