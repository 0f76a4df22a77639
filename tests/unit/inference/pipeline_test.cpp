// infer_slide with an in-memory slide and a model written here, so that every tile's expected
// output is known: geometry of the heatmap, aggregation, independence from threads and batch
// size, failures (unreadable tile, no tissue, stop) that end the slide cleanly.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <mutex>

#include "mcval/inference/pipeline.h"

namespace mcval::inference {
namespace {

// A one-level slide in memory: glass with a dark square of "tissue" whose redness grows to the
// right, so a model scoring redness sees a gradient. Reads can be made to fail.
class MemorySlide final : public slide::SlideReader {
 public:
  MemorySlide(int width, int height, bool with_tissue, std::optional<double> mpp = 0.5) : image_(width, height) {
    properties_.vendor = "memory";
    properties_.levels.push_back({width, height, 1.0});
    properties_.mpp_x = properties_.mpp_y = mpp;
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        std::uint8_t* p = image_.row(y) + static_cast<std::size_t>(x) * 3;
        const bool tissue = with_tissue && x >= width / 4 && x < width * 3 / 4 && y >= height / 4 && y < height * 3 / 4;
        if (tissue) {
          p[0] = static_cast<std::uint8_t>(80 + 150 * x / width);
          p[1] = 40;
          p[2] = 120;
        } else {
          p[0] = p[1] = p[2] = 245;
        }
      }
    }
  }
  const slide::SlideProperties& properties() const override { return properties_; }
  Result<slide::RgbImage> read_region(std::int64_t x0, std::int64_t y0, int level, int width,
                                      int height) const override {
    if (level != 0) return Error{ErrorCode::invalid_argument, "one level"};
    if (fail_after_ >= 0 && reads_.fetch_add(1) >= fail_after_) {
      return Error{ErrorCode::slide_unreadable, "JPEG data is damaged"};
    }
    slide::RgbImage out(width, height);
    for (int y = 0; y < height; ++y) {
      for (int x = 0; x < width; ++x) {
        const std::int64_t sx = x0 + x;
        const std::int64_t sy = y0 + y;
        std::uint8_t* d = out.row(y) + static_cast<std::size_t>(x) * 3;
        if (sx < 0 || sy < 0 || sx >= image_.width || sy >= image_.height) {
          d[0] = d[1] = d[2] = 255;
        } else {
          const std::uint8_t* s = image_.row(static_cast<int>(sy)) + static_cast<std::size_t>(sx) * 3;
          d[0] = s[0];
          d[1] = s[1];
          d[2] = s[2];
        }
      }
    }
    return out;
  }
  Result<slide::RgbImage> read_associated(std::string_view) const override { return Error{ErrorCode::not_found}; }
  void fail_after(int reads) { fail_after_ = reads; }

 private:
  slide::RgbImage image_;
  slide::SlideProperties properties_;
  int fail_after_ = -1;
  mutable std::atomic<int> reads_{0};
};

// Class 1's probability is the tile's mean red value / 255; records batch sizes.
class RednessModel final : public TileModel {
 public:
  explicit RednessModel(int input_px) {
    card_.name = "redness";
    card_.version = "1";
    card_.input_px = input_px;
    card_.mpp = 1.0;
    card_.class_names = {"other", "red"};
    card_.positive_class = 1;
    card_.aggregation = Aggregation::max;
    card_.min_tissue_fraction = 0.5;
  }
  const ModelCard& card() const override { return card_; }
  Result<std::vector<std::vector<float>>> run(const std::vector<const slide::RgbImage*>& tiles) override {
    batches.push_back(tiles.size());
    std::vector<std::vector<float>> out;
    for (const auto* tile : tiles) {
      if (tile->width != card_.input_px || tile->height != card_.input_px) {
        return Error{ErrorCode::invalid_argument, "wrong tile size"};
      }
      double red = 0;
      for (std::size_t i = 0; i < tile->pixels.size(); i += 3) red += tile->pixels[i];
      const float p = static_cast<float>(red / (tile->pixels.size() / 3.0) / 255.0);
      out.push_back({1 - p, p});
    }
    return out;
  }
  ModelCard card_;
  std::vector<std::size_t> batches;
};

PipelineOptions options(int threads, int batch) {
  PipelineOptions o;
  o.read_threads = threads;
  o.batch_size = batch;
  o.tissue.target_mpp = 4.0;
  return o;
}

