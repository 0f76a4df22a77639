#pragma once
// The shared TempDir, under the catalog tests' namespace.
#include "mcval/testing/temp_dir.h"
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <unistd.h>

namespace mcval::catalog::testing {

using TempDir = mcval::testing::TempDir;

}  // namespace mcval::catalog::testing
