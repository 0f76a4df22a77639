// stats_probe: test-only driver of mcval::stats for the oracle tests (test_stats_oracle.py).
// Reads one JSON request on stdin and prints one JSON object with every statistic the request's
// fields allow. A section that fails carries {"error": name, "detail": text}. In the request a
// null score stands for NaN (to exercise input validation); NaN in the output is null.
//
// Request fields (all optional): labels, scores, scores2, groups (integer cluster ids),
// threshold, target_sensitivity, confidence, seed, replicates, threads, bins, bca,
// grades_true, grades_pred, classes, centres [{labels, scores}], meta {estimates, variances},
// quantiles {normal: [p], t: [[p, df]], t_cdf: [[x, df]], chi2_sf: [[x, df]]},
// patients {ids, labels, scores, aggregation: "max"|"mean"}.
#include <cmath>
#include <cstdint>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mcval/stats/binary.h"
#include "mcval/stats/bootstrap.h"
#include "mcval/stats/calibration.h"
#include "mcval/stats/decision_curve.h"
#include "mcval/stats/distributions.h"
#include "mcval/stats/kappa.h"
#include "mcval/stats/meta.h"
#include "mcval/stats/patient.h"
#include "mcval/stats/roc.h"
#include "mcval/stats/smoothed_calibration.h"

