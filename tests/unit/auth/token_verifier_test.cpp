#include "mcval/auth/token_verifier.h"

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "mcval/auth/base64url.h"
#include "test_signer.h"

namespace mcval::auth {
namespace {

using nlohmann::json;
using std::chrono::seconds;
using testing::ec_key;
using testing::rsa_key;
using testing::sign_token;
using Clock = std::chrono::system_clock;

constexpr const char* kIssuer = "https://idp.example.org/realms/a";
constexpr const char* kDiscovery = "https://idp.example.org/realms/a/.well-known/openid-configuration";
constexpr const char* kJwks = "https://idp.example.org/realms/a/protocol/openid-connect/certs";
const Clock::time_point kNow{seconds(1'800'000'000)};
constexpr std::int64_t kNowS = 1'800'000'000;

// Serves documents from memory and counts what was asked for.
class FakeKeySource : public KeySource {
 public:
  void set(const std::string& url, const json& body) {
    std::lock_guard lock(mutex_);
    documents_[url] = body.dump();
  }
  void remove(const std::string& url) {
    std::lock_guard lock(mutex_);
    documents_.erase(url);
  }
  Result<std::string> fetch(const std::string& url) override {
    std::lock_guard lock(mutex_);
    ++fetches_[url];
    const auto it = documents_.find(url);
    if (it == documents_.end()) return Error{ErrorCode::io_error, "HTTP 404 for " + url};
    return it->second;
  }
  int fetches(const std::string& url) {
    std::lock_guard lock(mutex_);
    return fetches_[url];
  }
  int total() {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& [url, count] : fetches_) n += count;
    return n;
  }
  std::vector<std::string> urls() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [url, count] : fetches_) out.push_back(url);
    return out;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::string> documents_;
  std::map<std::string, int> fetches_;
};

json jwks(std::initializer_list<json> keys) {
  json array = json::array();
  for (const auto& key : keys) array.push_back(key);
  return json{{"keys", array}};
}

json discovery(const std::string& issuer, const std::string& jwks_uri) {
  return json{{"issuer", issuer},
              {"jwks_uri", jwks_uri},
              {"authorization_endpoint", issuer + "/protocol/openid-connect/auth"},
              {"id_token_signing_alg_values_supported", {"RS256", "ES256"}}};
}

json base_issuer() {
  return json{{"name", "test-idp"},
              {"issuer", kIssuer},
              {"audiences", {"mcval-api"}},
              {"algorithms", {"RS256", "PS256", "ES256"}},
              {"group_claims", {"groups"}},
              {"rules",
               {{{"value", "/mcval/centre-a/viewer"}, {"role", "viewer"}, {"centre", "centre-a"}},
                {{"value", "/mcval/admins"}, {"role", "admin"}, {"centre", "*"}}}}};
}

AuthConfig config_of(std::vector<json> issuers) {
  auto parsed = parse_auth_config(json{{"issuers", issuers}}.dump());
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().to_string());
  return parsed.ok() ? std::move(parsed).value() : AuthConfig{};
}

json claims(std::int64_t now_s = kNowS) {
  return json{{"iss", kIssuer},
              {"sub", "f3c1-user-1"},
              {"aud", "mcval-api"},
              {"exp", now_s + 300},
              {"iat", now_s},
              {"nbf", now_s},
              {"azp", "mcval-web"},
              {"name", "Ada Lovelace"},
              {"groups", {"/mcval/centre-a/viewer"}},
              {"email", "ada@example.org"}};
}

json header(const char* alg = "RS256", const char* kid = "r1") {
  return json{{"alg", alg}, {"kid", kid}, {"typ", "at+jwt"}};
}

class VerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source.set(kDiscovery, discovery(kIssuer, kJwks));
    source.set(kJwks, jwks({rsa_key(0).jwk("r1"), ec_key(0).jwk("e1")}));
  }

  TokenVerifier& make(json issuer = base_issuer()) {
    verifier = std::make_unique<TokenVerifier>(config_of({std::move(issuer)}), source);
    return *verifier;
  }

  Refusal refused(const std::string& token, Clock::time_point now = kNow) {
    auto result = verifier->verify(token, now);
    EXPECT_FALSE(result.ok()) << "accepted";
    if (result.ok()) return Refusal::jwks_unavailable;
    auto reason = refusal_of(result.error());
    EXPECT_TRUE(reason.has_value()) << result.error().to_string();
    return reason.value_or(Refusal::jwks_unavailable);
  }

  Principal accepted(const std::string& token, Clock::time_point now = kNow) {
    auto result = verifier->verify(token, now);
    EXPECT_TRUE(result.ok()) << result.error().to_string();
    return result.ok() ? std::move(result).value() : Principal{};
  }

  std::string rs(const json& payload, const char* kid = "r1") {
    return sign_token(header("RS256", kid), payload, rsa_key(0), SignatureAlg::rs256);
  }

  FakeKeySource source;
  std::unique_ptr<TokenVerifier> verifier;
};

