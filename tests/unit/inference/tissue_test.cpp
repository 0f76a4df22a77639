#include "mcval/inference/tissue.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include <gtest/gtest.h>

#include "mcval/slide/codec.h"
#include "mcval/slide/openslide_source.h"
#include "mcval/synth/slide_synthesizer.h"
#include "mcval/synth/tissue_mosaic.h"
#include "mcval/synth/tissue_source.h"
#include "test_support.h"

namespace mcval::inference {
namespace {

using testing::TempDir;

slide::RgbImage filled(int w, int h, std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  slide::RgbImage image(w, h);
  for (std::size_t i = 0; i < image.pixels.size(); i += 3) {
    image.pixels[i] = r;
    image.pixels[i + 1] = g;
    image.pixels[i + 2] = b;
  }
  return image;
}

void disc(slide::RgbImage& image, double cx, double cy, double radius, std::array<std::uint8_t, 3> rgb) {
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      if ((x + 0.5 - cx) * (x + 0.5 - cx) + (y + 0.5 - cy) * (y + 0.5 - cy) <= radius * radius) {
        std::copy(rgb.begin(), rgb.end(), image.row(y) + x * 3);
      }
    }
  }
}

bool in_disc(int x, int y, double cx, double cy, double radius) {
  return (x + 0.5 - cx) * (x + 0.5 - cx) + (y + 0.5 - cy) * (y + 0.5 - cy) <= radius * radius;
}

TEST(DetectTissue, BlankGlassAndBlackBackgroundsHaveNoTissue) {
  for (const auto& image : {filled(200, 150, 255, 255, 255), filled(200, 150, 242, 240, 238), filled(200, 150, 0, 0, 0),
                            filled(200, 150, 12, 4, 4)}) {
    const TissueMask mask = detect_tissue(image, 16, 0.5);
    EXPECT_EQ(mask.width, 200);
    EXPECT_EQ(mask.height, 150);
    EXPECT_DOUBLE_EQ(mask.downsample, 16);
    EXPECT_EQ(mask.tissue_fraction(), 0) << int(image.pixels[0]);
  }
}

TEST(DetectTissue, FindsStainedDiscsDropsSpecksAndDarkDebris) {
  // 8 um per mask pixel: two tissue discs (pink and purple), a 2-pixel speck (below the
  // 2500 um^2 minimum), and a nearly black saturated blob (dark debris) on glass.
  slide::RgbImage image = filled(300, 200, 240, 238, 241);
  disc(image, 80, 90, 50, {230, 150, 200});
  disc(image, 210, 110, 40, {150, 90, 170});
  disc(image, 150, 20, 1.2, {150, 90, 170});
  disc(image, 260, 30, 10, {20, 5, 12});
  const TissueMask mask = detect_tissue(image, 16, 0.5);
  std::int64_t both = 0;
  std::int64_t either = 0;
  for (int y = 0; y < mask.height; ++y) {
    for (int x = 0; x < mask.width; ++x) {
      const bool truth = in_disc(x, y, 80, 90, 50) || in_disc(x, y, 210, 110, 40);
      const bool found = mask.pixels[static_cast<std::size_t>(y) * mask.width + x] != 0;
      both += truth && found;
      either += truth || found;
    }
  }
  EXPECT_GT(static_cast<double>(both) / static_cast<double>(either), 0.97);
  EXPECT_EQ(mask.pixels[20 * 300 + 150], 0) << "speck kept";
  EXPECT_EQ(mask.pixels[30 * 300 + 260], 0) << "dark debris taken for tissue";
}

TEST(TissueMask, FractionInWeighsPartlyCoveredPixels) {
  TissueMask mask;
  mask.width = 4;
  mask.height = 2;
  mask.downsample = 10;
  mask.pixels = {255, 255, 0, 0,  //
                 255, 0,   0, 0};
  EXPECT_DOUBLE_EQ(mask.tissue_fraction(), 3.0 / 8);
  EXPECT_DOUBLE_EQ(mask.fraction_in(0, 0, 40, 20), 3.0 / 8);
  EXPECT_DOUBLE_EQ(mask.fraction_in(0, 0, 10, 10), 1.0);
  EXPECT_DOUBLE_EQ(mask.fraction_in(5, 0, 10, 10), 1.0);
  EXPECT_DOUBLE_EQ(mask.fraction_in(15, 0, 10, 10), 0.5);   // half of (1, 0), half of (2, 0)
  EXPECT_DOUBLE_EQ(mask.fraction_in(0, 5, 20, 10), 0.75);   // rows half and half
  EXPECT_DOUBLE_EQ(mask.fraction_in(30, 10, 100, 100), 0);  // clipped to pixel (3, 1)
  EXPECT_DOUBLE_EQ(mask.fraction_in(-10, -10, 20, 20), 1);  // clipped to pixel (0, 0)
  EXPECT_DOUBLE_EQ(mask.fraction_in(100, 100, 10, 10), 0);  // outside
  EXPECT_DOUBLE_EQ(TissueMask{}.fraction_in(0, 0, 10, 10), 0);
}

