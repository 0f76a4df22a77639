// The inference routes over results committed through InferenceStore into a temp folder:
// JSON shapes, heatmap PNGs (size, colours at known tiles, threshold, colormap endpoints),
// tissue overlays, ETags, model prefixes, and the 400/404/410 answers.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "mcval/catalog/sqlite_catalog.h"
#include "mcval/http/colormap.h"
#include "mcval/http/heatmap_image.h"
#include "mcval/http/routes.h"
#include "mcval/http/server.h"
#include "mcval/slide/codec.h"
#include "mcval/slide/openslide_source.h"
#include "mcval/testing/temp_dir.h"

namespace mcval::http {
namespace {

// The tiny test model of tests/data/models/tiny-cnn (2 classes: benign, tumour; positive tumour).
constexpr char kTinyCnn[] = "0c9a380d482d26484b8b9c20b9a006766cf3fad74b4d64e7185e3dbc7a7636d9";
// Models that are not registered: results name them, the model store does not.
constexpr char kThreeClass[] = "deadbeef00000000000000000000000000000000000000000000000000000001";
constexpr char kTwin[] = "deadbeef00000000000000000000000000000000000000000000000000000002";
constexpr char kFailing[] = "feedface11111111111111111111111111111111111111111111111111111111";

constexpr char kSlideA[] = "00000000000000aa";
constexpr char kSlideGone[] = "00000000000000bb";
constexpr char kSlideBare[] = "00000000000000cc";

std::unique_ptr<catalog::SqliteCatalog> open_catalog(const std::filesystem::path& file) {
  auto opened = catalog::SqliteCatalog::open(file);
  if (!opened.ok()) throw std::runtime_error(opened.error().to_string());
  return std::move(opened).value();
}

catalog::SlideRecord slide_record(const std::string& id, catalog::SlideStatus status) {
  catalog::SlideRecord r;
  r.id = id;
  r.centre = "centre-a";
  r.relative_path = "centre-a/" + id + ".svs";
  r.status = status;
  r.sha256 = "slidehash-" + id;
  r.properties.levels = {{1000, 800, 1.0}};
  return r;
}

inference::HeatmapGeometry grid(int cols, int rows) {
  inference::HeatmapGeometry g;
  g.cols = cols;
  g.rows = rows;
  g.tile_level0 = 100.5;
  g.slide_width = 1000;
  g.slide_height = 800;
  g.slide_mpp = 0.5;
  g.model_mpp = 2.0;
  g.input_px = 32;
  return g;
}

inference::SlideInferenceRecord ok_record(const std::string& model, const std::string& slide,
                                          const inference::Heatmap& heatmap, std::vector<double> class_scores,
                                          double score, const std::string& name) {
  inference::SlideInferenceRecord r;
  r.status = "ok";
  r.slide_id = slide;
  r.centre = "centre-a";
  r.relative_path = "centre-a/" + slide + ".svs";
  r.slide_sha256 = "slidehash-" + slide;
  r.model_sha256 = model;
  r.model_name = name;
  r.model_version = "1.0.0";
  r.score = score;
  r.class_scores = std::move(class_scores);
  r.tiles_scored = heatmap.scored_tiles();
  r.grid_tiles = static_cast<std::int64_t>(heatmap.geometry().cols) * heatmap.geometry().rows;
  r.tissue_fraction = 0.25;
  r.geometry = heatmap.geometry();
  r.mask_downsample = 50;
  r.finished_at = "2026-11-24T10:00:00Z";
  r.mcval_version = "test";
  return r;
}

/// 20 x 16 mask, tissue in the left half.
inference::TissueMask half_mask() {
  inference::TissueMask mask;
  mask.width = 20;
  mask.height = 16;
  mask.downsample = 50;
  mask.pixels.assign(static_cast<std::size_t>(mask.width * mask.height), 0);
  for (int y = 0; y < mask.height; ++y) {
    for (int x = 0; x < mask.width / 2; ++x) mask.pixels[static_cast<std::size_t>(y * mask.width + x)] = 255;
  }
  return mask;
}

class InferenceRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(catalog_.upsert_slide(slide_record(kSlideA, catalog::SlideStatus::ok)).ok());
    ASSERT_TRUE(catalog_.upsert_slide(slide_record(kSlideGone, catalog::SlideStatus::removed)).ok());
    ASSERT_TRUE(catalog_.upsert_slide(slide_record(kSlideBare, catalog::SlideStatus::ok)).ok());
    ASSERT_TRUE(tiles_.refresh().ok());
    std::filesystem::create_directories(web_root());

