#include "settings_binding.h"

#include <cstdlib>
#include <string>

#include "mcval/common/strings.h"

namespace mcval::app {

namespace {
bool names_command(std::string_view commands, std::string_view command) {
  for (auto c : split(commands, ',')) {
    if (c == command) return true;
  }
  return false;
}

template <typename T>
void add_setting(CLI::App& cli, T& target, const SettingInfo& info) {
  // The environment was applied by preload_settings(); CLI11 only writes flags given.
  const std::string description = std::string(info.description) + " [env " + info.env() + "]";
  if constexpr (std::is_same_v<T, bool>) {
    cli.add_flag(info.flag(), target, description)->default_str(target ? "true" : "false");
  } else {
    cli.add_option(info.flag(), target, description)->capture_default_str();
  }
}
}  // namespace

void bind_settings(CLI::App& cli, Config& config, std::string_view command) {
  cli.add_option("--config", "Config file of `key = value` lines (any setting, by its name); env MCVAL_CONFIG")
      ->check(CLI::ExistingFile);
  const auto settings = all_settings();
  std::size_t index = 0;
#define X(member, type, default_value, commands, description)          \
  if (names_command(commands, command)) add_setting(cli, config.member, settings[index]); \
  ++index;
#include "mcval/common/settings.def"
#undef X
}

Status preload_settings(int argc, char** argv, Config& config) {
  std::string file;
  if (const char* env = std::getenv("MCVAL_CONFIG"); env && *env) file = env;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      file = argv[i + 1];
    } else if (starts_with(arg, "--config=")) {
      file = std::string(arg.substr(9));
    }
  }
  if (!file.empty()) MCVAL_TRY(load_config_file(config, file));
  for (const auto& setting : all_settings()) {
    const char* value = std::getenv(setting.env().c_str());
    if (value == nullptr || *value == '\0') continue;
    auto applied = apply_setting(config, setting.name, value);
    if (!applied.ok()) {
      return Error{ErrorCode::config_invalid, "environment variable " + setting.env() + ": " + applied.error().detail};
    }
  }
  return {};
}

}  // namespace mcval::app
