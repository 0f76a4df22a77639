#pragma once
// The claim checks of an access token whose signature has been verified, and the mapping of its
// group claims to grants. Pure functions (the time is an argument).
#include <chrono>
#include <set>

#include <nlohmann/json.hpp>

#include "mcval/auth/issuer_config.h"
#include "mcval/auth/jws.h"
#include "mcval/auth/principal.h"
#include "mcval/common/result.h"

namespace mcval::auth {

/// Checks the claims of `token` (signature already verified) against `issuer`'s policy and
/// builds the Principal. In order: `iss` equals issuer.issuer (wrong_issuer); `sub` a non-empty
/// string (malformed); header `typ` (typ_not_at_jwt); ID-token markers nonce, at_hash, c_hash or
/// payload typ "ID" (id_token_as_access_token); payload `typ` other than Bearer or a logout
/// `events` claim (not_access_token); `exp` required, now >= exp + skew is expired; now <
/// nbf - skew is not_yet_valid; iat > now + skew is issued_in_future; `aud` must contain one
/// of issuer.audiences (wrong_audience, or id_token_as_access_token when its only audience is
/// the token's own client). Times are compared in milliseconds (NumericDates may be fractional).
Result<Principal> validate_claims(const Jws& token, const IssuerConfig& issuer,
                                  std::chrono::system_clock::time_point now);

/// Checks the claims of an OpenID Connect ID token (signature already verified) received by a
/// browser login (OpenID Connect Core 1.0, 3.1.3.7): `iss` equals issuer.issuer (wrong_issuer);
/// `sub` a non-empty string (malformed); header `typ` absent or JWT, never at+jwt
/// (not_access_token is not the case here: typ_not_at_jwt is used for any other typ); `aud`
/// contains `client_id` and `azp`, when present, equals it (wrong_audience); `exp` required and
/// `iat` checked as for access tokens (expired, issued_in_future); `nonce` equal to `nonce`
/// (unauthenticated, detail "nonce_mismatch: ..."). Returns `sub`.
Result<std::string> validate_id_token_claims(const Jws& token, const IssuerConfig& issuer, std::string_view client_id,
                                             std::string_view nonce, std::chrono::system_clock::time_point now);

/// The grants `issuer.rules` give for the values of `issuer.group_claims` in `claims`: each
/// string value (or string element of an array value) equal, byte for byte, to a rule's value.
/// Nothing else grants anything.
std::set<Grant> map_grants(const nlohmann::json& claims, const IssuerConfig& issuer, bool is_service);

}  // namespace mcval::auth