    // tiny-cnn on slide A: 4 x 3 grid; (col, row) -> P(tumour) = 0.1 * (col + 4 * row) except
    // tile (3, 2), not scored; tile (0, 0) is exactly 0, tile (2, 2) exactly 1.
    inference::Heatmap two(grid(4, 3), 2);
    for (int row = 0; row < 3; ++row) {
      for (int col = 0; col < 4; ++col) {
        if (col == 3 && row == 2) continue;
        const float p = col == 2 && row == 2 ? 1.0F : 0.1F * static_cast<float>(col + 4 * row);
        two.set(col, row, {1.0F - p, p});
      }
    }
    const auto mask = half_mask();
    ASSERT_TRUE(store_.commit(ok_record(kTinyCnn, kSlideA, two, {0.4, 0.6}, 0.6, "tiny-cnn"), &two, &mask).ok());

    // A 3-class model, not registered: every tile (0.2, 0.3, 0.5).
    inference::Heatmap three(grid(4, 3), 3);
    for (int row = 0; row < 3; ++row) {
      for (int col = 0; col < 4; ++col) three.set(col, row, {0.2F, 0.3F, 0.5F});
    }
    ASSERT_TRUE(store_.commit(ok_record(kThreeClass, kSlideA, three, {0.2, 0.3, 0.5}, 0.3, "three"), &three, &mask).ok());

    // A failed run.
    inference::SlideInferenceRecord failed;
    failed.status = "failed";
    failed.error_code = "no_tissue";
    failed.reason = "no tissue was found on the slide";
    failed.slide_id = kSlideA;
    failed.model_sha256 = kFailing;
    failed.model_name = "failing";
    failed.model_version = "2";
    failed.finished_at = "2026-11-24T11:00:00Z";
    ASSERT_TRUE(store_.commit(failed, nullptr, nullptr).ok());

    // A result on the removed slide.
    ASSERT_TRUE(store_.commit(ok_record(kTinyCnn, kSlideGone, two, {0.4, 0.6}, 0.6, "tiny-cnn"), &two, &mask).ok());
  }

  std::filesystem::path web_root() const { return dir_.path() / "web"; }

  /// Registers tests/data/models/tiny-cnn so that its card names the classes.
  void register_tiny_cnn() {
    auto added = models_.add(std::filesystem::path(MCVAL_TEST_SOURCE_DIR) / "tests/data/models/tiny-cnn");
    ASSERT_TRUE(added.ok()) << added.error().to_string();
    ASSERT_EQ(added->record.sha256, kTinyCnn);
  }

  Router& router() {
    if (!registered_) {
      const auto status = register_routes(router_, context_);
      EXPECT_TRUE(status.ok()) << status.error().to_string();
      registered_ = true;
    }
    return router_;
  }

  Response get(const std::string& target, std::map<std::string, std::string> headers = {}) {
    Request request;
    request.method = "GET";
    request.target = target;
    request.request_id = "test";
    request.headers = std::move(headers);
    std::string route;
    return dispatch(router(), request, route, local_);
  }

  nlohmann::json get_json(const std::string& target, int status = 200) {
    const auto response = get(target);
    EXPECT_EQ(response.status, status) << target << ": " << response.body;
    return nlohmann::json::parse(response.body);
  }

  slide::RgbaImage get_png(const std::string& target) {
    const auto response = get(target);
    EXPECT_EQ(response.status, 200) << target << ": " << response.body;
    EXPECT_EQ(response.content_type, "image/png");
    auto image = slide::decode_png_rgba(response.body);
    EXPECT_TRUE(image.ok()) << target;
    return image.ok() ? *image : slide::RgbaImage{};
  }

  /// The error code of a failed request, after checking its status.
  std::string error_code(const std::string& target, int status) {
    const auto json = get_json(target, status);
    return json["error"]["code"].get<std::string>();
  }

