#pragma once
// The grid of model input tiles over a slide: tiles of card.input_px at card.mpp, i.e. of
// input_px * card.mpp / slide_mpp level-0 pixels, edge to edge from (0, 0); the slide's
// partial right and bottom tiles are dropped. Each is read from the best pyramid level and
// resized to input_px.
#include <cstdint>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/inference/tissue.h"
#include "mcval/slide/slide_reader.h"

namespace mcval::inference {

struct GridTile {
  int col = 0;
  int row = 0;
  std::int64_t x0 = 0;  ///< level-0 origin
  std::int64_t y0 = 0;
  float tissue_fraction = 0;  ///< from the mask; 1 when the grid was planned without one
};

struct TileGrid {
  int cols = 0;
  int rows = 0;
  double tile_level0 = 0;  ///< tile side in level-0 pixels (may be fractional)
  double slide_mpp = 0;
  int input_px = 0;        ///< the model's input side, what each read region is resized to
  int read_level = 0;      ///< pyramid level the tiles are read from
  int read_px = 0;         ///< side of the region read at that level (then resized to input_px)
  /// Tiles whose tissue fraction is at least the minimum, row-major order; origin of tile
  /// (col, row) is (llround(col * tile_level0), llround(row * tile_level0)).
  std::vector<GridTile> tiles;
};

/// Plans the grid; with a mask, keeps the tiles with at least `min_tissue_fraction` tissue
/// (TissueMask::fraction_in over the tile's level-0 square), without one, every tile.
/// read_level is the best level for the downsample tile_level0 / input_px and read_px =
/// ceil(tile_level0 / that level's downsample), so a read covers the tile (and at most one
/// level pixel more). invalid_argument when the slide states no mpp (or pixels that are not
/// square within 1 %), or its level 0 is coarser than the model's mpp by more than 1 %.
Result<TileGrid> plan_tile_grid(const slide::SlideProperties& slide, int input_px, double model_mpp,
                                const TissueMask* mask, double min_tissue_fraction);

}  // namespace mcval::inference
