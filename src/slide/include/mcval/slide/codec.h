#pragma once
// Image encoding and decoding: JPEG through libjpeg-turbo's TurboJPEG API, PNG through libpng.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/slide/image.h"

namespace mcval::slide {

/// An 8-bit RGBA image with straight (not premultiplied) alpha, rows top to bottom, 4 bytes per
/// pixel, no padding.
struct RgbaImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;

  RgbaImage() = default;
  RgbaImage(int w, int h) : width(w), height(h), pixels(static_cast<std::size_t>(w) * h * 4) {}
  std::uint8_t* at(int x, int y) { return pixels.data() + (static_cast<std::size_t>(y) * width + x) * 4; }
  const std::uint8_t* at(int x, int y) const {
    return pixels.data() + (static_cast<std::size_t>(y) * width + x) * 4;
  }
};

/// Baseline JPEG, 4:2:0 chroma subsampling, `quality` 1-100. Thread-safe.
Result<std::string> encode_jpeg(const RgbImage& image, int quality);
/// 8-bit RGB PNG. Thread-safe.
Result<std::string> encode_png(const RgbImage& image);
/// 8-bit RGBA PNG. Thread-safe.
Result<std::string> encode_png(const RgbaImage& image);
/// Decodes a JPEG to RGB; bad_request if the bytes are not a JPEG.
Result<RgbImage> decode_jpeg(std::string_view bytes);
/// Decodes a PNG to RGB (alpha dropped, grey expanded); bad_request if not a PNG.
Result<RgbImage> decode_png(std::string_view bytes);
/// Decodes a PNG to RGBA (grey expanded, opaque where the file has no alpha); bad_request if
/// not a PNG.
Result<RgbaImage> decode_png_rgba(std::string_view bytes);

}  // namespace mcval::slide
