#include "mcval/stats/decision_curve.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace mcval::stats {
namespace {

TEST(NetBenefit, DefinitionAndUndefinedThresholds) {
  // 10 cases, 3 true and 1 false positive at pt = 0.2: 3/10 - 1/10 * 0.25.
  EXPECT_DOUBLE_EQ(net_benefit(3, 1, 10, 0.2), 0.3 - 0.025);
  EXPECT_TRUE(std::isnan(net_benefit(3, 1, 10, 0.0)));
  EXPECT_TRUE(std::isnan(net_benefit(3, 1, 10, 1.0)));
  EXPECT_TRUE(std::isnan(net_benefit(0, 0, 0, 0.5)));
}

TEST(DecisionCurve, ScoreEqualToTheThresholdIsPositive) {
  const std::vector<int> labels = {1, 0, 1, 0};
  const std::vector<double> scores = {0.5, 0.5, 0.2, 0.1};
  const std::vector<double> grid = {0.1, 0.5, 0.6};
  auto c = decision_curve(labels, scores, grid);
  ASSERT_TRUE(c.ok()) << c.error().detail;
  EXPECT_EQ(c->true_positives, (std::vector<std::int64_t>{2, 1, 0}));
  EXPECT_EQ(c->false_positives, (std::vector<std::int64_t>{2, 1, 0}));
  EXPECT_DOUBLE_EQ(c->model[1], 0.25 - 0.25 * 1.0);
  EXPECT_DOUBLE_EQ(c->treat_all[0], 0.5 - 0.5 / 9.0);
  EXPECT_DOUBLE_EQ(c->model[2], 0.0);
}

TEST(DecisionCurve, FromCountsEqualsFromCases) {
  const std::vector<int> labels = {1, 1, 0, 0, 1, 0, 0};
  const std::vector<double> scores = {0.9, 0.35, 0.4, 0.05, 0.6, 0.7, 0.2};
  const std::vector<double> grid = default_decision_thresholds();
  ASSERT_EQ(grid.size(), 99U);
  auto cases = decision_curve(labels, scores, grid);
  ASSERT_TRUE(cases.ok());
  auto counts = decision_curve_from_counts(grid, cases->true_positives, cases->false_positives, 3, 4);
  ASSERT_TRUE(counts.ok()) << counts.error().detail;
  EXPECT_EQ(counts->model, cases->model);
  EXPECT_EQ(counts->treat_all, cases->treat_all);
}

TEST(DecisionCurve, RejectsBadGridsAndCounts) {
  const std::vector<int> labels = {1, 0};
  const std::vector<double> scores = {0.9, 0.1};
  EXPECT_FALSE(decision_curve(labels, scores, std::vector<double>{}).ok());
  EXPECT_FALSE(decision_curve(labels, scores, std::vector<double>{0.5, 0.4}).ok());
  EXPECT_FALSE(decision_curve(labels, scores, std::vector<double>{0.0, 0.4}).ok());
  const std::vector<double> grid = {0.2, 0.4};
  // Counts must not grow with the threshold, nor exceed the class total.
  EXPECT_FALSE(decision_curve_from_counts(grid, std::vector<std::int64_t>{1, 2}, std::vector<std::int64_t>{0, 0}, 2, 2).ok());
  EXPECT_FALSE(decision_curve_from_counts(grid, std::vector<std::int64_t>{3, 2}, std::vector<std::int64_t>{0, 0}, 2, 2).ok());
}

TEST(DecisionCurveBand, SeededReproducibleAndAroundTheCurve) {
  std::vector<int> labels;
  std::vector<double> scores;
  for (int i = 0; i < 200; ++i) {
    labels.push_back(i % 3 == 0 ? 1 : 0);
    scores.push_back(labels.back() == 1 ? 0.3 + 0.6 * ((i * 37) % 100) / 100.0 : 0.7 * ((i * 53) % 100) / 100.0);
  }
  const std::vector<double> grid = {0.1, 0.3, 0.5};
  BootstrapOptions options;
  options.replicates = 300;
  options.seed = 5;
  options.threads = 2;
  auto a = bootstrap_decision_curve(labels, scores, {}, grid, options);
  options.threads = 1;
  auto b = bootstrap_decision_curve(labels, scores, {}, grid, options);
  ASSERT_TRUE(a.ok() && b.ok());
  auto curve = decision_curve(labels, scores, grid);
  ASSERT_TRUE(curve.ok());
  for (std::size_t k = 0; k < grid.size(); ++k) {
    EXPECT_EQ(a->model[k].low, b->model[k].low);
    EXPECT_EQ(a->model[k].high, b->model[k].high);
    EXPECT_LT(a->model[k].low, curve->model[k]);
    EXPECT_GT(a->model[k].high, curve->model[k]);
    EXPECT_LT(a->treat_all[k].low, a->treat_all[k].high);  // not stratified: the prevalence varies
  }
}

}  // namespace
}  // namespace mcval::stats
