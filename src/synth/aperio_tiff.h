#pragma once
// The container side of write_aperio_slide: JPEG tiles kept in a temporary file while the
// pyramid is rendered, and the TIFF assembled from them with libtiff once every level is done.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/slide/image.h"

namespace mcval::synth::detail {

/// Baseline JPEG encoder (TurboJPEG, YCbCr 4:2:0, accurate integer DCT). One per thread.
class JpegEncoder {
 public:
  JpegEncoder();
  ~JpegEncoder();
  JpegEncoder(const JpegEncoder&) = delete;
  JpegEncoder& operator=(const JpegEncoder&) = delete;
  /// Encodes a whole image into `out` (replaced).
  Status encode(const slide::RgbImage& image, int quality, std::string& out);

 private:
  void* handle_ = nullptr;
};

/// Where a tile's bytes lie in the TileStore.
struct TileRef {
  std::uint64_t offset = 0;
  std::uint32_t size = 0;
};

/// An append-only temporary file of encoded tiles; removed when destroyed. Not thread-safe.
class TileStore {
 public:
  static Result<std::unique_ptr<TileStore>> create(const std::filesystem::path& path);
  ~TileStore();
  TileStore(const TileStore&) = delete;
  TileStore& operator=(const TileStore&) = delete;

  Result<TileRef> append(std::string_view bytes);
  Status read(const TileRef& ref, std::string& out);
  std::uint64_t bytes() const { return bytes_; }

 private:
  TileStore(std::FILE* file, std::filesystem::path path) : file_(file), path_(std::move(path)) {}
  std::FILE* file_;
  std::filesystem::path path_;
  std::uint64_t bytes_ = 0;
  bool reading_ = false;
};

/// One tiled pyramid level, its tiles row-major.
struct TiffLevel {
  std::int64_t width = 0;
  std::int64_t height = 0;
  std::string description;
  std::vector<TileRef> tiles;
};

/// The stripped thumbnail directory.
struct TiffThumbnail {
  slide::RgbImage image;
  std::string description;
  int quality = 85;
};

/// Writes `levels[0]`, the thumbnail, then `levels[1..]` as TIFF directories into `path`.
/// Tiles are copied as they are (TIFFWriteRawTile): each is a complete JPEG stream, so the
/// directories carry no JPEGTables. io_error with libtiff's message on failure.
Status write_aperio_tiff(const std::filesystem::path& path, const std::vector<TiffLevel>& levels, int tile_px,
                         const TiffThumbnail& thumbnail, TileStore& store, bool bigtiff);

}  // namespace mcval::synth::detail
