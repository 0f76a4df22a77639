#pragma once
// Scores sorted once into groups of tied values: the common core of the AUC, DeLong placements,
// the ROC curve, thresholds and the fast AUC bootstrap.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace mcval::stats::detail {

struct TieGroups {
  std::vector<std::uint32_t> group_of;   ///< per case: index of its distinct score, ascending
  std::vector<double> values;            ///< distinct scores, ascending
  std::vector<std::uint64_t> positives;  ///< positives per group
  std::vector<std::uint64_t> negatives;  ///< negatives per group
  std::uint64_t n_positive = 0;
  std::uint64_t n_negative = 0;
};

/// Inputs must have passed check_binary(). O(n log n).
TieGroups make_tie_groups(std::span<const int> labels, std::span<const double> scores);

/// Twice the Mann-Whitney pair count: sum over groups of positives * (2 negatives below +
/// negatives tied); exact.
std::uint64_t twice_pair_count(const TieGroups& groups);

/// Per tie group, twice the DeLong placement of one of its cases: for a positive, 2 negatives
/// below + negatives tied (twice V10); for a negative, 2 positives above + positives tied
/// (twice V01). Exact integers.
struct TwicePlacements {
  std::vector<std::uint64_t> v10;
  std::vector<std::uint64_t> v01;
};
TwicePlacements twice_placements(const TieGroups& groups);

/// AUC from twice the pair count; NaN when a class is empty. Every AUC of the module is
/// computed by this one expression, so equal counts give bit-identical AUCs.
inline double auc_from_counts(std::uint64_t twice_pairs, std::uint64_t n_positive, std::uint64_t n_negative) {
  if (n_positive == 0 || n_negative == 0) return std::numeric_limits<double>::quiet_NaN();
  return static_cast<double>(twice_pairs) / (2.0 * static_cast<double>(n_positive) * static_cast<double>(n_negative));
}

}  // namespace mcval::stats::detail
