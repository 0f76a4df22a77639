#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "mcval/common/config.h"

namespace mcval::app {

int fail(const Error& error) {
  std::string line = error.to_string();
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "mcval: error: %s\n", line.c_str());
  return exit_status(error.code);
}

std::string catalog_file(const Config& config) {
  return (std::filesystem::path(config.data) / "catalog.sqlite").string();
}

std::string reports_folder(const Config& config) {
  return (std::filesystem::path(config.data) / "reports").string();
}

int run_config_docs() {
  std::printf("| Setting | Flag | Environment | Default | Commands | Description |\n");
  std::printf("|---|---|---|---|---|---|\n");
  for (const auto& s : all_settings()) {
    std::printf("| `%.*s` | `%s` | `%s` | `%.*s` | %.*s | %.*s |\n", static_cast<int>(s.name.size()), s.name.data(),
                s.flag().c_str(), s.env().c_str(), static_cast<int>(s.default_value.size()), s.default_value.data(),
                static_cast<int>(s.commands.size()), s.commands.data(), static_cast<int>(s.description.size()),
                s.description.data());
  }
  return 0;
}

}  // namespace mcval::app