/// Writes `image` as <artifacts>/<name>.png (MCVAL_TEST_ARTIFACTS, else a temp folder), to look at.
void write_artifact(const std::string& name, const slide::RgbImage& image) {
  const char* env = std::getenv("MCVAL_TEST_ARTIFACTS");
  const std::filesystem::path dir = env != nullptr && *env != '\0'
                                        ? std::filesystem::path(env)
                                        : std::filesystem::temp_directory_path() / "mcval-test-artifacts";
  std::filesystem::create_directories(dir);
  auto png = slide::encode_png(image);
  ASSERT_TRUE(png.ok());
  EXPECT_TRUE(write_file(dir / (name + ".png"), *png).ok());
}

/// The mask as an image: tissue white, background black; or, with a truth, green where both
/// agree on tissue, red where tissue was missed, blue where glass was taken for tissue.
slide::RgbImage mask_image(const TissueMask& mask, const std::vector<bool>* truth = nullptr) {
  slide::RgbImage image(mask.width, mask.height);
  for (std::size_t i = 0; i < mask.pixels.size(); ++i) {
    const bool found = mask.pixels[i] != 0;
    const bool real = truth != nullptr ? (*truth)[i] : found;
    std::uint8_t* p = image.pixels.data() + i * 3;
    if (truth == nullptr) {
      p[0] = p[1] = p[2] = found ? 255 : 0;
    } else {
      p[0] = real && !found ? 220 : 0;
      p[1] = real && found ? 200 : 0;
      p[2] = !real && found ? 255 : 0;
    }
  }
  return image;
}

std::shared_ptr<const slide::SlideReader> open_slide(const std::filesystem::path& path) {
  auto reader = slide::OpenSlideSource().open(path);
  if (!reader.ok()) {
    ADD_FAILURE() << reader.error().to_string();
    return nullptr;
  }
  return *reader;
}

TEST(DetectTissue, CmuSlide) {
  const auto slide = open_slide(MCVAL_TEST_CMU_SLIDE);
  ASSERT_TRUE(slide);
  const auto start = std::chrono::steady_clock::now();
  auto mask = detect_tissue(*slide);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(mask.ok()) << mask.error().to_string();
  // 0.499 mpp, one level: whole 16 x 16 blocks of level 0 (7.98 um per mask pixel).
  EXPECT_DOUBLE_EQ(mask->downsample, 16);
  EXPECT_EQ(mask->width, 2220 / 16);
  EXPECT_EQ(mask->height, 2967 / 16);
  // Compared with a per-pixel definition at full resolution (TissueSource::is_tissue: summed OD
  // above 0.3), which counts the glass inside lumens and between fibres as glass.
  auto level0 = slide->read_region(0, 0, 0, 2220, 2967);
  ASSERT_TRUE(level0.ok());
  std::int64_t tissue_pixels = 0;
  for (std::size_t i = 0; i < level0->pixels.size(); i += 3) {
    tissue_pixels += synth::TissueSource::is_tissue(level0->pixels.data() + i) ? 1 : 0;
  }
  const double pixel_fraction = static_cast<double>(tissue_pixels) / (2220.0 * 2967.0);
  std::printf("[ figures  ] CMU: tissue fraction %.3f (per-pixel OD > 0.3: %.3f), %dx%d mask, %.3f s\n",
              mask->tissue_fraction(), pixel_fraction, mask->width, mask->height, seconds);
  write_artifact("tissue-mask-cmu", mask_image(*mask));
  EXPECT_GT(mask->tissue_fraction(), 0.3);
  EXPECT_LT(mask->tissue_fraction(), 0.95);
  EXPECT_GT(mask->tissue_fraction(), pixel_fraction - 0.05);
  EXPECT_LT(mask->tissue_fraction(), pixel_fraction + 0.25);
}