json id_token_claims(std::int64_t now_s = kNowS) {
  return json{{"iss", kIssuer}, {"sub", "f3c1-user-1"}, {"aud", "mcval-web"}, {"azp", "mcval-web"},
              {"exp", now_s + 300}, {"iat", now_s}, {"nonce", "n-0123456789"}, {"auth_time", now_s}};
}

TEST_F(VerifierTest, IdTokensOfABrowserLogin) {
  make();
  auto id_token = [](const json& payload, json head = json{{"alg", "RS256"}, {"kid", "r1"}}) {
    return sign_token(head, payload, rsa_key(0), SignatureAlg::rs256);
  };
  auto check = [&](const std::string& token, const char* nonce = "n-0123456789") {
    return verifier->verify_id_token(token, kIssuer, "mcval-web", nonce, kNow);
  };
  auto sub = check(id_token(id_token_claims()));
  ASSERT_TRUE(sub.ok()) << sub.error().to_string();
  EXPECT_EQ(*sub, "f3c1-user-1");
  EXPECT_TRUE(check(id_token(id_token_claims(), json{{"alg", "RS256"}, {"kid", "r1"}, {"typ", "JWT"}})).ok());

  auto reason = [&](const std::string& token, const char* nonce = "n-0123456789") {
    auto result = check(token, nonce);
    EXPECT_FALSE(result.ok());
    if (result.ok()) return std::string("accepted");
    if (auto refusal = refusal_of(result.error())) return std::string(refusal_name(*refusal));
    return result.error().detail.substr(0, result.error().detail.find(':'));
  };
  EXPECT_EQ(reason(id_token(id_token_claims()), "another-nonce"), "nonce_mismatch");
  EXPECT_EQ(reason(id_token(id_token_claims()), ""), "nonce_mismatch");
  json no_nonce = id_token_claims();
  no_nonce.erase("nonce");
  EXPECT_EQ(reason(id_token(no_nonce)), "nonce_mismatch");
  json other_client = id_token_claims();
  other_client["aud"] = "another-client";
  other_client.erase("azp");
  EXPECT_EQ(reason(id_token(other_client)), "wrong_audience");
  json other_azp = id_token_claims();
  other_azp["aud"] = json::array({"mcval-web", "another-client"});
  other_azp["azp"] = "another-client";
  EXPECT_EQ(reason(id_token(other_azp)), "wrong_audience");
  EXPECT_EQ(reason(id_token(id_token_claims(kNowS - 600))), "expired");
  json elsewhere = id_token_claims();
  elsewhere["iss"] = "https://elsewhere.example.org";
  EXPECT_EQ(reason(id_token(elsewhere)), "wrong_issuer");
  // An access token is no ID token; a bad signature, none and HS256 are refused as for access tokens.
  EXPECT_EQ(reason(id_token(id_token_claims(), header())), "typ_not_at_jwt");
  EXPECT_EQ(reason(sign_token(json{{"alg", "RS256"}, {"kid", "r1"}}, id_token_claims(), rsa_key(1),
                              SignatureAlg::rs256)),
            "bad_signature");
  EXPECT_EQ(reason(base64url_encode(R"({"alg":"none"})") + "." + base64url_encode(id_token_claims().dump()) + ".c2ln"),
            "alg_not_allowed");
  auto unknown = verifier->verify_id_token(id_token(id_token_claims()), "https://other.example.org", "mcval-web",
                                           "n-0123456789", kNow);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(refusal_of(unknown.error()), Refusal::unknown_issuer);
}

TEST_F(VerifierTest, AcceptsRs256Ps256AndEs256) {
  make();
  const Principal p = accepted(rs(claims()));
  EXPECT_EQ(p.issuer, kIssuer);
  EXPECT_EQ(p.issuer_name, "test-idp");
  EXPECT_EQ(p.subject, "f3c1-user-1");
  EXPECT_EQ(p.client_id, "mcval-web");
  EXPECT_EQ(p.display_name, "Ada Lovelace");
  EXPECT_FALSE(p.is_service);
  EXPECT_EQ(p.expires_at, kNow + seconds(300));
  EXPECT_EQ(p.grants, (std::set<Grant>{{Role::viewer, "centre-a"}}));
  EXPECT_TRUE(p.can(Role::viewer, "centre-a"));
  EXPECT_FALSE(p.can(Role::viewer, "centre-b"));

  EXPECT_EQ(accepted(sign_token(header("PS256"), claims(), rsa_key(0), SignatureAlg::ps256)).subject, "f3c1-user-1");
  EXPECT_EQ(accepted(sign_token(header("ES256", "e1"), claims(), ec_key(0), SignatureAlg::es256)).subject,
            "f3c1-user-1");
  // One discovery and one JWKS fetch served all three.
  EXPECT_EQ(source.fetches(kDiscovery), 1);
  EXPECT_EQ(source.fetches(kJwks), 1);
  EXPECT_EQ(verifier->jwks_fetches(), 1u);
}

