#include "mcval/common/sha256.h"
#include "mcval/common/strings.h"

#include <gtest/gtest.h>

namespace mcval {
namespace {

TEST(Strings, PercentDecodeRejectsMalformedAndNul) {
  std::string out;
  ASSERT_TRUE(percent_decode("a%2e%2E%2fb", out));
  EXPECT_EQ(out, "a../b");
  EXPECT_FALSE(percent_decode("a%2", out));
  EXPECT_FALSE(percent_decode("a%zz", out));
  EXPECT_FALSE(percent_decode("a%00b", out));
  EXPECT_FALSE(percent_decode("%", out));
}

TEST(Strings, SplitAndTrim) {
  auto parts = split("a,,b", ',');
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1], "");
  EXPECT_EQ(trim("  x \n"), "x");
}

TEST(Sha256, KnownVector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace mcval
