#pragma once
// The images of the viewer's inference layers: a heatmap as one RGBA pixel per grid tile
// (colormap, threshold), and the tissue mask as a translucent overlay.
#include <string>

#include "mcval/common/result.h"
#include "mcval/http/colormap.h"
#include "mcval/inference/heatmap.h"
#include "mcval/slide/codec.h"

namespace mcval::http {

struct HeatmapImageOptions {
  int class_index = 0;
  Colormap colormap = Colormap::viridis;
  /// Tiles whose probability is below this (0-1) are transparent; 0 shows every scored tile.
  double threshold = 0;
};

/// cols x rows pixels: pixel (col, row) is the colour of the tile's probability of the class,
/// opaque; transparent (0, 0, 0, 0) where the tile was not scored or is below the threshold.
/// `options.class_index` must lie in [0, heatmap.classes()).
slide::RgbaImage render_heatmap(const inference::Heatmap& heatmap, const HeatmapImageOptions& options);

/// The colour of tissue in the overlay: green, translucent.
inline constexpr std::uint8_t kTissueOverlay[4] = {0x1e, 0xc8, 0x5a, 0x80};

/// The tissue mask (a PNG with 255 for tissue, 0 for background, grey or RGB) as an RGBA
/// overlay: kTissueOverlay where tissue, transparent elsewhere. bad_request if not a PNG.
Result<slide::RgbaImage> render_tissue_overlay(const std::string& mask_png);

}  // namespace mcval::http
