#include "mcval/http/router.h"
#include "mcval/http/server.h"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

namespace mcval::http {
namespace {

TEST(RouterSegments, CapturesAroundLiterals) {
  std::map<std::string, std::string> c;
  EXPECT_TRUE(match_segment("{id}.dzi", "abc.dzi", c));
  EXPECT_EQ(c["id"], "abc");
  c.clear();
  EXPECT_TRUE(match_segment("{id}_files", "a_b_files", c));
  EXPECT_EQ(c["id"], "a_b");
  c.clear();
  EXPECT_TRUE(match_segment("{col}_{row}.{format}", "12_7.jpeg", c));
  EXPECT_EQ(c["col"], "12");
  EXPECT_EQ(c["row"], "7");
  EXPECT_EQ(c["format"], "jpeg");
  c.clear();
  EXPECT_FALSE(match_segment("{id}.dzi", ".dzi", c));
  EXPECT_FALSE(match_segment("{id}.dzi", "abc.xml", c));
  EXPECT_FALSE(match_segment("healthz", "healthzz", c));
  EXPECT_FALSE(match_segment("{col}_{row}.{format}", "12.jpeg", c));
}

Authenticator& local_auth() {
  static LocalAuthenticator local;
  return local;
}

Request make_request(std::string method, std::string target) {
  Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.request_id = "test";
  return r;
}

Router test_router() {
  Router router;
  router.add("GET", "/dzi/{id}_files/{level}/{col}_{row}.{format}", "dzi.tile", [](Request& req) {
    return Response::json(200, nlohmann::json{{"id", req.param("id")}, {"level", req.param("level")}}.dump());
  });
  router.add("POST", "/api/v1/rescan", "rescan", [](Request&) { return Response::json(200, "{}"); });
  router.add("GET", "/boom", "boom", [](Request&) -> Response { throw std::runtime_error("secret detail"); });
  return router;
}

TEST(Dispatch, RoutesDecodesAndAddsSecurityHeaders) {
  const Router router = test_router();
  auto req = make_request("GET", "/dzi/ab%63_files/3/1_2.jpeg?x=1");
  std::string route;
  const auto res = dispatch(router, req, route, local_auth());
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(route, "dzi.tile");
  EXPECT_EQ(nlohmann::json::parse(res.body)["id"], "abc");
  bool nosniff = false;
  for (const auto& [k, v] : res.headers) nosniff |= (k == "X-Content-Type-Options" && v == "nosniff");
  EXPECT_TRUE(nosniff);
}

TEST(Dispatch, UnknownRouteIs404WrongMethodIs405HeadMatchesGet) {
  const Router router = test_router();
  std::string route;
  auto missing = make_request("GET", "/nothing/here");
  EXPECT_EQ(dispatch(router, missing, route, local_auth()).status, 404);
  auto wrong = make_request("GET", "/api/v1/rescan");
  EXPECT_EQ(dispatch(router, wrong, route, local_auth()).status, 405);
  auto head = make_request("HEAD", "/dzi/x_files/0/0_0.jpeg");
  EXPECT_EQ(dispatch(router, head, route, local_auth()).status, 200);
}

TEST(Dispatch, MalformedEscapesAndNulAre400) {
  const Router router = test_router();
  std::string route;
  for (const char* target : {"/dzi/%zz_files/0/0_0.jpeg", "/dzi/a%00b_files/0/0_0.jpeg", "/a%", "relative/path"}) {
    auto req = make_request("GET", target);
    const auto res = dispatch(router, req, route, local_auth());
    EXPECT_EQ(res.status, 400) << target;
    EXPECT_EQ(nlohmann::json::parse(res.body)["error"]["code"], "bad_request");
  }
}

TEST(Dispatch, HandlerExceptionIs500WithoutDetail) {
  const Router router = test_router();
  std::string route;
  auto req = make_request("GET", "/boom");
  const auto res = dispatch(router, req, route, local_auth());
  EXPECT_EQ(res.status, 500);
  EXPECT_EQ(res.body.find("secret detail"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(res.body)["error"]["code"], "internal");
}

}  // namespace
}  // namespace mcval::http
