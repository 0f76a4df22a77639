#include "report_data.h"

#include <cmath>
#include <limits>
#include <string_view>

namespace mcval::report {
namespace {

using nlohmann::json;

constexpr std::string_view kFormat = "mcval-validation-report/1";
constexpr std::size_t kMaxProblems = 20;

std::string join_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

const char* type_name(const json& value) { return value.type_name(); }

// Reads typed values out of JSON objects, recording every problem with its key path instead of
// stopping at the first, so that one run names everything a producer got wrong.
class Reader {
 public:
  const std::vector<std::string>& problems() const { return problems_; }

  bool truncated() const { return truncated_; }

  void problem(std::string text) {
    if (problems_.size() < kMaxProblems) {
      problems_.push_back(std::move(text));
    } else {
      truncated_ = true;
    }
  }

  // The member `key` of `object`, or nullptr when absent or null; a missing required member is
  // a problem.
  const json* member(const json& object, std::string_view key, const std::string& path, bool required) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) {
      if (required) problem("missing required key '" + join_path(path, key) + "'");
      return nullptr;
    }
    return &*it;
  }

  const json* object(const json& parent, std::string_view key, const std::string& path, bool required = false) {
    const json* value = member(parent, key, path, required);
    if (value == nullptr) return nullptr;
    if (!value->is_object()) {
      wrong_type(path, key, "an object", *value);
      return nullptr;
    }
    return value;
  }

  const json* array(const json& parent, std::string_view key, const std::string& path, bool required = false) {
    const json* value = member(parent, key, path, required);
    if (value == nullptr) return nullptr;
    if (!value->is_array()) {
      wrong_type(path, key, "an array", *value);
      return nullptr;
    }
    return value;
  }

  std::optional<double> number(const json& parent, std::string_view key, const std::string& path,
                               bool required = false) {
    const json* value = member(parent, key, path, required);
    if (value == nullptr) return std::nullopt;
    return as_number(*value, join_path(path, key));
  }

  std::optional<double> as_number(const json& value, const std::string& full_path) {
    if (!value.is_number()) {
      problem("'" + full_path + "' must be a number, not " + type_name(value));
      return std::nullopt;
    }
    const double number = value.get<double>();
    if (!std::isfinite(number)) {
      problem("'" + full_path + "' must be finite");
      return std::nullopt;
    }
    return number;
  }

  // A non-negative whole number (a count); 12.0 is accepted, 12.5 is not.
  std::optional<std::int64_t> count(const json& parent, std::string_view key, const std::string& path,
                                    bool required = false) {
    const json* value = member(parent, key, path, required);
    if (value == nullptr) return std::nullopt;
    return as_count(*value, join_path(path, key));
  }

  std::optional<std::int64_t> as_count(const json& value, const std::string& full_path) {
    if (value.is_number_unsigned()) {
      const auto unsigned_value = value.get<std::uint64_t>();
      if (unsigned_value <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return static_cast<std::int64_t>(unsigned_value);
      }
    } else if (value.is_number_integer()) {
      const auto signed_value = value.get<std::int64_t>();
      if (signed_value >= 0) return signed_value;
    } else if (value.is_number_float()) {
      const double number = value.get<double>();
      if (std::isfinite(number) && number >= 0 && number < 9.0e15 && std::floor(number) == number) {
        return static_cast<std::int64_t>(number);
      }
    } else {
      problem("'" + full_path + "' must be a whole number, not " + type_name(value));
      return std::nullopt;
    }
    problem("'" + full_path + "' must be a non-negative whole number");
    return std::nullopt;
  }

  std::optional<std::string> text(const json& parent, std::string_view key, const std::string& path,
                                  bool required = false) {
    const json* value = member(parent, key, path, required);
    if (value == nullptr) return std::nullopt;
    if (!value->is_string()) {
      wrong_type(path, key, "a string", *value);
      return std::nullopt;
    }
    return value->get<std::string>();
  }