TEST_F(VerifierTest, AlgNoneAndHmacAreRefusedBeforeAnyKeyIsTouched) {
  json issuer = base_issuer();
  issuer["algorithms"] = {"RS256"};
  make(issuer);
  const std::string payload = testing::sign_token(header(), claims(), rsa_key(0), SignatureAlg::rs256);
  const std::string unsigned_part = payload.substr(0, payload.rfind('.'));
  json none = {{"alg", "none"}, {"typ", "at+jwt"}};
  const std::string none_token =
      sign_token(none, claims(), rsa_key(0), SignatureAlg::rs256);  // a signature that is never looked at
  EXPECT_EQ(refused(none_token), Refusal::alg_not_allowed);
  EXPECT_EQ(refused(unsigned_part + "."), Refusal::malformed);  // the classic "alg none, empty signature"

  // The key-confusion attack: HS256 with the issuer's public key (PEM, or the JWK text) as secret.
  EXPECT_EQ(refused(testing::hmac_token(header("HS256"), claims(), rsa_key(0).public_pem())), Refusal::alg_not_allowed);
  EXPECT_EQ(refused(testing::hmac_token(header("HS256"), claims(), rsa_key(0).jwk("r1").dump())),
            Refusal::alg_not_allowed);
  EXPECT_EQ(refused(testing::hmac_token(header("HS512"), claims(), "secret")), Refusal::alg_not_allowed);
  // Valid algorithms that are not on this issuer's list, and spellings of RS256 that are not RS256.
  EXPECT_EQ(refused(sign_token(header("ES256", "e1"), claims(), ec_key(0), SignatureAlg::es256)),
            Refusal::alg_not_allowed);
  EXPECT_EQ(refused(sign_token(header("PS256"), claims(), rsa_key(0), SignatureAlg::ps256)), Refusal::alg_not_allowed);
  EXPECT_EQ(refused(sign_token(header("rs256"), claims(), rsa_key(0), SignatureAlg::rs256)), Refusal::alg_not_allowed);
  EXPECT_EQ(refused(sign_token(header("RS512"), claims(), rsa_key(0), SignatureAlg::rs256)), Refusal::alg_not_allowed);
  EXPECT_EQ(source.total(), 0);

  // Even with every algorithm allowed, HMAC stays refused (the config cannot name it).
  make();
  EXPECT_EQ(refused(testing::hmac_token(header("HS256"), claims(), rsa_key(0).public_pem())), Refusal::alg_not_allowed);
  EXPECT_EQ(source.total(), 0);
}

TEST_F(VerifierTest, TamperedTokensAndForeignKeysAreRefused) {
  make();
  const std::string token = rs(claims());
  json changed = claims();
  changed["groups"] = {"/mcval/admins"};
  const std::string tampered =
      token.substr(0, token.find('.')) + "." + base64url_encode(changed.dump()) + token.substr(token.rfind('.'));
  EXPECT_EQ(refused(tampered), Refusal::bad_signature);
  std::string flipped = token;
  flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(refused(flipped), Refusal::bad_signature);
  // The right kid, another key.
  EXPECT_EQ(refused(sign_token(header(), claims(), rsa_key(1), SignatureAlg::rs256)), Refusal::bad_signature);
  EXPECT_EQ(refused(sign_token(header("ES256", "e1"), claims(), ec_key(1), SignatureAlg::es256)),
            Refusal::bad_signature);
  // An RSA kid with an EC signature.
  EXPECT_EQ(refused(sign_token(header("ES256", "r1"), claims(), ec_key(0), SignatureAlg::es256)), Refusal::unknown_kid);
  // A bad signature never triggers a refetch; the unknown (EC) "r1" would, but not within 60 s.
  EXPECT_EQ(source.fetches(kJwks), 1);
}

TEST_F(VerifierTest, KeyHeadersInTheTokenAreNeverFollowed) {
  make();
  const std::string evil_jwks = "https://evil.example/jwks.json";
  source.set(evil_jwks, jwks({rsa_key(2).jwk("r1")}));
  json h = header();
  h["jku"] = evil_jwks;
  h["x5u"] = "https://evil.example/cert.pem";
  h["jwk"] = rsa_key(2).jwk("r1");
  h["x5c"] = {"MIIB"};
  EXPECT_EQ(refused(sign_token(h, claims(), rsa_key(2), SignatureAlg::rs256)), Refusal::bad_signature);
  h["kid"] = "attacker";
  h["jwk"] = rsa_key(2).jwk("attacker");
  EXPECT_EQ(refused(sign_token(h, claims(), rsa_key(2), SignatureAlg::rs256)), Refusal::unknown_kid);
  EXPECT_EQ(source.fetches(evil_jwks), 0);
  EXPECT_EQ(source.fetches("https://evil.example/cert.pem"), 0);
  // The same headers on a genuine token do not stop it: they are simply ignored.
  h["kid"] = "r1";
  EXPECT_EQ(accepted(sign_token(h, claims(), rsa_key(0), SignatureAlg::rs256)).subject, "f3c1-user-1");
}

