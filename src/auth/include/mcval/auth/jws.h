#pragma once
// JWS compact serialization (RFC 7515) as used by JWT access tokens: parsing (unverified) and
// signature verification with a Jwk. Header members that point at keys (jku, x5u, jwk, x5c)
// are never read: the key always comes from the issuer's configured JWKS.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mcval/auth/jwk.h"
#include "mcval/common/result.h"

namespace mcval::auth {

struct JwsLimits {
  std::size_t max_token_bytes = 16 * 1024;  ///< the whole compact token
  int max_json_depth = 16;                  ///< nesting of header and payload
};

/// A parsed but not yet verified token. Nothing in it may be trusted before verify_signature.
struct Jws {
  nlohmann::json header;   ///< a JSON object
  nlohmann::json payload;  ///< a JSON object (the claims)
  std::string alg;         ///< header "alg" as written
  std::optional<std::string> kid;
  std::optional<std::string> typ;
  std::string signing_input;  ///< ASCII "<header>.<payload>" as received
  std::string signature;      ///< decoded signature bytes
};

/// Parses a compact JWS: exactly three strict-base64url parts, header and payload JSON objects
/// without duplicate members, "alg" a string, "kid"/"typ" strings when present, no "crit"
/// (mcval understands no extension; Refusal::unsupported_crit), within `limits`. Errors are
/// refusals (see refusal.h), mostly Refusal::malformed.
Result<Jws> parse_jws(std::string_view compact, const JwsLimits& limits = {});

/// True when `jws.signature` is a valid `alg` signature of `jws.signing_input` under `key`:
/// RS256 RSASSA-PKCS1-v1_5 with SHA-256; PS256 RSASSA-PSS with SHA-256, MGF1-SHA-256 and a
/// 32-byte salt; ES256 ECDSA P-256 with SHA-256 and the signature as r||s (64 bytes).
/// False as well when the key does not fit the algorithm. Thread-safe.
bool verify_signature(const Jws& jws, SignatureAlg alg, const Jwk& key);

}  // namespace mcval::auth
