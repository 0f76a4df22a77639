#include "mcval/inference/heatmap.h"

#include <algorithm>
#include <limits>

#include <nlohmann/json.hpp>

namespace mcval::inference {
namespace {

constexpr char kMagic[4] = {'M', 'C', 'V', 'H'};
constexpr std::uint16_t kFormatVersion = 1;
constexpr std::size_t kHeaderBytes = 4 + 2 + 2 + 4 + 4;

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

std::uint64_t get_le(std::string_view in, std::size_t offset, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[offset + i])) << (8 * i);
  }
  return value;
}

}  // namespace

Heatmap::Heatmap(HeatmapGeometry geometry, int classes)
    : geometry_(geometry),
      classes_(classes),
      values_(static_cast<std::size_t>(geometry.cols) * geometry.rows * classes, kNoValue) {}

void Heatmap::set(int col, int row, const std::vector<float>& probabilities) {
  const std::size_t base = (static_cast<std::size_t>(row) * geometry_.cols + col) * classes_;
  for (int c = 0; c < classes_; ++c) {
    const double p = c < static_cast<int>(probabilities.size()) ? probabilities[c] : 0.0;
    const double clamped = std::isfinite(p) ? std::clamp(p, 0.0, 1.0) : 0.0;
    values_[base + c] = static_cast<std::uint16_t>(std::lround(clamped * kScale));
  }
}

double Heatmap::probability(int col, int row, int cls) const {
  const std::uint16_t value = raw(col, row, cls);
  if (value == kNoValue) return std::numeric_limits<double>::quiet_NaN();
  return value / kScale;
}

std::int64_t Heatmap::scored_tiles() const {
  std::int64_t count = 0;
  for (std::size_t i = 0; i < values_.size(); i += static_cast<std::size_t>(classes_)) {
    if (values_[i] != kNoValue) ++count;
  }
  return count;
}

std::string encode_heatmap(const Heatmap& heatmap) {
  std::string out(kMagic, sizeof kMagic);
  out.reserve(kHeaderBytes + heatmap.values().size() * 2);
  put_le(out, kFormatVersion, 2);
  put_le(out, static_cast<std::uint64_t>(heatmap.classes()), 2);
  put_le(out, static_cast<std::uint64_t>(heatmap.geometry().cols), 4);
  put_le(out, static_cast<std::uint64_t>(heatmap.geometry().rows), 4);
  for (std::uint16_t value : heatmap.values()) put_le(out, value, 2);
  return out;
}

Result<Heatmap> decode_heatmap(std::string_view bytes, const HeatmapGeometry& geometry) {
  if (bytes.size() < kHeaderBytes || bytes.substr(0, 4) != std::string_view(kMagic, 4)) {
    return Error{ErrorCode::invalid_argument, "not a heatmap file (no MCVH header)"};
  }
  const auto version = get_le(bytes, 4, 2);
  if (version != kFormatVersion) {
    return Error{ErrorCode::invalid_argument, "heatmap format version " + std::to_string(version) + " is not supported"};
  }
  const auto classes = static_cast<int>(get_le(bytes, 6, 2));
  const auto cols = static_cast<std::int64_t>(get_le(bytes, 8, 4));
  const auto rows = static_cast<std::int64_t>(get_le(bytes, 12, 4));
  if (cols != geometry.cols || rows != geometry.rows || classes < 1) {
    return Error{ErrorCode::invalid_argument, "heatmap grid " + std::to_string(cols) + "x" + std::to_string(rows) +
                                                  " does not match its geometry"};
  }
  const auto count = static_cast<std::size_t>(cols * rows * classes);
  if (bytes.size() != kHeaderBytes + count * 2) {
    return Error{ErrorCode::invalid_argument, "heatmap file is truncated or too long"};
  }
  Heatmap heatmap(geometry, classes);
  for (std::size_t i = 0; i < count; ++i) {
    heatmap.values_[i] = static_cast<std::uint16_t>(get_le(bytes, kHeaderBytes + i * 2, 2));
  }
  return heatmap;
}

nlohmann::json to_json(const HeatmapGeometry& geometry) {
  return {{"cols", geometry.cols},
          {"rows", geometry.rows},
          {"tile_level0", geometry.tile_level0},
          {"slide_width", geometry.slide_width},
          {"slide_height", geometry.slide_height},
          {"slide_mpp", geometry.slide_mpp},
          {"model_mpp", geometry.model_mpp},
          {"input_px", geometry.input_px}};
}

Result<HeatmapGeometry> heatmap_geometry_from_json(const nlohmann::json& json) {
  try {
    HeatmapGeometry geometry;
    geometry.cols = json.at("cols").get<int>();
    geometry.rows = json.at("rows").get<int>();
    geometry.tile_level0 = json.at("tile_level0").get<double>();
    geometry.slide_width = json.at("slide_width").get<std::int64_t>();
    geometry.slide_height = json.at("slide_height").get<std::int64_t>();
    geometry.slide_mpp = json.at("slide_mpp").get<double>();
    geometry.model_mpp = json.at("model_mpp").get<double>();
    geometry.input_px = json.at("input_px").get<int>();
    if (geometry.cols < 0 || geometry.rows < 0 || !(geometry.tile_level0 > 0)) {
      return Error{ErrorCode::invalid_argument, "heatmap geometry out of range"};
    }
    return geometry;
  } catch (const nlohmann::json::exception& e) {
    return Error{ErrorCode::invalid_argument, std::string("heatmap geometry: ") + e.what()};
  }
}

}  // namespace mcval::inference