TEST_F(VerifierTest, UnknownKidRefetchesSoRotatedKeysWork) {
  make();
  accepted(rs(claims()));
  EXPECT_EQ(source.fetches(kJwks), 1);
  // The issuer rotates: r1 is retired, r2 published.
  source.set(kJwks, jwks({rsa_key(1).jwk("r2")}));
  const Clock::time_point later = kNow + seconds(61);
  const std::string rotated = sign_token(header("RS256", "r2"), claims(kNowS + 61), rsa_key(1), SignatureAlg::rs256);
  EXPECT_EQ(accepted(rotated, later).subject, "f3c1-user-1");
  EXPECT_EQ(source.fetches(kJwks), 2);
  EXPECT_EQ(source.fetches(kDiscovery), 1);  // the JWKS URL is remembered
  // The retired key is gone with the new snapshot.
  EXPECT_EQ(refused(rs(claims(kNowS + 62)), later + seconds(1)), Refusal::unknown_kid);
}

TEST_F(VerifierTest, RefetchIsRateLimitedPerIssuer) {
  make();
  accepted(rs(claims()));  // first fetch at kNow
  const std::string unknown = sign_token(header("RS256", "r3"), claims(), rsa_key(2), SignatureAlg::rs256);
  // Within the interval of the first fetch: no refetch.
  EXPECT_EQ(refused(unknown, kNow + seconds(10)), Refusal::unknown_kid);
  EXPECT_EQ(source.fetches(kJwks), 1);
  // After it: one refetch (the key is still not published).
  EXPECT_EQ(refused(unknown, kNow + seconds(61)), Refusal::unknown_kid);
  EXPECT_EQ(source.fetches(kJwks), 2);
  // The key appears, but a second unknown kid within 60 s of that refetch does not refetch.
  source.set(kJwks, jwks({rsa_key(0).jwk("r1"), rsa_key(2).jwk("r3")}));
  const std::string other_unknown = sign_token(header("RS256", "r4"), claims(), rsa_key(2), SignatureAlg::rs256);
  EXPECT_EQ(refused(other_unknown, kNow + seconds(90)), Refusal::unknown_kid);
  EXPECT_EQ(refused(unknown, kNow + seconds(120)), Refusal::unknown_kid);
  EXPECT_EQ(source.fetches(kJwks), 2);
  // At exactly the interval, it refetches and the key is found.
  EXPECT_EQ(accepted(unknown, kNow + seconds(121)).subject, "f3c1-user-1");
  EXPECT_EQ(source.fetches(kJwks), 3);

  // The interval is configurable.
  json issuer = base_issuer();
  issuer["jwks_refetch_interval_s"] = 5;
  make(issuer);
  accepted(rs(claims()));
  EXPECT_EQ(refused(other_unknown, kNow + seconds(4)), Refusal::unknown_kid);
  EXPECT_EQ(source.fetches(kJwks), 4);
  EXPECT_EQ(refused(other_unknown, kNow + seconds(5)), Refusal::unknown_kid);
  EXPECT_EQ(source.fetches(kJwks), 5);
}

TEST_F(VerifierTest, KeysOlderThanMaxAgeAreRefetchedSoRemovedKeysStopWorking) {
  make();
  accepted(rs(claims()));
  source.set(kJwks, jwks({ec_key(0).jwk("e1")}));
  accepted(rs(claims(kNowS + 3599)), kNow + seconds(3599));
  EXPECT_EQ(source.fetches(kJwks), 1);
  EXPECT_EQ(refused(rs(claims(kNowS + 3600)), kNow + seconds(3600)), Refusal::unknown_kid);
  EXPECT_EQ(source.fetches(kJwks), 2);
}

TEST_F(VerifierTest, UnreachableIssuerIsUnavailableNotUnauthenticated) {
  source.remove(kJwks);
  make();
  auto result = verifier->verify(rs(claims()), kNow);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::auth_unavailable);
  EXPECT_EQ(refusal_of(result.error()), Refusal::jwks_unavailable);
  EXPECT_EQ(refused(rs(claims()), kNow + seconds(30)), Refusal::jwks_unavailable);
  EXPECT_EQ(source.fetches(kJwks), 1);  // not hammered
  EXPECT_EQ(source.fetches(kDiscovery), 1);
  source.set(kJwks, jwks({rsa_key(0).jwk("r1")}));
  accepted(rs(claims()), kNow + seconds(60));

  // A later failure keeps the keys already known.
  source.remove(kJwks);
  accepted(rs(claims(kNowS + 4000)), kNow + seconds(4000));
  EXPECT_EQ(source.fetches(kJwks), 3);
}

