#include "mcval/auth/claims.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "mcval/auth/refusal.h"
#include "mcval/common/strings.h"

namespace mcval::auth {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::system_clock;

constexpr std::int64_t kMaxNumericDate = std::int64_t{1} << 53;

std::optional<std::string> string_claim(const json& claims, const char* name) {
  const auto it = claims.find(name);
  if (it == claims.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// A NumericDate (RFC 7519) in milliseconds: seconds since the epoch, possibly fractional;
// nullopt when absent. |value| <= 2^53 s, so milliseconds fit in 64 bits.
Result<std::optional<std::int64_t>> numeric_date_ms(const json& claims, const char* name) {
  const auto it = claims.find(name);
  if (it == claims.end()) return std::optional<std::int64_t>{};
  std::optional<std::int64_t> ms;
  if (it->is_number_unsigned()) {
    if (it->get<std::uint64_t>() <= static_cast<std::uint64_t>(kMaxNumericDate)) {
      ms = static_cast<std::int64_t>(it->get<std::uint64_t>()) * 1000;
    }
  } else if (it->is_number_integer()) {
    const std::int64_t value = it->get<std::int64_t>();
    if (value >= -kMaxNumericDate && value <= kMaxNumericDate) ms = value * 1000;
  } else if (it->is_number_float()) {
    const double value = it->get<double>();
    if (std::isfinite(value) && std::fabs(value) <= static_cast<double>(kMaxNumericDate)) {
      ms = static_cast<std::int64_t>(std::floor(value * 1000.0));
    }
  }
  if (!ms) return refuse(Refusal::malformed, std::string("\"") + name + "\" is not a NumericDate");
  return ms;
}

// RFC 7515 4.1.9: compared case-insensitively, "application/" may be omitted.
std::string normalized_typ(std::string_view typ) {
  std::string lower = to_lower(typ);
  if (lower.starts_with("application/")) lower.erase(0, 12);
  return lower;
}

Status check_typ(const Jws& token, const IssuerConfig& issuer) {
  if (!token.typ) {
    if (issuer.require_typ_at_jwt) return refuse(Refusal::typ_not_at_jwt, "header has no \"typ\" (at+jwt required)");
    return {};
  }
  const std::string typ = normalized_typ(*token.typ);
  if (typ == "at+jwt") return {};
  if (issuer.require_typ_at_jwt) return refuse(Refusal::typ_not_at_jwt, "header \"typ\" is not at+jwt");
  if (typ == "jwt") return {};
  return refuse(Refusal::typ_not_at_jwt, "header \"typ\" names another kind of token");
}

Status check_token_kind(const json& claims) {
  for (const char* marker : {"nonce", "at_hash", "c_hash"}) {
    if (claims.contains(marker)) {
      return refuse(Refusal::id_token_as_access_token, std::string("an ID token (it has \"") + marker + "\")");
    }
  }
  if (const auto typ = claims.find("typ"); typ != claims.end()) {
    if (!typ->is_string()) return refuse(Refusal::malformed, "claim \"typ\" is not a string");
    const std::string value = to_lower(typ->get_ref<const std::string&>());
    if (value == "id") return refuse(Refusal::id_token_as_access_token, "an ID token (claim \"typ\" is ID)");
    if (value != "bearer") return refuse(Refusal::not_access_token, "claim \"typ\" is not Bearer");
  }
  if (claims.contains("events")) return refuse(Refusal::not_access_token, "a security event or logout token");
  return {};
}

// A token valid for longer than the issuer's maximum (a forged or misissued one that would never
// expire) is refused: exp - iat, or without iat what is left of it, exp - now.
Status check_lifetime(std::int64_t exp_ms, std::optional<std::int64_t> iat_ms, std::int64_t now_ms,
                      const IssuerConfig& issuer) {
  if (issuer.max_token_lifetime.count() <= 0) return {};
  const std::int64_t max_ms = std::chrono::milliseconds(issuer.max_token_lifetime).count();
  if (exp_ms <= iat_ms.value_or(now_ms) + max_ms) return {};  // |dates| <= 2^53 s: no overflow
  return refuse(Refusal::lifetime_too_long, std::string(iat_ms ? "exp - iat" : "exp - now (no iat)") +
                                                " exceeds the issuer's max_token_lifetime_s of " +
                                                std::to_string(issuer.max_token_lifetime.count()));
}

Status check_audience(const json& claims, const IssuerConfig& issuer, const std::string& client_id) {
  const auto aud = claims.find("aud");
  if (aud == claims.end()) return refuse(Refusal::wrong_audience, "token has no \"aud\"");
  std::vector<std::string> values;
  if (aud->is_string()) {
    values.push_back(aud->get<std::string>());
  } else if (aud->is_array()) {
    for (const auto& value : *aud) {
      if (!value.is_string()) return refuse(Refusal::malformed, "\"aud\" holds a non-string");
      values.push_back(value.get<std::string>());
    }
  } else {
    return refuse(Refusal::malformed, "\"aud\" is neither a string nor an array");
  }
  for (const auto& value : values) {
    for (const auto& accepted : issuer.audiences) {
      if (value == accepted) return {};
    }
  }
  bool only_client = !values.empty() && !client_id.empty();
  for (const auto& value : values) only_client = only_client && value == client_id;
  if (only_client) return refuse(Refusal::id_token_as_access_token, "its only audience is the client itself");
  return refuse(Refusal::wrong_audience, "\"aud\" does not name this API");
}

bool is_service_token(const json& claims, const IssuerConfig& issuer, const std::string& subject,
                      const std::string& client_id) {
  if (issuer.service_if_sub_is_client_id && !client_id.empty() && subject == client_id) return true;
  if (issuer.service_claim) {
    const json* value = issuer.service_claim->find(claims);
    if (value != nullptr && ((value->is_string() && !value->get_ref<const std::string&>().empty()) ||
                             (value->is_boolean() && value->get<bool>()))) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::set<Grant> map_grants(const nlohmann::json& claims, const IssuerConfig& issuer, bool is_service) {
  std::set<Grant> grants;
  for (const auto& path : issuer.group_claims) {
    const json* value = path.find(claims);
    if (value == nullptr) continue;
    const std::string claim_text = path.text();
    auto match = [&](const json& item) {
      if (!item.is_string()) return;
      const std::string& text = item.get_ref<const std::string&>();
      for (const auto& rule : issuer.rules) {
        if (rule.value != text) continue;
        if (rule.claim && *rule.claim != claim_text) continue;
        if (rule.service_only && !is_service) continue;
        grants.insert(Grant{rule.role, rule.centre});
      }
    };
    if (value->is_array()) {
      for (const auto& item : *value) match(item);
    } else {
      match(*value);
    }
  }
  return grants;
}

Result<Principal> validate_claims(const Jws& token, const IssuerConfig& issuer, Clock::time_point now) {
  const json& claims = token.payload;
  if (!claims.is_object()) return refuse(Refusal::malformed, "payload is not a JSON object");
  const auto iss = string_claim(claims, "iss");
  if (!iss || *iss != issuer.issuer) return refuse(Refusal::wrong_issuer, "\"iss\" is not this issuer");
  const auto sub = string_claim(claims, "sub");
  if (!sub || sub->empty()) return refuse(Refusal::malformed, "\"sub\" missing or not a non-empty string");
  MCVAL_TRY(check_typ(token, issuer));
  MCVAL_TRY(check_token_kind(claims));

  const std::int64_t now_ms = std::chrono::floor<std::chrono::milliseconds>(now).time_since_epoch().count();
  const std::int64_t skew_ms = std::chrono::milliseconds(issuer.clock_skew).count();
  MCVAL_TRY_ASSIGN(exp, numeric_date_ms(claims, "exp"));
  if (!exp) return refuse(Refusal::malformed, "token has no \"exp\"");
  if (now_ms >= *exp + skew_ms) return refuse(Refusal::expired, "token expired");
  MCVAL_TRY_ASSIGN(nbf, numeric_date_ms(claims, "nbf"));
  if (nbf && now_ms < *nbf - skew_ms) return refuse(Refusal::not_yet_valid, "token not valid yet (nbf)");
  MCVAL_TRY_ASSIGN(iat, numeric_date_ms(claims, "iat"));
  if (iat && *iat > now_ms + skew_ms) return refuse(Refusal::issued_in_future, "token issued in the future (iat)");
  MCVAL_TRY(check_lifetime(*exp, iat, now_ms, issuer));

  Principal principal;
  principal.client_id = string_claim(claims, "azp").value_or(string_claim(claims, "client_id").value_or(""));
  MCVAL_TRY(check_audience(claims, issuer, principal.client_id));

  principal.issuer = issuer.issuer;
  principal.issuer_name = issuer.name;
  principal.subject = *sub;
  principal.display_name =
      string_claim(claims, "name").value_or(string_claim(claims, "preferred_username").value_or(""));
  principal.is_service = is_service_token(claims, issuer, principal.subject, principal.client_id);
  principal.grants = map_grants(claims, issuer, principal.is_service);
  // Clamped to what the clock can represent (an exp centuries ahead would overflow nanoseconds).
  constexpr std::int64_t kClockLimit = std::chrono::floor<std::chrono::milliseconds>(Clock::duration::max()).count();
  principal.expires_at = Clock::time_point(std::chrono::duration_cast<Clock::duration>(
      std::chrono::milliseconds(std::clamp(*exp, -kClockLimit, kClockLimit))));
  return principal;
}

Result<std::string> validate_id_token_claims(const Jws& token, const IssuerConfig& issuer, std::string_view client_id,
                                             std::string_view nonce, Clock::time_point now) {
  const json& claims = token.payload;
  if (!claims.is_object()) return refuse(Refusal::malformed, "payload is not a JSON object");
  const auto iss = string_claim(claims, "iss");
  if (!iss || *iss != issuer.issuer) return refuse(Refusal::wrong_issuer, "\"iss\" is not this issuer");
  const auto sub = string_claim(claims, "sub");
  if (!sub || sub->empty()) return refuse(Refusal::malformed, "\"sub\" missing or not a non-empty string");
  if (token.typ && normalized_typ(*token.typ) != "jwt") {
    return refuse(Refusal::typ_not_at_jwt, "header \"typ\" of an ID token must be absent or JWT");
  }
  const auto aud = claims.find("aud");
  bool audience_ok = false;
  if (aud != claims.end() && aud->is_string()) {
    audience_ok = aud->get_ref<const std::string&>() == client_id;
  } else if (aud != claims.end() && aud->is_array()) {
    for (const auto& value : *aud) audience_ok = audience_ok || (value.is_string() && value.get<std::string>() == client_id);
  }
  if (!audience_ok) return refuse(Refusal::wrong_audience, "the ID token is not for this client");
  if (const auto azp = string_claim(claims, "azp"); azp && *azp != client_id) {
    return refuse(Refusal::wrong_audience, "the ID token's \"azp\" is another client");
  }
  const std::int64_t now_ms = std::chrono::floor<std::chrono::milliseconds>(now).time_since_epoch().count();
  const std::int64_t skew_ms = std::chrono::milliseconds(issuer.clock_skew).count();
  MCVAL_TRY_ASSIGN(exp, numeric_date_ms(claims, "exp"));
  if (!exp) return refuse(Refusal::malformed, "token has no \"exp\"");
  if (now_ms >= *exp + skew_ms) return refuse(Refusal::expired, "ID token expired");
  MCVAL_TRY_ASSIGN(iat, numeric_date_ms(claims, "iat"));
  if (iat && *iat > now_ms + skew_ms) return refuse(Refusal::issued_in_future, "ID token issued in the future (iat)");
  MCVAL_TRY(check_lifetime(*exp, iat, now_ms, issuer));
  const auto found_nonce = string_claim(claims, "nonce");
  if (nonce.empty() || !found_nonce || *found_nonce != nonce) {
    return Error{ErrorCode::unauthenticated, "nonce_mismatch: the ID token's nonce is not this login's"};
  }
  return *sub;
}

}  // namespace mcval::auth
