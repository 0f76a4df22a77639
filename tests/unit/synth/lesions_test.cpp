#include "mcval/synth/lesions.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mcval/catalog/slide_record.h"
#include "mcval/dataset/csv_reader.h"
#include "mcval/dataset/dataset.h"
#include "mcval/slide/openslide_source.h"
#include "mcval/synth/ground_truth_writer.h"
#include "mcval/synth/tissue_mosaic.h"
#include "synth_test_support.h"

namespace mcval::synth {
namespace {

using testing::cmu_source;
using testing::TempDir;

constexpr double kMpp = 0.5;  // as the CMU source (0.499), so lesions are sized as in real runs

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

SlidePlan plan_for(std::int64_t width, std::int64_t height, std::uint64_t seed) {
  SlidePlan plan;
  plan.centre = "centre-a";
  plan.spec.width = width;
  plan.spec.height = height;
  plan.spec.mpp = kMpp;
  plan.spec.app_mag = 20;
  plan.spec.seed = seed;
  return plan;
}

std::string slide_id(std::string_view relative) { return catalog::make_slide_id(relative); }

SlideTruth positive(int grade) { return SlideTruth{"a-P0001", 1, grade, "Aperio AT2", "biopsy"}; }
SlideTruth negative() { return SlideTruth{"a-P0001", 0, 0, "Aperio AT2", "biopsy"}; }

SlideContent content_or_fail(const SlidePlan& plan, const SlideTruth& truth, const LesionOptions& options = {}) {
  auto content = make_lesion_content(plan, cmu_source(), truth, options);
  if (!content.ok()) {
    ADD_FAILURE() << content.error().to_string();
    return {};
  }
  return std::move(content).value();
}

bool inside(const std::vector<PixelPoint>& ring, double x, double y) {
  bool in = false;
  for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
    const PixelPoint& a = ring[i];
    const PixelPoint& b = ring[j];
    if ((a.y > y) != (b.y > y) && x < (b.x - a.x) * (y - a.y) / (b.y - a.y) + a.x) in = !in;
  }
  return in;
}

double signed_area(const std::vector<PixelPoint>& ring) {
  double area = 0;
  for (std::size_t i = 0; i + 1 < ring.size(); ++i) area += ring[i].x * ring[i + 1].y - ring[i + 1].x * ring[i].y;
  return area / 2;
}

struct Box {
  double x0, y0, x1, y1;
};
Box bounds(const std::vector<PixelPoint>& ring) {
  Box box{1e18, 1e18, -1e18, -1e18};
  for (const PixelPoint& p : ring) {
    box.x0 = std::min(box.x0, p.x);
    box.y0 = std::min(box.y0, p.y);
    box.x1 = std::max(box.x1, p.x);
    box.y1 = std::max(box.y1, p.y);
  }
  return box;
}

/// Level-0 pixels of [x0, x0 + width) x [y0, y0 + height) as the writer renders them before
/// the stain: the mosaic, then the content stages, tile by tile of `tile_px`.
slide::RgbImage render(const TissueMosaic& mosaic, const SlideContent& content, std::int64_t x0, std::int64_t y0,
                       int width, int height, int tile_px) {
  slide::RgbImage out(width, height);
  slide::RgbImage tile(tile_px, tile_px);
  for (int ty = 0; ty < height; ty += tile_px) {
    for (int tx = 0; tx < width; tx += tile_px) {
      mosaic.render(x0 + tx, y0 + ty, tile);
      for (const auto& stage : content.stages) stage->paint(x0 + tx, y0 + ty, tile);
      for (int y = 0; y < tile_px && ty + y < height; ++y) {
        const int n = std::min(tile_px, width - tx);
        std::copy_n(tile.row(y), static_cast<std::size_t>(n) * 3, out.row(ty + y) + static_cast<std::size_t>(tx) * 3);
      }
    }
  }
  return out;
}

/// Mean red optical density (haematoxylin absorbs red, eosin hardly) of the tissue pixels of
/// `image` (level-0 origin (x0, y0), `downsample` level-0 pixels per pixel) selected by `keep`.
template <typename Keep>
double mean_red_od(const slide::RgbImage& image, double x0, double y0, double downsample, Keep keep) {
  double sum = 0;
  std::int64_t count = 0;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const std::uint8_t* p = image.row(y) + x * 3;
      if (!TissueSource::is_tissue(p)) continue;
      if (!keep(x0 + (x + 0.5) * downsample, y0 + (y + 0.5) * downsample)) continue;
      sum += optical_density(p[0]);
      ++count;
    }
  }
  return count > 0 ? sum / static_cast<double>(count) : 0;
}