TEST_F(VerifierTest, DiscoveryMustNameTheConfiguredIssuerAndHttpsKeys) {
  source.set(kDiscovery, discovery(std::string(kIssuer) + "/", kJwks));
  make();
  EXPECT_EQ(refused(rs(claims())), Refusal::jwks_unavailable);
  EXPECT_EQ(source.fetches(kJwks), 0);

  source.set(kDiscovery, discovery(kIssuer, "http://idp.example.org/certs"));
  source.set("http://idp.example.org/certs", jwks({rsa_key(0).jwk("r1")}));
  make();
  EXPECT_EQ(refused(rs(claims())), Refusal::jwks_unavailable);
  EXPECT_EQ(source.fetches("http://idp.example.org/certs"), 0);

  // Loopback http only with the test flag, and only to loopback.
  const std::string local = "http://127.0.0.1:8080/realms/t";
  json issuer = base_issuer();
  issuer["issuer"] = local;
  issuer["allow_insecure_http_for_tests"] = true;
  json payload = claims();
  payload["iss"] = local;
  source.set(local + "/.well-known/openid-configuration", discovery(local, "http://127.0.0.1:8080/certs"));
  source.set("http://127.0.0.1:8080/certs", jwks({rsa_key(0).jwk("r1")}));
  make(issuer);
  accepted(rs(payload));
  source.set(local + "/.well-known/openid-configuration", discovery(local, "http://evil.example/certs"));
  make(issuer);
  EXPECT_EQ(refused(rs(payload)), Refusal::jwks_unavailable);
  EXPECT_EQ(source.fetches("http://evil.example/certs"), 0);

  // A configured jwks_uri skips discovery.
  issuer = base_issuer();
  issuer["jwks_uri"] = "https://keys.example.org/jwks";
  source.set("https://keys.example.org/jwks", jwks({rsa_key(0).jwk("r1")}));
  const int discoveries = source.fetches(kDiscovery);
  make(issuer);
  accepted(rs(claims()));
  EXPECT_EQ(source.fetches(kDiscovery), discoveries);
}

TEST_F(VerifierTest, IssuerMustMatchExactly) {
  make();
  json payload = claims();
  payload["iss"] = "https://other.example.org";
  EXPECT_EQ(refused(rs(payload)), Refusal::unknown_issuer);
  payload["iss"] = std::string(kIssuer) + "/";
  EXPECT_EQ(refused(rs(payload)), Refusal::wrong_issuer);
  payload["iss"] = "https://IDP.example.org/realms/a";
  EXPECT_EQ(refused(rs(payload)), Refusal::wrong_issuer);
  payload["iss"] = 7;
  EXPECT_EQ(refused(rs(payload)), Refusal::malformed);
  payload.erase("iss");
  EXPECT_EQ(refused(rs(payload)), Refusal::malformed);
  EXPECT_EQ(source.total(), 0);
}

TEST_F(VerifierTest, TimeClaimsWithSkewBoundaries) {
  make();  // skew 30 s
  auto at = [&](const char* claim, std::int64_t value) {
    json payload = claims();
    payload[claim] = value;
    return rs(payload);
  };
  // Valid while now < exp + skew.
  EXPECT_EQ(refused(at("exp", kNowS - 30)), Refusal::expired);
  accepted(at("exp", kNowS - 29));
  // Valid from nbf - skew on.
  accepted(at("nbf", kNowS + 30));
  EXPECT_EQ(refused(at("nbf", kNowS + 31)), Refusal::not_yet_valid);
  // iat may be at most skew ahead.
  accepted(at("iat", kNowS + 30));
  EXPECT_EQ(refused(at("iat", kNowS + 31)), Refusal::issued_in_future);
  // Compared to the millisecond; NumericDates may be fractional.
  accepted(at("exp", kNowS - 29), kNow + std::chrono::milliseconds(999));
  EXPECT_EQ(refused(at("exp", kNowS - 29), kNow + seconds(1)), Refusal::expired);
  json fractional = claims();
  fractional["exp"] = static_cast<double>(kNowS - 30) + 0.5;
  accepted(rs(fractional), kNow + std::chrono::milliseconds(499));
  EXPECT_EQ(refused(rs(fractional), kNow + std::chrono::milliseconds(500)), Refusal::expired);

  json no_exp = claims();
  no_exp.erase("exp");
  EXPECT_EQ(refused(rs(no_exp)), Refusal::malformed);
  for (const json& bad : {json("1800000300"), json(1e300), json(nullptr), json(true)}) {
    json payload = claims();
    payload["exp"] = bad;
    EXPECT_EQ(refused(rs(payload)), Refusal::malformed) << bad.dump();
  }
  json issuer = base_issuer();
  issuer["max_token_lifetime_s"] = 0;  // no maximum lifetime
  make(issuer);
  json far = claims();
  far["exp"] = std::uint64_t{1} << 40;  // year 36812: valid, and no overflow in expires_at
  EXPECT_GT(accepted(rs(far)).expires_at, kNow);

  issuer = base_issuer();
  issuer["clock_skew_s"] = 0;
  make(issuer);
  EXPECT_EQ(refused(at("exp", kNowS)), Refusal::expired);
  accepted(at("exp", kNowS + 1));
  EXPECT_EQ(refused(at("nbf", kNowS + 1)), Refusal::not_yet_valid);
  EXPECT_EQ(refused(at("iat", kNowS + 1)), Refusal::issued_in_future);
}