  // The seed as written: a whole number (possibly beyond int64) or a string.
  std::optional<std::string> seed(const json& parent, const std::string& path) {
    const json* value = member(parent, "seed", path, false);
    if (value == nullptr) return std::nullopt;
    if (value->is_number_integer()) return value->dump();
    if (value->is_string()) return value->get<std::string>();
    wrong_type(path, "seed", "a whole number", *value);
    return std::nullopt;
  }

  Estimate estimate(const json& parent, std::string_view key, const std::string& path) {
    Estimate out;
    const json* value = object(parent, key, path);
    if (value == nullptr) return out;
    const std::string here = join_path(path, key);
    out.estimate = number(*value, "estimate", here);
    out.ci_low = number(*value, "ci_low", here);
    out.ci_high = number(*value, "ci_high", here);
    return out;
  }

 private:
  void wrong_type(const std::string& path, std::string_view key, const char* expected, const json& value) {
    problem("'" + join_path(path, key) + "' must be " + expected + ", not " + type_name(value));
  }

  std::vector<std::string> problems_;
  bool truncated_ = false;
};

/// One value of a per-threshold array: a number, or nullopt for null or a short array.
std::optional<double> array_value(Reader& reader, const json* values, std::size_t k, const std::string& at) {
  if (values == nullptr || k >= values->size() || (*values)[k].is_null()) return std::nullopt;
  return reader.as_number((*values)[k], at + "[" + std::to_string(k) + "]");
}

DecisionCurveData read_decision_curve(Reader& reader, const json& value, const std::string& path) {
  DecisionCurveData out;
  const json* thresholds = reader.array(value, "thresholds", path, true);
  const json* model = reader.array(value, "model", path, true);
  const json* treat_all = reader.array(value, "treat_all", path, true);
  const json* low = nullptr;
  const json* high = nullptr;
  if (const json* band = reader.object(value, "band", path)) {
    const std::string here = join_path(path, "band");
    low = reader.array(*band, "model_low", here);
    high = reader.array(*band, "model_high", here);
    out.band_replicates = reader.count(*band, "replicates", here);
  }
  if (thresholds != nullptr) {
    for (std::size_t k = 0; k < thresholds->size(); ++k) {
      const auto t = reader.as_number((*thresholds)[k], join_path(path, "thresholds") + "[" + std::to_string(k) + "]");
      if (!t) continue;
      out.points.push_back({*t, array_value(reader, model, k, join_path(path, "model")),
                            array_value(reader, treat_all, k, join_path(path, "treat_all")),
                            array_value(reader, low, k, join_path(path, "band.model_low")),
                            array_value(reader, high, k, join_path(path, "band.model_high"))});
    }
  }
  if (const json* at = reader.object(value, "at_threshold", path)) {
    const std::string here = join_path(path, "at_threshold");
    out.at_threshold_model = reader.number(*at, "model", here);
    out.at_threshold_treat_all = reader.number(*at, "treat_all", here);
    out.at_threshold_low = reader.number(*at, "ci_low", here);
    out.at_threshold_high = reader.number(*at, "ci_high", here);
  }
  return out;
}

