#include "mcval/synth/tissue_source.h"

#include <gtest/gtest.h>

#include "synth_test_support.h"

namespace mcval::synth {
namespace {

using testing::cmu_source;

TEST(TissueSource, LoadsCmuLevelZeroAndKeepsTissuePatches) {
  const TissueSource& source = cmu_source();
  EXPECT_EQ(source.image().width, 2220);
  EXPECT_EQ(source.image().height, 2967);
  EXPECT_EQ(source.patch_px(), 512);
  ASSERT_GT(source.patches().size(), 100u);
  // Every patch lies inside the image and is mostly tissue.
  for (const PatchOrigin& p : source.patches()) {
    ASSERT_GE(p.x, 0);
    ASSERT_GE(p.y, 0);
    ASSERT_LE(p.x + 512, 2220);
    ASSERT_LE(p.y + 512, 2967);
  }
  const PatchOrigin& p = source.patches()[source.patches().size() / 2];
  int tissue = 0;
  for (int y = 0; y < 512; ++y)
    for (int x = 0; x < 512; ++x)
      tissue += TissueSource::is_tissue(source.image().row(p.y + y) + (p.x + x) * 3) ? 1 : 0;
  EXPECT_GE(tissue, static_cast<int>(0.85 * 512 * 512));
  ASSERT_TRUE(source.mpp().has_value());
  EXPECT_NEAR(*source.mpp(), 0.499, 1e-6);
  ASSERT_TRUE(source.objective_power().has_value());
  EXPECT_DOUBLE_EQ(*source.objective_power(), 20.0);
}

TEST(TissueSource, GlassIsNearWhiteAndTissueIsPinkPurple) {
  const TissueSource& source = cmu_source();
  for (std::uint8_t c : source.background_rgb()) EXPECT_GT(c, 230);
  const auto mean = source.tissue_mean_rgb();
  // H&E: red and blue above green.
  EXPECT_GT(mean[0], mean[1] + 20);
  EXPECT_GT(mean[2], mean[1] + 20);
}

TEST(TissueSource, NucleusColourIsTheDarkTissuesAndAbsorbsRedMost) {
  const TissueSource& source = cmu_source();
  const auto nucleus = source.nucleus_od();
  const auto mean = source.tissue_mean_rgb();
  for (std::size_t c = 0; c < 3; ++c) {
    EXPECT_GT(nucleus[c], optical_density(static_cast<std::uint8_t>(mean[c])) + 0.3) << "channel " << c;
  }
  // Haematoxylin: blue passes more than red and green.
  EXPECT_GT(nucleus[0], nucleus[2]);
  EXPECT_GT(nucleus[1], nucleus[2]);
}

TEST(TissueSource, RejectsAnImageWithoutTissue) {
  slide::RgbImage glass(512, 512);
  std::fill(glass.pixels.begin(), glass.pixels.end(), std::uint8_t{250});
  auto source = TissueSource::from_image(std::move(glass), std::nullopt, std::nullopt);
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.error().code, ErrorCode::invalid_argument);
}

TEST(TissueSource, RejectsAnImageSmallerThanAPatch) {
  auto source = TissueSource::from_image(slide::RgbImage(100, 100), std::nullopt, std::nullopt);
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.error().code, ErrorCode::invalid_argument);
}

TEST(TissueSource, OpenReportsAnUnreadableFile) {
  auto source = TissueSource::open(std::string(MCVAL_TEST_SOURCE_DIR) + "/CMakeLists.txt");
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.error().code, ErrorCode::slide_unreadable);
}

}  // namespace
}  // namespace mcval::synth
