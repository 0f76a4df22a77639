#pragma once
// Joining a dataset with a model's predictions: the rows to analyse and the per-centre flow
// (received, excluded by reason, failed inference, analysed). Pure functions, no statistics.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "mcval/dataset/dataset.h"
#include "mcval/dataset/predictions.h"

namespace mcval::dataset {

/// One slide to analyse: its ground truth and the model's prediction.
struct AnalysisRow {
  std::string slide_id;
  std::string centre;
  std::string patient_id;
  int label = 0;                  ///< 0 or 1
  std::optional<int> isup_grade;  ///< ground truth grade group, when known
  std::string scanner;            ///< "" when not given
  std::string specimen;           ///< "" when not given
  double score = 0;               ///< in [0, 1]
  std::optional<int> isup_pred;   ///< predicted grade group, when given

  bool operator==(const AnalysisRow&) const = default;
};

/// The reason under which a dataset slide without a prediction is counted as failed inference.
inline constexpr const char* kNoPrediction = "no prediction";

/// How the slides of one centre (or of all centres) went from received to analysed.
/// Always: received == excluded_total() + failed_total() + analysed.
struct CentreFlow {
  std::string centre;                           ///< "" for the total over all centres
  std::size_t received = 0;                     ///< dataset rows of the centre
  std::map<std::string, std::size_t> excluded;  ///< exclude_reason -> slides
  std::map<std::string, std::size_t> failed;    ///< failure reason ("no prediction") -> slides
  std::size_t analysed = 0;                     ///< included slides with a prediction

  std::size_t excluded_total() const noexcept;
  std::size_t failed_total() const noexcept;
  bool operator==(const CentreFlow&) const = default;
};

/// What join() produces.
struct JoinResult {
  /// Included slides that have a prediction, sorted by slide_id.
  std::vector<AnalysisRow> rows;
  /// One entry per centre of the dataset, sorted by centre name.
  std::vector<CentreFlow> centres;
  /// The flow over all centres (centre "").
  CentreFlow total;
  /// Included dataset slides without a prediction (counted as failed inference), sorted.
  std::vector<std::string> missing_predictions;
  /// Slide ids of predictions that are not in the dataset, sorted: reported, not fatal.
  std::vector<std::string> unknown_slide_ids;
};

/// Joins on slide_id. An excluded slide counts as excluded whether or not it has a prediction
/// (the prediction is then ignored); an included slide without a prediction counts as failed
/// inference with reason kNoPrediction. Linear in the sizes of both inputs.
JoinResult join(const Dataset& dataset, const Predictions& predictions);

}  // namespace mcval::dataset
