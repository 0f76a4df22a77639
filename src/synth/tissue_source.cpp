#include "mcval/synth/tissue_source.h"

#include <algorithm>
#include <string>

#include "mcval/slide/openslide_source.h"

namespace mcval::synth {

namespace {

// Summed OD above 0.3 <=> (r+1)(g+1)(b+1) < 256^3 * exp(-0.3).
constexpr double kTissueProductLimit = 16777216.0 * 0.7408182206817179;

/// Picks the level-0 region to read: the whole slide when it is small enough, otherwise a
/// square of `max_px` around the centre of the tissue seen on the smallest level.
Result<std::array<std::int64_t, 4>> choose_region(const slide::SlideReader& reader, int max_px) {
  const auto& props = reader.properties();
  const std::int64_t width = props.levels.front().width;
  const std::int64_t height = props.levels.front().height;
  if (width <= max_px && height <= max_px) return std::array<std::int64_t, 4>{0, 0, width, height};

  const int last = static_cast<int>(props.levels.size()) - 1;
  const slide::LevelInfo& small = props.levels.back();
  std::int64_t cx = width / 2;
  std::int64_t cy = height / 2;
  if (small.width * small.height <= 64LL * 1024 * 1024) {
    MCVAL_TRY_ASSIGN(thumb,
                     reader.read_region(0, 0, last, static_cast<int>(small.width), static_cast<int>(small.height)));
    double sx = 0;
    double sy = 0;
    double n = 0;
    for (int y = 0; y < thumb.height; ++y) {
      for (int x = 0; x < thumb.width; ++x) {
        if (!TissueSource::is_tissue(thumb.row(y) + x * 3)) continue;
        sx += x;
        sy += y;
        n += 1;
      }
    }
    if (n > 0) {
      cx = static_cast<std::int64_t>(sx / n * small.downsample);
      cy = static_cast<std::int64_t>(sy / n * small.downsample);
    }
  }
  const std::int64_t w = std::min<std::int64_t>(width, max_px);
  const std::int64_t h = std::min<std::int64_t>(height, max_px);
  const std::int64_t x0 = std::clamp<std::int64_t>(cx - w / 2, 0, width - w);
  const std::int64_t y0 = std::clamp<std::int64_t>(cy - h / 2, 0, height - h);
  return std::array<std::int64_t, 4>{x0, y0, w, h};
}

}  // namespace

bool TissueSource::is_tissue(const std::uint8_t* rgb) {
  const double product = (rgb[0] + 1.0) * (rgb[1] + 1.0) * (rgb[2] + 1.0);
  return product < kTissueProductLimit;
}

Result<TissueSource> TissueSource::open(const std::filesystem::path& slide_path, const TissueSourceOptions& options) {
  const slide::OpenSlideSource opener;
  MCVAL_TRY_ASSIGN(reader, opener.open(slide_path));
  return from_reader(*reader, options);
}

Result<TissueSource> TissueSource::from_reader(const slide::SlideReader& reader, const TissueSourceOptions& options) {
  const auto& props = reader.properties();
  if (props.levels.empty()) return Error{ErrorCode::slide_unreadable, "the tissue source has no levels"};
  if (options.max_region_px < options.patch_px) {
    return Error{ErrorCode::invalid_argument, "max_region_px must be at least patch_px"};
  }
  MCVAL_TRY_ASSIGN(region, choose_region(reader, options.max_region_px));
  MCVAL_TRY_ASSIGN(
      pixels, reader.read_region(region[0], region[1], 0, static_cast<int>(region[2]), static_cast<int>(region[3])));
  return from_image(std::move(pixels), props.mpp_x, props.objective_power, options);
}

Result<TissueSource> TissueSource::from_image(slide::RgbImage level0, std::optional<double> mpp,
                                              std::optional<double> objective_power,
                                              const TissueSourceOptions& options) {
  if (options.patch_px < 64 || options.stride_px < 1 || options.max_patches < 1 || options.min_tissue_fraction < 0 ||
      options.min_tissue_fraction > 1) {
    return Error{ErrorCode::invalid_argument, "tissue source options out of range"};
  }
  const int patch = options.patch_px;
  if (level0.width < patch || level0.height < patch) {
    return Error{ErrorCode::invalid_argument, "the tissue source (" + std::to_string(level0.width) + "x" +
                                                  std::to_string(level0.height) + ") is smaller than one patch of " +
                                                  std::to_string(patch) + " px"};
  }

  TissueSource source;
  source.patch_px_ = patch;
  source.mpp_ = mpp;
  source.objective_power_ = objective_power;

  // Tissue mask as a summed-area table, and the colour statistics.
  const int w = level0.width;
  const int h = level0.height;
  std::vector<std::int32_t> integral(static_cast<std::size_t>(w + 1) * (h + 1), 0);
  std::array<std::vector<std::uint32_t>, 3> glass_histogram;
  for (auto& histogram : glass_histogram) histogram.assign(256, 0);
  std::array<double, 3> tissue_sum{};
  std::array<std::int64_t, 256> red_histogram{};  // of the tissue pixels
  std::int64_t tissue_count = 0;
  for (int y = 0; y < h; ++y) {
    const std::uint8_t* row = level0.row(y);
    std::int32_t running = 0;
    for (int x = 0; x < w; ++x) {
      const std::uint8_t* p = row + x * 3;
      const bool tissue = is_tissue(p);
      if (tissue) {
        ++tissue_count;
        ++red_histogram[p[0]];
        for (int c = 0; c < 3; ++c) tissue_sum[static_cast<std::size_t>(c)] += p[c];
      } else {
        for (int c = 0; c < 3; ++c) ++glass_histogram[static_cast<std::size_t>(c)][p[c]];
      }
      running += tissue ? 1 : 0;
      integral[static_cast<std::size_t>(y + 1) * (w + 1) + x + 1] =
          integral[static_cast<std::size_t>(y) * (w + 1) + x + 1] + running;
    }
  }
  if (tissue_count > 0) {
    for (int c = 0; c < 3; ++c) {
      source.tissue_mean_rgb_[static_cast<std::size_t>(c)] =
          tissue_sum[static_cast<std::size_t>(c)] / static_cast<double>(tissue_count);
    }
  }
  const std::int64_t glass_count = static_cast<std::int64_t>(w) * h - tissue_count;
  if (glass_count > 0) {
    for (std::size_t c = 0; c < 3; ++c) {
      std::int64_t seen = 0;
      for (int v = 0; v < 256; ++v) {
        seen += glass_histogram[c][static_cast<std::size_t>(v)];
        if (seen * 2 >= glass_count) {
          source.background_rgb_[c] = static_cast<std::uint8_t>(v);
          break;
        }
      }
    }
  }

  auto tissue_in = [&](int x, int y) {
    auto at = [&](int xx, int yy) { return integral[static_cast<std::size_t>(yy) * (w + 1) + xx]; };
    return at(x + patch, y + patch) - at(x, y + patch) - at(x + patch, y) + at(x, y);
  };
  const auto needed = static_cast<std::int32_t>(options.min_tissue_fraction * patch * patch);
  std::vector<PatchOrigin> candidates;
  for (int y = 0; y + patch <= h; y += options.stride_px) {
    for (int x = 0; x + patch <= w; x += options.stride_px) {
      if (tissue_in(x, y) >= needed) candidates.push_back({x, y});
    }
  }
  if (candidates.empty()) {
    return Error{ErrorCode::invalid_argument,
                 "the tissue source has no " + std::to_string(patch) + " px patch that is " +
                     std::to_string(static_cast<int>(options.min_tissue_fraction * 100)) + "% tissue"};
  }
  if (static_cast<int>(candidates.size()) > options.max_patches) {
    std::vector<PatchOrigin> thinned;
    thinned.reserve(static_cast<std::size_t>(options.max_patches));
    for (int i = 0; i < options.max_patches; ++i) {
      thinned.push_back(
          candidates[static_cast<std::size_t>(i) * candidates.size() / static_cast<std::size_t>(options.max_patches)]);
    }
    candidates = std::move(thinned);
  }
  // Order by haematoxylin density (mean red OD: haematoxylin absorbs red, eosin hardly), so
  // that nearby indices look alike and the mosaic can form regions of one kind of tissue.
  std::array<double, 256> red_od{};
  for (int i = 0; i < 256; ++i) red_od[static_cast<std::size_t>(i)] = optical_density(static_cast<std::uint8_t>(i));
  std::vector<std::pair<double, std::size_t>> scored;
  scored.reserve(candidates.size());
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    double sum = 0;
    int count = 0;
    for (int y = 0; y < patch; y += 4) {
      const std::uint8_t* row = level0.row(candidates[i].y + y) + static_cast<std::size_t>(candidates[i].x) * 3;
      for (int x = 0; x < patch; x += 4, ++count) sum += red_od[row[x * 3]];
    }
    scored.emplace_back(sum / count, i);
  }
  std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [score, index] : scored) source.patches_.push_back(candidates[index]);
  // Nuclei: the darkest tenth of the tissue in red (a threshold on the red histogram), their
  // mean OD per channel (red_od is the OD of any 8-bit intensity).
  int red_limit = 0;
  for (std::int64_t seen = 0; red_limit < 255; ++red_limit) {
    seen += red_histogram[static_cast<std::size_t>(red_limit)];
    if (seen * 10 >= tissue_count) break;
  }
  std::array<double, 3> od_sum{};
  std::int64_t od_count = 0;
  for (int y = 0; y < h; ++y) {
    const std::uint8_t* row = level0.row(y);
    for (int x = 0; x < w; ++x) {
      const std::uint8_t* p = row + x * 3;
      if (p[0] > red_limit || !is_tissue(p)) continue;
      for (std::size_t c = 0; c < 3; ++c) od_sum[c] += red_od[p[c]];
      ++od_count;
    }
  }
  for (std::size_t c = 0; c < 3; ++c) {
    source.nucleus_od_[c] = od_count > 0 ? od_sum[c] / static_cast<double>(od_count) : 0;
  }
  source.stain_vectors_ = estimate_stain_vectors(level0);
  source.image_ = std::move(level0);
  return source;
}

}  // namespace mcval::synth
