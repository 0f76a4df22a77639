#pragma once
// The address of one Deep Zoom tile, as named by the last segments of its URL
// (".../{level}/{col}_{row}.{format}"), parsed but not yet checked against a slide's grid.
#include <cstdint>
#include <string_view>

#include "mcval/common/result.h"
#include "mcval/tiles/iiif.h"

namespace mcval::tiles {

struct DziTileAddress {
  int level = 0;
  std::int64_t col = 0;
  std::int64_t row = 0;
  ImageFormat format = ImageFormat::jpeg;
};

/// Level, column and row are whole decimal numbers (nothing before or after the digits but an
/// optional '-', which the slide's grid then refuses); the format is "jpeg", "jpg" or "png".
/// A number that is not one: tile_out_of_range; another format: not_found.
Result<DziTileAddress> parse_dzi_tile(std::string_view level, std::string_view col, std::string_view row,
                                      std::string_view format);

}  // namespace mcval::tiles
