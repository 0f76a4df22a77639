// Resampling against Pillow 9.4: the references in tests/data/slide were written by
// make_resample_fixture.py. Bound: at most 1 per channel, and at most 0.1% of channel values
// differing at all (observed with Debian bookworm's libm: 0, bit-identical output); the slack
// is for a libm whose sin() differs in the last bit, never for a rounding difference.
#include "mcval/slide/resample.h"

#include <nlohmann/json.hpp>

#include "mcval/slide/deepzoom.h"
#include "mcval/slide/openslide_source.h"
#include "test_support.h"

namespace mcval::slide {
namespace {

constexpr int kMaxChannelDiff = 1;
constexpr double kMaxFractionDifferent = 0.001;

nlohmann::json load_fixture() {
  return nlohmann::json::parse(test::read_file(test::data_dir() / "resample_fixture.json"));
}

TEST(Resample, MatchesPillowLanczosReduceAndThumbnailPath) {
  const auto fixture = load_fixture();
  const RgbImage source = test::load_png(test::data_dir() / fixture["source"].get<std::string>());
  ASSERT_EQ(source.width, 300);
  ASSERT_EQ(source.height, 200);
  int cases = 0;
  for (const auto& c : fixture["cases"]) {
    const auto name = c["reference"].get<std::string>();
    SCOPED_TRACE(name);
    const RgbImage reference = test::load_png(test::data_dir() / name);
    const auto kind = c["kind"].get<std::string>();
    RgbImage ours;
    if (kind == "lanczos") {
      ours = resize_lanczos(source, c["width"].get<int>(), c["height"].get<int>());
    } else if (kind == "tile") {
      ours = resize_tile(source, c["width"].get<int>(), c["height"].get<int>());
    } else {
      ASSERT_EQ(kind, "reduce");
      ours = reduce_box(source, c["factor_x"].get<int>(), c["factor_y"].get<int>());
    }
    const int diff = test::max_abs_diff(ours, reference);
    EXPECT_GE(diff, 0) << "size " << ours.width << "x" << ours.height << " vs " << reference.width << "x"
                       << reference.height;
    EXPECT_LE(diff, kMaxChannelDiff);
    EXPECT_LE(test::fraction_different(ours, reference), kMaxFractionDifferent);
    ++cases;
  }
  EXPECT_EQ(cases, 10);
}

TEST(Resample, DeepZoomTilesMatchOpenSlidePython) {
  const auto fixture = load_fixture();
  const OpenSlideSource source;
  const auto reader = source.open(test::cmu_slide());
  ASSERT_TRUE(reader.ok()) << reader.error().to_string();
  const DeepZoomGeometry dz((*reader)->properties());
  ASSERT_GE(fixture["deepzoom_tiles"].size(), 4u);
  for (const auto& t : fixture["deepzoom_tiles"]) {
    const auto name = t["reference"].get<std::string>();
    SCOPED_TRACE(name);
    const auto request = dz.tile(t["level"].get<int>(), t["col"].get<std::int64_t>(), t["row"].get<std::int64_t>());
    ASSERT_TRUE(request.ok());
    const auto region = (*reader)->read_region(request->l0_x, request->l0_y, request->slide_level,
                                               request->read_width, request->read_height);
    ASSERT_TRUE(region.ok()) << region.error().to_string();
    const RgbImage tile = resize_tile(*region, request->tile_width, request->tile_height);
    const RgbImage reference = test::load_png(test::data_dir() / name);
    const int diff = test::max_abs_diff(tile, reference);
    EXPECT_GE(diff, 0) << "size " << tile.width << "x" << tile.height;
    EXPECT_LE(diff, kMaxChannelDiff);
    EXPECT_LE(test::fraction_different(tile, reference), kMaxFractionDifferent);
  }
}

TEST(Resample, EqualSizeIsIdentityAndTileSizeIsAlwaysExact) {
  RgbImage image(7, 5);
  for (std::size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<std::uint8_t>(i * 37);
  EXPECT_EQ(resize_lanczos(image, 7, 5).pixels, image.pixels);
  EXPECT_EQ(resize_tile(image, 7, 5).pixels, image.pixels);
  EXPECT_EQ(reduce_box(image, 1).pixels, image.pixels);
  // Where Pillow's thumbnail would keep the aspect ratio or refuse to enlarge, we still
  // produce exactly the requested size.
  for (const auto& [w, h] : {std::pair{1, 5}, std::pair{9, 5}, std::pair{3, 1}, std::pair{1, 1}, std::pair{20, 2}}) {
    const RgbImage out = resize_tile(image, w, h);
    EXPECT_EQ(out.width, w);
    EXPECT_EQ(out.height, h);
    EXPECT_EQ(out.pixels.size(), static_cast<std::size_t>(w * h * 3));
  }
  EXPECT_EQ(resize_lanczos(image, 0, 5).width, 0);
  EXPECT_EQ(resize_lanczos(RgbImage(), 3, 3).width, 0);
}

TEST(Resample, ReduceBoxAveragesPartialEdgeBlocks) {
  RgbImage image(5, 3);
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 5; ++x) {
      for (int c = 0; c < 3; ++c) image.row(y)[x * 3 + c] = static_cast<std::uint8_t>(10 * x + 100 * (y == 2));
    }
  }
  const RgbImage out = reduce_box(image, 2);
  ASSERT_EQ(out.width, 3);
  ASSERT_EQ(out.height, 2);
  EXPECT_EQ(out.row(0)[0], 5);    // (0 + 10 + 0 + 10) / 4
  EXPECT_EQ(out.row(0)[6], 40);   // last column: one pixel wide
  EXPECT_EQ(out.row(1)[0], 105);  // last row: one pixel high
  EXPECT_EQ(out.row(1)[6], 140);  // corner: one pixel
}

TEST(Resample, ConstantImagesStayConstant) {
  RgbImage image(64, 48);
  for (std::size_t i = 0; i < image.pixels.size(); i += 3) {
    image.pixels[i] = 200;
    image.pixels[i + 1] = 10;
    image.pixels[i + 2] = 255;
  }
  for (const auto& [w, h] : {std::pair{13, 11}, std::pair{64, 7}, std::pair{100, 90}, std::pair{5, 48}}) {
    for (const RgbImage& out : {resize_lanczos(image, w, h), resize_tile(image, w, h)}) {
      ASSERT_EQ(out.width, w);
      for (std::size_t i = 0; i < out.pixels.size(); i += 3) {
        ASSERT_EQ(out.pixels[i], 200);
        ASSERT_EQ(out.pixels[i + 1], 10);
        ASSERT_EQ(out.pixels[i + 2], 255);
      }
    }
  }
}

}  // namespace
}  // namespace mcval::slide
