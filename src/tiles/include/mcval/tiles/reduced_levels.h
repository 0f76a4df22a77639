#pragma once
// ReducedLevels: the power-of-two pyramid levels a slide file does not store, made on demand
// tile by tile from the level below and kept in the TileCache. A slide scanned as one level
// (or with 4x steps between levels) would otherwise answer every zoomed-out tile by reading and
// averaging full resolution: a 16x reduction reads 256 times the pixels it returns. Here level k
// costs a quarter of level k-1, each tile made once, as a pyramid builder (vips) makes levels.
#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "mcval/common/result.h"
#include "mcval/slide/image.h"
#include "mcval/slide/slide_reader.h"
#include "mcval/slide/tile_cache.h"

namespace mcval::tiles {

/// Serialises the making of each reduced tile, so that concurrent requests (a zoomed-out view
/// asks for many at once) wait for a tile being made instead of making it again. One stripe of
/// locks per level: a thread holds at most one lock per level and takes them from the top level
/// down, so no two threads can wait for each other.
struct ReducedLevelLocks {
  static constexpr int kLevels = 31;
  static constexpr int kStripes = 16;
  std::array<std::array<std::mutex, kStripes>, kLevels> by_level;
};

/// Level k of the reduced pyramid is level 0 reduced by 2^k: ceil(width / 2^k) x ceil(height /
/// 2^k) pixels, each the rounded mean of a 2 x 2 block of level k-1 (edge blocks average what
/// they cover, as slide::reduce_box). Down to a `base` level the file stores at exactly 2^j,
/// which is read as stored. Cheap to construct (one per request); the tiles live in `cache`
/// under `key_prefix`, so they share its byte budget and its invalidation by slide.
class ReducedLevels {
 public:
  /// `reader`, `cache` and `locks` must outlive the object. `key_prefix` names the slide file's
  /// identity in the cache (the TileService's "<id>|<bytes>|<mtime>|").
  ReducedLevels(const slide::SlideReader& reader, slide::TileCache& cache, ReducedLevelLocks& locks,
                std::string key_prefix);

  /// The stored level a reduction by 2^k should be built from: the best level for that
  /// downsample when its downsample is exactly 2^j with j < k; nullopt when the file stores 2^k
  /// itself or its best level is not a power of two (then reading that level is the way).
  std::optional<int> base_level_for(int k) const;

  /// The region (x, y, width, height), in pixels of reduced level k, built from stored level
  /// `base` (from base_level_for(k)). Pixels outside level k are the slide's background.
  /// Fails like SlideReader::read_region, or payload_too_large when the base-level area behind
  /// the region exceeds SlideReader::kMaxReadPixels.
  Result<slide::RgbImage> read(int base, int k, std::int64_t x, std::int64_t y, int width, int height) const;

  /// Tile size of the reduced levels: the slide's stored tile size when it has a usable one,
  /// so that tiles of the base level are exactly stored tiles.
  int tile_px() const { return tile_px_; }

 private:
  /// Tile (col, row) of level k > j, made from stored level `base` (its downsample 2^j).
  Result<std::shared_ptr<const slide::CachedTile>> tile(int base, int j, int k, std::int64_t col,
                                                        std::int64_t row) const;
  /// Size of level k in pixels.
  std::int64_t level_width(int k) const;
  std::int64_t level_height(int k) const;

  const slide::SlideReader& reader_;
  slide::TileCache& cache_;
  ReducedLevelLocks& locks_;
  std::string key_prefix_;
  int tile_px_ = 256;
};

}  // namespace mcval::tiles
