#include "mcval/auth/issuer_config.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace mcval::auth {
namespace {

using nlohmann::json;

json minimal_issuer() { return json{{"issuer", "https://idp.example.org/realms/a"}, {"audiences", {"mcval-api"}}}; }

std::string config_error(const json& issuer) {
  auto parsed = parse_auth_config(json{{"issuers", {issuer}}}.dump());
  EXPECT_FALSE(parsed.ok()) << issuer.dump();
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.error().code, ErrorCode::config_invalid);
  return parsed.error().detail;
}

TEST(IssuerConfig, DefaultsAreSafe) {
  auto parsed = parse_auth_config(json{{"issuers", {minimal_issuer()}}}.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  const IssuerConfig& issuer = parsed->issuers.at(0);
  EXPECT_EQ(issuer.name, issuer.issuer);
  EXPECT_EQ(issuer.algorithms, std::vector<SignatureAlg>{SignatureAlg::rs256});
  EXPECT_EQ(issuer.clock_skew, std::chrono::seconds(30));
  EXPECT_EQ(issuer.jwks_refetch_interval, std::chrono::seconds(60));
  EXPECT_EQ(issuer.max_token_lifetime, std::chrono::hours(24));
  EXPECT_FALSE(issuer.require_typ_at_jwt);
  EXPECT_FALSE(issuer.allow_insecure_http_for_tests);
  EXPECT_TRUE(issuer.rules.empty());
  EXPECT_EQ(issuer.discovery_endpoint(), "https://idp.example.org/realms/a/.well-known/openid-configuration");
  IssuerConfig slash = issuer;
  slash.issuer += "/";
  EXPECT_EQ(slash.discovery_endpoint(), "https://idp.example.org/realms/a/.well-known/openid-configuration");
}

TEST(IssuerConfig, TheDocumentedExampleParses) {
  std::ifstream in(std::string(MCVAL_TEST_SOURCE_DIR) + "/docs/security.md");
  ASSERT_TRUE(in) << "docs/security.md";
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const std::size_t marker = doc.find("<!-- auth-config-example -->");
  ASSERT_NE(marker, std::string::npos);
  const std::size_t start = doc.find("```json\n", marker) + 8;
  const std::size_t end = doc.find("```", start);
  auto parsed = parse_auth_config(doc.substr(start, end - start));
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  ASSERT_EQ(parsed->issuers.size(), 2u);
  EXPECT_FALSE(parsed->issuers[0].rules.empty());
  EXPECT_FALSE(parsed->issuers[1].rules.empty());
}

TEST(IssuerConfig, ClaimPathsAndRules) {
  json issuer = minimal_issuer();
  issuer["group_claims"] = {"realm_access.roles", json::array({"https://example.org/claims", "groups"}), "groups"};
  issuer["service_claim"] = "client_id";
  issuer["rules"] = {{{"value", "mcval-admin"}, {"role", "admin"}, {"centre", "*"}, {"claim", "realm_access.roles"}},
                     {{"value", "/mcval/centre-a/viewer"}, {"role", "viewer"}, {"centre", "centre-a"}},
                     {{"value", "job-runner"}, {"role", "validator"}, {"centre", "centre-b"}, {"service_only", true}}};
  auto parsed = parse_issuer_config(issuer);
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  ASSERT_EQ(parsed->group_claims.size(), 3u);
  EXPECT_EQ(parsed->group_claims[0].names, (std::vector<std::string>{"realm_access", "roles"}));
  EXPECT_EQ(parsed->group_claims[1].names, (std::vector<std::string>{"https://example.org/claims", "groups"}));
  EXPECT_EQ(parsed->rules[0].claim.value(), "realm_access.roles");
  EXPECT_EQ(parsed->rules[0].role, Role::admin);
  EXPECT_EQ(parsed->rules[2].service_only, true);
  ASSERT_TRUE(parsed->service_claim.has_value());
}

TEST(IssuerConfig, RefusesUnsafeOrMistypedSettings) {
  json issuer = minimal_issuer();
  issuer["audience"] = "mcval-api";  // typo of "audiences"
  EXPECT_NE(config_error(issuer).find("unknown member \"audience\""), std::string::npos);

  for (const char* alg : {"HS256", "none", "RS384", "rs256", "EdDSA"}) {
    issuer = minimal_issuer();
    issuer["algorithms"] = {"RS256", alg};
    EXPECT_NE(config_error(issuer).find("algorithms"), std::string::npos) << alg;
  }
  issuer = minimal_issuer();
  issuer["algorithms"] = json::array();
  config_error(issuer);

  for (const json& lifetime : {json(-1), json(31536001), json("86400"), json(1.5)}) {
    issuer = minimal_issuer();
    issuer["max_token_lifetime_s"] = lifetime;
    EXPECT_NE(config_error(issuer).find("max_token_lifetime_s"), std::string::npos) << lifetime.dump();
  }

  issuer = minimal_issuer();
  issuer.erase("audiences");
  config_error(issuer);
  issuer["audiences"] = json::array();
  config_error(issuer);
  issuer["audiences"] = {""};
  config_error(issuer);

  issuer = minimal_issuer();
  issuer["issuer"] = "http://idp.example.org";
  config_error(issuer);
  issuer["allow_insecure_http_for_tests"] = true;  // only loopback may be plain http
  config_error(issuer);
  for (const char* url : {"http://127.0.0.1:8080/realms/t", "http://localhost/x", "http://[::1]:9/x"}) {
    issuer["issuer"] = url;
    EXPECT_TRUE(parse_issuer_config(issuer).ok()) << url;
  }
  for (const char* url : {"http://127.0.0.1.evil.example/x", "http://localhost@evil.example/", "http://localhost:80x/",
                          "http://evil.example/127.0.0.1", "ftp://idp.example.org", "https://", "https://idp/ x"}) {
    issuer["issuer"] = url;
    EXPECT_FALSE(parse_issuer_config(issuer).ok()) << url;
  }
  issuer = minimal_issuer();
  issuer["issuer"] = "https://idp.example.org/?a=b";
  config_error(issuer);
  issuer = minimal_issuer();
  issuer["jwks_uri"] = "http://127.0.0.1/certs";  // without the test flag
  config_error(issuer);
  issuer["discovery_url"] = "https://idp.example.org/.well-known/openid-configuration";
  issuer["jwks_uri"] = "https://idp.example.org/certs";
  config_error(issuer);  // both

  issuer = minimal_issuer();
  issuer["clock_skew_s"] = 301;
  config_error(issuer);
  issuer["clock_skew_s"] = 2.5;
  config_error(issuer);
  issuer = minimal_issuer();
  issuer["jwks_refetch_interval_s"] = 0;
  config_error(issuer);

  issuer = minimal_issuer();
  issuer["rules"] = {{{"value", "x"}, {"role", "viewer"}, {"centre", "a"}}};
  EXPECT_NE(config_error(issuer).find("group_claims"), std::string::npos);
  issuer["group_claims"] = {"groups"};
  EXPECT_TRUE(parse_issuer_config(issuer).ok());
  issuer["rules"][0]["role"] = "owner";
  EXPECT_NE(config_error(issuer).find("issuers[0].rules[0]"), std::string::npos);
  issuer["rules"][0]["role"] = "Viewer";
  config_error(issuer);
  issuer["rules"][0]["role"] = "viewer";
  issuer["rules"][0]["centre"] = "../etc";
  config_error(issuer);
  issuer["rules"][0]["centre"] = "";
  config_error(issuer);
  issuer["rules"][0].erase("centre");  // a rule never means "every centre" by omission
  config_error(issuer);
  issuer["rules"][0]["centre"] = "a";
  issuer["rules"][0]["claim"] = "roles";  // not a configured group claim
  config_error(issuer);
  issuer["rules"][0].erase("claim");
  issuer["rules"][0]["value"] = "";
  config_error(issuer);
  issuer["group_claims"] = {"groups..x"};
  config_error(issuer);

  auto twice = parse_auth_config(json{{"issuers", {minimal_issuer(), minimal_issuer()}}}.dump());
  EXPECT_FALSE(twice.ok());
  EXPECT_FALSE(parse_auth_config(R"({"issuers":[]} x)").ok());
  EXPECT_FALSE(parse_auth_config(R"({"issuers":[],"issuers":[]})").ok());
  EXPECT_FALSE(parse_auth_config(R"({"issuer":[]})").ok());
}

}  // namespace
}  // namespace mcval::auth
