#include "mcval/report/html_report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "example_report.h"

namespace mcval::report {
namespace {

using nlohmann::json;

const char* const kCentreB = "centre-b <script>alert(\"xss\")</script>";

std::string render(const json& report) {
  auto html = render_html_report(report);
  EXPECT_TRUE(html.ok()) << (html.ok() ? "" : html.error().to_string());
  return html.ok() ? *html : std::string();
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) ++n;
  return n;
}

// The element `<tag ... id="id" ...>...</tag>` (up to the first closing tag; figures, tables and
// sections do not nest their own kind).
std::string element(const std::string& html, const std::string& tag, const std::string& id) {
  const auto id_at = html.find(" id=\"" + id + "\"");
  if (id_at == std::string::npos) return {};
  const auto start = html.rfind("<" + tag + " ", id_at);
  if (start == std::string::npos || html.find('>', start) < id_at) return {};
  const auto end = html.find("</" + tag + ">", start);
  return end == std::string::npos ? std::string() : html.substr(start, end + tag.size() + 3 - start);
}

std::string error_of(const json& report) {
  auto html = render_html_report(report);
  EXPECT_FALSE(html.ok());
  if (html.ok()) return {};
  EXPECT_EQ(html.error().code, ErrorCode::invalid_argument);
  return html.error().detail;
}

std::size_t plotted_bins(const json& stats) {
  std::size_t n = 0;
  for (const json& bin : stats["reliability"]) {
    n += (bin["count"].get<int>() > 0 && bin["mean_predicted"].is_number() && bin["observed"].is_number()) ? 1 : 0;
  }
  return n;
}

TEST(HtmlReport, RendersEverySectionOfTheExample) {
  const std::string html = render(testing::make_example_report());
  ASSERT_FALSE(html.empty());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  for (const char* id : {"study", "summary", "centres", "roc", "forest", "calibration", "utility", "confusion", "flow",
                         "patient-level", "misclassified", "checklist"}) {
    EXPECT_FALSE(element(html, "section", id).empty()) << id;
  }
  // Header: model, hashes, version, seed, parameters.
  EXPECT_NE(html.find("prostate-cancer-detector"), std::string::npos);
  EXPECT_NE(html.find("9b1f0c2e7d4a5b6c8e3f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d"), std::string::npos);
  EXPECT_NE(html.find("4e8a1d3c5b7f9e2a4c6b8d0f1e3a5c7b9d2f4e6a8c0b1d3f5a7c9e2b4d6f8a0c"), std::string::npos);
  EXPECT_NE(html.find("c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b1c3d5"), std::string::npos);
  EXPECT_NE(html.find("2026-11-23T23:00:00Z"), std::string::npos);
  const std::string study = element(html, "section", "study");
  EXPECT_NE(study.find("fixed before the analysis"), std::string::npos);
  EXPECT_NE(study.find("<th scope=\"row\">Bootstrap seed</th><td>7</td>"), std::string::npos);
  EXPECT_NE(study.find("<th scope=\"row\">Bootstrap replicates</th><td>2000</td>"), std::string::npos);
  EXPECT_NE(study.find("<th scope=\"row\">ECE bins</th><td>10</td>"), std::string::npos);
  EXPECT_NE(study.find("<th scope=\"row\">Unit of analysis</th><td>slide</td>"), std::string::npos);
  // No section of the complete example says it lacks data.
  EXPECT_EQ(html.find("not available.</p>"), std::string::npos);
}

TEST(HtmlReport, IsSelfContainedWithoutScriptOrExternalResources) {
  const std::string html = render(testing::make_example_report());
  EXPECT_EQ(count(html, "<style>"), 1u);
  for (const char* forbidden :
       {"<script", "<link", "<img", "<iframe", "@import", "url(", "https:", "src=\"", "href=\"http", "javascript:"}) {
    EXPECT_EQ(html.find(forbidden), std::string::npos) << forbidden;
  }
}

TEST(HtmlReport, RocPlotHasOneCurvePerCentrePlusPooled) {
  const json report = testing::make_example_report();
  const std::string svg = element(render(report), "svg", "roc-plot");
  ASSERT_FALSE(svg.empty());
  EXPECT_NE(svg.find("<title id=\"roc-plot-title\">"), std::string::npos);
  EXPECT_EQ(count(svg, "class=\"roc-curve\""), 3u);
  EXPECT_EQ(count(svg, "class=\"roc-curve pooled\""), 1u);
  std::size_t points = report["pooled"]["roc"].size();
  for (const auto& [name, stats] : report["centres"].items()) {
    points += stats["roc"].size();
    EXPECT_NE(svg.find("data-points=\"" + std::to_string(stats["roc"].size()) + "\""), std::string::npos);
  }
  EXPECT_NE(svg.find("data-points=\"" + std::to_string(points) + "\""), std::string::npos);
  EXPECT_EQ(count(svg, "class=\"operating-point\""), 4u);
  EXPECT_EQ(count(svg, "class=\"chance-diagonal\""), 1u);
  // Okabe-Ito colours, one per centre; the legend gives each curve's AUC.
  for (const char* colour : {"#0072B2", "#D55E00", "#009E73"}) EXPECT_NE(svg.find(colour), std::string::npos);
  EXPECT_NE(svg.find(">AUC 0.88 (0.82–0.94)</text>"), std::string::npos);
}

TEST(HtmlReport, ForestPlotHasCentresDiamondsAndPredictionInterval) {
  const json report = testing::make_example_report();
  const std::string svg = element(render(report), "svg", "forest-plot");
  ASSERT_FALSE(svg.empty());
  EXPECT_NE(svg.find("data-points=\"3\""), std::string::npos);
  EXPECT_EQ(count(svg, "class=\"forest-centre\""), 3u);
  EXPECT_EQ(count(svg, "class=\"forest-pooled\""), 1u);
  EXPECT_EQ(count(svg, "class=\"forest-diamond\" data-model=\"fixed\""), 1u);
  EXPECT_EQ(count(svg, "class=\"forest-diamond\" data-model=\"random\""), 1u);
  EXPECT_EQ(count(svg, "class=\"forest-prediction-interval\""), 1u);
  EXPECT_EQ(count(svg, "class=\"reference-line\""), 1u);
  // Squares are sized by n: the largest centre (214 slides) has the largest square.
  EXPECT_NE(svg.find("data-n=\"214\" x=\""), std::string::npos);
  const json& het = report["heterogeneity"];
  char q[32];
  std::snprintf(q, sizeof q, "Q = %.2f", het["q"].get<double>());
  EXPECT_NE(svg.find(q), std::string::npos);
  EXPECT_NE(svg.find("df = 2"), std::string::npos);
  EXPECT_NE(svg.find("I²"), std::string::npos);
  EXPECT_NE(svg.find("τ²"), std::string::npos);
}

// Regression: a centre at AUC 1 used to drop out of the meta-analysis with nothing said; the
// report now marks it in the forest plot and names the method it entered by.
TEST(HtmlReport, ForestPlotMarksCentresEnteredByContinuityCorrection) {
  json report = testing::make_example_report();
  report["heterogeneity"]["boundary_method"] = "continuity correction: 1/2 pair added";
  report["heterogeneity"]["corrected_centres"] = {"centre-a"};
  const std::string html = render(report);
  const std::string svg = element(html, "svg", "forest-plot");
  EXPECT_EQ(count(svg, "class=\"forest-corrected\""), 1u);
  EXPECT_NE(svg.find("centre-a \xE2\x80\xA0"), std::string::npos);
  const std::string note = element(html, "p", "boundary-correction");
  EXPECT_NE(note.find("(centre-a)"), std::string::npos);
  EXPECT_NE(note.find("continuity correction: 1/2 pair added"), std::string::npos);
  report["heterogeneity"].erase("corrected_centres");
  EXPECT_EQ(render(report).find("boundary-correction"), std::string::npos);
}

json decision_curve_block(double prevalence, bool with_band) {
  json thresholds = json::array(), model = json::array(), all = json::array(), low = json::array(),
       high = json::array();
  for (int k = 1; k <= 99; ++k) {
    const double pt = k / 100.0;
    thresholds.push_back(pt);
    const double nb = std::max(0.0, prevalence * (1 - pt) - 0.02);
    model.push_back(nb);
    all.push_back(prevalence - (1 - prevalence) * pt / (1 - pt));
    low.push_back(nb - 0.03);
    high.push_back(nb + 0.03);
  }
  json block = {{"thresholds", thresholds}, {"model", model}, {"treat_all", all}, {"treat_none", 0.0},
                {"band", nullptr}, {"at_threshold", {{"threshold", 0.5}, {"model", model[49]}, {"treat_all", all[49]},
                                                     {"treat_none", 0.0}, {"ci_low", nullptr}, {"ci_high", nullptr}}}};
  if (with_band) {
    block["band"] = {{"model_low", low}, {"model_high", high}, {"replicates", 200}};
    block["at_threshold"]["ci_low"] = low[49];
    block["at_threshold"]["ci_high"] = high[49];
  }
  return block;
}

TEST(HtmlReport, DecisionCurvesHaveAPanelPerCentreWithBandAndTheSummaryTile) {
  json report = testing::make_example_report();
  report["pooled"]["decision_curve"] = decision_curve_block(0.4, true);
  report["centres"]["centre-a"]["decision_curve"] = decision_curve_block(0.3, true);
  report["centres"]["centre-c"]["decision_curve"] = decision_curve_block(0.5, false);
  for (auto& [name, centre] : report["centres"].items()) {
    if (name.rfind("centre-b", 0) == 0) centre.erase("decision_curve");
  }
  const std::string html = render(report);
  const std::string svg = element(html, "svg", "decision-curve-plot");
  ASSERT_FALSE(svg.empty());
  EXPECT_EQ(count(svg, "class=\"decision-panel\""), 3u);  // centre-b has none
  EXPECT_EQ(count(svg, "class=\"decision-band\""), 2u);
  EXPECT_EQ(count(svg, "class=\"decision-model\""), 3u);
  EXPECT_EQ(count(svg, "class=\"decision-treat-all\""), 3u);
  EXPECT_EQ(count(svg, "class=\"decision-treat-none\""), 3u);
  EXPECT_EQ(count(svg, "class=\"decision-threshold\""), 3u);
  const std::string table = element(html, "table", "net-benefit");
  EXPECT_NE(table.find("<td>0.180 <span class=\"iv\">(0.150–0.210)</span></td>"), std::string::npos) << table;
  EXPECT_NE(table.find("<td class=\"na\">n/a</td>"), std::string::npos);  // centre-b
  EXPECT_NE(element(html, "section", "summary").find("Net benefit at 0.5"), std::string::npos);
}

TEST(HtmlReport, DecisionCurvesAbsentSayNotAvailable) {
  json report = testing::make_example_report();
  report["pooled"].erase("decision_curve");
  for (auto& [name, centre] : report["centres"].items()) centre.erase("decision_curve");
  const std::string html = render(report);
  EXPECT_NE(element(html, "section", "utility").find("Decision curves: not available"), std::string::npos);
  EXPECT_EQ(html.find("decision-curve-plot"), std::string::npos);
}

TEST(HtmlReport, SmoothedCalibrationCurveBandAndErrorsInThePanels) {
  json report = testing::make_example_report();
  json predicted = json::array(), observed = json::array(), low = json::array(), high = json::array();
  for (int k = 0; k < 50; ++k) {
    const double p = 0.05 + 0.9 * k / 49.0;
    predicted.push_back(p);
    observed.push_back(p * p);
    low.push_back(p * p - 0.05);
    high.push_back(p * p + 0.05);
  }
  const json curve = {{"predicted", predicted}, {"observed", observed}, {"band_low", low}, {"band_high", high}};
  for (auto& [name, centre] : report["centres"].items()) centre["calibration"].erase("smoothed");
  report["pooled"]["calibration"]["smoothed"] = {{"ici", 0.0314}, {"e50", 0.0251}, {"e90", 0.0702}, {"emax", 0.2},
                                                 {"curve", curve}};
  report["centres"]["centre-a"]["calibration"]["smoothed"] = {{"ici", 0.05}, {"e50", 0.04}, {"e90", 0.09},
                                                              {"emax", 0.2}, {"curve", nullptr}};
  const std::string svg = element(render(report), "svg", "calibration-plot");
  EXPECT_EQ(count(svg, "class=\"calibration-smoothed\""), 1u);
  EXPECT_EQ(count(svg, "class=\"calibration-band\""), 1u);
  EXPECT_EQ(count(svg, "class=\"calibration-errors\""), 2u);
  EXPECT_NE(svg.find("ICI 0.031 · E50 0.025 · E90 0.070"), std::string::npos);
}

TEST(HtmlReport, SubgroupForestPlotTableAndTestPerVariable) {
  json report = testing::make_example_report();
  const std::string html = render(report);
  const std::string svg = element(html, "svg", "subgroup-forest-scanner");
  ASSERT_FALSE(svg.empty());
  EXPECT_EQ(count(svg, "class=\"subgroup-mark\""), 6u);  // 3 scanners across centres, 1 within each centre
  const std::string table = element(html, "table", "subgroup-scanner");
  EXPECT_NE(table.find("<td>Aperio GT450</td>"), std::string::npos);
  EXPECT_NE(html.find("All centres: Cochran"), std::string::npos);
  EXPECT_NE(html.find("no test (fewer than two scanner levels with an AUC)"), std::string::npos);
  // A small subgroup is hollow and says so.
  report["subgroups"]["scanner"]["pooled"]["levels"]["Aperio GT450"]["small"] = true;
  const std::string small = render(report);
  EXPECT_EQ(count(element(small, "svg", "subgroup-forest-scanner"), "data-small=\"true\""), 1u);
  EXPECT_NE(element(small, "table", "subgroup-scanner").find("(small)"), std::string::npos);
}

TEST(HtmlReport, CalibrationPlotHasAPanelPerCentreAndPooled) {
  const json report = testing::make_example_report();
  const std::string svg = element(render(report), "svg", "calibration-plot");
  ASSERT_FALSE(svg.empty());
  EXPECT_EQ(count(svg, "class=\"calibration-panel\""), 4u);
  std::size_t points = plotted_bins(report["pooled"]);
  for (const auto& [name, stats] : report["centres"].items()) points += plotted_bins(stats);
  EXPECT_EQ(count(svg, "class=\"calibration-point\""), points);
  EXPECT_NE(svg.find("<svg id=\"calibration-plot\" class=\"figure\""), std::string::npos);
  EXPECT_NE(svg.find("data-points=\"" + std::to_string(points) + "\""), std::string::npos);
  EXPECT_NE(svg.find("Brier "), std::string::npos);
  EXPECT_NE(svg.find("ECE "), std::string::npos);
  EXPECT_NE(svg.find("Slope "), std::string::npos);
}

TEST(HtmlReport, TablesHaveARowPerCentreAndThePooledRowLast) {
  const std::string html = render(testing::make_example_report());
  for (const char* id :
       {"centre-discrimination", "centre-calibration", "patient-discrimination", "patient-calibration", "flow-table"}) {
    const std::string table = element(html, "table", id);
    ASSERT_FALSE(table.empty()) << id;
    EXPECT_EQ(count(table, "<tr data-centre="), 3u) << id;
    EXPECT_EQ(count(table, "<tr class=\"total\">"), 1u) << id;
    EXPECT_GT(table.find("<tr class=\"total\">"), table.rfind("<tr data-centre=")) << id;
  }
  const std::string calibration = element(html, "table", "centre-calibration");
  EXPECT_NE(calibration.find("QWK (ISUP)"), std::string::npos);
  // 2x2 per centre and pooled; ISUP 6x6 per centre and pooled.
  const std::string confusion = element(html, "section", "confusion");
  EXPECT_EQ(count(confusion, "<table class=\"matrix two\""), 4u);
  EXPECT_EQ(count(confusion, "<table class=\"matrix isup\""), 4u);
  EXPECT_EQ(count(confusion, "<td class=\"rowtotal\">"), 24u);
  // Checklist: actual item numbers, and honest about what the protocol must answer.
  const std::string checklist = element(html, "table", "checklist-table");
  for (const char* item : {"<td class=\"text\">23a</td>", "<td class=\"text\">23b</td>", "<td class=\"text\">20a</td>",
                           "<td class=\"text\">12d</td>", "<td class=\"text\">12e</td>"}) {
    EXPECT_NE(checklist.find(item), std::string::npos) << item;
  }
  EXPECT_GT(count(checklist, "Study protocol"), 3u);
  EXPECT_GT(count(checklist, "status external"), 3u);
}

TEST(HtmlReport, FormatsEstimatesWithIntervals) {
  json report = testing::make_example_report();
  report["centres"]["centre-a"]["auc"] = {{"estimate", 0.83}, {"ci_low", 0.77}, {"ci_high", 0.89}};
  report["centres"]["centre-a"]["sensitivity"] = {{"estimate", 0.8}, {"ci_low", 0.6789}, {"ci_high", 0.8812}};
  report["centres"]["centre-a"]["brier"] = 0.12;
  report["centres"]["centre-a"]["calibration"] = {{"slope", 0.92}, {"intercept", -0.0004}};
  report["centres"]["centre-a"]["threshold_for_target_sensitivity"] = {{"target", 0.9}, {"threshold", 0.31}};
  report["heterogeneity"]["p"] = 0.0004;
  report["heterogeneity"]["i2"] = 0.514;
  const std::string html = render(report);
  const std::string table = element(html, "table", "centre-discrimination");
  EXPECT_NE(table.find("<td>0.83 <span class=\"iv\">(0.77–0.89)</span></td>"), std::string::npos);
  EXPECT_NE(table.find("<td>0.80 <span class=\"iv\">(0.68–0.88)</span></td>"), std::string::npos);
  EXPECT_NE(html.find("By centre, the AUC ranged from <b>0.77 (0.70–0.84)</b>"), std::string::npos);
  EXPECT_NE(table.find("<th>Threshold for sensitivity 0.90</th>"), std::string::npos);
  EXPECT_NE(table.find("<td>0.310</td>"), std::string::npos);
  const std::string calibration = element(html, "table", "centre-calibration");
  EXPECT_NE(calibration.find("<td>0.120</td>"), std::string::npos);
  EXPECT_NE(calibration.find("<td>0.00</td>"), std::string::npos);  // never "-0.00"
  EXPECT_EQ(html.find("-0.00"), std::string::npos);
  const std::string heterogeneity = element(html, "table", "heterogeneity");
  EXPECT_NE(heterogeneity.find("p &lt; 0.001"), std::string::npos);
  EXPECT_EQ(html.find("p = &lt;"), std::string::npos);
  EXPECT_NE(element(html, "section", "summary").find("Cochran&rsquo;s Q test p &lt; 0.001"), std::string::npos);
  EXPECT_NE(heterogeneity.find("51\xC2\xA0%"), std::string::npos);
}

TEST(HtmlReport, SummaryStatesTheKeyNumbersInPlainWords) {
  json report = testing::make_example_report();
  report["heterogeneity"]["i2"] = 0.62;
  std::string summary = element(render(report), "section", "summary");
  EXPECT_NE(summary.find("the AUC was <b>" + std::string("0.")), std::string::npos);
  EXPECT_NE(summary.find("sensitivity was <b>"), std::string::npos);
  EXPECT_NE(summary.find("specificity <b>"), std::string::npos);
  // The lowest AUC is centre-b's (0.77), named escaped.
  EXPECT_NE(summary.find("at centre-b &lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt; (the lowest)"),
            std::string::npos);
  EXPECT_NE(summary.find("heterogeneity is <b>substantial</b> (I&sup2; = 62"), std::string::npos);
  EXPECT_NE(summary.find("random-effects pooled AUC is <b>"), std::string::npos);
  EXPECT_NE(summary.find("(prediction interval; with only 3 centres this interval is necessarily wide)"),
            std::string::npos);

  report["heterogeneity"]["i2"] = 0.2;
  summary = element(render(report), "section", "summary");
  EXPECT_NE(summary.find("heterogeneity is <b>not substantial</b> (I&sup2; = 20"), std::string::npos);
}

TEST(HtmlReport, EscapesEveryStringFromTheReport) {
  json report = testing::make_example_report();
  report["dataset"]["name"] = "set & <b>bold</b>";
  report["flow"]["centre-a"]["excluded"]["<i>reason</i>"] = 1;
  report["flow"]["centre-a"]["received"] = report["flow"]["centre-a"]["received"].get<int>() + 1;
  report["misclassified"][0]["patient_id"] = "\"><svg onload=alert(2)>";
  report["created_at"] = std::string("2026\x01-11-23 \xff");
  const std::string html = render(report);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("centre-b &lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(html.find(kCentreB), std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("javascript:"), std::string::npos);  // the unsafe link is dropped, the id kept
  EXPECT_NE(html.find("set &amp; &lt;b&gt;bold&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("Excluded: &lt;i&gt;reason&lt;/i&gt;"), std::string::npos);
  EXPECT_NE(html.find("&quot;&gt;&lt;svg onload=alert(2)&gt;"), std::string::npos);
  EXPECT_NE(html.find("2026-11-23 \xEF\xBF\xBD"), std::string::npos);  // control dropped, bad byte replaced
  // Viewer links are kept when site-relative.
  EXPECT_NE(html.find("<a href=\"/#bg="), std::string::npos);
}

TEST(HtmlReport, MissingOptionalPartsSayNotAvailable) {
  json report = testing::make_example_report();
  for (const char* key : {"model", "model_sha256", "dataset", "predictions", "parameters", "patient_level",
                          "misclassified", "created_at", "seed", "files"}) {
    report.erase(key);
  }
  report["model"] = nullptr;
  for (json* stats : {&report["pooled"], &report["centres"]["centre-a"], &report["centres"]["centre-c"],
                      &report["centres"][kCentreB]}) {
    stats->erase("roc");
    stats->erase("reliability");
    stats->erase("qwk");
    stats->erase("isup_confusion");
    (*stats)["auc_bootstrap"] = nullptr;
  }
  report["heterogeneity"]["prediction_interval"] = nullptr;
  report["heterogeneity"]["i2"] = nullptr;
  const std::string html = render(report);
  ASSERT_FALSE(html.empty());
  EXPECT_NE(html.find("predictions imported"), std::string::npos);
  EXPECT_NE(element(html, "section", "roc").find("ROC curve points: not available."), std::string::npos);
  EXPECT_NE(element(html, "section", "calibration").find("Reliability bins: not available."), std::string::npos);
  EXPECT_NE(
      element(html, "section", "confusion").find("ISUP grade confusion matrices (no grades given): not available."),
      std::string::npos);
  EXPECT_NE(element(html, "section", "patient-level").find("Patient-level results: not available."), std::string::npos);
  EXPECT_NE(element(html, "section", "misclassified").find("not available."), std::string::npos);
  EXPECT_NE(html.find("Quadratic weighted kappa: not available"), std::string::npos);
  EXPECT_NE(html.find("a prediction interval is not available"), std::string::npos);
  EXPECT_NE(html.find("heterogeneity (I&sup2;) is not available"), std::string::npos);
  EXPECT_EQ(html.find("id=\"roc-plot\""), std::string::npos);
  EXPECT_FALSE(element(html, "svg", "forest-plot").empty());  // the AUCs are still there
  EXPECT_NE(html.find("not available in report.json"), std::string::npos);
}

TEST(HtmlReport, RendersAMinimalReport) {
  const json report = {{"format", "mcval-validation-report/1"},
                       {"version", "0.1.0"},
                       {"dataset_sha256", "abc"},
                       {"threshold", 0.5},
                       {"pooled", {{"n", 0}, {"n_positive", 0}}},
                       {"centres", json::object()},
                       {"heterogeneity", json::object()},
                       {"flow", json::object()}};
  const std::string html = render(report);
  ASSERT_FALSE(html.empty());
  for (const char* id : {"study", "summary", "centres", "roc", "forest", "calibration", "utility", "confusion", "flow",
                         "patient-level", "misclassified", "checklist"}) {
    EXPECT_FALSE(element(html, "section", id).empty()) << id;
  }
  EXPECT_NE(html.find("Per-centre AUCs and meta-analysis: not available."), std::string::npos);
  EXPECT_NE(html.find("Flow: not available."), std::string::npos);
  EXPECT_NE(html.find("The pooled AUC is not available."), std::string::npos);
}

TEST(HtmlReport, MissingRequiredKeyIsAnErrorNamingIt) {
  for (const char* key :
       {"format", "version", "dataset_sha256", "threshold", "pooled", "centres", "heterogeneity", "flow"}) {
    json report = testing::make_example_report();
    report.erase(key);
    EXPECT_NE(error_of(report).find("missing required key '" + std::string(key) + "'"), std::string::npos) << key;
    report[key] = nullptr;
    EXPECT_NE(error_of(report).find("missing required key '" + std::string(key) + "'"), std::string::npos) << key;
  }
  json report = testing::make_example_report();
  report["centres"]["centre-a"].erase("n_positive");
  EXPECT_NE(error_of(report).find("'centres.centre-a.n_positive'"), std::string::npos);
  EXPECT_NE(error_of(json::array()).find("must be a JSON object"), std::string::npos);
}

TEST(HtmlReport, WrongTypesAreErrorsNamingThePath) {
  json report = testing::make_example_report();
  report["threshold"] = "0.5";
  report["centres"]["centre-a"]["auc"]["estimate"] = "high";
  report["flow"]["centre-c"]["received"] = -3;
  report["heterogeneity"]["i2"] = true;
  report["centres"]["centre-c"]["isup_confusion"][2] = json::array({1, 2});
  report["format"] = "something-else/2";
  const std::string error = error_of(report);
  EXPECT_NE(error.find("'threshold' must be a number, not string"), std::string::npos) << error;
  EXPECT_NE(error.find("'centres.centre-a.auc.estimate' must be a number, not string"), std::string::npos) << error;
  EXPECT_NE(error.find("'flow.centre-c.received' must be a non-negative whole number"), std::string::npos) << error;
  EXPECT_NE(error.find("'heterogeneity.i2' must be a number, not boolean"), std::string::npos) << error;
  EXPECT_NE(error.find("'centres.centre-c.isup_confusion' must be a square matrix"), std::string::npos) << error;
  EXPECT_NE(error.find("expected \"mcval-validation-report/1\""), std::string::npos) << error;
}

TEST(HtmlReport, CapsMisclassifiedRowsWithANote) {
  json report = testing::make_example_report();
  const json row = report["misclassified"][0];
  report["misclassified"] = json::array();
  for (int i = 0; i < 600; ++i) report["misclassified"].push_back(row);
  const std::string section = element(render(report), "section", "misclassified");
  EXPECT_EQ(count(section, "<tr class=\"misclassified\">"), 500u);
  EXPECT_NE(section.find("Showing the first 500 of 600 misclassified slides"), std::string::npos);
  EXPECT_NE(section.find("<code>per_slide.csv</code>"), std::string::npos);

  report["misclassified"] = json::array();
  EXPECT_NE(element(render(report), "section", "misclassified").find("No slide was misclassified"), std::string::npos);
}

TEST(HtmlReport, MisclassifiedRowsLinkToTheViewer) {
  const json report = testing::make_example_report();
  const std::string table = element(render(report), "table", "misclassified-table");
  const std::size_t rows = report["misclassified"].size();
  EXPECT_EQ(count(table, "<tr class=\"misclassified\">"), rows);
  EXPECT_EQ(count(table, "<a href=\"/#bg="), rows - 1);  // all but the javascript: one
  const std::string first = report["misclassified"][0]["viewer_url"];
  EXPECT_NE(table.find("<a href=\"" + first + "\">"), std::string::npos);
  EXPECT_NE(table.find("false negative"), std::string::npos);
  EXPECT_NE(table.find("false positive"), std::string::npos);
  EXPECT_NE(render(report).find("the others have no viewer link"), std::string::npos);

  json unlinked = report;
  for (json& row : unlinked["misclassified"]) row["viewer_url"] = nullptr;
  const std::string section = element(render(unlinked), "section", "misclassified");
  EXPECT_EQ(section.find("<a href="), std::string::npos);
  EXPECT_NE(section.find("Viewer links: not available"), std::string::npos);
}

TEST(HtmlReport, FlowTotalIsSummedWhenAbsentAndInconsistencyIsFlagged) {
  json report = testing::make_example_report();
  const json total = report["flow"]["total"];
  report["flow"].erase("total");
  std::string flow = element(render(report), "table", "flow-table");
  EXPECT_NE(
      flow.find("<tr class=\"total\"><td>Total</td><td>" + std::to_string(total["received"].get<int>()) + "</td>"),
      std::string::npos);
  EXPECT_EQ(flow.find("&dagger;"), std::string::npos);

  report["flow"]["centre-a"]["analysed"] = 150;
  const std::string html = render(report);
  EXPECT_NE(element(html, "table", "flow-table").find("150 &dagger;"), std::string::npos);
  EXPECT_NE(html.find("differs from n in the results for: centre-a (flow 150, results 196)"), std::string::npos);
}

TEST(HtmlReport, ShowsTheFederatedCombinationAndItsSources) {
  json report = testing::make_example_report();
  report["federated"] = {{"histogram_bins", 1000},
                         {"note", "aggregates only"},
                         {"pooled_auc_histogram", {{"error_bound", 0.00035714}, {"estimate", 0.853044}}},
                         {"summaries",
                          {{{"centres", {"centre-a"}},
                            {"content_sha256", "91ce76ce"},
                            {"created_at", "2026-11-23T23:33:15Z"},
                            {"dataset_sha256", "df115cc8"},
                            {"predictions_sha256", "c7305eba"},
                            {"version", "0.1.0"}},
                           {{"centres", {kCentreB}},
                            {"content_sha256", "e280c871"},
                            {"created_at", "2026-11-23T23:33:16Z"},
                            {"dataset_sha256", "22835fc9"},
                            {"predictions_sha256", "eefae88f"},
                            {"version", "0.1.0"}}}}};
  report["parameters"]["bootstrap_replicates"] = 0;
  report["parameters"]["target_sensitivity"] = nullptr;
  report["parameters"]["reported_target_sensitivity"] = 0.9;
  report["flow"]["centre-a"]["failed"] = {{"no prediction", 1}};
  const std::string html = render(report);
  const std::string sources = element(html, "table", "federated-sources");
  EXPECT_EQ(count(sources, "<tr><td>"), 2u);
  EXPECT_NE(sources.find("91ce76ce"), std::string::npos);
  EXPECT_NE(sources.find("centre-b &lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("is 0.8530, within &plusmn;0.000357 of the AUC computed from the individual scores"),
            std::string::npos);
  EXPECT_NE(html.find("<th scope=\"row\">Bootstrap replicates</th><td>none (no bootstrap)</td>"), std::string::npos);
  EXPECT_EQ(html.find("bootstrap intervals ("), std::string::npos);
  EXPECT_NE(html.find("0.90 (reported only"), std::string::npos);
  EXPECT_NE(element(html, "section", "flow").find("Failed inference by reason: centre-a: no prediction 1."),
            std::string::npos);
}

TEST(HtmlReport, ManyCentresKeepDistinctStyles) {
  json report = testing::make_example_report();
  const json stats = report["centres"]["centre-a"];
  for (int i = 0; i < 9; ++i) report["centres"]["extra-" + std::to_string(i)] = stats;
  const std::string svg = element(render(report), "svg", "roc-plot");
  EXPECT_EQ(count(svg, "class=\"roc-curve\""), 12u);
  EXPECT_NE(svg.find("stroke-dasharray=\"7 4\""), std::string::npos);  // colours repeat from the 8th, dashed
}

TEST(HtmlReport, CheckedInExampleIsTheGeneratedExample) {
  const std::filesystem::path path =
      std::filesystem::path(MCVAL_TEST_SOURCE_DIR) / "tests" / "data" / "report" / "example_report.json";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  const json stored = json::parse(in);
  const json patch = json::diff(stored, testing::make_example_report());
  EXPECT_TRUE(patch.empty()) << "first difference: " << patch[0].dump()
                             << "; regenerate with MCVAL_TEST_ARTIFACTS=/tmp/a unit_report and copy "
                                "/tmp/a/example_report.json";
}

TEST(HtmlReport, WritesTheRenderedExampleAsATestArtifact) {
  const char* env = std::getenv("MCVAL_TEST_ARTIFACTS");
  const std::filesystem::path dir = env != nullptr && *env != '\0'
                                        ? std::filesystem::path(env)
                                        : std::filesystem::temp_directory_path() / "mcval-test-artifacts";
  std::filesystem::create_directories(dir);
  const json report = testing::make_example_report();
  std::ofstream(dir / "report-example.html", std::ios::binary) << render(report);
  std::ofstream(dir / "example_report.json", std::ios::binary) << report.dump(2) << "\n";
  EXPECT_GT(std::filesystem::file_size(dir / "report-example.html"), 10000u);
}

}  // namespace
}  // namespace mcval::report
