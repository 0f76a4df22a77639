#pragma once
// A report.json checked against docs/report-schema.md and read into plain values, so that the
// renderer never touches JSON: every optional number is a std::optional, every list a vector.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mcval/common/result.h"

namespace mcval::report {

struct Estimate {
  std::optional<double> estimate;
  std::optional<double> ci_low;
  std::optional<double> ci_high;
};

struct Confusion {
  std::int64_t tp = 0;
  std::int64_t fp = 0;
  std::int64_t tn = 0;
  std::int64_t fn = 0;
};

struct ReliabilityBin {
  std::optional<double> bin_low;
  std::optional<double> bin_high;
  std::int64_t count = 0;
  std::optional<double> mean_predicted;
  std::optional<double> observed;
};

struct RocPoint {
  double fpr = 0;
  double tpr = 0;
};

/// Net benefit against threshold probability (report "decision_curve"); optional values where the
/// JSON has null.
struct DecisionCurvePoint {
  double threshold = 0;
  std::optional<double> model;
  std::optional<double> treat_all;
  std::optional<double> model_low;   ///< bootstrap band, when present
  std::optional<double> model_high;
};

struct DecisionCurveData {
  std::vector<DecisionCurvePoint> points;
  std::optional<std::int64_t> band_replicates;
  std::optional<double> at_threshold_model;
  std::optional<double> at_threshold_treat_all;
  std::optional<double> at_threshold_low;
  std::optional<double> at_threshold_high;
};

/// The smoothed (lowess) calibration curve and the errors derived from it.
struct SmoothedCalibrationData {
  std::optional<double> ici, e50, e90, emax;
  std::vector<double> predicted, observed;    ///< the curve; equal lengths
  std::vector<std::optional<double>> band_low, band_high;  ///< per curve point; empty without a band
};

struct CentreStats {
  std::int64_t n = 0;
  std::int64_t n_positive = 0;
  Estimate auc;
  std::optional<double> auc_se_delong;
  std::optional<double> auc_bootstrap_low;
  std::optional<double> auc_bootstrap_high;
  std::optional<std::int64_t> auc_bootstrap_replicates;
  std::string auc_bootstrap_method;
  Estimate sensitivity;
  Estimate specificity;
  Estimate ppv;
  Estimate npv;
  std::optional<Confusion> confusion;
  std::optional<double> target_sensitivity;
  std::optional<double> threshold_for_target;
  std::optional<double> brier;
  std::optional<double> ece;
  std::optional<std::int64_t> ece_bins;
  std::optional<double> calibration_slope;
  std::optional<double> calibration_intercept;
  std::vector<ReliabilityBin> reliability;
  std::vector<RocPoint> roc;  // in the order given
  Estimate qwk;
  std::vector<std::vector<std::int64_t>> isup_confusion;  // rows: true grade; empty if absent
  std::optional<DecisionCurveData> decision_curve;
  std::optional<SmoothedCalibrationData> smoothed_calibration;
};

struct NamedStats {
  std::string centre;
  CentreStats stats;
};

struct FlowRow {
  std::string centre;
  std::optional<std::int64_t> received;
  std::vector<std::pair<std::string, std::int64_t>> excluded;  // reason, count
  std::optional<std::int64_t> failed_inference;
  std::vector<std::pair<std::string, std::int64_t>> failed;  // reason, count (when written)
  std::optional<std::int64_t> analysed;
};

struct Heterogeneity {
  std::optional<std::int64_t> k;
  std::optional<double> q;
  std::optional<std::int64_t> df;
  std::optional<double> p;
  std::optional<double> i2;
  std::optional<double> tau2;
  Estimate fixed_effect;
  Estimate random_effects;
  std::optional<double> prediction_low;
  std::optional<double> prediction_high;
  std::optional<std::string> boundary_method;  ///< how a centre at AUC 0 or 1 entered
  std::vector<std::string> corrected_centres;  ///< centres that entered by that method
  std::optional<std::string> note;             ///< why the meta-analysis is missing
};

/// One level of a subgroup variable, across all centres (scope "") or within one centre.
struct SubgroupRow {
  std::string scope;
  std::string level;
  std::int64_t n = 0;
  std::int64_t n_positive = 0;
  Estimate auc;
  Estimate sensitivity;
  Estimate specificity;
  bool small = false;
};

/// The test of a difference in AUC between the levels of one scope.
struct SubgroupTest {
  std::string scope;
  std::optional<std::string> method;
  std::optional<double> statistic;
  std::optional<double> df;
  std::optional<double> p;
};

struct SubgroupVariable {
  std::string name;
  std::vector<SubgroupRow> rows;  ///< all centres first, then each centre
  std::vector<SubgroupTest> tests;
  std::int64_t not_given = 0;
};

struct MisclassifiedSlide {
  std::string slide_id;
  std::string centre;
  std::string patient_id;
  std::optional<std::int64_t> label;
  std::optional<double> score;
  std::optional<std::int64_t> predicted;
  std::string kind;
  std::string viewer_url;
};

// One centre's summary that a federated combination was built from.
struct FederatedSource {
  std::vector<std::string> centres;
  std::string content_sha256;
  std::string created_at;
  std::string dataset_sha256;
  std::string predictions_sha256;
  std::string version;
};

// Present when the report was combined from centre summaries (mcval validate --combine).
struct Federated {
  std::optional<std::string> note;
  std::optional<std::int64_t> histogram_bins;
  std::optional<double> histogram_auc;
  std::optional<double> histogram_auc_error_bound;
  std::vector<FederatedSource> sources;
};

struct ReportData {
  // Which optional objects the report has (present and not null).
  bool has_model = false;
  bool has_predictions = false;
  bool has_parameters = false;
  bool has_patient_level = false;
  bool has_misclassified = false;
  bool has_federated = false;

  std::string format;
  std::string version;
  std::optional<std::string> created_at;
  std::optional<std::string> seed;  // as written (a seed may exceed int64)

  std::optional<std::string> model_name;
  std::optional<std::string> model_version;
  std::optional<std::string> model_sha256;  // model.sha256, else the top-level model_sha256

  std::optional<std::string> dataset_name;
  std::optional<std::int64_t> dataset_rows;
  std::string dataset_sha256;

  std::optional<std::string> predictions_source;
  std::optional<std::string> predictions_sha256;
  std::optional<std::int64_t> predictions_rows;

  std::optional<std::string> threshold_source;
  std::optional<std::string> development_centre;
  std::optional<double> target_sensitivity;           // the threshold was derived for it
  std::optional<double> reported_target_sensitivity;  // only reported per centre
  std::optional<std::int64_t> bootstrap_replicates;
  std::optional<double> ci_level;
  std::optional<std::int64_t> ece_bins;
  std::optional<std::string> unit;
  std::optional<std::string> patient_aggregation;

  double threshold = 0.5;
  std::vector<FlowRow> flow;          // centres, sorted by name
  std::optional<FlowRow> flow_total;  // the "total" entry, when written
  CentreStats pooled;
  std::vector<NamedStats> centres;  // sorted by name
  Heterogeneity heterogeneity;
  std::vector<SubgroupVariable> subgroups;

  CentreStats patient_pooled;
  std::vector<NamedStats> patient_centres;

  std::vector<MisclassifiedSlide> misclassified;

  Federated federated;

  std::optional<std::string> per_slide_csv;
};

// Checks `report` against the schema and reads it. invalid_argument lists every problem found
// (up to a limit), each naming its key path, e.g. "centres.centre-a.auc.estimate".
Result<ReportData> read_report(const nlohmann::json& report);

}  // namespace mcval::report
