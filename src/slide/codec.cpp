#include "mcval/slide/codec.h"

#include <png.h>
#include <turbojpeg.h>

#include <climits>
#include <cstring>
#include <memory>

namespace mcval::slide {

namespace {

// Decoded images larger than this are refused before any allocation (64 Mi pixels).
constexpr std::int64_t kMaxDecodePixels = std::int64_t{1} << 26;

struct TjDestroyer {
  void operator()(void* handle) const { tjDestroy(handle); }
};
using TjHandle = std::unique_ptr<void, TjDestroyer>;

// One handle per thread and direction: TurboJPEG handles must not be shared between threads.
tjhandle compressor() {
  thread_local TjHandle handle(tjInitCompress());
  return handle.get();
}

tjhandle decompressor() {
  thread_local TjHandle handle(tjInitDecompress());
  return handle.get();
}

/// The compressor's output buffer, one per thread, kept between encodes: TurboJPEG writes into it
/// without reallocating (TJFLAG_NOREALLOC), so an encode allocates only its result's exact bytes
/// instead of a worst-case buffer (3 bytes a pixel) that is freed again at once, thousands of
/// times a second under load. Buffers for images larger than kKeptBytes are not kept.
class EncodeBuffer {
 public:
  static constexpr unsigned long kKeptBytes = 4ul << 20;  // a 1,180 x 1,180 image at 4:2:0

  EncodeBuffer() = default;
  EncodeBuffer(const EncodeBuffer&) = delete;
  EncodeBuffer& operator=(const EncodeBuffer&) = delete;
  ~EncodeBuffer() { tjFree(data_); }

  /// At least `bytes` bytes, or null if they cannot be had.
  unsigned char* at_least(unsigned long bytes) {
    if (bytes > capacity_) {
      tjFree(data_);
      data_ = tjAlloc(static_cast<int>(bytes));
      capacity_ = data_ != nullptr ? bytes : 0;
    }
    return data_;
  }
  /// Gives back a buffer too large to keep.
  void trim() {
    if (capacity_ <= kKeptBytes) return;
    tjFree(data_);
    data_ = nullptr;
    capacity_ = 0;
  }

 private:
  unsigned char* data_ = nullptr;
  unsigned long capacity_ = 0;
};

bool well_formed(const RgbImage& image) {
  return image.width > 0 && image.height > 0 &&
         image.pixels.size() == static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) * 3;
}

Result<std::string> write_png(int width, int height, png_uint_32 format, const std::uint8_t* pixels,
                              std::size_t stride) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(width);
  png.height = static_cast<png_uint_32>(height);
  png.format = format;
  png.flags = PNG_IMAGE_FLAG_FAST;
  // First call measures, second writes: the simplified API has no growing buffer.
  png_alloc_size_t size = 0;
  const auto row_stride = static_cast<png_int_32>(stride);
  if (png_image_write_to_memory(&png, nullptr, &size, 0, pixels, row_stride, nullptr) == 0) {
    const std::string message = png.message;
    png_image_free(&png);
    return Error{ErrorCode::internal, "PNG encoding failed: " + message};
  }
  std::string out(size, '\0');
  if (png_image_write_to_memory(&png, out.data(), &size, 0, pixels, row_stride, nullptr) == 0) {
    const std::string message = png.message;
    png_image_free(&png);
    return Error{ErrorCode::internal, "PNG encoding failed: " + message};
  }
  out.resize(size);
  return out;
}

}  // namespace

Result<std::string> encode_jpeg(const RgbImage& image, int quality) {
  if (!well_formed(image)) return Error{ErrorCode::invalid_argument, "cannot encode an empty image"};
  if (quality < 1 || quality > 100) {
    return Error{ErrorCode::invalid_argument, "JPEG quality " + std::to_string(quality) + " outside 1-100"};
  }
  tjhandle handle = compressor();
  if (handle == nullptr) return Error{ErrorCode::internal, "tjInitCompress failed"};
  const unsigned long worst_case = tjBufSize(image.width, image.height, TJSAMP_420);
  if (worst_case == static_cast<unsigned long>(-1) || worst_case > static_cast<unsigned long>(INT_MAX)) {
    return Error{ErrorCode::invalid_argument, "image too large to encode as JPEG"};
  }
  thread_local EncodeBuffer buffer;
  unsigned char* jpeg = buffer.at_least(worst_case);
  if (jpeg == nullptr) return Error{ErrorCode::internal, "no memory for the JPEG encoder's output"};
  unsigned long jpeg_bytes = worst_case;
  const int rc = tjCompress2(handle, image.pixels.data(), image.width, static_cast<int>(image.stride()), image.height,
                             TJPF_RGB, &jpeg, &jpeg_bytes, TJSAMP_420, quality, TJFLAG_NOREALLOC);
  std::string out = rc == 0 ? std::string(reinterpret_cast<const char*>(jpeg), jpeg_bytes) : std::string();
  buffer.trim();
  if (rc != 0) return Error{ErrorCode::internal, std::string("JPEG encoding failed: ") + tjGetErrorStr2(handle)};
  return out;
}

