#include "mcval/auth/principal.h"
#include "mcval/auth/claims.h"
#include "mcval/auth/token_verifier.h"

#include <gtest/gtest.h>

namespace mcval::auth {
namespace {

using nlohmann::json;

Principal with(std::set<Grant> grants) {
  Principal p;
  p.issuer = "https://idp.example.org";
  p.subject = "u1";
  p.grants = std::move(grants);
  return p;
}

TEST(Principal, DeniesByDefault) {
  const Principal nobody = with({});
  for (Role role : {Role::viewer, Role::validator, Role::data_steward, Role::admin}) {
    EXPECT_FALSE(nobody.can(role, "centre-a"));
    EXPECT_FALSE(nobody.can(role, kAllCentres));
  }
  const CentreScope scope = visible_centres(nobody);
  EXPECT_FALSE(scope.all);
  EXPECT_TRUE(scope.centres.empty());
  EXPECT_FALSE(scope.contains("centre-a"));
}

TEST(Principal, RolesAreOrderedAndScopedToCentres) {
  const Principal p = with({{Role::validator, "centre-a"}, {Role::viewer, "centre-b"}});
  EXPECT_TRUE(p.can(Role::viewer, "centre-a"));
  EXPECT_TRUE(p.can(Role::validator, "centre-a"));
  EXPECT_FALSE(p.can(Role::data_steward, "centre-a"));
  EXPECT_TRUE(p.can(Role::viewer, "centre-b"));
  EXPECT_FALSE(p.can(Role::validator, "centre-b"));
  EXPECT_FALSE(p.can(Role::viewer, "centre-c"));
  EXPECT_FALSE(p.can(Role::viewer, "centre"));  // no prefix matching
  EXPECT_FALSE(p.can(Role::viewer, "centre-a2"));
  EXPECT_FALSE(p.can(Role::viewer, ""));
  EXPECT_FALSE(p.can(Role::viewer, kAllCentres));  // a grant at one centre is not a grant at all
  EXPECT_EQ(visible_centres(p).centres, (std::set<std::string, std::less<>>{"centre-a", "centre-b"}));
  EXPECT_EQ(visible_centres(p, Role::validator).centres, (std::set<std::string, std::less<>>{"centre-a"}));
  EXPECT_TRUE(visible_centres(p, Role::admin).centres.empty());

  const Principal admin = with({{Role::admin, std::string(kAllCentres)}});
  EXPECT_TRUE(admin.can(Role::viewer, "centre-z"));
  EXPECT_TRUE(admin.can(Role::admin, kAllCentres));
  EXPECT_TRUE(visible_centres(admin).all);
  EXPECT_TRUE(visible_centres(admin).contains("anything"));
  EXPECT_FALSE(visible_centres(admin).contains(""));

  EXPECT_LT(Role::viewer, Role::validator);
  EXPECT_LT(Role::validator, Role::data_steward);
  EXPECT_LT(Role::data_steward, Role::admin);
  EXPECT_EQ(role_from_name("data_steward"), Role::data_steward);
  EXPECT_FALSE(role_from_name("Admin").has_value());
}

TEST(Principal, HighestRoleAtACentre) {
  const Principal p = with({{Role::validator, "centre-a"}, {Role::viewer, "centre-b"}, {Role::viewer, "*"}});
  EXPECT_EQ(highest_role(p, "centre-a"), Role::validator);
  EXPECT_EQ(highest_role(p, "centre-b"), Role::viewer);
  EXPECT_EQ(highest_role(p, "centre-c"), Role::viewer);  // the grant at every centre
  EXPECT_EQ(highest_role(p, kAllCentres), Role::viewer);  // only grants at "*" count for "*"
  EXPECT_FALSE(highest_role(p, "").has_value());
  EXPECT_EQ(highest_role_anywhere(p), Role::validator);
  EXPECT_FALSE(highest_role(with({{Role::admin, "centre-a"}}), "centre-b").has_value());
  EXPECT_FALSE(highest_role_anywhere(with({})).has_value());
}

TEST(Principal, KeyedByIssuerAndSubject) {
  Principal a = with({});
  Principal b = with({});
  b.issuer = "https://other.example.org";
  EXPECT_NE(a.key(), b.key());
  EXPECT_NE(a.stable_id(), b.stable_id());
  EXPECT_EQ(a.stable_id().size(), 64u);
  // The separator keeps ("ab", "c") apart from ("a", "bc").
  Principal c = with({});
  c.issuer = "ab";
  c.subject = "c";
  Principal d = with({});
  d.issuer = "a";
  d.subject = "bc";
  EXPECT_NE(c.stable_id(), d.stable_id());
}

// AARC-G069 entitlements, as Life Science Login releases them in eduperson_entitlement.
constexpr const char* kGroup = "urn:geant:lifescience-ri.eu:group:mcval";
constexpr const char* kCentreA = "urn:geant:lifescience-ri.eu:group:mcval:centre-a";
constexpr const char* kViewerA = "urn:geant:lifescience-ri.eu:group:mcval:centre-a:role=viewer#login.elixir-czech.org";
constexpr const char* kStewardB =
    "urn:geant:lifescience-ri.eu:group:mcval:centre-b:role=data-steward#login.elixir-czech.org";

IssuerConfig lsaai_issuer() {
  IssuerConfig issuer;
  issuer.issuer = "https://login.elixir-czech.org/oidc/";
  issuer.audiences = {"mcval-api"};
  issuer.group_claims = {ClaimPath{{"eduperson_entitlement"}}};
  issuer.rules = {RoleRule{kViewerA, Role::viewer, "centre-a", std::nullopt, false},
                  RoleRule{kStewardB, Role::data_steward, "centre-b", std::nullopt, false}};
  return issuer;
}

TEST(ClaimMapping, ExactWholeValuesOnly) {
  const IssuerConfig issuer = lsaai_issuer();
  auto grants = [&](json values) { return map_grants(json{{"eduperson_entitlement", values}}, issuer, false); };

  EXPECT_EQ(grants({kViewerA}), (std::set<Grant>{{Role::viewer, "centre-a"}}));
  EXPECT_EQ(grants({kViewerA, kStewardB}),
            (std::set<Grant>{{Role::viewer, "centre-a"}, {Role::data_steward, "centre-b"}}));
  EXPECT_EQ(grants(kViewerA), (std::set<Grant>{{Role::viewer, "centre-a"}}));  // a single string works too

  // Nothing is inferred from a parent or a child group, a missing or different authority, case,
  // surrounding spaces or a prefix.
  EXPECT_TRUE(grants({kGroup}).empty());
  EXPECT_TRUE(grants({kCentreA}).empty());
  EXPECT_TRUE(grants({std::string(kCentreA) + ":role=viewer"}).empty());
  EXPECT_TRUE(grants({std::string(kCentreA) + ":role=viewer#evil.example.org"}).empty());
  EXPECT_TRUE(grants({std::string(kCentreA) + ":sub:role=viewer#login.elixir-czech.org"}).empty());
  EXPECT_TRUE(grants({std::string(kViewerA) + " "}).empty());
  EXPECT_TRUE(grants({std::string(kViewerA) + "x"}).empty());
  EXPECT_TRUE(grants({std::string(kViewerA).substr(0, 60)}).empty());
  EXPECT_TRUE(grants({"URN:GEANT:LIFESCIENCE-RI.EU:GROUP:MCVAL:CENTRE-A:ROLE=VIEWER#LOGIN.ELIXIR-CZECH.ORG"}).empty());
  // Explicit arrays: a braced list of one json is a copy of it for some compilers (clang), not an array.
  EXPECT_TRUE(grants(json::array({json::array({kViewerA})})).empty());  // nested arrays are not values
  EXPECT_TRUE(grants(json::array({json{{"value", kViewerA}}})).empty());
  EXPECT_TRUE(grants({1, true, nullptr}).empty());
  EXPECT_TRUE(map_grants(json{{"groups", {kViewerA}}}, issuer, false).empty());  // not a configured claim
  EXPECT_TRUE(map_grants(json::object(), issuer, false).empty());

  // A rule for the parent group grants nothing for a child group value, and the other way round.
  IssuerConfig parent = issuer;
  parent.rules = {RoleRule{kGroup, Role::admin, "*", std::nullopt, false}};
  EXPECT_TRUE(map_grants(json{{"eduperson_entitlement", {kCentreA, kViewerA}}}, parent, false).empty());
  EXPECT_EQ(map_grants(json{{"eduperson_entitlement", {kGroup}}}, parent, false),
            (std::set<Grant>{{Role::admin, "*"}}));
  IssuerConfig child = issuer;
  child.rules = {RoleRule{kCentreA, Role::viewer, "centre-a", std::nullopt, false}};
  EXPECT_TRUE(map_grants(json{{"eduperson_entitlement", {kGroup}}}, child, false).empty());
}

TEST(ClaimMapping, NestedClaimsRuleClaimsAndServiceOnlyRules) {
  IssuerConfig keycloak;
  keycloak.issuer = "https://kc.hospital.example/realms/pathology";
  keycloak.group_claims = {ClaimPath{{"realm_access", "roles"}}, ClaimPath{{"groups"}},
                           ClaimPath{{"https://hospital.example/claims", "centre"}}};
  keycloak.rules = {
      RoleRule{"mcval-admin", Role::admin, "*", std::string("realm_access.roles"), false},
      RoleRule{"/mcval/centre-a/validator", Role::validator, "centre-a", std::nullopt, false},
      RoleRule{"centre-c", Role::viewer, "centre-c", std::nullopt, false},
      RoleRule{"batch-jobs", Role::validator, "centre-a", std::string("groups"), true},
  };
  const json claims = {{"realm_access", {{"roles", {"offline_access", "mcval-admin"}}}},
                       {"groups", {"/mcval/centre-a/validator", "batch-jobs"}},
                       {"https://hospital.example/claims", {{"centre", "centre-c"}}}};
  EXPECT_EQ(map_grants(claims, keycloak, false),
            (std::set<Grant>{{Role::admin, "*"}, {Role::validator, "centre-a"}, {Role::viewer, "centre-c"}}));
  EXPECT_EQ(map_grants(claims, keycloak, true).size(), 3u);  // batch-jobs adds validator@centre-a, already there
  // "mcval-admin" in groups is not "mcval-admin" in realm_access.roles.
  EXPECT_TRUE(map_grants(json{{"groups", {"mcval-admin"}}}, keycloak, false).empty());
  // service_only: a human in the batch-jobs group gets nothing from that rule.
  EXPECT_TRUE(map_grants(json{{"groups", {"batch-jobs"}}}, keycloak, false).empty());
  EXPECT_EQ(map_grants(json{{"groups", {"batch-jobs"}}}, keycloak, true),
            (std::set<Grant>{{Role::validator, "centre-a"}}));
  // A path through a non-object finds nothing.
  EXPECT_TRUE(map_grants(json{{"realm_access", {"mcval-admin"}}}, keycloak, false).empty());
}

TEST(Bearer, ExtractsTheTokenOfAnAuthorizationHeader) {
  EXPECT_EQ(bearer_token("Bearer abc.def.ghi").value(), "abc.def.ghi");
  EXPECT_EQ(bearer_token("bearer  abc").value(), "abc");
  EXPECT_EQ(bearer_token("Bearer a+/b==").value(), "a+/b==");
  EXPECT_FALSE(bearer_token("Bearer").has_value());
  EXPECT_FALSE(bearer_token("Bearer ").has_value());
  EXPECT_FALSE(bearer_token("Basic dXNlcjpwYXNz").has_value());
  EXPECT_FALSE(bearer_token("Bearerabc").has_value());
  EXPECT_FALSE(bearer_token("Bearer abc def").has_value());
  EXPECT_FALSE(bearer_token("Bearer a=b").has_value());
  EXPECT_FALSE(bearer_token("Bearer abc\r\n").has_value());

  EXPECT_EQ(www_authenticate(nullptr), "Bearer realm=\"mcval\"");
  const Error expired = refuse(Refusal::expired, "token expired");
  EXPECT_EQ(www_authenticate(&expired),
            "Bearer realm=\"mcval\", error=\"invalid_token\", error_description=\"expired\"");
  EXPECT_EQ(refusal_of(expired), Refusal::expired);
  EXPECT_EQ(http_status(expired.code), 401);
  EXPECT_EQ(http_status(refuse(Refusal::jwks_unavailable, "").code), 503);
  EXPECT_FALSE(refusal_of(Error{ErrorCode::not_found, "expired: no"}).has_value());
}

}  // namespace
}  // namespace mcval::auth
