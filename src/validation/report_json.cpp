#include "report_json.h"

#include <cmath>

namespace mcval::validation::detail {

using nlohmann::json;

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
            {"prediction_interval", nullptr}};
  if (aucs.size() < 2) {
    h["note"] = "fewer than two centres with an AUC strictly between 0 and 1";
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
  return h;
}

}  // namespace mcval::validation::detail