TEST(TissueMosaic, APatchRangeKeepsTheIslandsAndSeamsAndDrawsOtherTissue) {
  const TissueSource& source = cmu_source();
  const TissueMosaic all(source, 4000, 3000, 12);
  const TissueMosaic dense(source, 4000, 3000, 12, PatchRange{0.875, 1.0});
  const TissueMosaic pale(source, 4000, 3000, 12, PatchRange{0.0, 0.125});
  std::array<double, 3> od{};
  std::size_t k = 0;
  for (const TissueMosaic* mosaic : {&all, &dense, &pale}) {
    slide::RgbImage image(1024, 1024);
    mosaic->render(1500, 1000, image);
    od[k++] = mean_red_od(image, 0, 0, 1.0, [](double, double) { return true; });
    EXPECT_DOUBLE_EQ(mosaic->tissue_fraction(), all.tissue_fraction());
  }
  std::vector<float> a(64 * 64);
  std::vector<float> b(64 * 64);
  all.tissue_weights(1900, 1400, 64, 64, a.data());
  dense.tissue_weights(1900, 1400, 64, 64, b.data());
  EXPECT_EQ(a, b);
  for (int i = 0; i < 64 * 64; i += 97) EXPECT_EQ(a[static_cast<std::size_t>(i)], all.tissue_weight(1900 + i % 64, 1400 + i / 64));
  EXPECT_GT(od[1], od[0] + 0.1);
  EXPECT_LT(od[2], od[0] - 0.1);
}

TEST(PlanCohort, GivesEachCentreExactlyRoundPrevalenceTimesNPositives) {
  const std::vector<std::string> centres{"centre-a", "centre-b", "centre-c", "centre-d"};
  auto cohort = plan_cohort(centres, 20, 7, {});
  ASSERT_TRUE(cohort.ok()) << cohort.error().to_string();
  ASSERT_EQ(cohort->size(), 4u);
  const std::array<int, 4> expected{10, 7, 5, 8};  // 0.5, 0.35, 0.25, 0.4 of 20
  for (std::size_t c = 0; c < 4; ++c) {
    ASSERT_EQ((*cohort)[c].size(), 20u);
    int positives = 0;
    for (const SlideTruth& t : (*cohort)[c]) positives += t.label;
    EXPECT_EQ(positives, expected[c]) << centres[c];
  }
  // Halves round up; one value applies to every centre; one value per centre.
  LesionOptions options;
  options.prevalence = {0.5};
  cohort = plan_cohort({"x", "y"}, 7, 1, options);
  ASSERT_TRUE(cohort.ok());
  for (const auto& slides : *cohort) {
    EXPECT_EQ(std::count_if(slides.begin(), slides.end(), [](const SlideTruth& t) { return t.label == 1; }), 4);
  }
  options.prevalence = {0.0, 1.0};
  cohort = plan_cohort({"x", "y"}, 5, 1, options);
  ASSERT_TRUE(cohort.ok());
  for (const SlideTruth& t : (*cohort)[0]) EXPECT_EQ(t.label, 0);
  for (const SlideTruth& t : (*cohort)[1]) EXPECT_EQ(t.label, 1);
}

TEST(PlanCohort, RejectsBadPrevalences) {
  for (const auto& prevalence : std::vector<std::vector<double>>{{1.5}, {-0.1}, {0.5, 0.5}, {std::nan("")}}) {
    LesionOptions options;
    options.prevalence = prevalence;
    auto cohort = plan_cohort({"a", "b", "c"}, 4, 1, options);
    ASSERT_FALSE(cohort.ok());
    EXPECT_EQ(cohort.error().code, ErrorCode::invalid_argument);
  }
}

