#pragma once
// From slide-level rows to patient-level rows.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mcval/common/result.h"

namespace mcval::stats {

/// How a patient's slide scores become one score.
enum class ScoreAggregation {
  max,   ///< the highest slide score (a patient is positive if any slide is)
  mean,  ///< the arithmetic mean of the slide scores
};

/// One row per patient, in order of first appearance of the patient id.
struct PatientTable {
  std::vector<std::string> patient_ids;
  std::vector<int> labels;          ///< max of the slide labels (positive if any slide is)
  std::vector<double> scores;       ///< aggregated slide scores
  std::vector<std::size_t> slides;  ///< number of slides per patient
};

/// Aggregates slide rows per patient: label = max slide label, score = max or mean slide score.
/// Errors: empty input, lengths differ, a label not 0/1, a non-finite score.
Result<PatientTable> aggregate_by_patient(std::span<const std::string> patient_ids, std::span<const int> labels,
                                          std::span<const double> scores,
                                          ScoreAggregation aggregation = ScoreAggregation::max);

/// Dense ids 0, 1, 2, ... in order of first appearance, for the `clusters` argument of the
/// bootstrap functions (e.g. patient ids of slide rows).
std::vector<std::int64_t> cluster_ids(std::span<const std::string> ids);

}  // namespace mcval::stats
