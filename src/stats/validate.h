#pragma once
// Input checks shared by the statistics; each failure is an invalid_argument naming the problem.
#include <cstddef>
#include <span>
#include <string_view>

#include "mcval/common/result.h"

namespace mcval::stats::detail {

/// Case counts must fit 32-bit group and unit indices.
inline constexpr std::size_t kMaxCases = 0xFFFFFFFFu;

struct ClassCounts {
  std::size_t positive = 0;
  std::size_t negative = 0;
};

/// Non-empty, equal lengths, labels 0/1, finite scores. With `both_classes`, at least
/// `min_per_class` cases of each class.
Result<ClassCounts> check_binary(std::span<const int> labels, std::span<const double> scores, bool both_classes,
                                 std::size_t min_per_class = 1);

/// As check_binary(), with probabilities in [0, 1] instead of finite scores.
Result<ClassCounts> check_probabilities(std::span<const int> labels, std::span<const double> probabilities,
                                        bool both_classes);

Status check_confidence(double confidence);

}  // namespace mcval::stats::detail
