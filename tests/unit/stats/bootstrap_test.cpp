#include "mcval/stats/bootstrap.h"

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

#include "mcval/stats/roc.h"

namespace mcval::stats {
namespace {

struct Sample {
  std::vector<int> labels;
  std::vector<double> scores;
  std::vector<std::int64_t> patients;
};

// Scores rounded to two decimals (many ties); patients of one to three slides.
Sample make_sample(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise;
  Sample s;
  std::int64_t patient = 0;
  std::size_t left_in_patient = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const int label = (rng() % 3 == 0) ? 1 : 0;
    s.labels.push_back(label);
    s.scores.push_back(std::round(100.0 / (1.0 + std::exp(-(1.2 * label + noise(rng))))) / 100.0);
    if (left_in_patient == 0) {
      ++patient;
      left_in_patient = 1 + rng() % 3;
    }
    --left_in_patient;
    s.patients.push_back(patient);
  }
  return s;
}

// The AUC of a resample, through the public auc().
BootstrapStatistic auc_statistic(const Sample& s) {
  return [&s](std::span<const std::size_t> indices) {
    std::vector<int> labels;
    std::vector<double> scores;
    for (std::size_t i : indices) {
      labels.push_back(s.labels[i]);
      scores.push_back(s.scores[i]);
    }
    auto a = auc(labels, scores);
    return a.ok() ? *a : std::nan("");
  };
}

BootstrapOptions options(unsigned threads, std::uint64_t seed = 17) {
  BootstrapOptions o;
  o.replicates = 300;
  o.seed = seed;
  o.threads = threads;
  o.keep_replicates = true;
  return o;
}

TEST(Bootstrap, SameSeedSameResultWhateverTheThreadCount) {
  const Sample s = make_sample(400, 1);
  auto one = bootstrap_auc(s.labels, s.scores, {}, options(1));
  auto three = bootstrap_auc(s.labels, s.scores, {}, options(3));
  auto again = bootstrap_auc(s.labels, s.scores, {}, options(3));
  ASSERT_TRUE(one.ok());
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(one->replicates, three->replicates);
  EXPECT_EQ(three->replicates, again->replicates);
  EXPECT_EQ(one->percentile.low, three->percentile.low);
  ASSERT_TRUE(one->bca.has_value());
  EXPECT_EQ(one->bca->high, three->bca->high);
  auto other = bootstrap_auc(s.labels, s.scores, {}, options(1, 18));
  EXPECT_NE(one->replicates, other->replicates);
}

TEST(Bootstrap, FastAucPathEqualsTheGenericBootstrapOfAuc) {
  const Sample s = make_sample(300, 2);
  for (bool clustered : {false, true}) {
    const std::span<const std::int64_t> clusters =
        clustered ? std::span<const std::int64_t>(s.patients) : std::span<const std::int64_t>();
    auto fast = bootstrap_auc(s.labels, s.scores, clusters, options(2));
    auto generic = bootstrap(s.labels.size(), s.labels, clusters, auc_statistic(s), options(2));
    ASSERT_TRUE(fast.ok());
    ASSERT_TRUE(generic.ok());
    EXPECT_EQ(fast->replicates, generic->replicates) << "clustered=" << clustered;
    EXPECT_EQ(fast->estimate, generic->estimate);
    EXPECT_NEAR(fast->acceleration, generic->acceleration, 1e-14);
    ASSERT_TRUE(fast->bca && generic->bca);
    EXPECT_NEAR(fast->bca->low, generic->bca->low, 1e-12);
    EXPECT_NEAR(fast->bca->high, generic->bca->high, 1e-12);
  }
}

TEST(Bootstrap, StratificationKeepsClassSizes) {
  const Sample s = make_sample(200, 3);
  std::size_t positives = 0;
  for (int l : s.labels) positives += static_cast<std::size_t>(l);
  auto count_positives = [&](std::span<const std::size_t> indices) {
    double n = 0;
    for (std::size_t i : indices) n += s.labels[i];
    return n;
  };
  auto r = bootstrap(s.labels.size(), s.labels, {}, count_positives, options(2));
  ASSERT_TRUE(r.ok());
  for (double v : r->replicates) EXPECT_EQ(v, static_cast<double>(positives));
  EXPECT_EQ(r->se, 0.0);
}

TEST(Bootstrap, ClustersTravelTogether) {
  // Every cluster has exactly two cases: a replicate always has an even size and holds both
  // cases of each drawn cluster.
  std::vector<std::int64_t> clusters = {7, 7, 3, 3, 9, 9, 4, 4};
  auto check = [&](std::span<const std::size_t> indices) {
    std::vector<int> seen(8, 0);
    for (std::size_t i : indices) ++seen[i];
    for (std::size_t i = 0; i < 8; i += 2) {
      if (seen[i] != seen[i + 1]) return 0.0;
    }
    return static_cast<double>(indices.size() % 2 == 0);
  };
  auto r = bootstrap(8, {}, clusters, check, options(2));
  ASSERT_TRUE(r.ok());
  for (double v : r->replicates) EXPECT_EQ(v, 1.0);
}

TEST(Bootstrap, UndefinedReplicatesAreLeftOut) {
  // One cluster holds the only negative; replicates that miss it have no AUC.
  std::vector<int> labels = {1, 0, 1, 1, 1};
  std::vector<double> scores = {0.9, 0.2, 0.8, 0.1, 0.7};
  std::vector<std::int64_t> clusters = {1, 1, 2, 3, 4};
  auto r = bootstrap_auc(labels, scores, clusters, options(1));
  ASSERT_TRUE(r.ok());
  EXPECT_LT(r->replicates_used, 300u);
  EXPECT_GT(r->replicates_used, 0u);
  std::size_t nan = 0;
  for (double v : r->replicates) nan += std::isnan(v) ? 1 : 0;
  EXPECT_EQ(nan + r->replicates_used, 300u);
}

TEST(Bootstrap, InvalidOptionsAndInput) {
  const Sample s = make_sample(50, 4);
  BootstrapOptions o = options(1);
  o.replicates = 1;
  EXPECT_FALSE(bootstrap_auc(s.labels, s.scores, {}, o).ok());
  o = options(1);
  o.confidence = 1.0;
  EXPECT_FALSE(bootstrap_auc(s.labels, s.scores, {}, o).ok());
  std::vector<std::int64_t> short_clusters = {1, 2};
  EXPECT_FALSE(bootstrap_auc(s.labels, s.scores, short_clusters, options(1)).ok());
  EXPECT_FALSE(bootstrap(
                   0, {}, {}, [](std::span<const std::size_t>) { return 0.0; }, options(1))
                   .ok());
  EXPECT_FALSE(bootstrap(
                   5, {}, {}, [](std::span<const std::size_t>) { return std::nan(""); }, options(1))
                   .ok());
}

TEST(Bootstrap, AnExceptionFromTheStatisticReachesTheCaller) {
  auto throwing = [](std::span<const std::size_t> indices) -> double {
    if (indices.size() == 10 && indices[0] == 0 && indices[9] == 9) return 1.0;  // the original sample
    throw std::runtime_error("boom");
  };
  EXPECT_THROW((void)bootstrap(10, {}, {}, throwing, options(4)), std::runtime_error);
}

TEST(Bootstrap, PerfectSeparationGivesAPointInterval) {
  std::vector<int> labels = {0, 0, 0, 1, 1, 1};
  std::vector<double> scores = {0.1, 0.2, 0.3, 0.7, 0.8, 0.9};
  auto r = bootstrap_auc(labels, scores, {}, options(2));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->percentile.low, 1.0);
  EXPECT_EQ(r->percentile.high, 1.0);
  ASSERT_TRUE(r->bca.has_value());
  EXPECT_EQ(r->bca->low, 1.0);
}

}  // namespace
}  // namespace mcval::stats