TEST(PlanCohort, PatientsAreRunsOfOneToThreeSlidesWithOneLabel) {
  const std::vector<std::string> centres{"centre-a", "centre-b", "centre-c"};
  auto cohort = plan_cohort(centres, 60, 3, {});
  ASSERT_TRUE(cohort.ok());
  std::set<std::string> all_patients;
  for (std::size_t c = 0; c < centres.size(); ++c) {
    const auto& slides = (*cohort)[c];
    const std::string prefix = std::string(1, static_cast<char>('a' + c)) + "-P";
    std::map<std::string, std::vector<std::size_t>> by_patient;
    for (std::size_t i = 0; i < slides.size(); ++i) {
      const SlideTruth& t = slides[i];
      EXPECT_TRUE(t.patient_id.starts_with(prefix)) << t.patient_id;
      EXPECT_EQ(t.patient_id.size(), prefix.size() + 4) << t.patient_id;
      EXPECT_EQ(t.scanner, default_scanner(static_cast<int>(c)));
      EXPECT_TRUE(t.specimen == "biopsy" || t.specimen == "resection") << t.specimen;
      if (t.label == 1) {
        EXPECT_GE(t.isup_grade, 1);
        EXPECT_LE(t.isup_grade, 5);
      } else {
        EXPECT_EQ(t.isup_grade, 0);
      }
      by_patient[t.patient_id].push_back(i);
    }
    EXPECT_LT(by_patient.size(), slides.size()) << "some patients have several slides";
    for (const auto& [patient, indices] : by_patient) {
      EXPECT_TRUE(all_patients.insert(patient).second) << patient << " in two centres";
      EXPECT_LE(indices.size(), 3u) << patient;
      EXPECT_EQ(indices.back() - indices.front() + 1, indices.size()) << patient << " not consecutive";
      for (const std::size_t i : indices) {
        EXPECT_EQ(slides[i].label, slides[indices.front()].label) << patient;
        EXPECT_EQ(slides[i].specimen, slides[indices.front()].specimen) << patient;
      }
    }
  }
  EXPECT_EQ(default_scanner(0), "Aperio AT2");
  EXPECT_EQ(default_scanner(1), "Aperio GT450");
  EXPECT_EQ(default_scanner(2), "Hamamatsu S360");
}

TEST(PlanCohort, GradeMixDiffersByCentreAndFollowsTheMix) {
  auto cohort = plan_cohort({"centre-a", "centre-b", "centre-c"}, 200, 5, {});
  ASSERT_TRUE(cohort.ok());
  std::array<double, 3> mean_grade{};
  for (std::size_t c = 0; c < 3; ++c) {
    std::array<int, 5> counts{};
    int positives = 0;
    for (const SlideTruth& t : (*cohort)[c]) {
      if (t.label == 0) continue;
      ++positives;
      ++counts[static_cast<std::size_t>(t.isup_grade - 1)];
      mean_grade[c] += t.isup_grade;
    }
    mean_grade[c] /= positives;
    const auto mix = default_grade_mix(static_cast<int>(c));
    for (std::size_t g = 0; g < 5; ++g) EXPECT_NEAR(counts[g], mix[g] * positives, 1.0) << "centre " << c << " grade " << g + 1;
  }
  EXPECT_GT(mean_grade[2], mean_grade[0] + 0.5);  // centre-c skews to high grades
  EXPECT_LT(mean_grade[1], mean_grade[0]);        // centre-b to low ones
}

TEST(PlanCohort, IsAFunctionOfTheSeed) {
  const std::vector<std::string> centres{"centre-a", "centre-b"};
  auto a = plan_cohort(centres, 30, 11, {});
  auto b = plan_cohort(centres, 30, 11, {});
  auto c = plan_cohort(centres, 30, 12, {});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
}

