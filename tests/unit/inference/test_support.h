#pragma once
// Shared by the inference tests: the committed test models and small helpers.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mcval/common/files.h"
#include "mcval/slide/image.h"
#include "mcval/testing/temp_dir.h"

namespace mcval::inference::testing {

using TempDir = mcval::testing::TempDir;

/// tests/data/models/<name> (written by tests/data/models/make_test_models.py).
inline std::filesystem::path model_dir(const std::string& name) {
  return std::filesystem::path(MCVAL_TEST_SOURCE_DIR) / "tests/data/models" / name;
}

inline nlohmann::json read_json(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text.ok()) {
    ADD_FAILURE() << text.error().to_string();
    return nullptr;
  }
  return nlohmann::json::parse(*text);
}

/// Test tile k of make_test_models.py:
/// (37 x + 101 y + 53 c + 17 k + 11 ((x y) mod 7)) mod (256 - 37 (k mod 6)), RGB.
inline slide::RgbImage formula_tile(int k, int px = 32) {
  slide::RgbImage tile(px, px);
  const int modulus = 256 - 37 * (k % 6);
  for (int y = 0; y < px; ++y) {
    for (int x = 0; x < px; ++x) {
      for (int c = 0; c < 3; ++c) {
        tile.row(y)[x * 3 + c] =
            static_cast<std::uint8_t>((37 * x + 101 * y + 53 * c + 17 * k + 11 * ((x * y) % 7)) % modulus);
      }
    }
  }
  return tile;
}

/// Copies a committed model folder into `dir`/`name`, optionally editing its card.
inline std::filesystem::path copy_model(const std::string& model, const std::filesystem::path& dir,
                                        const std::string& name,
                                        const std::function<void(nlohmann::json&)>& edit_card = {}) {
  const auto target = dir / name;
  std::filesystem::create_directories(target);
  for (const auto& entry : std::filesystem::directory_iterator(model_dir(model))) {
    if (entry.path().filename() == "expected.json") continue;
    std::filesystem::copy_file(entry.path(), target / entry.path().filename(),
                               std::filesystem::copy_options::overwrite_existing);
  }
  if (edit_card) {
    auto card = read_json(target / "card.json");
    edit_card(card);
    EXPECT_TRUE(write_file(target / "card.json", card.dump(2)).ok());
  }
  return target;
}

}  // namespace mcval::inference::testing
