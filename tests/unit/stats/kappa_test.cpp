#include "mcval/stats/kappa.h"

#include <vector>

#include <gtest/gtest.h>

namespace mcval::stats {
namespace {

TEST(Kappa, PerfectAgreementIsOne) {
  std::vector<int> grades = {0, 1, 2, 3, 4, 5, 2};
  auto k = quadratic_weighted_kappa(grades, grades, 6);
  ASSERT_TRUE(k.ok());
  EXPECT_DOUBLE_EQ(k->estimate, 1.0);
  EXPECT_EQ(k->confusion.at(2, 2), 2u);
}

TEST(Kappa, KnownValue) {
  // scikit-learn: cohen_kappa_score([0,1,2,3,4,5,2,3], [0,2,2,3,5,4,1,3], weights="quadratic",
  // labels=range(6)) = 0.8888888888888888.
  std::vector<int> truth = {0, 1, 2, 3, 4, 5, 2, 3};
  std::vector<int> pred = {0, 2, 2, 3, 5, 4, 1, 3};
  auto k = quadratic_weighted_kappa(truth, pred, 6);
  ASSERT_TRUE(k.ok());
  EXPECT_NEAR(k->estimate, 0.8888888888888888, 1e-15);
  EXPECT_EQ(k->confusion.at(1, 2), 1u);
  EXPECT_EQ(k->confusion.at(2, 1), 1u);
  EXPECT_LT(k->ci.low, k->estimate);
}

TEST(Kappa, InvalidInput) {
  EXPECT_FALSE(quadratic_weighted_kappa(std::vector<int>{0, 6}, std::vector<int>{0, 1}, 6).ok());
  EXPECT_FALSE(quadratic_weighted_kappa(std::vector<int>{0, -1}, std::vector<int>{0, 1}, 6).ok());
  EXPECT_FALSE(quadratic_weighted_kappa(std::vector<int>{0, 1}, std::vector<int>{0}, 6).ok());
  EXPECT_FALSE(quadratic_weighted_kappa(std::vector<int>{0}, std::vector<int>{0}, 1).ok());
  EXPECT_FALSE(quadratic_weighted_kappa({}, {}, 6).ok());
  auto constant = quadratic_weighted_kappa(std::vector<int>{3, 3, 3}, std::vector<int>{3, 3, 3}, 6);
  ASSERT_FALSE(constant.ok());
  EXPECT_EQ(constant.error().code, ErrorCode::invalid_argument);
}

TEST(Kappa, BootstrapIsSeeded) {
  std::vector<int> truth = {0, 1, 2, 3, 4, 5, 2, 3, 1, 1, 0, 4};
  std::vector<int> pred = {0, 2, 2, 3, 5, 4, 1, 3, 1, 0, 0, 4};
  BootstrapOptions o;
  o.replicates = 200;
  o.seed = 3;
  auto a = bootstrap_quadratic_weighted_kappa(truth, pred, 6, {}, o);
  auto b = bootstrap_quadratic_weighted_kappa(truth, pred, 6, {}, o);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->percentile.low, b->percentile.low);
  EXPECT_EQ(a->se, b->se);
  EXPECT_LE(a->percentile.high, 1.0);
}

}  // namespace
}  // namespace mcval::stats
