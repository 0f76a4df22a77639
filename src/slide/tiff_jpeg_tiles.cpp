#include "mcval/slide/tiff_jpeg_tiles.h"

#include <fcntl.h>
#include <tiffio.h>
#include <turbojpeg.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstdarg>
#include <cstdio>  // jpeglib.h needs FILE
#include <cstring>

#include <jpeglib.h>

namespace mcval::slide {

struct TiffJpegTiles::Level {
  std::int64_t width = 0;
  std::int64_t height = 0;
  int tile_w = 0;
  int tile_h = 0;
  std::int64_t tiles_across = 0;
  bool rgb = false;            // Photometric RGB (Aperio): needs an Adobe marker
  std::string tables;          // JPEGTables without SOI and EOI; empty if none
  std::vector<std::uint64_t> offsets;
  std::vector<std::uint64_t> byte_counts;
};

namespace {

int quiet(TIFF*, void*, const char*, const char*, va_list) { return 1; }

struct TiffCloser {
  void operator()(TIFF* tiff) const { TIFFClose(tiff); }
};

constexpr std::uint64_t kMaxTileBytes = 16u << 20;

/// The level a directory describes if it is a usable tiled JPEG; null otherwise.
std::unique_ptr<TiffJpegTiles::Level> read_directory(TIFF* tiff) {
  if (TIFFIsTiled(tiff) == 0) return nullptr;
  std::uint32_t width = 0, height = 0, tile_w = 0, tile_h = 0;
  std::uint16_t compression = 0, bits = 0, samples = 0, planar = PLANARCONFIG_CONTIG, photometric = 0;
  if (TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, &width) != 1 || TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, &height) != 1 ||
      TIFFGetField(tiff, TIFFTAG_TILEWIDTH, &tile_w) != 1 || TIFFGetField(tiff, TIFFTAG_TILELENGTH, &tile_h) != 1 ||
      TIFFGetField(tiff, TIFFTAG_COMPRESSION, &compression) != 1 ||
      TIFFGetField(tiff, TIFFTAG_PHOTOMETRIC, &photometric) != 1) {
    return nullptr;
  }
  TIFFGetFieldDefaulted(tiff, TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLESPERPIXEL, &samples);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_PLANARCONFIG, &planar);
  if (compression != COMPRESSION_JPEG || bits != 8 || samples != 3 || planar != PLANARCONFIG_CONTIG ||
      (photometric != PHOTOMETRIC_RGB && photometric != PHOTOMETRIC_YCBCR) || width == 0 || height == 0 ||
      tile_w == 0 || tile_h == 0) {
    return nullptr;
  }
  auto level = std::make_unique<TiffJpegTiles::Level>();
  level->width = width;
  level->height = height;
  level->tile_w = static_cast<int>(tile_w);
  level->tile_h = static_cast<int>(tile_h);
  level->tiles_across = (level->width + tile_w - 1) / tile_w;
  level->rgb = photometric == PHOTOMETRIC_RGB;
  std::uint32_t table_bytes = 0;
  void* tables = nullptr;
  if (TIFFGetField(tiff, TIFFTAG_JPEGTABLES, &table_bytes, &tables) == 1 && tables != nullptr && table_bytes > 4) {
    const auto* t = static_cast<const unsigned char*>(tables);
    // SOI ... EOI; the tables go between the tile's SOI and the rest of its stream.
    if (t[0] != 0xFF || t[1] != 0xD8 || t[table_bytes - 2] != 0xFF || t[table_bytes - 1] != 0xD9) return nullptr;
    level->tables.assign(reinterpret_cast<const char*>(t) + 2, table_bytes - 4);
  }
  const std::uint32_t count = TIFFNumberOfTiles(tiff);
  std::uint64_t* offsets = nullptr;
  std::uint64_t* byte_counts = nullptr;
  if (count == 0 || TIFFGetField(tiff, TIFFTAG_TILEOFFSETS, &offsets) != 1 ||
      TIFFGetField(tiff, TIFFTAG_TILEBYTECOUNTS, &byte_counts) != 1 || offsets == nullptr || byte_counts == nullptr) {
    return nullptr;
  }
  level->offsets.assign(offsets, offsets + count);
  level->byte_counts.assign(byte_counts, byte_counts + count);
  return level;
}

