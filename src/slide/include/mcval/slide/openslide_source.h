#pragma once
#include "mcval/slide/slide_reader.h"
#include "mcval/slide/tiff_jpeg_tiles.h"

namespace mcval::slide {

/// SlideSource backed by OpenSlide (openslide_open). Readers returned are thread-safe
/// (OpenSlide handles are) and close their handle when the last reference goes.
class OpenSlideSource final : public SlideSource {
 public:
  /// `decoded_tile_cache_bytes`: the budget of each reader's LRU of decoded stored JPEG tiles
  /// (TiffJpegTiles), memory beside OpenSlide's own per-handle cache.
  explicit OpenSlideSource(std::size_t decoded_tile_cache_bytes = TiffJpegTiles::kDefaultDecodedCacheBytes)
      : decoded_tile_cache_bytes_(decoded_tile_cache_bytes) {}
  Result<std::shared_ptr<const SlideReader>> open(const std::filesystem::path& path) const override;
  /// Whether OpenSlide recognises the file at all (openslide_detect_vendor), without opening it.
  static std::optional<std::string> detect_vendor(const std::filesystem::path& path);

 private:
  std::size_t decoded_tile_cache_bytes_;
};

}  // namespace mcval::slide
