#include "mcval/stats/smoothed_calibration.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace mcval::stats {
namespace {

TEST(Lowess, ReproducesALineExactly) {
  // A local linear fit reproduces a linear function, whatever the weights and the skipping.
  std::vector<double> x, y;
  for (int i = 0; i < 300; ++i) {
    x.push_back(std::fmod(i * 0.618034, 1.0));
    y.push_back(0.2 + 0.5 * x.back());
  }
  auto fitted = lowess(x, y, 2.0 / 3.0, 0.01);
  ASSERT_TRUE(fitted.ok());
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR((*fitted)[i], y[i], 1e-12) << i;
}

TEST(Lowess, TiesShareOneFittedValue) {
  const std::vector<double> x = {0.1, 0.5, 0.5, 0.5, 0.9, 0.3, 0.7};
  const std::vector<double> y = {0, 1, 0, 1, 1, 0, 1};
  auto fitted = lowess(x, y, 2.0 / 3.0, 0.0);
  ASSERT_TRUE(fitted.ok());
  EXPECT_EQ((*fitted)[1], (*fitted)[2]);
  EXPECT_EQ((*fitted)[2], (*fitted)[3]);
}

TEST(SmoothedCalibration, ErrorsOrderedAndCurveSpansThePredictions) {
  std::vector<int> labels;
  std::vector<double> p;
  for (int i = 0; i < 400; ++i) {
    p.push_back(0.05 + 0.9 * ((i * 37) % 400) / 400.0);
    labels.push_back(((i * 53) % 100) < 100 * p.back() * p.back() ? 1 : 0);  // observed p^2: miscalibrated
  }
  auto c = smoothed_calibration(labels, p);
  ASSERT_TRUE(c.ok()) << c.error().detail;
  EXPECT_GT(c->ici, 0.05);
  EXPECT_LE(c->e50, c->e90);
  EXPECT_LE(c->e90, c->emax);
  ASSERT_EQ(c->curve_predicted.size(), kSmoothedCurvePoints);
  EXPECT_DOUBLE_EQ(c->curve_predicted.front(), 0.05);
  EXPECT_LT(c->curve_observed[kSmoothedCurvePoints / 2], c->curve_predicted[kSmoothedCurvePoints / 2]);
  EXPECT_FALSE(smoothed_calibration(std::vector<int>{1, 0}, std::vector<double>{0.3, 0.3}).ok());
}

}  // namespace
}  // namespace mcval::stats
