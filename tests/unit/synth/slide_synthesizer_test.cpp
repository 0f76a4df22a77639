#include "mcval/synth/slide_synthesizer.h"

#include <fstream>
#include <iterator>
#include <set>

#include <gtest/gtest.h>

#include "mcval/slide/openslide_source.h"
#include "mcval/slide/resample.h"
#include "synth_test_support.h"

namespace mcval::synth {
namespace {

using testing::cmu_source;
using testing::colour_stats;
using testing::distance;
using testing::TempDir;

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::shared_ptr<const slide::SlideReader> open_slide(const std::filesystem::path& path) {
  const slide::OpenSlideSource source;
  auto reader = source.open(path);
  if (!reader.ok()) {
    ADD_FAILURE() << path << ": " << reader.error().to_string();
    return nullptr;
  }
  return *reader;
}

SlideSpec small_spec(std::uint64_t seed) {
  SlideSpec spec;
  spec.width = 3000;
  spec.height = 2000;
  spec.seed = seed;
  return spec;
}

SlideInfo write_or_fail(const SlideSpec& spec, const std::filesystem::path& path) {
  auto info = write_aperio_slide(spec, cmu_source(), path);
  if (!info.ok()) {
    ADD_FAILURE() << info.error().to_string();
    return {};
  }
  return *info;
}

/// One small slide written once for the tests that only read it.
class SmallSlide : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    path_ = dir_->path() / "small.svs";
    info_ = new SlideInfo(write_or_fail(small_spec(11), path_));
  }
  static void TearDownTestSuite() {
    delete info_;
    delete dir_;
  }
  static TempDir* dir_;
  static std::filesystem::path path_;
  static SlideInfo* info_;
};
TempDir* SmallSlide::dir_ = nullptr;
std::filesystem::path SmallSlide::path_;
SlideInfo* SmallSlide::info_ = nullptr;

TEST(PlanLevels, DividesByFourUntilTheSmallerSideIsBelow1024) {
  auto levels = plan_levels(small_spec(1));
  ASSERT_TRUE(levels.ok());
  ASSERT_EQ(levels->size(), 2u);
  EXPECT_EQ((*levels)[1].width, 750);
  EXPECT_EQ((*levels)[1].height, 500);

  SlideSpec big;
  big.width = 50000;
  big.height = 50000;
  levels = plan_levels(big);
  ASSERT_TRUE(levels.ok());
  ASSERT_EQ(levels->size(), 4u);
  EXPECT_EQ((*levels)[1].width, 12500);
  EXPECT_EQ((*levels)[2].width, 3125);
  EXPECT_EQ((*levels)[3].width, 782);  // rounded up: the last block averages what exists
  EXPECT_NEAR((*levels)[3].downsample, 50000.0 / 782, 1e-9);

  SlideSpec narrow;
  narrow.width = 50000;
  narrow.height = 3000;
  levels = plan_levels(narrow);
  ASSERT_TRUE(levels.ok());
  EXPECT_EQ(levels->back().width, 3125);  // the long side is also brought down to <= 4096

  SlideSpec explicit_levels = small_spec(1);
  explicit_levels.levels = 3;
  levels = plan_levels(explicit_levels);
  ASSERT_TRUE(levels.ok());
  EXPECT_EQ(levels->size(), 3u);
}

TEST(PlanLevels, RejectsOutOfRangeSpecs) {
  for (auto change :
       std::vector<void (*)(SlideSpec&)>{[](SlideSpec& s) { s.width = 0; }, [](SlideSpec& s) { s.height = 2'000'000; },
                                         [](SlideSpec& s) { s.tile_px = 250; },
                                         [](SlideSpec& s) { s.jpeg_quality = 0; }, [](SlideSpec& s) { s.mpp = 0; },
                                         [](SlideSpec& s) { s.app_mag = -1; }, [](SlideSpec& s) { s.levels = 40; }}) {
    SlideSpec spec = small_spec(1);
    change(spec);
    auto levels = plan_levels(spec);
    ASSERT_FALSE(levels.ok());
    EXPECT_EQ(levels.error().code, ErrorCode::invalid_argument);
  }
}

TEST(AperioDescription, StartsWithAperioAndCarriesMppAndAppMag) {
  SlideSpec spec = small_spec(1);
  spec.properties = {{"Centre", "centre-a"}};
  EXPECT_EQ(aperio_description(spec),
            "Aperio Image Library v10.0.50\r\n3000x2000 [0,0 3000x2000] (256x256) JPEG/RGB Q=85"
            "|AppMag = 40|MPP = 0.25|Centre = centre-a");
}

