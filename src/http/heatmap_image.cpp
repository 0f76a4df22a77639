#include "mcval/http/heatmap_image.h"

#include <algorithm>
#include <cmath>

namespace mcval::http {

slide::RgbaImage render_heatmap(const inference::Heatmap& heatmap, const HeatmapImageOptions& options) {
  const auto& geometry = heatmap.geometry();
  slide::RgbaImage image(geometry.cols, geometry.rows);
  // Compare quantised values, so that a threshold equal to a stored probability keeps the tile.
  const double threshold = std::clamp(options.threshold, 0.0, 1.0);
  for (int row = 0; row < geometry.rows; ++row) {
    for (int col = 0; col < geometry.cols; ++col) {
      std::uint8_t* pixel = image.at(col, row);
      const double p = heatmap.probability(col, row, options.class_index);
      if (std::isnan(p) || p < threshold) {
        pixel[0] = pixel[1] = pixel[2] = pixel[3] = 0;
        continue;
      }
      const Rgb8 colour = colormap_colour(options.colormap, p);
      pixel[0] = colour.r;
      pixel[1] = colour.g;
      pixel[2] = colour.b;
      pixel[3] = 255;
    }
  }
  return image;
}

Result<slide::RgbaImage> render_tissue_overlay(const std::string& mask_png) {
  MCVAL_TRY_ASSIGN(mask, slide::decode_png_rgba(mask_png));
  for (std::size_t i = 0; i < mask.pixels.size(); i += 4) {
    const bool tissue = mask.pixels[i] >= 128;
    for (int c = 0; c < 4; ++c) mask.pixels[i + static_cast<std::size_t>(c)] = tissue ? kTissueOverlay[c] : 0;
  }
  return mask;
}

}  // namespace mcval::http
