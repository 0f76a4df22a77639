#include "mcval/synth/ground_truth_writer.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <system_error>

#include "mcval/common/files.h"

namespace mcval::synth {

namespace {

/// `path` relative to `root`, '/'-separated; invalid_argument when it is not inside.
Result<std::string> relative_slide_path(const std::filesystem::path& path, const std::filesystem::path& root) {
  const std::filesystem::path normal_root = std::filesystem::absolute(root).lexically_normal();
  const std::filesystem::path normal_path = std::filesystem::absolute(path).lexically_normal();
  const std::filesystem::path relative = normal_path.lexically_relative(normal_root);
  const std::string text = relative.generic_string();
  if (text.empty() || text == "." || text.starts_with("../") || text == "..") {
    return Error{ErrorCode::invalid_argument, "slide " + path.string() + " is not inside " + root.string()};
  }
  return text;
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string json_string(std::string_view value) {
  std::string out = "\"";
  for (const char c : value) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

/// A coordinate with one decimal, independent of the locale.
void append_coordinate(std::string& out, double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, 1);
  out.append(buffer, result.ptr);
}

}  // namespace

Result<std::string> ground_truth_csv(const std::vector<SlideInfo>& slides, const std::filesystem::path& slide_root,
                                     const SlideIdFunction& slide_id, bool with_path) {
  std::string out = with_path ? kGroundTruthHeader : kDatasetHeader;
  out += '\n';
  for (const SlideInfo& slide : slides) {
    if (!slide.truth) continue;
    MCVAL_TRY_ASSIGN(relative, relative_slide_path(slide.path, slide_root));
    const SlideTruth& truth = *slide.truth;
    out += csv_field(slide_id(relative)) + ',' + csv_field(slide.centre) + ',' + csv_field(truth.patient_id) + ',' +
           std::to_string(truth.label) + ',' + std::to_string(truth.isup_grade) + ',' + csv_field(truth.scanner) +
           ',' + csv_field(truth.specimen);
    if (with_path) out += ',' + csv_field(relative);
    out += '\n';
  }
  return out;
}

Result<std::string> lesions_geojson(const std::vector<SlideInfo>& slides, const std::filesystem::path& slide_root,
                                    const SlideIdFunction& slide_id) {
  std::string out = "{\"type\":\"FeatureCollection\",\"features\":[";
  bool first = true;
  for (const SlideInfo& slide : slides) {
    if (slide.regions.empty()) continue;
    MCVAL_TRY_ASSIGN(relative, relative_slide_path(slide.path, slide_root));
    const std::string id = slide_id(relative);
    for (const LesionRegion& region : slide.regions) {
      out += first ? "\n" : ",\n";
      first = false;
      out += "{\"type\":\"Feature\",\"properties\":{\"slide_id\":" + json_string(id) +
             ",\"centre\":" + json_string(slide.centre) + ",\"path\":" + json_string(relative) +
             ",\"isup_grade\":" + std::to_string(region.isup_grade) + ",\"kind\":" + json_string(to_string(region.kind)) +
             "},\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[";
      for (std::size_t i = 0; i < region.ring.size(); ++i) {
        if (i > 0) out += ',';
        out += '[';
        append_coordinate(out, region.ring[i].x);
        out += ',';
        append_coordinate(out, region.ring[i].y);
        out += ']';
      }
      out += "]]}}";
    }
  }
  out += "\n]}\n";
  return out;
}

Result<GroundTruthFiles> write_ground_truth(const std::filesystem::path& folder,
                                            const std::vector<SlideInfo>& slides,
                                            const std::filesystem::path& slide_root,
                                            const SlideIdFunction& slide_id) {
  bool any = false;
  for (const SlideInfo& slide : slides) any = any || slide.truth.has_value();
  if (!any) return Error{ErrorCode::invalid_argument, "no slide has a ground truth to write"};
  MCVAL_TRY_ASSIGN(csv, ground_truth_csv(slides, slide_root, slide_id, true));
  MCVAL_TRY_ASSIGN(dataset_csv, ground_truth_csv(slides, slide_root, slide_id, false));
  MCVAL_TRY_ASSIGN(geojson, lesions_geojson(slides, slide_root, slide_id));

  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) return Error{ErrorCode::io_error, "cannot create " + folder.string() + ": " + ec.message()};
  GroundTruthFiles files{folder / "ground_truth.csv", folder / "ground_truth_dataset.csv", folder / "lesions.geojson"};
  MCVAL_TRY(write_file_atomic(files.csv, csv));
  MCVAL_TRY(write_file_atomic(files.dataset_csv, dataset_csv));
  MCVAL_TRY(write_file_atomic(files.geojson, geojson));
  return files;
}

std::vector<CentreTruthSummary> summarize_truth(const std::vector<SlideInfo>& slides) {
  std::vector<CentreTruthSummary> summaries;
  for (const SlideInfo& slide : slides) {
    if (!slide.truth) continue;
    auto it = std::find_if(summaries.begin(), summaries.end(),
                           [&](const CentreTruthSummary& s) { return s.centre == slide.centre; });
    if (it == summaries.end()) {
      summaries.push_back(CentreTruthSummary{slide.centre});
      it = summaries.end() - 1;
    }
    ++it->slides;
    it->positives += slide.truth->label;
    if (slide.truth->isup_grade >= 0 && slide.truth->isup_grade <= 5) {
      ++it->grades[static_cast<std::size_t>(slide.truth->isup_grade)];
    }
    for (const LesionRegion& region : slide.regions) ++(region.kind == RegionKind::lesion ? it->lesions : it->mimics);
  }
  return summaries;
}

}  // namespace mcval::synth