CentreStats read_centre_stats(Reader& reader, const json& value, const std::string& path) {
  CentreStats stats;
  stats.n = reader.count(value, "n", path, true).value_or(0);
  stats.n_positive = reader.count(value, "n_positive", path, true).value_or(0);
  if (stats.n_positive > stats.n) reader.problem("'" + join_path(path, "n_positive") + "' exceeds 'n'");

  stats.auc = reader.estimate(value, "auc", path);
  if (const json* auc = reader.object(value, "auc", path)) {
    stats.auc_se_delong = reader.number(*auc, "se_delong", join_path(path, "auc"));
  }
  if (const json* boot = reader.object(value, "auc_bootstrap", path)) {
    const std::string here = join_path(path, "auc_bootstrap");
    stats.auc_bootstrap_low = reader.number(*boot, "ci_low", here);
    stats.auc_bootstrap_high = reader.number(*boot, "ci_high", here);
    stats.auc_bootstrap_replicates = reader.count(*boot, "replicates", here);
    stats.auc_bootstrap_method = reader.text(*boot, "method", here).value_or("");
  }
  stats.sensitivity = reader.estimate(value, "sensitivity", path);
  stats.specificity = reader.estimate(value, "specificity", path);
  stats.ppv = reader.estimate(value, "ppv", path);
  stats.npv = reader.estimate(value, "npv", path);

  if (const json* confusion = reader.object(value, "confusion", path)) {
    const std::string here = join_path(path, "confusion");
    const auto tp = reader.count(*confusion, "tp", here, true);
    const auto fp = reader.count(*confusion, "fp", here, true);
    const auto tn = reader.count(*confusion, "tn", here, true);
    const auto fn = reader.count(*confusion, "fn", here, true);
    if (tp && fp && tn && fn) stats.confusion = Confusion{*tp, *fp, *tn, *fn};
  }
  if (const json* target = reader.object(value, "threshold_for_target_sensitivity", path)) {
    const std::string here = join_path(path, "threshold_for_target_sensitivity");
    stats.target_sensitivity = reader.number(*target, "target", here);
    stats.threshold_for_target = reader.number(*target, "threshold", here);
  }
  stats.brier = reader.number(value, "brier", path);
  stats.ece = reader.number(value, "ece", path);
  stats.ece_bins = reader.count(value, "ece_bins", path);
  if (const json* calibration = reader.object(value, "calibration", path)) {
    const std::string here = join_path(path, "calibration");
    stats.calibration_slope = reader.number(*calibration, "slope", here);
    stats.calibration_intercept = reader.number(*calibration, "intercept", here);
  }

  if (const json* bins = reader.array(value, "reliability", path)) {
    const std::string here = join_path(path, "reliability");
    for (std::size_t i = 0; i < bins->size(); ++i) {
      const json& bin = (*bins)[i];
      const std::string at = here + "[" + std::to_string(i) + "]";
      if (!bin.is_object()) {
        reader.problem("'" + at + "' must be an object, not " + type_name(bin));
        continue;
      }
      ReliabilityBin out;
      out.bin_low = reader.number(bin, "bin_low", at);
      out.bin_high = reader.number(bin, "bin_high", at);
      out.count = reader.count(bin, "count", at).value_or(0);
      out.mean_predicted = reader.number(bin, "mean_predicted", at);
      out.observed = reader.number(bin, "observed", at);
      stats.reliability.push_back(out);
    }
  }

  if (const json* roc = reader.array(value, "roc", path)) {
    const std::string here = join_path(path, "roc");
    for (std::size_t i = 0; i < roc->size(); ++i) {
      const json& point = (*roc)[i];
      const std::string at = here + "[" + std::to_string(i) + "]";
      if (!point.is_object()) {
        reader.problem("'" + at + "' must be an object, not " + type_name(point));
        continue;
      }
      const auto fpr = reader.number(point, "fpr", at, true);
      const auto tpr = reader.number(point, "tpr", at, true);
      reader.number(point, "threshold", at);
      if (fpr && tpr) stats.roc.push_back(RocPoint{*fpr, *tpr});
    }
  }

  stats.qwk = reader.estimate(value, "qwk", path);

  if (const json* calibration = reader.object(value, "calibration", path)) {
    if (const json* smooth = reader.object(*calibration, "smoothed", join_path(path, "calibration"))) {
      const std::string here = join_path(path, "calibration.smoothed");
      SmoothedCalibrationData sc;
      sc.ici = reader.number(*smooth, "ici", here);
      sc.e50 = reader.number(*smooth, "e50", here);
      sc.e90 = reader.number(*smooth, "e90", here);
      sc.emax = reader.number(*smooth, "emax", here);
      if (const json* curve = reader.object(*smooth, "curve", here)) {
        const std::string at = join_path(here, "curve");
        const json* predicted = reader.array(*curve, "predicted", at, true);
        const json* observed = reader.array(*curve, "observed", at, true);
        const json* low = reader.array(*curve, "band_low", at);
        const json* high = reader.array(*curve, "band_high", at);
        if (predicted != nullptr && observed != nullptr) {
          for (std::size_t k = 0; k < predicted->size() && k < observed->size(); ++k) {
            const auto x = array_value(reader, predicted, k, join_path(at, "predicted"));
            const auto y = array_value(reader, observed, k, join_path(at, "observed"));
            if (!x || !y) continue;
            sc.predicted.push_back(*x);
            sc.observed.push_back(*y);
            if (low != nullptr && high != nullptr) {
              sc.band_low.push_back(array_value(reader, low, k, join_path(at, "band_low")));
              sc.band_high.push_back(array_value(reader, high, k, join_path(at, "band_high")));
            }
          }
        }
      }
      stats.smoothed_calibration = std::move(sc);
    }
  }

  if (const json* dca = reader.object(value, "decision_curve", path)) {
    stats.decision_curve = read_decision_curve(reader, *dca, join_path(path, "decision_curve"));
  }

  if (const json* matrix = reader.array(value, "isup_confusion", path)) {
    const std::string here = join_path(path, "isup_confusion");
    std::vector<std::vector<std::int64_t>> rows;
    bool valid = true;
    for (std::size_t r = 0; r < matrix->size() && valid; ++r) {
      const json& row = (*matrix)[r];
      if (!row.is_array() || row.size() != matrix->size()) {
        reader.problem("'" + here + "' must be a square matrix (array of " + std::to_string(matrix->size()) +
                       " arrays of " + std::to_string(matrix->size()) + " counts)");
        valid = false;
        break;
      }
      std::vector<std::int64_t> counts;
      for (std::size_t c = 0; c < row.size(); ++c) {
        const auto cell = reader.as_count(row[c], here + "[" + std::to_string(r) + "][" + std::to_string(c) + "]");
        if (!cell) {
          valid = false;
          break;
        }
        counts.push_back(*cell);
      }
      rows.push_back(std::move(counts));
    }
    if (valid) stats.isup_confusion = std::move(rows);
  }
  return stats;
}

