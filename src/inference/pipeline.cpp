#include "mcval/inference/pipeline.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <opencv2/imgproc.hpp>

namespace mcval::inference {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Tiles read ahead of the model, by index. Readers take indices in order and wait while they
// are more than `window` ahead of the model; the model takes the tiles of batch k, i.e. the
// indices [k * batch, (k + 1) * batch), once all of them are there. So batches hold the same
// tiles whatever the threads' timing, and the model's output does not depend on it.
class ReorderBuffer {
 public:
  ReorderBuffer(std::size_t total, std::size_t window) : total_(total), window_(window) {}

  /// The next index to read, or nullopt when all are taken or the run is aborted.
  std::optional<std::size_t> take_index() {
    std::unique_lock lock(mutex_);
    space_.wait(lock, [&] { return aborted_ || next_ >= total_ || next_ < consumed_ + window_; });
    if (aborted_ || next_ >= total_) return std::nullopt;
    return next_++;
  }

  void put(std::size_t index, slide::RgbImage tile) {
    {
      std::lock_guard lock(mutex_);
      ready_.emplace(index, std::move(tile));
    }
    filled_.notify_one();
  }

  /// Waits for tiles [first, first + count); false if aborted meanwhile.
  bool take_range(std::size_t first, std::size_t count, std::vector<slide::RgbImage>& out) {
    std::unique_lock lock(mutex_);
    filled_.wait(lock, [&] {
      if (aborted_) return true;
      auto it = ready_.find(first);
      for (std::size_t i = 0; i < count; ++i, ++it) {
        if (it == ready_.end() || it->first != first + i) return false;
      }
      return true;
    });
    if (aborted_) return false;
    out.clear();
    for (std::size_t i = 0; i < count; ++i) {
      auto node = ready_.extract(first + i);
      out.push_back(std::move(node.mapped()));
    }
    consumed_ = first + count;
    lock.unlock();
    space_.notify_all();
    return true;
  }

