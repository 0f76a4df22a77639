#include "aperio_tiff.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include <tiffio.h>
#include <turbojpeg.h>

namespace mcval::synth::detail {

JpegEncoder::JpegEncoder() : handle_(tjInitCompress()) {}

JpegEncoder::~JpegEncoder() {
  if (handle_ != nullptr) tjDestroy(handle_);
}

Status JpegEncoder::encode(const slide::RgbImage& image, int quality, std::string& out) {
  if (handle_ == nullptr) return Error{ErrorCode::internal, "tjInitCompress failed"};
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  const int rc = tjCompress2(handle_, image.pixels.data(), image.width, static_cast<int>(image.stride()), image.height,
                             TJPF_RGB, &buffer, &size, TJSAMP_420, quality, TJFLAG_ACCURATEDCT);
  if (rc != 0) {
    std::string reason = tjGetErrorStr2(handle_);
    if (buffer != nullptr) tjFree(buffer);
    return Error{ErrorCode::internal, "JPEG encoding failed: " + reason};
  }
  out.assign(reinterpret_cast<const char*>(buffer), size);
  tjFree(buffer);
  return {};
}

Result<std::unique_ptr<TileStore>> TileStore::create(const std::filesystem::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "w+b");
  if (file == nullptr) return Error{ErrorCode::io_error, "cannot create " + path.string()};
  return std::unique_ptr<TileStore>(new TileStore(file, path));
}

TileStore::~TileStore() {
  std::fclose(file_);
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

Result<TileRef> TileStore::append(std::string_view bytes) {
  if (reading_) {
    if (fseeko(file_, 0, SEEK_END) != 0) return Error{ErrorCode::io_error, "seek failed in " + path_.string()};
    reading_ = false;
  }
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    return Error{ErrorCode::io_error, "cannot write " + path_.string() + " (disk full?)"};
  }
  const TileRef ref{bytes_, static_cast<std::uint32_t>(bytes.size())};
  bytes_ += bytes.size();
  return ref;
}

Status TileStore::read(const TileRef& ref, std::string& out) {
  if (!reading_) {
    if (std::fflush(file_) != 0) return Error{ErrorCode::io_error, "cannot write " + path_.string()};
    reading_ = true;
  }
  out.resize(ref.size);
  if (fseeko(file_, static_cast<off_t>(ref.offset), SEEK_SET) != 0 ||
      std::fread(out.data(), 1, ref.size, file_) != ref.size) {
    return Error{ErrorCode::io_error, "cannot read back " + path_.string()};
  }
  return {};
}

namespace {

int capture_tiff_error(TIFF*, void* user_data, const char* module, const char* format, va_list args) {
  auto* message = static_cast<std::string*>(user_data);
  char text[512];
  std::vsnprintf(text, sizeof text, format, args);
  if (message->empty()) *message = std::string(module != nullptr ? module : "libtiff") + ": " + text;
  return 1;
}

int ignore_tiff_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

class TiffFile {
 public:
  TiffFile(const std::filesystem::path& path, bool bigtiff) {
    TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
    TIFFOpenOptionsSetErrorHandlerExtR(options, capture_tiff_error, &message_);
    TIFFOpenOptionsSetWarningHandlerExtR(options, ignore_tiff_warning, nullptr);
    tiff_ = TIFFOpenExt(path.c_str(), bigtiff ? "w8" : "w", options);
    TIFFOpenOptionsFree(options);
  }
  ~TiffFile() {
    if (tiff_ != nullptr) TIFFClose(tiff_);
  }
  TiffFile(const TiffFile&) = delete;
  TiffFile& operator=(const TiffFile&) = delete;

  TIFF* get() const { return tiff_; }
  /// Closes the file; false if the final flush failed.
  bool close() {
    TIFF* tiff = tiff_;
    tiff_ = nullptr;
    TIFFClose(tiff);
    return message_.empty();
  }
  Error error(const std::string& what) const {
    return Error{ErrorCode::io_error, what + (message_.empty() ? std::string{} : ": " + message_)};
  }

