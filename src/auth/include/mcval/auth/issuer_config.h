#pragma once
// The trusted token issuers and, per issuer, the verification policy and the mapping from
// group/entitlement claims to roles at centres. Parsed once at start from a JSON file whose
// format docs/security.md describes; immutable afterwards.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mcval/auth/jwk.h"
#include "mcval/auth/principal.h"
#include "mcval/common/result.h"

namespace mcval::auth {

/// A claim inside the token payload: object member names from the top. Written in the file as
/// a dotted string ("realm_access.roles") or, for names that contain dots (URL-named claims),
/// as an array of names (["https://example.org/claims", "groups"]).
struct ClaimPath {
  std::vector<std::string> names;
  std::string text() const;  ///< the dotted form, for messages
  /// The value at this path, or nullptr when a step is missing or not an object.
  const nlohmann::json* find(const nlohmann::json& claims) const;
};

/// Whole-value, case-sensitive match: a claim value equal to `value` grants `role` at `centre`.
struct RoleRule {
  std::string value;
  Role role = Role::viewer;
  std::string centre;                ///< a centre name or kAllCentres
  std::optional<std::string> claim;  ///< only values of this claim (its text()); any group claim if unset
  bool service_only = false;         ///< only for service (client-credentials) tokens
};

struct IssuerConfig {
  std::string name;                      ///< short label for logs; defaults to `issuer`
  std::string issuer;                    ///< compared with `iss` byte for byte
  std::string discovery_url;             ///< empty: `issuer` (trailing '/' removed) + /.well-known/openid-configuration
  std::string jwks_uri;                  ///< set: used directly, no discovery
  std::vector<std::string> audiences;    ///< `aud` must contain one of these
  std::vector<SignatureAlg> algorithms;  ///< the allow-list (default RS256)
  bool require_typ_at_jwt = false;       ///< header typ must be at+jwt (RFC 9068)
  std::chrono::seconds clock_skew{30};
  std::chrono::seconds jwks_refetch_interval{60};  ///< at most one JWKS fetch per interval
  std::chrono::seconds jwks_max_age{3600};         ///< keys older than this are refetched (removed keys stop working)
  /// Longest lifetime of a token: exp - iat, or exp - now when it has no iat; 0: no maximum.
  std::chrono::seconds max_token_lifetime{86400};
  bool allow_insecure_http_for_tests = false;      ///< permits http:// to loopback hosts only
  std::vector<ClaimPath> group_claims;             ///< where groups/entitlements/roles are
  std::optional<ClaimPath> service_claim;          ///< present (non-empty string or true): a service token
  bool service_if_sub_is_client_id = true;         ///< sub == azp/client_id: a service token
  std::vector<RoleRule> rules;

  /// The discovery document's URL (discovery_url, or derived from issuer).
  std::string discovery_endpoint() const;
};

struct AuthConfig {
  std::vector<IssuerConfig> issuers;
};

/// Parses `{"issuers":[...]}`. config_invalid with the JSON path of the first problem for
/// unknown members (typos are errors), wrong types, HS*/none or unknown algorithms, a non-https
/// URL (http only to 127.0.0.1, ::1 or localhost, and only with allow_insecure_http_for_tests),
/// unknown roles, invalid centre names, rules without group claims, a repeated issuer.
Result<AuthConfig> parse_auth_config(std::string_view json_text);
/// One issuer object; `where` prefixes messages (e.g. "issuers[1]").
Result<IssuerConfig> parse_issuer_config(const nlohmann::json& object, std::string_view where = "issuer");

/// True for https URLs, and for http URLs to a loopback host when `allow_loopback_http`.
/// URLs with user information, spaces or control characters are refused.
bool url_allowed(std::string_view url, bool allow_loopback_http);

}  // namespace mcval::auth