/// Share of the level-0 area of mask pixel (x, y) that the mosaic calls tissue, sampled 4 x 4.
double true_weight(const synth::TissueMosaic& mosaic, const TissueMask& mask, int x, int y) {
  double sum = 0;
  for (int j = 0; j < 4; ++j) {
    for (int i = 0; i < 4; ++i) {
      sum += mosaic.tissue_weight(static_cast<std::int64_t>((x + (i + 0.5) / 4) * mask.downsample),
                                  static_cast<std::int64_t>((y + (j + 0.5) / 4) * mask.downsample));
    }
  }
  return sum / 16;
}

/// A generated slide per stain; detect_tissue's mask against the mosaic's true tissue.
class GeneratedSlide : public ::testing::TestWithParam<int> {
 protected:
  static void SetUpTestSuite() {
    auto loaded = synth::TissueSource::open(MCVAL_TEST_CMU_SLIDE);
    ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
    source_ = new synth::TissueSource(std::move(loaded).value());
    dir_ = new TempDir();
  }
  static void TearDownTestSuite() {
    delete source_;
    delete dir_;
  }
  static synth::TissueSource* source_;
  static TempDir* dir_;
};
synth::TissueSource* GeneratedSlide::source_ = nullptr;
TempDir* GeneratedSlide::dir_ = nullptr;

TEST_P(GeneratedSlide, MaskMatchesTheMosaicsTissue) {
  // Stains 0-3 on a pyramid (the mask comes from level 2); stain 4: the original stain on a
  // slide of level 0 only, read in bands and box-averaged 16 x 16.
  const int stain = GetParam() % 4;
  const bool single_level = GetParam() == 4;
  synth::SlideSpec spec;
  spec.levels = single_level ? 1 : 0;
  spec.width = 8000;
  spec.height = 6000;
  spec.mpp = 0.499;
  spec.app_mag = 20;
  spec.seed = 5 + static_cast<std::uint64_t>(GetParam());
  spec.stain = synth::centre_stains(4, 1)[static_cast<std::size_t>(stain)];
  const auto path = dir_->path() / ("slide" + std::to_string(GetParam()) + ".svs");
  auto written = synth::write_aperio_slide(spec, *source_, path);
  ASSERT_TRUE(written.ok()) << written.error().to_string();
  const auto slide = open_slide(path);
  ASSERT_TRUE(slide);

  const auto start = std::chrono::steady_clock::now();
  auto mask = detect_tissue(*slide);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(mask.ok()) << mask.error().to_string();
  EXPECT_EQ(slide->properties().levels.size(), single_level ? 1u : 3u);
  EXPECT_NEAR(mask->downsample, 16, 0.01);  // 7.98 um per pixel
  EXPECT_EQ(mask->width, 500);
  EXPECT_EQ(mask->height, 375);

  const synth::TissueMosaic mosaic(*source_, spec.width, spec.height, spec.seed);
  std::int64_t both = 0;
  std::int64_t either = 0;
  std::int64_t truth_count = 0;
  std::vector<bool> truths(mask->pixels.size());
  for (int y = 0; y < mask->height; ++y) {
    for (int x = 0; x < mask->width; ++x) {
      const bool truth = true_weight(mosaic, *mask, x, y) >= 0.5;
      truths[static_cast<std::size_t>(y) * mask->width + x] = truth;
      const bool found = mask->pixels[static_cast<std::size_t>(y) * mask->width + x] != 0;
      both += truth && found;
      either += truth || found;
      truth_count += truth;
    }
  }
  const double iou = static_cast<double>(both) / static_cast<double>(either);
  write_artifact("tissue-mask-generated-" + std::to_string(GetParam()), mask_image(*mask, &truths));
  std::printf("[ figures  ] generated 8000x6000%s, stain %s: IoU %.3f, tissue %.3f (true %.3f), detect_tissue %.3f s\n",
              single_level ? " (level 0 only)" : "", spec.stain.name.c_str(), iou, mask->tissue_fraction(),
              static_cast<double>(truth_count) / (mask->width * mask->height), seconds);
  EXPECT_GT(iou, 0.9);
  EXPECT_LT(seconds, single_level ? 10.0 : 1.0);
}

INSTANTIATE_TEST_SUITE_P(Stains, GeneratedSlide, ::testing::Values(0, 1, 2, 3, 4));

}  // namespace
}  // namespace mcval::inference
