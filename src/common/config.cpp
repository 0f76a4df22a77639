#include "mcval/common/config.h"

#include <algorithm>
#include <charconv>
#include <fstream>

#include "mcval/common/strings.h"

namespace mcval {

namespace {

constexpr SettingInfo kSettings[] = {
#define X(member, type, default_value, commands, description) \
  {#member, #type, default_value, commands, description},
#include "mcval/common/settings.def"
#undef X
};

Status parse_into(std::string& out, std::string_view text) {
  out = std::string(text);
  return {};
}

Status parse_into(bool& out, std::string_view text) {
  const std::string v = to_lower(text);
  if (v == "true" || v == "1" || v == "yes" || v == "on") {
    out = true;
  } else if (v == "false" || v == "0" || v == "no" || v == "off") {
    out = false;
  } else {
    return Error{ErrorCode::config_invalid, "expected true or false, got '" + std::string(text) + "'"};
  }
  return {};
}

template <typename Int>
Status parse_into(Int& out, std::string_view text) {
  Int value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return Error{ErrorCode::config_invalid, "expected an integer, got '" + std::string(text) + "'"};
  }
  out = value;
  return {};
}

}  // namespace

std::string SettingInfo::flag() const {
  std::string f = "--" + std::string(name);
  std::replace(f.begin(), f.end(), '_', '-');
  return f;
}

std::string SettingInfo::env() const { return "MCVAL_" + to_upper(name); }

std::span<const SettingInfo> all_settings() { return kSettings; }

Config Config::defaults() {
  Config c;
#define X(member, type, default_value, commands, description) \
  if (!parse_into(c.member, default_value).ok()) std::abort();
#include "mcval/common/settings.def"
#undef X
  return c;
}

Status apply_setting(Config& config, std::string_view name, std::string_view value) {
#define X(member, type, default_value, commands, description)                  \
  if (name == #member) {                                                       \
    auto status = parse_into(config.member, value);                            \
    if (!status.ok()) {                                                        \
      return Error{ErrorCode::config_invalid,                                  \
                   "setting " #member ": " + status.error().detail};           \
    }                                                                          \
    return {};                                                                 \
  }
#include "mcval/common/settings.def"
#undef X
  return Error{ErrorCode::config_invalid, "unknown setting '" + std::string(name) + "'"};
}

Status load_config_file(Config& config, const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return Error{ErrorCode::config_invalid, "cannot open config file " + path.string()};
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string_view text = trim(line);
    if (text.empty() || text.front() == '#' || text.front() == '[') continue;
    const auto eq = text.find('=');
    const std::string where = path.string() + ":" + std::to_string(line_no) + ": ";
    if (eq == std::string_view::npos) {
      return Error{ErrorCode::config_invalid, where + "expected 'key = value'"};
    }
    std::string key(trim(text.substr(0, eq)));
    std::replace(key.begin(), key.end(), '-', '_');
    std::string_view value = trim(text.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    auto status = apply_setting(config, key, value);
    if (!status.ok()) return Error{ErrorCode::config_invalid, where + status.error().detail};
  }
  return {};
}

Result<std::pair<std::string, unsigned short>> parse_listen_address(std::string_view listen) {
  std::string_view host;
  std::string_view port;
  if (!listen.empty() && listen.front() == '[') {
    const auto close = listen.find(']');
    if (close == std::string_view::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return Error{ErrorCode::config_invalid, "listen address '" + std::string(listen) + "' is not [ipv6]:port"};
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    const auto colon = listen.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Error{ErrorCode::config_invalid, "listen address '" + std::string(listen) + "' is not host:port"};
    }
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  unsigned int port_number = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), port_number);
  if (ec != std::errc{} || end != port.data() + port.size() || port_number > 65535) {
    return Error{ErrorCode::config_invalid, "listen port '" + std::string(port) + "' is not 0-65535"};
  }
  return std::pair<std::string, unsigned short>{std::string(host), static_cast<unsigned short>(port_number)};
}

Status validate(const Config& config) {
  MCVAL_TRY(parse_listen_address(config.listen));
  if (!config.metrics_listen.empty()) {
    auto metrics = parse_listen_address(config.metrics_listen);
    if (!metrics.ok()) return Error{ErrorCode::config_invalid, "metrics_listen: " + metrics.error().detail};
  }
  if (config.shutdown_delay_s < 0 || config.shutdown_delay_s > 600) {
    return Error{ErrorCode::config_invalid, "shutdown_delay_s must be 0-600"};
  }
  if (config.idle_timeout_s < 1 || config.idle_timeout_s > 3600) {
    return Error{ErrorCode::config_invalid, "idle_timeout_s must be 1-3600"};
  }
  if (config.max_connections < 0) return Error{ErrorCode::config_invalid, "max_connections must be >= 0"};
  if (config.scan_commit_s < 1 || config.scan_commit_s > 3600) {
    return Error{ErrorCode::config_invalid, "scan_commit_s must be 1-3600"};
  }
  if (config.shutdown_grace_s < 0 || config.shutdown_grace_s > 3600) {
    return Error{ErrorCode::config_invalid, "shutdown_grace_s must be 0-3600"};
  }
  if (config.access_log != "all" && config.access_log != "errors" && config.access_log != "off") {
    return Error{ErrorCode::config_invalid, "access_log must be all, errors or off"};
  }
  if (config.jpeg_quality < 1 || config.jpeg_quality > 100) {
    return Error{ErrorCode::config_invalid, "jpeg_quality must be 1-100"};
  }
  if (config.tile_cache_bytes < 0) return Error{ErrorCode::config_invalid, "tile_cache_bytes must be >= 0"};
  if (config.max_open_slides < 1) return Error{ErrorCode::config_invalid, "max_open_slides must be >= 1"};
  if (config.decoded_tile_cache_bytes < 0) {
    return Error{ErrorCode::config_invalid, "decoded_tile_cache_bytes must be >= 0"};
  }
  if (config.max_region_pixels < 1) return Error{ErrorCode::config_invalid, "max_region_pixels must be >= 1"};
  if (config.threads < 0) return Error{ErrorCode::config_invalid, "threads must be >= 0"};
  if (config.log_format != "json" && config.log_format != "text") {
    return Error{ErrorCode::config_invalid, "log_format must be json or text"};
  }
  static constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error"};
  if (std::find(std::begin(kLevels), std::end(kLevels), config.log_level) == std::end(kLevels)) {
    return Error{ErrorCode::config_invalid, "log_level must be one of trace, debug, info, warn, error"};
  }
  if (config.auth != "none" && config.auth != "oidc") {
    return Error{ErrorCode::config_invalid, "auth must be none or oidc"};
  }
  if (config.rate_limit_per_user < 0 || config.rate_limit_per_user > 1000000) {
    return Error{ErrorCode::config_invalid, "rate_limit_per_user must be 0-1000000"};
  }
  if (config.rate_limit_per_address_unauthenticated < 0 || config.rate_limit_per_address_unauthenticated > 1000000) {
    return Error{ErrorCode::config_invalid, "rate_limit_per_address_unauthenticated must be 0-1000000"};
  }
  if (config.max_concurrent_per_user < 0 || config.max_concurrent_per_user > 100000) {
    return Error{ErrorCode::config_invalid, "max_concurrent_per_user must be 0-100000"};
  }
  if (!config.login_issuer.empty() && (config.auth != "oidc" || config.login_client_id.empty() ||
                                        config.login_client_secret_file.empty())) {
    return Error{ErrorCode::config_invalid,
                 "login_issuer needs auth = oidc, login_client_id and login_client_secret_file"};
  }
  if (config.login_session_max_s < 60 || config.login_session_max_s > 604800) {
    return Error{ErrorCode::config_invalid, "login_session_max_s must be 60-604800"};
  }
  if (!config.public_url.empty() && !config.public_url.starts_with("https://") &&
      !config.public_url.starts_with("http://")) {
    return Error{ErrorCode::config_invalid, "public_url must be an http(s) URL"};
  }
  if (config.auth == "oidc" && config.auth_config.empty()) {
    return Error{ErrorCode::config_invalid, "auth = oidc needs auth_config: the JSON file of trusted issuers (docs/security.md)"};
  }
  return {};
}

}  // namespace mcval