std::vector<NamedStats> read_centres(Reader& reader, const json& centres, const std::string& path) {
  std::vector<NamedStats> out;
  for (const auto& [name, value] : centres.items()) {
    const std::string here = join_path(path, name);
    if (!value.is_object()) {
      reader.problem("'" + here + "' must be an object, not " + type_name(value));
      continue;
    }
    out.push_back(NamedStats{name, read_centre_stats(reader, value, here)});
  }
  return out;
}

FlowRow read_flow_row(Reader& reader, const std::string& centre, const json& value, const std::string& path) {
  FlowRow row;
  row.centre = centre;
  row.received = reader.count(value, "received", path);
  if (const json* excluded = reader.object(value, "excluded", path)) {
    const std::string here = join_path(path, "excluded");
    for (const auto& [reason, count] : excluded->items()) {
      if (const auto n = reader.as_count(count, join_path(here, reason))) row.excluded.emplace_back(reason, *n);
    }
  }
  row.failed_inference = reader.count(value, "failed_inference", path);
  if (const json* failed = reader.object(value, "failed", path)) {
    const std::string here = join_path(path, "failed");
    for (const auto& [reason, count] : failed->items()) {
      if (const auto n = reader.as_count(count, join_path(here, reason))) row.failed.emplace_back(reason, *n);
    }
  }
  row.analysed = reader.count(value, "analysed", path);
  return row;
}

