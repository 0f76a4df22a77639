// The heatmap file format, the inference result store (atomic commits, replacement, failed
// results, stale staging folders) and shard assignment.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "mcval/common/files.h"
#include "mcval/inference/heatmap.h"
#include "mcval/inference/inference_run.h"
#include "mcval/inference/inference_store.h"
#include "mcval/testing/temp_dir.h"

namespace mcval::inference {
namespace {

HeatmapGeometry small_geometry() {
  HeatmapGeometry g;
  g.cols = 5;
  g.rows = 3;
  g.tile_level0 = 128.5;
  g.slide_width = 700;
  g.slide_height = 400;
  g.slide_mpp = 0.499;
  g.model_mpp = 1.0;
  g.input_px = 64;
  return g;
}

Heatmap sample_heatmap() {
  Heatmap heatmap(small_geometry(), 2);
  heatmap.set(0, 0, {0.25F, 0.75F});
  heatmap.set(4, 2, {1.0F, 0.0F});
  heatmap.set(2, 1, {-0.5F, 2.0F});  // clamped
  return heatmap;
}

TissueMask sample_mask() {
  TissueMask mask;
  mask.width = 4;
  mask.height = 2;
  mask.downsample = 175;
  mask.pixels = {0, 255, 255, 0, 0, 0, 255, 0};
  return mask;
}

SlideInferenceRecord ok_record(const std::string& slide_id, double score) {
  SlideInferenceRecord r;
  r.status = "ok";
  r.slide_id = slide_id;
  r.centre = "centre-a";
  r.relative_path = "centre-a/" + slide_id + ".svs";
  r.slide_sha256 = std::string(64, 'b');
  r.model_sha256 = std::string(64, 'a');
  r.model_name = "tiny";
  r.model_version = "1";
  r.score = score;
  r.class_scores = {1 - score, score};
  r.tiles_scored = 3;
  r.grid_tiles = 15;
  r.tissue_fraction = 0.375;
  r.geometry = small_geometry();
  r.mask_downsample = 175;
  r.timings.total = 1.5;
  r.finished_at = "2026-11-24T00:00:00Z";
  return r;
}

TEST(Heatmap, QuantisesClampsAndMarksUnscoredTiles) {
  const Heatmap heatmap = sample_heatmap();
  EXPECT_EQ(heatmap.scored_tiles(), 3);
  EXPECT_NEAR(heatmap.probability(0, 0, 1), 0.75, 1.0 / Heatmap::kScale);
  EXPECT_EQ(heatmap.probability(2, 1, 0), 0.0);
  EXPECT_EQ(heatmap.probability(2, 1, 1), 1.0);
  EXPECT_TRUE(std::isnan(heatmap.probability(1, 0, 0)));
  EXPECT_FALSE(heatmap.has(3, 2));
}

TEST(Heatmap, RoundTripsThroughItsFileFormat) {
  const Heatmap heatmap = sample_heatmap();
  const std::string bytes = encode_heatmap(heatmap);
  EXPECT_EQ(bytes.size(), 16U + 5 * 3 * 2 * 2);
  EXPECT_EQ(bytes.substr(0, 4), "MCVH");
  auto decoded = decode_heatmap(bytes, small_geometry());
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_EQ(decoded->values(), heatmap.values());
}

TEST(Heatmap, RejectsDamagedFiles) {
  const std::string bytes = encode_heatmap(sample_heatmap());
  EXPECT_FALSE(decode_heatmap(bytes.substr(0, bytes.size() - 1), small_geometry()).ok());
  EXPECT_FALSE(decode_heatmap("JUNK" + bytes.substr(4), small_geometry()).ok());
  HeatmapGeometry other = small_geometry();
  other.cols = 6;
  EXPECT_FALSE(decode_heatmap(bytes, other).ok());
  EXPECT_FALSE(decode_heatmap("", small_geometry()).ok());
}

TEST(Heatmap, GeometryRoundTripsThroughJson) {
  auto geometry = heatmap_geometry_from_json(to_json(small_geometry()));
  ASSERT_TRUE(geometry.ok());
  EXPECT_EQ(geometry->cols, 5);
  EXPECT_DOUBLE_EQ(geometry->tile_level0, 128.5);
  EXPECT_FALSE(heatmap_geometry_from_json(nlohmann::json{{"cols", 1}}).ok());
}

TEST(InferenceStore, CommitsAndFindsAResult) {
  testing::TempDir dir;
  const InferenceStore store(dir.path());
  const auto heatmap = sample_heatmap();
  const auto mask = sample_mask();
  ASSERT_TRUE(store.commit(ok_record("s1", 0.75), &heatmap, &mask).ok());
  auto found = store.find(std::string(64, 'a'), "s1");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->status, "ok");
  EXPECT_DOUBLE_EQ((*found)->score.value(), 0.75);
  EXPECT_EQ((*found)->geometry.cols, 5);
  auto loaded = store.load_heatmap(**found);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->values(), heatmap.values());
  auto png = store.load_mask_png(std::string(64, 'a'), "s1");
  ASSERT_TRUE(png.ok());
  EXPECT_EQ(png->substr(1, 3), "PNG");
  auto models = store.models_for_slide("s1");
  ASSERT_TRUE(models.ok());
  EXPECT_EQ(*models, std::vector<std::string>{std::string(64, 'a')});
}

