#include "mcval/stats/patient.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace mcval::stats {
namespace {

TEST(Patient, AggregatesByMaxAndMeanInOrderOfFirstAppearance) {
  std::vector<std::string> ids = {"b", "a", "b", "c", "a"};
  std::vector<int> labels = {0, 0, 1, 0, 0};
  std::vector<double> scores = {0.2, 0.4, 0.6, 0.1, 0.8};
  auto max = aggregate_by_patient(ids, labels, scores);
  ASSERT_TRUE(max.ok());
  EXPECT_EQ(max->patient_ids, (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(max->labels, (std::vector<int>{1, 0, 0}));
  EXPECT_EQ(max->scores, (std::vector<double>{0.6, 0.8, 0.1}));
  EXPECT_EQ(max->slides, (std::vector<std::size_t>{2, 2, 1}));
  auto mean = aggregate_by_patient(ids, labels, scores, ScoreAggregation::mean);
  ASSERT_TRUE(mean.ok());
  EXPECT_DOUBLE_EQ(mean->scores[0], 0.4);
  EXPECT_DOUBLE_EQ(mean->scores[1], 0.6);
}

TEST(Patient, InvalidRows) {
  std::vector<std::string> ids = {"a", "b"};
  EXPECT_FALSE(aggregate_by_patient(ids, std::vector<int>{0}, std::vector<double>{0.1}).ok());
  EXPECT_FALSE(aggregate_by_patient(ids, std::vector<int>{0, 3}, std::vector<double>{0.1, 0.2}).ok());
  EXPECT_FALSE(aggregate_by_patient({}, {}, {}).ok());
}

TEST(Patient, ClusterIds) {
  std::vector<std::string> ids = {"x", "y", "x", "z"};
  EXPECT_EQ(cluster_ids(ids), (std::vector<std::int64_t>{0, 1, 0, 2}));
}

}  // namespace
}  // namespace mcval::stats
