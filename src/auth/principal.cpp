#include "mcval/auth/principal.h"

#include <nlohmann/json.hpp>

#include "mcval/common/sha256.h"

namespace mcval::auth {

std::string_view role_name(Role role) noexcept {
  switch (role) {
    case Role::viewer:
      return "viewer";
    case Role::validator:
      return "validator";
    case Role::data_steward:
      return "data_steward";
    case Role::admin:
      return "admin";
  }
  return "";
}

std::optional<Role> role_from_name(std::string_view name) noexcept {
  for (Role role : {Role::viewer, Role::validator, Role::data_steward, Role::admin}) {
    if (role_name(role) == name) return role;
  }
  return std::nullopt;
}

bool valid_centre_name(std::string_view centre) noexcept {
  if (centre == kAllCentres) return true;
  if (centre.empty() || centre.size() > 128 || centre.front() == '.') return false;
  for (char c : centre) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string Principal::stable_id() const {
  std::string bytes = issuer;
  bytes.push_back('\0');
  bytes += subject;
  return sha256_hex(bytes);
}

bool Principal::can(Role at_least, std::string_view centre) const {
  if (centre.empty()) return false;
  for (const auto& grant : grants) {
    if (grant.role < at_least) continue;
    if (grant.centre == kAllCentres || grant.centre == centre) return true;
  }
  return false;
}

CentreScope visible_centres(const Principal& principal, Role at_least) {
  CentreScope scope;
  for (const auto& grant : principal.grants) {
    if (grant.role < at_least) continue;
    if (grant.centre == kAllCentres) {
      scope.all = true;
    } else {
      scope.centres.insert(grant.centre);
    }
  }
  return scope;
}

std::optional<Role> highest_role(const Principal& principal, std::string_view centre) {
  std::optional<Role> best;
  if (centre.empty()) return best;
  for (const auto& grant : principal.grants) {
    if (grant.centre != kAllCentres && grant.centre != centre) continue;
    if (!best || grant.role > *best) best = grant.role;
  }
  return best;
}

std::optional<Role> highest_role_anywhere(const Principal& principal) {
  std::optional<Role> best;
  for (const auto& grant : principal.grants) {
    if (!best || grant.role > *best) best = grant.role;
  }
  return best;
}

std::string principal_to_json(const Principal& p) {
  nlohmann::json grants = nlohmann::json::array();
  for (const auto& grant : p.grants) grants.push_back({{"role", role_name(grant.role)}, {"centre", grant.centre}});
  const auto expires = std::chrono::duration_cast<std::chrono::seconds>(p.expires_at.time_since_epoch()).count();
  return nlohmann::json{{"issuer", p.issuer},         {"issuer_name", p.issuer_name},   {"subject", p.subject},
                        {"client_id", p.client_id},   {"display_name", p.display_name}, {"grants", grants},
                        {"is_service", p.is_service}, {"expires_at", expires}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<Principal> principal_from_json(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Error{ErrorCode::invalid_argument, "a stored principal is not a JSON object"};
  try {
    Principal p;
    p.issuer = j.at("issuer").get<std::string>();
    p.issuer_name = j.at("issuer_name").get<std::string>();
    p.subject = j.at("subject").get<std::string>();
    p.client_id = j.at("client_id").get<std::string>();
    p.display_name = j.at("display_name").get<std::string>();
    p.is_service = j.at("is_service").get<bool>();
    p.expires_at = std::chrono::system_clock::time_point(std::chrono::seconds(j.at("expires_at").get<std::int64_t>()));
    for (const auto& grant : j.at("grants")) {
      const auto role = role_from_name(grant.at("role").get<std::string>());
      const auto centre = grant.at("centre").get<std::string>();
      if (!role || !valid_centre_name(centre)) {
        return Error{ErrorCode::invalid_argument, "a stored principal has an unknown role or centre"};
      }
      p.grants.insert(Grant{*role, centre});
    }
    return p;
  } catch (const nlohmann::json::exception& e) {
    return Error{ErrorCode::invalid_argument, std::string("a stored principal is malformed: ") + e.what()};
  }
}

}  // namespace mcval::auth