TEST(WriteAperioSlide, RejectsPropertiesThatWouldBreakTheDescription) {
  TempDir dir;
  SlideSpec spec = small_spec(1);
  spec.properties = {{"Bad", "a|b"}};
  auto info = write_aperio_slide(spec, cmu_source(), dir.path() / "x.svs");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::invalid_argument);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "x.svs"));
}

TEST_F(SmallSlide, OpenSlideReadsItAsAperioWithThePyramidAndResolution) {
  ASSERT_GT(info_->file_bytes, 0u);
  EXPECT_FALSE(info_->bigtiff);
  auto reader = open_slide(path_);
  ASSERT_TRUE(reader);
  const auto& props = reader->properties();
  EXPECT_EQ(props.vendor, "aperio");
  ASSERT_EQ(props.levels.size(), 2u);
  EXPECT_EQ(props.levels[0].width, 3000);
  EXPECT_EQ(props.levels[0].height, 2000);
  EXPECT_EQ(props.levels[1].width, 750);
  EXPECT_EQ(props.levels[1].height, 500);
  EXPECT_NEAR(props.levels[1].downsample, 4.0, 1e-6);
  ASSERT_TRUE(props.mpp_x && props.mpp_y && props.objective_power);
  EXPECT_DOUBLE_EQ(*props.mpp_x, 0.25);
  EXPECT_DOUBLE_EQ(*props.mpp_y, 0.25);
  EXPECT_DOUBLE_EQ(*props.objective_power, 40.0);
  ASSERT_EQ(props.level_tile_width.size(), 2u);
  EXPECT_EQ(props.level_tile_width[0], 256);
  EXPECT_EQ(props.level_tile_height[1], 256);
  EXPECT_NE(std::find(props.associated_images.begin(), props.associated_images.end(), "thumbnail"),
            props.associated_images.end());
  auto thumbnail = reader->read_associated("thumbnail");
  ASSERT_TRUE(thumbnail.ok()) << thumbnail.error().to_string();
  EXPECT_EQ(thumbnail->width, 750);
  EXPECT_EQ(thumbnail->height, 500);
}

TEST_F(SmallSlide, LevelZeroIsPlausibleHAndEWithTheSourceColours) {
  auto reader = open_slide(path_);
  ASSERT_TRUE(reader);
  auto level0 = reader->read_region(0, 0, 0, 3000, 2000);
  ASSERT_TRUE(level0.ok()) << level0.error().to_string();
  const auto stats = colour_stats(*level0);
  // Tissue islands on glass: both present.
  EXPECT_GT(stats.tissue_fraction, 0.2);
  EXPECT_LT(stats.tissue_fraction, 0.85);
  EXPECT_GT(stats.mean_brightness, 120);
  EXPECT_LT(stats.mean_brightness, 240);
  // Stain 0 keeps the source's colours. The mosaic favours denser or paler patches region by
  // region, so a small slide's mean drifts from the source's, but not by the 50+ levels that
  // a channel swap or a YCbCr/RGB mix-up would cause; and the H&E order R > B > G holds.
  const auto source_mean = cmu_source().tissue_mean_rgb();
  for (std::size_t c = 0; c < 3; ++c) EXPECT_NEAR(stats.tissue_mean[c], source_mean[c], 30.0) << "channel " << c;
  EXPECT_GT(stats.tissue_mean[0], stats.tissue_mean[2]);
  EXPECT_GT(stats.tissue_mean[0], stats.tissue_mean[1] + 20);
  EXPECT_GT(stats.tissue_mean[2], stats.tissue_mean[1] + 20);
  EXPECT_NEAR(info_->tissue_fraction, stats.tissue_fraction, 0.15);
}

TEST_F(SmallSlide, LevelOneIsLevelZeroDownscaledByFour) {
  auto reader = open_slide(path_);
  ASSERT_TRUE(reader);
  auto level0 = reader->read_region(0, 0, 0, 3000, 2000);
  auto level1 = reader->read_region(0, 0, 1, 750, 500);
  ASSERT_TRUE(level0.ok() && level1.ok());
  const slide::RgbImage reduced = slide::reduce_box(*level0, 4);
  ASSERT_EQ(reduced.width, 750);
  ASSERT_EQ(reduced.height, 500);
  double diff = 0;
  for (std::size_t i = 0; i < reduced.pixels.size(); ++i) {
    diff += std::abs(static_cast<int>(reduced.pixels[i]) - static_cast<int>(level1->pixels[i]));
  }
  diff /= static_cast<double>(reduced.pixels.size());
  // Only JPEG losses separate them (the level is built from the unencoded level 0).
  EXPECT_LT(diff, 4.0);
}

