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

}  // namespace
}  // namespace mcval::http
