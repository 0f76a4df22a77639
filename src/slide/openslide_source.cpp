#include "mcval/slide/openslide_source.h"

#include <openslide/openslide.h>

#include <charconv>
#include <cstring>
#include <limits>
#include <system_error>

#include "mcval/slide/tiff_jpeg_tiles.h"

namespace mcval::slide {

namespace {

struct OpenSlideCloser {
  void operator()(openslide_t* osr) const { openslide_close(osr); }
};
using OpenSlideHandle = std::unique_ptr<openslide_t, OpenSlideCloser>;

std::optional<std::string> property(openslide_t* osr, const char* name) {
  const char* value = openslide_get_property_value(osr, name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

// OpenSlide writes numeric properties in the C locale; from_chars ignores the process locale.
std::optional<double> property_double(openslide_t* osr, const char* name) {
  const auto text = property(osr, name);
  if (!text) return std::nullopt;
  double value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return value;
}

int property_int(openslide_t* osr, const std::string& name) {
  const auto text = property(osr, name.c_str());
  if (!text) return 0;
  int value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < 0) return 0;
  return value;
}

bool parse_background(const std::string& hex, std::uint8_t (&rgb)[3]) {
  if (hex.size() != 6) return false;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), value, 16);
  if (ec != std::errc() || end != hex.data() + hex.size()) return false;
  rgb[0] = static_cast<std::uint8_t>(value >> 16);
  rgb[1] = static_cast<std::uint8_t>(value >> 8);
  rgb[2] = static_cast<std::uint8_t>(value);
  return true;
}

// The detail is OpenSlide's reason only: 4xx details reach clients, server paths must not.
Error unreadable(std::string_view reason) {
  return Error{ErrorCode::slide_unreadable, std::string(reason)};
}

// Premultiplied ARGB onto an opaque background: out = c + bg * (255 - a) / 255, rounded.
// Exact for a = 255 (the pixel) and a = 0 (the background, since c is then 0).
RgbImage composite(const std::vector<std::uint32_t>& argb, int width, int height, const std::uint8_t (&bg)[3]) {
  RgbImage out = RgbImage::uninitialized(width, height);
  std::uint8_t* dst = out.pixels.data();
  for (const std::uint32_t p : argb) {
    const std::uint32_t a = p >> 24;
    const std::uint32_t c[3] = {(p >> 16) & 0xFF, (p >> 8) & 0xFF, p & 0xFF};
    if (a == 255) {
      for (int i = 0; i < 3; ++i) *dst++ = static_cast<std::uint8_t>(c[i]);
    } else {
      const std::uint32_t t = 255 - a;
      for (int i = 0; i < 3; ++i) {
        const std::uint32_t v = c[i] + (bg[i] * t + 127) / 255;
        *dst++ = static_cast<std::uint8_t>(v > 255 ? 255 : v);
      }
    }
  }
  return out;
}

class OpenSlideReader final : public SlideReader {
 public:
  OpenSlideReader(OpenSlideHandle osr, SlideProperties props, std::unique_ptr<const TiffJpegTiles> stored)
      : osr_(std::move(osr)), props_(std::move(props)), stored_(std::move(stored)) {}

  const SlideProperties& properties() const override { return props_; }

  bool failed() const override { return openslide_get_error(osr_.get()) != nullptr; }

  std::optional<std::string> read_stored_jpeg(std::int64_t x0, std::int64_t y0, int level, int width,
                                              int height) const override {
    if (!stored_) return std::nullopt;
    return stored_->read(level, x0, y0, width, height).jpeg;
  }

  Result<RgbImage> read_region(std::int64_t x0, std::int64_t y0, int level, int width,
                               int height) const override {
    if (level < 0 || level >= static_cast<int>(props_.levels.size())) {
      return Error{ErrorCode::invalid_argument, "level " + std::to_string(level) + " outside 0.." +
                                                    std::to_string(props_.levels.size() - 1)};
    }
    if (width <= 0 || height <= 0) {
      return Error{ErrorCode::invalid_argument,
                   "region size " + std::to_string(width) + "x" + std::to_string(height) + " is empty"};
    }
    const std::int64_t pixels = std::int64_t{width} * height;
    if (pixels > kMaxReadPixels) {
      return Error{ErrorCode::payload_too_large,
                   "region " + std::to_string(width) + "x" + std::to_string(height) + " exceeds the read limit"};
    }
    if (const char* err = openslide_get_error(osr_.get())) return unreadable(err);
    // Levels stored as JPEG tiles are decoded here, tile by tile, with the same decoder and
    // settings as OpenSlide's (same pixels) but without its cairo compositing, which costs more
    // than the decoding itself.
    if (stored_) {
      if (auto fast = stored_->read_region(level, x0, y0, width, height, props_.background_rgb)) return std::move(*fast);
    }
    std::vector<std::uint32_t> argb(static_cast<std::size_t>(pixels));
    openslide_read_region(osr_.get(), argb.data(), x0, y0, level, width, height);
    if (const char* err = openslide_get_error(osr_.get())) return unreadable(err);
    return composite(argb, width, height, props_.background_rgb);
  }

