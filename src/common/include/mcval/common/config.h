#pragma once
// Config: every setting of mcval in one immutable value, declared once in settings.def.
// Precedence: command-line flag > environment variable > config file > default.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "mcval/common/result.h"

namespace mcval {

struct Config {
#define X(member, type, default_value, commands, description) type member{};
#include "mcval/common/settings.def"
#undef X
  /// Config with every setting at its declared default.
  static Config defaults();
};

/// Metadata of one setting, for help, documentation and the config-file parser.
struct SettingInfo {
  std::string_view name;         ///< config-file key, e.g. "tile_cache_bytes"
  std::string_view type;         ///< "std::string", "int", "std::int64_t", "bool"
  std::string_view default_value;
  std::string_view commands;     ///< comma-separated subcommands reading it
  std::string_view description;
  std::string flag() const;      ///< "--tile-cache-bytes"
  std::string env() const;       ///< "MCVAL_TILE_CACHE_BYTES"
};

/// All settings, in declaration order.
std::span<const SettingInfo> all_settings();

/// Sets one setting from its textual form (as in a config file or the environment).
Status apply_setting(Config& config, std::string_view name, std::string_view value);

/// Reads `key = value` lines (# comments, optional quotes) into `config`.
/// Unknown keys and unparsable values are errors naming the line.
Status load_config_file(Config& config, const std::filesystem::path& path);

/// Checks ranges and forms (listen address, quality, budgets).
Status validate(const Config& config);

/// Splits "host:port" (IPv6 as "[::1]:port"). Port 0 is allowed.
Result<std::pair<std::string, unsigned short>> parse_listen_address(std::string_view listen);

}  // namespace mcval