  std::string heatmap_url(const std::string& model, const std::string& query = "", const std::string& slide = kSlideA) {
    return "/api/v1/slides/" + slide + "/heatmaps/" + model + ".png" + (query.empty() ? "" : "?" + query);
  }

  mcval::testing::TempDir dir_;
  std::unique_ptr<catalog::SqliteCatalog> catalog_ptr_ = open_catalog(dir_.path() / "catalog.sqlite");
  catalog::SqliteCatalog& catalog_ = *catalog_ptr_;
  slide::OpenSlideSource source_;
  slide::SlidePool pool_{source_, 2};
  slide::TileCache cache_{1 << 20};
  tiles::TileService tiles_{catalog_, pool_, cache_, tiles::TileServiceOptions{dir_.path() / "slides"}};
  Metrics metrics_;
  ServiceState state_;
  validation::ReportStore reports_{dir_.path() / "reports"};
  inference::InferenceStore store_{dir_.path()};
  inference::ModelStore models_{dir_.path()};
  RouteContext context_{catalog_, tiles_, metrics_, state_, web_root(), "test", reports_, store_, models_};
  Router router_;
  LocalAuthenticator local_;
  bool registered_ = false;
};

std::array<std::uint8_t, 4> pixel(const slide::RgbaImage& image, int x, int y) {
  const auto* p = image.at(x, y);
  return {p[0], p[1], p[2], p[3]};
}

std::array<std::uint8_t, 4> opaque(Rgb8 c) { return {c.r, c.g, c.b, 255}; }

/// The stored (quantised) probability of a value set as a float.
double quantised(float p) { return std::lround(static_cast<double>(p) * 65534.0) / 65534.0; }

// ---- colormaps ----

TEST(Colormap, MatplotlibEndpointsAndMidpoints) {
  // Published hex values of matplotlib's colormaps at 0, 0.5 and 1.
  const auto hex = [](Colormap c, double p) {
    const Rgb8 rgb = colormap_colour(c, p);
    char text[8];
    std::snprintf(text, sizeof text, "#%02x%02x%02x", rgb.r, rgb.g, rgb.b);
    return std::string(text);
  };
  EXPECT_EQ(hex(Colormap::viridis, 0.0), "#440154");
  EXPECT_EQ(hex(Colormap::viridis, 0.5), "#21918c");
  EXPECT_EQ(hex(Colormap::viridis, 1.0), "#fde725");
  EXPECT_EQ(hex(Colormap::magma, 0.0), "#000004");
  EXPECT_EQ(hex(Colormap::magma, 0.5), "#b73779");
  EXPECT_EQ(hex(Colormap::magma, 1.0), "#fcfdbf");
  EXPECT_EQ(hex(Colormap::inferno, 0.0), "#000004");
  EXPECT_EQ(hex(Colormap::inferno, 0.5), "#bc3754");
  EXPECT_EQ(hex(Colormap::inferno, 1.0), "#fcffa4");
  // jet(0.5) = (0.490196, 1, 0.477546) in matplotlib.
  EXPECT_EQ(colormap_colour(Colormap::jet, 0.5), (Rgb8{125, 255, 122}));
  EXPECT_EQ(colormap_colour(Colormap::jet, 0.0), (Rgb8{0, 0, 128}));
  EXPECT_EQ(colormap_colour(Colormap::jet, 1.0), (Rgb8{128, 0, 0}));
  EXPECT_EQ(colormap_colour(Colormap::gray, 0.0), (Rgb8{0, 0, 0}));
  EXPECT_EQ(colormap_colour(Colormap::gray, 1.0), (Rgb8{255, 255, 255}));
}

TEST(Colormap, EntryIsFloorOfP256AndInputIsClamped) {
  const auto& table = colormap_table(Colormap::viridis);
  EXPECT_EQ(colormap_colour(Colormap::viridis, 0.5), table[128]);
  EXPECT_EQ(colormap_colour(Colormap::viridis, 127.999 / 256), table[127]);
  EXPECT_EQ(colormap_colour(Colormap::viridis, 255.0 / 256), table[255]);
  EXPECT_EQ(colormap_colour(Colormap::viridis, -3), table[0]);
  EXPECT_EQ(colormap_colour(Colormap::viridis, 7), table[255]);
  EXPECT_EQ(colormap_colour(Colormap::viridis, std::nan("")), table[0]);
  EXPECT_EQ(colormap_colour(Colormap::gray, 0.5), (Rgb8{128, 128, 128}));
  for (const Colormap c : kColormaps) EXPECT_EQ(colormap_from_string(to_string(c)), c);
  EXPECT_FALSE(colormap_from_string("Viridis"));
  EXPECT_FALSE(colormap_from_string("plasma"));
}

