#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mcval/slide/slide_reader.h"

namespace mcval::catalog {

enum class SlideStatus {
  ok,          ///< readable by OpenSlide
  unreadable,  ///< present but not readable; status_reason says why
  removed,     ///< was catalogued, no longer in the slide root
};
std::string_view to_string(SlideStatus status);
std::optional<SlideStatus> slide_status_from_string(std::string_view text);

/// One catalogued slide.
struct SlideRecord {
  std::string id;             ///< opaque, stable: derived from centre + relative path, never a path
  std::string centre;         ///< first path component under the slide root
  std::string relative_path;  ///< path under the slide root, '/'-separated, e.g. "centre-a/x/1.svs"
  std::int64_t file_bytes = 0;
  std::int64_t mtime_ns = 0;  ///< modification time, nanoseconds since the Unix epoch
  std::string sha256;         ///< hex SHA-256 of the file ("" if hashing is off or failed)
  SlideStatus status = SlideStatus::ok;
  std::string status_reason;  ///< why unreadable; empty when ok
  slide::SlideProperties properties;  ///< empty levels when unreadable
  std::string scanned_at;     ///< UTC ISO 8601 of the scan that last saw or changed it
};

/// Per-centre counts for the file browser.
struct CentreSummary {
  std::string name;
  std::int64_t slide_count = 0;       ///< slides not removed
  std::int64_t unreadable_count = 0;
  std::int64_t total_bytes = 0;
};

/// The opaque id of the slide at `relative_path` ('/'-separated): 16 hex digits of SHA-256.
std::string make_slide_id(std::string_view relative_path);

}  // namespace mcval::catalog