TEST(WriteAperioSlide, SameSeedGivesIdenticalBytesWhateverTheThreadCount) {
  TempDir dir;
  SlideSpec spec = small_spec(5);
  spec.width = 1500;
  spec.height = 1100;
  spec.threads = 1;
  write_or_fail(spec, dir.path() / "a.svs");
  spec.threads = 3;
  write_or_fail(spec, dir.path() / "b.svs");
  spec.seed = 6;
  write_or_fail(spec, dir.path() / "c.svs");
  const std::string a = file_bytes(dir.path() / "a.svs");
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, file_bytes(dir.path() / "b.svs"));
  EXPECT_NE(a, file_bytes(dir.path() / "c.svs"));
  // Nothing left behind but the slides.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), std::filesystem::directory_iterator()), 3);
}

TEST(WriteAperioSlide, CentreStainsGiveClearlyDifferentTissueColours) {
  TempDir dir;
  const auto stains = centre_stains(4, 3);
  std::vector<std::array<double, 3>> means;
  for (std::size_t i = 0; i < stains.size(); ++i) {
    SlideSpec spec = small_spec(21);
    spec.width = 1200;
    spec.height = 1000;
    spec.stain = stains[i];
    const auto path = dir.path() / ("centre-" + std::to_string(i) + ".svs");
    write_or_fail(spec, path);
    auto reader = open_slide(path);
    ASSERT_TRUE(reader);
    auto level0 = reader->read_region(0, 0, 0, 1200, 1000);
    ASSERT_TRUE(level0.ok());
    means.push_back(colour_stats(*level0).tissue_mean);
  }
  for (std::size_t i = 0; i < means.size(); ++i) {
    for (std::size_t j = i + 1; j < means.size(); ++j) {
      EXPECT_GT(distance(means[i], means[j]), 15.0) << stains[i].name << " vs " << stains[j].name;
    }
  }
}

/// Paints a black square with its top-left corner at level-0 (100, 300), 200 px wide.
class BlackSquare final : public ContentStage {
 public:
  void paint(std::int64_t x0, std::int64_t y0, slide::RgbImage& tile) const override {
    for (int y = 0; y < tile.height; ++y) {
      for (int x = 0; x < tile.width; ++x) {
        const std::int64_t sx = x0 + x;
        const std::int64_t sy = y0 + y;
        if (sx >= 100 && sx < 300 && sy >= 300 && sy < 500) std::fill_n(tile.row(y) + x * 3, 3, std::uint8_t{0});
      }
    }
  }
};

TEST(WriteAperioSlide, ContentStagesPaintAtLevelZeroCoordinatesAcrossTiles) {
  TempDir dir;
  SlideSpec spec = small_spec(8);
  spec.width = 800;
  spec.height = 700;
  spec.content.push_back(std::make_shared<BlackSquare>());
  write_or_fail(spec, dir.path() / "square.svs");
  auto reader = open_slide(dir.path() / "square.svs");
  ASSERT_TRUE(reader);
  auto inside = reader->read_region(110, 310, 0, 180, 180);  // spans four tiles
  auto outside = reader->read_region(320, 520, 0, 100, 100);
  ASSERT_TRUE(inside.ok() && outside.ok());
  EXPECT_LT(colour_stats(*inside).mean_brightness, 8);
  EXPECT_GT(colour_stats(*outside).mean_brightness, 60);
}

/// Paints flat squares of known colours, 96 px wide, along level-0 row 200.
class ColourSquares final : public ContentStage {
 public:
  static constexpr std::array<std::array<std::uint8_t, 3>, 3> kColours{{{200, 60, 30}, {40, 170, 60}, {50, 80, 210}}};
  void paint(std::int64_t x0, std::int64_t y0, slide::RgbImage& tile) const override {
    for (int y = 0; y < tile.height; ++y) {
      for (int x = 0; x < tile.width; ++x) {
        const std::int64_t sx = x0 + x;
        const std::int64_t sy = y0 + y;
        if (sy < 200 || sy >= 296 || sx < 200 || sx >= 200 + 3 * 128) continue;
        const std::int64_t k = (sx - 200) / 128;
        if ((sx - 200) % 128 >= 96) continue;
        std::copy_n(kColours[static_cast<std::size_t>(k)].data(), 3, tile.row(y) + x * 3);
      }
    }
  }
};

