#include "mcval/stats/binary.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace mcval::stats {
namespace {

TEST(Confusion, PositiveWhenScoreAtLeastThreshold) {
  auto c = confusion_at(std::vector<int>{1, 1, 0, 0, 1}, std::vector<double>{0.5, 0.4, 0.5, 0.1, 0.9}, 0.5);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->tp, 2u);
  EXPECT_EQ(c->fn, 1u);
  EXPECT_EQ(c->fp, 1u);
  EXPECT_EQ(c->tn, 1u);
  EXPECT_FALSE(confusion_at(std::vector<int>{1}, std::vector<double>{0.5}, std::nan("")).ok());
}

TEST(Wilson, KnownValueAndZeroTrials) {
  auto p = wilson_interval(3, 10);
  ASSERT_TRUE(p.ok());
  // statsmodels proportion_confint(3, 10, method="wilson").
  EXPECT_NEAR(p->ci.low, 0.10779126740630104, 1e-14);
  EXPECT_NEAR(p->ci.high, 0.6032218525388546, 1e-14);
  auto none = wilson_interval(0, 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(std::isnan(none->estimate));
  EXPECT_EQ(none->ci.low, 0.0);
  EXPECT_EQ(none->ci.high, 1.0);
  auto all = wilson_interval(5, 5);
  EXPECT_LE(all->ci.high, 1.0);
  EXPECT_FALSE(wilson_interval(6, 5).ok());
  EXPECT_FALSE(wilson_interval(1, 5, 1.5).ok());
}

TEST(BinaryMetrics, FromATableSummedOverCentres) {
  auto m = binary_metrics(Confusion{8, 2, 18, 2}, 0.5);
  ASSERT_TRUE(m.ok());
  EXPECT_DOUBLE_EQ(m->sensitivity.estimate, 0.8);
  EXPECT_DOUBLE_EQ(m->specificity.estimate, 0.9);
  EXPECT_DOUBLE_EQ(m->ppv.estimate, 0.8);
  EXPECT_DOUBLE_EQ(m->npv.estimate, 0.9);
}

TEST(Thresholds, TargetSensitivityIsExactDespiteRounding) {
  // 0.9 * 10 is 9.000000000000002 in double: the threshold must still be the 9th largest score.
  std::vector<int> labels(10, 1);
  std::vector<double> scores;
  for (int i = 1; i <= 10; ++i) scores.push_back(i / 10.0);
  labels.push_back(0);
  scores.push_back(0.05);
  auto t = threshold_for_sensitivity(labels, scores, 0.9);
  ASSERT_TRUE(t.ok());
  EXPECT_DOUBLE_EQ(t->threshold, 0.2);
  EXPECT_DOUBLE_EQ(t->sensitivity, 0.9);
  EXPECT_DOUBLE_EQ(t->specificity, 1.0);
  EXPECT_DOUBLE_EQ(threshold_for_sensitivity(labels, scores, 1.0)->threshold, 0.1);
  EXPECT_FALSE(threshold_for_sensitivity(labels, scores, 0.0).ok());
  EXPECT_FALSE(threshold_for_sensitivity(labels, scores, 1.01).ok());
}

TEST(Thresholds, TiesCanExceedTheTarget) {
  auto t =
      threshold_for_sensitivity(std::vector<int>{1, 1, 1, 1, 0}, std::vector<double>{0.7, 0.7, 0.7, 0.2, 0.1}, 0.5);
  ASSERT_TRUE(t.ok());
  EXPECT_DOUBLE_EQ(t->threshold, 0.7);
  EXPECT_DOUBLE_EQ(t->sensitivity, 0.75);
}

TEST(Thresholds, YoudenPrefersTheLargestAmongEqualMaxima) {
  // J = 0.5 at t = 0.9 (sens 1/2, spec 1) and at t = 0.3 (sens 1, spec 1/2).
  auto y = youden_threshold(std::vector<int>{1, 1, 0, 0}, std::vector<double>{0.9, 0.3, 0.5, 0.1});
  ASSERT_TRUE(y.ok());
  EXPECT_DOUBLE_EQ(y->threshold, 0.9);
  EXPECT_DOUBLE_EQ(y->youden, 0.5);
}

}  // namespace
}  // namespace mcval::stats
