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
  if constexpr (std::is_same_v<T, bool>) {
    cli.add_flag(info.flag(), target, std::string(info.description))->envname(info.env())->capture_default_str();
  } else {
    cli.add_option(info.flag(), target, std::string(info.description))->envname(info.env())->capture_default_str();
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

Status preload_config_file(int argc, char** argv, Config& config) {
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
  if (file.empty()) return {};
  return load_config_file(config, file);
}

}  // namespace mcval::app
