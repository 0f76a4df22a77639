#include "mcval/http/cors.h"

#include <algorithm>
#include <cctype>

#include "mcval/common/strings.h"

namespace mcval::http {
namespace {

/// "scheme://host[:port]" with scheme http or https, a host of letters, digits, '-', '.' (or a
/// bracketed IPv6 literal), and a port of 1 to 5 digits.
bool is_origin(std::string_view origin) {
  std::string_view rest;
  if (starts_with(origin, "https://")) {
    rest = origin.substr(8);
  } else if (starts_with(origin, "http://")) {
    rest = origin.substr(7);
  } else {
    return false;
  }
  std::string_view host = rest;
  std::string_view port;
  if (starts_with(rest, "[")) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos || close < 2) return false;
    for (char c : rest.substr(1, close - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    }
    host = rest.substr(0, close + 1);
    const auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port = after.substr(1);
      if (port.empty()) return false;
    }
  } else {
    if (const auto colon = rest.find(':'); colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty() || host.front() == '.' || host.back() == '.' || host.front() == '-') return false;
    for (char c : host) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
    }
  }
  if (port.size() > 5) return false;
  return std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

CorsPolicy CorsPolicy::any_origin() {
  CorsPolicy policy;
  policy.any_ = true;
  return policy;
}

CorsPolicy CorsPolicy::same_origin_only() { return CorsPolicy{}; }

Result<CorsPolicy> CorsPolicy::parse(std::string_view list) {
  if (trim(list) == "*") return any_origin();
  CorsPolicy policy;
  if (trim(list).empty()) return policy;
  for (const auto entry : split(list, ',')) {
    const std::string origin = to_lower(trim(entry));
    if (!is_origin(origin)) {
      return Error{ErrorCode::config_invalid,
                   "CORS origin '" + std::string(trim(entry).substr(0, 100)) +
                       "' is not scheme://host[:port] (http or https, no path); use * for any origin"};
    }
    if (std::find(policy.origins_.begin(), policy.origins_.end(), origin) == policy.origins_.end()) {
      policy.origins_.push_back(origin);
    }
  }
  return policy;
}

bool CorsPolicy::allows(std::string_view origin) const {
  if (any_) return true;
  const std::string lower = to_lower(origin);
  return std::find(origins_.begin(), origins_.end(), lower) != origins_.end();
}

void CorsPolicy::apply(const Request& request, Response& response) const {
  if (!response.cross_origin) return;
  if (any_) {
    response.header("Access-Control-Allow-Origin", "*");
  } else {
    // Caches must keep answers to different origins apart, allowed or not.
    response.header("Vary", "Origin");
    const std::string_view origin = request.header("origin");
    if (origin.empty() || !allows(origin)) return;
    response.header("Access-Control-Allow-Origin", std::string(origin));
  }
  response.header("Access-Control-Expose-Headers", "ETag, Link, X-Request-Id");
}

}  // namespace mcval::http
