#pragma once
// TissueSource: real tissue for synthetic slides, as square patches of a real slide's level 0
// that are mostly tissue, plus what the generator needs to know about that slide (glass
// colour, stain vectors, resolution).
#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/slide/image.h"
#include "mcval/slide/slide_reader.h"
#include "mcval/synth/stain.h"

namespace mcval::synth {

struct TissueSourceOptions {
  int patch_px = 512;                 ///< side of the square patches, level-0 pixels
  int stride_px = 32;                 ///< step between candidate patch origins
  double min_tissue_fraction = 0.85;  ///< share of tissue pixels a patch needs to be kept
  int max_patches = 4096;             ///< most patches kept (evenly thinned beyond that)
  /// Largest side of the level-0 region read from the source; a bigger slide is read around
  /// the centre of its tissue (found on its smallest level).
  int max_region_px = 4096;
};

/// Top-left corner of a patch in the source image.
struct PatchOrigin {
  int x = 0;
  int y = 0;
};

/// Source pixels and the patches cut from them. Immutable once built, so thread-safe.
class TissueSource {
 public:
  /// Opens `slide_path` with mcval::slide::OpenSlideSource and reads its level 0.
  /// slide_unreadable if OpenSlide cannot read it; invalid_argument if no patch is mostly tissue.
  static Result<TissueSource> open(const std::filesystem::path& slide_path, const TissueSourceOptions& options = {});
  /// As open, from a slide already open.
  static Result<TissueSource> from_reader(const slide::SlideReader& reader, const TissueSourceOptions& options = {});
  /// From level-0 pixels in memory; `mpp` and `objective_power` as the slide states them.
  static Result<TissueSource> from_image(slide::RgbImage level0, std::optional<double> mpp,
                                         std::optional<double> objective_power,
                                         const TissueSourceOptions& options = {});

  /// Whether a pixel is stained tissue rather than glass: summed OD of the three channels
  /// above 0.3 (a grey level of about 230 or darker).
  static bool is_tissue(const std::uint8_t* rgb);

  const slide::RgbImage& image() const { return image_; }
  /// Patches of patch_px() squared, ordered from least to most haematoxylin (mean red OD), so
  /// that patches with nearby indices look alike.
  const std::vector<PatchOrigin>& patches() const { return patches_; }
  int patch_px() const { return patch_px_; }
  /// Median colour of the glass (non-tissue) pixels.
  std::array<std::uint8_t, 3> background_rgb() const { return background_rgb_; }
  /// Mean colour of the tissue pixels.
  std::array<double, 3> tissue_mean_rgb() const { return tissue_mean_rgb_; }
  /// Mean optical density (R, G, B) of the tenth of the tissue pixels that absorb the most red:
  /// the colour of the source's nuclei, which synthetic nuclei copy.
  std::array<double, 3> nucleus_od() const { return nucleus_od_; }
  /// H&E vectors estimated from the tissue (Macenko).
  const StainVectors& stain_vectors() const { return stain_vectors_; }
  /// Microns per pixel and objective power of the source's level 0, where it states them.
  std::optional<double> mpp() const { return mpp_; }
  std::optional<double> objective_power() const { return objective_power_; }

 private:
  TissueSource() = default;

  slide::RgbImage image_;
  std::vector<PatchOrigin> patches_;
  int patch_px_ = 0;
  std::array<std::uint8_t, 3> background_rgb_{255, 255, 255};
  std::array<double, 3> tissue_mean_rgb_{};
  std::array<double, 3> nucleus_od_{};
  StainVectors stain_vectors_;
  std::optional<double> mpp_;
  std::optional<double> objective_power_;
};

}  // namespace mcval::synth
