#include "tie_groups.h"

#include <algorithm>
#include <numeric>

namespace mcval::stats::detail {

TieGroups make_tie_groups(std::span<const int> labels, std::span<const double> scores) {
  const std::size_t n = scores.size();
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return scores[a] < scores[b]; });
  TieGroups groups;
  groups.group_of.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    const std::uint32_t i = order[k];
    if (k == 0 || scores[i] != groups.values.back()) {
      groups.values.push_back(scores[i]);
      groups.positives.push_back(0);
      groups.negatives.push_back(0);
    }
    const auto g = static_cast<std::uint32_t>(groups.values.size() - 1);
    groups.group_of[i] = g;
    if (labels[i] == 1) {
      ++groups.positives[g];
      ++groups.n_positive;
    } else {
      ++groups.negatives[g];
      ++groups.n_negative;
    }
  }
  return groups;
}

std::uint64_t twice_pair_count(const TieGroups& groups) {
  std::uint64_t twice = 0;
  std::uint64_t negatives_below = 0;
  for (std::size_t g = 0; g < groups.values.size(); ++g) {
    twice += groups.positives[g] * (2 * negatives_below + groups.negatives[g]);
    negatives_below += groups.negatives[g];
  }
  return twice;
}

TwicePlacements twice_placements(const TieGroups& groups) {
  const std::size_t g_count = groups.values.size();
  TwicePlacements twice{std::vector<std::uint64_t>(g_count), std::vector<std::uint64_t>(g_count)};
  std::uint64_t below = 0;
  for (std::size_t g = 0; g < g_count; ++g) {
    twice.v10[g] = 2 * below + groups.negatives[g];
    below += groups.negatives[g];
  }
  std::uint64_t above = 0;
  for (std::size_t g = g_count; g-- > 0;) {
    twice.v01[g] = 2 * above + groups.positives[g];
    above += groups.positives[g];
  }
  return twice;
}

}  // namespace mcval::stats::detail