namespace {

using nlohmann::json;
namespace st = mcval::stats;

std::vector<double> doubles(const json& array) {
  std::vector<double> out;
  for (const auto& v : array) out.push_back(v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>());
  return out;
}

json number(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

json interval(const st::Interval& i) { return json::array({number(i.low), number(i.high)}); }

json error_json(const mcval::Error& e) {
  return {{"error", std::string(mcval::error_name(e.code))}, {"detail", e.detail}};
}

// The JSON of a Result: its value through `convert`, or its error.
template <class T, class Convert>
json section(const mcval::Result<T>& r, Convert convert) {
  return r.ok() ? convert(r.value()) : error_json(r.error());
}

json proportion(const st::Proportion& p) {
  return {{"estimate", number(p.estimate)}, {"ci", interval(p.ci)}, {"successes", p.successes}, {"trials", p.trials}};
}

json bootstrap_json(const st::BootstrapResult& b) {
  json out = {{"estimate", number(b.estimate)},
              {"se", number(b.se)},
              {"percentile", interval(b.percentile)},
              {"bca", b.bca ? interval(*b.bca) : json(nullptr)},
              {"bias_correction", number(b.bias_correction)},
              {"acceleration", number(b.acceleration)},
              {"replicates_used", b.replicates_used}};
  if (!b.replicates.empty()) {
    json values = json::array();
    for (double v : b.replicates) values.push_back(number(v));
    out["replicates"] = values;
  }
  return out;
}

json delong_json(const st::DeLongAuc& d) {
  return {{"auc", d.auc},
          {"variance", d.variance},
          {"se", d.se},
          {"ci", interval(d.ci)},
          {"ci_logit", interval(d.ci_logit)},
          {"n_positive", d.n_positive},
          {"n_negative", d.n_negative}};
}

json meta_json(const st::MetaAnalysis& m) {
  return {{"k", m.k},
          {"q", m.q},
          {"df", m.df},
          {"q_p_value", number(m.q_p_value)},
          {"i2", m.i2},
          {"tau2", m.tau2},
          {"fixed_estimate", m.fixed_estimate},
          {"fixed_se", m.fixed_se},
          {"fixed_ci", interval(m.fixed_ci)},
          {"random_estimate", m.random_estimate},
          {"random_se", m.random_se},
          {"random_ci", interval(m.random_ci)},
          {"prediction_interval", m.prediction_interval ? interval(*m.prediction_interval) : json(nullptr)}};
}

json binary_sections(const json& request, std::span<const int> labels, std::span<const double> scores,
                     std::span<const std::int64_t> groups, const st::BootstrapOptions& options) {
  json out;
  const double confidence = options.confidence;
  out["auc"] = section(st::auc(labels, scores), [](double v) { return json(v); });
  out["delong"] = section(st::delong_auc(labels, scores, confidence), delong_json);
  out["placements"] = section(st::delong_placements(labels, scores), [](const st::DeLongPlacements& p) {
    return json{{"auc", p.auc}, {"positive", p.positive_placements}, {"negative", p.negative_placements}};
  });
  out["roc_curve"] = section(st::roc_curve(labels, scores), [](const st::RocCurve& c) {
    return json{{"fpr", c.fpr}, {"tpr", c.tpr}, {"thresholds", c.thresholds}};
  });
  const double threshold = request.value("threshold", 0.5);
  out["binary"] = section(st::binary_metrics(labels, scores, threshold, confidence), [](const st::BinaryMetrics& m) {
    return json{
        {"threshold", m.threshold},
        {"confusion", {{"tp", m.confusion.tp}, {"fp", m.confusion.fp}, {"tn", m.confusion.tn}, {"fn", m.confusion.fn}}},
        {"sensitivity", proportion(m.sensitivity)},
        {"specificity", proportion(m.specificity)},
        {"ppv", proportion(m.ppv)},
        {"npv", proportion(m.npv)}};
  });
  auto choice = [](const st::ThresholdChoice& c) {
    return json{{"threshold", c.threshold},
                {"sensitivity", c.sensitivity},
                {"specificity", c.specificity},
                {"youden", c.youden}};
  };
  out["youden"] = section(st::youden_threshold(labels, scores), choice);
  if (request.contains("target_sensitivity")) {
    out["threshold_for_sensitivity"] =
        section(st::threshold_for_sensitivity(labels, scores, request["target_sensitivity"].get<double>()), choice);
  }
  if (request.contains("scores2")) {
    const std::vector<double> scores2 = doubles(request["scores2"]);
    out["paired"] =
        section(st::paired_delong_test(labels, scores, scores2, confidence), [](const st::PairedDeLongTest& t) {
          return json{{"auc1", t.auc1},
                      {"auc2", t.auc2},
                      {"difference", t.difference},
                      {"variance1", t.variance1},
                      {"variance2", t.variance2},
                      {"covariance", t.covariance},
                      {"se_difference", t.se_difference},
                      {"z", number(t.z)},
                      {"p_value", t.p_value},
                      {"ci_difference", interval(t.ci_difference)}};
        });
  }
  if (request.value("bootstrap", true)) {
    out["bootstrap_auc"] = section(st::bootstrap_auc(labels, scores, {}, options), bootstrap_json);
    if (!groups.empty()) {
      out["bootstrap_auc_clustered"] = section(st::bootstrap_auc(labels, scores, groups, options), bootstrap_json);
    }
  }
  if (request.contains("independent")) {
    const auto other_labels = request["independent"]["labels"].get<std::vector<int>>();
    const auto other_scores = doubles(request["independent"]["scores"]);
    const auto a = st::delong_auc(labels, scores, options.confidence);
    const auto b = st::delong_auc(other_labels, other_scores, options.confidence);
    if (a.ok() && b.ok()) {
      out["unpaired"] = section(st::unpaired_delong_test(*a, *b, options.confidence), [](const st::UnpairedDeLongTest& t) {
        return json{{"difference", t.difference}, {"se_difference", t.se_difference}, {"z", number(t.z)}, {"df", t.df},
                    {"p_value", t.p_value}, {"ci_difference", interval(t.ci_difference)}};
      });
    }
  }
  if (request.contains("decision_thresholds")) {
    const std::vector<double> grid = doubles(request["decision_thresholds"]);
    const auto curve_json = [](const st::DecisionCurve& c) {
      return json{{"thresholds", c.thresholds}, {"tp", c.true_positives}, {"fp", c.false_positives},
                  {"model", c.model}, {"treat_all", c.treat_all}, {"n", c.n}, {"n_positive", c.n_positive}};
    };
    const auto band_json = [](const st::DecisionCurveBand& b) {
      json model = json::array(), all = json::array();
      for (const auto& i : b.model) model.push_back(interval(i));
      for (const auto& i : b.treat_all) all.push_back(interval(i));
      return json{{"model", model}, {"treat_all", all}, {"replicates", b.replicates}};
    };
    const auto curve = st::decision_curve(labels, scores, grid);
    out["decision_curve"] = section(curve, curve_json);
    if (curve.ok()) {
      const std::int64_t n_neg = curve->n - curve->n_positive;
      out["decision_curve_from_counts"] = section(
          st::decision_curve_from_counts(grid, curve->true_positives, curve->false_positives, curve->n_positive, n_neg),
          curve_json);
      if (request.value("bootstrap", true)) {
        out["decision_band"] = section(st::bootstrap_decision_curve(labels, scores, groups, grid, options), band_json);
        out["decision_band_from_counts"] =
            section(st::bootstrap_decision_curve_from_counts(grid, curve->true_positives, curve->false_positives,
                                                             curve->n_positive, n_neg, options),
                    band_json);
      }
    }
  }
  if (request.contains("smoothed_calibration")) {
    const auto smoothed = st::smoothed_calibration(labels, scores);
    out["smoothed_calibration"] = section(smoothed, [](const st::SmoothedCalibration& c) {
      return json{{"ici", c.ici}, {"e50", c.e50}, {"e90", c.e90}, {"emax", c.emax},
                  {"curve_predicted", c.curve_predicted}, {"curve_observed", c.curve_observed}};
    });
    if (smoothed.ok() && request.value("bootstrap", true)) {
      out["smoothed_calibration_band"] =
          section(st::bootstrap_smoothed_calibration(labels, scores, groups, smoothed->curve_predicted, options),
                  [](const std::vector<st::Interval>& band) {
                    json rows = json::array();
                    for (const auto& i : band) rows.push_back(interval(i));
                    return rows;
                  });
    }
  }
  const int bins = request.value("bins", 10);
  out["brier"] = section(st::brier_score(labels, scores), [](double v) { return json(v); });
  out["reliability"] = section(st::reliability(labels, scores, bins), [](const st::Reliability& r) {
    json bins_json = json::array();
    for (const auto& b : r.bins) {
      bins_json.push_back({{"lower", b.lower},
                           {"upper", b.upper},
                           {"count", b.count},
                           {"mean_predicted", number(b.mean_predicted)},
                           {"observed_fraction", number(b.observed_fraction)}});
    }
    return json{{"ece", r.ece}, {"bins", bins_json}};
  });
  out["calibration_slope"] = section(st::calibration_slope(labels, scores), [](const st::CalibrationSlope& c) {
    return json{{"slope", c.slope},
                {"slope_se", c.slope_se},
                {"intercept", c.intercept},
                {"intercept_se", c.intercept_se},
                {"iterations", c.iterations}};
  });
  out["calibration_in_the_large"] =
      section(st::calibration_in_the_large(labels, scores), [](const st::CalibrationInTheLarge& c) {
        return json{{"intercept", c.intercept}, {"intercept_se", c.intercept_se}, {"iterations", c.iterations}};
      });
  return out;
}

json run(const json& request) {
  json out = json::object();
  st::BootstrapOptions options;
  options.confidence = request.value("confidence", st::kDefaultConfidence);
  options.seed = request.value("seed", std::uint64_t{0});
  options.replicates = request.value("replicates", std::size_t{2000});
  options.threads = request.value("threads", 0u);
  options.bca = request.value("bca", true);
  options.keep_replicates = request.value("keep_replicates", false);
  std::vector<std::int64_t> groups;
  if (request.contains("groups")) groups = request["groups"].get<std::vector<std::int64_t>>();

  if (request.contains("labels") && request.contains("scores")) {
    const auto labels = request["labels"].get<std::vector<int>>();
    const auto scores = doubles(request["scores"]);
    out.update(binary_sections(request, labels, scores, groups, options));
  }
  if (request.contains("grades_true") && request.contains("grades_pred")) {
    const auto truth = request["grades_true"].get<std::vector<int>>();
    const auto predicted = request["grades_pred"].get<std::vector<int>>();
    const int classes = request.value("classes", 6);
    out["kappa"] = section(st::quadratic_weighted_kappa(truth, predicted, classes, options.confidence),
                           [](const st::WeightedKappa& k) {
                             return json{{"estimate", k.estimate},
                                         {"se", k.se},
                                         {"ci", interval(k.ci)},
                                         {"classes", k.confusion.classes},
                                         {"confusion", k.confusion.counts}};
                           });
    out["kappa_bootstrap"] =
        section(st::bootstrap_quadratic_weighted_kappa(truth, predicted, classes, groups, options), bootstrap_json);
  }
  if (request.contains("centres")) {
    json centres = json::array();
    std::vector<st::CentreAuc> aucs;
    bool all_ok = true;
    for (const auto& centre : request["centres"]) {
      const auto labels = centre["labels"].get<std::vector<int>>();
      const auto scores = doubles(centre["scores"]);
      const auto d = st::delong_auc(labels, scores, options.confidence);
      centres.push_back(section(d, delong_json));
      if (d.ok()) {
        aucs.push_back({d->auc, d->variance, d->n_positive, d->n_negative});
      } else {
        all_ok = false;
      }
    }
    out["centres"] = centres;
    if (all_ok) {
      out["pooled"] = section(st::pool_auc(aucs, options.confidence), [](const st::PooledAuc& p) {
        json corrected = json::array();
        for (const bool c : p.corrected) corrected.push_back(c);
        return json{{"auc_used", p.auc},
                    {"corrected", corrected},
                    {"logit_auc", p.logit_auc},
                    {"logit_variance", p.logit_variance},
                    {"logit", meta_json(p.logit)},
                    {"fixed_auc", p.fixed_auc},
                    {"fixed_ci", interval(p.fixed_ci)},
                    {"random_auc", p.random_auc},
                    {"random_ci", interval(p.random_ci)},
                    {"prediction_interval", p.prediction_interval ? interval(*p.prediction_interval) : json(nullptr)}};
      });
    }
  }
  if (request.contains("meta")) {
    out["meta"] = section(st::meta_analysis(doubles(request["meta"]["estimates"]),
                                            doubles(request["meta"]["variances"]), options.confidence),
                          meta_json);
  }
  if (request.contains("quantiles")) {
    const json& q = request["quantiles"];
    json result = json::object();
    if (q.contains("normal")) {
      json values = json::array();
      for (const auto& p : q["normal"]) values.push_back(number(st::normal_quantile(p.get<double>())));
      result["normal"] = values;
    }
    auto pairs = [&](const char* name, double (*f)(double, double)) {
      if (!q.contains(name)) return;
      json values = json::array();
      for (const auto& pair : q[name]) values.push_back(number(f(pair[0].get<double>(), pair[1].get<double>())));
      result[name] = values;
    };
    pairs("t", [](double p, double df) { return st::student_t_quantile(p, df); });
    pairs("t_cdf", [](double x, double df) { return st::student_t_cdf(x, df); });
    pairs("t_sf", [](double x, double df) { return st::student_t_sf(x, df); });
    pairs("chi2_sf", [](double x, double df) { return st::chi_square_sf(x, df); });
    out["quantiles"] = result;
  }
  if (request.contains("patients")) {
    const json& p = request["patients"];
    const auto ids = p["ids"].get<std::vector<std::string>>();
    const auto labels = p["labels"].get<std::vector<int>>();
    const auto scores = doubles(p["scores"]);
    const auto how =
        p.value("aggregation", std::string("max")) == "mean" ? st::ScoreAggregation::mean : st::ScoreAggregation::max;
    out["patients"] = section(st::aggregate_by_patient(ids, labels, scores, how), [](const st::PatientTable& t) {
      return json{{"ids", t.patient_ids}, {"labels", t.labels}, {"scores", t.scores}, {"slides", t.slides}};
    });
  }
  return out;
}

}  // namespace

int main() {
  try {
    const json request = json::parse(std::cin);
    std::cout << run(request).dump() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "stats_probe: " << e.what() << "\n";
    return 2;
  }
}