TEST_F(VerifierTest, TokenLivingLongerThanTheIssuersMaximumIsRefused) {
  // Was accepted: a token with exp in 2100 (a forged or misissued token that never expires).
  make();  // max_token_lifetime_s defaults to 24 h
  json year_2100 = claims();
  year_2100["exp"] = 4102444800;
  EXPECT_EQ(refused(rs(year_2100)), Refusal::lifetime_too_long);
  auto result = verifier->verify(rs(year_2100), kNow);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().detail.find("max_token_lifetime_s"), std::string::npos) << result.error().detail;
  // exp - iat at the limit passes, a second more is refused.
  json day = claims();
  day["iat"] = kNowS - 10;
  day["exp"] = kNowS - 10 + 86400;
  accepted(rs(day));
  day["exp"] = kNowS - 10 + 86401;
  EXPECT_EQ(refused(rs(day)), Refusal::lifetime_too_long);
  // Without iat, what is left of the token counts: exp - now.
  json no_iat = claims();
  no_iat.erase("iat");
  no_iat["exp"] = kNowS + 86400;
  accepted(rs(no_iat));
  no_iat["exp"] = kNowS + 86401;
  EXPECT_EQ(refused(rs(no_iat)), Refusal::lifetime_too_long);
  // An iat far in the past makes a long lifetime too, even when exp is near.
  json old_iat = claims();
  old_iat["iat"] = 0;
  EXPECT_EQ(refused(rs(old_iat)), Refusal::lifetime_too_long);
  // Per issuer.
  json issuer = base_issuer();
  issuer["max_token_lifetime_s"] = 600;
  make(issuer);
  json hour = claims();
  hour["exp"] = kNowS + 3600;
  EXPECT_EQ(refused(rs(hour)), Refusal::lifetime_too_long);
  accepted(rs(claims()));  // 300 s
}

TEST_F(VerifierTest, AudienceMustNameThisApi) {
  make();
  json payload = claims();
  payload["aud"] = {"account", "mcval-api"};
  accepted(rs(payload));
  payload["aud"] = "account";
  EXPECT_EQ(refused(rs(payload)), Refusal::wrong_audience);
  payload["aud"] = json::array();
  EXPECT_EQ(refused(rs(payload)), Refusal::wrong_audience);
  payload["aud"] = "MCVAL-API";
  EXPECT_EQ(refused(rs(payload)), Refusal::wrong_audience);
  payload["aud"] = {"mcval-api", 3};
  EXPECT_EQ(refused(rs(payload)), Refusal::malformed);
  payload.erase("aud");
  EXPECT_EQ(refused(rs(payload)), Refusal::wrong_audience);
}

TEST_F(VerifierTest, IdTokensAndOtherTokensAreNotAccessTokens) {
  make();
  for (const char* marker : {"nonce", "at_hash", "c_hash"}) {
    json payload = claims();
    payload[marker] = "x";
    EXPECT_EQ(refused(rs(payload)), Refusal::id_token_as_access_token) << marker;
  }
  // An ID token without markers: its audience is the client that asked for it.
  json id_token = claims();
  id_token["aud"] = "mcval-web";
  EXPECT_EQ(refused(rs(id_token)), Refusal::id_token_as_access_token);
  // Keycloak marks its tokens in a "typ" claim.
  json payload = claims();
  payload["typ"] = "ID";
  EXPECT_EQ(refused(rs(payload)), Refusal::id_token_as_access_token);
  payload["typ"] = "Refresh";
  EXPECT_EQ(refused(rs(payload)), Refusal::not_access_token);
  payload["typ"] = "Bearer";
  accepted(rs(payload));
  payload.erase("typ");
  payload["events"] = {{"http://schemas.openid.net/event/backchannel-logout", json::object()}};
  EXPECT_EQ(refused(rs(payload)), Refusal::not_access_token);
}

TEST_F(VerifierTest, TypPolicyPerIssuer) {
  auto with_typ = [&](const json& typ) {
    json h = header();
    if (typ.is_null()) {
      h.erase("typ");
    } else {
      h["typ"] = typ;
    }
    return sign_token(h, claims(), rsa_key(0), SignatureAlg::rs256);
  };
  make();  // Keycloak-like: typ not required
  accepted(with_typ(nullptr));
  accepted(with_typ("JWT"));
  accepted(with_typ("at+jwt"));
  accepted(with_typ("application/at+JWT"));
  EXPECT_EQ(refused(with_typ("logout+jwt")), Refusal::typ_not_at_jwt);
  EXPECT_EQ(refused(with_typ("dpop+jwt")), Refusal::typ_not_at_jwt);
  EXPECT_EQ(refused(with_typ(7)), Refusal::malformed);

  json issuer = base_issuer();
  issuer["require_typ_at_jwt"] = true;
  make(issuer);
  accepted(with_typ("at+jwt"));
  accepted(with_typ("application/at+jwt"));
  EXPECT_EQ(refused(with_typ(nullptr)), Refusal::typ_not_at_jwt);
  EXPECT_EQ(refused(with_typ("JWT")), Refusal::typ_not_at_jwt);
}