TEST(HeatmapImage, OnePixelPerTileTransparentWhereNotScoredOrBelowThreshold) {
  inference::Heatmap heatmap(grid(3, 2), 1);
  heatmap.set(0, 0, {0.2F});
  heatmap.set(1, 0, {0.6F});
  heatmap.set(0, 1, {1.0F});
  const auto image = render_heatmap(heatmap, {0, Colormap::gray, 0.5});
  ASSERT_EQ(image.width, 3);
  ASSERT_EQ(image.height, 2);
  EXPECT_EQ(pixel(image, 0, 0)[3], 0);  // below the threshold
  EXPECT_EQ(pixel(image, 1, 0), opaque(colormap_colour(Colormap::gray, quantised(0.6F))));
  EXPECT_EQ(pixel(image, 2, 0), (std::array<std::uint8_t, 4>{0, 0, 0, 0}));  // not scored
  EXPECT_EQ(pixel(image, 0, 1), (std::array<std::uint8_t, 4>{255, 255, 255, 255}));
}

// ---- the slide's results ----

TEST_F(InferenceRoutes, ListsEveryResultWithScoresGeometryAndLayerUrls) {
  const auto json = get_json(std::string("/api/v1/slides/") + kSlideA + "/inference");
  EXPECT_EQ(json["slide_id"], kSlideA);
  const auto& results = json["results"];
  ASSERT_EQ(results.size(), 3U);
  // By model name: failing, three, tiny-cnn.
  EXPECT_EQ(results[0]["model_name"], "failing");
  EXPECT_EQ(results[1]["model_name"], "three");
  EXPECT_EQ(results[2]["model_name"], "tiny-cnn");

  const auto& failed = results[0];
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_EQ(failed["error_code"], "no_tissue");
  EXPECT_EQ(failed["reason"], "no tissue was found on the slide");
  EXPECT_FALSE(failed.contains("urls"));
  EXPECT_FALSE(failed.contains("score"));

  const auto& ok = results[2];
  EXPECT_EQ(ok["status"], "ok");
  EXPECT_EQ(ok["model_sha256"], kTinyCnn);
  EXPECT_EQ(ok["model_version"], "1.0.0");
  EXPECT_EQ(ok["model_registered"], false);
  EXPECT_DOUBLE_EQ(ok["score"].get<double>(), 0.6);
  EXPECT_EQ(ok["class_scores"], nlohmann::json({0.4, 0.6}));
  // Not registered: generic class names; the positive class is the one the score is of.
  EXPECT_EQ(ok["class_names"], nlohmann::json({"class 0", "class 1"}));
  EXPECT_EQ(ok["positive_class"], 1);
  EXPECT_TRUE(ok["aggregation"].is_null());
  EXPECT_EQ(ok["tiles_scored"], 11);
  EXPECT_EQ(ok["grid_tiles"], 12);
  EXPECT_EQ(ok["finished_at"], "2026-11-24T10:00:00Z");
  const auto& geometry = ok["geometry"];
  EXPECT_EQ(geometry["cols"], 4);
  EXPECT_EQ(geometry["rows"], 3);
  EXPECT_DOUBLE_EQ(geometry["tile_level0"].get<double>(), 100.5);
  EXPECT_EQ(geometry["slide_width"], 1000);
  EXPECT_EQ(ok["tissue"], nlohmann::json({{"downsample", 50.0}, {"width", 20}, {"height", 16}}));
  const std::string base = std::string("/api/v1/slides/") + kSlideA;
  EXPECT_EQ(ok["urls"]["heatmap"], base + "/heatmaps/" + kTinyCnn + ".json");
  EXPECT_EQ(ok["urls"]["heatmap_png"], base + "/heatmaps/" + kTinyCnn + ".png");
  EXPECT_EQ(ok["urls"]["tissue_png"], base + "/tissue/" + kTinyCnn + ".png");
  // The listed URLs answer.
  EXPECT_EQ(get(ok["urls"]["heatmap"].get<std::string>()).status, 200);
  EXPECT_EQ(get(ok["urls"]["heatmap_png"].get<std::string>()).status, 200);
  EXPECT_EQ(get(ok["urls"]["tissue_png"].get<std::string>()).status, 200);
}

