// http::dispatch with the real BearerAuthenticator and TokenVerifier (keys served from memory,
// tokens signed by tests/unit/auth/test_signer): repeated Authorization headers and the limit of
// requests without a valid token per client address, with what each leaves in the audit log.
#include <chrono>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mcval/auth/issuer_config.h"
#include "mcval/http/server.h"
#include "test_signer.h"

namespace mcval::http {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kIssuer = "https://idp.example.org/realms/a";
constexpr const char* kJwks = "https://idp.example.org/realms/a/certs";

/// The issuer's JWKS, from memory instead of the network.
class MemoryKeySource : public auth::KeySource {
 public:
  Result<std::string> fetch(const std::string& url) override {
    if (url != kJwks) return Error{ErrorCode::io_error, "HTTP 404 for " + url};
    return json{{"keys", {auth::testing::rsa_key(0).jwk("r1")}}}.dump();
  }
};

class MemoryAuditLog : public audit::AuditRecorder {
 public:
  Status record(audit::AuditRecord record) override {
    std::lock_guard lock(mutex_);
    records_.push_back(std::move(record));
    return {};
  }
  std::vector<audit::AuditRecord> records() const {
    std::lock_guard lock(mutex_);
    return records_;
  }
  std::size_t count(audit::Action action, const std::string& reason) const {
    std::size_t n = 0;
    for (const auto& r : records()) n += r.action == action && r.reason == reason;
    return n;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<audit::AuditRecord> records_;
};

auth::AuthConfig auth_config() {
  const json issuer = {{"issuer", kIssuer}, {"jwks_uri", kJwks}, {"audiences", {"mcval-api"}}};
  auto parsed = auth::parse_auth_config(json{{"issuers", {issuer}}}.dump());
  EXPECT_TRUE(parsed.ok());
  return parsed.ok() ? std::move(parsed).value() : auth::AuthConfig{};
}

std::string valid_token() {
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return auth::testing::sign_token(
      {{"alg", "RS256"}, {"kid", "r1"}, {"typ", "at+jwt"}},
      {{"iss", kIssuer}, {"sub", "user-1"}, {"aud", "mcval-api"}, {"iat", now}, {"exp", now + 300}},
      auth::testing::rsa_key(0), auth::SignatureAlg::rs256);
}

struct FakeClock {
  std::chrono::steady_clock::time_point now{std::chrono::seconds(1000)};
};

class AuthenticationDispatch : public ::testing::Test {
 protected:
  AuthenticationDispatch() : verifier(auth_config(), keys), authenticator(verifier, &audit_log) {
    router.add("GET", "/api/v1/me", "me", [](Request&) { return Response::json(200, "{}"); });
    router.add(
        "GET", "/healthz", "healthz", [](Request&) { return Response::json(200, "{}"); }, Access::public_);
  }

  Response call(Request request, UserLimits* address_limits = nullptr) {
    std::string route;
    return dispatch(router, request, route, authenticator, nullptr, &audit_log, nullptr, nullptr, address_limits);
  }

  static Request request(std::string authorization, std::string ip = "192.0.2.7") {
    Request r;
    r.method = "GET";
    r.target = "/api/v1/me";
    r.request_id = "test";
    r.remote_ip = std::move(ip);
    r.remote_address = r.remote_ip + ":40000";
    if (!authorization.empty()) r.headers["authorization"] = std::move(authorization);
    return r;
  }

  static std::string header_of(const Response& response, const std::string& name) {
    for (const auto& [k, v] : response.headers) {
      if (k == name) return v;
    }
    return "";
  }

  MemoryKeySource keys;
  auth::TokenVerifier verifier;
  MemoryAuditLog audit_log;
  BearerAuthenticator authenticator;
  Router router;
};

TEST_F(AuthenticationDispatch, TwoAuthorizationHeadersAreRefusedAndAudited) {
  // Was: the last header counted, so a valid token after a garbage one (which a gateway checking
  // the first header refuses) was let in. The server keeps the last value in `headers` and notes
  // the repetition; either value last, the request is refused before any token is checked.
  for (const std::string& last : {valid_token(), std::string("Bearer garbage")}) {
    Request r = request("Bearer " + valid_token());
    r.headers["authorization"] = last;
    r.repeated_headers.push_back("authorization");
    const Response response = call(r);
    EXPECT_EQ(response.status, 400);
    EXPECT_EQ(json::parse(response.body)["error"]["code"], "bad_request");
  }
  EXPECT_EQ(audit_log.count(audit::Action::token_rejected, "multiple_authorization_headers"), 2u);
  EXPECT_EQ(audit_log.records().size(), 2u);
  // On a public route too.
  Request r = request("Bearer x");
  r.target = "/healthz";
  r.repeated_headers.push_back("authorization");
  EXPECT_EQ(call(r).status, 400);
  // Other repeated headers are not refused here.
  Request cookies = request("Bearer " + valid_token());
  cookies.repeated_headers.push_back("accept");
  EXPECT_EQ(call(cookies).status, 200);
}

TEST_F(AuthenticationDispatch, RequestsWithoutAValidTokenAreLimitedPerClientAddress) {
  // Was: no limit, and each refused request wrote an audit record and log lines (a 15 s flood:
  // 100 MB of audit log, 300 MB of stdout).
  FakeClock clock;
  UserLimitOptions options;
  options.requests_per_second = 5;  // bursts of 10
  options.clock = [&clock] { return clock.now; };
  UserLimits address_limits(options);

  int refused = 0, limited = 0;
  std::string retry_after;
  for (int i = 0; i < 40; ++i) {
    const Response response = call(request(i % 2 == 0 ? "Bearer garbage" : ""), &address_limits);
    refused += response.status == 401;
    if (response.status == 429) {
      ++limited;
      retry_after = header_of(response, "Retry-After");
      EXPECT_EQ(json::parse(response.body)["error"]["code"], "rate_limited");
    }
  }
  EXPECT_EQ(refused, 10);
  EXPECT_EQ(limited, 30);
  EXPECT_EQ(retry_after, "1");
  // Ten refusals audited, the 30 requests over the limit once.
  EXPECT_EQ(audit_log.count(audit::Action::token_rejected, "malformed") +
                audit_log.count(audit::Action::denied, "token_missing"),
            10u);
  EXPECT_EQ(audit_log.count(audit::Action::denied, "rate_limited_unauthenticated"), 1u);
  EXPECT_EQ(audit_log.records().size(), 11u);

  // A valid token from the same address still passes, and costs nothing.
  EXPECT_EQ(call(request("Bearer " + valid_token()), &address_limits).status, 200);
  // Other addresses have their own budget.
  EXPECT_EQ(call(request("Bearer garbage", "192.0.2.8"), &address_limits).status, 401);
  // Repeated Authorization headers count as refusals too.
  Request twice = request("Bearer garbage");
  twice.repeated_headers.push_back("authorization");
  EXPECT_EQ(call(twice, &address_limits).status, 429);
  // The bucket refills: 5 per second.
  clock.now += 1s;
  refused = 0;
  for (int i = 0; i < 10; ++i) refused += call(request("Bearer garbage"), &address_limits).status == 401;
  EXPECT_EQ(refused, 5);
  // Public routes that succeed are not counted, and not limited.
  Request health = request("");
  health.target = "/healthz";
  EXPECT_EQ(call(health, &address_limits).status, 200);
}

}  // namespace
}  // namespace mcval::http
