#pragma once
// A heatmap: the model's class probabilities for every tile of a slide's grid, quantised to
// 16 bits (steps of 1/65534; 65535 marks a tile that was not scored), with the geometry that
// aligns it with the slide. Stored as a small binary file (see encode_heatmap).
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mcval/common/result.h"

namespace mcval::inference {

/// Where the heatmap lies on the slide: tile (col, row) covers level-0 pixels from
/// (llround(col * tile_level0), llround(row * tile_level0)), tile_level0 wide and high.
struct HeatmapGeometry {
  int cols = 0;
  int rows = 0;
  double tile_level0 = 0;
  std::int64_t slide_width = 0;   ///< level-0 pixels
  std::int64_t slide_height = 0;
  double slide_mpp = 0;
  double model_mpp = 0;
  int input_px = 0;
};

class Heatmap {
 public:
  static constexpr std::uint16_t kNoValue = 0xFFFF;
  static constexpr double kScale = 65534.0;

  Heatmap() = default;
  Heatmap(HeatmapGeometry geometry, int classes);

  const HeatmapGeometry& geometry() const { return geometry_; }
  int classes() const { return classes_; }
  /// Sets the probabilities of one tile (clamped to [0, 1]; classes values).
  void set(int col, int row, const std::vector<float>& probabilities);
  /// Whether the tile was scored.
  bool has(int col, int row) const { return raw(col, row, 0) != kNoValue; }
  /// The quantised probability; NaN when the tile was not scored.
  double probability(int col, int row, int cls) const;
  std::uint16_t raw(int col, int row, int cls) const {
    return values_[(static_cast<std::size_t>(row) * geometry_.cols + col) * classes_ + cls];
  }
  std::int64_t scored_tiles() const;
  const std::vector<std::uint16_t>& values() const { return values_; }

 private:
  friend Result<Heatmap> decode_heatmap(std::string_view bytes, const HeatmapGeometry& geometry);
  HeatmapGeometry geometry_;
  int classes_ = 0;
  std::vector<std::uint16_t> values_;  // (row * cols + col) * classes + class
};

/// "MCVH" magic, format version (u16 = 1), classes (u16), cols (u32), rows (u32), then the
/// values as little-endian u16, row-major with the class fastest.
std::string encode_heatmap(const Heatmap& heatmap);
/// invalid_argument when the bytes are not a heatmap of this geometry.
Result<Heatmap> decode_heatmap(std::string_view bytes, const HeatmapGeometry& geometry);

nlohmann::json to_json(const HeatmapGeometry& geometry);
Result<HeatmapGeometry> heatmap_geometry_from_json(const nlohmann::json& json);

}  // namespace mcval::inference
