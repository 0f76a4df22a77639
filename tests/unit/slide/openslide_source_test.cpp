#include "mcval/slide/openslide_source.h"

#include <cmath>

#include "test_support.h"

namespace mcval::slide {
namespace {

using test::open_cmu;

double mean(const RgbImage& image) {
  double sum = 0;
  for (const auto v : image.pixels) sum += v;
  return sum / static_cast<double>(image.pixels.size());
}

TEST(OpenSlideSource, ReadsCmuSlideProperties) {
  const auto reader = open_cmu();
  ASSERT_TRUE(reader);
  const auto& p = reader->properties();
  EXPECT_EQ(p.vendor, "aperio");
  ASSERT_EQ(p.levels.size(), 1u);
  EXPECT_EQ(p.levels[0].width, 2220);
  EXPECT_EQ(p.levels[0].height, 2967);
  EXPECT_EQ(p.levels[0].downsample, 1.0);
  ASSERT_TRUE(p.mpp_x && p.mpp_y);
  EXPECT_NEAR(*p.mpp_x, 0.499, 1e-9);
  EXPECT_NEAR(*p.mpp_y, 0.499, 1e-9);
  ASSERT_TRUE(p.objective_power);
  EXPECT_EQ(*p.objective_power, 20.0);
  EXPECT_EQ(p.associated_images, (std::vector<std::string>{"label", "macro", "thumbnail"}));
  EXPECT_EQ(p.background_rgb[0], 255);
  EXPECT_EQ(p.background_rgb[1], 255);
  EXPECT_EQ(p.background_rgb[2], 255);
  EXPECT_EQ(p.level_tile_width, std::vector<int>{240});
  EXPECT_EQ(p.level_tile_height, std::vector<int>{240});
  EXPECT_EQ(reader->best_level_for_downsample(16.0), 0);
  EXPECT_FALSE(reader->failed());
  EXPECT_EQ(OpenSlideSource::detect_vendor(test::cmu_slide()), std::optional<std::string>("aperio"));
}

TEST(OpenSlideSource, RegionShowsTissueAndBackgroundOutsideTheSlide) {
  const auto reader = open_cmu();
  ASSERT_TRUE(reader);
  const auto tissue = reader->read_region(1150, 900, 0, 300, 200);
  ASSERT_TRUE(tissue.ok()) << tissue.error().to_string();
  EXPECT_EQ(tissue->width, 300);
  EXPECT_EQ(tissue->height, 200);
  EXPECT_LT(mean(*tissue), 200.0);
  // Stained tissue: red well above blue is not what background looks like; check colour spread.
  int distinct_dark = 0;
  for (std::size_t i = 0; i < tissue->pixels.size(); i += 3) distinct_dark += tissue->pixels[i + 1] < 150 ? 1 : 0;
  EXPECT_GT(distinct_dark, 300 * 200 / 10);

  // Straddling the bottom-right corner: only the top-left 20x17 pixels lie on the slide.
  const auto corner = reader->read_region(2200, 2950, 0, 64, 64);
  ASSERT_TRUE(corner.ok());
  for (int y = 0; y < 64; ++y) {
    for (int x = 0; x < 64; ++x) {
      if (x < 20 && y < 17) continue;
      const std::uint8_t* p = corner->row(y) + x * 3;
      ASSERT_TRUE(p[0] == 255 && p[1] == 255 && p[2] == 255) << x << "," << y;
    }
  }
  const auto outside = reader->read_region(-5000, -5000, 0, 32, 16);
  ASSERT_TRUE(outside.ok());
  EXPECT_EQ(mean(*outside), 255.0);
}

TEST(OpenSlideSource, RejectsBadLevelsAndSizes) {
  const auto reader = open_cmu();
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader->read_region(0, 0, 1, 10, 10).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(reader->read_region(0, 0, -1, 10, 10).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(reader->read_region(0, 0, 0, 0, 10).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(reader->read_region(0, 0, 0, 10, -3).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(reader->read_region(0, 0, 0, 100000, 100000).error().code, ErrorCode::payload_too_large);
  EXPECT_FALSE(reader->failed());
}

TEST(OpenSlideSource, ReadsAssociatedImages) {
  const auto reader = open_cmu();
  ASSERT_TRUE(reader);
  const auto label = reader->read_associated("label");
  ASSERT_TRUE(label.ok()) << label.error().to_string();
  EXPECT_EQ(label->width, 387);
  EXPECT_EQ(label->height, 463);
  const auto thumbnail = reader->read_associated("thumbnail");
  ASSERT_TRUE(thumbnail.ok());
  EXPECT_EQ(thumbnail->width, 574);
  EXPECT_LT(mean(*thumbnail), 250.0);
  EXPECT_EQ(reader->read_associated("barcode").error().code, ErrorCode::not_found);
}

TEST(OpenSlideSource, TruncatedSlideIsUnreadableNotACrash) {
  const std::string bytes = test::read_file(test::cmu_slide());
  ASSERT_GT(bytes.size(), 1'000'000u);
  const OpenSlideSource source;
  for (const std::size_t keep : {std::size_t{100'000}, std::size_t{1'000'000}, bytes.size() - 4096}) {
    SCOPED_TRACE(keep);
    test::TempDir dir;
    const auto path = dir.path() / "truncated.svs";
    test::write_file(path, bytes.substr(0, keep));
    const auto reader = source.open(path);
    if (!reader.ok()) {
      EXPECT_EQ(reader.error().code, ErrorCode::slide_unreadable);
      continue;
    }
    // (OpenSlide 3.4.1 refuses these at open: the SVS directories sit at the end of the
    // file.) Were one to open, the missing tiles must surface as slide_unreadable on read.
    const auto& level = (*reader)->properties().levels[0];
    bool saw_error = false;
    for (std::int64_t y = 0; y < level.height && !saw_error; y += 512) {
      const auto region = (*reader)->read_region(0, y, 0, static_cast<int>(level.width), 512);
      if (!region.ok()) {
        EXPECT_EQ(region.error().code, ErrorCode::slide_unreadable);
        saw_error = true;
      }
    }
    EXPECT_TRUE(saw_error);
    EXPECT_TRUE((*reader)->failed());
    EXPECT_EQ((*reader)->read_region(0, 0, 0, 8, 8).error().code, ErrorCode::slide_unreadable);
  }
}

TEST(OpenSlideSource, DamagedTileDataFailsOnReadAndThenEveryRead) {
  std::string bytes = test::read_file(test::cmu_slide());
  ASSERT_GT(bytes.size(), 600'000u);
  bytes.replace(300'000, 200'000, std::string(200'000, '\0'));  // tiles, not directories
  test::TempDir dir;
  test::write_file(dir.path() / "damaged.svs", bytes);
  const OpenSlideSource source;
  const auto reader = source.open(dir.path() / "damaged.svs");
  ASSERT_TRUE(reader.ok()) << reader.error().to_string();
  EXPECT_FALSE((*reader)->failed());
  const auto whole = (*reader)->read_region(0, 0, 0, 2220, 2967);
  ASSERT_FALSE(whole.ok());
  EXPECT_EQ(whole.error().code, ErrorCode::slide_unreadable);
  EXPECT_FALSE(whole.error().detail.empty());
  EXPECT_TRUE((*reader)->failed());
  EXPECT_EQ((*reader)->read_region(0, 0, 0, 8, 8).error().code, ErrorCode::slide_unreadable);
  EXPECT_EQ((*reader)->read_associated("label").error().code, ErrorCode::slide_unreadable);
}

TEST(OpenSlideSource, NonSlideFilesAreUnreadable) {
  test::TempDir dir;
  const OpenSlideSource source;
  test::write_file(dir.path() / "notes.txt", "not a slide\n");
  const auto text = source.open(dir.path() / "notes.txt");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().code, ErrorCode::slide_unreadable);
  EXPECT_FALSE(OpenSlideSource::detect_vendor(dir.path() / "notes.txt"));

  // A TIFF header and nothing else.
  test::write_file(dir.path() / "stub.tif", std::string("II*\0\x08\0\0\0", 8));
  const auto stub = source.open(dir.path() / "stub.tif");
  ASSERT_FALSE(stub.ok());
  EXPECT_EQ(stub.error().code, ErrorCode::slide_unreadable);

  const auto missing = source.open(dir.path() / "missing.svs");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::slide_unreadable);
}

}  // namespace
}  // namespace mcval::slide
