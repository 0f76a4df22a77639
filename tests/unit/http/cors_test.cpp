#include "mcval/http/cors.h"

#include <gtest/gtest.h>

namespace mcval::http {
namespace {

std::string header_of(const Response& response, const std::string& name) {
  std::string value;
  for (const auto& [n, v] : response.headers) {
    if (n == name) value += (value.empty() ? "" : ", ") + v;
  }
  return value;
}

Response answer(const CorsPolicy& policy, const std::string& origin, bool cross_origin = true) {
  Request request;
  if (!origin.empty()) request.headers["origin"] = origin;
  Response response;
  response.cross_origin = cross_origin;
  policy.apply(request, response);
  return response;
}

TEST(CorsPolicy, ParsesOriginsAndRefusesAnythingElse) {
  auto policy = CorsPolicy::parse(" https://Viewer.Example.org , http://localhost:3000,http://[::1]:8080 ");
  ASSERT_TRUE(policy.ok()) << policy.error().to_string();
  EXPECT_FALSE(policy->any());
  EXPECT_EQ(policy->origins(),
            (std::vector<std::string>{"https://viewer.example.org", "http://localhost:3000", "http://[::1]:8080"}));
  EXPECT_TRUE(CorsPolicy::parse("*")->any());
  EXPECT_TRUE(CorsPolicy::parse("")->origins().empty());
  for (const char* bad : {"viewer.example.org", "https://viewer.example.org/", "https://viewer.example.org/path",
                          "ftp://viewer.example.org", "https://", "https://a:", "https://a:123456", "https://a b",
                          "https://user@a", "https://a,*", "https://.a", "https://a:8o", "null"}) {
    auto refused = CorsPolicy::parse(bad);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().code, ErrorCode::config_invalid);
  }
}

TEST(CorsPolicy, AnswersListedOriginsOnlyAndNeverWithCredentials) {
  const auto policy = *CorsPolicy::parse("https://viewer.example.org");
  auto allowed = answer(policy, "https://VIEWER.example.org");
  EXPECT_EQ(header_of(allowed, "Access-Control-Allow-Origin"), "https://VIEWER.example.org");
  EXPECT_EQ(header_of(allowed, "Vary"), "Origin");
  EXPECT_NE(header_of(allowed, "Access-Control-Expose-Headers").find("ETag"), std::string::npos);
  EXPECT_EQ(header_of(allowed, "Access-Control-Allow-Credentials"), "");

  for (const char* other : {"https://evil.example", "https://viewer.example.org.evil.example", "null", ""}) {
    auto refused = answer(policy, other);
    EXPECT_EQ(header_of(refused, "Access-Control-Allow-Origin"), "") << other;
    EXPECT_EQ(header_of(refused, "Vary"), "Origin") << other;  // caches keep the answers apart
  }
  // Routes that are not open to other origins get nothing, whatever the policy.
  EXPECT_TRUE(answer(policy, "https://viewer.example.org", false).headers.empty());
  EXPECT_TRUE(answer(CorsPolicy::any_origin(), "https://x.example", false).headers.empty());

  EXPECT_EQ(header_of(answer(CorsPolicy::any_origin(), ""), "Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(header_of(answer(CorsPolicy::same_origin_only(), "https://viewer.example.org"), "Access-Control-Allow-Origin"),
            "");
}

}  // namespace
}  // namespace mcval::http
