#include "mcval/common/error.h"
#include "mcval/common/result.h"

#include <gtest/gtest.h>

namespace mcval {
namespace {

TEST(ErrorTable, MapsCodesToHttpStatusAndNames) {
  EXPECT_EQ(http_status(ErrorCode::slide_not_found), 404);
  EXPECT_EQ(http_status(ErrorCode::slide_unreadable), 422);
  EXPECT_EQ(http_status(ErrorCode::slide_gone), 410);
  EXPECT_EQ(http_status(ErrorCode::unsupported), 501);
  EXPECT_EQ(error_name(ErrorCode::iiif_malformed), "iiif_malformed");
  EXPECT_FALSE(public_message(ErrorCode::internal).empty());
  EXPECT_NE(exit_status(ErrorCode::config_invalid), 0);
}

Result<int> half(int x) {
  if (x % 2 != 0) return Error{ErrorCode::invalid_argument, "odd"};
  return x / 2;
}

Result<int> quarter(int x) {
  MCVAL_TRY_ASSIGN(h, half(x));
  return half(h);
}

TEST(Result, CarriesValueOrError) {
  auto ok = quarter(8);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 2);
  auto bad = quarter(6);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(bad.error().to_string(), "invalid_argument: odd");
}

}  // namespace
}  // namespace mcval
