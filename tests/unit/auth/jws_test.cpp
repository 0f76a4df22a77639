#include "mcval/auth/jws.h"

#include <gtest/gtest.h>

#include "mcval/auth/base64url.h"
#include "mcval/auth/refusal.h"
#include "test_signer.h"

namespace mcval::auth {
namespace {

using nlohmann::json;
using testing::ec_key;
using testing::rsa_key;

const json kHeader = {{"alg", "RS256"}, {"kid", "k1"}, {"typ", "at+jwt"}};
const json kPayload = {{"iss", "https://idp.example.org"}, {"sub", "u1"}};

Refusal refusal(std::string_view token) {
  auto parsed = parse_jws(token);
  EXPECT_FALSE(parsed.ok()) << token;
  if (parsed.ok()) return Refusal::jwks_unavailable;
  EXPECT_EQ(parsed.error().code, ErrorCode::unauthenticated);
  return refusal_of(parsed.error()).value_or(Refusal::jwks_unavailable);
}

std::string b64(std::string_view text) { return base64url_encode(text); }

TEST(Jws, ParsesACompactToken) {
  const std::string token = testing::sign_token(kHeader, kPayload, rsa_key(0), SignatureAlg::rs256);
  auto jws = parse_jws(token);
  ASSERT_TRUE(jws.ok()) << jws.error().to_string();
  EXPECT_EQ(jws->alg, "RS256");
  EXPECT_EQ(jws->kid.value(), "k1");
  EXPECT_EQ(jws->typ.value(), "at+jwt");
  EXPECT_EQ(jws->payload["sub"], "u1");
  EXPECT_EQ(jws->signature.size(), 256u);
  EXPECT_EQ(jws->signing_input, token.substr(0, token.rfind('.')));
}

TEST(Jws, MalformedStructureIsRefused) {
  const std::string h = b64(kHeader.dump());
  const std::string p = b64(kPayload.dump());
  EXPECT_EQ(refusal(""), Refusal::malformed);
  EXPECT_EQ(refusal(h + "." + p), Refusal::malformed);                      // two parts
  EXPECT_EQ(refusal(h + "." + p + ".c2ln.c2ln"), Refusal::malformed);       // four parts
  EXPECT_EQ(refusal(h + "." + p + ".c2ln.c2ln.c2ln"), Refusal::malformed);  // JWE-like five
  EXPECT_EQ(refusal(h + "." + p + "."), Refusal::malformed);                // empty signature (alg none style)
  EXPECT_EQ(refusal(h + ".." + "c2ln"), Refusal::malformed);                // empty payload
  EXPECT_EQ(refusal("." + p + ".c2ln"), Refusal::malformed);                // empty header
  EXPECT_EQ(refusal(h + "=." + p + ".c2ln"), Refusal::malformed);           // padding
  EXPECT_EQ(refusal(h + "." + p + ".c2ln="), Refusal::malformed);
  EXPECT_EQ(refusal(h + "." + p + ".c+ln"), Refusal::malformed);                       // base64 alphabet
  EXPECT_EQ(refusal(" " + h + "." + p + ".c2ln"), Refusal::malformed);                 // whitespace
  EXPECT_EQ(refusal(b64("[1]") + "." + p + ".c2ln"), Refusal::malformed);              // header not an object
  EXPECT_EQ(refusal(h + "." + b64("\"sub\"") + ".c2ln"), Refusal::malformed);          // payload not an object
  EXPECT_EQ(refusal(h + "." + b64("{\"sub\":") + ".c2ln"), Refusal::malformed);        // payload not JSON
  EXPECT_EQ(refusal(b64(R"({"kid":"k1"})") + "." + p + ".c2ln"), Refusal::malformed);  // no alg
  EXPECT_EQ(refusal(b64(R"({"alg":["RS256"]})") + "." + p + ".c2ln"), Refusal::malformed);
  EXPECT_EQ(refusal(b64(R"({"alg":"RS256","kid":7})") + "." + p + ".c2ln"), Refusal::malformed);
  EXPECT_EQ(refusal(b64(R"({"alg":"RS256","typ":null})") + "." + p + ".c2ln"), Refusal::malformed);
  EXPECT_EQ(refusal(b64(R"({"alg":"RSA-OAEP","enc":"A256GCM"})") + "." + p + ".c2ln"), Refusal::malformed);
}

TEST(Jws, DuplicateMembersAreRefusedEvenWhenSigned) {
  // A parser keeping the first "sub" and one keeping the last would disagree on who this is.
  const std::string token =
      testing::sign_token_text(kHeader.dump(), R"({"iss":"https://idp.example.org","sub":"alice","sub":"admin"})",
                               rsa_key(0), SignatureAlg::rs256);
  EXPECT_EQ(refusal(token), Refusal::malformed);
  const std::string header_twice =
      testing::sign_token_text(R"({"alg":"RS256","alg":"none"})", kPayload.dump(), rsa_key(0), SignatureAlg::rs256);
  EXPECT_EQ(refusal(header_twice), Refusal::malformed);
}

TEST(Jws, SizeAndDepthAreBounded) {
  json big = kPayload;
  big["pad"] = std::string(13000, 'x');
  const std::string token = testing::sign_token(kHeader, big, rsa_key(0), SignatureAlg::rs256);
  EXPECT_GT(token.size(), 16u * 1024);
  EXPECT_EQ(refusal(token), Refusal::malformed);
  EXPECT_TRUE(parse_jws(token, JwsLimits{64 * 1024, 16}).ok());

  std::string deep = R"({"iss":"x","a":)" + std::string(20, '[') + std::string(20, ']') + "}";
  EXPECT_EQ(refusal(testing::sign_token_text(kHeader.dump(), deep, rsa_key(0), SignatureAlg::rs256)),
            Refusal::malformed);
}

TEST(Jws, ByteOrderMarkBeforeHeaderOrPayloadIsMalformed) {
  // Was accepted: the JSON parser skipped a UTF-8 BOM, so mcval read a token that a strict
  // verifier in front of it would refuse.
  const std::string bom = "\xEF\xBB\xBF";
  EXPECT_EQ(refusal(testing::sign_token_text(bom + kHeader.dump(), kPayload.dump(), rsa_key(0), SignatureAlg::rs256)),
            Refusal::malformed);
  EXPECT_EQ(refusal(testing::sign_token_text(kHeader.dump(), bom + kPayload.dump(), rsa_key(0), SignatureAlg::rs256)),
            Refusal::malformed);
  auto parsed =
      parse_jws(testing::sign_token_text(kHeader.dump(), bom + kPayload.dump(), rsa_key(0), SignatureAlg::rs256));
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().detail.find("byte-order mark"), std::string::npos) << parsed.error().detail;
  // Inside a string value it is only a character.
  json payload = kPayload;
  payload["name"] = bom + "Ada";
  EXPECT_TRUE(parse_jws(testing::sign_token(kHeader, payload, rsa_key(0), SignatureAlg::rs256)).ok());
}

TEST(Jws, CritIsRefused) {
  json header = kHeader;
  header["crit"] = json::array({"exp"});
  header["exp"] = 1;
  EXPECT_EQ(refusal(testing::sign_token(header, kPayload, rsa_key(0), SignatureAlg::rs256)), Refusal::unsupported_crit);
  header["crit"] = json::array({"b64"});
  header["b64"] = false;
  EXPECT_EQ(refusal(testing::sign_token(header, kPayload, rsa_key(0), SignatureAlg::rs256)), Refusal::unsupported_crit);
  header["crit"] = json::array();
  EXPECT_EQ(refusal(testing::sign_token(header, kPayload, rsa_key(0), SignatureAlg::rs256)), Refusal::malformed);
}

Jwk jwk_of(const testing::TestKey& key, const std::string& alg = "") {
  auto parsed = Jwk::parse(key.jwk("k", alg));
  EXPECT_TRUE(parsed.ok());
  return std::move(parsed).value();
}

bool verifies(const std::string& token, SignatureAlg alg, const Jwk& key) {
  auto jws = parse_jws(token);
  EXPECT_TRUE(jws.ok()) << token;
  return jws.ok() && verify_signature(*jws, alg, key);
}

TEST(Jws, VerifiesEachAlgorithmAndNothingElse) {
  const Jwk rsa = jwk_of(rsa_key(0));
  const Jwk other_rsa = jwk_of(rsa_key(1));
  const Jwk ec = jwk_of(ec_key(0));
  const Jwk other_ec = jwk_of(ec_key(1));
  const std::string rs = testing::sign_token(kHeader, kPayload, rsa_key(0), SignatureAlg::rs256);
  const std::string ps = testing::sign_token(kHeader, kPayload, rsa_key(0), SignatureAlg::ps256);
  const std::string es = testing::sign_token(kHeader, kPayload, ec_key(0), SignatureAlg::es256);

  EXPECT_TRUE(verifies(rs, SignatureAlg::rs256, rsa));
  EXPECT_TRUE(verifies(ps, SignatureAlg::ps256, rsa));
  EXPECT_TRUE(verifies(es, SignatureAlg::es256, ec));

  EXPECT_FALSE(verifies(rs, SignatureAlg::rs256, other_rsa));
  EXPECT_FALSE(verifies(ps, SignatureAlg::ps256, other_rsa));
  EXPECT_FALSE(verifies(es, SignatureAlg::es256, other_ec));
  EXPECT_FALSE(verifies(rs, SignatureAlg::ps256, rsa));  // PKCS#1 v1.5 is not PSS
  EXPECT_FALSE(verifies(ps, SignatureAlg::rs256, rsa));
  EXPECT_FALSE(verifies(rs, SignatureAlg::es256, ec));  // key type mismatch
  EXPECT_FALSE(verifies(es, SignatureAlg::rs256, rsa));
  EXPECT_FALSE(verifies(rs, SignatureAlg::ps256, jwk_of(rsa_key(0), "RS256")));  // the JWK's own alg wins

  // PS256 requires the 32-byte salt of RFC 7518.
  const std::string input = b64(kHeader.dump()) + "." + b64(kPayload.dump());
  const std::string salt20 = input + "." + b64(rsa_key(0).sign(SignatureAlg::ps256, input, 20));
  EXPECT_FALSE(verifies(salt20, SignatureAlg::ps256, rsa));

  // ES256 signatures are exactly 64 bytes of r||s: DER or truncated forms are refused.
  auto jws = parse_jws(es);
  ASSERT_TRUE(jws.ok());
  Jws truncated = *jws;
  truncated.signature.pop_back();
  EXPECT_FALSE(verify_signature(truncated, SignatureAlg::es256, ec));
  Jws zero = *jws;
  zero.signature.assign(64, '\0');
  EXPECT_FALSE(verify_signature(zero, SignatureAlg::es256, ec));
}

TEST(Jws, TamperedPartsDoNotVerify) {
  const Jwk rsa = jwk_of(rsa_key(0));
  const std::string token = testing::sign_token(kHeader, kPayload, rsa_key(0), SignatureAlg::rs256);
  const std::size_t dot = token.find('.');
  json changed = kPayload;
  changed["sub"] = "admin";
  const std::string tampered_payload =
      token.substr(0, dot) + "." + b64(changed.dump()) + token.substr(token.rfind('.'));
  EXPECT_FALSE(verifies(tampered_payload, SignatureAlg::rs256, rsa));
  json header = kHeader;
  header["kid"] = "k2";
  const std::string tampered_header = b64(header.dump()) + token.substr(dot);
  EXPECT_FALSE(verifies(tampered_header, SignatureAlg::rs256, rsa));
}

}  // namespace
}  // namespace mcval::auth
