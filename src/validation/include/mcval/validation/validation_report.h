#pragma once
// A multi-centre validation: joins a dataset with a model's predictions, computes every
// statistic per centre, pooled and between centres (mcval::stats), and returns the report as
// JSON in the format of docs/report-schema.md. Pure: no files, no clock except `created_at`.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "mcval/common/result.h"
#include "mcval/dataset/dataset.h"
#include "mcval/dataset/join.h"
#include "mcval/dataset/predictions.h"
#include "mcval/stats/patient.h"

namespace mcval::validation {

struct ValidationOptions {
  /// The pre-registered threshold (positive when score >= threshold). Required unless
  /// `development_centre` is given.
  std::optional<double> threshold;
  /// Derive the threshold on this centre instead: for `target_sensitivity` when given,
  /// otherwise Youden-optimal. The centre stays in the report, marked as development centre.
  std::optional<std::string> development_centre;
  std::optional<double> target_sensitivity;
  /// Sensitivity for which each centre's own required threshold is reported.
  double reported_target_sensitivity = 0.9;
  std::size_t bootstrap_replicates = 2000;
  double confidence = 0.95;
  int ece_bins = 10;
  std::uint64_t seed = 7;
  stats::ScoreAggregation patient_aggregation = stats::ScoreAggregation::max;
  unsigned threads = 0;  ///< bootstrap threads; 0: one per core (results do not depend on it)
  std::string version;                ///< mcval version written into the report
  std::string predictions_source;     ///< how the predictions were given (file name, run)
  /// Catalogue id of a dataset slide, when the slide store knows it: misclassified slides
  /// then link to the viewer. May be empty.
  std::function<std::optional<std::string>(const std::string& slide_id)> catalogue_id;
  /// SHA-256 of the model whose inference gave the predictions, when mcval ran it: viewer
  /// links then also open its heatmap layer.
  std::string heatmap_model;
};

/// The report (docs/report-schema.md). invalid_argument when no threshold can be set (neither
/// given nor derivable), when the development centre is unknown or lacks both classes, or
/// when nothing is left to analyse.
Result<nlohmann::json> build_report(const dataset::Dataset& dataset, const dataset::Predictions& predictions,
                                    const ValidationOptions& options);

/// Per-slide results as CSV: slide_id, centre, patient_id, label, score, predicted, outcome
/// (TP/FP/TN/FN), isup_grade, isup_pred; analysed slides only, sorted by slide_id.
std::string per_slide_csv(const dataset::JoinResult& joined, double threshold);

}  // namespace mcval::validation