TEST(WriteAperioSlide, ColoursComeBackThroughJpegAndOpenSlideUnswapped) {
  TempDir dir;
  SlideSpec spec = small_spec(4);
  spec.width = 1200;
  spec.height = 1100;
  spec.content.push_back(std::make_shared<ColourSquares>());
  write_or_fail(spec, dir.path() / "colours.svs");
  auto reader = open_slide(dir.path() / "colours.svs");
  ASSERT_TRUE(reader);
  ASSERT_EQ(reader->properties().levels.size(), 2u);
  for (std::size_t k = 0; k < 3; ++k) {
    const auto& expected = ColourSquares::kColours[k];
    // The middle of each square at level 0, and of its downscaled copy at level 1.
    auto level0 = reader->read_region(200 + static_cast<std::int64_t>(k) * 128 + 16, 216, 0, 64, 64);
    auto level1 = reader->read_region(200 + static_cast<std::int64_t>(k) * 128 + 32, 232, 1, 8, 8);
    ASSERT_TRUE(level0.ok() && level1.ok());
    for (const slide::RgbImage* image : {&*level0, &*level1}) {
      std::array<double, 3> mean{};
      for (std::size_t i = 0; i < image->pixels.size(); ++i) mean[i % 3] += image->pixels[i];
      for (std::size_t c = 0; c < 3; ++c) {
        EXPECT_NEAR(mean[c] / static_cast<double>(image->pixels.size() / 3), expected[c], 6.0)
            << "square " << k << " channel " << c << " level " << (image == &*level0 ? 0 : 1);
      }
    }
  }
}

TEST(SynthesizeWorkspace, WritesEachCentresSlidesInItsFolder) {
  TempDir dir;
  WorkspaceOptions options;
  options.source = MCVAL_TEST_CMU_SLIDE;
  options.out = dir.path() / "slides";
  options.slides_per_centre = 2;
  options.width = 1100;
  options.height = 900;
  options.seed = 99;
  int calls = 0;
  options.progress = [&](const Progress& p) {
    ++calls;
    EXPECT_EQ(p.slide_count, 6);
    EXPECT_GE(p.fraction, 0.0);
    EXPECT_LE(p.fraction, 1.0);
  };
  auto infos = synthesize_workspace(options);
  ASSERT_TRUE(infos.ok()) << infos.error().to_string();
  ASSERT_EQ(infos->size(), 6u);
  EXPECT_GT(calls, 6);
  std::set<std::uint64_t> seeds;
  for (const SlideInfo& info : *infos) {
    const auto expected =
        options.out / info.centre / ("synth-" + info.centre + "-00" + std::to_string(info.index) + ".svs");
    EXPECT_EQ(info.path, expected);
    seeds.insert(info.seed);
    auto reader = open_slide(info.path);
    ASSERT_TRUE(reader);
    EXPECT_EQ(reader->properties().vendor, "aperio");
    // The source's resolution (CMU: 0.499 um/px at 20x) since none was asked for.
    EXPECT_NEAR(*reader->properties().mpp_x, 0.499, 1e-9);
    EXPECT_DOUBLE_EQ(*reader->properties().objective_power, 20.0);
  }
  EXPECT_EQ(seeds.size(), 6u);
  EXPECT_EQ((*infos)[0].centre, "centre-a");
  EXPECT_EQ((*infos)[0].stain, "original");
  EXPECT_EQ((*infos)[5].centre, "centre-c");
  EXPECT_NE((*infos)[2].stain, "original");

  // Deterministic: a second run gives the same bytes.
  WorkspaceOptions again = options;
  again.out = dir.path() / "again";
  again.progress = {};
  again.centres = {"centre-a"};
  again.slides_per_centre = 1;
  ASSERT_TRUE(synthesize_workspace(again).ok());
  EXPECT_EQ(file_bytes(again.out / "centre-a" / "synth-centre-a-000.svs"),
            file_bytes(options.out / "centre-a" / "synth-centre-a-000.svs"));
}

TEST(SynthesizeWorkspace, RejectsUnsafeOrRepeatedCentreNames) {
  TempDir dir;
  for (const auto& centres : std::vector<std::vector<std::string>>{{"../up"}, {""}, {"a", "a"}, {}}) {
    WorkspaceOptions options;
    options.source = MCVAL_TEST_CMU_SLIDE;
    options.out = dir.path();
    options.centres = centres;
    auto infos = synthesize_workspace(options);
    ASSERT_FALSE(infos.ok());
    EXPECT_EQ(infos.error().code, ErrorCode::invalid_argument);
  }
}

}  // namespace
}  // namespace mcval::synth
