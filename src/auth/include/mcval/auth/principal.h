#pragma once
// Who made a request, once their access token has been verified, and what they may do: roles
// per centre, deny by default. Pure values and functions, no I/O.
#include <chrono>
#include <compare>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "mcval/common/result.h"

namespace mcval::auth {

/// Roles in increasing order of power; a role includes everything the roles below it may do
/// (docs/security.md has the table of actions).
enum class Role { viewer = 1, validator = 2, data_steward = 3, admin = 4 };

std::string_view role_name(Role role) noexcept;                      ///< "viewer", ..., "data_steward", "admin"
std::optional<Role> role_from_name(std::string_view name) noexcept;  ///< exact names only

/// The centre of a grant that covers every centre.
inline constexpr std::string_view kAllCentres = "*";

/// True for "*" and for names of letters, digits, '.', '_' and '-' not starting with '.'
/// (the form of a centre folder under the slide root).
bool valid_centre_name(std::string_view centre) noexcept;

/// A role at one centre, or at every centre (kAllCentres).
struct Grant {
  Role role = Role::viewer;
  std::string centre;
  auto operator<=>(const Grant&) const = default;
};

/// How users are keyed: by issuer and subject together, never by e-mail or name.
struct UserKey {
  std::string issuer;
  std::string subject;
  auto operator<=>(const UserKey&) const = default;
};

/// The verified caller. A value: copy it into the request, share it between threads freely.
struct Principal {
  std::string issuer;        ///< `iss`, exactly as configured
  std::string issuer_name;   ///< the configured short name of the issuer (for logs)
  std::string subject;       ///< `sub`
  std::string client_id;     ///< `azp`, else `client_id`; empty if the token has neither
  std::string display_name;  ///< `name`, else `preferred_username`: for logs only, never for decisions
  std::set<Grant> grants;    ///< from the issuer's claim mapping; empty: may do nothing
  bool is_service = false;   ///< a client-credentials token (a job, no human user)
  std::chrono::system_clock::time_point expires_at;  ///< `exp`

  UserKey key() const { return UserKey{issuer, subject}; }
  /// Lower-case hex SHA-256 of issuer, NUL, subject: a fixed-length id for databases and logs.
  std::string stable_id() const;

  /// True when some grant has a role at least `at_least` at `centre`, or at every centre.
  /// `centre` == kAllCentres asks for a grant at every centre (for actions that are not tied to
  /// one centre). An empty centre is never granted.
  bool can(Role at_least, std::string_view centre) const;
};

/// The centres a principal may see with at least `at_least`: `all` when a grant covers every
/// centre, else exactly the listed ones (possibly none).
struct CentreScope {
  bool all = false;
  std::set<std::string, std::less<>> centres;
  bool contains(std::string_view centre) const { return !centre.empty() && (all || centres.contains(centre)); }
};

CentreScope visible_centres(const Principal& principal, Role at_least = Role::viewer);

/// The strongest role the principal holds at `centre` (a grant at that centre or at every
/// centre); with kAllCentres only grants at every centre count. nullopt when none.
std::optional<Role> highest_role(const Principal& principal, std::string_view centre);

/// The strongest role the principal holds anywhere (at any centre); nullopt without grants.
std::optional<Role> highest_role_anywhere(const Principal& principal);

/// The principal as a JSON object (for the shared store of browser sessions), and back.
/// principal_from_json refuses (invalid_argument) anything principal_to_json does not write.
std::string principal_to_json(const Principal& principal);
Result<Principal> principal_from_json(std::string_view text);

}  // namespace mcval::auth
