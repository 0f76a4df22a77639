#pragma once
// Helpers shared by the slide unit tests: fixture paths, files, temp dirs, image comparison.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "mcval/slide/codec.h"
#include "mcval/slide/image.h"

namespace mcval::slide::test {

inline std::filesystem::path data_dir() {
  return std::filesystem::path(MCVAL_TEST_SOURCE_DIR) / "tests" / "data" / "slide";
}

inline std::filesystem::path cmu_slide() { return MCVAL_TEST_CMU_SLIDE; }

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

/// A fresh directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("mcval-slide-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace mcval::slide::test