TEST(Pipeline, ScoresEveryTissueTileAndAggregates) {
  MemorySlide slide(2048, 1536, true);
  RednessModel model(32);  // 32 px at 1 mpp = 64 level-0 px at 0.5 mpp
  std::int64_t last_done = 0;
  auto o = options(2, 8);
  o.on_progress = [&](std::int64_t done, std::int64_t total) {
    EXPECT_GT(done, last_done);
    EXPECT_LE(done, total);
    last_done = done;
  };
  auto result = infer_slide(slide, model, o);
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  const auto& g = result->heatmap.geometry();
  EXPECT_EQ(g.cols, 32);
  EXPECT_EQ(g.rows, 24);
  EXPECT_DOUBLE_EQ(g.tile_level0, 64.0);
  EXPECT_EQ(g.input_px, 32);
  // The tissue square is 1024 x 768 px: 16 x 12 tiles, give or take the mask's edges.
  const auto scored = result->heatmap.scored_tiles();
  EXPECT_NEAR(static_cast<double>(scored), 16 * 12, 16 + 12);
  EXPECT_EQ(last_done, scored);
  EXPECT_FALSE(result->heatmap.has(0, 0));  // glass
  EXPECT_TRUE(result->heatmap.has(16, 12));
  // Redness grows to the right, so the rightmost tissue tiles score highest; max aggregation.
  double best = 0;
  for (int row = 0; row < g.rows; ++row) {
    for (int col = 0; col < g.cols; ++col) {
      if (result->heatmap.has(col, row)) best = std::max(best, result->heatmap.probability(col, row, 1));
    }
  }
  ASSERT_TRUE(result->score.has_value());
  EXPECT_NEAR(*result->score, best, 1e-4);
  EXPECT_LT(result->heatmap.probability(9, 12, 1), result->heatmap.probability(22, 12, 1));
  EXPECT_EQ(result->class_scores.size(), 2U);
  EXPECT_GT(result->timings.total, 0);
  // Batches are full but for the last one.
  for (std::size_t i = 0; i + 1 < model.batches.size(); ++i) EXPECT_EQ(model.batches[i], 8U);
}

TEST(Pipeline, OutputDoesNotDependOnThreadsOrBatchSize) {
  MemorySlide slide(1536, 1024, true);
  RednessModel one(32);
  RednessModel many(32);
  auto a = infer_slide(slide, one, options(1, 1));
  auto b = infer_slide(slide, many, options(4, 13));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->heatmap.values(), b->heatmap.values());
  EXPECT_EQ(a->score, b->score);
}

TEST(Pipeline, ResizesFromTheSlideResolutionToTheModels) {
  MemorySlide slide(1536, 1024, true);
  RednessModel model(48);  // 48 px at 1 mpp = 96 level-0 px: every tile is halved
  auto result = infer_slide(slide, model, options(2, 4));
  ASSERT_TRUE(result.ok()) << result.error().to_string();
  EXPECT_DOUBLE_EQ(result->heatmap.geometry().tile_level0, 96.0);
  EXPECT_EQ(result->heatmap.geometry().cols, 16);
  EXPECT_GT(result->heatmap.scored_tiles(), 0);
}

TEST(Pipeline, SlideWithoutTissueIsNoTissue) {
  MemorySlide slide(1024, 1024, false);
  RednessModel model(32);
  auto result = infer_slide(slide, model, options(2, 8));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::no_tissue);
  EXPECT_TRUE(model.batches.empty());
}

TEST(Pipeline, AReadErrorEndsTheSlideWithoutHanging) {
  MemorySlide slide(2048, 1536, true);
  RednessModel model(32);
  auto o = options(3, 8);
  // Let tissue detection read, then fail a few tiles in.
  slide.fail_after(30);
  auto result = infer_slide(slide, model, o);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::slide_unreadable);
  EXPECT_NE(result.error().detail.find("JPEG data is damaged"), std::string::npos);
}

TEST(Pipeline, StopsWhenAsked) {
  MemorySlide slide(2048, 1536, true);
  RednessModel model(32);
  std::atomic<bool> stop{false};
  auto o = options(2, 4);
  o.stop = &stop;
  o.on_progress = [&](std::int64_t done, std::int64_t) {
    if (done >= 8) stop = true;
  };
  auto result = infer_slide(slide, model, o);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::cancelled);
}

TEST(Pipeline, SlideWithoutResolutionIsRefused) {
  MemorySlide slide(512, 512, true, std::nullopt);
  RednessModel model(32);
  auto result = infer_slide(slide, model, options(1, 4));
  ASSERT_FALSE(result.ok());
}

}  // namespace
}  // namespace mcval::inference
