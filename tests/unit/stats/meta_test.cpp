#include "mcval/stats/meta.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "mcval/stats/distributions.h"

namespace mcval::stats {
namespace {

TEST(Meta, IdenticalEstimatesAreHomogeneous) {
  std::vector<double> y = {0.5, 0.5, 0.5};
  std::vector<double> v = {0.01, 0.04, 0.02};
  auto m = meta_analysis(y, v);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->q, 0.0);
  EXPECT_EQ(m->i2, 0.0);
  EXPECT_EQ(m->tau2, 0.0);
  EXPECT_DOUBLE_EQ(m->random_estimate, 0.5);
  EXPECT_DOUBLE_EQ(m->random_se, m->fixed_se);
  EXPECT_DOUBLE_EQ(m->fixed_se, 1.0 / std::sqrt(100.0 + 25.0 + 50.0));
  ASSERT_TRUE(m->prediction_interval.has_value());
  const double half = student_t_quantile(0.975, 1) * m->random_se;
  EXPECT_NEAR(m->prediction_interval->high, 0.5 + half, 1e-12);
}

TEST(Meta, HeterogeneityByHand) {
  // Two studies, y = 0 and 1, v = 1 each: Q = 0.5, df = 1, I^2 = 0, tau^2 = 0.
  auto two = meta_analysis(std::vector<double>{0.0, 1.0}, std::vector<double>{1.0, 1.0});
  ASSERT_TRUE(two.ok());
  EXPECT_DOUBLE_EQ(two->q, 0.5);
  EXPECT_EQ(two->tau2, 0.0);
  EXPECT_FALSE(two->prediction_interval.has_value());
  // y = 0 and 4, v = 1: Q = 8, I^2 = 7/8, tau^2 = (8 - 1) / (2 - 1) = 7.
  auto far = meta_analysis(std::vector<double>{0.0, 4.0}, std::vector<double>{1.0, 1.0});
  ASSERT_TRUE(far.ok());
  EXPECT_DOUBLE_EQ(far->q, 8.0);
  EXPECT_DOUBLE_EQ(far->i2, 7.0 / 8.0);
  EXPECT_DOUBLE_EQ(far->tau2, 7.0);
  EXPECT_DOUBLE_EQ(far->random_se, std::sqrt(1.0 / (2.0 / 8.0)));
  EXPECT_NEAR(far->q_p_value, chi_square_sf(8.0, 1.0), 1e-15);
}

TEST(Meta, SingleStudyAndInvalidInput) {
  auto one = meta_analysis(std::vector<double>{0.3}, std::vector<double>{0.01});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->q, 0.0);
  EXPECT_EQ(one->q_p_value, 1.0);
  EXPECT_FALSE(meta_analysis({}, {}).ok());
  EXPECT_FALSE(meta_analysis(std::vector<double>{0.3, 0.4}, std::vector<double>{0.01, 0.0}).ok());
  EXPECT_FALSE(meta_analysis(std::vector<double>{0.3, std::nan("")}, std::vector<double>{0.01, 0.01}).ok());
  EXPECT_FALSE(meta_analysis(std::vector<double>{0.3}, std::vector<double>{0.01, 0.02}).ok());
}

TEST(PoolAuc, LogitScaleAndBackTransform) {
  std::vector<CentreAuc> centres = {{0.7, 0.002}, {0.85, 0.001}, {0.9, 0.0015}, {0.75, 0.003}};
  auto p = pool_auc(centres);
  ASSERT_TRUE(p.ok());
  EXPECT_DOUBLE_EQ(p->logit_auc[0], std::log(0.7 / 0.3));
  EXPECT_DOUBLE_EQ(p->logit_variance[0], 0.002 / (0.21 * 0.21));
  EXPECT_GT(p->random_auc, 0.7);
  EXPECT_LT(p->random_auc, 0.9);
  ASSERT_TRUE(p->prediction_interval.has_value());
  EXPECT_GT(p->prediction_interval->low, 0.0);
  EXPECT_LT(p->prediction_interval->high, 1.0);
  EXPECT_LT(p->prediction_interval->low, p->random_ci.low);
}

// Regression: a perfectly separating centre (AUC 1, DeLong variance 0) used to make pool_auc fail,
// so the demo's report showed no heterogeneity at all. It now enters with 1/2 pair added.
TEST(PoolAuc, PerfectCentreEntersWithContinuityCorrection) {
  std::vector<CentreAuc> centres = {{0.7, 0.002, 50, 60}, {1.0, 0.0, 20, 30}, {0.0, 0.0, 4, 5}};
  auto p = pool_auc(centres);
  ASSERT_TRUE(p.ok()) << p.error().detail;
  ASSERT_EQ(p->logit_auc.size(), 3U);
  EXPECT_EQ(p->corrected, (std::vector<bool>{false, true, true}));
  EXPECT_DOUBLE_EQ(p->auc[0], 0.7);
  EXPECT_DOUBLE_EQ(p->auc[1], 599.5 / 600.0);
  EXPECT_DOUBLE_EQ(p->auc[2], 0.5 / 20.0);
  const double a = 599.5 / 600.0;
  EXPECT_DOUBLE_EQ(p->logit_variance[1], hanley_mcneil_variance(a, 20, 30) / std::pow(a * (1 - a), 2));
  EXPECT_GT(p->logit_variance[1], 0.0);
  EXPECT_TRUE(std::isfinite(p->random_auc));
}

TEST(PoolAuc, BoundaryCentreWithoutCountsIsNamed) {
  std::vector<CentreAuc> centres = {{0.7, 0.002}, {1.0, 0.0}};
  auto p = pool_auc(centres);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().detail.find("centre 1"), std::string::npos);
  EXPECT_FALSE(pool_auc(std::vector<CentreAuc>{{0.7, 0.002}, {1.2, 0.001}}).ok());
  EXPECT_FALSE(pool_auc({}).ok());
}

TEST(HanleyMcNeil, KnownValue) {
  // A = 0.5, one case of each class: A(1 - A) / 1.
  EXPECT_DOUBLE_EQ(hanley_mcneil_variance(0.5, 1, 1), 0.25);
  EXPECT_TRUE(std::isnan(hanley_mcneil_variance(0.8, 0, 10)));
}

}  // namespace
}  // namespace mcval::stats
