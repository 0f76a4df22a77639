#include "mcval/catalog/slide_record.h"

#include "mcval/common/sha256.h"

namespace mcval::catalog {

std::string_view to_string(SlideStatus status) {
  switch (status) {
    case SlideStatus::ok: return "ok";
    case SlideStatus::unreadable: return "unreadable";
    case SlideStatus::removed: return "removed";
  }
  return "unreadable";
}

std::optional<SlideStatus> slide_status_from_string(std::string_view text) {
  for (SlideStatus s : {SlideStatus::ok, SlideStatus::unreadable, SlideStatus::removed}) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

std::string make_slide_id(std::string_view relative_path) {
  return sha256_hex(relative_path).substr(0, 16);
}

}  // namespace mcval::catalog
