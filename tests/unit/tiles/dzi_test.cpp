#include "mcval/tiles/dzi.h"

#include <tuple>

#include <gtest/gtest.h>

namespace mcval::tiles {
namespace {

TEST(DziTileAddress, ParsesLevelColumnRowAndFormat) {
  auto address = parse_dzi_tile("12", "3", "40", "jpeg");
  ASSERT_TRUE(address.ok());
  EXPECT_EQ(address->level, 12);
  EXPECT_EQ(address->col, 3);
  EXPECT_EQ(address->row, 40);
  EXPECT_EQ(address->format, ImageFormat::jpeg);
  EXPECT_EQ(parse_dzi_tile("0", "0", "0", "jpg")->format, ImageFormat::jpeg);
  EXPECT_EQ(parse_dzi_tile("0", "0", "0", "png")->format, ImageFormat::png);
  EXPECT_EQ(parse_dzi_tile("0", "9223372036854775807", "0", "png")->col, 9223372036854775807);
}

TEST(DziTileAddress, RefusesWhatIsNotAWholeNumberOrAKnownFormat) {
  for (const auto& [level, col, row] : std::initializer_list<std::tuple<const char*, const char*, const char*>>{
           {"", "0", "0"}, {"1", "", "0"}, {"1", "0", ""}, {"+1", "0", "0"}, {"1.0", "0", "0"}, {" 1", "0", "0"},
           {"1", "0x10", "0"}, {"1", "0", "1e3"}, {"99999999999", "0", "0"}, {"1", "9223372036854775808", "0"}}) {
    auto refused = parse_dzi_tile(level, col, row, "jpeg");
    ASSERT_FALSE(refused.ok()) << level << "/" << col << "_" << row;
    EXPECT_EQ(refused.error().code, ErrorCode::tile_out_of_range);
  }
  for (const char* format : {"", "JPEG", "webp", "jpeg ", "tif"}) {
    auto refused = parse_dzi_tile("1", "0", "0", format);
    ASSERT_FALSE(refused.ok()) << format;
    EXPECT_EQ(refused.error().code, ErrorCode::not_found);
  }
  // A negative number parses; the slide's grid refuses it (tile_out_of_range there).
  EXPECT_EQ(parse_dzi_tile("-1", "0", "0", "png")->level, -1);
}

}  // namespace
}  // namespace mcval::tiles
