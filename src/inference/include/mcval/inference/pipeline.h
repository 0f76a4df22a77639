#pragma once
// Inference on one slide: tissue detection, the tile grid, then reading and resizing tiles on
// several threads while the model scores full batches on the calling thread, so reading,
// preprocessing and inference overlap.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/inference/heatmap.h"
#include "mcval/inference/inference_store.h"
#include "mcval/inference/model_runtime.h"
#include "mcval/inference/tile_grid.h"
#include "mcval/inference/tissue.h"
#include "mcval/slide/slide_reader.h"

namespace mcval::inference {

struct PipelineOptions {
  int read_threads = 0;  ///< tile readers; 0: one per core
  int batch_size = 32;
  TissueOptions tissue;
  /// Called from the calling thread after each batch with the tiles scored so far.
  std::function<void(std::int64_t done, std::int64_t total)> on_progress;
  /// When set and true, the slide stops early with `cancelled`.
  const std::atomic<bool>* stop = nullptr;
};

struct SlideInference {
  TissueMask mask;
  TileGrid grid;
  Heatmap heatmap;
  std::optional<double> score;
  std::vector<double> class_scores;
  SlideTimings timings;
};

/// Runs `model` over the tissue of `slide`. no_tissue when no tile has enough tissue;
/// slide_unreadable when a read fails; invalid_argument when the slide has no mpp.
Result<SlideInference> infer_slide(const slide::SlideReader& slide, TileModel& model, const PipelineOptions& options);

}  // namespace mcval::inference
