#pragma once
// Inference results under <data>/inference/<model sha256>/<slide id>/: result.json (what was
// done, the slide scores, the geometry), heatmap.bin and tissue.png. A result is written into a
// staging folder and renamed into place, so it is complete or absent, under a lock on
// <data>/inference/.publish-<model>.lock, so that writers in several processes never race on a
// slide; a failed slide has a result.json with status "failed" and the reason.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mcval/common/result.h"
#include "mcval/inference/heatmap.h"
#include "mcval/inference/tissue.h"

namespace mcval::inference {

/// Time spent on one slide, seconds. read/resize/model are summed over the threads doing them.
struct SlideTimings {
  double total = 0;
  double tissue = 0;
  double read = 0;
  double resize = 0;
  double model = 0;
};

struct SlideInferenceRecord {
  std::string status;  ///< "ok" or "failed"
  std::string error_code;  ///< failed: the error table's name, e.g. "slide_unreadable"
  std::string reason;      ///< failed: why
  std::string slide_id;
  std::string centre;
  std::string relative_path;
  std::string slide_sha256;  ///< the slide's identity when it ran (hash, or "size:mtime" without one)
  std::string model_sha256;
  std::string model_name;
  std::string model_version;
  std::optional<double> score;       ///< slide score of the positive class by the card's aggregation
  std::vector<double> class_scores;  ///< each class aggregated the same way
  std::int64_t tiles_scored = 0;
  std::int64_t grid_tiles = 0;       ///< cols * rows
  double tissue_fraction = 0;        ///< of the slide, from the mask
  HeatmapGeometry geometry;
  double mask_downsample = 0;
  SlideTimings timings;
  std::string finished_at;  ///< UTC ISO 8601
  std::string mcval_version;
};

nlohmann::json to_json(const SlideInferenceRecord& record);
Result<SlideInferenceRecord> slide_inference_record_from_json(const nlohmann::json& json);

class InferenceStore {
 public:
  explicit InferenceStore(std::filesystem::path data_dir);

  /// The stored result of a model on a slide; nullopt when there is none.
  Result<std::optional<SlideInferenceRecord>> find(const std::string& model_sha256, const std::string& slide_id) const;
  /// Stores a result (replacing any earlier one for the same model and slide; of two writers at
  /// once, in any processes, the last to publish wins and neither fails). heatmap and mask are
  /// required for status "ok" and ignored otherwise.
  Status commit(const SlideInferenceRecord& record, const Heatmap* heatmap, const TissueMask* mask) const;
  Result<Heatmap> load_heatmap(const SlideInferenceRecord& record) const;
  /// The tissue mask as PNG bytes.
  Result<std::string> load_mask_png(const std::string& model_sha256, const std::string& slide_id) const;
  /// Every result of a model (ok and failed), by slide id.
  Result<std::vector<SlideInferenceRecord>> list(const std::string& model_sha256) const;
  /// Model hashes that have a result for this slide.
  Result<std::vector<std::string>> models_for_slide(const std::string& slide_id) const;
  /// Removes staging folders left by killed runs of this host; returns how many.
  int remove_stale_staging() const;

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path slide_dir(const std::string& model_sha256, const std::string& slide_id) const;
  std::filesystem::path root_;
};

}  // namespace mcval::inference