TEST_F(InferenceRoutes, ClassNamesAndAggregationComeFromTheModelCard) {
  register_tiny_cnn();
  const auto json = get_json(std::string("/api/v1/slides/") + kSlideA + "/inference");
  const auto& ok = json["results"][2];
  EXPECT_EQ(ok["model_registered"], true);
  EXPECT_EQ(ok["class_names"], nlohmann::json({"benign", "tumour"}));
  EXPECT_EQ(ok["positive_class"], 1);
  EXPECT_EQ(ok["aggregation"], nlohmann::json({{"method", "top_k_mean"}, {"k", 3}}));
  // Class by name.
  const auto tumour = get_png(heatmap_url(kTinyCnn, "class=tumour&colormap=gray"));
  const auto by_index = get_png(heatmap_url(kTinyCnn, "class=1&colormap=gray"));
  EXPECT_EQ(tumour.pixels, by_index.pixels);
  EXPECT_EQ(error_code(heatmap_url(kTinyCnn, "class=stroma"), 400), "invalid_argument");
  // A registered model without a result for this slide is a 404 of the result, not the model.
  EXPECT_EQ(error_code(std::string("/api/v1/slides/") + kSlideBare + "/heatmaps/" + kTinyCnn + ".png", 404),
            "not_found");
}

TEST_F(InferenceRoutes, SlideJsonCountsItsResults) {
  const auto slide = get_json(std::string("/api/v1/slides/") + kSlideA);
  EXPECT_EQ(slide["inference_count"], 3);
  EXPECT_EQ(slide["urls"]["inference"], std::string("/api/v1/slides/") + kSlideA + "/inference");
  const auto list = get_json("/api/v1/slides");
  std::map<std::string, int> counts;
  for (const auto& s : list["slides"]) counts[s["id"].get<std::string>()] = s["inference_count"].get<int>();
  EXPECT_EQ(counts[kSlideA], 3);
  EXPECT_EQ(counts[kSlideBare], 0);
  EXPECT_EQ(get_json(std::string("/api/v1/slides/") + kSlideBare + "/inference")["results"], nlohmann::json::array());
}

// ---- heatmap data ----

TEST_F(InferenceRoutes, HeatmapJsonHasEveryClassAsRowsOfColumnsNullWhereNotScored) {
  const auto json = get_json(std::string("/api/v1/slides/") + kSlideA + "/heatmaps/" + kTinyCnn + ".json");
  EXPECT_EQ(json["model_sha256"], kTinyCnn);
  EXPECT_EQ(json["geometry"]["cols"], 4);
  EXPECT_EQ(json["class_names"].size(), 2U);
  EXPECT_EQ(json["tiles_scored"], 11);
  const auto& probabilities = json["probabilities"];
  ASSERT_EQ(probabilities.size(), 2U);
  for (const auto& cls : probabilities) {
    ASSERT_EQ(cls.size(), 3U);  // rows
    for (const auto& row : cls) ASSERT_EQ(row.size(), 4U);  // cols
  }
  EXPECT_TRUE(probabilities[1][2][3].is_null());
  EXPECT_TRUE(probabilities[0][2][3].is_null());
  EXPECT_NEAR(probabilities[1][1][2].get<double>(), 0.6, 1e-5);  // col 2, row 1
  EXPECT_NEAR(probabilities[0][1][2].get<double>(), 0.4, 1e-5);
  EXPECT_EQ(probabilities[1][0][0].get<double>(), 0.0);
  EXPECT_EQ(probabilities[1][2][2].get<double>(), 1.0);
}

// ---- heatmap images ----

