#include "mcval/validation/validation_report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>

#include "mcval/common/clock.h"
#include "mcval/stats/binary.h"
#include "mcval/stats/bootstrap.h"
#include "mcval/stats/calibration.h"
#include "mcval/stats/decision_curve.h"
#include "mcval/stats/kappa.h"
#include "mcval/stats/meta.h"
#include "mcval/stats/roc.h"
#include "mcval/stats/smoothed_calibration.h"
#include "report_json.h"

namespace mcval::validation {

namespace {

using nlohmann::json;
using detail::flow_json;
using detail::interval_json;
using detail::number_or_null;
using detail::proportion_json;

constexpr int kIsupClasses = 6;
constexpr std::size_t kMaxRocPoints = 200;

/// One group of analysed slides (or patients): a centre, or all of them.
struct Group {
  std::vector<int> labels;
  std::vector<double> scores;
  std::vector<std::string> patients;  ///< cluster ids for the bootstrap
  std::vector<int> grades_true;       ///< rows with both grades only
  std::vector<int> grades_pred;
  std::vector<std::string> grade_patients;
};

using detail::group_seed;

json roc_points(const stats::RocCurve& curve) {
  json points = json::array();
  const std::size_t n = curve.fpr.size();
  const std::size_t step = std::max<std::size_t>(1, (n + kMaxRocPoints - 1) / kMaxRocPoints);
  for (std::size_t i = 0; i < n; i += step) {
    points.push_back({{"fpr", curve.fpr[i]}, {"tpr", curve.tpr[i]}, {"threshold", number_or_null(curve.thresholds[i])}});
  }
  if (n > 0 && (n - 1) % step != 0) {
    points.push_back({{"fpr", curve.fpr[n - 1]}, {"tpr", curve.tpr[n - 1]},
                      {"threshold", number_or_null(curve.thresholds[n - 1])}});
  }
  return points;
}

/// Every statistic of one group at the threshold; parts that are undefined for this group
/// (one class only, too few cases) are null with a note saying why.
json group_stats(const Group& g, double threshold, const ValidationOptions& options, std::uint64_t seed,
                 bool with_grades, stats::CentreAuc* auc_out) {
  json out;
  json notes = json::array();
  const std::size_t n_positive = static_cast<std::size_t>(std::count(g.labels.begin(), g.labels.end(), 1));
  out["n"] = g.labels.size();
  out["n_positive"] = n_positive;

  if (auto delong = stats::delong_auc(g.labels, g.scores, options.confidence); delong.ok()) {
    out["auc"] = interval_json(delong->auc, delong->ci);
    out["auc"]["se_delong"] = delong->se;
    out["auc"]["ci_logit"] = {{"low", number_or_null(delong->ci_logit.low)}, {"high", number_or_null(delong->ci_logit.high)}};
    if (auc_out) *auc_out = {delong->auc, delong->variance, delong->n_positive, delong->n_negative};
  } else {
    out["auc"] = {{"estimate", nullptr}, {"ci_low", nullptr}, {"ci_high", nullptr}, {"se_delong", nullptr}};
    notes.push_back("AUC not available: " + delong.error().detail);
    if (auc_out) *auc_out = {std::nan(""), std::nan("")};
  }

  stats::BootstrapOptions boot;
  boot.replicates = options.bootstrap_replicates;
  boot.seed = seed;
  boot.confidence = options.confidence;
  boot.threads = options.threads;
  const auto clusters = stats::cluster_ids(g.patients);
  if (options.bootstrap_replicates >= 2) {
    if (auto b = stats::bootstrap_auc(g.labels, g.scores, clusters, boot); b.ok()) {
      out["auc_bootstrap"] = {{"ci_low", number_or_null(b->percentile.low)},
                              {"ci_high", number_or_null(b->percentile.high)},
                              {"se", number_or_null(b->se)},
                              {"replicates", options.bootstrap_replicates},
                              {"replicates_used", b->replicates_used},
                              {"method", "percentile, stratified by class, clustered by patient"}};
      if (b->bca) out["auc_bootstrap"]["bca"] = {{"ci_low", b->bca->low}, {"ci_high", b->bca->high}};
    } else {
      notes.push_back("bootstrap AUC not available: " + b.error().detail);
    }
  }

  if (auto m = stats::binary_metrics(g.labels, g.scores, threshold, options.confidence); m.ok()) {
    out["sensitivity"] = proportion_json(m->sensitivity);
    out["specificity"] = proportion_json(m->specificity);
    out["ppv"] = proportion_json(m->ppv);
    out["npv"] = proportion_json(m->npv);
    out["confusion"] = {{"tp", m->confusion.tp}, {"fp", m->confusion.fp}, {"tn", m->confusion.tn}, {"fn", m->confusion.fn}};
  } else {
    notes.push_back("metrics at the threshold not available: " + m.error().detail);
  }

  if (auto t = stats::threshold_for_sensitivity(g.labels, g.scores, options.reported_target_sensitivity); t.ok()) {
    out["threshold_for_target_sensitivity"] = {{"target", options.reported_target_sensitivity},
                                               {"threshold", t->threshold},
                                               {"sensitivity", t->sensitivity},
                                               {"specificity", t->specificity}};
  }

  if (auto brier = stats::brier_score(g.labels, g.scores); brier.ok()) out["brier"] = *brier;
  if (auto rel = stats::reliability(g.labels, g.scores, options.ece_bins); rel.ok()) {
    out["ece"] = rel->ece;
    out["ece_bins"] = options.ece_bins;
    json bins = json::array();
    for (const auto& b : rel->bins) {
      bins.push_back({{"bin_low", b.lower}, {"bin_high", b.upper}, {"count", b.count},
                      {"mean_predicted", number_or_null(b.mean_predicted)},
                      {"observed", number_or_null(b.observed_fraction)}});
    }
    out["reliability"] = bins;
  }
  json calibration = {{"slope", nullptr}, {"intercept", nullptr}};
  if (auto slope = stats::calibration_slope(g.labels, g.scores); slope.ok()) {
    calibration["slope"] = slope->slope;
    calibration["slope_se"] = slope->slope_se;
  } else {
    notes.push_back("calibration slope not available: " + slope.error().detail);
  }
  if (auto citl = stats::calibration_in_the_large(g.labels, g.scores); citl.ok()) {
    calibration["intercept"] = citl->intercept;
    calibration["intercept_se"] = citl->intercept_se;
  } else {
    notes.push_back("calibration-in-the-large not available: " + citl.error().detail);
  }
  calibration["intercept_definition"] = "calibration-in-the-large: logistic intercept with logit(p) as offset";
  calibration["smoothed"] = nullptr;
  if (auto smooth = stats::smoothed_calibration(g.labels, g.scores); smooth.ok()) {
    json curve = {{"predicted", smooth->curve_predicted}, {"observed", smooth->curve_observed},
                  {"band_low", nullptr}, {"band_high", nullptr}};
    if (options.bootstrap_replicates >= 2) {
      stats::BootstrapOptions smooth_boot = boot;
      smooth_boot.seed = seed ^ detail::kSmoothedCalibrationSeedSalt;
      if (auto band = stats::bootstrap_smoothed_calibration(g.labels, g.scores, clusters, smooth->curve_predicted,
                                                            smooth_boot);
          band.ok()) {
        json low = json::array(), high = json::array();
        for (const auto& i : *band) {
          low.push_back(number_or_null(i.low));
          high.push_back(number_or_null(i.high));
        }
        curve["band_low"] = low;
        curve["band_high"] = high;
      } else {
        notes.push_back("smoothed calibration band not available: " + band.error().detail);
      }
    }
    calibration["smoothed"] = {{"method", stats::kSmoothedCalibrationMethod},
                               {"ici", smooth->ici}, {"e50", smooth->e50}, {"e90", smooth->e90},
                               {"emax", smooth->emax}, {"curve", curve}};
  } else {
    notes.push_back("smoothed calibration not available: " + smooth.error().detail);
  }
  out["calibration"] = calibration;

  if (auto curve = stats::roc_curve(g.labels, g.scores); curve.ok()) out["roc"] = roc_points(*curve);

  const std::vector<double> grid = detail::decision_thresholds(threshold);
  if (auto dca = stats::decision_curve(g.labels, g.scores, grid); dca.ok()) {
    std::optional<stats::DecisionCurveBand> band;
    if (options.bootstrap_replicates >= 2) {
      stats::BootstrapOptions dca_boot = boot;
      dca_boot.seed = seed ^ detail::kDecisionCurveSeedSalt;
      if (auto b = stats::bootstrap_decision_curve(g.labels, g.scores, clusters, grid, dca_boot); b.ok()) {
        band = std::move(*b);
      } else {
        notes.push_back("decision curve band not available: " + b.error().detail);
      }
    }
    out["decision_curve"] = detail::decision_curve_json(
        *dca, band ? &*band : nullptr, threshold, "pointwise percentile, slides resampled by patient (not stratified)");
  } else {
    notes.push_back("decision curve not available: " + dca.error().detail);
  }

  if (with_grades && !g.grades_true.empty()) {
    if (auto k = stats::quadratic_weighted_kappa(g.grades_true, g.grades_pred, kIsupClasses, options.confidence); k.ok()) {
      out["qwk"] = interval_json(k->estimate, k->ci);
      out["qwk"]["se"] = k->se;
      out["qwk"]["n"] = g.grades_true.size();
      out["qwk"]["method"] = "Fleiss-Cohen-Everitt large-sample interval";
      json matrix = json::array();
      for (int t = 0; t < kIsupClasses; ++t) {
        json row = json::array();
        for (int p = 0; p < kIsupClasses; ++p) row.push_back(k->confusion.counts[static_cast<std::size_t>(t * kIsupClasses + p)]);
        matrix.push_back(row);
      }
      out["isup_confusion"] = matrix;
      if (options.bootstrap_replicates >= 2) {
        const auto grade_clusters = stats::cluster_ids(g.grade_patients);
        if (auto b = stats::bootstrap_quadratic_weighted_kappa(g.grades_true, g.grades_pred, kIsupClasses,
                                                               grade_clusters, boot);
            b.ok()) {
          out["qwk"]["bootstrap"] = {{"ci_low", number_or_null(b->percentile.low)},
                                     {"ci_high", number_or_null(b->percentile.high)},
                                     {"replicates", options.bootstrap_replicates}};
        }
      }
    } else {
      notes.push_back("QWK not available: " + k.error().detail);
    }
  }
  if (!notes.empty()) out["notes"] = notes;
  return out;
}

void add_row(Group& g, const dataset::AnalysisRow& r) {
  g.labels.push_back(r.label);
  g.scores.push_back(r.score);
  g.patients.push_back(r.centre + "/" + r.patient_id);
  if (r.isup_grade && r.isup_pred) {
    g.grades_true.push_back(*r.isup_grade);
    g.grades_pred.push_back(*r.isup_pred);
    g.grade_patients.push_back(r.centre + "/" + r.patient_id);
  }
}

/// Patients of a group: one row each, score aggregated, label = any positive slide.
Result<Group> patient_group(const Group& slides, stats::ScoreAggregation aggregation) {
  MCVAL_TRY_ASSIGN(table, stats::aggregate_by_patient(slides.patients, slides.labels, slides.scores, aggregation));
  Group g;
  g.labels = table.labels;
  g.scores = table.scores;
  g.patients = table.patient_ids;
  return g;
}


Result<double> choose_threshold(const dataset::JoinResult& joined, const ValidationOptions& options, json& parameters) {
  if (!options.development_centre) {
    if (!options.threshold) {
      return Error{ErrorCode::invalid_argument, "give a pre-registered threshold or a development centre to derive it on"};
    }
    if (!std::isfinite(*options.threshold)) return Error{ErrorCode::invalid_argument, "the threshold must be a number"};
    parameters["threshold_source"] = "fixed";
    return *options.threshold;
  }
  Group dev;
  for (const auto& r : joined.rows) {
    if (r.centre == *options.development_centre) add_row(dev, r);
  }
  if (dev.labels.empty()) {
    return Error{ErrorCode::invalid_argument,
                 "development centre '" + *options.development_centre + "' has no analysed slides"};
  }
  parameters["threshold_source"] = "development-centre";
  parameters["development_centre"] = *options.development_centre;
  if (options.target_sensitivity) {
    parameters["target_sensitivity"] = *options.target_sensitivity;
    parameters["threshold_rule"] = "largest threshold reaching the target sensitivity on the development centre";
    MCVAL_TRY_ASSIGN(t, stats::threshold_for_sensitivity(dev.labels, dev.scores, *options.target_sensitivity));
    return t.threshold;
  }
  parameters["threshold_rule"] = "Youden-optimal on the development centre";
  MCVAL_TRY_ASSIGN(t, stats::youden_threshold(dev.labels, dev.scores));
  return t.threshold;
}

/// A subgroup is "small" below these counts: its estimates are shown but flagged, not read.
constexpr std::size_t kSmallSubgroupSlides = 30;
constexpr std::size_t kSmallSubgroupPerClass = 5;

/// n, AUC (DeLong) and sensitivity and specificity at the threshold (Wilson) of one subgroup.
json subgroup_cell(const Group& g, double threshold, const ValidationOptions& options,
                   std::optional<stats::DeLongAuc>& auc_out) {
  const std::size_t n_positive = static_cast<std::size_t>(std::count(g.labels.begin(), g.labels.end(), 1));
  const std::size_t n_negative = g.labels.size() - n_positive;
  const bool small = g.labels.size() < kSmallSubgroupSlides || n_positive < kSmallSubgroupPerClass ||
                     n_negative < kSmallSubgroupPerClass;
  json out = {{"n", g.labels.size()}, {"n_positive", n_positive}, {"small", small},
              {"auc", {{"estimate", nullptr}, {"ci_low", nullptr}, {"ci_high", nullptr}, {"se_delong", nullptr}}},
              {"sensitivity", nullptr}, {"specificity", nullptr}};
  if (small) {
    out["note"] = "small subgroup (fewer than " + std::to_string(kSmallSubgroupSlides) + " slides or fewer than " +
                  std::to_string(kSmallSubgroupPerClass) + " of a class): its estimates are too imprecise to read";
  }
  if (auto delong = stats::delong_auc(g.labels, g.scores, options.confidence); delong.ok()) {
    out["auc"] = interval_json(delong->auc, delong->ci);
    out["auc"]["se_delong"] = delong->se;
    auc_out = *delong;
  }
  if (auto m = stats::binary_metrics(g.labels, g.scores, threshold, options.confidence); m.ok()) {
    if (m->sensitivity.trials > 0) out["sensitivity"] = proportion_json(m->sensitivity);
    if (m->specificity.trials > 0) out["specificity"] = proportion_json(m->specificity);
  }
  return out;
}

/// Test of a difference in AUC between the levels that have one: DeLong's test for independent
/// samples for two levels, Cochran's Q on the DeLong variances (chi-square, k - 1 df) for more.
json subgroup_test(const std::vector<std::pair<std::string, stats::DeLongAuc>>& aucs, double confidence) {
  json test = {{"levels", json::array()}, {"method", nullptr}, {"statistic", nullptr}, {"df", nullptr},
               {"p", nullptr}};
  for (const auto& [level, auc] : aucs) test["levels"].push_back(level);
  if (aucs.size() == 2) {
    if (auto t = stats::unpaired_delong_test(aucs[0].second, aucs[1].second, confidence); t.ok()) {
      test["method"] = "DeLong test for two independent AUCs (D, Welch t, as pROC roc.test paired = FALSE)";
      test["df"] = number_or_null(t->df);
      test["statistic"] = number_or_null(t->z);
      test["difference"] = t->difference;
      test["difference_ci"] = {{"low", number_or_null(t->ci_difference.low)},
                               {"high", number_or_null(t->ci_difference.high)}};
      test["p"] = t->p_value;
    }
  } else if (aucs.size() > 2) {
    std::vector<double> estimates, variances;
    for (const auto& [level, auc] : aucs) {
      estimates.push_back(auc.auc);
      variances.push_back(auc.variance);
    }
    if (auto m = stats::meta_analysis(estimates, variances, confidence); m.ok()) {
      test["method"] = "Cochran's Q on the DeLong variances (chi-square, k - 1 df)";
      test["statistic"] = m->q;
      test["df"] = m->df;
      test["p"] = m->q_p_value;
    }
  }
  if (test["method"].is_null()) test["note"] = "fewer than two levels with an AUC and a positive variance";
  return test;
}

/// One subgroup variable: its levels across all centres and within each centre, with the test.
json subgroup_variable(const std::vector<dataset::AnalysisRow>& rows, const std::string& (*value)(const dataset::AnalysisRow&),
                       double threshold, const ValidationOptions& options) {
  std::map<std::string, std::map<std::string, Group>> by_scope;  // "" = all centres
  std::size_t not_given = 0;
  for (const auto& r : rows) {
    const std::string& level = value(r);
    if (level.empty()) {
      ++not_given;
      continue;
    }
    add_row(by_scope[""][level], r);
    add_row(by_scope[r.centre][level], r);
  }
  const auto scope_json = [&](const std::map<std::string, Group>& levels) {
    json out = {{"levels", json::object()}};
    std::vector<std::pair<std::string, stats::DeLongAuc>> aucs;
    for (const auto& [level, g] : levels) {
      std::optional<stats::DeLongAuc> auc;
      out["levels"][level] = subgroup_cell(g, threshold, options, auc);
      if (auc && auc->variance > 0) aucs.emplace_back(level, *auc);
    }
    out["test"] = subgroup_test(aucs, options.confidence);
    return out;
  };
  json variable = {{"not_given", not_given}, {"pooled", nullptr}, {"centres", json::object()}};
  for (const auto& [scope, levels] : by_scope) {
    if (scope.empty()) {
      variable["pooled"] = scope_json(levels);
    } else {
      variable["centres"][scope] = scope_json(levels);
    }
  }
  return variable;
}

const std::string& scanner_of(const dataset::AnalysisRow& r) { return r.scanner; }
const std::string& specimen_of(const dataset::AnalysisRow& r) { return r.specimen; }

}  // namespace

Result<json> build_report(const dataset::Dataset& dataset, const dataset::Predictions& predictions,
                          const ValidationOptions& options) {
  const dataset::JoinResult joined = dataset::join(dataset, predictions);
  if (joined.rows.empty()) {
    return Error{ErrorCode::invalid_argument, "no slide has both ground truth (not excluded) and a prediction"};
  }
  json parameters = {{"bootstrap_replicates", options.bootstrap_replicates},
                     {"ci_level", options.confidence},
                     {"ece_bins", options.ece_bins},
                     {"unit", "slide"},
                     {"patient_aggregation", options.patient_aggregation == stats::ScoreAggregation::max ? "max" : "mean"},
                     {"positive_rule", "score >= threshold"},
                     {"threshold_source", nullptr},
                     {"development_centre", nullptr},
                     {"target_sensitivity", nullptr},
                     {"reported_target_sensitivity", options.reported_target_sensitivity}};
  MCVAL_TRY_ASSIGN(threshold, choose_threshold(joined, options, parameters));

  // Groups: every centre, and all analysed slides together.
  std::map<std::string, Group> centres;
  Group pooled;
  for (const auto& r : joined.rows) {
    add_row(centres[r.centre], r);
    add_row(pooled, r);
  }

  json report;
  report["format"] = "mcval-validation-report/1";
  report["version"] = options.version;
  report["created_at"] = utc_now_iso8601();
  report["seed"] = options.seed;
  report["model_sha256"] = predictions.model_sha256().empty() ? json(nullptr) : json(predictions.model_sha256());
  report["model"] = predictions.model().empty() && predictions.model_sha256().empty()
                        ? json(nullptr)
                        : json{{"name", predictions.model()}, {"version", nullptr}, {"sha256", predictions.model_sha256()}};
  report["dataset"] = {{"name", dataset.name()}, {"sha256", dataset.sha256()}, {"rows", dataset.size()}};
  report["dataset_sha256"] = dataset.sha256();
  report["predictions"] = {{"source", options.predictions_source}, {"sha256", predictions.sha256()},
                           {"rows", predictions.size()}, {"unknown_slide_ids", joined.unknown_slide_ids.size()}};
  report["parameters"] = parameters;
  report["threshold"] = threshold;

  json flow = json::object();
  for (const auto& f : joined.centres) flow[f.centre] = flow_json(f);
  flow["total"] = flow_json(joined.total);
  report["flow"] = flow;

  report["pooled"] = group_stats(pooled, threshold, options, group_seed(options.seed, ""), true, nullptr);
  json centre_stats = json::object();
  std::vector<stats::CentreAuc> aucs;
  std::vector<std::string> pooled_names;
  for (const auto& [name, group] : centres) {
    stats::CentreAuc auc;
    centre_stats[name] = group_stats(group, threshold, options, group_seed(options.seed, name), true, &auc);
    if (options.development_centre && name == *options.development_centre) centre_stats[name]["development"] = true;
    if (std::isfinite(auc.auc)) {
      aucs.push_back(auc);
      pooled_names.push_back(name);
    }
  }
  report["centres"] = centre_stats;

  report["heterogeneity"] = detail::heterogeneity_json(aucs, pooled_names, options.confidence);

  report["subgroups"] = {{"variables", {"scanner", "specimen"}},
                         {"small_below", {{"slides", kSmallSubgroupSlides}, {"per_class", kSmallSubgroupPerClass}}},
                         {"scanner", subgroup_variable(joined.rows, scanner_of, threshold, options)},
                         {"specimen", subgroup_variable(joined.rows, specimen_of, threshold, options)}};

  // Patient level: slides of a patient aggregated within each centre.
  json patient_level = {{"aggregation", parameters["patient_aggregation"]}, {"centres", json::object()}};
  if (auto patients = patient_group(pooled, options.patient_aggregation); patients.ok()) {
    patient_level["pooled"] = group_stats(*patients, threshold, options, group_seed(options.seed, "patients"), false, nullptr);
  }
  for (const auto& [name, group] : centres) {
    if (auto patients = patient_group(group, options.patient_aggregation); patients.ok()) {
      patient_level["centres"][name] =
          group_stats(*patients, threshold, options, group_seed(options.seed, "patients/" + name), false, nullptr);
    }
  }
  report["patient_level"] = patient_level;

  json misclassified = json::array();
  for (const auto& r : joined.rows) {
    const int predicted = r.score >= threshold ? 1 : 0;
    if (predicted == r.label) continue;
    json row = {{"slide_id", r.slide_id}, {"centre", r.centre}, {"patient_id", r.patient_id}, {"label", r.label},
                {"score", r.score}, {"predicted", predicted},
                {"kind", r.label == 1 ? "false negative" : "false positive"}, {"viewer_url", nullptr}};
    if (options.catalogue_id) {
      if (auto id = options.catalogue_id(r.slide_id)) {
        std::string url = "/#bg=" + *id;
        if (!options.heatmap_model.empty()) url += "&heatmap=" + options.heatmap_model.substr(0, 16);
        row["viewer_url"] = url;
      }
    }
    misclassified.push_back(row);
  }
  report["misclassified"] = misclassified;
  report["files"] = {{"per_slide_csv", "per_slide.csv"}, {"html", "report.html"}};
  return report;
}

std::string per_slide_csv(const dataset::JoinResult& joined, double threshold) {
  auto quoted = [](const std::string& s) {
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) {
      if (c == '"') q += '"';
      q += c;
    }
    return q + "\"";
  };
  std::ostringstream out;
  out.precision(17);
  out << "slide_id,centre,patient_id,label,score,predicted,outcome,isup_grade,isup_pred\n";
  for (const auto& r : joined.rows) {
    const int predicted = r.score >= threshold ? 1 : 0;
    const char* outcome = predicted == 1 ? (r.label == 1 ? "TP" : "FP") : (r.label == 1 ? "FN" : "TN");
    out << quoted(r.slide_id) << ',' << quoted(r.centre) << ',' << quoted(r.patient_id) << ',' << r.label << ','
        << r.score << ',' << predicted << ',' << outcome << ','
        << (r.isup_grade ? std::to_string(*r.isup_grade) : "") << ','
        << (r.isup_pred ? std::to_string(*r.isup_pred) : "") << '\n';
  }
  return out.str();
}

}  // namespace mcval::validation
