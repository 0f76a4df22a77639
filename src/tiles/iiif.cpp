#include "mcval/tiles/iiif.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "mcval/common/strings.h"

namespace mcval::tiles {

namespace {

Error malformed(std::string what) { return Error{ErrorCode::iiif_malformed, std::move(what)}; }

/// Above this a percentage is refused: far beyond any image already, and small enough that its
/// canonical form (fixed notation, at most 31 digits before the point) parses back to itself.
constexpr double kMaxPercentage = 1e30;

/// Non-negative decimal number without sign or exponent ("1", "0.5", ".5" not allowed), at
/// most 32 characters and at most kMaxPercentage.
bool parse_decimal(std::string_view text, double& out) {
  if (text.empty() || text.size() > 32) return false;
  bool seen_digit = false;
  bool seen_dot = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      seen_digit = true;
    } else if (c == '.' && !seen_dot && seen_digit) {
      seen_dot = true;
    } else {
      return false;
    }
  }
  if (text.back() == '.') return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() && std::isfinite(out) && out <= kMaxPercentage;
}

/// Non-negative integer without sign, at most 10 digits.
bool parse_integer(std::string_view text, std::int64_t& out) {
  if (text.empty() || text.size() > 10) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

Status parse_region(std::string_view text, IiifRequest& r) {
  if (text == "full") {
    r.region_kind = IiifRequest::RegionKind::full;
    return {};
  }
  if (text == "square") {
    r.region_kind = IiifRequest::RegionKind::square;
    return {};
  }
  const bool percent = starts_with(text, "pct:");
  const auto parts = split(percent ? text.substr(4) : text, ',');
  if (parts.size() != 4) return malformed("region must be full, square, x,y,w,h or pct:x,y,w,h");
  for (int i = 0; i < 4; ++i) {
    if (percent) {
      if (!parse_decimal(parts[i], r.region[i])) return malformed("region percentage is not a number");
    } else {
      std::int64_t v = 0;
      if (!parse_integer(parts[i], v)) return malformed("region coordinates must be non-negative integers");
      r.region[i] = static_cast<double>(v);
    }
  }
  r.region_kind = percent ? IiifRequest::RegionKind::percent : IiifRequest::RegionKind::pixels;
  return {};
}

Status parse_size(std::string_view text, IiifRequest& r) {
  if (starts_with(text, "^")) {
    r.upscale = true;
    text.remove_prefix(1);
  }
  if (text == "max") {
    r.size_kind = IiifRequest::SizeKind::max;
    return {};
  }
  if (text == "full") return malformed("size 'full' is not valid in IIIF Image API 3.0; use 'max'");
  if (starts_with(text, "pct:")) {
    if (!parse_decimal(text.substr(4), r.size_percent)) return malformed("size percentage is not a number");
    r.size_kind = IiifRequest::SizeKind::percent;
    return {};
  }
  bool confined = false;
  if (starts_with(text, "!")) {
    confined = true;
    text.remove_prefix(1);
  }
  const auto comma = text.find(',');
  if (comma == std::string_view::npos) return malformed("size must be max, pct:n, w,, ,h, w,h or !w,h");
  const std::string_view w = text.substr(0, comma);
  const std::string_view h = text.substr(comma + 1);
  const bool has_w = !w.empty();
  const bool has_h = !h.empty();
  if (has_w && !parse_integer(w, r.size_w)) return malformed("size width must be a non-negative integer");
  if (has_h && !parse_integer(h, r.size_h)) return malformed("size height must be a non-negative integer");
  if (confined) {
    if (!has_w || !has_h) return malformed("size !w,h needs both width and height");
    r.size_kind = IiifRequest::SizeKind::confined;
  } else if (has_w && has_h) {
    r.size_kind = IiifRequest::SizeKind::exact;
  } else if (has_w) {
    r.size_kind = IiifRequest::SizeKind::width;
  } else if (has_h) {
    r.size_kind = IiifRequest::SizeKind::height;
  } else {
    return malformed("size ',' names neither width nor height");
  }
  return {};
}

Status parse_rotation(std::string_view text, IiifRequest& r) {
  if (starts_with(text, "!")) {
    r.mirror = true;
    text.remove_prefix(1);
  }
  double degrees = 0;
  if (!parse_decimal(text, degrees) || degrees > 360.0) {
    return malformed("rotation must be a number of degrees from 0 to 360, optionally prefixed by '!'");
  }
  const double quarter = degrees / 90.0;
  if (quarter != std::floor(quarter)) {
    return Error{ErrorCode::unsupported, "only rotations by multiples of 90 degrees are supported"};
  }
  r.rotation_degrees = static_cast<int>(degrees) % 360;
  return {};
}

Status parse_quality_format(std::string_view text, IiifRequest& r) {
  const auto dot = text.rfind('.');
  if (dot == std::string_view::npos) return malformed("expected {quality}.{format}");
  const std::string_view quality = text.substr(0, dot);
  const std::string_view format = text.substr(dot + 1);
  if (quality == "default") {
    r.quality = IiifQuality::default_;
  } else if (quality == "color") {
    r.quality = IiifQuality::color;
  } else if (quality == "gray") {
    r.quality = IiifQuality::gray;
  } else if (quality == "bitonal") {
    r.quality = IiifQuality::bitonal;
  } else {
    return malformed("quality must be default, color, gray or bitonal");
  }
  if (format == "jpg") {
    r.format = ImageFormat::jpeg;
  } else if (format == "png") {
    r.format = ImageFormat::png;
  } else if (format == "tif" || format == "gif" || format == "jp2" || format == "pdf" || format == "webp") {
    return Error{ErrorCode::unsupported, "format '" + std::string(format) + "' is not supported; use jpg or png"};
  } else {
    return malformed("unknown format '" + std::string(format) + "'");
  }
  return {};
}

/// Shortest fixed-point text that parses back to the same value (never an exponent).
std::string format_number(double v) {
  char buf[400];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return ec == std::errc{} ? std::string(buf, end) : std::string("0");
}

}  // namespace