/// Whether the markers before the scan include one with code `marker` (e.g. APP0 JFIF).
bool has_marker_before_scan(const std::string& jpeg, unsigned char marker) {
  std::size_t pos = 2;
  while (pos + 4 <= jpeg.size()) {
    if (static_cast<unsigned char>(jpeg[pos]) != 0xFF) return false;
    const auto code = static_cast<unsigned char>(jpeg[pos + 1]);
    if (code == marker) return true;
    if (code == 0xDA || code == 0xD9) return false;  // SOS, EOI
    const std::size_t length = (static_cast<unsigned char>(jpeg[pos + 2]) << 8) | static_cast<unsigned char>(jpeg[pos + 3]);
    pos += 2 + length;
  }
  return false;
}

/// libjpeg's error manager, made to jump back into decode_part instead of calling exit().
struct JpegErrors {
  jpeg_error_mgr mgr;  // first member: libjpeg hands back a pointer to it
  std::jmp_buf jump;
};

[[noreturn]] void jump_on_error(j_common_ptr cinfo) {
  std::longjmp(reinterpret_cast<JpegErrors*>(cinfo->err)->jump, 1);
}

// libjpeg warns only of corrupt data (a truncated stream, bytes before a marker). OpenSlide and
// TurboJPEG's tjDecompress2 fail on warnings too, so such a tile is left to OpenSlide.
void jump_on_warning(j_common_ptr cinfo, int msg_level) {
  if (msg_level < 0) std::longjmp(reinterpret_cast<JpegErrors*>(cinfo->err)->jump, 1);
}

