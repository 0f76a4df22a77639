#pragma once
// Shared by the synth tests: the CMU tissue source (loaded once) and colour statistics.
#include "mcval/testing/temp_dir.h"
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "mcval/slide/image.h"
#include "mcval/synth/tissue_source.h"

namespace mcval::synth::testing {

/// The CMU slide as a tissue source, loaded on first use; fails the test if unreadable.
inline const TissueSource& cmu_source() {
  static const std::unique_ptr<TissueSource> source = [] {
    auto loaded = TissueSource::open(MCVAL_TEST_CMU_SLIDE);
    if (!loaded.ok()) {
      ADD_FAILURE() << "cannot load the CMU slide: " << loaded.error().to_string();
      return std::unique_ptr<TissueSource>();
    }
    return std::make_unique<TissueSource>(std::move(loaded).value());
  }();
  if (!source) throw std::runtime_error("CMU tissue source unavailable");
  return *source;
}

struct ColourStats {
  std::array<double, 3> tissue_mean{};
  double tissue_fraction = 0;
  double mean_brightness = 0;
};

inline ColourStats colour_stats(const slide::RgbImage& image) {
  ColourStats stats;
  std::array<double, 3> sum{};
  double brightness = 0;
  std::int64_t tissue = 0;
  const std::size_t n = image.pixels.size() / 3;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t* p = image.pixels.data() + i * 3;
    brightness += (p[0] + p[1] + p[2]) / 3.0;
    if (!TissueSource::is_tissue(p)) continue;
    ++tissue;
    for (int c = 0; c < 3; ++c) sum[static_cast<std::size_t>(c)] += p[c];
  }
  for (int c = 0; c < 3; ++c) {
    stats.tissue_mean[static_cast<std::size_t>(c)] =
        tissue > 0 ? sum[static_cast<std::size_t>(c)] / static_cast<double>(tissue) : 0;
  }
  stats.tissue_fraction = n > 0 ? static_cast<double>(tissue) / static_cast<double>(n) : 0;
  stats.mean_brightness = n > 0 ? brightness / static_cast<double>(n) : 0;
  return stats;
}

inline double distance(const std::array<double, 3>& a, const std::array<double, 3>& b) {
  return std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]));
}

using TempDir = mcval::testing::TempDir;

}  // namespace mcval::synth::testing
