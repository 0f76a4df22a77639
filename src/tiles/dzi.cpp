#include "mcval/tiles/dzi.h"

#include <charconv>
#include <string>

namespace mcval::tiles {
namespace {

template <typename Int>
Result<Int> whole_number(std::string_view text, const char* what) {
  Int value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    return Error{ErrorCode::tile_out_of_range, std::string(what) + " '" + std::string(text.substr(0, 32)) +
                                                   "' is not a number"};
  }
  return value;
}

}  // namespace

Result<DziTileAddress> parse_dzi_tile(std::string_view level, std::string_view col, std::string_view row,
                                      std::string_view format) {
  DziTileAddress address;
  if (format == "jpeg" || format == "jpg") {
    address.format = ImageFormat::jpeg;
  } else if (format == "png") {
    address.format = ImageFormat::png;
  } else {
    return Error{ErrorCode::not_found, "Deep Zoom tiles are .jpeg or .png"};
  }
  MCVAL_TRY_ASSIGN(parsed_level, whole_number<int>(level, "level"));
  MCVAL_TRY_ASSIGN(parsed_col, whole_number<std::int64_t>(col, "column"));
  MCVAL_TRY_ASSIGN(parsed_row, whole_number<std::int64_t>(row, "row"));
  address.level = parsed_level;
  address.col = parsed_col;
  address.row = parsed_row;
  return address;
}

}  // namespace mcval::tiles