TEST(PlanCohort, FallsBackToTheWholeCentreNameWhenShortNamesCollide) {
  auto cohort = plan_cohort({"north-1", "south-1", "east"}, 2, 1, {});
  ASSERT_TRUE(cohort.ok());
  EXPECT_EQ((*cohort)[0][0].patient_id, "north-1-P0001");
  EXPECT_EQ((*cohort)[1][0].patient_id, "south-1-P0001");
  EXPECT_EQ((*cohort)[2][0].patient_id, "east-P0001");
}

TEST(MakeLesionContent, PositivesGetLesionsOnTissueAndNegativesNone) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const SlidePlan plan = plan_for(12000, 9000, seed);
    const TissueMosaic mosaic(cmu_source(), plan.spec.width, plan.spec.height, plan.spec.seed);
    for (const SlideTruth& truth : {positive(static_cast<int>(seed % 5) + 1), negative()}) {
      const SlideContent content = content_or_fail(plan, truth);
      ASSERT_TRUE(content.truth.has_value());
      EXPECT_EQ(*content.truth, truth);
      int lesions = 0;
      for (const LesionRegion& region : content.regions) {
        if (region.kind == RegionKind::lesion) {
          ++lesions;
          EXPECT_EQ(region.isup_grade, truth.isup_grade);
        } else {
          EXPECT_EQ(region.isup_grade, 0);
        }
        ASSERT_GE(region.ring.size(), 4u);
        EXPECT_EQ(region.ring.front(), region.ring.back()) << "closed ring";
        EXPECT_GT(signed_area(region.ring), 0);
        const Box box = bounds(region.ring);
        EXPECT_GE(box.x0, 0);
        EXPECT_GE(box.y0, 0);
        EXPECT_LT(box.x1, static_cast<double>(plan.spec.width));
        EXPECT_LT(box.y1, static_cast<double>(plan.spec.height));
        // On tissue: most of the area inside the outline is under the tissue mask.
        int samples = 0;
        int on_tissue = 0;
        for (int j = 0; j < 24; ++j) {
          for (int i = 0; i < 24; ++i) {
            const double x = box.x0 + (box.x1 - box.x0) * (i + 0.5) / 24;
            const double y = box.y0 + (box.y1 - box.y0) * (j + 0.5) / 24;
            if (!inside(region.ring, x, y)) continue;
            ++samples;
            on_tissue += mosaic.tissue_weight(static_cast<std::int64_t>(x), static_cast<std::int64_t>(y)) > 0.5f;
          }
        }
        ASSERT_GT(samples, 50);
        EXPECT_GE(on_tissue, 0.85 * samples) << "seed " << seed;
      }
      if (truth.label == 1) {
        EXPECT_GE(lesions, 1) << "seed " << seed;
        EXPECT_LE(lesions, 4) << "seed " << seed;
        EXPECT_EQ(content.stages.size(), 1u);
      } else {
        EXPECT_EQ(lesions, 0);
      }
    }
  }
}

TEST(MakeLesionContent, LesionsAreAFewMillimetresAcrossAndGrowWithTheGrade) {
  std::array<double, 6> area_mm2{};
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    for (const int grade : {1, 5}) {
      const SlideContent content = content_or_fail(plan_for(24000, 18000, seed), positive(grade));
      for (const LesionRegion& region : content.regions) {
        if (region.kind != RegionKind::lesion) continue;
        const Box box = bounds(region.ring);
        const double across_mm = std::max(box.x1 - box.x0, box.y1 - box.y0) * kMpp / 1000;
        EXPECT_GE(across_mm, 0.2);
        EXPECT_LE(across_mm, 5.0);
        area_mm2[static_cast<std::size_t>(grade)] += signed_area(region.ring) * kMpp * kMpp / 1e6;
      }
    }
  }
  EXPECT_GT(area_mm2[5], 3 * area_mm2[1]) << area_mm2[1] << " vs " << area_mm2[5];
}