void read_subgroup_scope(Reader& reader, const json& value, const std::string& scope, const std::string& path,
                         SubgroupVariable& out) {
  if (const json* levels = reader.object(value, "levels", path)) {
    for (auto it = levels->begin(); it != levels->end(); ++it) {
      if (!it.value().is_object()) continue;
      const std::string here = join_path(join_path(path, "levels"), it.key());
      SubgroupRow row;
      row.scope = scope;
      row.level = it.key();
      row.n = reader.count(it.value(), "n", here).value_or(0);
      row.n_positive = reader.count(it.value(), "n_positive", here).value_or(0);
      row.auc = reader.estimate(it.value(), "auc", here);
      row.sensitivity = reader.estimate(it.value(), "sensitivity", here);
      row.specificity = reader.estimate(it.value(), "specificity", here);
      const auto small = it.value().find("small");
      row.small = small != it.value().end() && small->is_boolean() && small->get<bool>();
      out.rows.push_back(std::move(row));
    }
  }
  if (const json* test = reader.object(value, "test", path)) {
    const std::string here = join_path(path, "test");
    out.tests.push_back({scope, reader.text(*test, "method", here), reader.number(*test, "statistic", here),
                         reader.number(*test, "df", here), reader.number(*test, "p", here)});
  }
}

std::vector<SubgroupVariable> read_subgroups(Reader& reader, const json& value) {
  std::vector<SubgroupVariable> out;
  const json* names = reader.array(value, "variables", "subgroups");
  if (names == nullptr) return out;
  for (const json& name : *names) {
    if (!name.is_string()) continue;
    const std::string path = join_path("subgroups", name.get<std::string>());
    const json* variable = reader.object(value, name.get<std::string>(), "subgroups");
    if (variable == nullptr) continue;
    SubgroupVariable v;
    v.name = name.get<std::string>();
    v.not_given = reader.count(*variable, "not_given", path).value_or(0);
    if (const json* pooled = reader.object(*variable, "pooled", path)) {
      read_subgroup_scope(reader, *pooled, "", join_path(path, "pooled"), v);
    }
    if (const json* centres = reader.object(*variable, "centres", path)) {
      for (auto it = centres->begin(); it != centres->end(); ++it) {
        if (it.value().is_object()) {
          read_subgroup_scope(reader, it.value(), it.key(), join_path(join_path(path, "centres"), it.key()), v);
        }
      }
    }
    if (!v.rows.empty()) out.push_back(std::move(v));
  }
  return out;
}

Heterogeneity read_heterogeneity(Reader& reader, const json& value) {
  const std::string path = "heterogeneity";
  Heterogeneity out;
  out.k = reader.count(value, "k", path);
  out.q = reader.number(value, "q", path);
  out.df = reader.count(value, "df", path);
  out.p = reader.number(value, "p", path);
  out.i2 = reader.number(value, "i2", path);
  out.tau2 = reader.number(value, "tau2", path);
  out.fixed_effect = reader.estimate(value, "pooled_auc_fixed_effect", path);
  out.random_effects = reader.estimate(value, "pooled_auc_random_effects", path);
  if (const json* interval = reader.object(value, "prediction_interval", path)) {
    out.prediction_low = reader.number(*interval, "low", join_path(path, "prediction_interval"));
    out.prediction_high = reader.number(*interval, "high", join_path(path, "prediction_interval"));
  }
  out.boundary_method = reader.text(value, "boundary_method", path);
  out.note = reader.text(value, "note", path);
  if (const json* corrected = reader.array(value, "corrected_centres", path)) {
    for (const json& centre : *corrected) {
      if (centre.is_string()) out.corrected_centres.push_back(centre.get<std::string>());
    }
  }
  return out;
}

