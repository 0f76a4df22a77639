#pragma once
// Reading whole-slide images: the SlideReader interface (one open slide) and SlideSource
// (opens files). OpenSlideSource implements both with OpenSlide.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/slide/image.h"

namespace mcval::slide {

struct LevelInfo {
  std::int64_t width = 0;   ///< pixels
  std::int64_t height = 0;  ///< pixels
  double downsample = 1.0;  ///< relative to level 0
};

/// What a slide file says about itself.
struct SlideProperties {
  std::string vendor;                         ///< OpenSlide's vendor, e.g. "aperio"
  std::vector<LevelInfo> levels;              ///< level 0 first; never empty for a readable slide
  std::optional<double> mpp_x;                ///< microns per pixel at level 0
  std::optional<double> mpp_y;
  std::optional<double> objective_power;      ///< e.g. 20
  std::vector<std::string> associated_images; ///< e.g. "label", "macro", "thumbnail"
  std::uint8_t background_rgb[3] = {255, 255, 255};  ///< openslide.background-color
  /// Tile size of the stored pyramid per level where the file is tiled (0 if unknown).
  std::vector<int> level_tile_width;
  std::vector<int> level_tile_height;
};

/// The best level for a downsample, as openslide_get_best_level_for_downsample (OpenSlide
/// 3.4.1): the last level whose downsample does not exceed `downsample`, level 0 below the first.
int best_level_for_downsample(const SlideProperties& slide, double downsample);

/// One open slide. Thread-safe: any number of threads may read at once.
class SlideReader {
 public:
  /// Largest region or associated image one read may produce, in pixels (64 Mi).
  static constexpr std::int64_t kMaxReadPixels = std::int64_t{1} << 26;

  virtual ~SlideReader() = default;
  virtual const SlideProperties& properties() const = 0;
  /// Reads a region at `level`: (x0, y0) are level-0 coordinates of the top-left corner,
  /// (width, height) the size in pixels of that level. Pixels outside the slide and
  /// transparent pixels are composited onto the slide's background colour.
  /// Fails with slide_unreadable (file damaged), invalid_argument (bad level/size) or
  /// payload_too_large (more than kMaxReadPixels).
  virtual Result<RgbImage> read_region(std::int64_t x0, std::int64_t y0, int level, int width,
                                       int height) const = 0;
  /// Reads an associated image ("label", "macro", "thumbnail"); not_found if absent.
  virtual Result<RgbImage> read_associated(std::string_view name) const = 0;
  /// The best level for a downsample, as openslide_get_best_level_for_downsample.
  int best_level_for_downsample(double downsample) const;
  /// True once the library has reported an error on this handle: every later read fails
  /// too, so SlidePool drops the reader and opens the file again on the next acquire.
  virtual bool failed() const { return false; }
  /// The stored JPEG whose decoded pixels are exactly what read_region(x0, y0, level, width,
  /// height) returns, when that region is one stored JPEG tile of the file (wholly inside its
  /// level) and the reader can hand out stored bytes; nullopt otherwise (the caller renders).
  virtual std::optional<std::string> read_stored_jpeg(std::int64_t x0, std::int64_t y0, int level, int width,
                                                      int height) const {
    (void)x0, (void)y0, (void)level, (void)width, (void)height;
    return std::nullopt;
  }
};

/// Opens slide files. Thread-safe.
class SlideSource {
 public:
  virtual ~SlideSource() = default;
  /// slide_unreadable with the library's reason when the file is not a readable slide.
  virtual Result<std::shared_ptr<const SlideReader>> open(const std::filesystem::path& path) const = 0;
};

}  // namespace mcval::slide