TEST(MakeLesionContent, AlwaysPlacesALesionOnASmallPositiveSlide) {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const SlideContent content = content_or_fail(plan_for(2000, 1600, seed), positive(5));
    EXPECT_GE(std::count_if(content.regions.begin(), content.regions.end(),
                            [](const LesionRegion& r) { return r.kind == RegionKind::lesion; }),
              1);
  }
}

TEST(MakeLesionContent, MimicsOnlyWhenAskedFor) {
  LesionOptions without;
  without.mimics = false;
  int mimics = 0;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    const SlidePlan plan = plan_for(12000, 9000, seed);
    for (const LesionRegion& r : content_or_fail(plan, negative()).regions) mimics += r.kind == RegionKind::mimic;
    const SlideContent none = content_or_fail(plan, negative(), without);
    EXPECT_TRUE(none.regions.empty());
    EXPECT_TRUE(none.stages.empty());
  }
  EXPECT_GT(mimics, 0);
}

TEST(MakeLesionContent, RejectsAPositiveWithoutAGrade) {
  auto content = make_lesion_content(plan_for(4000, 3000, 1), cmu_source(), SlideTruth{"p", 1, 0, "", ""});
  ASSERT_FALSE(content.ok());
  EXPECT_EQ(content.error().code, ErrorCode::invalid_argument);
}

TEST(LesionStage, PaintsTheSamePixelsWhateverTheTileSize) {
  const SlidePlan plan = plan_for(8000, 6000, 4);
  const SlideContent content = content_or_fail(plan, positive(4));
  ASSERT_FALSE(content.regions.empty());
  const TissueMosaic mosaic(cmu_source(), plan.spec.width, plan.spec.height, plan.spec.seed);
  const Box box = bounds(content.regions.front().ring);
  const auto x0 = static_cast<std::int64_t>(box.x0) - 100;
  const auto y0 = static_cast<std::int64_t>((box.y0 + box.y1) / 2) - 300;
  const slide::RgbImage a = render(mosaic, content, x0, y0, 1200, 600, 256);
  const slide::RgbImage b = render(mosaic, content, x0, y0, 1200, 600, 192);
  EXPECT_TRUE(a.pixels == b.pixels);
  const SlideContent none = content_or_fail(plan, negative(), LesionOptions{{}, false});
  EXPECT_FALSE(render(mosaic, none, x0, y0, 1200, 600, 256).pixels == a.pixels);
}

TEST(LesionStage, HigherGradesPaintDarkerDenserNuclei) {
  // The same slide at two grades; each is measured inside its own first lesion.
  const SlidePlan plan = plan_for(12000, 9000, 2);
  const TissueMosaic mosaic(cmu_source(), plan.spec.width, plan.spec.height, plan.spec.seed);
  std::array<double, 6> od{};
  for (const int grade : {1, 5}) {
    const SlideContent content = content_or_fail(plan, positive(grade));
    const auto lesion = std::find_if(content.regions.begin(), content.regions.end(),
                                     [](const LesionRegion& r) { return r.kind == RegionKind::lesion; });
    ASSERT_NE(lesion, content.regions.end());
    const Box box = bounds(lesion->ring);
    const auto x0 = static_cast<std::int64_t>(box.x0);
    const auto y0 = static_cast<std::int64_t>(box.y0);
    const int w = std::min(2048, static_cast<int>(box.x1 - box.x0));
    const int h = std::min(2048, static_cast<int>(box.y1 - box.y0));
    const slide::RgbImage image = render(mosaic, content, x0, y0, w, h, 256);
    od[static_cast<std::size_t>(grade)] = mean_red_od(image, static_cast<double>(x0), static_cast<double>(y0), 1.0,
                                                      [&](double x, double y) { return inside(lesion->ring, x, y); });
  }
  EXPECT_GT(od[5], od[1] + 0.05) << od[1] << " vs " << od[5];
}

