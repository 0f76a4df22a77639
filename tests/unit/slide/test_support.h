#pragma once
// Helpers shared by the slide unit tests: fixture paths, files, temp dirs, image comparison.
#include "mcval/testing/temp_dir.h"
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "mcval/slide/codec.h"
#include "mcval/slide/image.h"
#include "mcval/slide/openslide_source.h"

namespace mcval::slide::test {

inline std::filesystem::path data_dir() {
  return std::filesystem::path(MCVAL_TEST_SOURCE_DIR) / "tests" / "data" / "slide";
}

inline std::filesystem::path cmu_slide() { return MCVAL_TEST_CMU_SLIDE; }

/// The CMU slide opened with OpenSlideSource; null (and a test failure) if it cannot be.
inline std::shared_ptr<const SlideReader> open_cmu() {
  const OpenSlideSource source;
  auto reader = source.open(cmu_slide());
  EXPECT_TRUE(reader.ok()) << (reader.ok() ? "" : reader.error().to_string());
  return reader.ok() ? *reader : nullptr;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline RgbImage load_png(const std::filesystem::path& path) {
  auto image = decode_png(read_file(path));
  EXPECT_TRUE(image.ok()) << path << ": " << (image.ok() ? "" : image.error().to_string());
  return image.ok() ? std::move(image).value() : RgbImage();
}

/// Largest per-channel difference; -1 when the sizes differ.
inline int max_abs_diff(const RgbImage& a, const RgbImage& b) {
  if (a.width != b.width || a.height != b.height || a.pixels.size() != b.pixels.size()) return -1;
  int worst = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) worst = std::max(worst, std::abs(a.pixels[i] - b.pixels[i]));
  return worst;
}

/// Fraction of channel values that differ at all; 1 when the sizes differ.
inline double fraction_different(const RgbImage& a, const RgbImage& b) {
  if (a.width != b.width || a.height != b.height || a.pixels.size() != b.pixels.size()) return 1.0;
  std::size_t differing = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) differing += a.pixels[i] != b.pixels[i] ? 1 : 0;
  return a.pixels.empty() ? 0.0 : static_cast<double>(differing) / static_cast<double>(a.pixels.size());
}

using TempDir = mcval::testing::TempDir;

}  // namespace mcval::slide::test
