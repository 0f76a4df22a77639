#pragma once
// A run of a model over many slides: selection, sharding, resume, failures, progress.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/inference/inference_store.h"
#include "mcval/inference/model_store.h"
#include "mcval/inference/pipeline.h"

namespace mcval::inference {

/// A slide to run on, as the catalogue knows it.
struct SlideTarget {
  std::string id;
  std::string centre;
  std::string relative_path;
  std::filesystem::path path;
  std::string identity;  ///< SHA-256 of the file, or "size:mtime" when not hashed
};

/// Which of `count` shards slide `slide_id` belongs to: the first 8 hex digits of its id (or an
/// FNV-1a hash of a non-hex id) modulo count. Stable whatever else is in the catalogue.
int shard_of(const std::string& slide_id, int count);

struct RunOptions {
  int shard_index = 0;
  int shard_count = 1;
  bool force = false;  ///< recompute results that are already stored
  std::string mcval_version;  ///< written into every result
  PipelineOptions pipeline;
  int model_threads = 0;
  /// Progress across the run, after each batch: tiles scored in this run so far and an
  /// estimate of the run's total (the current slide's grid plus, for the slides still to
  /// come, the mean tiles per slide so far).
  std::function<void(const SlideTarget& slide, std::int64_t tiles_done, std::int64_t tiles_estimate)> on_progress;
  /// Called after each slide with its record (ok, failed, or skipped when `skipped`).
  std::function<void(const SlideInferenceRecord& record, bool skipped)> on_slide;
  const std::atomic<bool>* stop = nullptr;
};

struct RunSummary {
  int selected = 0;   ///< slides in this shard
  int skipped = 0;    ///< already done with the same model and slide identity
  int succeeded = 0;
  int failed = 0;
  bool stopped = false;  ///< stopped early (signal); finished slides are kept
  std::int64_t tiles = 0;
  double seconds = 0;
  SlideTimings timings;  ///< summed over the slides run
};

/// Runs `model` over the targets of this shard, one slide after another.
Result<RunSummary> run_inference(const ModelRecord& model, const std::vector<SlideTarget>& targets,
                                 const InferenceStore& store, const RunOptions& options);

}  // namespace mcval::inference
