#pragma once
#include "mcval/slide/image.h"

namespace mcval::slide {

/// Resizes with a separable Lanczos-3 filter whose support widens with the scale factor
/// when shrinking (as Pillow's Image.resize(LANCZOS) does), so downscaled tiles match
/// OpenSlide Python's Deep Zoom tiles. Returns `image` unchanged when the size is equal.
/// An empty input or a size below 1x1 gives an empty image.
RgbImage resize_lanczos(const RgbImage& image, int width, int height);

/// Downscales by averaging `factor` x `factor` blocks (edges average what exists).
RgbImage reduce_box(const RgbImage& image, int factor);
/// Downscales by averaging `factor_x` x `factor_y` blocks, with Pillow's Image.reduce rounding.
RgbImage reduce_box(const RgbImage& image, int factor_x, int factor_y);

/// Scales a region read for a Deep Zoom tile to the tile's size the way DeepZoomGenerator's
/// get_tile does (Image.thumbnail(LANCZOS) with reducing_gap 2: a box reduce by
/// int(ratio / 2) per axis where that is 2 or more, then Lanczos from the reduced image),
/// except that the result is always exactly `width` x `height` (thumbnail keeps the aspect
/// ratio, which can make its tile 1 px narrower, and never enlarges).
RgbImage resize_tile(const RgbImage& image, int width, int height);

}  // namespace mcval::slide
