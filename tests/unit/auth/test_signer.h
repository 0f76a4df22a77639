#pragma once
// Test-only token signing with OpenSSL: fresh RSA-2048 and P-256 keys, their JWKs, and compact
// JWS tokens signed with them (or with HMAC, for the key-confusion attack). Never used by mcval.
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mcval/auth/jwk.h"

struct evp_pkey_st;

namespace mcval::auth::testing {

class TestKey {
 public:
  static TestKey rsa(int bits = 2048);
  static TestKey ec(const char* curve = "P-256");

  /// The public JWK (kty, n/e or crv/x/y) with `kid`, and `alg` when not empty.
  nlohmann::json jwk(const std::string& kid, const std::string& alg = "") const;
  /// PEM of the public key (SubjectPublicKeyInfo), as an attacker could download it.
  std::string public_pem() const;
  /// The JOSE signature of `input` (r||s for ES256). `pss_salt` only for PS256.
  std::string sign(SignatureAlg alg, std::string_view input, int pss_salt = 32) const;

 private:
  std::shared_ptr<evp_pkey_st> pkey_;
};

/// Keys made once per test process (RSA key generation is slow).
const TestKey& rsa_key(int index);  ///< 0..2
const TestKey& ec_key(int index);   ///< 0..2

/// base64url(header).base64url(payload) signed with `key` and `alg`.
std::string sign_token(const nlohmann::json& header, const nlohmann::json& payload, const TestKey& key,
                       SignatureAlg alg);
/// The same with raw header/payload text (to test duplicate members and odd JSON).
std::string sign_token_text(std::string_view header, std::string_view payload, const TestKey& key, SignatureAlg alg);
/// HS256 with `secret` as the HMAC key.
std::string hmac_token(const nlohmann::json& header, const nlohmann::json& payload, std::string_view secret);

}  // namespace mcval::auth::testing
