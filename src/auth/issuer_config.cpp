#include "mcval/auth/issuer_config.h"

#include <set>

#include "mcval/auth/strict_json.h"

namespace mcval::auth {

namespace {

using json = nlohmann::json;

Error invalid(std::string_view where, std::string_view why) {
  return Error{ErrorCode::config_invalid, std::string(where) + ": " + std::string(why)};
}

Status only_known_members(const json& object, std::string_view where, std::initializer_list<std::string_view> known) {
  for (const auto& [name, value] : object.items()) {
    bool found = false;
    for (auto k : known) found = found || k == name;
    if (!found) return invalid(where, "unknown member \"" + name + "\"");
  }
  return {};
}

Result<std::string> get_string(const json& object, std::string_view where, const char* name, bool required) {
  const auto it = object.find(name);
  if (it == object.end()) {
    if (required) return invalid(where, std::string("\"") + name + "\" is required");
    return std::string{};
  }
  if (!it->is_string()) return invalid(where, std::string("\"") + name + "\" must be a string");
  if (required && it->get_ref<const std::string&>().empty()) {
    return invalid(where, std::string("\"") + name + "\" must not be empty");
  }
  return it->get<std::string>();
}

Result<bool> get_bool(const json& object, std::string_view where, const char* name, bool fallback) {
  const auto it = object.find(name);
  if (it == object.end()) return fallback;
  if (!it->is_boolean()) return invalid(where, std::string("\"") + name + "\" must be true or false");
  return it->get<bool>();
}

Result<std::chrono::seconds> get_seconds(const json& object, std::string_view where, const char* name,
                                         std::chrono::seconds fallback, std::int64_t min, std::int64_t max) {
  const auto it = object.find(name);
  if (it == object.end()) return fallback;
  if (!it->is_number_integer() || it->get<std::int64_t>() < min || it->get<std::int64_t>() > max) {
    return invalid(where, std::string("\"") + name + "\" must be an integer from " + std::to_string(min) + " to " +
                              std::to_string(max));
  }
  return std::chrono::seconds(it->get<std::int64_t>());
}

Result<ClaimPath> parse_claim_path(const json& value, std::string_view where) {
  ClaimPath path;
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    std::size_t start = 0;
    while (true) {
      const std::size_t dot = text.find('.', start);
      path.names.push_back(text.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
  } else if (value.is_array()) {
    for (const auto& name : value) {
      if (!name.is_string()) return invalid(where, "a claim path array holds only strings");
      path.names.push_back(name.get<std::string>());
    }
  } else {
    return invalid(where, "a claim path is a dotted string or an array of names");
  }
  if (path.names.empty() || path.names.size() > 8) return invalid(where, "a claim path has 1 to 8 names");
  for (const auto& name : path.names) {
    if (name.empty()) return invalid(where, "a claim path has an empty name");
  }
  return path;
}

Result<RoleRule> parse_rule(const json& object, std::string_view where, const std::vector<ClaimPath>& claims) {
  if (!object.is_object()) return invalid(where, "a rule is an object");
  MCVAL_TRY(only_known_members(object, where, {"value", "role", "centre", "claim", "service_only"}));
  RoleRule rule;
  MCVAL_TRY_ASSIGN(value, get_string(object, where, "value", true));
  rule.value = std::move(value);
  MCVAL_TRY_ASSIGN(role, get_string(object, where, "role", true));
  const auto parsed_role = role_from_name(role);
  if (!parsed_role) return invalid(where, "unknown role \"" + role + "\" (admin, data_steward, validator, viewer)");
  rule.role = *parsed_role;
  MCVAL_TRY_ASSIGN(centre, get_string(object, where, "centre", true));
  if (!valid_centre_name(centre)) return invalid(where, "invalid centre name \"" + centre + "\"");
  rule.centre = std::move(centre);
  if (object.contains("claim")) {
    MCVAL_TRY_ASSIGN(claim, parse_claim_path(object["claim"], where));
    bool known = false;
    for (const auto& c : claims) known = known || c.names == claim.names;
    if (!known) return invalid(where, "\"claim\" " + claim.text() + " is not one of the issuer's group_claims");
    rule.claim = claim.text();
  }
  MCVAL_TRY_ASSIGN(service_only, get_bool(object, where, "service_only", false));
  rule.service_only = service_only;
  return rule;
}

bool loopback_host(std::string_view authority) {
  std::string_view host = authority;
  if (host.starts_with("[::1]")) {
    host.remove_prefix(5);
  } else {
    const std::size_t colon = host.find(':');
    const std::string_view name = host.substr(0, colon);
    if (name != "127.0.0.1" && name != "localhost") return false;
    host.remove_prefix(name.size());
  }
  if (host.empty()) return true;
  if (host.front() != ':' || host.size() < 2 || host.size() > 6) return false;
  for (char c : host.substr(1)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::string ClaimPath::text() const {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += '.';
    out += name;
  }
  return out;
}

const nlohmann::json* ClaimPath::find(const nlohmann::json& claims) const {
  const json* at = &claims;
  for (const auto& name : names) {
    if (!at->is_object()) return nullptr;
    const auto it = at->find(name);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

std::string IssuerConfig::discovery_endpoint() const {
  if (!discovery_url.empty()) return discovery_url;
  std::string base = issuer;
  if (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/.well-known/openid-configuration";
}

bool url_allowed(std::string_view url, bool allow_loopback_http) {
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '\\') return false;
  }
  bool https = false;
  if (url.starts_with("https://")) {
    https = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return false;
  }
  const std::string_view authority = url.substr(0, url.find_first_of("/?#"));
  if (authority.empty() || authority.find('@') != std::string_view::npos) return false;
  return https || (allow_loopback_http && loopback_host(authority));
}

Result<IssuerConfig> parse_issuer_config(const nlohmann::json& object, std::string_view where_view) {
  const std::string where(where_view);
  if (!object.is_object()) return invalid(where, "an issuer is a JSON object");
  MCVAL_TRY(only_known_members(
      object, where,
      {"name", "issuer", "discovery_url", "jwks_uri", "audiences", "algorithms", "require_typ_at_jwt", "clock_skew_s",
       "jwks_refetch_interval_s", "jwks_max_age_s", "max_token_lifetime_s", "allow_insecure_http_for_tests",
       "group_claims", "service_claim", "service_if_sub_is_client_id", "rules"}));
  IssuerConfig config;
  MCVAL_TRY_ASSIGN(insecure, get_bool(object, where, "allow_insecure_http_for_tests", false));
  config.allow_insecure_http_for_tests = insecure;
  MCVAL_TRY_ASSIGN(issuer, get_string(object, where, "issuer", true));
  if (!url_allowed(issuer, insecure) || issuer.find_first_of("?#") != std::string::npos) {
    return invalid(where, "\"issuer\" must be an https URL without query or fragment");
  }
  config.issuer = std::move(issuer);
  MCVAL_TRY_ASSIGN(name, get_string(object, where, "name", false));
  config.name = name.empty() ? config.issuer : std::move(name);
  MCVAL_TRY_ASSIGN(discovery_url, get_string(object, where, "discovery_url", false));
  MCVAL_TRY_ASSIGN(jwks_uri, get_string(object, where, "jwks_uri", false));
  if (!discovery_url.empty() && !jwks_uri.empty()) {
    return invalid(where, "give \"discovery_url\" or \"jwks_uri\", not both");
  }
  for (const auto* url : {&discovery_url, &jwks_uri}) {
    if (!url->empty() && !url_allowed(*url, insecure)) {
      return invalid(where, "\"" + *url + "\" is not an https URL");
    }
  }
  config.discovery_url = std::move(discovery_url);
  config.jwks_uri = std::move(jwks_uri);

  const auto audiences = object.find("audiences");
  if (audiences == object.end() || !audiences->is_array() || audiences->empty()) {
    return invalid(where, "\"audiences\" must be a non-empty array of strings");
  }
  for (const auto& audience : *audiences) {
    if (!audience.is_string() || audience.get_ref<const std::string&>().empty()) {
      return invalid(where, "\"audiences\" must hold non-empty strings");
    }
    config.audiences.push_back(audience.get<std::string>());
  }

  if (const auto algorithms = object.find("algorithms"); algorithms != object.end()) {
    if (!algorithms->is_array() || algorithms->empty()) {
      return invalid(where, "\"algorithms\" must be a non-empty array");
    }
    for (const auto& alg : *algorithms) {
      const auto parsed = alg.is_string() ? alg_from_name(alg.get_ref<const std::string&>()) : std::nullopt;
      if (!parsed) {
        return invalid(where, "\"algorithms\" may hold only RS256, PS256 and ES256 (never none or HS*)");
      }
      config.algorithms.push_back(*parsed);
    }
  } else {
    config.algorithms = {SignatureAlg::rs256};
  }

  MCVAL_TRY_ASSIGN(typ, get_bool(object, where, "require_typ_at_jwt", false));
  config.require_typ_at_jwt = typ;
  MCVAL_TRY_ASSIGN(skew, get_seconds(object, where, "clock_skew_s", std::chrono::seconds(30), 0, 300));
  config.clock_skew = skew;
  MCVAL_TRY_ASSIGN(refetch, get_seconds(object, where, "jwks_refetch_interval_s", std::chrono::seconds(60), 1, 86400));
  config.jwks_refetch_interval = refetch;
  MCVAL_TRY_ASSIGN(max_age, get_seconds(object, where, "jwks_max_age_s", std::chrono::seconds(3600), 60, 604800));
  config.jwks_max_age = max_age;
  MCVAL_TRY_ASSIGN(lifetime,
                   get_seconds(object, where, "max_token_lifetime_s", std::chrono::seconds(86400), 0, 31536000));
  config.max_token_lifetime = lifetime;

  if (const auto claims = object.find("group_claims"); claims != object.end()) {
    if (!claims->is_array()) return invalid(where, "\"group_claims\" must be an array of claim paths");
    for (const auto& claim : *claims) {
      MCVAL_TRY_ASSIGN(path, parse_claim_path(claim, where + ".group_claims"));
      config.group_claims.push_back(std::move(path));
    }
  }
  if (const auto service = object.find("service_claim"); service != object.end()) {
    MCVAL_TRY_ASSIGN(path, parse_claim_path(*service, where + ".service_claim"));
    config.service_claim = std::move(path);
  }
  MCVAL_TRY_ASSIGN(sub_is_client, get_bool(object, where, "service_if_sub_is_client_id", true));
  config.service_if_sub_is_client_id = sub_is_client;

  if (const auto rules = object.find("rules"); rules != object.end()) {
    if (!rules->is_array()) return invalid(where, "\"rules\" must be an array");
    for (std::size_t i = 0; i < rules->size(); ++i) {
      MCVAL_TRY_ASSIGN(rule, parse_rule((*rules)[i], where + ".rules[" + std::to_string(i) + "]", config.group_claims));
      config.rules.push_back(std::move(rule));
    }
    if (!config.rules.empty() && config.group_claims.empty()) {
      return invalid(where, "\"rules\" need \"group_claims\" to say which claims hold the values");
    }
  }
  return config;
}

Result<AuthConfig> parse_auth_config(std::string_view json_text) {
  auto document = parse_json_strict(json_text);
  if (!document.ok()) return Error{ErrorCode::config_invalid, "auth configuration: " + document.error().detail};
  if (!document->is_object()) return invalid("auth configuration", "must be a JSON object");
  MCVAL_TRY(only_known_members(*document, "auth configuration", {"issuers"}));
  const auto issuers = document->find("issuers");
  if (issuers == document->end() || !issuers->is_array()) {
    return invalid("auth configuration", "\"issuers\" must be an array");
  }
  AuthConfig config;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < issuers->size(); ++i) {
    const std::string where = "issuers[" + std::to_string(i) + "]";
    MCVAL_TRY_ASSIGN(issuer, parse_issuer_config((*issuers)[i], where));
    if (!seen.insert(issuer.issuer).second) return invalid(where, "issuer \"" + issuer.issuer + "\" repeated");
    config.issuers.push_back(std::move(issuer));
  }
  return config;
}

}  // namespace mcval::auth
