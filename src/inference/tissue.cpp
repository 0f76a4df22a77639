#include "mcval/inference/tissue.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace mcval::inference {
namespace {

constexpr double kDefaultMpp = 0.25;
constexpr std::int64_t kBandPixels = std::int64_t{1} << 24;  // level pixels read at once

/// Otsu's threshold over a 256-bin histogram: the t maximising the between-class variance of
/// {<= t} and {> t}; 0 for an empty or single-valued histogram.
int otsu_threshold(const std::array<std::int64_t, 256>& histogram) {
  double total = 0;
  double sum = 0;
  for (int i = 0; i < 256; ++i) {
    total += static_cast<double>(histogram[static_cast<std::size_t>(i)]);
    sum += i * static_cast<double>(histogram[static_cast<std::size_t>(i)]);
  }
  double weight_low = 0;
  double sum_low = 0;
  double best = -1;
  int threshold = 0;
  for (int t = 0; t < 256; ++t) {
    weight_low += static_cast<double>(histogram[static_cast<std::size_t>(t)]);
    sum_low += t * static_cast<double>(histogram[static_cast<std::size_t>(t)]);
    const double weight_high = total - weight_low;
    if (weight_low == 0 || weight_high == 0) continue;
    const double mean_low = sum_low / weight_low;
    const double mean_high = (sum - sum_low) / weight_high;
    const double between = weight_low * weight_high * (mean_low - mean_high) * (mean_low - mean_high);
    if (between > best) {
      best = between;
      threshold = t;
    }
  }
  return threshold;
}

/// Odd disc diameter in mask pixels for a size in microns; 0 when under 3 pixels (no-op).
int disc_px(double um, double mask_mpp) {
  const auto px = static_cast<int>(std::lround(um / mask_mpp)) | 1;
  return px >= 3 ? std::min(px, 255) : 0;
}

double slide_mpp(const slide::SlideProperties& props) {
  if (props.mpp_x && *props.mpp_x > 0) return *props.mpp_x;
  if (props.objective_power && *props.objective_power > 0) return 10.0 / *props.objective_power;
  return kDefaultMpp;
}

}  // namespace

double TissueMask::tissue_fraction() const {
  if (pixels.empty()) return 0;
  const auto tissue = std::count_if(pixels.begin(), pixels.end(), [](std::uint8_t p) { return p != 0; });
  return static_cast<double>(tissue) / static_cast<double>(pixels.size());
}

double TissueMask::fraction_in(double x0, double y0, double w, double h) const {
  if (width <= 0 || height <= 0 || !(downsample > 0) || !(w > 0) || !(h > 0)) return 0;
  // In mask pixels, clipped to the mask.
  const double left = std::max(0.0, x0 / downsample);
  const double top = std::max(0.0, y0 / downsample);
  const double right = std::min(static_cast<double>(width), (x0 + w) / downsample);
  const double bottom = std::min(static_cast<double>(height), (y0 + h) / downsample);
  if (right <= left || bottom <= top) return 0;
  const int first_col = static_cast<int>(std::floor(left));
  const int last_col = std::min(width - 1, static_cast<int>(std::ceil(right)) - 1);
  const int first_row = static_cast<int>(std::floor(top));
  const int last_row = std::min(height - 1, static_cast<int>(std::ceil(bottom)) - 1);
  double tissue = 0;
  for (int y = first_row; y <= last_row; ++y) {
    const double wy = std::min(bottom, y + 1.0) - std::max(top, static_cast<double>(y));
    const std::uint8_t* row = pixels.data() + static_cast<std::size_t>(y) * static_cast<std::size_t>(width);
    double in_row = 0;
    for (int x = first_col; x <= last_col; ++x) {
      if (row[x] == 0) continue;
      in_row += std::min(right, x + 1.0) - std::max(left, static_cast<double>(x));
    }
    tissue += wy * in_row;
  }
  return std::clamp(tissue / ((right - left) * (bottom - top)), 0.0, 1.0);
}

