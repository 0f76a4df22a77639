#include "mcval/tiles/reduced_levels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "mcval/slide/resample.h"

namespace mcval::tiles {

namespace {

constexpr int kMaxReduction = 30;  // 2^30: far past any slide's size

/// The exponent j when `downsample` is exactly 2^j (an integral pyramid step).
std::optional<int> power_of_two_exponent(double downsample) {
  for (int j = 0; j <= kMaxReduction; ++j) {
    const double power = std::ldexp(1.0, j);
    if (std::fabs(downsample - power) <= 1e-9 * power) return j;
    if (power > downsample) break;
  }
  return std::nullopt;
}

/// Copies `part` into `into` with its top-left corner at (x, y) of `into` (clipped).
void paste(const slide::RgbImage& part, std::int64_t x, std::int64_t y, slide::RgbImage& into) {
  const std::int64_t x0 = std::max<std::int64_t>(0, x), y0 = std::max<std::int64_t>(0, y);
  const std::int64_t x1 = std::min<std::int64_t>(into.width, x + part.width);
  const std::int64_t y1 = std::min<std::int64_t>(into.height, y + part.height);
  if (x0 >= x1 || y0 >= y1) return;
  for (std::int64_t row = y0; row < y1; ++row) {
    std::memcpy(into.row(static_cast<int>(row)) + x0 * 3, part.row(static_cast<int>(row - y)) + (x0 - x) * 3,
                static_cast<std::size_t>(x1 - x0) * 3);
  }
}

}  // namespace

ReducedLevels::ReducedLevels(const slide::SlideReader& reader, slide::TileCache& cache, ReducedLevelLocks& locks,
                             std::string key_prefix)
    : reader_(reader), cache_(cache), locks_(locks), key_prefix_(std::move(key_prefix)) {
  const auto& props = reader.properties();
  if (!props.level_tile_width.empty() && props.level_tile_width.front() >= 64 &&
      props.level_tile_width.front() <= 2048 && props.level_tile_width.front() == props.level_tile_height.front()) {
    tile_px_ = props.level_tile_width.front();
  }
}

std::optional<int> ReducedLevels::base_level_for(int k) const {
  if (k < 1 || k > kMaxReduction) return std::nullopt;
  const int level = reader_.best_level_for_downsample(std::ldexp(1.0, k));
  const auto j = power_of_two_exponent(reader_.properties().levels[static_cast<std::size_t>(level)].downsample);
  if (!j || *j >= k) return std::nullopt;
  return level;
}

std::int64_t ReducedLevels::level_width(int k) const {
  const std::int64_t w = reader_.properties().levels.front().width;
  return (w + (std::int64_t{1} << k) - 1) >> k;
}

std::int64_t ReducedLevels::level_height(int k) const {
  const std::int64_t h = reader_.properties().levels.front().height;
  return (h + (std::int64_t{1} << k) - 1) >> k;
}

Result<slide::RgbImage> ReducedLevels::read(int base, int k, std::int64_t x, std::int64_t y, int width,
                                            int height) const {
  const auto& levels = reader_.properties().levels;
  if (base < 0 || base >= static_cast<int>(levels.size()) || k < 1 || k > kMaxReduction || width <= 0 ||
      height <= 0) {
    return Error{ErrorCode::invalid_argument, "reduced level read out of range"};
  }
  const auto j = power_of_two_exponent(levels[static_cast<std::size_t>(base)].downsample);
  if (!j || *j >= k) return Error{ErrorCode::invalid_argument, "the base level is not a power-of-two step below"};
  const double base_pixels = std::ldexp(static_cast<double>(width) * height, 2 * (k - *j));
  if (base_pixels > static_cast<double>(slide::SlideReader::kMaxReadPixels)) {
    return Error{ErrorCode::payload_too_large,
                 "the region needs " + std::to_string(static_cast<std::int64_t>(base_pixels)) +
                     " pixels read at the best level; the limit is " +
                     std::to_string(slide::SlideReader::kMaxReadPixels)};
  }
  auto out = slide::RgbImage::uninitialized(width, height);  // background, then the tiles
  const auto& bg = reader_.properties().background_rgb;
  for (std::size_t i = 0; i < out.pixels.size(); i += 3) std::memcpy(&out.pixels[i], bg, 3);
  const std::int64_t x1 = std::min(x + width, level_width(k)), y1 = std::min(y + height, level_height(k));
  const std::int64_t x0 = std::max<std::int64_t>(x, 0), y0 = std::max<std::int64_t>(y, 0);
  for (std::int64_t row = y0 / tile_px_; y0 < y1 && row <= (y1 - 1) / tile_px_; ++row) {
    for (std::int64_t col = x0 / tile_px_; x0 < x1 && col <= (x1 - 1) / tile_px_; ++col) {
      MCVAL_TRY_ASSIGN(t, tile(base, *j, k, col, row));
      paste(t->pixels, col * tile_px_ - x, row * tile_px_ - y, out);
    }
  }
  return out;
}

Result<std::shared_ptr<const slide::CachedTile>> ReducedLevels::tile(int base, int j, int k, std::int64_t col,
                                                                     std::int64_t row) const {
  const std::int64_t side = tile_px_;
  const auto w = static_cast<int>(std::min(side, level_width(k) - col * side));
  const auto h = static_cast<int>(std::min(side, level_height(k) - row * side));
  const std::string key = key_prefix_ + "reduced/" + std::to_string(side) + "/" + std::to_string(base) + "/" +
                          std::to_string(k) + "/" + std::to_string(col) + "_" + std::to_string(row);
  const auto is_this = [&](const std::shared_ptr<const slide::CachedTile>& t) {
    return t && t->pixels.width == w && t->pixels.height == h;
  };
  if (auto hit = cache_.get(key); is_this(hit)) return hit;
  std::lock_guard making(locks_.by_level[static_cast<std::size_t>(k)][std::hash<std::string>{}(key) %
                                                                      ReducedLevelLocks::kStripes]);
  if (auto hit = cache_.get(key); is_this(hit)) return hit;  // made while this thread waited

  // The 2 x 2 tiles of level k-1 below this one, side by side, then averaged 2 x 2. Right above
  // the stored level that is one read of the stored level.
  const auto below_w = static_cast<int>(std::min(2 * side, level_width(k - 1) - 2 * col * side));
  const auto below_h = static_cast<int>(std::min(2 * side, level_height(k - 1) - 2 * row * side));
  slide::RgbImage below;
  if (k - 1 == j) {
    const std::int64_t scale = std::int64_t{1} << j;
    MCVAL_TRY_ASSIGN(pixels, reader_.read_region(2 * col * side * scale, 2 * row * side * scale, base, below_w,
                                                 below_h));
    below = std::move(pixels);
  } else {
    below = slide::RgbImage::uninitialized(below_w, below_h);  // the tiles below cover it
    for (std::int64_t dy = 0; dy < 2 && dy * side < below_h; ++dy) {
      for (std::int64_t dx = 0; dx < 2 && dx * side < below_w; ++dx) {
        MCVAL_TRY_ASSIGN(part, tile(base, j, k - 1, 2 * col + dx, 2 * row + dy));
        paste(part->pixels, dx * side, dy * side, below);
      }
    }
  }
  auto made = std::make_shared<slide::CachedTile>();
  made->pixels = slide::reduce_box(below, 2);
  std::shared_ptr<const slide::CachedTile> result = std::move(made);
  // Kept only where the next level up is made from this one too: below a stored level (the 2x of
  // a slide stored at 1x and 4x) nothing will ask for it again, and its pixels would push out many
  // encoded tiles.
  if (base_level_for(k + 1) == base) cache_.put(key, result);
  return result;
}

}  // namespace mcval::tiles
