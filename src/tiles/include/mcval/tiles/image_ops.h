#pragma once
// Pixel operations used by the image requests: flips, quarter turns, qualities, and the
// downscale that OpenSlide Python's Deep Zoom tiles use (Pillow's thumbnail()).
#include "mcval/slide/image.h"

namespace mcval::tiles {

slide::RgbImage mirror_horizontally(const slide::RgbImage& image);
/// `degrees` is 90, 180 or 270 (clockwise, as IIIF).
slide::RgbImage rotate_clockwise(const slide::RgbImage& image, int degrees);
/// ITU-R 601 luma in all three channels.
slide::RgbImage to_gray(const slide::RgbImage& image);
/// Luma thresholded at 128 to black or white.
slide::RgbImage to_bitonal(const slide::RgbImage& image);
/// Scales to exactly (width, height) the way Pillow's thumbnail(LANCZOS, reducing_gap=2)
/// does: an integer box reduction first where the factor is at least 4, then Lanczos.
slide::RgbImage scale_like_pillow_thumbnail(const slide::RgbImage& image, int width, int height);

}  // namespace mcval::tiles