TEST_F(InferenceRoutes, HeatmapPngIsOnePixelPerTileInTheColormap) {
  const auto image = get_png(heatmap_url(kTinyCnn));  // defaults: positive class, viridis, threshold 0
  ASSERT_EQ(image.width, 4);
  ASSERT_EQ(image.height, 3);
  for (int row = 0; row < 3; ++row) {
    for (int col = 0; col < 4; ++col) {
      if (col == 3 && row == 2) {
        EXPECT_EQ(pixel(image, col, row), (std::array<std::uint8_t, 4>{0, 0, 0, 0})) << "not scored";
        continue;
      }
      const float p = col == 2 && row == 2 ? 1.0F : 0.1F * static_cast<float>(col + 4 * row);
      EXPECT_EQ(pixel(image, col, row), opaque(colormap_colour(Colormap::viridis, quantised(p))))
          << "tile " << col << "," << row;
    }
  }
  // Colormap endpoints at the tiles of exactly 0 and 1.
  EXPECT_EQ(pixel(image, 0, 0), (std::array<std::uint8_t, 4>{0x44, 0x01, 0x54, 255}));
  EXPECT_EQ(pixel(image, 2, 2), (std::array<std::uint8_t, 4>{0xfd, 0xe7, 0x25, 255}));
  const auto magma = get_png(heatmap_url(kTinyCnn, "colormap=magma"));
  EXPECT_EQ(pixel(magma, 0, 0), (std::array<std::uint8_t, 4>{0x00, 0x00, 0x04, 255}));
  EXPECT_EQ(pixel(magma, 2, 2), (std::array<std::uint8_t, 4>{0xfc, 0xfd, 0xbf, 255}));
  const auto jet = get_png(heatmap_url(kTinyCnn, "colormap=jet"));
  EXPECT_EQ(pixel(jet, 0, 0), (std::array<std::uint8_t, 4>{0, 0, 128, 255}));
  EXPECT_EQ(pixel(jet, 2, 2), (std::array<std::uint8_t, 4>{128, 0, 0, 255}));
  // The other class: 1 - p.
  const auto benign = get_png(heatmap_url(kTinyCnn, "class=0&colormap=gray"));
  EXPECT_EQ(pixel(benign, 0, 0), (std::array<std::uint8_t, 4>{255, 255, 255, 255}));
  EXPECT_EQ(pixel(benign, 2, 2), (std::array<std::uint8_t, 4>{0, 0, 0, 255}));
}

TEST_F(InferenceRoutes, ThresholdMakesLowerTilesTransparent) {
  const auto image = get_png(heatmap_url(kTinyCnn, "threshold=0.5&colormap=inferno"));
  for (int row = 0; row < 3; ++row) {
    for (int col = 0; col < 4; ++col) {
      if (col == 3 && row == 2) continue;
      const float p = col == 2 && row == 2 ? 1.0F : 0.1F * static_cast<float>(col + 4 * row);
      const auto px = pixel(image, col, row);
      if (quantised(p) < 0.5) {
        EXPECT_EQ(px, (std::array<std::uint8_t, 4>{0, 0, 0, 0})) << "tile " << col << "," << row;
      } else {
        EXPECT_EQ(px, opaque(colormap_colour(Colormap::inferno, quantised(p)))) << "tile " << col << "," << row;
      }
    }
  }
  // Threshold 1 keeps only the tile of exactly 1; threshold 0 keeps every scored tile.
  const auto top = get_png(heatmap_url(kTinyCnn, "threshold=1"));
  int shown = 0;
  for (int row = 0; row < 3; ++row) {
    for (int col = 0; col < 4; ++col) shown += pixel(top, col, row)[3] == 255 ? 1 : 0;
  }
  EXPECT_EQ(shown, 1);
  EXPECT_EQ(pixel(top, 2, 2)[3], 255);
}

