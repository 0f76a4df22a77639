#include "mcval/auth/refusal.h"

#include <array>

namespace mcval::auth {

namespace {
constexpr std::array<std::string_view, 16> kNames = {
    "malformed",
    "unknown_issuer",
    "wrong_issuer",
    "alg_not_allowed",
    "unsupported_crit",
    "unknown_kid",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "issued_in_future",
    "wrong_audience",
    "typ_not_at_jwt",
    "id_token_as_access_token",
    "not_access_token",
    "lifetime_too_long",
    "jwks_unavailable",
};
static_assert(kNames.size() == static_cast<std::size_t>(Refusal::jwks_unavailable) + 1);
}  // namespace

std::string_view refusal_name(Refusal reason) noexcept { return kNames[static_cast<std::size_t>(reason)]; }

Error refuse(Refusal reason, std::string_view explanation) {
  std::string detail(refusal_name(reason));
  if (!explanation.empty()) {
    detail += ": ";
    detail += explanation;
  }
  return Error{reason == Refusal::jwks_unavailable ? ErrorCode::auth_unavailable : ErrorCode::unauthenticated,
               std::move(detail)};
}

std::optional<Refusal> refusal_of(const Error& error) {
  if (error.code != ErrorCode::unauthenticated && error.code != ErrorCode::auth_unavailable) return std::nullopt;
  const std::string_view detail = error.detail;
  const std::string_view name = detail.substr(0, detail.find(':'));
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<Refusal>(i);
  }
  return std::nullopt;
}

}  // namespace mcval::auth
