// Fuzz target: Deep Zoom tile paths ("{id}_files/{level}/{col}_{row}.{format}") through the
// router's segment matching, the tile address parser and the Deep Zoom grid of a few slides.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "mcval/common/strings.h"
#include "mcval/http/router.h"
#include "mcval/slide/deepzoom.h"
#include "mcval/tiles/dzi.h"

namespace {

using mcval::slide::DeepZoomGeometry;
using mcval::slide::SlideProperties;

SlideProperties slide_of(std::initializer_list<mcval::slide::LevelInfo> levels) {
  SlideProperties slide;
  slide.levels = levels;
  return slide;
}

const DeepZoomGeometry kGrids[] = {
    DeepZoomGeometry(slide_of({{2220, 2967, 1.0}})),                                     // CMU-1-Small-Region
    DeepZoomGeometry(slide_of({{1, 1, 1.0}})),                                           // one pixel
    DeepZoomGeometry(slide_of({{200000, 150000, 1.0}, {50000, 37500, 4.0}, {12500, 9375, 16.0}})),
    DeepZoomGeometry(slide_of({{46000, 32914, 1.0}, {11500, 8228, 4.0003}}), 510, 1),
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto segments = mcval::split(text, '/');
  if (segments.size() != 3) return 0;
  std::map<std::string, std::string> captures;
  if (!mcval::http::match_segment("{id}_files", segments[0], captures)) return 0;
  if (!mcval::http::match_segment("{col}_{row}.{format}", segments[2], captures)) return 0;
  auto address = mcval::tiles::parse_dzi_tile(segments[1], captures["col"], captures["row"], captures["format"]);
  if (!address.ok()) {
    if (address.error().code != mcval::ErrorCode::tile_out_of_range &&
        address.error().code != mcval::ErrorCode::not_found) {
      __builtin_trap();
    }
    return 0;
  }
  for (const auto& grid : kGrids) {
    auto tile = grid.tile(address->level, address->col, address->row);
    if (!tile.ok()) continue;
    // An accepted address lies on the grid, and its read stays inside the slide.
    const auto [tiles_x, tiles_y] = grid.level_tiles(address->level);
    if (address->level < 0 || address->level >= grid.level_count() || address->col < 0 || address->row < 0 ||
        address->col >= tiles_x || address->row >= tiles_y || tile->read_width < 1 || tile->read_height < 1 ||
        tile->tile_width < 1 || tile->tile_height < 1 || tile->tile_width > grid.tile_px() + 2 * grid.overlap_px() ||
        tile->tile_height > grid.tile_px() + 2 * grid.overlap_px() || tile->l0_x < 0 || tile->l0_y < 0) {
      __builtin_trap();
    }
  }
  return 0;
}
