#pragma once
// Helpers shared by the dataset module's tests.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mcval/common/result.h"

namespace mcval::dataset::testing {

/// The lines of an import error's detail: the summary first, then one per problem.
template <typename T>
std::vector<std::string> error_lines(const Result<T>& result) {
  std::vector<std::string> lines;
  EXPECT_FALSE(result.ok());
  if (result.ok()) return lines;
  const std::string& detail = result.error().detail;
  std::size_t start = 0;
  while (true) {
    const auto end = detail.find('\n', start);
    lines.push_back(detail.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return lines;
}

/// The problem lines only (the summary line dropped).
template <typename T>
std::vector<std::string> problems(const Result<T>& result) {
  auto lines = error_lines(result);
  if (!lines.empty()) lines.erase(lines.begin());
  return lines;
}

}  // namespace mcval::dataset::testing