/// Decodes columns [x, x + w) and rows [y, y + h) (tile coordinates) of a stored tile's JPEG
/// stream into `dst`, rows `dst_stride` bytes apart, with the settings OpenSlide uses: RGB out,
/// and libjpeg's defaults of ISLOW IDCT and fancy upsampling. Only what the part needs is decoded:
/// the rows above it are entropy-decoded but skip the IDCT, the rows below are never read, and
/// only the iMCU columns around it go through IDCT, upsampling and colour conversion. False if
/// the stream is not the tile its level promises or cannot be decoded.
bool decode_part(const std::string& jpeg, const TiffJpegTiles::Level& l, int x, int y, int w, int h, std::uint8_t* dst,
                 std::size_t dst_stride, const std::uint8_t* dst_begin = nullptr, const std::uint8_t* dst_end = nullptr) {
  jpeg_decompress_struct cinfo;
  JpegErrors errors;
  cinfo.err = jpeg_std_error(&errors.mgr);
  errors.mgr.error_exit = jump_on_error;
  errors.mgr.emit_message = jump_on_warning;
  // longjmp skips destructors: from here on no C++ object with one is made. The row buffer comes
  // from libjpeg's pool, which jpeg_destroy_decompress frees.
  if (setjmp(errors.jump) != 0) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(jpeg.data()), jpeg.size());
  // The promise read() checks too: the tile's size, and RGB (Adobe transform 0) or YCbCr samples.
  if (jpeg_read_header(&cinfo, TRUE) != JPEG_HEADER_OK || cinfo.image_width != static_cast<JDIMENSION>(l.tile_w) ||
      cinfo.image_height != static_cast<JDIMENSION>(l.tile_h) || cinfo.num_components != 3 ||
      cinfo.jpeg_color_space != (l.rgb ? JCS_RGB : JCS_YCbCr)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  // Fancy upsampling blends each subsampled chroma sample with its neighbours, and treats the
  // first and last columns of a crop as the image's edge. A margin of one chroma sample's width
  // each side (jpeg_crop_scanline widens the crop to whole iMCUs anyway) gives every column of
  // the part the neighbours it has in a full decode. Rows need no margin: jpeg_skip_scanlines
  // decodes the context rows that vertical upsampling needs. The unit tests compare with
  // OpenSlide pixel for pixel.
  const int margin = cinfo.max_h_samp_factor;
  auto crop_x = static_cast<JDIMENSION>(std::max(0, x - margin));
  auto crop_w = static_cast<JDIMENSION>(std::min(l.tile_w, x + w + margin)) - crop_x;
  if (crop_w < cinfo.output_width) jpeg_crop_scanline(&cinfo, &crop_x, &crop_w);
  if (y > 0 && jpeg_skip_scanlines(&cinfo, static_cast<JDIMENSION>(y)) != static_cast<JDIMENSION>(y)) {
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  // Whole rows go straight into dst. So does a crop when the destination buffer holds the
  // widened row: the bytes it spills over on either side of the part (neighbouring parts, the
  // background, the next row's start) are saved and put back, which costs two short copies
  // instead of a copy of the whole row out of a row buffer. Otherwise (a spill past the buffer's
  // ends, or wider than kMaxSpill) the crop goes through a row buffer, cut to the part. Only for
  // subsampled chroma (the benchmark's 4:2:0 tiles: Deep Zoom 254+1 cold +15-20 %): with Aperio's
  // RGB tiles (CMU) writing in place measured about 9 % slower than the row buffer.
  const bool whole_rows = crop_x == static_cast<JDIMENSION>(x) && crop_w == static_cast<JDIMENSION>(w);
  const std::size_t skip_bytes = (static_cast<JDIMENSION>(x) - crop_x) * 3;
  const std::size_t part_bytes = static_cast<std::size_t>(w) * 3;
  const std::size_t tail_bytes = static_cast<std::size_t>(crop_w) * 3 - skip_bytes - part_bytes;
  constexpr std::size_t kMaxSpill = 64 * 3;
  const bool spill_in_place = !whole_rows && dst_begin != nullptr && cinfo.max_h_samp_factor > 1 &&
                              skip_bytes <= kMaxSpill &&
                              tail_bytes <= kMaxSpill && static_cast<std::size_t>(dst - dst_begin) >= skip_bytes &&
                              static_cast<std::size_t>(dst_end - dst) >=
                                  static_cast<std::size_t>(h - 1) * dst_stride + part_bytes + tail_bytes;
  JSAMPARRAY buffer = whole_rows || spill_in_place ? nullptr
                                                   : (*cinfo.mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(&cinfo),
                                                                                JPOOL_IMAGE, crop_w * 3, 1);
  std::uint8_t saved_before[kMaxSpill];
  std::uint8_t saved_after[kMaxSpill];
  for (int row = 0; row < h; ++row) {
    std::uint8_t* out = dst + static_cast<std::size_t>(row) * dst_stride;
    JSAMPROW target = whole_rows ? out : spill_in_place ? out - skip_bytes : buffer[0];
    if (spill_in_place) {
      std::memcpy(saved_before, out - skip_bytes, skip_bytes);
      std::memcpy(saved_after, out + part_bytes, tail_bytes);
    }
    if (jpeg_read_scanlines(&cinfo, &target, 1) != 1) {
      jpeg_destroy_decompress(&cinfo);
      return false;
    }
    if (spill_in_place) {
      std::memcpy(out - skip_bytes, saved_before, skip_bytes);
      std::memcpy(out + part_bytes, saved_after, tail_bytes);
    } else if (!whole_rows) {
      std::memcpy(out, buffer[0] + skip_bytes, part_bytes);
    }
  }
  jpeg_destroy_decompress(&cinfo);  // aborts the decompression: the rows below are not needed
  return true;
}

/// Sets the pixels of `image` outside [x0, x1) x [y0, y1) (image coordinates) to `colour`.
void fill_outside(RgbImage& image, int x0, int y0, int x1, int y1, const std::uint8_t (&colour)[3]) {
  const auto fill = [&](std::uint8_t* p, int pixels) {
    for (int i = 0; i < pixels; ++i, p += 3) std::memcpy(p, colour, 3);
  };
  for (int y = 0; y < image.height; ++y) {
    if (y < y0 || y >= y1 || x0 >= x1) {
      fill(image.row(y), image.width);
    } else {
      fill(image.row(y), x0);
      fill(image.row(y) + static_cast<std::size_t>(x1) * 3, image.width - x1);
    }
  }
}

tjhandle header_reader() {
  struct Destroy {
    void operator()(void* h) const { tjDestroy(h); }
  };
  thread_local std::unique_ptr<void, Destroy> handle(tjInitDecompress());
  return handle.get();
}

/// The top-left `width` x `height` of a stored tile's stream, cut without decoding (TurboJPEG's
/// lossless transform: the entropy-coded blocks are copied, not re-encoded). Only where the cut
/// crosses no subsampled chroma: a decoder upsamples chroma differently at an image's edge than
/// inside it, so a cut through subsampled chroma would change the pixels next to it. Nullopt
/// otherwise or if the stream cannot be transformed.
std::optional<std::string> crop_losslessly(const std::string& jpeg, int width, int height) {
  struct Destroy {
    void operator()(void* h) const { tjDestroy(h); }
  };
  thread_local std::unique_ptr<void, Destroy> transformer(tjInitTransform());
  tjhandle handle = header_reader();
  const auto* data = reinterpret_cast<const unsigned char*>(jpeg.data());
  int w = 0, h = 0, subsampling = 0, colorspace = 0;
  if (!transformer || handle == nullptr ||
      tjDecompressHeader3(handle, data, jpeg.size(), &w, &h, &subsampling, &colorspace) != 0 || width > w ||
      height > h) {
    return std::nullopt;
  }
  const bool cut_across = width < w, cut_down = height < h;
  const bool chroma_across = subsampling == TJSAMP_422 || subsampling == TJSAMP_420 || subsampling == TJSAMP_411;
  const bool chroma_down = subsampling == TJSAMP_420 || subsampling == TJSAMP_440;
  if (subsampling == TJSAMP_GRAY || (cut_across && chroma_across) || (cut_down && chroma_down)) return std::nullopt;
  tjtransform crop{};
  crop.r = tjregion{0, 0, width, height};
  crop.op = TJXOP_NONE;
  crop.options = TJXOPT_CROP;
  unsigned char* out = nullptr;
  unsigned long out_bytes = 0;
  if (tjTransform(transformer.get(), data, jpeg.size(), 1, &out, &out_bytes, &crop, 0) != 0) {
    tjFree(out);
    return std::nullopt;
  }
  std::string cropped(reinterpret_cast<const char*>(out), out_bytes);
  tjFree(out);
  return cropped;
}

}  // namespace