  Result<RgbImage> read_associated(std::string_view name) const override {
    const std::string key(name);
    bool present = false;
    for (const auto& n : props_.associated_images) present = present || n == key;
    if (!present) return Error{ErrorCode::not_found, "no associated image '" + key + "'"};
    if (const char* err = openslide_get_error(osr_.get())) return unreadable(err);
    std::int64_t w = -1;
    std::int64_t h = -1;
    openslide_get_associated_image_dimensions(osr_.get(), key.c_str(), &w, &h);
    if (const char* err = openslide_get_error(osr_.get())) return unreadable(err);
    if (w <= 0 || h <= 0) return unreadable("associated image '" + key + "' is empty");
    if (w > std::numeric_limits<int>::max() || h > std::numeric_limits<int>::max() || w * h > kMaxReadPixels) {
      return Error{ErrorCode::payload_too_large, "associated image '" + key + "' exceeds the read limit"};
    }
    std::vector<std::uint32_t> argb(static_cast<std::size_t>(w * h));
    openslide_read_associated_image(osr_.get(), key.c_str(), argb.data());
    if (const char* err = openslide_get_error(osr_.get())) return unreadable(err);
    return composite(argb, static_cast<int>(w), static_cast<int>(h), props_.background_rgb);
  }

 private:
  OpenSlideHandle osr_;
  SlideProperties props_;
  std::unique_ptr<const TiffJpegTiles> stored_;  // null: not a TIFF slide with stored JPEG tiles
};

Result<SlideProperties> read_properties(openslide_t* osr) {
  SlideProperties props;
  props.vendor = property(osr, OPENSLIDE_PROPERTY_NAME_VENDOR).value_or("");
  const std::int32_t count = openslide_get_level_count(osr);
  if (count < 1) {
    const char* err = openslide_get_error(osr);
    return unreadable(err != nullptr ? err : "the slide has no levels");
  }
  for (std::int32_t level = 0; level < count; ++level) {
    LevelInfo info;
    openslide_get_level_dimensions(osr, level, &info.width, &info.height);
    info.downsample = openslide_get_level_downsample(osr, level);
    if (info.width <= 0 || info.height <= 0 || !(info.downsample > 0)) {
      return unreadable("level " + std::to_string(level) + " has no pixels");
    }
    props.levels.push_back(info);
    const std::string prefix = "openslide.level[" + std::to_string(level) + "].";
    props.level_tile_width.push_back(property_int(osr, prefix + "tile-width"));
    props.level_tile_height.push_back(property_int(osr, prefix + "tile-height"));
  }
  props.mpp_x = property_double(osr, OPENSLIDE_PROPERTY_NAME_MPP_X);
  props.mpp_y = property_double(osr, OPENSLIDE_PROPERTY_NAME_MPP_Y);
  props.objective_power = property_double(osr, OPENSLIDE_PROPERTY_NAME_OBJECTIVE_POWER);
  if (const auto bg = property(osr, OPENSLIDE_PROPERTY_NAME_BACKGROUND_COLOR)) {
    parse_background(*bg, props.background_rgb);
  }
  if (const char* const* names = openslide_get_associated_image_names(osr)) {
    for (; *names != nullptr; ++names) props.associated_images.emplace_back(*names);
  }
  if (const char* err = openslide_get_error(osr)) return unreadable(err);
  return props;
}

}  // namespace

Result<std::shared_ptr<const SlideReader>> OpenSlideSource::open(const std::filesystem::path& path) const {
  const std::string name = path.string();
  OpenSlideHandle osr(openslide_open(name.c_str()));
  if (!osr) return unreadable("not a slide format OpenSlide recognises (or the file cannot be opened)");
  if (const char* err = openslide_get_error(osr.get())) return unreadable(err);
  MCVAL_TRY_ASSIGN(props, read_properties(osr.get()));
  // Aperio and generic tiled TIFF keep each pyramid level as one tiled TIFF directory, so their
  // stored JPEG tiles can be served as they are (other TIFF-based formats lay levels out otherwise).
  std::unique_ptr<const TiffJpegTiles> stored;
  if (props.vendor == "aperio" || props.vendor == "generic-tiff") stored = TiffJpegTiles::open(path, props, decoded_tile_cache_bytes_);
  return std::shared_ptr<const SlideReader>(
      std::make_shared<OpenSlideReader>(std::move(osr), std::move(props), std::move(stored)));
}

std::optional<std::string> OpenSlideSource::detect_vendor(const std::filesystem::path& path) {
  const char* vendor = openslide_detect_vendor(path.string().c_str());
  if (vendor == nullptr) return std::nullopt;
  return std::string(vendor);
}

}  // namespace mcval::slide
