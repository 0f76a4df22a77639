#pragma once
#include "mcval/slide/slide_reader.h"

namespace mcval::slide {

/// SlideSource backed by OpenSlide (openslide_open). Readers returned are thread-safe
/// (OpenSlide handles are) and close their handle when the last reference goes.
class OpenSlideSource final : public SlideSource {
 public:
  Result<std::shared_ptr<const SlideReader>> open(const std::filesystem::path& path) const override;
  /// Whether OpenSlide recognises the file at all (openslide_detect_vendor), without opening it.
  static std::optional<std::string> detect_vendor(const std::filesystem::path& path);
};

}  // namespace mcval::slide