void read_federated(Reader& reader, const json& value, ReportData& out) {
  const std::string path = "federated";
  out.has_federated = true;
  out.federated.note = reader.text(value, "note", path);
  out.federated.histogram_bins = reader.count(value, "histogram_bins", path);
  if (const json* auc = reader.object(value, "pooled_auc_histogram", path)) {
    out.federated.histogram_auc = reader.number(*auc, "estimate", join_path(path, "pooled_auc_histogram"));
    out.federated.histogram_auc_error_bound =
        reader.number(*auc, "error_bound", join_path(path, "pooled_auc_histogram"));
  }
  const json* summaries = reader.array(value, "summaries", path);
  if (summaries == nullptr) return;
  for (std::size_t i = 0; i < summaries->size(); ++i) {
    const json& summary = (*summaries)[i];
    const std::string at = path + ".summaries[" + std::to_string(i) + "]";
    if (!summary.is_object()) {
      reader.problem("'" + at + "' must be an object, not " + type_name(summary));
      continue;
    }
    FederatedSource source;
    if (const json* centres = reader.array(summary, "centres", at)) {
      for (std::size_t c = 0; c < centres->size(); ++c) {
        if ((*centres)[c].is_string()) {
          source.centres.push_back((*centres)[c].get<std::string>());
        } else {
          reader.problem("'" + at + ".centres[" + std::to_string(c) + "]' must be a string");
        }
      }
    }
    source.content_sha256 = reader.text(summary, "content_sha256", at).value_or("");
    source.created_at = reader.text(summary, "created_at", at).value_or("");
    source.dataset_sha256 = reader.text(summary, "dataset_sha256", at).value_or("");
    source.predictions_sha256 = reader.text(summary, "predictions_sha256", at).value_or("");
    source.version = reader.text(summary, "version", at).value_or("");
    out.federated.sources.push_back(std::move(source));
  }
}

void read_misclassified(Reader& reader, const json& rows, ReportData& out) {
  out.has_misclassified = true;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const json& row = rows[i];
    const std::string at = "misclassified[" + std::to_string(i) + "]";
    if (!row.is_object()) {
      reader.problem("'" + at + "' must be an object, not " + type_name(row));
      continue;
    }
    MisclassifiedSlide slide;
    slide.slide_id = reader.text(row, "slide_id", at, true).value_or("");
    slide.centre = reader.text(row, "centre", at).value_or("");
    slide.patient_id = reader.text(row, "patient_id", at).value_or("");
    slide.label = reader.count(row, "label", at);
    slide.score = reader.number(row, "score", at);
    slide.predicted = reader.count(row, "predicted", at);
    slide.kind = reader.text(row, "kind", at).value_or("");
    slide.viewer_url = reader.text(row, "viewer_url", at).value_or("");
    out.misclassified.push_back(std::move(slide));
  }
}

}  // namespace

