#pragma once
// TissueMosaic: the level-0 content of a synthetic slide. Tissue islands on glass (irregular
// blobs with holes and ragged, sharp edges), filled with a mosaic of real tissue patches: one
// patch per cell of a grid whose seams wave, each patch flipped or turned by a multiple of 90
// degrees and feathered into its neighbours across the seams. Everything is a pure function of
// the seed and the pixel coordinates, so any tile can be rendered on its own, in any order, on
// any thread.
#include <cstdint>
#include <vector>

#include "mcval/slide/image.h"
#include "mcval/synth/tissue_source.h"

namespace mcval::synth {

/// Which of the source's patches (ordered by haematoxylin density) a mosaic draws from: the
/// share of the list from `from` to `to` (at least one patch).
struct PatchRange {
  double from = 0;
  double to = 1;
};

class TissueMosaic {
 public:
  /// Plans the islands and the patch grid of a `width` x `height` slide (level-0 pixels);
  /// renders nothing yet. `source` must outlive the mosaic. Mosaics that differ only in
  /// `patches` have the same islands and seams, and fill them with different tissue.
  TissueMosaic(const TissueSource& source, std::int64_t width, std::int64_t height, std::uint64_t seed,
               PatchRange patches = {});

  std::int64_t width() const { return width_; }
  std::int64_t height() const { return height_; }

  /// Tissue weight at a level-0 pixel: 1 inside an island, 0 on bare glass, a ramp of a few
  /// pixels at the edges; 0 outside the slide. Thread-safe.
  float tissue_weight(std::int64_t x, std::int64_t y) const;
  /// tissue_weight of every pixel of the `width` x `height` block whose top-left pixel is
  /// (x0, y0), row by row into `out` (width * height values), each edge sample computed once.
  /// Thread-safe.
  void tissue_weights(std::int64_t x0, std::int64_t y0, int width, int height, float* out) const;
  /// Share of the slide's area under tissue (weights sampled on a 128 x 128 grid).
  double tissue_fraction() const { return tissue_fraction_; }

  /// Renders the level-0 pixels of `tile`, whose top-left pixel is (x0, y0); its size is the
  /// image's own. Pixels outside the slide are glass. Thread-safe.
  void render(std::int64_t x0, std::int64_t y0, slide::RgbImage& tile) const;

 private:
  struct Blob {
    double cx = 0, cy = 0;        // centre, level-0 px
    double cos_a = 1, sin_a = 0;  // rotation
    double ax = 1, ay = 1;        // semi-axes, px
    double reach = 1;             // bound of the normalised radius
    double amplitude[5] = {};     // boundary harmonics 2..6
    double phase[5] = {};
  };
  struct Cell {
    const std::uint8_t* origin = nullptr;  // patch pixel (0, 0) in the source image
    std::int64_t step_u = 0;               // bytes from patch (u, v) to (u + 1, v)
    std::int64_t step_v = 0;               // bytes from patch (u, v) to (u, v + 1)
  };

  /// Signed distance into a blob at (x, y), in pixels (approximately): > 0 inside.
  static double blob_depth(const Blob& blob, double x, double y);
  /// Signed distance into tissue at mask-grid point (gx, gy), clamped, edge noise included.
  float grid_depth(std::int64_t gx, std::int64_t gy) const;
  /// Position of seam `index` (between cells index-1 and index) across the other axis at `t`.
  double seam(int axis, std::int64_t index, std::int64_t t) const;
  /// Low-frequency field in [0, 1] over mosaic cells: which kind of tissue a region shows.
  double region(std::int64_t i, std::int64_t j) const;
  Cell cell(std::int64_t i, std::int64_t j) const;

  const TissueSource* source_;
  std::int64_t width_;
  std::int64_t height_;
  std::uint64_t seed_;
  int patch_px_;
  int overlap_px_;  // width of the feathered band across a seam
  int wave_px_;     // largest displacement of a seam from its straight line
  int cell_px_;     // grid period: patch_px - overlap_px - 2 * wave_px
  std::size_t first_patch_ = 0;  // the patches drawn: [first_patch_, first_patch_ + patch_count_)
  std::size_t patch_count_ = 1;
  std::vector<Blob> islands_;
  std::vector<Blob> holes_;
  double tissue_fraction_ = 0;
};

}  // namespace mcval::synth