/// One positive slide written and read back, for the tests that only read it.
class WrittenLesionSlide : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    SlidePlan plan = plan_for(7000, 5200, 9);
    content_ = new SlideContent(content_or_fail(plan, positive(3)));
    plan.spec.content = content_->stages;
    plan.spec.stain = centre_stains(2, 1)[1];  // a centre's stain applies to the lesions too
    path_ = dir_->path() / "lesion.svs";
    auto info = write_aperio_slide(plan.spec, cmu_source(), path_);
    if (!info.ok()) ADD_FAILURE() << info.error().to_string();
  }
  static void TearDownTestSuite() {
    delete content_;
    delete dir_;
  }
  static TempDir* dir_;
  static SlideContent* content_;
  static std::filesystem::path path_;
};
TempDir* WrittenLesionSlide::dir_ = nullptr;
SlideContent* WrittenLesionSlide::content_ = nullptr;
std::filesystem::path WrittenLesionSlide::path_;

TEST_F(WrittenLesionSlide, LesionsAreClearlyDarkerThanTheOtherTissueAtTwoMicronsPerPixel) {
  const slide::OpenSlideSource source;
  auto reader = source.open(path_);
  ASSERT_TRUE(reader.ok()) << reader.error().to_string();
  const auto& levels = (*reader)->properties().levels;
  ASSERT_GE(levels.size(), 2u);
  const double downsample = levels[1].downsample;  // 4: about 2 um/px
  auto image = (*reader)->read_region(0, 0, 1, static_cast<int>(levels[1].width), static_cast<int>(levels[1].height));
  ASSERT_TRUE(image.ok()) << image.error().to_string();
  auto in_kind = [&](double x, double y, std::optional<RegionKind> kind) {
    for (const LesionRegion& r : content_->regions) {
      if ((!kind || r.kind == *kind) && inside(r.ring, x, y)) return true;
    }
    return false;
  };
  const double lesion = mean_red_od(*image, 0, 0, downsample,
                                    [&](double x, double y) { return in_kind(x, y, RegionKind::lesion); });
  const double other = mean_red_od(*image, 0, 0, downsample,
                                   [&](double x, double y) { return !in_kind(x, y, std::nullopt); });
  EXPECT_GT(lesion, other * 1.25) << "lesion " << lesion << ", other tissue " << other;
  EXPECT_GT(lesion - other, 0.15) << "lesion " << lesion << ", other tissue " << other;
}

TEST_F(WrittenLesionSlide, LesionsAreTexturedNotFlat) {
  const slide::OpenSlideSource source;
  auto reader = source.open(path_);
  ASSERT_TRUE(reader.ok());
  const LesionRegion& lesion = content_->regions.front();
  ASSERT_EQ(lesion.kind, RegionKind::lesion);
  // A 128 px tile at about 2 um/px around the deepest sampled point of the lesion.
  const Box box = bounds(lesion.ring);
  const double cx = (box.x0 + box.x1) / 2;
  const double cy = (box.y0 + box.y1) / 2;
  ASSERT_TRUE(inside(lesion.ring, cx, cy));
  auto tile = (*reader)->read_region(static_cast<std::int64_t>(cx) - 128, static_cast<std::int64_t>(cy) - 128, 1, 64, 64);
  ASSERT_TRUE(tile.ok());
  double sum = 0;
  double sum2 = 0;
  const std::size_t n = tile->pixels.size() / 3;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = optical_density(tile->pixels[i * 3]);
    sum += v;
    sum2 += v * v;
  }
  const double sd = std::sqrt(std::max(0.0, sum2 / static_cast<double>(n) - (sum / static_cast<double>(n)) * (sum / static_cast<double>(n))));
  EXPECT_GT(sd, 0.12) << "red OD spread inside the lesion";
}

