#pragma once
// Why a token was refused: one stable snake_case reason per check, for the audit log and for
// the RFC 6750 error_description. A refusal travels as an Error whose detail starts with the
// reason name ("expired: ..."); refusal_of() reads it back.
#include <optional>
#include <string>
#include <string_view>

#include "mcval/common/error.h"

namespace mcval::auth {

enum class Refusal {
  malformed,                 ///< not a compact JWS of JSON objects within the limits, or a claim of the wrong type
  unknown_issuer,            ///< `iss` is no configured issuer
  wrong_issuer,              ///< `iss` differs from a configured issuer only in case or a trailing '/'
  alg_not_allowed,           ///< `alg` is none, HMAC, or off the issuer's allow-list (checked before any key)
  unsupported_crit,          ///< `crit` names an extension (mcval understands none)
  unknown_kid,               ///< no key of the issuer with this `kid` and algorithm, even after a refetch
  bad_signature,             ///< the signature does not verify with the issuer's key
  expired,                   ///< now >= exp + skew
  not_yet_valid,             ///< now < nbf - skew
  issued_in_future,          ///< iat > now + skew
  wrong_audience,            ///< `aud` holds none of the issuer's accepted audiences
  typ_not_at_jwt,            ///< header `typ` is not at+jwt where required, or names another token type
  id_token_as_access_token,  ///< an OpenID Connect ID token (nonce, at_hash, c_hash, typ ID, aud = client)
  not_access_token,          ///< another kind of token (refresh, logout, security event)
  lifetime_too_long,         ///< exp - iat (exp - now without iat) beyond the issuer's max_token_lifetime_s
  jwks_unavailable,          ///< the issuer's keys could not be fetched (auth_unavailable, 503)
};

std::string_view refusal_name(Refusal reason) noexcept;

/// The Error for a refusal: unauthenticated (401), or auth_unavailable (503) for jwks_unavailable;
/// detail "<reason>: <explanation>". The explanation describes the caller's own token only.
Error refuse(Refusal reason, std::string_view explanation);

/// The reason an Error from this module carries; nullopt for other errors.
std::optional<Refusal> refusal_of(const Error& error);

}  // namespace mcval::auth