  void abort() {
    {
      std::lock_guard lock(mutex_);
      aborted_ = true;
    }
    space_.notify_all();
    filled_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable space_;
  std::condition_variable filled_;
  std::map<std::size_t, slide::RgbImage> ready_;
  const std::size_t total_;
  const std::size_t window_;
  std::size_t next_ = 0;
  std::size_t consumed_ = 0;
  bool aborted_ = false;
};

// Read and resize times summed over the reader threads, and the first error any of them met.
struct ReaderState {
  std::mutex mutex;
  double read_seconds = 0;
  double resize_seconds = 0;
  std::optional<Error> error;
};

slide::RgbImage resize_tile(const slide::RgbImage& region, int side) {
  if (region.width == side && region.height == side) return region;
  slide::RgbImage out(side, side);
  const cv::Mat source(region.height, region.width, CV_8UC3, const_cast<std::uint8_t*>(region.pixels.data()));
  cv::Mat target(side, side, CV_8UC3, out.pixels.data());
  const int interpolation = region.width > side ? cv::INTER_AREA : cv::INTER_LINEAR;
  cv::resize(source, target, target.size(), 0, 0, interpolation);
  return out;
}

void read_tiles(const slide::SlideReader& slide, const TileGrid& grid, int input_px, ReorderBuffer& buffer,
                ReaderState& state) {
  double read_seconds = 0;
  double resize_seconds = 0;
  while (auto index = buffer.take_index()) {
    const GridTile& tile = grid.tiles[*index];
    const auto read_start = Clock::now();
    auto region = slide.read_region(tile.x0, tile.y0, grid.read_level, grid.read_px, grid.read_px);
    read_seconds += seconds_since(read_start);
    if (!region.ok()) {
      std::lock_guard lock(state.mutex);
      if (!state.error) {
        state.error = Error{region.error().code, "reading tile (" + std::to_string(tile.col) + ", " +
                                                     std::to_string(tile.row) + "): " + region.error().detail};
      }
      buffer.abort();
      break;
    }
    const auto resize_start = Clock::now();
    auto resized = resize_tile(*region, input_px);
    resize_seconds += seconds_since(resize_start);
    buffer.put(*index, std::move(resized));
  }
  std::lock_guard lock(state.mutex);
  state.read_seconds += read_seconds;
  state.resize_seconds += resize_seconds;
}

}  // namespace

Result<SlideInference> infer_slide(const slide::SlideReader& slide, TileModel& model, const PipelineOptions& options) {
  const auto started = Clock::now();
  const ModelCard& card = model.card();
  SlideInference result;

  const auto tissue_start = Clock::now();
  MCVAL_TRY_ASSIGN(mask, detect_tissue(slide, options.tissue));
  result.mask = std::move(mask);
  result.timings.tissue = seconds_since(tissue_start);

  MCVAL_TRY_ASSIGN(planned,
                   plan_tile_grid(slide.properties(), card.input_px, card.mpp, &result.mask, card.min_tissue_fraction));
  result.grid = std::move(planned);
  const TileGrid& grid = result.grid;
  if (grid.tiles.empty()) {
    return Error{ErrorCode::no_tissue, "no tile of the " + std::to_string(grid.cols) + " x " +
                                           std::to_string(grid.rows) + " grid has " +
                                           std::to_string(static_cast<int>(card.min_tissue_fraction * 100)) +
                                           "% tissue (slide tissue fraction " +
                                           std::to_string(result.mask.tissue_fraction()) + ")"};
  }

  const auto& props = slide.properties();
  HeatmapGeometry geometry;
  geometry.cols = grid.cols;
  geometry.rows = grid.rows;
  geometry.tile_level0 = grid.tile_level0;
  geometry.slide_width = props.levels.front().width;
  geometry.slide_height = props.levels.front().height;
  geometry.slide_mpp = grid.slide_mpp;
  geometry.model_mpp = card.mpp;
  geometry.input_px = card.input_px;
  const int classes = static_cast<int>(card.class_names.size());
  result.heatmap = Heatmap(geometry, classes);

  const std::size_t total = grid.tiles.size();
  const std::size_t batch = static_cast<std::size_t>(std::max(1, options.batch_size));
  int readers = options.read_threads > 0 ? options.read_threads
                                         : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  readers = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(readers), total));
  ReorderBuffer buffer(total, batch * 4);
  ReaderState state;
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(readers));
  for (int i = 0; i < readers; ++i) {
    threads.emplace_back([&] { read_tiles(slide, grid, card.input_px, buffer, state); });
  }
  auto stop_readers = [&] {
    buffer.abort();
    for (auto& thread : threads) thread.join();
    threads.clear();
  };

  std::vector<std::vector<float>> positive_by_class(static_cast<std::size_t>(classes));
  for (auto& scores : positive_by_class) scores.reserve(total);
  std::vector<slide::RgbImage> tiles;
  std::vector<const slide::RgbImage*> inputs;
  for (std::size_t first = 0; first < total; first += batch) {
    if (options.stop != nullptr && options.stop->load()) {
      stop_readers();
      return Error{ErrorCode::cancelled, "stopped after " + std::to_string(first) + " of " + std::to_string(total) +
                                             " tiles"};
    }
    const std::size_t count = std::min(batch, total - first);
    if (!buffer.take_range(first, count, tiles)) break;  // a reader failed
    inputs.clear();
    for (const auto& tile : tiles) inputs.push_back(&tile);
    const auto model_start = Clock::now();
    auto outputs = model.run(inputs);
    result.timings.model += seconds_since(model_start);
    if (!outputs.ok()) {
      stop_readers();
      return Error{outputs.error().code, "model: " + outputs.error().detail};
    }
    for (std::size_t i = 0; i < count; ++i) {
      const GridTile& tile = grid.tiles[first + i];
      const auto& probabilities = (*outputs)[i];
      result.heatmap.set(tile.col, tile.row, probabilities);
      for (int c = 0; c < classes; ++c) {
        positive_by_class[static_cast<std::size_t>(c)].push_back(
            c < static_cast<int>(probabilities.size()) ? probabilities[static_cast<std::size_t>(c)] : 0.0F);
      }
    }
    if (options.on_progress) options.on_progress(static_cast<std::int64_t>(first + count), static_cast<std::int64_t>(total));
  }
  stop_readers();
  if (state.error) return *state.error;

  for (int c = 0; c < classes; ++c) {
    auto aggregated = aggregate_scores(card, positive_by_class[static_cast<std::size_t>(c)]);
    result.class_scores.push_back(aggregated.value_or(0.0));
  }
  result.score = result.class_scores.at(static_cast<std::size_t>(card.positive_class));
  result.timings.read = state.read_seconds;
  result.timings.resize = state.resize_seconds;
  result.timings.total = seconds_since(started);
  return result;
}

}  // namespace mcval::inference
