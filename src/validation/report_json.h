#pragma once
// Pieces of the report JSON (docs/report-schema.md) shared by the centralised report and the
// combination of federated summaries, so both write the same shapes.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mcval/dataset/join.h"
#include "mcval/stats/binary.h"
#include "mcval/stats/meta.h"
#include "mcval/stats/types.h"

namespace mcval::validation::detail {

/// A number, or null when it is NaN or infinite.
nlohmann::json number_or_null(double value);
/// {"estimate", "ci_low", "ci_high"}.
nlohmann::json interval_json(double estimate, const stats::Interval& ci);
/// {"estimate", "ci_low", "ci_high", "successes", "trials"} (Wilson interval).
nlohmann::json proportion_json(const stats::Proportion& proportion);
/// {"received", "excluded", "excluded_total", "failed_inference", "failed", "analysed"}.
nlohmann::json flow_json(const dataset::CentreFlow& flow);
/// The "heterogeneity" block: random-effects meta-analysis of the centres' AUCs on the logit
/// scale (only centres with an AUC strictly inside (0, 1) and a positive variance are given).
nlohmann::json heterogeneity_json(const std::vector<stats::CentreAuc>& aucs, const std::vector<std::string>& centres,
                                  double confidence);

}  // namespace mcval::validation::detail