TiffJpegTiles::~TiffJpegTiles() {
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<const TiffJpegTiles> TiffJpegTiles::open(const std::filesystem::path& path,
                                                         const SlideProperties& slide,
                                                         std::size_t decoded_cache_bytes) {
  TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
  TIFFOpenOptionsSetErrorHandlerExtR(options, quiet, nullptr);
  TIFFOpenOptionsSetWarningHandlerExtR(options, quiet, nullptr);
  std::unique_ptr<TIFF, TiffCloser> tiff(TIFFOpenExt(path.c_str(), "rm", options));  // m: no memory mapping
  TIFFOpenOptionsFree(options);
  if (!tiff) return nullptr;

  std::vector<std::unique_ptr<Level>> directories;
  do {
    directories.push_back(read_directory(tiff.get()));
  } while (TIFFReadDirectory(tiff.get()) == 1 && directories.size() < 64);

  std::unique_ptr<TiffJpegTiles> tiles(new TiffJpegTiles());
  tiles->decoded_budget_ = decoded_cache_bytes;
  tiles->recycled_ = std::make_shared<RecycledBuffers>();
  bool any = false;
  for (const auto& info : slide.levels) {
    std::unique_ptr<Level> match;
    for (auto& d : directories) {
      if (d && d->width == info.width && d->height == info.height) {
        match = std::move(d);
        break;
      }
    }
    any = any || match != nullptr;
    tiles->levels_.push_back(std::move(match));
    tiles->downsamples_.push_back(info.downsample);
  }
  if (!any) return nullptr;
  tiles->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (tiles->fd_ < 0) return nullptr;
  return tiles;
}

std::vector<bool> TiffJpegTiles::jpeg_levels() const {
  std::vector<bool> out;
  for (const auto& l : levels_) out.push_back(l != nullptr);
  return out;
}

TiffJpegTiles::Read TiffJpegTiles::read(int level, std::int64_t l0_x, std::int64_t l0_y, int width,
                                        int height) const {
  Read result;
  if (level < 0 || level >= static_cast<int>(levels_.size())) return result;
  const Level* l = levels_[static_cast<std::size_t>(level)].get();
  if (l == nullptr) {
    result.miss = StoredTileMiss::not_jpeg;
    return result;
  }
  // Level coordinates are level-0 coordinates over the downsample; only an integral downsample
  // gives whole pixels for every tile.
  const double downsample = downsamples_[static_cast<std::size_t>(level)];
  const auto factor = static_cast<std::int64_t>(std::llround(downsample));
  if (factor < 1 || std::fabs(downsample - static_cast<double>(factor)) > 1e-9 || l0_x % factor != 0 ||
      l0_y % factor != 0) {
    return result;
  }
  const std::int64_t x = l0_x / factor;
  const std::int64_t y = l0_y / factor;
  if (x < 0 || y < 0 || x >= l->width || y >= l->height || x % l->tile_w != 0 || y % l->tile_h != 0) return result;
  // A tile at the right or bottom edge is padded in the file: only its part inside the level is
  // asked for (a shorter last column or row), which a lossless crop of the stream gives.
  const auto inside_w = static_cast<int>(std::min<std::int64_t>(l->tile_w, l->width - x));
  const auto inside_h = static_cast<int>(std::min<std::int64_t>(l->tile_h, l->height - y));
  if (width != inside_w || height != inside_h) {
    if (width == l->tile_w && height == l->tile_h) result.miss = StoredTileMiss::edge_tile;
    return result;
  }
  const std::uint64_t index = static_cast<std::uint64_t>(y / l->tile_h * l->tiles_across + x / l->tile_w);
  result.miss = StoredTileMiss::unreadable;
  auto stream = tile_jpeg(*l, index);
  if (!stream) return result;
  std::string jpeg = std::move(*stream);
  if (width != l->tile_w || height != l->tile_h) {
    auto cropped = crop_losslessly(jpeg, width, height);
    if (!cropped) {
      result.miss = StoredTileMiss::edge_tile;
      return result;
    }
    jpeg = std::move(*cropped);
  }

  // The header must promise exactly the pixels read_region would give.
  int w = 0, h = 0, subsampling = 0, colorspace = 0;
  tjhandle handle = header_reader();
  if (handle == nullptr ||
      tjDecompressHeader3(handle, reinterpret_cast<const unsigned char*>(jpeg.data()), jpeg.size(), &w, &h,
                          &subsampling, &colorspace) != 0 ||
      w != width || h != height || colorspace != (l->rgb ? TJCS_RGB : TJCS_YCbCr)) {
    return result;
  }
  result.jpeg = std::move(jpeg);
  return result;
}

std::optional<std::string> TiffJpegTiles::tile_jpeg(const Level& level, std::uint64_t index) const {
  const Level* l = &level;
  if (index >= l->offsets.size()) return std::nullopt;
  const std::uint64_t bytes = l->byte_counts[index];
  if (bytes < 4 || bytes > kMaxTileBytes) return std::nullopt;
  std::string raw(bytes, '\0');
  std::size_t done = 0;
  while (done < bytes) {
    const ssize_t n = ::pread(fd_, raw.data() + done, bytes - done, static_cast<off_t>(l->offsets[index] + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    done += static_cast<std::size_t>(n);
  }
  if (static_cast<unsigned char>(raw[0]) != 0xFF || static_cast<unsigned char>(raw[1]) != 0xD8) return std::nullopt;

  // SOI, [Adobe APP14 transform 0], [tables], rest of the tile's stream.
  static constexpr unsigned char kAdobe[] = {0xFF, 0xEE, 0x00, 0x0E, 'A', 'd', 'o', 'b', 'e',
                                             0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00};
  std::string jpeg;
  jpeg.reserve(raw.size() + l->tables.size() + sizeof kAdobe);
  jpeg.append(raw, 0, 2);
  if (l->rgb) {
    // A JFIF marker would make decoders read the samples as YCbCr whatever APP14 says.
    if (has_marker_before_scan(raw, 0xE0) || has_marker_before_scan(raw, 0xEE)) return std::nullopt;
    jpeg.append(reinterpret_cast<const char*>(kAdobe), sizeof kAdobe);
  }
  jpeg.append(l->tables);
  jpeg.append(raw, 2, std::string::npos);
  return jpeg;
}

std::optional<RgbImage> TiffJpegTiles::read_region(int level, std::int64_t l0_x, std::int64_t l0_y, int width,
                                                   int height, const std::uint8_t (&background)[3]) const {
  if (level < 0 || level >= static_cast<int>(levels_.size()) || width <= 0 || height <= 0) return std::nullopt;
  const Level* l = levels_[static_cast<std::size_t>(level)].get();
  if (l == nullptr) return std::nullopt;
  const double downsample = downsamples_[static_cast<std::size_t>(level)];
  const auto factor = static_cast<std::int64_t>(std::llround(downsample));
  if (factor < 1 || std::fabs(downsample - static_cast<double>(factor)) > 1e-9 || l0_x % factor != 0 ||
      l0_y % factor != 0) {
    return std::nullopt;
  }
  const std::int64_t x0 = l0_x / factor;
  const std::int64_t y0 = l0_y / factor;
  RgbImage out = RgbImage::uninitialized(width, height);  // every byte written below
  // The part of the region inside the level; only the rest gets the background.
  const std::int64_t ix0 = std::max<std::int64_t>(x0, 0), iy0 = std::max<std::int64_t>(y0, 0);
  const std::int64_t ix1 = std::min<std::int64_t>(x0 + width, l->width), iy1 = std::min<std::int64_t>(y0 + height, l->height);
  if (ix0 >= ix1 || iy0 >= iy1) {
    fill_outside(out, 0, 0, 0, 0, background);
    return out;
  }
  fill_outside(out, static_cast<int>(ix0 - x0), static_cast<int>(iy0 - y0), static_cast<int>(ix1 - x0),
               static_cast<int>(iy1 - y0), background);
  const bool bulk_read = std::int64_t{width} * height > 2 * std::int64_t{l->tile_w} * l->tile_h;
  const std::int64_t level_tiles = l->tiles_across * ((l->height + l->tile_h - 1) / l->tile_h);
  const bool level_fits = level_tiles * l->tile_w * l->tile_h * 3 <= static_cast<std::int64_t>(decoded_budget_);
  for (std::int64_t ty = iy0 / l->tile_h; ty <= (iy1 - 1) / l->tile_h; ++ty) {
    for (std::int64_t tx = ix0 / l->tile_w; tx <= (ix1 - 1) / l->tile_w; ++tx) {
      const auto index = static_cast<std::uint64_t>(ty * l->tiles_across + tx);
      const std::uint64_t key = (static_cast<std::uint64_t>(level) << 48) | index;
      // The tile's part of the region (never the padding past the level's edge).
      const std::int64_t cx0 = std::max(ix0, tx * l->tile_w), cx1 = std::min(ix1, (tx + 1) * l->tile_w);
      const std::int64_t cy0 = std::max(iy0, ty * l->tile_h), cy1 = std::min(iy1, (ty + 1) * l->tile_h);
      std::uint8_t* dst = out.row(static_cast<int>(cy0 - y0)) + (cx0 - x0) * 3;
      // A level that fits in the LRU whole (a small slide) is decoded tile by tile and kept, as
      // OpenSlide keeps its tiles: every region after it reuses them. In a larger level, a tile
      // the region needs at least 3/4 of (of its pixels inside the level) is decoded whole and
      // kept: cropping would save at most a quarter of the IDCT work (the entropy decoding of
      // every row down to the part's last is needed anyway), and a viewer's next regions, which
      // border this one, need the rest of it. Of any other tile only the part is decoded, and not
      // kept (one Deep Zoom tile touches four stored tiles, three of them for a sliver), unless
      // the LRU already holds it. A region larger than two tiles is a bulk read (a zoomed-out
      // view, a tile of a reduced level): in any level, its tiles are taken from the LRU or
      // decoded straight into it and not kept, since what is made of them is cached instead, and
      // keeping them would push out the tiles a viewer's next regions need.
      const std::int64_t tile_area = std::min<std::int64_t>(l->tile_w, l->width - tx * l->tile_w) *
                                     std::min<std::int64_t>(l->tile_h, l->height - ty * l->tile_h);
      const bool keep_whole = !bulk_read && (level_fits || (cx1 - cx0) * (cy1 - cy0) * 4 >= tile_area * 3);
      if (const Pixels pixels = keep_whole ? decoded_tile(*l, key, index) : cached_tile(key)) {
        for (std::int64_t y = cy0; y < cy1; ++y) {
          const std::uint8_t* src = pixels.get() + ((y - ty * l->tile_h) * l->tile_w + (cx0 - tx * l->tile_w)) * 3;
          std::memcpy(dst + static_cast<std::size_t>(y - cy0) * out.stride(), src,
                      static_cast<std::size_t>(cx1 - cx0) * 3);
        }
        continue;
      }
      if (keep_whole) return std::nullopt;  // unreadable
      const auto jpeg = tile_jpeg(*l, index);
      if (!jpeg ||
          !decode_part(*jpeg, *l, static_cast<int>(cx0 - tx * l->tile_w), static_cast<int>(cy0 - ty * l->tile_h),
                       static_cast<int>(cx1 - cx0), static_cast<int>(cy1 - cy0), dst, out.stride(),
                       out.pixels.data(), out.pixels.data() + out.pixels.size())) {
        return std::nullopt;
      }
    }
  }
  return out;
}

std::size_t TiffJpegTiles::decoded_cache_bytes_held() const {
  std::lock_guard lock(decoded_mutex_);
  return decoded_bytes_;
}

/// Buffers of decoded tiles, recycled: one whose last user lets go waits here (at most
/// kMaxWaiting of them) for the next tile decoded. Shared with every buffer it hands out, so it
/// outlives the TiffJpegTiles if a buffer does.
class TiffJpegTiles::RecycledBuffers : public std::enable_shared_from_this<RecycledBuffers> {
 public:
  static constexpr std::size_t kMaxWaiting = 4;

  /// A buffer of `bytes` bytes (contents unspecified), given back here when its last user lets go.
  std::shared_ptr<std::uint8_t[]> take(std::size_t bytes) {
    std::unique_ptr<std::uint8_t[]> buffer;
    {
      std::lock_guard lock(mutex_);
      const auto it = std::find_if(waiting_.begin(), waiting_.end(), [&](const auto& w) { return w.bytes == bytes; });
      if (it != waiting_.end()) {
        buffer = std::move(it->data);
        *it = std::move(waiting_.back());
        waiting_.pop_back();
      }
    }
    if (!buffer) buffer = std::make_unique_for_overwrite<std::uint8_t[]>(bytes);
    return {buffer.release(), [self = shared_from_this(), bytes](std::uint8_t* p) { self->give_back(p, bytes); }};
  }

 private:
  void give_back(std::uint8_t* p, std::size_t bytes) {
    std::unique_ptr<std::uint8_t[]> buffer(p);
    std::lock_guard lock(mutex_);
    if (waiting_.size() < kMaxWaiting) waiting_.push_back({bytes, std::move(buffer)});
  }

  struct Waiting {
    std::size_t bytes;
    std::unique_ptr<std::uint8_t[]> data;
  };
  std::mutex mutex_;
  std::vector<Waiting> waiting_;
};

TiffJpegTiles::Pixels TiffJpegTiles::cached_tile(std::uint64_t key) const {
  std::lock_guard lock(decoded_mutex_);
  const auto it = decoded_index_.find(key);
  if (it == decoded_index_.end()) return nullptr;
  decoded_lru_.splice(decoded_lru_.begin(), decoded_lru_, it->second);
  return it->second->pixels;
}

TiffJpegTiles::Pixels TiffJpegTiles::decoded_tile(const Level& l, std::uint64_t key, std::uint64_t index) const {
  if (Pixels cached = cached_tile(key)) return cached;
  const auto jpeg = tile_jpeg(l, index);
  if (!jpeg) return nullptr;
  const std::size_t bytes = static_cast<std::size_t>(l.tile_w) * static_cast<std::size_t>(l.tile_h) * 3;
  std::shared_ptr<std::uint8_t[]> pixels = recycled_->take(bytes);  // every byte is decoded into
  if (!decode_part(*jpeg, l, 0, 0, l.tile_w, l.tile_h, pixels.get(), static_cast<std::size_t>(l.tile_w) * 3)) {
    return nullptr;
  }
  Pixels shared = std::move(pixels);
  std::vector<Pixels> dropped;  // freed after the lock is released
  std::lock_guard lock(decoded_mutex_);
  if (decoded_index_.count(key) == 0 && bytes <= decoded_budget_) {
    decoded_lru_.push_front({key, shared, bytes});
    decoded_index_.emplace(key, decoded_lru_.begin());
    decoded_bytes_ += bytes;
    while (decoded_bytes_ > decoded_budget_) {
      auto& victim = decoded_lru_.back();
      decoded_bytes_ -= victim.bytes;
      dropped.push_back(std::move(victim.pixels));
      decoded_index_.erase(victim.key);
      decoded_lru_.pop_back();
    }
  }
  return shared;
}

}  // namespace mcval::slide