TEST(InferenceStore, AbsentResultIsNotAnError) {
  testing::TempDir dir;
  const InferenceStore store(dir.path());
  auto found = store.find(std::string(64, 'a'), "nothing");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  auto listed = store.list(std::string(64, 'a'));
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
}

TEST(InferenceStore, ReplacesAnEarlierResultAndKeepsFailures) {
  testing::TempDir dir;
  const InferenceStore store(dir.path());
  const auto heatmap = sample_heatmap();
  const auto mask = sample_mask();
  auto failed = ok_record("s2", 0);
  failed.status = "failed";
  failed.error_code = "slide_unreadable";
  failed.reason = "Not a TIFF file";
  ASSERT_TRUE(store.commit(failed, nullptr, nullptr).ok());
  auto found = store.find(std::string(64, 'a'), "s2");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->status, "failed");
  EXPECT_EQ((*found)->reason, "Not a TIFF file");
  EXPECT_FALSE(store.load_heatmap(**found).ok());

  ASSERT_TRUE(store.commit(ok_record("s2", 0.5), &heatmap, &mask).ok());
  ASSERT_TRUE(store.commit(ok_record("s1", 0.25), &heatmap, &mask).ok());
  auto listed = store.list(std::string(64, 'a'));
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2U);
  EXPECT_EQ((*listed)[0].slide_id, "s1");
  EXPECT_EQ((*listed)[1].status, "ok");
  EXPECT_DOUBLE_EQ((*listed)[1].score.value(), 0.5);
  // Nothing but the two result folders is left in the model's folder.
  int entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(store.root() / std::string(64, 'a'))) {
    ++entries;
  }
  EXPECT_EQ(entries, 2);
}

TEST(InferenceStore, RefusesNamesThatAreNotIds) {
  testing::TempDir dir;
  const InferenceStore store(dir.path());
  EXPECT_FALSE(store.find(std::string(64, 'a'), "../x").ok());
  EXPECT_FALSE(store.find("..", "s1").ok());
  auto record = ok_record("a/b", 0.5);
  const auto heatmap = sample_heatmap();
  const auto mask = sample_mask();
  EXPECT_FALSE(store.commit(record, &heatmap, &mask).ok());
  EXPECT_FALSE(store.commit(ok_record("s1", 0.5), nullptr, nullptr).ok());
}

TEST(InferenceStore, RemovesStagingFoldersOfDeadProcessesOnly) {
  testing::TempDir dir;
  const InferenceStore store(dir.path());
  const auto model_dir = store.root() / std::string(64, 'a');
  std::filesystem::create_directories(model_dir);
  // A staging folder named for this process is live; one for a pid that cannot exist is stale.
  const std::string live = staging_name("s1");
  std::string dead = live;
  const auto pid_start = dead.find('-', std::string(".staging-").size()) + 1;
  const auto pid_end = dead.find('-', pid_start);
  dead.replace(pid_start, pid_end - pid_start, "999999999");
  std::filesystem::create_directories(model_dir / live);
  std::filesystem::create_directories(model_dir / dead / "x");
  EXPECT_EQ(store.remove_stale_staging(), 1);
  EXPECT_TRUE(std::filesystem::exists(model_dir / live));
  EXPECT_FALSE(std::filesystem::exists(model_dir / dead));
}

TEST(Shards, EverySlideBelongsToExactlyOneShardAndTheSplitIsEven) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3000; ++i) {
    char id[17];
    std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(i) * 0x9E3779B97F4A7C15ULL);
    ids.emplace_back(id);
  }
  for (int count : {1, 2, 3, 7}) {
    std::vector<int> sizes(static_cast<std::size_t>(count), 0);
    for (const auto& id : ids) {
      const int shard = shard_of(id, count);
      ASSERT_GE(shard, 0);
      ASSERT_LT(shard, count);
      ++sizes[static_cast<std::size_t>(shard)];
    }
    for (int size : sizes) EXPECT_NEAR(size, 3000.0 / count, 3000.0 / count * 0.15) << count;
  }
  EXPECT_EQ(shard_of("not-hex-id", 4), shard_of("not-hex-id", 4));
  EXPECT_EQ(shard_of("00000005aaaa", 4), 1);
}

}  // namespace
}  // namespace mcval::inference