Result<IiifRequest> parse_iiif_request(std::string_view region, std::string_view size,
                                       std::string_view rotation, std::string_view quality_format) {
  IiifRequest r;
  MCVAL_TRY(parse_region(region, r));
  MCVAL_TRY(parse_size(size, r));
  MCVAL_TRY(parse_rotation(rotation, r));
  MCVAL_TRY(parse_quality_format(quality_format, r));
  return r;
}

std::string IiifRequest::canonical() const {
  std::string s;
  switch (region_kind) {
    case RegionKind::full: s = "full"; break;
    case RegionKind::square: s = "square"; break;
    case RegionKind::pixels:
    case RegionKind::percent:
      s = region_kind == RegionKind::percent ? "pct:" : "";
      for (int i = 0; i < 4; ++i) s += (i ? "," : "") + format_number(region[i]);
      break;
  }
  s += "/";
  if (upscale) s += "^";
  switch (size_kind) {
    case SizeKind::max: s += "max"; break;
    case SizeKind::width: s += std::to_string(size_w) + ","; break;
    case SizeKind::height: s += "," + std::to_string(size_h); break;
    case SizeKind::percent: s += "pct:" + format_number(size_percent); break;
    case SizeKind::exact: s += std::to_string(size_w) + "," + std::to_string(size_h); break;
    case SizeKind::confined: s += "!" + std::to_string(size_w) + "," + std::to_string(size_h); break;
  }
  s += "/";
  if (mirror) s += "!";
  s += std::to_string(rotation_degrees) + "/";
  switch (quality) {
    case IiifQuality::default_: s += "default"; break;
    case IiifQuality::color: s += "color"; break;
    case IiifQuality::gray: s += "gray"; break;
    case IiifQuality::bitonal: s += "bitonal"; break;
  }
  s += ".";
  s += file_extension(format);
  return s;
}