Result<ReportData> read_report(const nlohmann::json& report) {
  if (!report.is_object()) {
    return Error{ErrorCode::invalid_argument, std::string("report must be a JSON object, not ") + type_name(report)};
  }
  Reader reader;
  ReportData out;
  const std::string root;

  out.format = reader.text(report, "format", root, true).value_or("");
  if (report.contains("format") && report.at("format").is_string() && out.format != kFormat) {
    reader.problem("'format' is \"" + out.format + "\", expected \"" + std::string(kFormat) + "\"");
  }
  out.version = reader.text(report, "version", root, true).value_or("");
  out.dataset_sha256 = reader.text(report, "dataset_sha256", root, true).value_or("");
  out.threshold = reader.number(report, "threshold", root, true).value_or(0.5);
  const json* pooled = reader.object(report, "pooled", root, true);
  const json* centres = reader.object(report, "centres", root, true);
  const json* heterogeneity = reader.object(report, "heterogeneity", root, true);
  const json* flow = reader.object(report, "flow", root, true);

  out.created_at = reader.text(report, "created_at", root);
  out.seed = reader.seed(report, root);

  const auto top_model_sha = reader.text(report, "model_sha256", root);
  if (const json* model = reader.object(report, "model", root)) {
    out.has_model = true;
    out.model_name = reader.text(*model, "name", "model");
    out.model_version = reader.text(*model, "version", "model");
    out.model_sha256 = reader.text(*model, "sha256", "model");
  }
  if (!out.model_sha256) out.model_sha256 = top_model_sha;

  if (const json* dataset = reader.object(report, "dataset", root)) {
    out.dataset_name = reader.text(*dataset, "name", "dataset");
    reader.text(*dataset, "sha256", "dataset");
    out.dataset_rows = reader.count(*dataset, "rows", "dataset");
  }
  if (const json* predictions = reader.object(report, "predictions", root)) {
    out.has_predictions = true;
    out.predictions_source = reader.text(*predictions, "source", "predictions");
    out.predictions_sha256 = reader.text(*predictions, "sha256", "predictions");
    out.predictions_rows = reader.count(*predictions, "rows", "predictions");
  }
  if (const json* parameters = reader.object(report, "parameters", root)) {
    const std::string here = "parameters";
    out.has_parameters = true;
    out.threshold_source = reader.text(*parameters, "threshold_source", here);
    out.development_centre = reader.text(*parameters, "development_centre", here);
    out.target_sensitivity = reader.number(*parameters, "target_sensitivity", here);
    out.reported_target_sensitivity = reader.number(*parameters, "reported_target_sensitivity", here);
    out.bootstrap_replicates = reader.count(*parameters, "bootstrap_replicates", here);
    out.ci_level = reader.number(*parameters, "ci_level", here);
    if (out.ci_level && (*out.ci_level <= 0 || *out.ci_level >= 1)) {
      reader.problem("'parameters.ci_level' must lie strictly between 0 and 1");
      out.ci_level.reset();
    }
    out.ece_bins = reader.count(*parameters, "ece_bins", here);
    out.unit = reader.text(*parameters, "unit", here);
    out.patient_aggregation = reader.text(*parameters, "patient_aggregation", here);
  }

  if (flow != nullptr) {
    for (const auto& [centre, value] : flow->items()) {
      const std::string here = join_path("flow", centre);
      if (!value.is_object()) {
        reader.problem("'" + here + "' must be an object, not " + type_name(value));
        continue;
      }
      FlowRow row = read_flow_row(reader, centre, value, here);
      if (centre == "total") {
        out.flow_total = std::move(row);
      } else {
        out.flow.push_back(std::move(row));
      }
    }
  }
  if (pooled != nullptr) out.pooled = read_centre_stats(reader, *pooled, "pooled");
  if (centres != nullptr) out.centres = read_centres(reader, *centres, "centres");
  if (heterogeneity != nullptr) out.heterogeneity = read_heterogeneity(reader, *heterogeneity);
  if (const json* subgroups = reader.object(report, "subgroups", root)) out.subgroups = read_subgroups(reader, *subgroups);

  if (const json* patient = reader.object(report, "patient_level", root)) {
    out.has_patient_level = true;
    if (const json* patient_pooled = reader.object(*patient, "pooled", "patient_level", true)) {
      out.patient_pooled = read_centre_stats(reader, *patient_pooled, "patient_level.pooled");
    }
    if (const json* patient_centres = reader.object(*patient, "centres", "patient_level")) {
      out.patient_centres = read_centres(reader, *patient_centres, "patient_level.centres");
    }
  }
  if (const json* rows = reader.array(report, "misclassified", root)) read_misclassified(reader, *rows, out);
  if (const json* federated = reader.object(report, "federated", root)) read_federated(reader, *federated, out);
  if (const json* files = reader.object(report, "files", root)) {
    out.per_slide_csv = reader.text(*files, "per_slide_csv", "files");
    reader.text(*files, "html", "files");
  }

  if (!reader.problems().empty()) {
    std::string detail = "invalid report.json: ";
    for (std::size_t i = 0; i < reader.problems().size(); ++i) {
      if (i > 0) detail += "; ";
      detail += reader.problems()[i];
    }
    if (reader.truncated()) detail += "; (further problems not listed)";
    return Error{ErrorCode::invalid_argument, std::move(detail)};
  }
  return out;
}

}  // namespace mcval::report
