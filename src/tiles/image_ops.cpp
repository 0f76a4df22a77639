#include "mcval/tiles/image_ops.h"

#include <algorithm>
#include <cstring>


namespace mcval::tiles {

using slide::RgbImage;

RgbImage mirror_horizontally(const RgbImage& image) {
  RgbImage out(image.width, image.height);
  for (int y = 0; y < image.height; ++y) {
    const std::uint8_t* src = image.row(y);
    std::uint8_t* dst = out.row(y);
    for (int x = 0; x < image.width; ++x) {
      std::memcpy(dst + 3 * (image.width - 1 - x), src + 3 * x, 3);
    }
  }
  return out;
}

RgbImage rotate_clockwise(const RgbImage& image, int degrees) {
  if (degrees == 180) {
    RgbImage out(image.width, image.height);
    for (int y = 0; y < image.height; ++y) {
      const std::uint8_t* src = image.row(y);
      std::uint8_t* dst = out.row(image.height - 1 - y);
      for (int x = 0; x < image.width; ++x) std::memcpy(dst + 3 * (image.width - 1 - x), src + 3 * x, 3);
    }
    return out;
  }
  if (degrees != 90 && degrees != 270) return image;
  RgbImage out(image.height, image.width);
  for (int y = 0; y < image.height; ++y) {
    const std::uint8_t* src = image.row(y);
    for (int x = 0; x < image.width; ++x) {
      // 90 clockwise: (x, y) -> (H-1-y, x); 270 clockwise: (x, y) -> (y, W-1-x).
      const int nx = degrees == 90 ? image.height - 1 - y : y;
      const int ny = degrees == 90 ? x : image.width - 1 - x;
      std::memcpy(out.row(ny) + 3 * nx, src + 3 * x, 3);
    }
  }
  return out;
}

namespace {
std::uint8_t luma(const std::uint8_t* p) {
  return static_cast<std::uint8_t>((299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000);
}
}  // namespace

RgbImage to_gray(const RgbImage& image) {
  RgbImage out = image;
  for (std::size_t i = 0; i + 2 < out.pixels.size(); i += 3) {
    const std::uint8_t l = luma(&out.pixels[i]);
    out.pixels[i] = out.pixels[i + 1] = out.pixels[i + 2] = l;
  }
  return out;
}

RgbImage to_bitonal(const RgbImage& image) {
  RgbImage out = image;
  for (std::size_t i = 0; i + 2 < out.pixels.size(); i += 3) {
    const std::uint8_t v = luma(&out.pixels[i]) >= 128 ? 255 : 0;
    out.pixels[i] = out.pixels[i + 1] = out.pixels[i + 2] = v;
  }
  return out;
}

}  // namespace mcval::tiles