/// A small workspace with lesions, written twice (1 and 3 threads) for the determinism and
/// ground-truth file tests.
class LesionWorkspace : public ::testing::Test {
 protected:
  static WorkspaceOptions options(const std::filesystem::path& out, int threads) {
    WorkspaceOptions o;
    o.source = MCVAL_TEST_CMU_SLIDE;
    o.out = out;
    o.slides_per_centre = 4;
    o.width = 3000;
    o.height = 2400;
    o.seed = 17;
    o.threads = threads;
    auto cohort = plan_cohort(o.centres, o.slides_per_centre, o.seed, {});
    if (!cohort.ok()) ADD_FAILURE() << cohort.error().to_string();
    o.content = lesion_content_factory(std::move(cohort).value());
    return o;
  }
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    for (int run = 0; run < 2; ++run) {
      const auto root = dir_->path() / ("run" + std::to_string(run));
      auto written = synthesize_workspace(options(root / "slides", run == 0 ? 1 : 3));
      if (!written.ok()) {
        ADD_FAILURE() << written.error().to_string();
        return;
      }
      auto files = write_ground_truth(root / "truth", *written, root / "slides", slide_id);
      if (!files.ok()) ADD_FAILURE() << files.error().to_string();
      infos_[run] = *written;
    }
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::filesystem::path truth(int run, const std::string& file) {
    return dir_->path() / ("run" + std::to_string(run)) / "truth" / file;
  }

  static TempDir* dir_;
  static std::array<std::vector<SlideInfo>, 2> infos_;
};
TempDir* LesionWorkspace::dir_ = nullptr;
std::array<std::vector<SlideInfo>, 2> LesionWorkspace::infos_;

TEST_F(LesionWorkspace, SameSeedGivesTheSameSlidesAndTruthWhateverTheThreadCount) {
  ASSERT_EQ(infos_[0].size(), 12u);
  ASSERT_EQ(infos_[1].size(), 12u);
  for (std::size_t i = 0; i < infos_[0].size(); ++i) {
    const std::string a = file_bytes(infos_[0][i].path);
    ASSERT_FALSE(a.empty());
    EXPECT_EQ(a, file_bytes(infos_[1][i].path)) << infos_[0][i].path;
    EXPECT_EQ(infos_[0][i].truth, infos_[1][i].truth);
    EXPECT_EQ(infos_[0][i].regions, infos_[1][i].regions);
  }
  for (const char* file : {"ground_truth.csv", "ground_truth_dataset.csv", "lesions.geojson"}) {
    const std::string a = file_bytes(truth(0, file));
    ASSERT_FALSE(a.empty()) << file;
    EXPECT_EQ(a, file_bytes(truth(1, file))) << file;
  }
  // Nothing but the three files in the truth folder (no staging files left).
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(truth(0, "").parent_path()),
                          std::filesystem::directory_iterator()),
            3);
}

TEST_F(LesionWorkspace, GroundTruthCsvHasTheHeaderAndOneRowPerSlide) {
  const std::string text = file_bytes(truth(0, "ground_truth.csv"));
  dataset::CsvReader reader(text);
  dataset::CsvRecord record;
  ASSERT_TRUE(reader.next(record));
  EXPECT_EQ(record.fields, (std::vector<std::string>{"slide_id", "centre", "patient_id", "label", "isup_grade",
                                                      "scanner", "specimen", "path"}));
  std::map<std::string, int> positives;
  std::size_t rows = 0;
  while (reader.next(record)) {
    ASSERT_TRUE(record.error.empty()) << record.error;
    ASSERT_EQ(record.fields.size(), 8u);
    const SlideInfo& info = infos_[0][rows++];
    EXPECT_EQ(record.fields[7], info.centre + "/" + info.path.filename().string());
    EXPECT_EQ(record.fields[0], catalog::make_slide_id(record.fields[7]));
    EXPECT_EQ(record.fields[1], info.centre);
    positives[record.fields[1]] += record.fields[3] == "1";
  }
  EXPECT_EQ(rows, 12u);
  EXPECT_EQ(positives["centre-a"], 2);  // round(0.5 * 4)
  EXPECT_EQ(positives["centre-b"], 1);  // round(0.35 * 4)
  EXPECT_EQ(positives["centre-c"], 1);  // round(0.25 * 4)
}

