#include "mcval/auth/principal.h"

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

}  // namespace mcval::auth
