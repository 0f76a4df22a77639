#include "mcval/stats/roc.h"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "mcval/stats/distributions.h"

namespace mcval::stats {
namespace {

const std::vector<int> kLabels = {0, 0, 1, 1, 0, 1};
const std::vector<double> kScores = {0.1, 0.4, 0.35, 0.8, 0.4, 0.4};

TEST(Auc, CountsTiesAsHalf) {
  // Pairs (positive, negative): 0.35 beats 0.1 only; 0.8 beats all three; 0.4 beats 0.1 and ties
  // twice. (1 + 3 + 1 + 2 * 0.5) / 9 = 6 / 9.
  auto a = auc(kLabels, kScores);
  ASSERT_TRUE(a.ok());
  EXPECT_DOUBLE_EQ(*a, 6.0 / 9.0);
  std::vector<double> tied(6, 0.3);
  EXPECT_DOUBLE_EQ(*auc(kLabels, tied), 0.5);
}

TEST(Auc, InvalidInputIsAnError) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(auc({}, {}).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(auc(std::vector<int>{0, 1}, std::vector<double>{0.1}).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(auc(std::vector<int>{0, 2}, std::vector<double>{0.1, 0.2}).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(auc(std::vector<int>{0, 1}, std::vector<double>{0.1, nan}).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(auc(std::vector<int>{0, 1}, std::vector<double>{0.1, std::numeric_limits<double>::infinity()}).error().code,
            ErrorCode::invalid_argument);
  auto one_class = auc(std::vector<int>{1, 1}, std::vector<double>{0.1, 0.2});
  ASSERT_FALSE(one_class.ok());
  EXPECT_NE(one_class.error().detail.find("one class"), std::string::npos);
}

TEST(DeLong, PlacementsAverageToTheAuc) {
  auto p = delong_placements(kLabels, kScores);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->positive_placements.size(), 3u);
  EXPECT_DOUBLE_EQ(p->positive_placements[0], 1.0 / 3.0);  // 0.35 beats 0.1
  EXPECT_DOUBLE_EQ(p->positive_placements[1], 1.0);        // 0.8
  EXPECT_DOUBLE_EQ(p->positive_placements[2], 2.0 / 3.0);  // 0.4: beats 0.1, ties two
  double sum = 0;
  for (double v : p->negative_placements) sum += v;
  EXPECT_DOUBLE_EQ(sum / 3.0, p->auc);
}

TEST(DeLong, PerfectSeparationHasZeroVariance) {
  auto d = delong_auc(std::vector<int>{0, 0, 1, 1}, std::vector<double>{0.1, 0.2, 0.8, 0.9});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->auc, 1.0);
  EXPECT_EQ(d->variance, 0.0);
  EXPECT_EQ(d->ci.low, 1.0);
  EXPECT_EQ(d->ci.high, 1.0);
  EXPECT_EQ(d->ci_logit.low, 1.0);
}

TEST(DeLong, NeedsTwoCasesPerClassAndAValidConfidence) {
  EXPECT_FALSE(delong_auc(std::vector<int>{0, 0, 1}, std::vector<double>{0.1, 0.2, 0.8}).ok());
  EXPECT_FALSE(delong_auc(kLabels, kScores, 1.0).ok());
  EXPECT_FALSE(delong_auc(kLabels, kScores, 0.0).ok());
}

TEST(DeLong, LogitIntervalStaysInsideTheUnitInterval) {
  auto d = delong_auc(kLabels, kScores);
  ASSERT_TRUE(d.ok());
  EXPECT_GT(d->ci_logit.low, 0.0);
  EXPECT_LT(d->ci_logit.high, 1.0);
  EXPECT_EQ(d->ci.high, 1.0);  // the AUC-scale interval is clipped
}

TEST(PairedDeLong, IdenticalScoresGiveZeroStatistic) {
  auto t = paired_delong_test(kLabels, kScores, kScores);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->difference, 0.0);
  EXPECT_EQ(t->z, 0.0);
  EXPECT_EQ(t->p_value, 1.0);
  EXPECT_NEAR(t->covariance, t->variance1, 1e-15);
}

TEST(PairedDeLong, LengthsMustMatch) {
  EXPECT_FALSE(paired_delong_test(kLabels, kScores, std::vector<double>{0.1, 0.2}).ok());
}

TEST(RocCurve, PointsLikeScikitLearn) {
  auto c = roc_curve(kLabels, kScores);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->thresholds, (std::vector<double>{1.8, 0.8, 0.4, 0.35, 0.1}));
  EXPECT_EQ(c->tpr, (std::vector<double>{0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0, 1.0}));
  EXPECT_EQ(c->fpr, (std::vector<double>{0.0, 0.0, 2.0 / 3.0, 2.0 / 3.0, 1.0}));
}

}  // namespace
}  // namespace mcval::stats

namespace mcval::stats {
namespace {

TEST(UnpairedDeLong, WelchStatisticOfTwoIndependentAucs) {
  DeLongAuc a;
  a.auc = 0.9;
  a.variance = 0.0009;
  a.n_positive = 40;
  a.n_negative = 60;
  DeLongAuc b;
  b.auc = 0.8;
  b.variance = 0.0016;
  b.n_positive = 20;
  b.n_negative = 30;
  auto t = unpaired_delong_test(a, b);
  ASSERT_TRUE(t.ok());
  EXPECT_NEAR(t->difference, 0.1, 1e-15);
  EXPECT_NEAR(t->z, 0.1 / 0.05, 1e-12);
  EXPECT_NEAR(t->df, 0.0025 * 0.0025 / (0.0009 * 0.0009 / 99 + 0.0016 * 0.0016 / 49), 1e-9);
  EXPECT_GT(t->p_value, 2 * normal_sf(2.0));  // t tails are heavier than the normal's
  EXPECT_LT(t->p_value, 0.06);
  b.auc = 0.9;
  b.variance = 0.0;
  a.variance = 0.0;
  auto same = unpaired_delong_test(a, b);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->z, 0.0);
  EXPECT_EQ(same->p_value, 1.0);
}

}  // namespace
}  // namespace mcval::stats
