#include "mcval/stats/distributions.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace mcval::stats {
namespace {

TEST(Distributions, NormalQuantileKnownValuesAndEdges) {
  EXPECT_NEAR(normal_quantile(0.975), 1.959963984540054, 1e-15);
  EXPECT_EQ(normal_quantile(0.5), 0.0);
  EXPECT_NEAR(normal_quantile(1e-10), -6.361340902404056, 1e-14);
  EXPECT_DOUBLE_EQ(normal_quantile(0.2), -normal_quantile(0.8));
  EXPECT_EQ(normal_quantile(0.0), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(normal_quantile(1.0), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(normal_quantile(-0.1)));
  EXPECT_TRUE(std::isnan(normal_quantile(1.5)));
  EXPECT_TRUE(std::isnan(normal_quantile(std::numeric_limits<double>::quiet_NaN())));
  EXPECT_NEAR(normal_critical_value(0.95), 1.959963984540054, 1e-15);
  EXPECT_TRUE(std::isnan(normal_critical_value(1.0)));
}

TEST(Distributions, NormalCdfRoundTrip) {
  for (double p : {1e-300, 1e-12, 0.01, 0.3, 0.5, 0.77, 0.999999}) {
    EXPECT_NEAR(normal_cdf(normal_quantile(p)) / p, 1.0, 1e-13) << p;
  }
  EXPECT_NEAR(normal_sf(10.0), 7.619853024160527e-24, 1e-36);
}

TEST(Distributions, StudentTQuantileKnownValues) {
  // R: qt(0.975, c(1, 2, 3, 10)).
  EXPECT_NEAR(student_t_quantile(0.975, 1), 12.7062047361746941, 1e-12);
  EXPECT_NEAR(student_t_quantile(0.975, 2), 4.3026527297494619, 1e-13);
  EXPECT_NEAR(student_t_quantile(0.975, 3), 3.1824463052837078, 1e-13);
  EXPECT_NEAR(student_t_quantile(0.975, 10), 2.2281388519862739, 1e-13);
  EXPECT_NEAR(student_t_quantile(0.025, 10), -2.2281388519862739, 1e-13);
  EXPECT_EQ(student_t_quantile(0.5, 7), 0.0);
  EXPECT_EQ(student_t_quantile(1.0, 7), std::numeric_limits<double>::infinity());
  EXPECT_DOUBLE_EQ(student_t_quantile(0.9, std::numeric_limits<double>::infinity()), normal_quantile(0.9));
  EXPECT_TRUE(std::isnan(student_t_quantile(0.9, 0.0)));
  EXPECT_TRUE(std::isnan(student_t_quantile(1.1, 3.0)));
}

TEST(Distributions, StudentTRoundTripInTheTails) {
  for (double df : {1.0, 1.5, 2.0, 3.0, 5.5, 20.0, 300.0}) {
    for (double p : {1e-15, 1e-8, 0.01, 0.4, 0.6, 0.99, 1 - 1e-9}) {
      const double t = student_t_quantile(p, df);
      const double back = p < 0.5 ? student_t_cdf(t, df) : 1.0 - student_t_sf(t, df);
      EXPECT_NEAR(back / p, 1.0, 1e-12) << "p=" << p << " df=" << df;
    }
  }
}

TEST(Distributions, IncompleteBetaAndChiSquare) {
  EXPECT_NEAR(regularized_incomplete_beta(0.3, 2.0, 3.0), 0.3483, 1e-12);
  EXPECT_EQ(regularized_incomplete_beta(0.0, 2.0, 3.0), 0.0);
  EXPECT_EQ(regularized_incomplete_beta(1.0, 2.0, 3.0), 1.0);
  EXPECT_NEAR(chi_square_sf(3.841458820694124, 1.0), 0.05, 1e-14);
  EXPECT_NEAR(chi_square_sf(2.0, 2.0), std::exp(-1.0), 1e-15);
  EXPECT_EQ(chi_square_sf(0.0, 3.0), 1.0);
  EXPECT_TRUE(std::isnan(chi_square_sf(1.0, -1.0)));
}

}  // namespace
}  // namespace mcval::stats
