#pragma once
// Binds the declared settings to CLI11 options: flag, environment variable, config file.
#include <string_view>

#include <CLI/CLI.hpp>

#include "mcval/common/config.h"

namespace mcval::app {

/// Adds --config and every setting whose `commands` list names `command` to `cli`, writing
/// into `config`. Values already in `config` (defaults, then the config file) are what an
/// option keeps unless its flag or environment variable is given.
void bind_settings(CLI::App& cli, Config& config, std::string_view command);

/// Before the command line is parsed: loads the config file named by --config / --config=FILE
/// in argv or MCVAL_CONFIG, then applies every MCVAL_<SETTING> environment variable, so that
/// the flags parsed afterwards take precedence over both.
Status preload_settings(int argc, char** argv, Config& config);

}  // namespace mcval::app
