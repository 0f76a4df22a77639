#pragma once
// TiffJpegTiles: the stored JPEG tiles of a tiled TIFF slide (Aperio SVS, generic tiled TIFF),
// read as bytes without decoding, so a request that maps exactly onto a stored tile can be
// answered with the scanner's own JPEG instead of decode + re-encode.
#include <cstdint>
#include <list>
#include <mutex>
#include <unordered_map>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mcval/slide/slide_reader.h"

namespace mcval::slide {

/// Why a stored tile was not used (for tests and diagnostics; callers fall back either way).
enum class StoredTileMiss {
  not_tile_aligned,   ///< the region is not exactly one stored tile at an integer-downsample level
  edge_tile,          ///< the whole padded tile past the level's edge, or an edge part that cannot be cut losslessly
  not_jpeg,           ///< the level is not 8-bit 3-channel JPEG in RGB or YCbCr
  unreadable,         ///< the bytes could not be read or are not the JPEG the directory promises
};

/// Stored JPEG tiles of the directories that hold a slide's pyramid levels. Thread-safe (reads
/// use pread on a descriptor the object owns). Stored tiles a region needs (nearly) all of are
/// decoded whole and kept in a small LRU per open slide (`decoded_cache_bytes`, 32 MiB unless
/// said; as OpenSlide keeps its own per handle), so a region that shares them with the previous
/// ones does not decode them again; of the others only the part the region needs is decoded, and
/// not kept. A tile pushed out of the LRU gives its buffer to the next tile decoded, once no
/// region still reads it, so a steady flow of tiles through the LRU does not allocate and free
/// 192 KiB a tile (which fragments the allocator's address space under load).
class TiffJpegTiles {
 public:
  /// Opens `path` with libtiff and finds, for every level of `slide`, the tiled directory of the
  /// same size. Null when the file is not a TIFF or no level is stored as tiled JPEG. At most
  /// `decoded_cache_bytes` of decoded tiles are kept (0: none).
  static std::unique_ptr<const TiffJpegTiles> open(const std::filesystem::path& path, const SlideProperties& slide,
                                                   std::size_t decoded_cache_bytes = kDefaultDecodedCacheBytes);
  ~TiffJpegTiles();
  TiffJpegTiles(const TiffJpegTiles&) = delete;
  TiffJpegTiles& operator=(const TiffJpegTiles&) = delete;

  /// The complete JPEG stream (JPEGTables spliced in, an Adobe APP14 marker with transform 0
  /// added for Photometric RGB) whose decoded pixels are what read_region(l0_x, l0_y, level,
  /// width, height) returns, when that region is exactly one stored tile, or at the level's right
  /// or bottom edge exactly the part of one inside the level (cut losslessly where no subsampled
  /// chroma is cut); otherwise why not.
  struct Read {
    std::optional<std::string> jpeg;
    StoredTileMiss miss = StoredTileMiss::not_tile_aligned;
  };
  Read read(int level, std::int64_t l0_x, std::int64_t l0_y, int width, int height) const;

  /// read_region without OpenSlide: decodes the parts of the stored JPEG tiles the region touches
  /// with libjpeg-turbo (the decoder and settings OpenSlide uses, so the pixels are the same) and
  /// fills what lies outside the level with `background`. Nullopt when the level is not stored as
  /// JPEG tiles, the region's level coordinates are not whole pixels, or a tile cannot be read or
  /// decoded (the caller then asks OpenSlide, which reports damage its own way).
  std::optional<RgbImage> read_region(int level, std::int64_t l0_x, std::int64_t l0_y, int width, int height,
                                      const std::uint8_t (&background)[3]) const;

  static constexpr std::size_t kDefaultDecodedCacheBytes = 32u << 20;
  /// Bytes of decoded tiles the LRU holds now (never above the budget given to open).
  std::size_t decoded_cache_bytes_held() const;

  /// Levels stored as JPEG tiles (true) or not, by OpenSlide level index.
  std::vector<bool> jpeg_levels() const;

  struct Level;  // one directory: geometry, tile offsets and byte counts, JPEG tables

 private:
  TiffJpegTiles() = default;
  /// The complete JPEG stream of tile `index` of level `l`; nullopt if unreadable.
  std::optional<std::string> tile_jpeg(const Level& l, std::uint64_t index) const;
  int fd_ = -1;
  std::vector<std::unique_ptr<Level>> levels_;  // by OpenSlide level; null: not usable
  std::vector<double> downsamples_;

  /// A decoded tile: tile_w x tile_h RGB pixels, rows tile_w * 3 bytes apart.
  using Pixels = std::shared_ptr<const std::uint8_t[]>;
  /// The decoded pixels of a tile if the LRU holds them; null otherwise.
  Pixels cached_tile(std::uint64_t key) const;
  /// The decoded pixels of a tile (from the LRU, or decoded whole now and kept); null if
  /// unreadable.
  Pixels decoded_tile(const Level& l, std::uint64_t key, std::uint64_t index) const;
  struct Decoded {
    std::uint64_t key;
    Pixels pixels;
    std::size_t bytes;
  };
  mutable std::mutex decoded_mutex_;
  mutable std::list<Decoded> decoded_lru_;  // front: most recent
  mutable std::unordered_map<std::uint64_t, decltype(decoded_lru_)::iterator> decoded_index_;
  mutable std::size_t decoded_bytes_ = 0;
  std::size_t decoded_budget_ = kDefaultDecodedCacheBytes;
  /// The buffers of tiles pushed out of the LRU, handed to the next tiles decoded.
  class RecycledBuffers;
  std::shared_ptr<RecycledBuffers> recycled_;
};

}  // namespace mcval::slide
