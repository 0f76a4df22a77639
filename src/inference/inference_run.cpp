#include "mcval/inference/inference_run.h"

#include <charconv>
#include <chrono>

#include "mcval/common/clock.h"
#include "mcval/slide/openslide_source.h"

namespace mcval::inference {
namespace {

using Clock = std::chrono::steady_clock;

SlideInferenceRecord base_record(const ModelRecord& model, const SlideTarget& target, const RunOptions& options) {
  SlideInferenceRecord record;
  record.slide_id = target.id;
  record.centre = target.centre;
  record.relative_path = target.relative_path;
  record.slide_sha256 = target.identity;
  record.model_sha256 = model.sha256;
  record.model_name = model.card.name;
  record.model_version = model.card.version;
  record.mcval_version = options.mcval_version;
  return record;
}

void add_timings(SlideTimings& sum, const SlideTimings& t) {
  sum.total += t.total;
  sum.tissue += t.tissue;
  sum.read += t.read;
  sum.resize += t.resize;
  sum.model += t.model;
}

}  // namespace

int shard_of(const std::string& slide_id, int count) {
  if (count <= 1) return 0;
  std::uint32_t key = 0;
  const std::string_view prefix = std::string_view(slide_id).substr(0, 8);
  const auto [end, ec] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), key, 16);
  if (ec != std::errc() || end != prefix.data() + prefix.size() || prefix.size() < 8) {
    key = 2166136261U;  // FNV-1a
    for (unsigned char c : slide_id) key = (key ^ c) * 16777619U;
  }
  return static_cast<int>(key % static_cast<std::uint32_t>(count));
}

Result<RunSummary> run_inference(const ModelRecord& model, const std::vector<SlideTarget>& targets,
                                 const InferenceStore& store, const RunOptions& options) {
  if (options.shard_count < 1 || options.shard_index < 0 || options.shard_index >= options.shard_count) {
    return Error{ErrorCode::invalid_argument, "shard must be i/N with 0 <= i < N"};
  }
  const auto started = Clock::now();
  RunSummary summary;
  store.remove_stale_staging();

  std::vector<const SlideTarget*> selected;
  for (const auto& target : targets) {
    if (shard_of(target.id, options.shard_count) == options.shard_index) selected.push_back(&target);
  }
  summary.selected = static_cast<int>(selected.size());

  std::unique_ptr<TileModel> loaded;  // loaded on the first slide that needs it
  const slide::OpenSlideSource source;
  std::int64_t tiles_before_slide = 0;
  int slides_run = 0;
  for (std::size_t i = 0; i < selected.size(); ++i) {
    const SlideTarget& target = *selected[i];
    if (options.stop != nullptr && options.stop->load()) {
      summary.stopped = true;
      break;
    }
    MCVAL_TRY_ASSIGN(existing, store.find(model.sha256, target.id));
    if (existing && existing->status == "ok" && existing->slide_sha256 == target.identity && !options.force) {
      ++summary.skipped;
      if (options.on_slide) options.on_slide(*existing, true);
      continue;
    }
    if (!loaded) {
      MCVAL_TRY_ASSIGN(opened, load_opencv_model(model.onnx_path, model.card, options.model_threads));
      loaded = std::move(opened);
    }

    SlideInferenceRecord record = base_record(model, target, options);
    const auto slide_started = Clock::now();
    auto reader = source.open(target.path);
    Result<SlideInference> inference = reader.ok() ? Result<SlideInference>(Error{ErrorCode::internal, ""})
                                                   : Result<SlideInference>(reader.error());
    if (reader.ok()) {
      PipelineOptions pipeline = options.pipeline;
      pipeline.stop = options.stop;
      const auto remaining_slides = static_cast<std::int64_t>(selected.size() - i - 1);
      pipeline.on_progress = [&](std::int64_t done, std::int64_t total) {
        const std::int64_t mean_tiles = slides_run > 0 ? tiles_before_slide / slides_run : total;
        if (options.on_progress) {
          options.on_progress(target, tiles_before_slide + done,
                              tiles_before_slide + total + remaining_slides * mean_tiles);
        }
      };
      inference = infer_slide(**reader, *loaded, pipeline);
    }
    if (!inference.ok() && inference.error().code == ErrorCode::cancelled) {
      summary.stopped = true;  // nothing is written for a slide cut short
      break;
    }
    record.finished_at = utc_now_iso8601();
    if (inference.ok()) {
      record.status = "ok";
      record.score = inference->score;
      record.class_scores = inference->class_scores;
      record.tiles_scored = static_cast<std::int64_t>(inference->grid.tiles.size());
      record.grid_tiles = static_cast<std::int64_t>(inference->grid.cols) * inference->grid.rows;
      record.tissue_fraction = inference->mask.tissue_fraction();
      record.geometry = inference->heatmap.geometry();
      record.mask_downsample = inference->mask.downsample;
      record.timings = inference->timings;
      MCVAL_TRY(store.commit(record, &inference->heatmap, &inference->mask));
      ++summary.succeeded;
      ++slides_run;
      tiles_before_slide += record.tiles_scored;
      summary.tiles += record.tiles_scored;
      add_timings(summary.timings, record.timings);
    } else {
      record.status = "failed";
      record.error_code = std::string(error_name(inference.error().code));
      record.reason = inference.error().detail.empty() ? std::string(public_message(inference.error().code))
                                                       : inference.error().detail;
      record.timings.total = std::chrono::duration<double>(Clock::now() - slide_started).count();
      MCVAL_TRY(store.commit(record, nullptr, nullptr));
      ++summary.failed;
    }
    if (options.on_slide) options.on_slide(record, false);
  }
  summary.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  return summary;
}

}  // namespace mcval::inference
