#pragma once
// TileService: everything image-shaped that the server answers for a catalogued slide:
// Deep Zoom descriptors and tiles, IIIF info and images, thumbnails and associated images.
// Resolves slide ids through a snapshot of the catalogue (never a path from the client),
// reads through the SlidePool, and caches encoded results in the TileCache.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "mcval/catalog/slide_catalog.h"
#include "mcval/common/result.h"
#include "mcval/slide/deepzoom.h"
#include "mcval/slide/slide_pool.h"
#include "mcval/slide/tile_cache.h"
#include "mcval/tiles/iiif.h"
#include "mcval/tiles/reduced_levels.h"

namespace mcval::tiles {

struct TileServiceOptions {
  std::filesystem::path slide_root;
  int jpeg_quality = 80;
  std::int64_t max_output_pixels = 16 * 1024 * 1024;  ///< IIIF region / thumbnail output cap
  bool associated_images = false;                     ///< label and macro are patient data
  /// Deep Zoom tiles of the slide's stored tile size with no overlap (instead of 254 + 1), so
  /// that tiles at stored pyramid levels are the file's own JPEG tiles.
  bool dzi_native_tiles = false;
};

/// What the service has answered so far (for /metrics and the benchmark). Monotonic.
struct TileServiceCounters {
  std::uint64_t stored_jpeg_served = 0;  ///< tiles answered with a file's stored JPEG bytes (cache hits too)
  std::uint64_t stored_jpeg_reads = 0;   ///< of those, read from the file (cache misses)
  std::uint64_t rendered = 0;            ///< images decoded, scaled and encoded (cache misses)
};

/// An encoded image ready to send, shared with the cache.
using EncodedImage = std::shared_ptr<const slide::CachedTile>;

/// Thread-safe. The catalogue snapshot is replaced atomically by refresh().
class TileService {
 public:
  /// `catalog`, `pool` and `cache` must outlive the service.
  TileService(const catalog::SlideCatalog& catalog, slide::SlidePool& pool, slide::TileCache& cache,
              TileServiceOptions options);

  /// Reloads the id -> slide map from the catalogue (after a scan). Drops cached tiles of
  /// slides whose file changed.
  Status refresh();

  /// The record for an id: slide_not_found, or the record (any status).
  Result<catalog::SlideRecord> slide(const std::string& id) const;

  /// ETag the tile of this request would have (answering If-None-Match without rendering).
  /// Fails like the rendering would for unknown, removed or unreadable slides.
  Result<std::string> etag_for(const std::string& id, const std::string& request_key) const;

  Result<std::string> dzi_descriptor(const std::string& id, ImageFormat format) const;
  Result<EncodedImage> dzi_tile(const std::string& id, int level, std::int64_t col, std::int64_t row,
                                ImageFormat format) const;

  /// info.json for the image service whose id (base URI) is `service_id`.
  Result<nlohmann::json> iiif_info(const std::string& id, const std::string& service_id) const;
  Result<EncodedImage> iiif_image(const std::string& id, const IiifRequest& request) const;

  /// The whole slide scaled to fit `max_px` x `max_px` (JPEG).
  Result<EncodedImage> thumbnail(const std::string& id, int max_px) const;
  /// An associated image (JPEG); not_found unless enabled in the options and present.
  Result<EncodedImage> associated_image(const std::string& id, const std::string& name) const;

  const TileServiceOptions& options() const { return options_; }
  TileServiceCounters counters() const;

  /// Request keys: with etag_for() they let a caller answer If-None-Match without rendering.
  static std::string dzi_tile_key(int level, std::int64_t col, std::int64_t row, ImageFormat format);
  static std::string iiif_key(const IiifRequest& request);
  static std::string thumbnail_key(int max_px);

 private:
  struct SlideEntry;
  struct Snapshot;
  struct OpenSlide;
  /// resolve() and attach_reader(): a catalogued, readable slide with its reader open.
  Result<OpenSlide> open(const std::string& id) const;
  /// The catalogue's record for an id, refused if removed or unreadable; the file is not touched.
  Result<OpenSlide> resolve(const std::string& id) const;
  /// Opens the slide's reader through the pool (a stat of the file; slide_gone if it is gone).
  Status attach_reader(OpenSlide& slide) const;
  /// Whether an attach_reader() of this slide succeeded within the last second.
  static bool file_seen_recently(const OpenSlide& slide);
  /// The cached answer for `request_key`, else render() (with the reader attached) cached. A
  /// hit needs no reader while the file was seen recently; otherwise the file is looked at first.
  Result<EncodedImage> cached_or_render(OpenSlide& slide, const std::string& request_key,
                                        const std::function<Result<EncodedImage>()>& render) const;
  /// Pixels of a Deep Zoom tile: the native grid scales like IIIF, the default grid exactly as
  /// OpenSlide Python does.
  Result<slide::RgbImage> native_dzi_pixels(const OpenSlide& slide, const slide::DeepZoomGeometry& geometry, int level,
                                            const slide::DeepZoomTileRequest& request) const;
  static Result<slide::RgbImage> default_dzi_pixels(const slide::SlideReader& reader,
                                                    const slide::DeepZoomTileRequest& request);
  /// The slide file's identity in cache keys: "<id>|<bytes>|<mtime>|".
  static const std::string& cache_prefix(const OpenSlide& slide);
  /// A level-0 rectangle scaled to (out_w, out_h): from the reduced levels for a power-of-two
  /// reduction the file does not store, otherwise read at the best level and reduced.
  Result<slide::RgbImage> read_scaled(const OpenSlide& slide, std::int64_t x, std::int64_t y, std::int64_t w,
                                      std::int64_t h, std::int64_t out_w, std::int64_t out_h) const;
  std::shared_ptr<const Snapshot> snapshot() const;

  /// Counts the answer: stored bytes or rendered.
  void count(const EncodedImage& image) const;

  const catalog::SlideCatalog& catalog_;
  slide::SlidePool& pool_;
  slide::TileCache& cache_;
  TileServiceOptions options_;
  mutable ReducedLevelLocks reduced_level_locks_;
  mutable std::mutex snapshot_mutex_;
  std::shared_ptr<const Snapshot> snapshot_;
  mutable std::atomic<std::uint64_t> stored_served_{0}, stored_reads_{0}, rendered_{0};
};

}  // namespace mcval::tiles
