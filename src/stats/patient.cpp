#include "mcval/stats/patient.h"

#include <algorithm>
#include <unordered_map>

#include "validate.h"

namespace mcval::stats {

Result<PatientTable> aggregate_by_patient(std::span<const std::string> patient_ids, std::span<const int> labels,
                                          std::span<const double> scores, ScoreAggregation aggregation) {
  MCVAL_TRY(detail::check_binary(labels, scores, false));
  if (patient_ids.size() != labels.size()) {
    return Error{ErrorCode::invalid_argument, "patient ids and labels differ in length"};
  }
  PatientTable table;
  std::unordered_map<std::string, std::size_t> row_of;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    auto [it, inserted] = row_of.try_emplace(patient_ids[i], table.patient_ids.size());
    if (inserted) {
      table.patient_ids.push_back(patient_ids[i]);
      table.labels.push_back(labels[i]);
      table.scores.push_back(scores[i]);
      table.slides.push_back(1);
      continue;
    }
    const std::size_t row = it->second;
    table.labels[row] = std::max(table.labels[row], labels[i]);
    if (aggregation == ScoreAggregation::max) {
      table.scores[row] = std::max(table.scores[row], scores[i]);
    } else {
      table.scores[row] += scores[i];
    }
    ++table.slides[row];
  }
  if (aggregation == ScoreAggregation::mean) {
    for (std::size_t row = 0; row < table.scores.size(); ++row) {
      table.scores[row] /= static_cast<double>(table.slides[row]);
    }
  }
  return table;
}

std::vector<std::int64_t> cluster_ids(std::span<const std::string> ids) {
  std::unordered_map<std::string, std::int64_t> id_of;
  std::vector<std::int64_t> result;
  result.reserve(ids.size());
  for (const auto& id : ids) {
    auto [it, inserted] = id_of.try_emplace(id, static_cast<std::int64_t>(id_of.size()));
    result.push_back(it->second);
  }
  return result;
}

}  // namespace mcval::stats
