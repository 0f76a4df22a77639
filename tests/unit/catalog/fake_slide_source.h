#pragma once
// Test double for slide::SlideSource: fixed properties, no OpenSlide.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "mcval/slide/slide_reader.h"

namespace mcval::catalog::testing {

// Returns the same properties for every file, except:
// - files whose content starts with "BAD" fail with slide_unreadable;
// - files whose content starts with "VANISH" are deleted by open() (a file that disappears
//   between probing and hashing).
// Counts open() calls and calls `on_open` (when set, before any test's scan) with each path.
// Thread-safe.
class FakeSlideSource final : public slide::SlideSource {
 public:
  static constexpr const char* kBadReason = "Unsupported or missing image file";

  static slide::SlideProperties fixed_properties() {
    slide::SlideProperties p;
    p.vendor = "fake";
    p.levels = {{4000, 3000, 1.0}, {1000, 750, 4.0}};
    p.mpp_x = 0.25;
    p.mpp_y = 0.26;
    p.objective_power = 40;
    p.associated_images = {"label", "macro"};
    p.level_tile_width = {256, 256};
    p.level_tile_height = {256, 256};
    return p;
  }

  Result<std::shared_ptr<const slide::SlideReader>> open(const std::filesystem::path& path) const override {
    ++opens_;
    if (on_open) on_open(path);
    std::string head(6, '\0');
    {
      std::ifstream in(path, std::ios::binary);
      in.read(head.data(), static_cast<std::streamsize>(head.size()));
      head.resize(static_cast<std::size_t>(in.gcount()));
    }
    if (head.starts_with("BAD")) return Error{ErrorCode::slide_unreadable, kBadReason};
    if (head.starts_with("VANISH")) std::filesystem::remove(path);
    return std::shared_ptr<const slide::SlideReader>(std::make_shared<Reader>());
  }

  int opens() const { return opens_.load(); }
  std::function<void(const std::filesystem::path&)> on_open;

 private:
  class Reader final : public slide::SlideReader {
   public:
    const slide::SlideProperties& properties() const override { return properties_; }
    Result<slide::RgbImage> read_region(std::int64_t, std::int64_t, int, int, int) const override {
      return Error{ErrorCode::unsupported, "fake reader has no pixels"};
    }
    Result<slide::RgbImage> read_associated(std::string_view) const override {
      return Error{ErrorCode::not_found, "fake reader has no associated images"};
    }

   private:
    slide::SlideProperties properties_ = fixed_properties();
  };

  mutable std::atomic<int> opens_{0};
};

}  // namespace mcval::catalog::testing
