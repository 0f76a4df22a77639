#pragma once
#include "mcval/slide/image.h"

namespace mcval::slide {

/// Resizes with a separable Lanczos-3 filter whose support widens with the scale factor
/// when shrinking (as Pillow's Image.resize(LANCZOS) does), so downscaled tiles match
/// OpenSlide Python's Deep Zoom tiles. Returns `image` unchanged when the size is equal.
RgbImage resize_lanczos(const RgbImage& image, int width, int height);

/// Downscales by averaging `factor` x `factor` blocks (edges average what exists).
RgbImage reduce_box(const RgbImage& image, int factor);

}  // namespace mcval::slide
