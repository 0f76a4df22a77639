#pragma once
// JSON Web Keys (RFC 7517) for verifying access-token signatures: RSA (at least 2048 bits) and
// EC P-256 public keys, turned into OpenSSL EVP_PKEYs. Symmetric ("oct"), OKP and other curves
// are refused: mcval never verifies with a secret or with a key type it has not been reviewed for.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mcval/common/result.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace mcval::auth {

/// The signature algorithms mcval can verify (RFC 7518). Everything else, `none` and HS* included,
/// has no value here and is therefore never allowed.
enum class SignatureAlg { rs256, ps256, es256 };

std::string_view alg_name(SignatureAlg alg) noexcept;                       ///< "RS256", "PS256", "ES256"
std::optional<SignatureAlg> alg_from_name(std::string_view name) noexcept;  ///< exact, case-sensitive

enum class KeyType { rsa, ec_p256 };

/// One public key. Immutable; copies share the OpenSSL key, which may be used for verification
/// from many threads at once.
class Jwk {
 public:
  /// Parses one JWK object. invalid_argument with the reason for malformed members, an
  /// unsupported kty or crv, an RSA modulus below 2048 (or above 8192) bits, a point not on
  /// the curve, or a key whose "use"/"key_ops"/"alg" exclude signature verification with
  /// RS256, PS256 or ES256.
  static Result<Jwk> parse(const nlohmann::json& object);

  const std::string& kid() const { return kid_; }  ///< empty when the JWK has none
  KeyType type() const { return type_; }
  /// The JWK's own "alg", when it names one.
  std::optional<SignatureAlg> alg() const { return alg_; }
  int bits() const { return bits_; }
  /// True when a signature with `alg` may be checked with this key: the key type fits and the
  /// JWK's own "alg", if any, is the same.
  bool usable_for(SignatureAlg alg) const;
  /// The OpenSSL key (never null for a parsed Jwk); valid as long as any copy of this Jwk.
  evp_pkey_st* native() const { return pkey_.get(); }

 private:
  Jwk() = default;
  std::string kid_;
  KeyType type_ = KeyType::rsa;
  std::optional<SignatureAlg> alg_;
  int bits_ = 0;
  std::shared_ptr<evp_pkey_st> pkey_;
};

/// A JWKS document: the usable keys, plus a note for each key left out (for the log).
class JwkSet {
 public:
  static constexpr std::size_t kMaxKeys = 64;
  static constexpr std::size_t kMaxDocumentBytes = 1024 * 1024;

  JwkSet() = default;
  explicit JwkSet(std::vector<Jwk> keys) : keys_(std::move(keys)) {}

  /// Parses `{"keys":[...]}`. The document as a whole must be a JSON object with a "keys" array
  /// (invalid_argument otherwise); single keys that fail Jwk::parse, repeat an earlier (kid, kty)
  /// or come after kMaxKeys are left out and noted in skipped().
  static Result<JwkSet> parse(std::string_view json_text);

  const std::vector<Jwk>& keys() const { return keys_; }
  const std::vector<std::string>& skipped() const { return skipped_; }

  /// The key for a token: with a kid, the key with that kid usable for `alg`; without one, the
  /// only key usable for `alg` (nullptr if there are several or none).
  const Jwk* find(std::optional<std::string_view> kid, SignatureAlg alg) const;

 private:
  std::vector<Jwk> keys_;
  std::vector<std::string> skipped_;
};

}  // namespace mcval::auth
