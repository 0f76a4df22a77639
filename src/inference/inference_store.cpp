#include "mcval/inference/inference_store.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "mcval/common/files.h"
#include "mcval/slide/codec.h"

namespace mcval::inference {
namespace {

constexpr const char* kRecordFile = "result.json";
constexpr const char* kHeatmapFile = "heatmap.bin";
constexpr const char* kMaskFile = "tissue.png";
// <data>/inference/.publish-<model>.lock: beside the model folders, not among the results.
constexpr const char* kPublishLockPrefix = ".publish-";

// Hashes and slide ids are lower-case hex or catalogue-safe tokens; nothing else becomes a path.
bool is_safe_name(const std::string& name) {
  return !name.empty() && name.size() <= 128 && name.front() != '.' &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
         });
}

Status check_names(const std::string& model_sha256, const std::string& slide_id) {
  if (!is_safe_name(model_sha256)) return Error{ErrorCode::invalid_argument, "malformed model hash"};
  if (!is_safe_name(slide_id)) return Error{ErrorCode::invalid_argument, "malformed slide id"};
  return {};
}

nlohmann::json timings_json(const SlideTimings& t) {
  return {{"total", t.total}, {"tissue", t.tissue}, {"read", t.read}, {"resize", t.resize}, {"model", t.model}};
}

slide::RgbImage mask_image(const TissueMask& mask) {
  slide::RgbImage image(mask.width, mask.height);
  for (std::size_t i = 0; i < mask.pixels.size(); ++i) {
    image.pixels[i * 3] = image.pixels[i * 3 + 1] = image.pixels[i * 3 + 2] = mask.pixels[i];
  }
  return image;
}

}  // namespace

nlohmann::json to_json(const SlideInferenceRecord& r) {
  nlohmann::json json = {{"status", r.status},
                         {"slide_id", r.slide_id},
                         {"centre", r.centre},
                         {"relative_path", r.relative_path},
                         {"slide_sha256", r.slide_sha256},
                         {"model_sha256", r.model_sha256},
                         {"model_name", r.model_name},
                         {"model_version", r.model_version},
                         {"finished_at", r.finished_at},
                         {"mcval_version", r.mcval_version},
                         {"timings_s", timings_json(r.timings)}};
  if (r.status == "ok") {
    json["score"] = r.score ? nlohmann::json(*r.score) : nlohmann::json();
    json["class_scores"] = r.class_scores;
    json["tiles_scored"] = r.tiles_scored;
    json["grid_tiles"] = r.grid_tiles;
    json["tissue_fraction"] = r.tissue_fraction;
    json["geometry"] = to_json(r.geometry);
    json["mask_downsample"] = r.mask_downsample;
  } else {
    json["error_code"] = r.error_code;
    json["reason"] = r.reason;
  }
  return json;
}

Result<SlideInferenceRecord> slide_inference_record_from_json(const nlohmann::json& json) {
  try {
    SlideInferenceRecord r;
    r.status = json.at("status").get<std::string>();
    if (r.status != "ok" && r.status != "failed") {
      return Error{ErrorCode::invalid_argument, "unknown result status '" + r.status + "'"};
    }
    r.slide_id = json.at("slide_id").get<std::string>();
    r.centre = json.value("centre", "");
    r.relative_path = json.value("relative_path", "");
    r.slide_sha256 = json.value("slide_sha256", "");
    r.model_sha256 = json.at("model_sha256").get<std::string>();
    r.model_name = json.value("model_name", "");
    r.model_version = json.value("model_version", "");
    r.finished_at = json.value("finished_at", "");
    r.mcval_version = json.value("mcval_version", "");
    if (json.contains("timings_s")) {
      const auto& t = json["timings_s"];
      r.timings = {t.value("total", 0.0), t.value("tissue", 0.0), t.value("read", 0.0), t.value("resize", 0.0),
                   t.value("model", 0.0)};
    }
    if (r.status == "ok") {
      if (json.contains("score") && json["score"].is_number()) r.score = json["score"].get<double>();
      r.class_scores = json.value("class_scores", std::vector<double>{});
      r.tiles_scored = json.value("tiles_scored", std::int64_t{0});
      r.grid_tiles = json.value("grid_tiles", std::int64_t{0});
      r.tissue_fraction = json.value("tissue_fraction", 0.0);
      MCVAL_TRY_ASSIGN(geometry, heatmap_geometry_from_json(json.at("geometry")));
      r.geometry = geometry;
      r.mask_downsample = json.value("mask_downsample", 0.0);
    } else {
      r.error_code = json.value("error_code", "");
      r.reason = json.value("reason", "");
    }
    return r;
  } catch (const nlohmann::json::exception& e) {
    return Error{ErrorCode::invalid_argument, std::string("inference result: ") + e.what()};
  }
}

InferenceStore::InferenceStore(std::filesystem::path data_dir) : root_(std::move(data_dir) / "inference") {}

std::filesystem::path InferenceStore::slide_dir(const std::string& model_sha256, const std::string& slide_id) const {
  return root_ / model_sha256 / slide_id;
}