TissueMask detect_tissue(const slide::RgbImage& thumbnail, double downsample, double mpp,
                         const TissueOptions& options) {
  TissueMask mask;
  mask.width = thumbnail.width;
  mask.height = thumbnail.height;
  mask.downsample = downsample > 0 ? downsample : 1;
  mask.pixels.assign(static_cast<std::size_t>(std::max(0, thumbnail.width)) * std::max(0, thumbnail.height), 0);
  if (thumbnail.width <= 0 || thumbnail.height <= 0 ||
      thumbnail.pixels.size() != static_cast<std::size_t>(thumbnail.width) * thumbnail.height * 3) {
    return mask;
  }
  const double mask_mpp = (mpp > 0 ? mpp : kDefaultMpp) * mask.downsample;

  const cv::Mat rgb(thumbnail.height, thumbnail.width, CV_8UC3, const_cast<std::uint8_t*>(thumbnail.pixels.data()));
  cv::Mat hsv;
  cv::cvtColor(rgb, hsv, cv::COLOR_RGB2HSV);  // S = (max - min) / max, V = max, both 0-255

  // Otsu on the saturation of the pixels that pass the brightness guard.
  const int min_value = static_cast<int>(std::lround(std::clamp(options.min_value, 0.0, 1.0) * 255));
  std::array<std::int64_t, 256> histogram{};
  for (int y = 0; y < hsv.rows; ++y) {
    const auto* p = hsv.ptr<cv::Vec3b>(y);
    for (int x = 0; x < hsv.cols; ++x) {
      if (p[x][2] >= min_value) ++histogram[p[x][1]];
    }
  }
  // Otsu splits glass from tissue when the glass is white; under a tinted light the glass's own
  // saturation rises and Otsu can split pale from dense tissue instead. So the threshold stays
  // within [glass + min_saturation, glass + glass_margin], the glass being the most frequent
  // saturation of Otsu's lower class.
  const int otsu = otsu_threshold(histogram);
  const auto glass =
      static_cast<int>(std::max_element(histogram.begin(), histogram.begin() + otsu + 1) - histogram.begin());
  const auto to_level = [](double fraction) {
    return static_cast<int>(std::lround(std::clamp(fraction, 0.0, 1.0) * 255));
  };
  const int threshold =
      std::max(glass + to_level(options.min_saturation), std::min(otsu, glass + to_level(options.glass_margin)));

  cv::Mat tissue(thumbnail.height, thumbnail.width, CV_8U, mask.pixels.data());
  for (int y = 0; y < hsv.rows; ++y) {
    const auto* p = hsv.ptr<cv::Vec3b>(y);
    auto* out = tissue.ptr<std::uint8_t>(y);
    for (int x = 0; x < hsv.cols; ++x) out[x] = (p[x][1] > threshold && p[x][2] >= min_value) ? 255 : 0;
  }

  if (const int close_px = disc_px(options.closing_um, mask_mpp); close_px > 0) {
    cv::morphologyEx(tissue, tissue, cv::MORPH_CLOSE,
                     cv::getStructuringElement(cv::MORPH_ELLIPSE, {close_px, close_px}));
  }
  if (const int open_px = disc_px(options.opening_um, mask_mpp); open_px > 0) {
    cv::morphologyEx(tissue, tissue, cv::MORPH_OPEN, cv::getStructuringElement(cv::MORPH_ELLIPSE, {open_px, open_px}));
  }

  // Holes: background regions enclosed by tissue (not touching the border) below the size.
  const double max_hole_px = options.max_hole_um2 / (mask_mpp * mask_mpp);
  if (max_hole_px >= 1) {
    cv::Mat background;
    cv::bitwise_not(tissue, background);
    cv::Mat labels;
    cv::Mat stats;
    cv::Mat centroids;
    const int count = cv::connectedComponentsWithStats(background, labels, stats, centroids, 4, CV_32S);
    std::vector<std::uint8_t> fill(static_cast<std::size_t>(count), 0);
    for (int i = 1; i < count; ++i) {
      const int left = stats.at<int>(i, cv::CC_STAT_LEFT);
      const int top = stats.at<int>(i, cv::CC_STAT_TOP);
      const bool enclosed = left > 0 && top > 0 && left + stats.at<int>(i, cv::CC_STAT_WIDTH) < tissue.cols &&
                            top + stats.at<int>(i, cv::CC_STAT_HEIGHT) < tissue.rows;
      fill[static_cast<std::size_t>(i)] = enclosed && stats.at<int>(i, cv::CC_STAT_AREA) <= max_hole_px ? 255 : 0;
    }
    for (int y = 0; y < tissue.rows; ++y) {
      const int* label = labels.ptr<int>(y);
      auto* out = tissue.ptr<std::uint8_t>(y);
      for (int x = 0; x < tissue.cols; ++x) out[x] |= fill[static_cast<std::size_t>(label[x])];
    }
  }

  const double min_region_px = options.min_region_um2 / (mask_mpp * mask_mpp);
  if (min_region_px > 1) {
    cv::Mat labels;
    cv::Mat stats;
    cv::Mat centroids;
    const int count = cv::connectedComponentsWithStats(tissue, labels, stats, centroids, 8, CV_32S);
    std::vector<std::uint8_t> keep(static_cast<std::size_t>(count), 0);
    for (int i = 1; i < count; ++i) {
      keep[static_cast<std::size_t>(i)] = stats.at<int>(i, cv::CC_STAT_AREA) >= min_region_px ? 255 : 0;
    }
    for (int y = 0; y < tissue.rows; ++y) {
      const int* label = labels.ptr<int>(y);
      auto* out = tissue.ptr<std::uint8_t>(y);
      for (int x = 0; x < tissue.cols; ++x) out[x] = keep[static_cast<std::size_t>(label[x])];
    }
  }
  return mask;
}