TEST_F(InferenceRoutes, ThreeClassHeatmapDefaultsToThePositiveClassAndTakesAnyClass) {
  // Not registered: the positive class is the one whose aggregate equals the score (0.3 -> 1).
  const auto json = get_json(std::string("/api/v1/slides/") + kSlideA + "/inference");
  EXPECT_EQ(json["results"][1]["positive_class"], 1);
  const auto fallback = get_png(heatmap_url(kThreeClass, "colormap=gray"));
  EXPECT_EQ(pixel(fallback, 0, 0), opaque(colormap_colour(Colormap::gray, quantised(0.3F))));
  const auto last = get_png(heatmap_url(kThreeClass, "colormap=gray&class=2"));
  EXPECT_EQ(pixel(last, 1, 1), opaque(colormap_colour(Colormap::gray, quantised(0.5F))));
  const auto named = get_png(heatmap_url(kThreeClass, "colormap=gray&class=class%200"));
  EXPECT_EQ(pixel(named, 3, 2), opaque(colormap_colour(Colormap::gray, quantised(0.2F))));
  EXPECT_EQ(error_code(heatmap_url(kThreeClass, "class=3"), 400), "invalid_argument");
  EXPECT_EQ(error_code(heatmap_url(kThreeClass, "class=-1"), 400), "invalid_argument");
}

TEST_F(InferenceRoutes, HeatmapPngHasAStrongEtagOfItsParametersAndAnswers304) {
  const auto first = get(heatmap_url(kTinyCnn, "colormap=magma&threshold=0.5"));
  ASSERT_EQ(first.status, 200);
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : first.headers) headers[name] = value;
  const std::string etag = headers["ETag"];
  ASSERT_GE(etag.size(), 3U);
  EXPECT_EQ(etag.front(), '"');
  EXPECT_EQ(etag.back(), '"');
  EXPECT_FALSE(etag.starts_with("W/"));
  EXPECT_FALSE(headers["Cache-Control"].empty());
  // The same parameters spelt differently: the same ETag; other parameters: another.
  auto etag_of = [&](const std::string& target) {
    for (const auto& [name, value] : get(target).headers) {
      if (name == "ETag") return value;
    }
    return std::string();
  };
  EXPECT_EQ(etag_of(heatmap_url(kTinyCnn, "threshold=0.50&colormap=magma")), etag);
  EXPECT_EQ(etag_of(heatmap_url(std::string(kTinyCnn).substr(0, 8), "colormap=magma&threshold=0.5")), etag);
  EXPECT_NE(etag_of(heatmap_url(kTinyCnn, "colormap=magma&threshold=0.6")), etag);
  EXPECT_NE(etag_of(heatmap_url(kTinyCnn, "colormap=viridis&threshold=0.5")), etag);
  EXPECT_NE(etag_of(heatmap_url(kTinyCnn, "colormap=magma&threshold=0.5&class=0")), etag);
  const auto revalidated = get(heatmap_url(kTinyCnn, "colormap=magma&threshold=0.5"), {{"if-none-match", etag}});
  EXPECT_EQ(revalidated.status, 304);
  EXPECT_TRUE(revalidated.body.empty());
}

// ---- tissue ----

TEST_F(InferenceRoutes, TissueMaskIsATranslucentOverlayOfTheMaskSize) {
  const auto image = get_png(std::string("/api/v1/slides/") + kSlideA + "/tissue/" + kTinyCnn + ".png");
  ASSERT_EQ(image.width, 20);
  ASSERT_EQ(image.height, 16);
  const std::array<std::uint8_t, 4> tissue{kTissueOverlay[0], kTissueOverlay[1], kTissueOverlay[2], kTissueOverlay[3]};
  EXPECT_EQ(pixel(image, 0, 0), tissue);
  EXPECT_EQ(pixel(image, 9, 15), tissue);
  EXPECT_EQ(pixel(image, 10, 0), (std::array<std::uint8_t, 4>{0, 0, 0, 0}));
  EXPECT_EQ(pixel(image, 19, 15), (std::array<std::uint8_t, 4>{0, 0, 0, 0}));
  EXPECT_GT(kTissueOverlay[3], 0);
  EXPECT_LT(kTissueOverlay[3], 255);
}

// ---- model references ----

TEST_F(InferenceRoutes, ModelIsAFullHashOrAUniquePrefixOfAtLeastEightHexDigits) {
  const std::string full = kTinyCnn;
  for (const std::string& ref : {full, full.substr(0, 8), full.substr(0, 20), std::string("0C9A380D")}) {
    EXPECT_EQ(get(heatmap_url(ref)).status, 200) << ref;
  }
  EXPECT_EQ(error_code(heatmap_url(full.substr(0, 7)), 400), "invalid_argument");
  EXPECT_EQ(error_code(heatmap_url("0c9a380z"), 400), "invalid_argument");
  EXPECT_EQ(error_code(heatmap_url(full + "0"), 400), "invalid_argument");
  EXPECT_EQ(error_code(heatmap_url("0123456789abcdef"), 404), "model_not_found");
}

