#include "mcval/auth/jwk.h"

#include <gtest/gtest.h>

#include "test_signer.h"

namespace mcval::auth {
namespace {

using nlohmann::json;
using testing::ec_key;
using testing::rsa_key;
using testing::TestKey;

std::string parse_error(const json& key) {
  auto parsed = Jwk::parse(key);
  EXPECT_FALSE(parsed.ok()) << key.dump();
  return parsed.ok() ? "" : parsed.error().detail;
}

TEST(Jwk, ParsesRsaAndP256Keys) {
  auto rsa = Jwk::parse(rsa_key(0).jwk("r1", "RS256"));
  ASSERT_TRUE(rsa.ok()) << rsa.error().to_string();
  EXPECT_EQ(rsa->kid(), "r1");
  EXPECT_EQ(rsa->type(), KeyType::rsa);
  EXPECT_EQ(rsa->bits(), 2048);
  EXPECT_TRUE(rsa->usable_for(SignatureAlg::rs256));
  EXPECT_FALSE(rsa->usable_for(SignatureAlg::ps256));  // its own alg says RS256
  EXPECT_FALSE(rsa->usable_for(SignatureAlg::es256));
  EXPECT_NE(rsa->native(), nullptr);

  auto any_rsa = Jwk::parse(rsa_key(0).jwk("r2"));
  ASSERT_TRUE(any_rsa.ok());
  EXPECT_TRUE(any_rsa->usable_for(SignatureAlg::rs256));
  EXPECT_TRUE(any_rsa->usable_for(SignatureAlg::ps256));

  auto ec = Jwk::parse(ec_key(0).jwk("e1"));
  ASSERT_TRUE(ec.ok()) << ec.error().to_string();
  EXPECT_EQ(ec->type(), KeyType::ec_p256);
  EXPECT_TRUE(ec->usable_for(SignatureAlg::es256));
  EXPECT_FALSE(ec->usable_for(SignatureAlg::rs256));
}

TEST(Jwk, RefusesWeakUnsupportedAndMalformedKeys) {
  EXPECT_NE(parse_error(TestKey::rsa(1024).jwk("small")).find("1024 bits"), std::string::npos);
  EXPECT_NE(parse_error(TestKey::ec("P-384").jwk("p384")).find("curve"), std::string::npos);
  EXPECT_NE(parse_error(json{{"kty", "oct"}, {"k", "c2VjcmV0"}}).find("symmetric"), std::string::npos);
  EXPECT_NE(parse_error(json{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "AAAA"}}).find("unsupported"),
            std::string::npos);
  parse_error(json{{"n", "AQAB"}, {"e", "AQAB"}});  // no kty
  parse_error(json::array());

  json key = rsa_key(0).jwk("k");
  key["n"] = key["n"].get<std::string>() + "=";  // padded
  parse_error(key);
  key = rsa_key(0).jwk("k");
  key["e"] = 65537;  // not a string
  parse_error(key);
  key = rsa_key(0).jwk("k");
  key["e"] = "Ag";  // even exponent
  parse_error(key);
  key = rsa_key(0).jwk("k");
  key["use"] = "enc";
  parse_error(key);
  key = rsa_key(0).jwk("k");
  key["key_ops"] = json::array({"encrypt"});
  parse_error(key);
  key["key_ops"] = json::array({"verify"});
  EXPECT_TRUE(Jwk::parse(key).ok());
  key = rsa_key(0).jwk("k", "RSA-OAEP");
  parse_error(key);
  key = rsa_key(0).jwk("k", "ES256");  // alg of another key type
  parse_error(key);
  key = rsa_key(0).jwk("k", "HS256");
  parse_error(key);

  json ec = ec_key(0).jwk("e");
  ec["x"] = ec["x"].get<std::string>().substr(0, 42);  // 31 bytes
  parse_error(ec);
  ec = ec_key(0).jwk("e");
  ec["y"] = ec_key(1).jwk("e")["y"];  // not on the curve (almost surely)
  parse_error(ec);
  ec = ec_key(0).jwk("e");
  ec.erase("crv");
  parse_error(ec);
}

TEST(JwkSet, SkipsUnusableKeysAndFindsByKidAndAlg) {
  json doc = {{"keys", json::array({rsa_key(0).jwk("a"), json{{"kty", "oct"}, {"k", "AAAA"}, {"kid", "h"}},
                                    ec_key(0).jwk("b"), rsa_key(1).jwk("a"), TestKey::rsa(1024).jwk("weak")})}};
  auto set = JwkSet::parse(doc.dump());
  ASSERT_TRUE(set.ok()) << set.error().to_string();
  EXPECT_EQ(set->keys().size(), 2u);
  EXPECT_EQ(set->skipped().size(), 3u);  // oct, the repeated kid "a", the weak key
  ASSERT_NE(set->find("a", SignatureAlg::rs256), nullptr);
  EXPECT_EQ(set->find("a", SignatureAlg::es256), nullptr);
  EXPECT_NE(set->find("b", SignatureAlg::es256), nullptr);
  EXPECT_EQ(set->find("c", SignatureAlg::rs256), nullptr);
  // Without a kid: the only key for the algorithm, or none if ambiguous.
  EXPECT_NE(set->find(std::nullopt, SignatureAlg::es256), nullptr);
  auto two_rsa = JwkSet::parse(json{{"keys", {rsa_key(0).jwk("a"), rsa_key(1).jwk("b")}}}.dump());
  ASSERT_TRUE(two_rsa.ok());
  EXPECT_EQ(two_rsa->find(std::nullopt, SignatureAlg::rs256), nullptr);

  EXPECT_FALSE(JwkSet::parse("[]").ok());
  EXPECT_FALSE(JwkSet::parse(R"({"keys":{}})").ok());
  EXPECT_FALSE(JwkSet::parse(R"({"keys":[],"keys":[]})").ok());
  EXPECT_FALSE(JwkSet::parse("not json").ok());
  EXPECT_TRUE(JwkSet::parse(R"({"keys":[]})").ok());
}

}  // namespace
}  // namespace mcval::auth
