#include <cstdio>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "mcval/catalog/catalog_store.h"
#include "mcval/http/routes.h"

namespace mcval::app {

namespace {
std::string human_bytes(std::int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}
}  // namespace

int run_slides_list(const Config& config, const SlidesListOptions& options) {
  auto catalog = open_store(config);
  if (!catalog.ok()) return fail(catalog.error());
  auto slides = (*catalog)->list_slides(options.centre, options.include_removed);
  if (!slides.ok()) return fail(slides.error());
  if (options.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : *slides) list.push_back(http::slide_json(s));
    std::printf("%s\n", list.dump(2).c_str());
    return 0;
  }
  std::printf("%-16s  %-12s  %-10s  %10s  %-13s  %6s  %6s  %s\n", "ID", "CENTRE", "STATUS", "SIZE", "DIMENSIONS",
              "LEVELS", "MPP", "PATH");
  for (const auto& s : *slides) {
    const auto& p = s.properties;
    const std::string dims = p.levels.empty() ? "-" : std::to_string(p.levels[0].width) + "x" + std::to_string(p.levels[0].height);
    char mpp[16] = "-";
    if (p.mpp_x) std::snprintf(mpp, sizeof mpp, "%.3f", *p.mpp_x);
    std::printf("%-16s  %-12s  %-10s  %10s  %-13s  %6zu  %6s  %s\n", s.id.c_str(), s.centre.c_str(),
                std::string(catalog::to_string(s.status)).c_str(), human_bytes(s.file_bytes).c_str(), dims.c_str(),
                p.levels.size(), mpp, s.relative_path.c_str());
  }
  std::printf("%zu slides\n", slides->size());
  return 0;
}

int run_slides_show(const Config& config, const std::string& id) {
  auto catalog = open_store(config);
  if (!catalog.ok()) return fail(catalog.error());
  auto slide = (*catalog)->find_slide(id);
  if (!slide.ok()) return fail(slide.error());
  std::printf("%s\n", http::slide_json(*slide).dump(2).c_str());
  return 0;
}

}  // namespace mcval::app