TEST_F(InferenceRoutes, AmbiguousPrefixIsRefusedWithTheCandidates) {
  inference::Heatmap one(grid(1, 1), 1);
  one.set(0, 0, {0.5F});
  const auto mask = half_mask();
  ASSERT_TRUE(store_.commit(ok_record(kTwin, kSlideA, one, {0.5}, 0.5, "twin"), &one, &mask).ok());
  const auto json = get_json(heatmap_url("deadbeef"), 404);
  EXPECT_EQ(json["error"]["code"], "model_not_found");
  EXPECT_NE(json["error"]["message"].get<std::string>().find("ambiguous"), std::string::npos);
  EXPECT_EQ(get(heatmap_url(kTwin)).status, 200);
  EXPECT_EQ(get(heatmap_url(std::string(kThreeClass).substr(0, 63) + "1")).status, 200);
}

// ---- errors ----

TEST_F(InferenceRoutes, UnknownSlideIs404RemovedSlideIs410) {
  const std::string unknown = "/api/v1/slides/0000000000000000";
  EXPECT_EQ(error_code(unknown + "/inference", 404), "slide_not_found");
  EXPECT_EQ(error_code(unknown + "/heatmaps/" + kTinyCnn + ".png", 404), "slide_not_found");
  EXPECT_EQ(error_code(unknown + "/heatmaps/" + kTinyCnn + ".json", 404), "slide_not_found");
  EXPECT_EQ(error_code(unknown + "/tissue/" + kTinyCnn + ".png", 404), "slide_not_found");
  const std::string gone = std::string("/api/v1/slides/") + kSlideGone;
  EXPECT_EQ(error_code(gone + "/inference", 410), "slide_gone");
  EXPECT_EQ(error_code(gone + "/heatmaps/" + kTinyCnn + ".png", 410), "slide_gone");
  EXPECT_EQ(error_code(gone + "/heatmaps/" + kTinyCnn + ".json", 410), "slide_gone");
  EXPECT_EQ(error_code(gone + "/tissue/" + kTinyCnn + ".png", 410), "slide_gone");
}

TEST_F(InferenceRoutes, FailedResultHasNoLayersAndSaysWhy) {
  const std::string base = std::string("/api/v1/slides/") + kSlideA;
  for (const std::string& target : {base + "/heatmaps/" + kFailing + ".png", base + "/heatmaps/" + kFailing + ".json",
                                    base + "/tissue/" + kFailing + ".png"}) {
    const auto json = get_json(target, 404);
    EXPECT_EQ(json["error"]["code"], "not_found") << target;
    EXPECT_NE(json["error"]["message"].get<std::string>().find("no tissue was found on the slide"), std::string::npos)
        << target;
  }
}

TEST_F(InferenceRoutes, BadParametersAre400) {
  for (const char* query : {"colormap=plasma", "colormap=", "threshold=1.5", "threshold=-0.1", "threshold=abc",
                                   "threshold=nan", "threshold=0.5x", "threshold=", "class=7", "class=tumour"}) {
    EXPECT_EQ(error_code(heatmap_url(kTinyCnn, query), 400), "invalid_argument") << query;
  }
}

TEST_F(InferenceRoutes, ColormapsAreListedWithTheirColours) {
  const auto json = get_json("/api/v1/colormaps");
  const auto& list = json["colormaps"];
  ASSERT_EQ(list.size(), 5U);
  EXPECT_EQ(list[0]["name"], "viridis");
  ASSERT_EQ(list[0]["colours"].size(), 256U);
  EXPECT_EQ(list[0]["colours"][0], "#440154");
  EXPECT_EQ(list[0]["colours"][255], "#fde725");
  std::vector<std::string> names;
  for (const auto& c : list) names.push_back(c["name"].get<std::string>());
  EXPECT_EQ(names, (std::vector<std::string>{"viridis", "magma", "inferno", "jet", "gray"}));
}

}  // namespace
}  // namespace mcval::http
