#pragma once
// What both store engines share beyond SQL: paging, argument checks, time.
#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mcval/catalog/slide_catalog.h"
#include "mcval/common/result.h"
#include "mcval/common/strings.h"

namespace mcval::catalog {

inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

inline std::string ascii_lower(const std::string& text) { return to_lower(text); }

/// A page from up to limit + 1 rows read: the extra row only says that another page follows.
inline SlidePage make_page(std::vector<SlideRecord> records, int limit) {
  SlidePage page;
  const bool more = records.size() > static_cast<std::size_t>(limit);
  if (more) records.resize(static_cast<std::size_t>(limit));
  page.slides = std::move(records);
  if (more && !page.slides.empty()) page.next_after = page.slides.back().relative_path;
  return page;
}

/// revoke_sessions needs exactly one of a user id and a key prefix of at least 8 hex digits.
inline Status check_revoke_arguments(const std::string& user_id, const std::string& key_prefix) {
  if (user_id.empty() == key_prefix.empty()) {
    return Error{ErrorCode::invalid_argument, "name either a user or a session, not both or neither"};
  }
  if (!key_prefix.empty()) {
    if (key_prefix.size() < 8) return Error{ErrorCode::invalid_argument, "a session id needs at least 8 hex digits"};
    for (const char c : key_prefix) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return Error{ErrorCode::invalid_argument, "a session id is lower-case hex digits"};
      }
    }
  }
  return {};
}

inline std::string compact_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline std::string slide_levels_json(const std::vector<slide::LevelInfo>& levels) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& level : levels) {
    j.push_back({{"width", level.width}, {"height", level.height}, {"downsample", level.downsample}});
  }
  return compact_json(j);
}

/// The slides table's columns, in this order, in both engines:
/// id, centre, relative_path, file_bytes, mtime_ns, sha256, status, status_reason, vendor,
/// levels_json, mpp_x, mpp_y, objective_power, associated_images_json, background_rgb,
/// level_tile_width_json, level_tile_height_json, scanned_at.
inline constexpr int kSlideColumnCount = 18;

/// Fills the record's levels, associated image names and tile sizes from their JSON columns.
inline Status parse_slide_json_columns(SlideRecord& r, const std::string& levels_text, const std::string& associated_text,
                                       const std::string& widths_text, const std::string& heights_text) {
  using nlohmann::json;
  auto parse_array = [&r](const std::string& text, const char* column) -> Result<json> {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array()) {
      return Error{ErrorCode::database_error, "slide " + r.id + ": column " + column + " is not a JSON array"};
    }
    return j;
  };
  MCVAL_TRY_ASSIGN(levels, parse_array(levels_text, "levels_json"));
  MCVAL_TRY_ASSIGN(associated, parse_array(associated_text, "associated_images_json"));
  MCVAL_TRY_ASSIGN(tile_widths, parse_array(widths_text, "level_tile_width_json"));
  MCVAL_TRY_ASSIGN(tile_heights, parse_array(heights_text, "level_tile_height_json"));
  auto& p = r.properties;
  try {
    for (const auto& level : levels) {
      p.levels.push_back({level.at("width").get<std::int64_t>(), level.at("height").get<std::int64_t>(),
                          level.at("downsample").get<double>()});
    }
    p.associated_images = associated.get<std::vector<std::string>>();
    p.level_tile_width = tile_widths.get<std::vector<int>>();
    p.level_tile_height = tile_heights.get<std::vector<int>>();
  } catch (const json::exception& e) {
    return Error{ErrorCode::database_error, "slide " + r.id + " has a malformed JSON column: " + e.what()};
  }
  return {};
}

/// A slide record from a row of those columns. `Row` reads a column as text(i), int64(i) and
/// optional_double(i) (an SQLite statement, a PostgreSQL result row).
template <typename Row>
Result<SlideRecord> slide_from_row(const Row& row) {
  SlideRecord r;
  r.id = row.text(0);
  r.centre = row.text(1);
  r.relative_path = row.text(2);
  r.file_bytes = row.int64(3);
  r.mtime_ns = row.int64(4);
  r.sha256 = row.text(5);
  const std::string status = row.text(6);
  const auto parsed_status = slide_status_from_string(status);
  if (!parsed_status) {
    return Error{ErrorCode::database_error, "slide " + r.id + " has unknown status '" + status + "'"};
  }
  r.status = *parsed_status;
  r.status_reason = row.text(7);
  auto& p = r.properties;
  p.vendor = row.text(8);
  p.mpp_x = row.optional_double(10);
  p.mpp_y = row.optional_double(11);
  p.objective_power = row.optional_double(12);
  const std::int64_t rgb = row.int64(14);
  p.background_rgb[0] = static_cast<std::uint8_t>((rgb >> 16) & 0xff);
  p.background_rgb[1] = static_cast<std::uint8_t>((rgb >> 8) & 0xff);
  p.background_rgb[2] = static_cast<std::uint8_t>(rgb & 0xff);
  r.scanned_at = row.text(17);
  MCVAL_TRY(parse_slide_json_columns(r, row.text(9), row.text(13), row.text(15), row.text(16)));
  return r;
}

/// A double as the shortest text that reads back as the same value.
inline std::string exact_decimal(double value) {
  char buffer[64];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  return std::string(buffer, end);
}

/// The record's values for the slides table's columns, as text (nullopt: NULL).
inline std::vector<std::optional<std::string>> slide_values(const SlideRecord& r) {
  const auto& p = r.properties;
  auto number = [](const std::optional<double>& v) -> std::optional<std::string> {
    return v ? std::optional<std::string>(exact_decimal(*v)) : std::nullopt;
  };
  const std::int64_t rgb = (p.background_rgb[0] << 16) | (p.background_rgb[1] << 8) | p.background_rgb[2];
  return {r.id,
          r.centre,
          r.relative_path,
          std::to_string(r.file_bytes),
          std::to_string(r.mtime_ns),
          r.sha256,
          std::string(to_string(r.status)),
          r.status_reason,
          p.vendor,
          slide_levels_json(p.levels),
          number(p.mpp_x),
          number(p.mpp_y),
          number(p.objective_power),
          compact_json(nlohmann::json(p.associated_images)),
          std::to_string(rgb),
          compact_json(nlohmann::json(p.level_tile_width)),
          compact_json(nlohmann::json(p.level_tile_height)),
          r.scanned_at};
}

}  // namespace mcval::catalog
