// The pure helpers of the browser login; the flow itself is tested against a real provider
// (tests/integration/test_auth.py, tests/e2e/login.test.mjs).
#include "mcval/http/browser_login.h"

#include <gtest/gtest.h>

namespace mcval::http {
namespace {

TEST(BrowserLogin, ReadsOneCookieOfACookieHeader) {
  EXPECT_EQ(cookie_value("mcval_session=abc", "mcval_session"), "abc");
  EXPECT_EQ(cookie_value("a=1; mcval_session=abc ; b=2", "mcval_session"), "abc");
  EXPECT_EQ(cookie_value("a=1;mcval_session=\"abc\"", "mcval_session"), "abc");
  EXPECT_EQ(cookie_value("mcval_session=", "mcval_session"), "");
  EXPECT_FALSE(cookie_value("xmcval_session=abc; mcval_sessionx=def", "mcval_session").has_value());
  EXPECT_FALSE(cookie_value("", "mcval_session").has_value());
  EXPECT_FALSE(cookie_value("mcval_session", "mcval_session").has_value());
}

TEST(BrowserLogin, ReturnsOnlyToPathsOnThisServer) {
  for (const char* ok : {"/", "/index.html?x=1", "/#bg=3f2a9c0e5b1d7a44&l=1", "/reports/0123456789abcdef/report.html"}) {
    EXPECT_TRUE(safe_return_path(ok)) << ok;
  }
  for (const char* bad : {"", "https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil", "evil",
                          "/a b", "/a\r\nSet-Cookie: x=1", "/\t", "javascript:alert(1)"}) {
    EXPECT_FALSE(safe_return_path(bad)) << bad;
  }
  EXPECT_FALSE(safe_return_path("/" + std::string(5000, 'a')));
}

TEST(BrowserLogin, ReadsTheIssuersDiscoveryDocument) {
  auth::IssuerConfig issuer;
  issuer.issuer = "https://idp.example.org/realms/a";
  const std::string good = R"({"issuer":"https://idp.example.org/realms/a",)"
                           R"("authorization_endpoint":"https://idp.example.org/auth",)"
                           R"("token_endpoint":"https://idp.example.org/token",)"
                           R"("end_session_endpoint":"https://idp.example.org/logout",)"
                           R"("authorization_response_iss_parameter_supported":true})";
  auto found = parse_login_discovery(good, issuer);
  ASSERT_TRUE(found.ok()) << found.error().to_string();
  EXPECT_EQ(found->authorization, "https://idp.example.org/auth");
  EXPECT_EQ(found->token, "https://idp.example.org/token");
  EXPECT_EQ(found->end_session, "https://idp.example.org/logout");
  EXPECT_TRUE(found->iss_parameter);

  // A logout URL that is not https is dropped; the login still works without one.
  auto no_logout = parse_login_discovery(R"({"issuer":"https://idp.example.org/realms/a",)"
                                         R"("authorization_endpoint":"https://idp.example.org/auth",)"
                                         R"("token_endpoint":"https://idp.example.org/token",)"
                                         R"js("end_session_endpoint":"javascript:alert(1)"})js",
                                         issuer);
  ASSERT_TRUE(no_logout.ok());
  EXPECT_EQ(no_logout->end_session, "");
  EXPECT_FALSE(no_logout->iss_parameter);

  for (const char* bad :
       {"", "[]", "{", R"({"issuer":"https://idp.example.org/realms/a"})",
        R"({"issuer":"https://idp.example.org/realms/a/","authorization_endpoint":"https://i/a","token_endpoint":"https://i/t"})",
        R"({"issuer":"https://idp.example.org/realms/a","authorization_endpoint":"http://i/a","token_endpoint":"https://i/t"})",
        R"({"issuer":"https://idp.example.org/realms/a","authorization_endpoint":"https://i/a","token_endpoint":7})"}) {
    auto refused = parse_login_discovery(bad, issuer);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().code, ErrorCode::auth_unavailable) << bad;
  }
}

TEST(BrowserLogin, TakesOnlyStringTokensFromATokenAnswer) {
  const auto tokens = parse_token_response(R"({"access_token":"at","id_token":"it","refresh_token":"rt","expires_in":60})");
  EXPECT_EQ(tokens.access_token, "at");
  EXPECT_EQ(tokens.id_token, "it");
  EXPECT_EQ(tokens.refresh_token, "rt");
  const auto odd = parse_token_response(R"({"access_token":1,"id_token":null,"refresh_token":["rt"]})");
  EXPECT_EQ(odd.access_token + odd.id_token + odd.refresh_token, "");
  for (const char* bad : {"", "not json", R"(["access_token","at"])", "{\"access_token\":\"at\""}) {
    EXPECT_EQ(parse_token_response(bad).access_token, "") << bad;
  }
}

}  // namespace
}  // namespace mcval::http
