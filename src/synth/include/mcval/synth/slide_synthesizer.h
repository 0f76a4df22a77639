#pragma once
// Synthetic Aperio slides from real tissue: write_aperio_slide renders one slide (a tissue
// mosaic, optional extra content, a centre's stain) into a tiled JPEG pyramid that OpenSlide
// opens as vendor "aperio"; synthesize_workspace writes several centres' worth of them.
// Output is a pure function of the inputs: the same seed gives byte-identical files (with the
// same build and C library, whose floating-point functions the layout uses).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/slide/image.h"
#include "mcval/synth/slide_truth.h"
#include "mcval/synth/stain.h"
#include "mcval/synth/tissue_mosaic.h"
#include "mcval/synth/tissue_source.h"

namespace mcval::synth {

/// Content painted onto level 0 after the tissue mosaic and before the stain (so it is stained
/// like the tissue), e.g. synthetic lesions. Called for every level-0 tile, from several
/// threads at once and in no particular order: paint must be thread-safe and depend only on
/// its arguments and the stage's own immutable state.
class ContentStage {
 public:
  virtual ~ContentStage() = default;
  /// Paints onto `tile`, whose top-left pixel is level-0 pixel (x0, y0); the tile may reach
  /// past the slide's right and bottom edges (those pixels are discarded).
  virtual void paint(std::int64_t x0, std::int64_t y0, slide::RgbImage& tile) const = 0;
};

/// One synthetic slide.
struct SlideSpec {
  std::int64_t width = 10000;   ///< level-0 pixels, 1 .. 1,000,000
  std::int64_t height = 10000;  ///< level-0 pixels, 1 .. 1,000,000
  int tile_px = 256;            ///< tile side of every level, a multiple of 16 in 64 .. 2048
  /// Pyramid levels including level 0; 0 picks them as Aperio does: divide by 4 while the
  /// smaller side is at least 1024 px or the larger one above 4096 px.
  int levels = 0;
  double mpp = 0.25;       ///< microns per pixel at level 0 (aperio.MPP)
  double app_mag = 40;     ///< objective power (aperio.AppMag)
  int jpeg_quality = 85;   ///< 1-100
  std::uint64_t seed = 1;  ///< decides the tissue layout and the mosaic
  StainProfile stain;      ///< the centre's stain; the default leaves the source's
  /// Painted in order after the mosaic; may be empty.
  std::vector<std::shared_ptr<const ContentStage>> content;
  /// Extra "key = value" entries of the ImageDescription, read back by OpenSlide as
  /// aperio.<key>; neither may contain '|', '=', CR or LF.
  std::vector<std::pair<std::string, std::string>> properties;
  /// Rendering and encoding threads; 0: one per core. Does not change the output.
  int threads = 0;
};

/// Size of one pyramid level.
struct LevelSize {
  std::int64_t width = 0;
  std::int64_t height = 0;
  double downsample = 1;  ///< level-0 width over this level's width
};

/// What was written.
struct SlideInfo {
  std::filesystem::path path;
  std::string centre;  ///< empty when not written by synthesize_workspace
  int index = 0;       ///< slide number within its centre
  std::uint64_t seed = 0;
  std::string stain;  ///< StainProfile::name
  std::int64_t width = 0;
  std::int64_t height = 0;
  std::vector<LevelSize> levels;  ///< level 0 first
  double mpp = 0;
  double app_mag = 0;
  double tissue_fraction = 0;  ///< share of level 0 under the tissue mask
  std::uint64_t file_bytes = 0;
  bool bigtiff = false;  ///< BigTIFF (only when the file would pass 4 GiB)
  double seconds = 0;    ///< wall time to write
  /// From synthesize_workspace's ContentFactory (SlideContent), when it gave them.
  std::optional<SlideTruth> truth;
  std::vector<LesionRegion> regions;
};

/// Progress of a slide being written, reported from the calling thread.
struct Progress {
  std::filesystem::path path;
  int slide = 0;  ///< 0-based slide number within the whole run
  int slide_count = 1;
  double fraction = 0;  ///< of this slide, 0 .. 1
};
using ProgressCallback = std::function<void(const Progress&)>;

/// Pyramid level sizes for a spec (level 0 first): each level is the previous one divided by
/// 4, rounding up. invalid_argument if the spec is out of range.
Result<std::vector<LevelSize>> plan_levels(const SlideSpec& spec);

/// The ImageDescription of level 0:
/// "Aperio Image Library v10.0.50\r\n{W}x{H} [0,0 {W}x{H}] ({tile}x{tile}) JPEG/RGB Q={q}|AppMag = {mag}|MPP = {mpp}"
/// followed by "|key = value" for each of spec.properties.
std::string aperio_description(const SlideSpec& spec);

/// Writes one slide to `out` (replaced if present; the parent folder must exist) as a TIFF
/// (BigTIFF only past 4 GiB): level 0 as the first directory, an Aperio-style stripped
/// thumbnail as the second, then the lower levels, all but the thumbnail tiled JPEG (YCbCr
/// 4:2:0). Memory stays bounded: one row of tiles per level (38 MB at level 0 for a
/// 50,000 px wide slide) and the thumbnail, whatever the height.
/// The file appears only once complete (written beside it, then renamed).
/// invalid_argument for a bad spec, io_error when the file cannot be written.
Result<SlideInfo> write_aperio_slide(const SlideSpec& spec, const TissueSource& tissue,
                                     const std::filesystem::path& out, const ProgressCallback& progress = {});

/// Where a workspace slide goes and how it is made, as handed to a ContentFactory.
struct SlidePlan {
  std::string centre;
  int centre_index = 0;
  int index = 0;  ///< slide number within the centre
  std::filesystem::path path;
  SlideSpec spec;
};
/// The extra content of one workspace slide: the stages that paint it and, when the content
/// has one, the slide's ground truth and the regions painted (copied into its SlideInfo).
struct SlideContent {
  std::vector<std::shared_ptr<const ContentStage>> stages;
  std::optional<SlideTruth> truth;
  std::vector<LesionRegion> regions;
};
/// Builds the extra content of one workspace slide (e.g. lesions and their ground truth);
/// an error stops the run. TissueMosaic(tissue, plan.spec.width, plan.spec.height,
/// plan.spec.seed) is the mosaic the slide will show, for placing content on tissue. Called
/// on the calling thread of synthesize_workspace, one slide after the other.
using ContentFactory = std::function<Result<SlideContent>(const SlidePlan&, const TissueSource&)>;

struct WorkspaceOptions {
  std::filesystem::path source;  ///< real slide the tissue comes from
  std::filesystem::path out;     ///< created if missing
  std::vector<std::string> centres{"centre-a", "centre-b", "centre-c"};
  int slides_per_centre = 2;
  std::int64_t width = 10000;
  std::int64_t height = 10000;
  std::uint64_t seed = 1;
  /// Resolution written into the slides; unset: the source's own (its tissue is not resampled),
  /// or 0.25 mpp and 40x when the source does not state them.
  std::optional<double> mpp;
  std::optional<double> app_mag;
  int tile_px = 256;
  int jpeg_quality = 85;
  int threads = 0;            ///< as SlideSpec::threads
  ContentFactory content;     ///< optional
  ProgressCallback progress;  ///< optional
};

/// Writes <out>/<centre>/synth-<centre>-<NNN>.svs for every centre (NNN from 000), centre i
/// stained with centre_stains(centres.size(), seed)[i]; slide seeds derive from `seed`, the
/// centre's position and the slide number. Each slide's ImageDescription also carries
/// Synthetic = mcval, Centre, Seed and Stain. invalid_argument for bad options (centre names
/// must be non-empty and safe as folder names).
Result<std::vector<SlideInfo>> synthesize_workspace(const WorkspaceOptions& options);

}  // namespace mcval::synth
