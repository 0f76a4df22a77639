#include "mcval/stats/calibration.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace mcval::stats {
namespace {

TEST(Calibration, BrierAndEce) {
  std::vector<int> y = {1, 0, 1, 0};
  std::vector<double> p = {0.8, 0.2, 0.6, 0.45};
  EXPECT_NEAR(*brier_score(y, p), (0.04 + 0.04 + 0.16 + 0.2025) / 4, 1e-15);
  auto r = reliability(y, p, 2);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->bins.size(), 2u);
  // Bin (0, 0.5]: p 0.2, 0.45, labels 0, 0; bin (0.5, 1]: p 0.8, 0.6, labels 1, 1.
  EXPECT_EQ(r->bins[0].count, 2u);
  EXPECT_NEAR(r->bins[0].mean_predicted, 0.325, 1e-15);
  EXPECT_EQ(r->bins[0].observed_fraction, 0.0);
  EXPECT_NEAR(r->ece, 0.5 * 0.325 + 0.5 * 0.3, 1e-15);
}

TEST(Calibration, BinsAreRightClosedAndEmptyBinsSkipped) {
  std::vector<int> y = {0, 1, 1};
  std::vector<double> p = {0.0, 0.1, 1.0};
  auto r = reliability(y, p, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->bins[0].count, 2u);  // 0 and 0.1 both in the first bin [0, 0.1]
  EXPECT_EQ(r->bins[9].count, 1u);
  EXPECT_TRUE(std::isnan(r->bins[5].mean_predicted));
}

TEST(Calibration, InvalidProbabilities) {
  EXPECT_FALSE(brier_score(std::vector<int>{0, 1}, std::vector<double>{0.1, 1.2}).ok());
  EXPECT_FALSE(brier_score(std::vector<int>{0, 1}, std::vector<double>{0.1, std::nan("")}).ok());
  EXPECT_FALSE(reliability(std::vector<int>{0, 1}, std::vector<double>{0.1, 0.2}, 0).ok());
}

TEST(Calibration, SlopeOfAWellCalibratedModelIsNearOne) {
  // k of 10 cases positive at p = k / 10: the slope is close to 1, and at the
  // calibration-in-the-large estimate its score equation (the sum of residuals) is 0.
  std::vector<int> y;
  std::vector<double> p;
  for (int k = 1; k <= 9; ++k) {
    for (int i = 0; i < 10; ++i) {
      p.push_back(k / 10.0);
      y.push_back(i < k ? 1 : 0);
    }
  }
  auto slope = calibration_slope(y, p);
  ASSERT_TRUE(slope.ok());
  EXPECT_NEAR(slope->slope, 1.0, 0.1);
  auto citl = calibration_in_the_large(y, p);
  ASSERT_TRUE(citl.ok());
  double residual = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    const double eta = citl->intercept + std::log(p[i] / (1 - p[i]));
    residual += y[i] - 1.0 / (1.0 + std::exp(-eta));
  }
  EXPECT_NEAR(residual, 0.0, 1e-12);
}

TEST(Calibration, SeparationHasNoSlope) {
  std::vector<int> y = {0, 0, 1, 1};
  auto s = calibration_slope(y, std::vector<double>{0.1, 0.4, 0.4, 0.9});  // quasi-complete
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().detail.find("separated"), std::string::npos);
  EXPECT_FALSE(calibration_slope(y, std::vector<double>{0.5, 0.5, 0.5, 0.5}).ok());
  // Calibration-in-the-large exists whenever both classes are present, even at p = 0 or 1. With
  // p clipped to 1e-12 and 1 - 1e-12 the logits are -x0 and x1, and the score equation gives
  // a = (x0 - x1) / 2, not quite 0 because 1 - 1e-12 is not exact in double.
  auto citl = calibration_in_the_large(y, std::vector<double>{0.0, 0.0, 1.0, 1.0});
  ASSERT_TRUE(citl.ok());
  const double low = 1e-12;
  const double high = 1.0 - 1e-12;
  const double x0 = -std::log(low / (1.0 - low));
  const double x1 = std::log(high / (1.0 - high));
  EXPECT_NEAR(citl->intercept, (x0 - x1) / 2.0, 1e-12);
  EXPECT_FALSE(calibration_in_the_large(std::vector<int>{1, 1}, std::vector<double>{0.2, 0.3}).ok());
}

}  // namespace
}  // namespace mcval::stats