 private:
  TIFF* tiff_ = nullptr;
  std::string message_;
};

/// Tags shared by every directory: 8-bit RGB stored as JPEG in YCbCr 4:2:0.
bool set_jpeg_ycbcr_tags(TIFF* tiff, std::int64_t width, std::int64_t height, const std::string& description) {
  float reference_black_white[6] = {0.0f, 255.0f, 128.0f, 255.0f, 128.0f, 255.0f};
  return TIFFSetField(tiff, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(width)) == 1 &&
         TIFFSetField(tiff, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(height)) == 1 &&
         TIFFSetField(tiff, TIFFTAG_BITSPERSAMPLE, 8) == 1 && TIFFSetField(tiff, TIFFTAG_SAMPLESPERPIXEL, 3) == 1 &&
         TIFFSetField(tiff, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) == 1 &&
         TIFFSetField(tiff, TIFFTAG_COMPRESSION, COMPRESSION_JPEG) == 1 &&
         TIFFSetField(tiff, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR) == 1 &&
         TIFFSetField(tiff, TIFFTAG_YCBCRSUBSAMPLING, 2, 2) == 1 &&
         TIFFSetField(tiff, TIFFTAG_REFERENCEBLACKWHITE, reference_black_white) == 1 &&
         TIFFSetField(tiff, TIFFTAG_IMAGEDESCRIPTION, description.c_str()) == 1;
}

Status write_tiled_level(TiffFile& file, const TiffLevel& level, int tile_px, TileStore& store) {
  TIFF* tiff = file.get();
  if (!set_jpeg_ycbcr_tags(tiff, level.width, level.height, level.description) ||
      TIFFSetField(tiff, TIFFTAG_TILEWIDTH, static_cast<std::uint32_t>(tile_px)) != 1 ||
      TIFFSetField(tiff, TIFFTAG_TILELENGTH, static_cast<std::uint32_t>(tile_px)) != 1) {
    return file.error("cannot set the tags of a pyramid level");
  }
  if (TIFFNumberOfTiles(tiff) != level.tiles.size()) {
    return Error{ErrorCode::internal, "tile count does not match the level's geometry"};
  }
  std::string bytes;
  for (std::size_t t = 0; t < level.tiles.size(); ++t) {
    MCVAL_TRY(store.read(level.tiles[t], bytes));
    if (TIFFWriteRawTile(tiff, static_cast<std::uint32_t>(t), bytes.data(), static_cast<tmsize_t>(bytes.size())) < 0) {
      return file.error("cannot write a tile");
    }
  }
  if (TIFFWriteDirectory(tiff) != 1) return file.error("cannot write a directory");
  return {};
}

Status write_thumbnail(TiffFile& file, const TiffThumbnail& thumbnail) {
  TIFF* tiff = file.get();
  const slide::RgbImage& image = thumbnail.image;
  constexpr int kRowsPerStrip = 64;  // a multiple of 16, as JPEG with 2x2 chroma subsampling needs
  if (!set_jpeg_ycbcr_tags(tiff, image.width, image.height, thumbnail.description) ||
      TIFFSetField(tiff, TIFFTAG_ROWSPERSTRIP, static_cast<std::uint32_t>(kRowsPerStrip)) != 1 ||
      TIFFSetField(tiff, TIFFTAG_JPEGQUALITY, thumbnail.quality) != 1 ||
      TIFFSetField(tiff, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB) != 1) {
    return file.error("cannot set the tags of the thumbnail");
  }
  for (int y = 0, strip = 0; y < image.height; y += kRowsPerStrip, ++strip) {
    const int rows = std::min(kRowsPerStrip, image.height - y);
    auto* data = const_cast<std::uint8_t*>(image.row(y));  // libtiff does not modify it
    if (TIFFWriteEncodedStrip(tiff, static_cast<std::uint32_t>(strip), data,
                              static_cast<tmsize_t>(rows) * static_cast<tmsize_t>(image.stride())) < 0) {
      return file.error("cannot write the thumbnail");
    }
  }
  if (TIFFWriteDirectory(tiff) != 1) return file.error("cannot write the thumbnail directory");
  return {};
}

}  // namespace

Status write_aperio_tiff(const std::filesystem::path& path, const std::vector<TiffLevel>& levels, int tile_px,
                         const TiffThumbnail& thumbnail, TileStore& store, bool bigtiff) {
  if (levels.empty()) return Error{ErrorCode::internal, "no levels to write"};
  TiffFile file(path, bigtiff);
  if (file.get() == nullptr) return file.error("cannot create " + path.string());
  MCVAL_TRY(write_tiled_level(file, levels.front(), tile_px, store));
  MCVAL_TRY(write_thumbnail(file, thumbnail));
  for (std::size_t k = 1; k < levels.size(); ++k) MCVAL_TRY(write_tiled_level(file, levels[k], tile_px, store));
  if (!file.close()) return file.error("cannot finish " + path.string());
  return {};
}

}  // namespace mcval::synth::detail