TEST_F(VerifierTest, SubjectIsRequired) {
  make();
  json payload = claims();
  payload["sub"] = "";
  EXPECT_EQ(refused(rs(payload)), Refusal::malformed);
  payload["sub"] = 42;
  EXPECT_EQ(refused(rs(payload)), Refusal::malformed);
  payload.erase("sub");
  EXPECT_EQ(refused(rs(payload)), Refusal::malformed);
}

TEST_F(VerifierTest, ServiceTokens) {
  json issuer = base_issuer();
  issuer["service_claim"] = "client_id";
  issuer["rules"].push_back({{"value", "mcval-batch"},
                             {"role", "validator"},
                             {"centre", "centre-b"},
                             {"claim", "groups"},
                             {"service_only", true}});
  make(issuer);
  // INDIGO IAM: client credentials give sub == client id.
  json iam = {{"iss", kIssuer},     {"sub", "mcval-batch"}, {"azp", "mcval-batch"},
              {"aud", "mcval-api"}, {"exp", kNowS + 60},    {"groups", {"mcval-batch"}}};
  const Principal job = accepted(rs(iam));
  EXPECT_TRUE(job.is_service);
  EXPECT_TRUE(job.can(Role::validator, "centre-b"));
  // Keycloak: a service-account user id, marked by a client_id claim.
  json keycloak = {{"iss", kIssuer},           {"sub", "2b0f-service-account"},
                   {"azp", "mcval-batch"},     {"client_id", "mcval-batch"},
                   {"aud", "mcval-api"},       {"exp", kNowS + 60},
                   {"groups", {"mcval-batch"}}};
  EXPECT_TRUE(accepted(rs(keycloak)).is_service);
  // A human in the same group gets nothing from the service-only rule.
  json human = claims();
  human["groups"] = {"mcval-batch"};
  const Principal person = accepted(rs(human));
  EXPECT_FALSE(person.is_service);
  EXPECT_TRUE(person.grants.empty());
}

TEST_F(VerifierTest, TwoIssuersAtOnceEachWithItsOwnKeysAndMapping) {
  const std::string kc = "https://kc.hospital.example/realms/pathology";
  const std::string ls = "https://login.elixir-czech.org/oidc/";
  json keycloak = {{"name", "hospital"},
                   {"issuer", kc},
                   {"jwks_uri", kc + "/protocol/openid-connect/certs"},
                   {"audiences", {"mcval-api"}},
                   {"group_claims", {"realm_access.roles"}},
                   {"rules", {{{"value", "mcval-steward"}, {"role", "data_steward"}, {"centre", "centre-a"}}}}};
  json lsaai = {{"name", "ls-login"},
                {"issuer", ls},
                {"audiences", {"https://mcval.example.org/api"}},
                {"algorithms", {"ES256"}},
                {"require_typ_at_jwt", true},
                {"group_claims", {"eduperson_entitlement"}},
                {"rules",
                 {{{"value", "urn:geant:lifescience-ri.eu:group:mcval:centre-b:role=viewer#login.elixir-czech.org"},
                   {"role", "viewer"},
                   {"centre", "centre-b"}}}}};
  source.set(kc + "/protocol/openid-connect/certs", jwks({rsa_key(1).jwk("shared")}));
  source.set("https://login.elixir-czech.org/oidc/.well-known/openid-configuration",
             discovery(ls, "https://login.elixir-czech.org/oidc/jwk"));
  source.set("https://login.elixir-czech.org/oidc/jwk", jwks({ec_key(1).jwk("shared")}));
  verifier = std::make_unique<TokenVerifier>(config_of({keycloak, lsaai}), source);
  EXPECT_TRUE(verifier->prefetch(kNow).empty());

  json kc_claims = {{"iss", kc},
                    {"sub", "user-7"},
                    {"aud", {"account", "mcval-api"}},
                    {"exp", kNowS + 60},
                    {"typ", "Bearer"},
                    {"azp", "mcval-web"},
                    {"preferred_username", "nurse"},
                    {"realm_access", {{"roles", {"mcval-steward", "offline_access"}}}},
                    {"eduperson_entitlement",
                     {"urn:geant:lifescience-ri.eu:group:mcval:centre-b:role=viewer#login.elixir-czech.org"}}};
  const Principal from_kc = accepted(
      sign_token({{"alg", "RS256"}, {"kid", "shared"}, {"typ", "JWT"}}, kc_claims, rsa_key(1), SignatureAlg::rs256));
  EXPECT_EQ(from_kc.issuer_name, "hospital");
  EXPECT_EQ(from_kc.display_name, "nurse");
  EXPECT_EQ(from_kc.grants, (std::set<Grant>{{Role::data_steward, "centre-a"}}));  // not LS Login's mapping

  json ls_claims = {{"iss", ls},
                    {"sub", "user-7"},
                    {"aud", "https://mcval.example.org/api"},
                    {"exp", kNowS + 60},
                    {"eduperson_entitlement",
                     {"urn:geant:lifescience-ri.eu:group:mcval:centre-b:role=viewer#login.elixir-czech.org"}},
                    {"realm_access", {{"roles", {"mcval-steward"}}}}};
  const std::string ls_token =
      sign_token({{"alg", "ES256"}, {"kid", "shared"}, {"typ", "at+jwt"}}, ls_claims, ec_key(1), SignatureAlg::es256);
  const Principal from_ls = accepted(ls_token);
  EXPECT_EQ(from_ls.grants, (std::set<Grant>{{Role::viewer, "centre-b"}}));
  // Same sub, different issuers: different users.
  EXPECT_NE(from_kc.key(), from_ls.key());
  EXPECT_NE(from_kc.stable_id(), from_ls.stable_id());

  // One issuer's key never verifies the other's tokens, and each keeps its own policy.
  EXPECT_EQ(refused(sign_token({{"alg", "ES256"}, {"kid", "shared"}, {"typ", "at+jwt"}}, kc_claims, ec_key(1),
                               SignatureAlg::es256)),
            Refusal::alg_not_allowed);
  json ls_as_kc = ls_claims;
  ls_as_kc["aud"] = "mcval-api";
  EXPECT_EQ(refused(sign_token({{"alg", "ES256"}, {"kid", "shared"}, {"typ", "at+jwt"}}, ls_as_kc, ec_key(1),
                               SignatureAlg::es256)),
            Refusal::wrong_audience);
  json kc_in_ls = kc_claims;
  kc_in_ls["iss"] = ls;
  EXPECT_EQ(refused(sign_token({{"alg", "RS256"}, {"kid", "shared"}, {"typ", "at+jwt"}}, kc_in_ls, rsa_key(1),
                               SignatureAlg::rs256)),
            Refusal::alg_not_allowed);
  EXPECT_EQ(refused(sign_token({{"alg", "ES256"}, {"kid", "shared"}, {"typ", "at+jwt"}}, kc_in_ls, ec_key(0),
                               SignatureAlg::es256)),
            Refusal::bad_signature);
}