Result<std::optional<SlideInferenceRecord>> InferenceStore::find(const std::string& model_sha256,
                                                                 const std::string& slide_id) const {
  MCVAL_TRY(check_names(model_sha256, slide_id));
  auto text = read_file(slide_dir(model_sha256, slide_id) / kRecordFile);
  if (!text.ok()) {
    if (text.error().code == ErrorCode::not_found) return std::optional<SlideInferenceRecord>();
    return text.error();
  }
  const auto json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return Error{ErrorCode::io_error, "damaged inference result for slide " + slide_id};
  MCVAL_TRY_ASSIGN(record, slide_inference_record_from_json(json));
  return std::optional<SlideInferenceRecord>(std::move(record));
}

Status InferenceStore::commit(const SlideInferenceRecord& record, const Heatmap* heatmap, const TissueMask* mask) const {
  MCVAL_TRY(check_names(record.model_sha256, record.slide_id));
  const bool ok = record.status == "ok";
  if (ok && (heatmap == nullptr || mask == nullptr)) {
    return Error{ErrorCode::internal, "a successful inference result needs its heatmap and mask"};
  }
  const auto model_dir = root_ / record.model_sha256;
  std::error_code ec;
  std::filesystem::create_directories(model_dir, ec);
  if (ec) return Error{ErrorCode::io_error, "cannot create " + model_dir.string() + ": " + ec.message()};
  const auto staging = model_dir / staging_name(record.slide_id);
  std::filesystem::create_directory(staging, ec);
  if (ec) return Error{ErrorCode::io_error, "cannot create " + staging.string() + ": " + ec.message()};
  auto write_all = [&]() -> Status {
    if (ok) {
      MCVAL_TRY(write_file(staging / kHeatmapFile, encode_heatmap(*heatmap)));
      MCVAL_TRY_ASSIGN(png, slide::encode_png(mask_image(*mask)));
      MCVAL_TRY(write_file(staging / kMaskFile, png));
    }
    // The record last: a folder with a result.json is complete.
    return write_file(staging / kRecordFile, to_json(record).dump(2));
  };
  if (auto written = write_all(); !written.ok()) {
    std::filesystem::remove_all(staging, ec);
    return written;
  }
  const auto final_dir = slide_dir(record.model_sha256, record.slide_id);
  // Publishing is serialised with every other writer of this model's results, in this process
  // or another (an Indexed Job's pod and a user's own run can meet on a slide): an earlier
  // result is moved aside (rename cannot replace a non-empty folder), then the new one takes its
  // place; a reader sees the old result, none, or the new one, and a concurrent writer waits.
  auto lock = FileLock::acquire(root_ / (kPublishLockPrefix + record.model_sha256 + ".lock"));
  if (!lock.ok()) {
    std::filesystem::remove_all(staging, ec);
    return lock.error();
  }
  return replace_folder(staging, final_dir);
}

Result<Heatmap> InferenceStore::load_heatmap(const SlideInferenceRecord& record) const {
  MCVAL_TRY(check_names(record.model_sha256, record.slide_id));
  if (record.status != "ok") return Error{ErrorCode::not_found, "inference failed on this slide: no heatmap"};
  MCVAL_TRY_ASSIGN(bytes, read_file(slide_dir(record.model_sha256, record.slide_id) / kHeatmapFile));
  return decode_heatmap(bytes, record.geometry);
}

Result<std::string> InferenceStore::load_mask_png(const std::string& model_sha256, const std::string& slide_id) const {
  MCVAL_TRY(check_names(model_sha256, slide_id));
  return read_file(slide_dir(model_sha256, slide_id) / kMaskFile);
}

Result<std::vector<SlideInferenceRecord>> InferenceStore::list(const std::string& model_sha256) const {
  std::vector<SlideInferenceRecord> records;
  if (!is_safe_name(model_sha256)) return Error{ErrorCode::invalid_argument, "malformed model hash"};
  std::error_code ec;
  const auto model_dir = root_ / model_sha256;
  if (!std::filesystem::is_directory(model_dir, ec)) return records;
  for (const auto& entry : std::filesystem::directory_iterator(model_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!is_safe_name(name)) continue;  // staging folders start with '.'
    MCVAL_TRY_ASSIGN(record, find(model_sha256, name));
    if (record) records.push_back(std::move(*record));
  }
  std::sort(records.begin(), records.end(),
            [](const SlideInferenceRecord& a, const SlideInferenceRecord& b) { return a.slide_id < b.slide_id; });
  return records;
}

Result<std::vector<std::string>> InferenceStore::models_for_slide(const std::string& slide_id) const {
  std::vector<std::string> models;
  if (!is_safe_name(slide_id)) return Error{ErrorCode::invalid_argument, "malformed slide id"};
  std::error_code ec;
  if (!std::filesystem::is_directory(root_, ec)) return models;
  for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
    const std::string model = entry.path().filename().string();
    if (!is_safe_name(model)) continue;
    if (std::filesystem::exists(entry.path() / slide_id / kRecordFile, ec)) models.push_back(model);
  }
  std::sort(models.begin(), models.end());
  return models;
}

int InferenceStore::remove_stale_staging() const {
  int removed = 0;
  std::error_code ec;
  if (!std::filesystem::is_directory(root_, ec)) return 0;
  for (const auto& model_dir : std::filesystem::directory_iterator(root_, ec)) {
    if (!model_dir.is_directory(ec)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(model_dir.path(), ec)) {
      if (is_stale_staging_name(entry.path().filename().string())) {
        std::filesystem::remove_all(entry.path(), ec);
        if (!ec) ++removed;
      }
    }
  }
  return removed;
}

}  // namespace mcval::inference
