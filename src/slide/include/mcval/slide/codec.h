#pragma once
// Image encoding and decoding: JPEG through libjpeg-turbo's TurboJPEG API, PNG through libpng.
#include <string>
#include <string_view>

#include "mcval/common/result.h"
#include "mcval/slide/image.h"

namespace mcval::slide {

/// Baseline JPEG, 4:2:0 chroma subsampling, `quality` 1-100. Thread-safe.
Result<std::string> encode_jpeg(const RgbImage& image, int quality);
/// 8-bit RGB PNG. Thread-safe.
Result<std::string> encode_png(const RgbImage& image);
/// Decodes a JPEG to RGB; bad_request if the bytes are not a JPEG.
Result<RgbImage> decode_jpeg(std::string_view bytes);
/// Decodes a PNG to RGB (alpha dropped, grey expanded); bad_request if not a PNG.
Result<RgbImage> decode_png(std::string_view bytes);

}  // namespace mcval::slide