TEST_F(VerifierTest, PrefetchReportsIssuersWhoseKeysCannotBeFetched) {
  source.remove(kJwks);
  make();
  const auto failures = verifier->prefetch(kNow);
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0].code, ErrorCode::auth_unavailable);
}

// 8 threads verify while the issuer rotates keys underneath: tokens of the key present in every
// JWKS must always pass; tokens of the rotating key pass or are unknown_kid, nothing else.
TEST_F(VerifierTest, ConcurrentVerificationDuringKeyRotation) {
  json issuer = base_issuer();
  issuer["jwks_refetch_interval_s"] = 1;
  issuer["jwks_max_age_s"] = 60;
  issuer["max_token_lifetime_s"] = 2'000'000;  // the tokens below live 1,000,000 s
  make(issuer);
  json long_lived = claims();
  long_lived["exp"] = kNowS + 1'000'000;
  const std::string stable_long = rs(long_lived);
  const std::string rotating = sign_token(header("ES256", "e-rot"), long_lived, ec_key(2), SignatureAlg::es256);
  std::atomic<std::int64_t> clock{0};
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 150; ++i) {
        const Clock::time_point now = kNow + seconds(clock.fetch_add(1) / 4);
        auto a = verifier->verify(stable_long, now);
        if (!a.ok() || a->subject != "f3c1-user-1") failures.fetch_add(1);
        auto b = verifier->verify(t % 2 == 0 ? rotating : stable_long, now);
        if (!b.ok() && refusal_of(b.error()) != Refusal::unknown_kid) {
          failures.fetch_add(1);
        }
      }
    });
  }
  std::thread rotator([&] {
    for (int i = 0; !stop.load(); ++i) {
      if (i % 2 == 0) {
        source.set(kJwks, jwks({rsa_key(0).jwk("r1"), ec_key(2).jwk("e-rot")}));
      } else {
        source.set(kJwks, jwks({ec_key(1).jwk("e-other"), rsa_key(0).jwk("r1")}));
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  for (auto& thread : threads) thread.join();
  stop = true;
  rotator.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(verifier->jwks_fetches(), 1u);
  source.set(kJwks, jwks({rsa_key(0).jwk("r1"), ec_key(2).jwk("e-rot")}));
  const auto end = kNow + seconds(clock.load() / 4 + 120);
  EXPECT_TRUE(verifier->verify(rotating, end).ok());
}

}  // namespace
}  // namespace mcval::auth
