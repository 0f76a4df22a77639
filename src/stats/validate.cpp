#include "validate.h"

#include <cmath>
#include <string>

namespace mcval::stats::detail {
namespace {

Result<ClassCounts> check_common(std::span<const int> labels, std::size_t values, bool both_classes,
                                 std::size_t min_per_class) {
  if (labels.empty()) return Error{ErrorCode::invalid_argument, "no cases"};
  if (labels.size() > kMaxCases) return Error{ErrorCode::invalid_argument, "more than 2^32 - 1 cases"};
  if (labels.size() != values) {
    return Error{ErrorCode::invalid_argument, "labels and scores differ in length (" + std::to_string(labels.size()) +
                                                  " vs " + std::to_string(values) + ")"};
  }
  ClassCounts counts;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] == 1) {
      ++counts.positive;
    } else if (labels[i] == 0) {
      ++counts.negative;
    } else {
      return Error{ErrorCode::invalid_argument,
                   "label of case " + std::to_string(i) + " is " + std::to_string(labels[i]) + ", not 0 or 1"};
    }
  }
  if (both_classes && (counts.positive < min_per_class || counts.negative < min_per_class)) {
    if (counts.positive == 0 || counts.negative == 0) {
      return Error{ErrorCode::invalid_argument, "only one class present (" + std::to_string(counts.positive) +
                                                    " positive, " + std::to_string(counts.negative) + " negative)"};
    }
    return Error{ErrorCode::invalid_argument,
                 "at least " + std::to_string(min_per_class) + " cases of each class are needed (" +
                     std::to_string(counts.positive) + " positive, " + std::to_string(counts.negative) + " negative)"};
  }
  return counts;
}

}  // namespace

Result<ClassCounts> check_binary(std::span<const int> labels, std::span<const double> scores, bool both_classes,
                                 std::size_t min_per_class) {
  auto counts = check_common(labels, scores.size(), both_classes, min_per_class);
  if (!counts.ok()) return counts;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i])) {
      return Error{ErrorCode::invalid_argument, "score of case " + std::to_string(i) + " is not a finite number"};
    }
  }
  return counts;
}

Result<ClassCounts> check_probabilities(std::span<const int> labels, std::span<const double> probabilities,
                                        bool both_classes) {
  auto counts = check_common(labels, probabilities.size(), both_classes, 1);
  if (!counts.ok()) return counts;
  for (std::size_t i = 0; i < probabilities.size(); ++i) {
    const double p = probabilities[i];
    if (!(p >= 0.0 && p <= 1.0)) {
      return Error{ErrorCode::invalid_argument, "probability of case " + std::to_string(i) + " is not in [0, 1]"};
    }
  }
  return counts;
}

Status check_confidence(double confidence) {
  if (!(confidence > 0.0 && confidence < 1.0)) {
    return Error{ErrorCode::invalid_argument, "confidence level must lie strictly between 0 and 1"};
  }
  return {};
}

}  // namespace mcval::stats::detail
