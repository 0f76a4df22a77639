#pragma once
// IIIF Image API 3.0 request parsing and resolution (compliance level 2 plus mirroring,
// upscaling, gray and bitonal). Pure functions: no I/O.
#include <cstdint>
#include <string>
#include <string_view>

#include "mcval/common/result.h"

namespace mcval::tiles {

enum class IiifQuality { default_, color, gray, bitonal };
enum class ImageFormat { jpeg, png };

/// The five path segments after the identifier, parsed but not yet checked against an image.
struct IiifRequest {
  enum class RegionKind { full, square, pixels, percent };
  RegionKind region_kind = RegionKind::full;
  double region[4] = {0, 0, 0, 0};  ///< x, y, w, h (pixels or percent)

  enum class SizeKind { max, width, height, percent, exact, confined };
  SizeKind size_kind = SizeKind::max;
  bool upscale = false;        ///< the "^" prefix
  std::int64_t size_w = 0;     ///< for width, exact, confined
  std::int64_t size_h = 0;     ///< for height, exact, confined
  double size_percent = 0;     ///< for percent

  bool mirror = false;         ///< the "!" prefix of rotation
  int rotation_degrees = 0;    ///< 0, 90, 180 or 270
  IiifQuality quality = IiifQuality::default_;
  ImageFormat format = ImageFormat::jpeg;

  /// Canonical text of the request (for cache keys and the Link header).
  std::string canonical() const;
};

/// Parses "{region}/{size}/{rotation}/{quality}.{format}" segments (already percent-decoded).
/// iiif_malformed for syntax errors, unsupported (501) for valid syntax we do not implement
/// (arbitrary rotation, formats other than jpg and png).
Result<IiifRequest> parse_iiif_request(std::string_view region, std::string_view size,
                                       std::string_view rotation, std::string_view quality_format);

/// A request resolved against an image of known size: what to read and what to return.
struct IiifPlan {
  std::int64_t region_x = 0, region_y = 0, region_w = 0, region_h = 0;  ///< level-0 pixels, clipped
  std::int64_t out_w = 0, out_h = 0;  ///< size before rotation
};

struct IiifLimits {
  std::int64_t max_area = 16 * 1024 * 1024;  ///< pixels of the returned image
  std::int64_t max_width = 0;                ///< 0: unlimited
  std::int64_t max_height = 0;
};

/// Resolves region and size per the specification: region_out_of_bounds (400) when the region
/// lies outside the image or is empty; invalid_argument (400) for a zero size, upscaling
/// without "^", or a size beyond the limits ("max" is shrunk to fit them instead).
Result<IiifPlan> resolve_iiif_request(const IiifRequest& request, std::int64_t image_w,
                                      std::int64_t image_h, const IiifLimits& limits);

std::string_view file_extension(ImageFormat format);  ///< "jpg" / "png"
std::string_view content_type(ImageFormat format);    ///< "image/jpeg" / "image/png"

}  // namespace mcval::tiles
