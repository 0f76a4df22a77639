#include "report_json.h"

#include <algorithm>
#include <cmath>

namespace mcval::validation::detail {

using nlohmann::json;

std::uint64_t group_seed(std::uint64_t seed, const std::string& name) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ULL;
  return seed ^ h;
}

json number_or_null(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

json interval_json(double estimate, const stats::Interval& ci) {
  return {{"estimate", number_or_null(estimate)}, {"ci_low", number_or_null(ci.low)}, {"ci_high", number_or_null(ci.high)}};
}

json proportion_json(const stats::Proportion& p) {
  json j = interval_json(p.estimate, p.ci);
  j["successes"] = p.successes;
  j["trials"] = p.trials;
  return j;
}

json flow_json(const dataset::CentreFlow& f) {
  return {{"received", f.received}, {"excluded", f.excluded}, {"excluded_total", f.excluded_total()},
          {"failed_inference", f.failed_total()}, {"failed", f.failed}, {"analysed", f.analysed}};
}

json heterogeneity_json(const std::vector<stats::CentreAuc>& aucs, const std::vector<std::string>& centres,
                        double confidence) {
  json h = {{"k", aucs.size()}, {"centres", centres}, {"scale", "logit(AUC), DerSimonian-Laird"},
            {"q", nullptr}, {"df", nullptr}, {"p", nullptr}, {"i2", nullptr}, {"tau2", nullptr},
            {"pooled_auc_fixed_effect", nullptr}, {"pooled_auc_random_effects", nullptr},
            {"prediction_interval", nullptr}, {"boundary_method", stats::kBoundaryAucMethod},
            {"corrected_centres", json::array()}, {"per_centre", json::array()}};
  if (aucs.size() < 2) {
    h["note"] = "fewer than two centres with an AUC (each needs two cases of each class)";
    return h;
  }
  auto pooled = stats::pool_auc(aucs, confidence);
  if (!pooled.ok()) {
    h["note"] = pooled.error().detail;
    return h;
  }
  const auto& m = pooled->logit;
  h["q"] = m.q;
  h["df"] = m.df;
  h["p"] = m.q_p_value;
  h["i2"] = m.i2;
  h["tau2"] = m.tau2;
  h["pooled_auc_fixed_effect"] = interval_json(pooled->fixed_auc, pooled->fixed_ci);
  h["pooled_auc_random_effects"] = interval_json(pooled->random_auc, pooled->random_ci);
  if (pooled->prediction_interval) {
    h["prediction_interval"] = {{"low", pooled->prediction_interval->low}, {"high", pooled->prediction_interval->high}};
  }
  for (std::size_t i = 0; i < aucs.size(); ++i) {
    const bool corrected = pooled->corrected[i];
    if (corrected) h["corrected_centres"].push_back(centres[i]);
    h["per_centre"].push_back({{"centre", centres[i]}, {"auc", aucs[i].auc}, {"auc_used", pooled->auc[i]},
                               {"logit_auc", pooled->logit_auc[i]}, {"logit_variance", pooled->logit_variance[i]},
                               {"corrected", corrected}});
  }
  return h;
}

std::vector<double> decision_thresholds(double threshold) {
  std::vector<double> grid = stats::default_decision_thresholds();
  if (threshold > 0.0 && threshold < 1.0) {
    const auto at = std::lower_bound(grid.begin(), grid.end(), threshold);
    if (at == grid.end() || *at != threshold) grid.insert(at, threshold);
  }
  return grid;
}

json decision_curve_json(const stats::DecisionCurve& curve, const stats::DecisionCurveBand* band, double threshold,
                         const std::string& band_method) {
  json values = json::array();
  json treat_all = json::array();
  for (std::size_t k = 0; k < curve.thresholds.size(); ++k) {
    values.push_back(number_or_null(curve.model[k]));
    treat_all.push_back(number_or_null(curve.treat_all[k]));
  }
  json out = {{"thresholds", curve.thresholds}, {"model", values}, {"treat_all", treat_all},
              {"treat_none", 0.0}, {"band", nullptr}, {"at_threshold", nullptr},
              {"definition", "net benefit = TP/n - FP/n * pt/(1 - pt), positive when score >= pt (Vickers and Elkin 2006)"}};
  if (band != nullptr) {
    json model_low = json::array(), model_high = json::array(), all_low = json::array(), all_high = json::array();
    for (std::size_t k = 0; k < band->model.size(); ++k) {
      model_low.push_back(number_or_null(band->model[k].low));
      model_high.push_back(number_or_null(band->model[k].high));
      all_low.push_back(number_or_null(band->treat_all[k].low));
      all_high.push_back(number_or_null(band->treat_all[k].high));
    }
    out["band"] = {{"model_low", model_low}, {"model_high", model_high}, {"treat_all_low", all_low},
                   {"treat_all_high", all_high}, {"replicates", band->replicates}, {"method", band_method}};
  }
  const auto at = std::find(curve.thresholds.begin(), curve.thresholds.end(), threshold);
  if (at != curve.thresholds.end()) {
    const auto k = static_cast<std::size_t>(at - curve.thresholds.begin());
    out["at_threshold"] = {{"threshold", threshold}, {"model", number_or_null(curve.model[k])},
                           {"treat_all", number_or_null(curve.treat_all[k])}, {"treat_none", 0.0},
                           {"ci_low", band ? number_or_null(band->model[k].low) : json(nullptr)},
                           {"ci_high", band ? number_or_null(band->model[k].high) : json(nullptr)}};
  }
  return out;
}

}  // namespace mcval::validation::detail
