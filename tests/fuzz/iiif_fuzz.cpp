// Fuzz target: IIIF request parsing and resolution ("region/size/rotation/quality.format").
#include <cstdint>
#include <string>
#include <string_view>

#include "mcval/common/strings.h"
#include "mcval/tiles/iiif.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parts = mcval::split(text, '/');
  if (parts.size() != 4) return 0;
  auto request = mcval::tiles::parse_iiif_request(parts[0], parts[1], parts[2], parts[3]);
  if (!request.ok()) return 0;
  // A parsed request must print canonically and parse back to the same canonical form.
  const std::string canonical = request->canonical();
  const auto again = mcval::split(canonical, '/');
  auto reparsed = mcval::tiles::parse_iiif_request(again[0], again[1], again[2], again[3]);
  if (!reparsed.ok() || reparsed->canonical() != canonical) __builtin_trap();
  for (auto [w, h] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {2220, 2967}, {200000, 150000}}) {
    auto plan = mcval::tiles::resolve_iiif_request(*request, w, h, mcval::tiles::IiifLimits{});
    if (!plan.ok()) continue;
    // A resolved plan stays inside the image and within the output limit.
    if (plan->region_x < 0 || plan->region_y < 0 || plan->region_w < 1 || plan->region_h < 1 ||
        plan->region_x + plan->region_w > w || plan->region_y + plan->region_h > h || plan->out_w < 1 ||
        plan->out_h < 1 || plan->out_w * plan->out_h > mcval::tiles::IiifLimits{}.max_area) {
      __builtin_trap();
    }
  }
  return 0;
}