Result<RgbImage> decode_jpeg(std::string_view bytes) {
  tjhandle handle = decompressor();
  if (handle == nullptr) return Error{ErrorCode::internal, "tjInitDecompress failed"};
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  int width = 0;
  int height = 0;
  int subsampling = 0;
  int colorspace = 0;
  if (bytes.empty() ||
      tjDecompressHeader3(handle, data, bytes.size(), &width, &height, &subsampling, &colorspace) != 0) {
    return Error{ErrorCode::bad_request, "not a JPEG image"};
  }
  if (width <= 0 || height <= 0 || std::int64_t{width} * height > kMaxDecodePixels) {
    return Error{ErrorCode::payload_too_large, "JPEG image " + std::to_string(width) + "x" + std::to_string(height) +
                                                   " is too large to decode"};
  }
  RgbImage image = RgbImage::uninitialized(width, height);
  if (tjDecompress2(handle, data, bytes.size(), image.pixels.data(), width, static_cast<int>(image.stride()),
                    height, TJPF_RGB, TJFLAG_LIMITSCANS) != 0) {
    return Error{ErrorCode::bad_request, std::string("damaged JPEG image: ") + tjGetErrorStr2(handle)};
  }
  return image;
}

Result<std::string> encode_png(const RgbImage& image) {
  if (!well_formed(image)) return Error{ErrorCode::invalid_argument, "cannot encode an empty image"};
  return write_png(image.width, image.height, PNG_FORMAT_RGB, image.pixels.data(), image.stride());
}

Result<std::string> encode_png(const RgbaImage& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) * 4) {
    return Error{ErrorCode::invalid_argument, "cannot encode an empty image"};
  }
  return write_png(image.width, image.height, PNG_FORMAT_RGBA, image.pixels.data(),
                   static_cast<std::size_t>(image.width) * 4);
}

Result<RgbaImage> decode_png_rgba(std::string_view bytes) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  if (png_image_begin_read_from_memory(&png, bytes.data(), bytes.size()) == 0) {
    png_image_free(&png);
    return Error{ErrorCode::bad_request, "not a PNG image"};
  }
  if (std::int64_t{png.width} * png.height > kMaxDecodePixels || png.width == 0 || png.height == 0) {
    const std::string size = std::to_string(png.width) + "x" + std::to_string(png.height);
    png_image_free(&png);
    return Error{ErrorCode::payload_too_large, "PNG image " + size + " is too large to decode"};
  }
  png.format = PNG_FORMAT_RGBA;
  RgbaImage image(static_cast<int>(png.width), static_cast<int>(png.height));
  if (png_image_finish_read(&png, nullptr, image.pixels.data(), 0, nullptr) == 0) {
    const std::string message = png.message;
    png_image_free(&png);
    return Error{ErrorCode::bad_request, "damaged PNG image: " + message};
  }
  return image;
}

Result<RgbImage> decode_png(std::string_view bytes) {
  // Read RGBA and drop alpha rather than let libpng composite onto undefined pixels.
  MCVAL_TRY_ASSIGN(rgba, decode_png_rgba(bytes));
  RgbImage image(rgba.width, rgba.height);
  std::uint8_t* dst = image.pixels.data();
  for (std::size_t i = 0; i < rgba.pixels.size(); i += 4) {
    *dst++ = rgba.pixels[i];
    *dst++ = rgba.pixels[i + 1];
    *dst++ = rgba.pixels[i + 2];
  }
  return image;
}

}  // namespace mcval::slide