Result<IiifPlan> resolve_iiif_request(const IiifRequest& r, std::int64_t image_w, std::int64_t image_h,
                                      const IiifLimits& limits) {
  IiifPlan plan;
  // Region, clipped to the image.
  double x = 0, y = 0, w = static_cast<double>(image_w), h = static_cast<double>(image_h);
  switch (r.region_kind) {
    case IiifRequest::RegionKind::full: break;
    case IiifRequest::RegionKind::square: {
      const double side = static_cast<double>(std::min(image_w, image_h));
      x = std::floor((static_cast<double>(image_w) - side) / 2);
      y = std::floor((static_cast<double>(image_h) - side) / 2);
      w = h = side;
      break;
    }
    case IiifRequest::RegionKind::pixels:
      x = r.region[0], y = r.region[1], w = r.region[2], h = r.region[3];
      break;
    case IiifRequest::RegionKind::percent:
      x = std::round(r.region[0] * static_cast<double>(image_w) / 100.0);
      y = std::round(r.region[1] * static_cast<double>(image_h) / 100.0);
      w = std::round(r.region[2] * static_cast<double>(image_w) / 100.0);
      h = std::round(r.region[3] * static_cast<double>(image_h) / 100.0);
      break;
  }
  if (w <= 0 || h <= 0) return Error{ErrorCode::region_out_of_bounds, "the region has zero width or height"};
  if (x >= static_cast<double>(image_w) || y >= static_cast<double>(image_h)) {
    return Error{ErrorCode::region_out_of_bounds,
                 "the region starts outside the image (" + std::to_string(image_w) + "x" + std::to_string(image_h) + ")"};
  }
  plan.region_x = static_cast<std::int64_t>(x);
  plan.region_y = static_cast<std::int64_t>(y);
  // Clipped while still floating point: a percentage may name a region far beyond any int64.
  plan.region_w = static_cast<std::int64_t>(std::min(w, static_cast<double>(image_w - plan.region_x)));
  plan.region_h = static_cast<std::int64_t>(std::min(h, static_cast<double>(image_h - plan.region_y)));
  if (plan.region_w <= 0 || plan.region_h <= 0) {
    return Error{ErrorCode::region_out_of_bounds, "the region is empty after clipping to the image"};
  }

  // Size.
  const double rw = static_cast<double>(plan.region_w);
  const double rh = static_cast<double>(plan.region_h);
  double ow = rw, oh = rh;
  switch (r.size_kind) {
    case IiifRequest::SizeKind::max: {
      double scale = r.upscale ? 1e18 : 1.0;
      if (limits.max_width > 0) scale = std::min(scale, static_cast<double>(limits.max_width) / rw);
      if (limits.max_height > 0) scale = std::min(scale, static_cast<double>(limits.max_height) / rh);
      if (limits.max_area > 0) scale = std::min(scale, std::sqrt(static_cast<double>(limits.max_area) / (rw * rh)));
      if (scale >= 1e17) scale = 1.0;
      ow = std::floor(rw * scale);
      oh = std::floor(rh * scale);
      break;
    }
    case IiifRequest::SizeKind::width:
      ow = static_cast<double>(r.size_w);
      oh = std::round(rh * ow / rw);
      break;
    case IiifRequest::SizeKind::height:
      oh = static_cast<double>(r.size_h);
      ow = std::round(rw * oh / rh);
      break;
    case IiifRequest::SizeKind::percent:
      ow = std::round(rw * r.size_percent / 100.0);
      oh = std::round(rh * r.size_percent / 100.0);
      break;
    case IiifRequest::SizeKind::exact:
      ow = static_cast<double>(r.size_w);
      oh = static_cast<double>(r.size_h);
      break;
    case IiifRequest::SizeKind::confined: {
      if (r.size_w == 0 || r.size_h == 0) {
        ow = oh = 0;
        break;
      }
      // Integer arithmetic: the limiting side gets exactly its bound, the other is floored.
      const std::int64_t W = r.size_w, H = r.size_h;
      if (plan.region_w * H >= plan.region_h * W) {
        ow = static_cast<double>(W);
        oh = static_cast<double>(std::max<std::int64_t>(1, plan.region_h * W / plan.region_w));
      } else {
        oh = static_cast<double>(H);
        ow = static_cast<double>(std::max<std::int64_t>(1, plan.region_w * H / plan.region_h));
      }
      break;
    }
  }
  if (ow < 1 || oh < 1) return Error{ErrorCode::invalid_argument, "the requested size is zero"};
  if (!r.upscale && (ow > rw || oh > rh)) {
    return Error{ErrorCode::invalid_argument, "the requested size is larger than the region; prefix the size with '^' to upscale"};
  }
  constexpr double kLargestSize = 1e12;  // beyond any image, whatever the limits, and exact in an int64
  if (ow > kLargestSize || oh > kLargestSize ||
      (limits.max_width > 0 && ow > static_cast<double>(limits.max_width)) ||
      (limits.max_height > 0 && oh > static_cast<double>(limits.max_height)) ||
      (limits.max_area > 0 && ow * oh > static_cast<double>(limits.max_area))) {
    return Error{ErrorCode::invalid_argument,
                 "the requested size exceeds this server's limit of " + std::to_string(limits.max_area) + " pixels"};
  }
  plan.out_w = static_cast<std::int64_t>(ow);
  plan.out_h = static_cast<std::int64_t>(oh);
  return plan;
}

std::string_view file_extension(ImageFormat format) { return format == ImageFormat::png ? "png" : "jpg"; }
std::string_view content_type(ImageFormat format) { return format == ImageFormat::png ? "image/png" : "image/jpeg"; }

}  // namespace mcval::tiles
