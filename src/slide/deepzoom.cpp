#include "mcval/slide/deepzoom.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mcval::slide {

// Every step below mirrors openslide-python 1.2.0's deepzoom.py (limit_bounds=False) with the
// same double arithmetic, so that the numbers agree to the last bit. Names follow its four
// coordinate planes: t_ tile, z_ Deep Zoom level pixel, l_ slide level pixel, l0_ level 0.

namespace {

std::int64_t ceil_to_int(double value) { return static_cast<std::int64_t>(std::ceil(value)); }

std::string xml_escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\n': out += "&#10;"; break;
      default: out += c;
    }
  }
  return out;
}

int clamp_to_int(std::int64_t value) {
  return static_cast<int>(std::clamp<std::int64_t>(value, std::numeric_limits<int>::min(),
                                                    std::numeric_limits<int>::max()));
}

}  // namespace

DeepZoomGeometry::DeepZoomGeometry(const SlideProperties& slide, int tile_px, int overlap_px)
    : tile_px_(std::max(1, tile_px)), overlap_px_(std::max(0, overlap_px)), slide_levels_(slide.levels) {
  if (slide_levels_.empty()) slide_levels_.push_back(LevelInfo{1, 1, 1.0});

  std::pair<std::int64_t, std::int64_t> z_size{slide_levels_[0].width, slide_levels_[0].height};
  std::vector<std::pair<std::int64_t, std::int64_t>> z_dimensions{z_size};
  while (z_size.first > 1 || z_size.second > 1) {
    z_size.first = std::max<std::int64_t>(1, ceil_to_int(static_cast<double>(z_size.first) / 2));
    z_size.second = std::max<std::int64_t>(1, ceil_to_int(static_cast<double>(z_size.second) / 2));
    z_dimensions.push_back(z_size);
  }
  level_sizes_.assign(z_dimensions.rbegin(), z_dimensions.rend());

  const auto tiles = [this](std::int64_t z_lim) {
    return ceil_to_int(static_cast<double>(z_lim) / static_cast<double>(tile_px_));
  };
  const int dz_levels = static_cast<int>(level_sizes_.size());
  for (int dz = 0; dz < dz_levels; ++dz) {
    level_tiles_.emplace_back(tiles(level_sizes_[dz].first), tiles(level_sizes_[dz].second));
    const double l0_z_downsample = std::ldexp(1.0, dz_levels - dz - 1);
    const int slide_level = best_level_for_downsample(slide, l0_z_downsample);
    slide_level_for_dz_.push_back(slide_level);
    l_z_downsample_.push_back(l0_z_downsample / slide_levels_[slide_level].downsample);
  }
}

std::pair<std::int64_t, std::int64_t> DeepZoomGeometry::level_size(int dz_level) const {
  if (dz_level < 0 || dz_level >= level_count()) return {0, 0};
  return level_sizes_[dz_level];
}

std::pair<std::int64_t, std::int64_t> DeepZoomGeometry::level_tiles(int dz_level) const {
  if (dz_level < 0 || dz_level >= level_count()) return {0, 0};
  return level_tiles_[dz_level];
}

Result<DeepZoomTileRequest> DeepZoomGeometry::tile(int dz_level, std::int64_t col, std::int64_t row) const {
  if (dz_level < 0 || dz_level >= level_count()) {
    return Error{ErrorCode::tile_out_of_range, "level " + std::to_string(dz_level) + " outside 0.." +
                                                   std::to_string(level_count() - 1)};
  }
  const auto [cols, rows] = level_tiles_[dz_level];
  if (col < 0 || col >= cols || row < 0 || row >= rows) {
    return Error{ErrorCode::tile_out_of_range, "tile " + std::to_string(col) + "_" + std::to_string(row) +
                                                   " outside the " + std::to_string(cols) + "x" +
                                                   std::to_string(rows) + " grid of level " +
                                                   std::to_string(dz_level)};
  }
  const int slide_level = slide_level_for_dz_[dz_level];
  const double l_z_downsample = l_z_downsample_[dz_level];
  const double l0_l_downsample = slide_levels_[slide_level].downsample;
  const std::int64_t t_location[2] = {col, row};
  const std::int64_t t_limit[2] = {cols, rows};
  const std::int64_t z_limit[2] = {level_sizes_[dz_level].first, level_sizes_[dz_level].second};
  const std::int64_t l_limit[2] = {slide_levels_[slide_level].width, slide_levels_[slide_level].height};

  std::int64_t l0_location[2];
  std::int64_t l_size[2];
  std::int64_t z_size[2];
  for (int axis = 0; axis < 2; ++axis) {
    const std::int64_t t = t_location[axis];
    const std::int64_t z_overlap_tl = t != 0 ? overlap_px_ : 0;
    const std::int64_t z_overlap_br = t != t_limit[axis] - 1 ? overlap_px_ : 0;
    z_size[axis] = std::min<std::int64_t>(tile_px_, z_limit[axis] - tile_px_ * t) + z_overlap_tl + z_overlap_br;
    const std::int64_t z_location = tile_px_ * t;
    const double l_location = l_z_downsample * static_cast<double>(z_location - z_overlap_tl);
    l0_location[axis] = static_cast<std::int64_t>(l0_l_downsample * l_location);
    l_size[axis] = std::min(ceil_to_int(l_z_downsample * static_cast<double>(z_size[axis])),
                            l_limit[axis] - ceil_to_int(l_location));
  }

  DeepZoomTileRequest request;
  request.l0_x = l0_location[0];
  request.l0_y = l0_location[1];
  request.slide_level = slide_level;
  request.read_width = clamp_to_int(l_size[0]);
  request.read_height = clamp_to_int(l_size[1]);
  request.tile_width = clamp_to_int(z_size[0]);
  request.tile_height = clamp_to_int(z_size[1]);
  return request;
}

std::string DeepZoomGeometry::dzi_xml(const std::string& format) const {
  const std::int64_t width = slide_levels_[0].width;
  const std::int64_t height = slide_levels_[0].height;
  return "<Image TileSize=\"" + std::to_string(tile_px_) +
         "\" Overlap=\"" + std::to_string(overlap_px_) + "\" Format=\"" + xml_escape(format) +
         "\" xmlns=\"http://schemas.microsoft.com/deepzoom/2008\"><Size Width=\"" + std::to_string(width) +
         "\" Height=\"" + std::to_string(height) + "\" /></Image>";
}

}  // namespace mcval::slide
