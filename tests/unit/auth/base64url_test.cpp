#include "mcval/auth/base64url.h"
#include "mcval/auth/strict_json.h"

#include <gtest/gtest.h>

namespace mcval::auth {
namespace {

TEST(Base64url, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 70; ++i) {
    const std::string encoded = base64url_encode(bytes);
    EXPECT_EQ(encoded.find('='), std::string::npos);
    const auto decoded = base64url_decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, bytes);
    bytes.push_back(static_cast<char>(i * 37 + 250));
  }
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
}

TEST(Base64url, RefusesEverythingButTheStrictForm) {
  EXPECT_FALSE(base64url_decode("YQ==").has_value());  // padding
  EXPECT_FALSE(base64url_decode("YQ=").has_value());
  EXPECT_FALSE(base64url_decode("+_8").has_value());  // base64 alphabet
  EXPECT_FALSE(base64url_decode("-/8").has_value());
  EXPECT_FALSE(base64url_decode("YW Jj").has_value());  // whitespace
  EXPECT_FALSE(base64url_decode("YWJj\n").has_value());
  EXPECT_FALSE(base64url_decode("YWJjZ").has_value());  // 4n+1 characters
  EXPECT_FALSE(base64url_decode("YR").has_value());     // non-zero trailing bits ("YQ" is canonical)
  EXPECT_FALSE(base64url_decode("YWJ").has_value());    // "YWI" is canonical
  EXPECT_FALSE(base64url_decode(std::string_view("YW\0j", 4)).has_value());
  EXPECT_EQ(base64url_decode("YQ").value(), "a");
  EXPECT_EQ(base64url_decode("").value(), "");
}

TEST(StrictJson, RefusesDuplicateMembersAndDeepNesting) {
  EXPECT_TRUE(parse_json_strict(R"({"a":1,"b":{"a":2}})").ok());
  EXPECT_FALSE(parse_json_strict(R"({"a":1,"a":1})").ok());
  EXPECT_FALSE(parse_json_strict(R"({"x":{"sub":"a","sub":"b"}})").ok());
  EXPECT_FALSE(parse_json_strict(R"([{"k":1,"k":2}])").ok());
  EXPECT_TRUE(parse_json_strict(R"([[[[1]]]])", 4).ok());
  EXPECT_FALSE(parse_json_strict(R"([[[[[1]]]]])", 4).ok());
  EXPECT_FALSE(parse_json_strict(std::string(100000, '[')).ok());
  EXPECT_FALSE(parse_json_strict(R"({"a":1e999})").ok());
  EXPECT_FALSE(parse_json_strict("{\"a\":\"\xff\"}").ok());  // invalid UTF-8
  EXPECT_FALSE(parse_json_strict(R"({"a":1} {})").ok());
  EXPECT_FALSE(parse_json_strict("").ok());
  const auto parsed = parse_json_strict(R"({"a":[1,"x",{"b":null}],"c":-2.5})");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->dump(), R"({"a":[1,"x",{"b":null}],"c":-2.5})");
}

}  // namespace
}  // namespace mcval::auth
