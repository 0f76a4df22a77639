#pragma once
// Deep Zoom tile geometry, identical to OpenSlide Python's DeepZoomGenerator
// (limit_bounds=False): same level count, tile grid, overlap and the same read_region()
// arguments per tile, so our tiles can be compared with the reference tile by tile.
#include <cstdint>
#include <string>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/slide/slide_reader.h"

namespace mcval::slide {

/// What to read for one Deep Zoom tile and the size to scale it to.
struct DeepZoomTileRequest {
  std::int64_t l0_x = 0;  ///< level-0 coordinates of the top-left corner
  std::int64_t l0_y = 0;
  int slide_level = 0;    ///< pyramid level to read from
  /// Size to read at slide_level, pixels. Can be a pixel smaller than the tile at the
  /// right/bottom edge where a level's size was rounded down (resize_tile then enlarges).
  int read_width = 0;
  int read_height = 0;
  int tile_width = 0;     ///< final tile size, pixels (includes overlap)
  int tile_height = 0;
};

class DeepZoomGeometry {
 public:
  /// `tile_px` is the tile size without overlap (254), `overlap_px` the overlap (1).
  DeepZoomGeometry(const SlideProperties& slide, int tile_px = 254, int overlap_px = 1);

  int level_count() const { return static_cast<int>(level_sizes_.size()); }
  /// Image size at a Deep Zoom level (level_count()-1 is full resolution).
  std::pair<std::int64_t, std::int64_t> level_size(int dz_level) const;
  /// Number of tile columns and rows at a Deep Zoom level.
  std::pair<std::int64_t, std::int64_t> level_tiles(int dz_level) const;
  /// tile_out_of_range if level or address is outside the grid.
  Result<DeepZoomTileRequest> tile(int dz_level, std::int64_t col, std::int64_t row) const;
  /// The .dzi XML document for `format` ("jpeg" or "png").
  std::string dzi_xml(const std::string& format) const;

  int tile_px() const { return tile_px_; }
  int overlap_px() const { return overlap_px_; }

 private:
  int tile_px_;
  int overlap_px_;
  std::vector<std::pair<std::int64_t, std::int64_t>> level_sizes_;  // index: dz level
  std::vector<std::pair<std::int64_t, std::int64_t>> level_tiles_;
  std::vector<int> slide_level_for_dz_;
  std::vector<double> l_z_downsample_;  // dz-level downsample relative to its slide level
  std::vector<LevelInfo> slide_levels_;
};

}  // namespace mcval::slide