Result<TissueMask> detect_tissue(const slide::SlideReader& slide, const TissueOptions& options) {
  const auto& props = slide.properties();
  if (props.levels.empty()) return Error{ErrorCode::invalid_argument, "the slide has no levels"};
  const double mpp = slide_mpp(props);
  const auto& base = props.levels.front();
  const double longest = static_cast<double>(std::max(base.width, base.height));
  const int max_side = std::max(16, options.max_side_px);
  const double target = std::max({1.0, options.target_mpp / mpp, longest / max_side});

  const int level = slide::best_level_for_downsample(props, target);
  const auto& info = props.levels[static_cast<std::size_t>(level)];
  // A whole reduction factor, so each mask pixel is the mean of k x k level pixels.
  std::int64_t k = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(target / info.downsample + 1e-6)));
  const std::int64_t level_longest = std::max(info.width, info.height);
  k = std::max<std::int64_t>(k, (level_longest + max_side - 1) / max_side);
  k = std::min<std::int64_t>(k, std::max<std::int64_t>(1, std::min(info.width, info.height)));
  const int out_width = static_cast<int>(info.width / k);
  const int out_height = static_cast<int>(info.height / k);
  const int read_width = static_cast<int>(out_width * k);

  slide::RgbImage thumbnail(out_width, out_height);
  const std::int64_t band_rows =
      std::max<std::int64_t>(1, kBandPixels / std::max<std::int64_t>(1, static_cast<std::int64_t>(read_width) * k));
  for (std::int64_t first = 0; first < out_height; first += band_rows) {
    const auto rows = static_cast<int>(std::min<std::int64_t>(band_rows, out_height - first));
    const auto y0 = static_cast<std::int64_t>(std::llround(static_cast<double>(first * k) * info.downsample));
    MCVAL_TRY_ASSIGN(band, slide.read_region(0, y0, level, read_width, static_cast<int>(rows * k)));
    const cv::Mat source(band.height, band.width, CV_8UC3, band.pixels.data());
    cv::Mat target_rows(rows, out_width, CV_8UC3, thumbnail.row(static_cast<int>(first)));
    if (k == 1) {
      source.copyTo(target_rows);
    } else {
      cv::resize(source, target_rows, target_rows.size(), 0, 0, cv::INTER_AREA);
    }
  }
  return detect_tissue(thumbnail, info.downsample * static_cast<double>(k), mpp, options);
}

}  // namespace mcval::inference