TEST_F(LesionWorkspace, DatasetCsvImportsAsADataset) {
  auto loaded = dataset::load_dataset(truth(0, "ground_truth_dataset.csv"));
  ASSERT_TRUE(loaded.ok()) << loaded.error().to_string();
  EXPECT_EQ(loaded->size(), 12u);
  for (const SlideInfo& info : infos_[0]) {
    const std::string relative = info.centre + "/" + info.path.filename().string();
    const dataset::DatasetRow* row = loaded->find(catalog::make_slide_id(relative));
    ASSERT_NE(row, nullptr) << relative;
    ASSERT_TRUE(info.truth.has_value());
    EXPECT_EQ(row->centre, info.centre);
    EXPECT_EQ(row->patient_id, info.truth->patient_id);
    EXPECT_EQ(row->label, info.truth->label);
    EXPECT_EQ(row->isup_grade, info.truth->isup_grade);
    EXPECT_EQ(row->scanner, info.truth->scanner);
    EXPECT_EQ(row->specimen, info.truth->specimen);
  }
}

TEST_F(LesionWorkspace, GeoJsonHoldsEveryRegionAndAgreesWithTheLabels) {
  const auto geojson = nlohmann::json::parse(file_bytes(truth(0, "lesions.geojson")));
  EXPECT_EQ(geojson["type"], "FeatureCollection");
  std::map<std::string, int> lesions;
  std::size_t features = 0;
  for (const auto& feature : geojson["features"]) {
    ++features;
    EXPECT_EQ(feature["type"], "Feature");
    EXPECT_EQ(feature["geometry"]["type"], "Polygon");
    const auto& ring = feature["geometry"]["coordinates"][0];
    ASSERT_GE(ring.size(), 4u);
    EXPECT_EQ(ring.front(), ring.back());
    const auto& props = feature["properties"];
    EXPECT_EQ(props["slide_id"], catalog::make_slide_id(props["path"].get<std::string>()));
    EXPECT_TRUE(props["path"].get<std::string>().starts_with(props["centre"].get<std::string>() + "/"));
    const std::string kind = props["kind"];
    EXPECT_TRUE(kind == "lesion" || kind == "mimic") << kind;
    if (kind == "lesion") {
      ++lesions[props["slide_id"]];
      EXPECT_GE(props["isup_grade"].get<int>(), 1);
    } else {
      EXPECT_EQ(props["isup_grade"].get<int>(), 0);
    }
    for (const auto& point : ring) {
      EXPECT_GE(point[0].get<double>(), 0);
      EXPECT_GE(point[1].get<double>(), 0);
      EXPECT_LT(point[0].get<double>(), 3000);
      EXPECT_LT(point[1].get<double>(), 2400);
    }
  }
  std::size_t regions = 0;
  for (const SlideInfo& info : infos_[0]) {
    regions += info.regions.size();
    const std::string id = catalog::make_slide_id(info.centre + "/" + info.path.filename().string());
    if (info.truth->label == 1) {
      EXPECT_GE(lesions[id], 1) << info.path;
    } else {
      EXPECT_EQ(lesions.count(id), 0u) << info.path;
    }
  }
  EXPECT_EQ(features, regions);
}

TEST_F(LesionWorkspace, SummaryCountsPerCentre) {
  const auto summaries = summarize_truth(infos_[0]);
  ASSERT_EQ(summaries.size(), 3u);
  EXPECT_EQ(summaries[0].centre, "centre-a");
  EXPECT_EQ(summaries[0].slides, 4);
  EXPECT_EQ(summaries[0].positives, 2);
  EXPECT_EQ(summaries[0].grades[0], 2);
  EXPECT_GE(summaries[0].lesions, 2);
}

TEST(WriteGroundTruth, RejectsSlidesOutsideTheSlideRootAndWorkspacesWithoutTruth) {
  TempDir dir;
  SlideInfo info;
  info.path = dir.path() / "elsewhere" / "x.svs";
  info.centre = "c";
  auto files = write_ground_truth(dir.path() / "truth", {info}, dir.path() / "slides", slide_id);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.error().code, ErrorCode::invalid_argument);  // no truth
  info.truth = negative();
  files = write_ground_truth(dir.path() / "truth", {info}, dir.path() / "slides", slide_id);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.error().code, ErrorCode::invalid_argument);  // outside the root
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "truth" / "ground_truth.csv"));
}

}  // namespace
}  // namespace mcval::synth
