#include "mcval/validation/federated.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>

#include "mcval/common/clock.h"
#include "mcval/common/sha256.h"
#include "mcval/dataset/join.h"
#include "mcval/stats/binary.h"
#include "mcval/stats/calibration.h"
#include "mcval/stats/decision_curve.h"
#include "mcval/stats/distributions.h"
#include "mcval/stats/kappa.h"
#include "mcval/stats/meta.h"
#include "mcval/stats/roc.h"
#include "mcval/stats/smoothed_calibration.h"
#include "report_json.h"

namespace mcval::validation {

namespace {

using nlohmann::json;
using detail::flow_json;
using detail::number_or_null;
using detail::proportion_json;

constexpr int kIsupClasses = 6;
constexpr const char* kSummaryFormat = "mcval-federated-summary/1";

int histogram_bin(double score) {
  return std::clamp(static_cast<int>(std::floor(score * kSummaryHistogramBins)), 0, kSummaryHistogramBins - 1);
}

/// A summary that comes from another site holds numbers nobody here produced. Each one is checked
/// before it takes part in any arithmetic: a float where a count belongs (1e300) would otherwise be
/// converted with undefined behaviour, and counts past 2^48 could overflow once summed.
constexpr std::int64_t kMaxSummaryCount = std::int64_t{1} << 48;
constexpr std::int64_t kMaxEceBins = 1000;
constexpr std::int64_t kMaxDecisionBandSlides = 10'000'000;

class MalformedSummary : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::int64_t summary_count(const json& value, std::string_view what) {
  const bool is_count = value.is_number_unsigned()
                            ? value.get<std::uint64_t>() <= static_cast<std::uint64_t>(kMaxSummaryCount)
                            : value.is_number_integer() && value.get<std::int64_t>() >= 0 &&
                                  value.get<std::int64_t>() <= kMaxSummaryCount;
  if (!is_count) {
    throw MalformedSummary(std::string(what) + " is not a count (an integer from 0 to 2^48): " +
                           value.dump().substr(0, 64));
  }
  return value.get<std::int64_t>();
}

/// object[key] as a count; `fallback` where the key is absent.
std::int64_t summary_count_or(const json& object, const char* key, std::int64_t fallback) {
  if (!object.is_object()) throw MalformedSummary(std::string("the object holding \"") + key + "\" is not an object");
  const auto it = object.find(key);
  return it == object.end() ? fallback : summary_count(*it, key);
}

/// A finite real number from a summary (sums of scores), bounded like the counts it goes with.
double summary_real(const json& value, std::string_view what) {
  const bool is_real = value.is_number() && std::isfinite(value.get<double>()) &&
                       std::abs(value.get<double>()) <= static_cast<double>(kMaxSummaryCount);
  if (!is_real) throw MalformedSummary(std::string(what) + " is not a finite number: " + value.dump().substr(0, 64));
  return value.get<double>();
}

/// Aggregates of one centre's analysed slides. Nothing in it identifies a slide or a patient.
json centre_summary(const std::vector<const dataset::AnalysisRow*>& rows, double threshold,
                    const ValidationOptions& options) {
  std::vector<int> labels;
  std::vector<double> scores;
  std::vector<int> grades_true, grades_pred;
  std::vector<std::int64_t> positive(kSummaryHistogramBins, 0), negative(kSummaryHistogramBins, 0);
  double brier_sum = 0;
  for (const auto* r : rows) {
    labels.push_back(r->label);
    scores.push_back(r->score);
    (r->label == 1 ? positive : negative)[static_cast<std::size_t>(histogram_bin(r->score))] += 1;
    brier_sum += (r->score - r->label) * (r->score - r->label);
    if (r->isup_grade && r->isup_pred) {
      grades_true.push_back(*r->isup_grade);
      grades_pred.push_back(*r->isup_pred);
    }
  }
  json c;
  c["n"] = labels.size();
  c["n_positive"] = std::count(labels.begin(), labels.end(), 1);
  c["score_histogram"] = {{"positive", positive}, {"negative", negative}};
  c["brier_sum"] = brier_sum;
  if (auto confusion = stats::confusion_at(labels, scores, threshold); confusion.ok()) {
    c["confusion"] = {{"tp", confusion->tp}, {"fp", confusion->fp}, {"tn", confusion->tn}, {"fn", confusion->fn}};
  }
  if (auto rel = stats::reliability(labels, scores, options.ece_bins); rel.ok()) {
    json bins = json::array();
    for (const auto& b : rel->bins) {
      const double count = static_cast<double>(b.count);
      bins.push_back({{"count", b.count},
                      {"sum_predicted", b.count ? b.mean_predicted * count : 0.0},
                      {"sum_observed", b.count ? std::llround(b.observed_fraction * count) : 0}});
    }
    c["calibration_bins"] = bins;
  }
  if (auto delong = stats::delong_auc(labels, scores, options.confidence); delong.ok()) {
    c["auc"] = {{"estimate", delong->auc}, {"variance_delong", delong->variance}};
  } else {
    c["auc"] = nullptr;
  }
  json calibration = {{"slope", nullptr}, {"intercept", nullptr}};
  if (auto slope = stats::calibration_slope(labels, scores); slope.ok()) calibration["slope"] = slope->slope;
  if (auto citl = stats::calibration_in_the_large(labels, scores); citl.ok()) calibration["intercept"] = citl->intercept;
  // The calibration errors only: the smoothed curve's grid would carry the extreme scores.
  if (auto smooth = stats::smoothed_calibration(labels, scores); smooth.ok()) {
    calibration["smoothed"] = {{"method", stats::kSmoothedCalibrationMethod},
                               {"ici", smooth->ici}, {"e50", smooth->e50}, {"e90", smooth->e90},
                               {"emax", smooth->emax}, {"curve", nullptr}};
  }
  c["calibration"] = calibration;
  if (auto dca = stats::decision_curve(labels, scores, detail::decision_thresholds(threshold)); dca.ok()) {
    c["decision_counts"] = {{"thresholds", dca->thresholds}, {"tp", dca->true_positives}, {"fp", dca->false_positives}};
  }
  if (auto t = stats::threshold_for_sensitivity(labels, scores, options.reported_target_sensitivity); t.ok()) {
    c["threshold_for_target_sensitivity"] = {{"target", options.reported_target_sensitivity}, {"threshold", t->threshold}};
  }
  if (!grades_true.empty()) {
    if (auto m = stats::grade_confusion(grades_true, grades_pred, kIsupClasses); m.ok()) {
      json matrix = json::array();
      for (int t = 0; t < kIsupClasses; ++t) {
        json row = json::array();
        for (int p = 0; p < kIsupClasses; ++p) row.push_back(m->counts[static_cast<std::size_t>(t * kIsupClasses + p)]);
        matrix.push_back(row);
      }
      c["isup_confusion"] = matrix;
    }
  }
  return c;
}


// ---- combining ----

/// The seed of a centre's decision-curve band, as the centralised report derives it.
std::uint64_t decision_seed(std::uint64_t seed, const std::string& name) {
  return detail::group_seed(seed, name) ^ detail::kDecisionCurveSeedSalt;
}

struct Histogram {
  std::vector<std::int64_t> positive = std::vector<std::int64_t>(kSummaryHistogramBins, 0);
  std::vector<std::int64_t> negative = std::vector<std::int64_t>(kSummaryHistogramBins, 0);
};

/// AUC from per-class histograms (pairs in the same bin count 1/2) and the worst-case bound
/// on its distance to the exact AUC: half the share of positive-negative pairs sharing a bin.
std::pair<double, double> histogram_auc(const Histogram& h) {
  double below = 0, wins = 0, same_bin = 0, p = 0, n = 0;
  for (int b = 0; b < kSummaryHistogramBins; ++b) {
    const double pos = static_cast<double>(h.positive[static_cast<std::size_t>(b)]);
    const double neg = static_cast<double>(h.negative[static_cast<std::size_t>(b)]);
    wins += pos * below + 0.5 * pos * neg;
    same_bin += pos * neg;
    below += neg;
    p += pos;
    n += neg;
  }
  if (p == 0 || n == 0) return {std::nan(""), std::nan("")};
  return {wins / (p * n), 0.5 * same_bin / (p * n)};
}

/// ROC points at the histogram's bin edges, from threshold 1 down to 0.
json histogram_roc(const Histogram& h) {
  double p = 0, n = 0;
  for (int b = 0; b < kSummaryHistogramBins; ++b) {
    p += static_cast<double>(h.positive[static_cast<std::size_t>(b)]);
    n += static_cast<double>(h.negative[static_cast<std::size_t>(b)]);
  }
  json points = json::array();
  if (p == 0 || n == 0) return points;
  double tp = 0, fp = 0;
  points.push_back({{"fpr", 0.0}, {"tpr", 0.0}, {"threshold", 1.0}});
  constexpr int kStep = kSummaryHistogramBins / 200;
  for (int b = kSummaryHistogramBins - 1; b >= 0; --b) {
    tp += static_cast<double>(h.positive[static_cast<std::size_t>(b)]);
    fp += static_cast<double>(h.negative[static_cast<std::size_t>(b)]);
    if (b % kStep == 0) {
      points.push_back({{"fpr", fp / n}, {"tpr", tp / p}, {"threshold", static_cast<double>(b) / kSummaryHistogramBins}});
    }
  }
  return points;
}


/// The statistics derivable exactly from aggregates, in the report's CentreStats form.
struct Aggregates {
  std::int64_t n = 0, n_positive = 0;
  Histogram histogram;
  double brier_sum = 0;
  stats::Confusion confusion;
  std::vector<std::int64_t> bin_count;
  std::vector<double> bin_sum_predicted;
  std::vector<std::int64_t> bin_sum_observed;
  std::vector<std::int64_t> isup;  // 6x6, empty when no grades
  /// Positives and negatives with score >= each decision-curve threshold; empty when a summary
  /// lacks them (made by a version without decision curves).
  std::vector<std::int64_t> dca_tp, dca_fp;
  bool dca_missing = false;
};

/// Adds a summary's decision-curve counts; the grid must be the one of this threshold.
void add_decision_counts(Aggregates& into, const json& c, const std::vector<double>& grid) {
  if (!c.contains("decision_counts")) {
    into.dca_missing = true;
    return;
  }
  const auto& d = c.at("decision_counts");
  const auto& tp = d.at("tp");
  const auto& fp = d.at("fp");
  if (d.at("thresholds") != json(grid) || !tp.is_array() || !fp.is_array() || tp.size() != grid.size() ||
      fp.size() != grid.size()) {
    throw MalformedSummary("decision_counts are not on the decision-curve grid of this threshold");
  }
  into.dca_tp.resize(grid.size(), 0);
  into.dca_fp.resize(grid.size(), 0);
  for (std::size_t k = 0; k < grid.size(); ++k) {
    into.dca_tp[k] += summary_count(tp[k], "a decision-curve count");
    into.dca_fp[k] += summary_count(fp[k], "a decision-curve count");
  }
}

Status add(Aggregates& into, const json& c, int ece_bins, double threshold) {
  try {
    add_decision_counts(into, c, detail::decision_thresholds(threshold));
    into.n += summary_count(c.at("n"), "n");
    into.n_positive += summary_count(c.at("n_positive"), "n_positive");
    const auto& h = c.at("score_histogram");
    const auto& pos = h.at("positive");
    const auto& neg = h.at("negative");
    if (!pos.is_array() || pos.size() != static_cast<std::size_t>(kSummaryHistogramBins) || !neg.is_array() ||
        neg.size() != pos.size()) {
      return Error{ErrorCode::invalid_argument, "score histogram of the wrong size"};
    }
    for (std::size_t b = 0; b < pos.size(); ++b) {
      into.histogram.positive[b] += summary_count(pos[b], "a score histogram bin");
      into.histogram.negative[b] += summary_count(neg[b], "a score histogram bin");
    }
    into.brier_sum += summary_real(c.at("brier_sum"), "brier_sum");
    const auto& confusion = c.at("confusion");
    into.confusion.tp += static_cast<std::size_t>(summary_count(confusion.at("tp"), "tp"));
    into.confusion.fp += static_cast<std::size_t>(summary_count(confusion.at("fp"), "fp"));
    into.confusion.tn += static_cast<std::size_t>(summary_count(confusion.at("tn"), "tn"));
    into.confusion.fn += static_cast<std::size_t>(summary_count(confusion.at("fn"), "fn"));
    const auto& bins = c.at("calibration_bins");
    if (!bins.is_array() || bins.size() != static_cast<std::size_t>(ece_bins)) return Error{ErrorCode::invalid_argument, "ECE bins differ"};
    into.bin_count.resize(static_cast<std::size_t>(ece_bins), 0);
    into.bin_sum_predicted.resize(static_cast<std::size_t>(ece_bins), 0.0);
    into.bin_sum_observed.resize(static_cast<std::size_t>(ece_bins), 0);
    for (std::size_t b = 0; b < bins.size(); ++b) {
      into.bin_count[b] += summary_count(bins[b].at("count"), "a calibration bin count");
      into.bin_sum_predicted[b] += summary_real(bins[b].at("sum_predicted"), "sum_predicted");
      into.bin_sum_observed[b] += summary_count(bins[b].at("sum_observed"), "sum_observed");
    }
    if (c.contains("isup_confusion")) {
      into.isup.resize(kIsupClasses * kIsupClasses, 0);
      const auto& m = c.at("isup_confusion");
      for (int t = 0; t < kIsupClasses; ++t) {
        for (int p = 0; p < kIsupClasses; ++p) {
          into.isup[static_cast<std::size_t>(t * kIsupClasses + p)] += summary_count(m.at(t).at(p), "an ISUP confusion cell");
        }
      }
    }
  } catch (const json::exception& e) {
    return Error{ErrorCode::invalid_argument, std::string("malformed centre summary: ") + e.what()};
  } catch (const MalformedSummary& e) {
    return Error{ErrorCode::invalid_argument, std::string("malformed centre summary: ") + e.what()};
  }
  return {};
}

json stats_from_aggregates(const Aggregates& a, double threshold, const ValidationOptions& options, int ece_bins,
                           std::uint64_t seed) {
  json out;
  out["n"] = a.n;
  if (!a.dca_missing && !a.dca_tp.empty()) {
    const std::vector<double> grid = detail::decision_thresholds(threshold);
    auto dca = stats::decision_curve_from_counts(grid, a.dca_tp, a.dca_fp, a.n_positive, a.n - a.n_positive);
    if (dca.ok()) {
      std::optional<stats::DecisionCurveBand> band;
      // The band resamples one pseudo-slide per counted slide: bounded, since the counts come from
      // other sites (a summary claiming 2^40 slides must not make this process allocate them).
      if (options.bootstrap_replicates >= 2 && a.n <= kMaxDecisionBandSlides) {
        stats::BootstrapOptions boot;
        boot.replicates = options.bootstrap_replicates;
        boot.seed = seed;
        boot.confidence = options.confidence;
        boot.threads = options.threads;
        auto b = stats::bootstrap_decision_curve_from_counts(grid, a.dca_tp, a.dca_fp, a.n_positive,
                                                             a.n - a.n_positive, boot);
        if (b.ok()) band = std::move(*b);
      }
      out["decision_curve"] = detail::decision_curve_json(
          *dca, band ? &*band : nullptr, threshold,
          "pointwise percentile, slides resampled from the per-threshold counts (no patient clusters in aggregates)");
    }
  }
  out["n_positive"] = a.n_positive;
  if (auto m = stats::binary_metrics(a.confusion, threshold, options.confidence); m.ok()) {
    out["sensitivity"] = proportion_json(m->sensitivity);
    out["specificity"] = proportion_json(m->specificity);
    out["ppv"] = proportion_json(m->ppv);
    out["npv"] = proportion_json(m->npv);
  }
  out["confusion"] = {{"tp", a.confusion.tp}, {"fp", a.confusion.fp}, {"tn", a.confusion.tn}, {"fn", a.confusion.fn}};
  out["brier"] = a.n > 0 ? json(a.brier_sum / static_cast<double>(a.n)) : json(nullptr);
  double ece = 0;
  json reliability = json::array();
  for (int b = 0; b < ece_bins; ++b) {
    const auto i = static_cast<std::size_t>(b);
    const double count = static_cast<double>(a.bin_count[i]);
    const double mean_p = count > 0 ? a.bin_sum_predicted[i] / count : std::nan("");
    const double observed = count > 0 ? static_cast<double>(a.bin_sum_observed[i]) / count : std::nan("");
    if (count > 0) ece += count / static_cast<double>(a.n) * std::abs(observed - mean_p);
    reliability.push_back({{"bin_low", static_cast<double>(b) / ece_bins}, {"bin_high", static_cast<double>(b + 1) / ece_bins},
                           {"count", a.bin_count[i]}, {"mean_predicted", number_or_null(mean_p)}, {"observed", number_or_null(observed)}});
  }
  out["ece"] = ece;
  out["ece_bins"] = ece_bins;
  out["reliability"] = reliability;
  out["roc"] = histogram_roc(a.histogram);
  if (!a.isup.empty()) {
    std::vector<int> truth, predicted;
    json matrix = json::array();
    for (int t = 0; t < kIsupClasses; ++t) {
      json row = json::array();
      for (int p = 0; p < kIsupClasses; ++p) {
        const auto count = a.isup[static_cast<std::size_t>(t * kIsupClasses + p)];
        row.push_back(count);
        truth.insert(truth.end(), static_cast<std::size_t>(count), t);
        predicted.insert(predicted.end(), static_cast<std::size_t>(count), p);
      }
      matrix.push_back(row);
    }
    out["isup_confusion"] = matrix;
    if (auto k = stats::quadratic_weighted_kappa(truth, predicted, kIsupClasses, options.confidence); k.ok()) {
      out["qwk"] = {{"estimate", k->estimate}, {"ci_low", k->ci.low}, {"ci_high", k->ci.high}, {"se", k->se},
                    {"n", truth.size()}, {"method", "Fleiss-Cohen-Everitt large-sample interval"}};
    }
  }
  return out;
}

}  // namespace

std::string summary_content_hash(const json& summary) {
  json body = summary;
  body.erase("content_sha256");
  return sha256_hex(body.dump());
}

Result<json> build_summary(const dataset::Dataset& dataset, const dataset::Predictions& predictions,
                           const ValidationOptions& options) {
  if (!options.threshold || !std::isfinite(*options.threshold)) {
    return Error{ErrorCode::invalid_argument, "a federated summary needs the pre-registered --threshold"};
  }
  const double threshold = *options.threshold;
  const auto joined = dataset::join(dataset, predictions);
  std::map<std::string, std::vector<const dataset::AnalysisRow*>> by_centre;
  for (const auto& r : joined.rows) by_centre[r.centre].push_back(&r);

  json summary;
  summary["format"] = kSummaryFormat;
  summary["version"] = options.version;
  summary["created_at"] = utc_now_iso8601();
  summary["threshold"] = threshold;
  summary["histogram_bins"] = kSummaryHistogramBins;
  summary["ece_bins"] = options.ece_bins;
  summary["confidence"] = options.confidence;
  summary["dataset_sha256"] = dataset.sha256();
  summary["predictions_sha256"] = predictions.sha256();
  summary["model_sha256"] = predictions.model_sha256().empty() ? json(nullptr) : json(predictions.model_sha256());
  json centres = json::object();
  for (const auto& f : joined.centres) {
    json c = by_centre.count(f.centre) ? centre_summary(by_centre[f.centre], threshold, options) : json::object();
    c["flow"] = flow_json(f);
    centres[f.centre] = c;
  }
  summary["centres"] = centres;
  summary["content_sha256"] = summary_content_hash(summary);
  return summary;
}

namespace {
Result<json> combine_checked_summaries(const std::vector<json>& summaries, const ValidationOptions& options);
}  // namespace

Result<json> combine_summaries(const std::vector<json>& summaries, const ValidationOptions& options) {
  // Summaries come from other sites: any member of an unexpected type is a clear error.
  try {
    return combine_checked_summaries(summaries, options);
  } catch (const json::exception& e) {
    return Error{ErrorCode::invalid_argument, std::string("malformed summary: ") + e.what()};
  } catch (const MalformedSummary& e) {
    return Error{ErrorCode::invalid_argument, std::string("malformed summary: ") + e.what()};
  }
}

namespace {
Result<json> combine_checked_summaries(const std::vector<json>& summaries, const ValidationOptions& options) {
  if (summaries.empty()) return Error{ErrorCode::invalid_argument, "no summary to combine"};
  double threshold = 0;
  int ece_bins = 0;
  json used = json::array();
  std::map<std::string, json> centres;
  for (std::size_t i = 0; i < summaries.size(); ++i) {
    const auto& s = summaries[i];
    const std::string which = "summary " + std::to_string(i + 1);
    if (!s.is_object() || s.value("format", "") != kSummaryFormat) {
      return Error{ErrorCode::invalid_argument, which + " is not an mcval federated summary"};
    }
    if (s.value("content_sha256", "") != summary_content_hash(s)) {
      return Error{ErrorCode::invalid_argument, which + " was altered: its content does not match its content_sha256"};
    }
    if (summary_count_or(s, "histogram_bins", 0) != kSummaryHistogramBins) {
      return Error{ErrorCode::invalid_argument, which + " uses another score histogram grid"};
    }
    const double t = s.value("threshold", std::nan(""));
    const auto bins = summary_count_or(s, "ece_bins", 0);
    if (bins < 1 || bins > kMaxEceBins) {
      return Error{ErrorCode::invalid_argument, which + " has " + std::to_string(bins) + " ECE bins (1 to " +
                                                    std::to_string(kMaxEceBins) + " expected)"};
    }
    if (i == 0) {
      threshold = t;
      ece_bins = static_cast<int>(bins);
    } else if (t != threshold || bins != ece_bins) {
      return Error{ErrorCode::invalid_argument, which + " was made with another threshold or ECE bins than summary 1"};
    }
    json names = json::array();
    if (!s.contains("centres") || !s["centres"].is_object()) {
      return Error{ErrorCode::invalid_argument, which + " has no centres"};
    }
    const json& summary_centres = s["centres"];
    for (auto it = summary_centres.begin(); it != summary_centres.end(); ++it) {
      if (centres.count(it.key())) {
        return Error{ErrorCode::invalid_argument, "centre '" + it.key() + "' appears in two summaries"};
      }
      centres[it.key()] = it.value();
      names.push_back(it.key());
    }
    used.push_back({{"centres", names}, {"content_sha256", s["content_sha256"]}, {"created_at", s.value("created_at", "")},
                    {"dataset_sha256", s.value("dataset_sha256", "")}, {"predictions_sha256", s.value("predictions_sha256", "")},
                    {"version", s.value("version", "")}});
  }

  Aggregates pooled;
  json centre_stats = json::object();
  json flow = json::object();
  json total_flow = {{"received", 0}, {"excluded", json::object()}, {"excluded_total", 0}, {"failed_inference", 0},
                     {"failed", json::object()}, {"analysed", 0}};
  std::vector<stats::CentreAuc> aucs;
  std::vector<std::string> pooled_names;
  const double z = stats::normal_critical_value(options.confidence);
  for (const auto& [name, c] : centres) {
    flow[name] = c.value("flow", json::object());
    for (const char* key : {"received", "excluded_total", "failed_inference", "analysed"}) {
      total_flow[key] = total_flow[key].get<std::int64_t>() + summary_count_or(flow[name], key, 0);
    }
    for (const char* key : {"excluded", "failed"}) {
      if (!flow[name].contains(key) || !flow[name][key].is_object()) continue;
      const json& reasons = flow[name][key];
      for (auto it = reasons.begin(); it != reasons.end(); ++it) {
        total_flow[key][it.key()] = total_flow[key].value(it.key(), std::int64_t{0}) + summary_count(it.value(), it.key());
      }
    }
    if (!c.contains("n")) continue;  // nothing analysed at this centre
    Aggregates one;
    MCVAL_TRY(add(one, c, ece_bins, threshold));
    MCVAL_TRY(add(pooled, c, ece_bins, threshold));
    json stats_json = stats_from_aggregates(one, threshold, options, ece_bins, decision_seed(options.seed, name));
    stats_json["calibration"] = c.value("calibration", json::object());
    if (c.contains("threshold_for_target_sensitivity")) {
      stats_json["threshold_for_target_sensitivity"] = c["threshold_for_target_sensitivity"];
    }
    if (c.contains("auc") && c["auc"].is_object()) {
      const double auc = c["auc"].value("estimate", std::nan(""));
      const double variance = c["auc"].value("variance_delong", std::nan(""));
      const double se = std::sqrt(variance);
      stats_json["auc"] = {{"estimate", auc}, {"ci_low", std::max(0.0, auc - z * se)},
                           {"ci_high", std::min(1.0, auc + z * se)}, {"se_delong", se}};
      if (std::isfinite(auc) && std::isfinite(variance)) {
        aucs.push_back({auc, variance, static_cast<std::size_t>(one.n_positive),
                        static_cast<std::size_t>(one.n - one.n_positive)});
        pooled_names.push_back(name);
      }
    } else {
      stats_json["auc"] = {{"estimate", nullptr}, {"ci_low", nullptr}, {"ci_high", nullptr}, {"se_delong", nullptr}};
    }
    centre_stats[name] = stats_json;
  }
  flow["total"] = total_flow;
  if (pooled.n == 0) return Error{ErrorCode::invalid_argument, "the summaries hold no analysed slide"};

  json pooled_stats = stats_from_aggregates(pooled, threshold, options, ece_bins, decision_seed(options.seed, ""));
  const auto [auc, bound] = histogram_auc(pooled.histogram);
  const double se = std::sqrt(stats::hanley_mcneil_variance(auc, static_cast<double>(pooled.n_positive),
                                                            static_cast<double>(pooled.n - pooled.n_positive)));
  pooled_stats["auc"] = {{"estimate", number_or_null(auc)}, {"ci_low", number_or_null(std::max(0.0, auc - z * se))},
                         {"ci_high", number_or_null(std::min(1.0, auc + z * se))}, {"se_delong", nullptr},
                         {"se_hanley_mcneil", number_or_null(se)}, {"histogram_error_bound", number_or_null(bound)},
                         {"method", "from per-class score histograms (" + std::to_string(kSummaryHistogramBins) +
                                        " bins); exact AUC within +/- histogram_error_bound"}};
  pooled_stats["calibration"] = {{"slope", nullptr}, {"intercept", nullptr},
                                 {"note", "a logistic recalibration fit cannot be pooled from aggregates"}};

  json report;
  report["format"] = "mcval-validation-report/1";
  report["version"] = options.version;
  report["created_at"] = utc_now_iso8601();
  report["seed"] = options.seed;
  report["model_sha256"] = summaries.front().value("model_sha256", json(nullptr));
  report["model"] = nullptr;
  json dataset_hashes = json::array();
  for (const auto& u : used) dataset_hashes.push_back(u["dataset_sha256"]);
  const std::string combined_dataset = sha256_hex(dataset_hashes.dump());
  report["dataset"] = {{"name", "federated (" + std::to_string(summaries.size()) + " summaries)"},
                       {"sha256", combined_dataset}, {"rows", total_flow["received"]}};
  report["dataset_sha256"] = combined_dataset;
  report["predictions"] = {{"source", "federated summaries"}, {"sha256", nullptr}, {"rows", nullptr}};
  report["parameters"] = {{"threshold_source", "fixed"}, {"development_centre", nullptr}, {"target_sensitivity", nullptr},
                          {"bootstrap_replicates", options.bootstrap_replicates}, {"ci_level", options.confidence},
                          {"ece_bins", ece_bins},
                          {"unit", "slide"}, {"patient_aggregation", nullptr}, {"positive_rule", "score >= threshold"},
                          {"reported_target_sensitivity", options.reported_target_sensitivity}};
  report["threshold"] = threshold;
  report["flow"] = flow;
  report["pooled"] = pooled_stats;
  report["centres"] = centre_stats;
  report["heterogeneity"] = detail::heterogeneity_json(aucs, pooled_names, options.confidence);
  report["patient_level"] = nullptr;
  report["misclassified"] = nullptr;
  report["federated"] = {{"summaries", used},
                         {"histogram_bins", kSummaryHistogramBins},
                         {"pooled_auc_histogram", {{"estimate", number_or_null(auc)}, {"error_bound", number_or_null(bound)}}},
                         {"note", "aggregates only: no slide, patient or per-slide row left any centre"}};
  report["files"] = {{"per_slide_csv", nullptr}, {"html", "report.html"}};
  return report;
}
}  // namespace

}  // namespace mcval::validation
