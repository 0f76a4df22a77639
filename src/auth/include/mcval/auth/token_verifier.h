#pragma once
// Verifies bearer access tokens from several trusted issuers at once (OAuth 2.0 resource
// server). Keys come from each issuer's JWKS through an injected KeySource, are cached, and are
// refetched (rate limited) when a token names an unknown kid, so key rotation needs no restart.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mcval/auth/issuer_config.h"
#include "mcval/auth/jws.h"
#include "mcval/auth/key_source.h"
#include "mcval/auth/principal.h"
#include "mcval/auth/refusal.h"
#include "mcval/common/result.h"

namespace mcval::auth {

/// Thread-safe: verify() may be called from any number of threads at once. Each issuer's key
/// set is an immutable snapshot swapped atomically; fetches for one issuer are serialized (a
/// thread needing fresh keys waits for a fetch already under way instead of starting another).
class TokenVerifier {
 public:
  /// `source` must outlive the verifier. Nothing is fetched here: keys are fetched on first use
  /// or by prefetch().
  TokenVerifier(AuthConfig config, KeySource& source, JwsLimits limits = {});
  ~TokenVerifier();
  TokenVerifier(const TokenVerifier&) = delete;
  TokenVerifier& operator=(const TokenVerifier&) = delete;

  /// Verifies a compact JWS access token at time `now`. In order: parse (malformed,
  /// unsupported_crit); find the issuer by exact `iss` (unknown_issuer, wrong_issuer); the
  /// issuer's algorithm allow-list (alg_not_allowed: none and HS* always); the key by kid, with
  /// one rate-limited refetch of the JWKS when the kid is unknown (unknown_kid; jwks_unavailable
  /// when the issuer's keys were never fetched); the signature (bad_signature); the claims
  /// (validate_claims). Errors are refusals: refusal_of(error) gives the reason.
  Result<Principal> verify(std::string_view token, std::chrono::system_clock::time_point now);
  Result<Principal> verify(std::string_view token) { return verify(token, std::chrono::system_clock::now()); }

  /// Verifies an OpenID Connect ID token from a browser login with `issuer` (its exact `iss`):
  /// the same parsing, algorithm allow-list, keys and signature check as verify(), then
  /// validate_id_token_claims() with `client_id` and the login's `nonce`. Returns `sub`.
  Result<std::string> verify_id_token(std::string_view token, std::string_view issuer, std::string_view client_id,
                                      std::string_view nonce, std::chrono::system_clock::time_point now);

  /// Fetches the keys of every issuer that has none yet (call at start so the first request does
  /// not wait). Returns one Error per issuer that failed (the server may start anyway: that
  /// issuer's tokens are refused with jwks_unavailable until a later fetch succeeds).
  std::vector<Error> prefetch(std::chrono::system_clock::time_point now);

  const AuthConfig& config() const { return config_; }
  /// JWKS fetch attempts so far, all issuers together (for metrics and tests).
  std::uint64_t jwks_fetches() const { return fetches_.load(); }

 private:
  struct KeySnapshot;
  struct IssuerState;

  std::shared_ptr<const KeySnapshot> refresh(IssuerState& state, std::chrono::system_clock::time_point now,
                                             const KeySnapshot* seen);
  /// The algorithm allow-list, the key (with one rate-limited refetch) and the signature.
  Status check_signature(const Jws& jws, IssuerState& state, std::chrono::system_clock::time_point now);

  AuthConfig config_;
  KeySource& source_;
  JwsLimits limits_;
  std::unordered_map<std::string, std::unique_ptr<IssuerState>>
      issuers_;                                                ///< by exact issuer; fixed after construction
  std::unordered_map<std::string, std::string> near_issuers_;  ///< lower-case, no trailing '/' -> issuer
  std::atomic<std::uint64_t> fetches_{0};
};

/// The token of an `Authorization` header value "Bearer <token>" (scheme case-insensitive, one
/// or more spaces, token of RFC 6750 b64token characters); nullopt for anything else.
std::optional<std::string_view> bearer_token(std::string_view authorization);

/// The `WWW-Authenticate` value for a refusal (RFC 6750): invalid_token with the reason name as
/// error_description; for no token at all pass nullptr (no error attribute).
std::string www_authenticate(const Error* refusal, std::string_view realm = "mcval");

}  // namespace mcval::auth
