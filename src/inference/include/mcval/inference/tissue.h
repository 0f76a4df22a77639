#pragma once
// Tissue detection on a low-resolution image of the slide: Otsu's threshold on HSV saturation,
// kept near the glass's own saturation, with a brightness guard against dark artefacts; then
// morphological closing and opening, filling of small holes and removal of specks. The mask is kept (PNG) and shown in the viewer.
#include <cstdint>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/slide/image.h"
#include "mcval/slide/slide_reader.h"

namespace mcval::inference {

struct TissueMask {
  int width = 0;
  int height = 0;
  double downsample = 1;             ///< level-0 pixels per mask pixel
  std::vector<std::uint8_t> pixels;  ///< 255 tissue, 0 background, row-major
  /// Share of mask pixels that are tissue (0 for an empty mask).
  double tissue_fraction() const;
  /// Share of tissue in the level-0 rectangle (x0, y0, w, h), clipped to the mask, with mask
  /// pixels weighted by how much of them the rectangle covers; 0 outside the mask.
  double fraction_in(double x0, double y0, double w, double h) const;
};

struct TissueOptions {
  double target_mpp = 8.0;       ///< resolution of the image the mask is computed on
  int max_side_px = 4096;        ///< upper bound of the mask's larger side
  /// Saturation threshold (0-1 scale): Otsu's, but at least the glass's saturation (the mode
  /// of Otsu's lower class) plus min_saturation and at most the glass's plus glass_margin.
  double min_saturation = 0.04;
  double glass_margin = 0.07;
  /// Brightness guard: pixels whose HSV value (max of R, G, B) is below this (0-1) are never
  /// tissue (black backgrounds, dark debris, air bubbles' rims) and do not enter Otsu's histogram.
  double min_value = 0.12;
  double closing_um = 40;        ///< diameter of the closing's disc (fills narrow gaps)
  double opening_um = 24;        ///< diameter of the opening's disc (removes thin strands, specks)
  /// Holes in tissue (glass enclosed by tissue: lumens, fat, tears) up to this area are
  /// filled, so tiles over them count as tissue; 0 fills none.
  double max_hole_um2 = 20000;
  double min_region_um2 = 2500;  ///< connected tissue regions smaller than this are dropped
};

/// Mask from an RGB thumbnail whose pixels each cover `downsample` level-0 pixels; `mpp` is the
/// slide's level-0 resolution (<= 0: unknown, taken as 0.25). Thread-safe.
TissueMask detect_tissue(const slide::RgbImage& thumbnail, double downsample, double mpp,
                         const TissueOptions& options = {});
/// Reads the slide at about options.target_mpp (the best level, then box-averaged by a whole
/// factor with cv::INTER_AREA, in bands, so memory stays bounded) and detects tissue. Without
/// an mpp the slide is taken as 10 / objective power, or 0.25. The mask covers the whole
/// pixels of the reduced level (a few level-0 pixels at the right and bottom may fall outside).
/// slide_unreadable when a read fails.
Result<TissueMask> detect_tissue(const slide::SlideReader& slide, const TissueOptions& options = {});

}  // namespace mcval::inference
