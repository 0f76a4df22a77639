// DeepZoomGeometry against openslide-python's DeepZoomGenerator: the expected numbers in
// tests/data/slide/deepzoom_geometry.json were produced by make_deepzoom_fixture.py.
#include "mcval/slide/deepzoom.h"

#include <nlohmann/json.hpp>

#include "mcval/slide/openslide_source.h"
#include "test_support.h"

namespace mcval::slide {
namespace {

nlohmann::json load_fixture() {
  const std::string text = test::read_file(test::data_dir() / "deepzoom_geometry.json");
  return nlohmann::json::parse(text);
}

SlideProperties properties_from(const nlohmann::json& levels) {
  SlideProperties props;
  for (const auto& level : levels) {
    props.levels.push_back(LevelInfo{level[0].get<std::int64_t>(), level[1].get<std::int64_t>(),
                                     level[2].get<double>()});
  }
  return props;
}

TEST(DeepZoomGeometry, MatchesOpenSlidePythonForEveryFixtureCase) {
  const auto fixture = load_fixture();
  ASSERT_GE(fixture["cases"].size(), 10u);
  std::size_t tiles_checked = 0;
  for (const auto& c : fixture["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const DeepZoomGeometry dz(properties_from(c["levels"]), c["tile_size"].get<int>(), c["overlap"].get<int>());
    ASSERT_EQ(dz.level_count(), c["dz_level_count"].get<int>());
    for (int level = 0; level < dz.level_count(); ++level) {
      const auto& dims = c["dz_level_dimensions"][static_cast<std::size_t>(level)];
      const auto& tiles = c["dz_level_tiles"][static_cast<std::size_t>(level)];
      EXPECT_EQ(dz.level_size(level), std::make_pair(dims[0].get<std::int64_t>(), dims[1].get<std::int64_t>()))
          << "level " << level;
      EXPECT_EQ(dz.level_tiles(level), std::make_pair(tiles[0].get<std::int64_t>(), tiles[1].get<std::int64_t>()))
          << "level " << level;
    }
    EXPECT_EQ(dz.dzi_xml("jpeg"), c["dzi_jpeg"].get<std::string>());
    EXPECT_EQ(dz.dzi_xml("png"), c["dzi_png"].get<std::string>());
    for (const auto& t : c["tiles"]) {
      const int level = t[0].get<int>();
      const auto col = t[1].get<std::int64_t>();
      const auto row = t[2].get<std::int64_t>();
      const auto request = dz.tile(level, col, row);
      ASSERT_TRUE(request.ok()) << request.error().to_string();
      const std::string where = "tile " + std::to_string(level) + "/" + std::to_string(col) + "_" + std::to_string(row);
      EXPECT_EQ(request->l0_x, t[3].get<std::int64_t>()) << where;
      EXPECT_EQ(request->l0_y, t[4].get<std::int64_t>()) << where;
      EXPECT_EQ(request->slide_level, t[5].get<int>()) << where;
      EXPECT_EQ(request->read_width, t[6].get<int>()) << where;
      EXPECT_EQ(request->read_height, t[7].get<int>()) << where;
      EXPECT_EQ(request->tile_width, t[8].get<int>()) << where;
      EXPECT_EQ(request->tile_height, t[9].get<int>()) << where;
      ++tiles_checked;
    }
  }
  EXPECT_GT(tiles_checked, 500u);
}

TEST(DeepZoomGeometry, AddressesOutsideTheGridAreTileOutOfRange) {
  SlideProperties props;
  props.levels = {LevelInfo{50001, 40003, 1.0}, LevelInfo{12500, 10000, 4.0}, LevelInfo{3125, 2500, 16.0}};
  const DeepZoomGeometry dz(props);
  const int top = dz.level_count() - 1;
  const auto [cols, rows] = dz.level_tiles(top);
  EXPECT_TRUE(dz.tile(top, cols - 1, rows - 1).ok());
  for (const auto& [level, col, row] : {std::tuple{-1, 0L, 0L}, std::tuple{top + 1, 0L, 0L}, std::tuple{top, cols, 0L},
                                        std::tuple{top, 0L, rows}, std::tuple{top, -1L, 0L}, std::tuple{0, 1L, 0L}}) {
    const auto request = dz.tile(level, col, row);
    ASSERT_FALSE(request.ok()) << level << "/" << col << "_" << row;
    EXPECT_EQ(request.error().code, ErrorCode::tile_out_of_range);
  }
  EXPECT_EQ(dz.level_size(top + 1), std::make_pair(std::int64_t{0}, std::int64_t{0}));
}

TEST(DeepZoomGeometry, CmuSlideLevelsReadByOpenSlideEqualTheFixture) {
  const auto fixture = load_fixture();
  const auto& c = fixture["cases"][0];
  ASSERT_EQ(c["name"], "cmu_small_region");
  const OpenSlideSource source;
  const auto reader = source.open(test::cmu_slide());
  ASSERT_TRUE(reader.ok()) << reader.error().to_string();
  const SlideProperties expected = properties_from(c["levels"]);
  const auto& levels = (*reader)->properties().levels;
  ASSERT_EQ(levels.size(), expected.levels.size());
  for (std::size_t i = 0; i < levels.size(); ++i) {
    EXPECT_EQ(levels[i].width, expected.levels[i].width);
    EXPECT_EQ(levels[i].height, expected.levels[i].height);
    EXPECT_EQ(levels[i].downsample, expected.levels[i].downsample);
  }
  const DeepZoomGeometry dz((*reader)->properties());
  EXPECT_EQ(dz.level_count(), 13);
  EXPECT_EQ(dz.level_size(12), std::make_pair(std::int64_t{2220}, std::int64_t{2967}));
}

}  // namespace
}  // namespace mcval::slide
