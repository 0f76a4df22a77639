#include "mcval/dataset/join.h"

namespace mcval::dataset {

namespace {
std::size_t sum(const std::map<std::string, std::size_t>& counts) noexcept {
  std::size_t total = 0;
  for (const auto& [reason, count] : counts) total += count;
  return total;
}
}  // namespace

std::size_t CentreFlow::excluded_total() const noexcept { return sum(excluded); }
std::size_t CentreFlow::failed_total() const noexcept { return sum(failed); }

JoinResult join(const Dataset& dataset, const Predictions& predictions) {
  JoinResult result;
  std::map<std::string, CentreFlow> flows;
  const auto& slides = dataset.rows();
  const auto& scores = predictions.rows();
  // Both lists are sorted by slide_id with unique ids: one merge pass.
  std::size_t p = 0;
  for (const DatasetRow& slide : slides) {
    while (p < scores.size() && scores[p].slide_id < slide.slide_id) {
      result.unknown_slide_ids.push_back(scores[p].slide_id);
      ++p;
    }
    const Prediction* prediction = nullptr;
    if (p < scores.size() && scores[p].slide_id == slide.slide_id) prediction = &scores[p++];

    CentreFlow& flow = flows[slide.centre];
    ++flow.received;
    ++result.total.received;
    if (slide.excluded()) {
      ++flow.excluded[slide.exclude_reason];
      ++result.total.excluded[slide.exclude_reason];
    } else if (prediction == nullptr) {
      ++flow.failed[kNoPrediction];
      ++result.total.failed[kNoPrediction];
      result.missing_predictions.push_back(slide.slide_id);
    } else {
      ++flow.analysed;
      ++result.total.analysed;
      result.rows.push_back(AnalysisRow{slide.slide_id, slide.centre, slide.patient_id, slide.label, slide.isup_grade,
                                        slide.scanner, slide.specimen, prediction->score, prediction->isup_pred});
    }
  }
  for (; p < scores.size(); ++p) result.unknown_slide_ids.push_back(scores[p].slide_id);
  result.centres.reserve(flows.size());
  for (auto& [centre, flow] : flows) {
    flow.centre = centre;
    result.centres.push_back(std::move(flow));
  }
  return result;
}

}  // namespace mcval::dataset
