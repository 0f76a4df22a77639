#include "mcval/synth/stain.h"

#include <cmath>

#include <gtest/gtest.h>

#include "synth_test_support.h"

namespace mcval::synth {
namespace {

using testing::cmu_source;
using testing::colour_stats;
using testing::distance;

double dot(const std::array<double, 3>& a, const std::array<double, 3>& b) {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

TEST(OpticalDensity, WhiteIsZeroBlackIsLn256) {
  EXPECT_DOUBLE_EQ(optical_density(255), 0.0);
  EXPECT_NEAR(optical_density(0), std::log(256.0), 1e-12);
}

TEST(StainTransform, DefaultProfileIsIdentity) {
  const StainTransform transform(StainProfile{}, StainVectors{});
  EXPECT_TRUE(transform.is_identity());
  slide::RgbImage image(16, 16);
  for (std::size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<std::uint8_t>(i * 7);
  const auto before = image.pixels;
  transform.apply(image);
  EXPECT_EQ(image.pixels, before);
}

TEST(StainTransform, UnitScalesWithWhiteLightKeepColoursWithinRounding) {
  // A profile that is not flagged identity but changes nothing: only table rounding remains.
  StainProfile profile;
  profile.haematoxylin_scale = 1.0 + 1e-12;
  const StainTransform transform(profile, cmu_source().stain_vectors());
  ASSERT_FALSE(transform.is_identity());
  for (int v = 0; v < 256; v += 5) {
    const auto out = transform.apply({static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(255 - v), 128});
    EXPECT_NEAR(out[0], v, 1);
    EXPECT_NEAR(out[1], 255 - v, 1);
    EXPECT_NEAR(out[2], 128, 1);
  }
}

TEST(StainTransform, DimmerIlluminantDarkensGlass) {
  StainProfile profile;
  profile.illuminant_rgb = {230, 240, 250};
  const StainTransform transform(profile, StainVectors{});
  const auto glass = transform.apply({255, 255, 255});
  EXPECT_NEAR(glass[0], 230, 1);
  EXPECT_NEAR(glass[1], 240, 1);
  EXPECT_NEAR(glass[2], 250, 1);
}

TEST(StainTransform, MoreHaematoxylinDarkensNucleiMoreThanStroma) {
  StainProfile profile;
  profile.haematoxylin_scale = 1.5;
  const StainVectors vectors;  // Ruifrok
  const StainTransform transform(profile, vectors);
  // Pure haematoxylin pixel: OD = 1.0 * H.
  std::array<std::uint8_t, 3> nucleus{};
  std::array<std::uint8_t, 3> stroma{};
  for (int c = 0; c < 3; ++c) {
    nucleus[static_cast<std::size_t>(c)] =
        static_cast<std::uint8_t>(std::lround(256 * std::exp(-vectors.haematoxylin[static_cast<std::size_t>(c)]) - 1));
    stroma[static_cast<std::size_t>(c)] =
        static_cast<std::uint8_t>(std::lround(256 * std::exp(-0.8 * vectors.eosin[static_cast<std::size_t>(c)]) - 1));
  }
  const auto nucleus_out = transform.apply(nucleus);
  const auto stroma_out = transform.apply(stroma);
  EXPECT_LT(nucleus_out[0] + 10, nucleus[0]);
  for (int c = 0; c < 3; ++c)
    EXPECT_NEAR(stroma_out[static_cast<std::size_t>(c)], stroma[static_cast<std::size_t>(c)], 2);
}

TEST(EstimateStainVectors, FindsHaematoxylinAndEosinInCmuTissue) {
  const StainVectors v = cmu_source().stain_vectors();
  const StainVectors ruifrok;
  // Haematoxylin absorbs more red than eosin; eosin absorbs mostly green.
  EXPECT_GT(v.haematoxylin[0], v.eosin[0]);
  EXPECT_GT(v.eosin[1], v.eosin[0]);
  EXPECT_GT(v.eosin[1], v.eosin[2]);
  EXPECT_NEAR(std::sqrt(dot(v.haematoxylin, v.haematoxylin)), 1.0, 1e-9);
  EXPECT_NEAR(std::sqrt(dot(v.eosin, v.eosin)), 1.0, 1e-9);
  // Close to the published vectors (cosine similarity), as H&E should be.
  EXPECT_GT(dot(v.haematoxylin, ruifrok.haematoxylin), 0.9);
  EXPECT_GT(dot(v.eosin, ruifrok.eosin) / std::sqrt(dot(ruifrok.eosin, ruifrok.eosin)), 0.85);
}

TEST(EstimateStainVectors, FallsBackToDefaultsOnGlass) {
  slide::RgbImage glass(64, 64);
  std::fill(glass.pixels.begin(), glass.pixels.end(), std::uint8_t{245});
  const StainVectors v = estimate_stain_vectors(glass);
  const StainVectors defaults;
  EXPECT_EQ(v.haematoxylin, defaults.haematoxylin);
  EXPECT_EQ(v.eosin, defaults.eosin);
}

TEST(CentreStains, CentreZeroIsOriginalAndProfilesAreDeterministic) {
  const auto a = centre_stains(5, 42);
  const auto b = centre_stains(5, 42);
  ASSERT_EQ(a.size(), 5u);
  EXPECT_TRUE(a[0].is_identity());
  for (std::size_t i = 1; i < a.size(); ++i) {
    EXPECT_FALSE(a[i].is_identity());
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].haematoxylin_shift, b[i].haematoxylin_shift);
    EXPECT_EQ(a[i].illuminant_rgb, b[i].illuminant_rgb);
  }
  EXPECT_NE(centre_stains(3, 43)[1].haematoxylin_shift, a[1].haematoxylin_shift);
  EXPECT_TRUE(centre_stains(0, 1).empty());
}

TEST(CentreStains, CentresLookClearlyDifferentOnRealTissue) {
  const TissueSource& source = cmu_source();
  const auto profiles = centre_stains(4, 7);
  std::vector<std::array<double, 3>> means;
  for (const StainProfile& profile : profiles) {
    slide::RgbImage image = source.image();
    StainTransform(profile, source.stain_vectors()).apply(image);
    means.push_back(colour_stats(image).tissue_mean);
  }
  // Centre 0 is the source itself.
  EXPECT_LT(distance(means[0], source.tissue_mean_rgb()), 1.0);
  for (std::size_t i = 0; i < means.size(); ++i) {
    for (std::size_t j = i + 1; j < means.size(); ++j) {
      EXPECT_GT(distance(means[i], means[j]), 15.0) << profiles[i].name << " vs " << profiles[j].name;
    }
  }
}

}  // namespace
}  // namespace mcval::synth
