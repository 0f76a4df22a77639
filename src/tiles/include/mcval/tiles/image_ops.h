#pragma once
// Pixel operations of IIIF image requests: flips, quarter turns, qualities.
#include "mcval/slide/image.h"

namespace mcval::tiles {

slide::RgbImage mirror_horizontally(const slide::RgbImage& image);
/// `degrees` is 90, 180 or 270 (clockwise, as IIIF).
slide::RgbImage rotate_clockwise(const slide::RgbImage& image, int degrees);
/// ITU-R 601 luma in all three channels.
slide::RgbImage to_gray(const slide::RgbImage& image);
/// Luma thresholded at 128 to black or white.
slide::RgbImage to_bitonal(const slide::RgbImage& image);

}  // namespace mcval::tiles
