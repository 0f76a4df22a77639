#pragma once
// Pieces of the report JSON (docs/report-schema.md) shared by the centralised report and the
// combination of federated summaries, so both write the same shapes.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mcval/dataset/join.h"
#include "mcval/stats/binary.h"
#include "mcval/stats/decision_curve.h"
#include "mcval/stats/meta.h"
#include "mcval/stats/types.h"

namespace mcval::validation::detail {

/// A reproducible seed per group (FNV-1a of its name mixed into the run's seed), so each group's
/// bootstrap is independent of the others.
std::uint64_t group_seed(std::uint64_t seed, const std::string& name);
/// Mixed into a group's seed for its decision-curve band, so that band's draws differ from the AUC's.
inline constexpr std::uint64_t kDecisionCurveSeedSalt = 0xDCA0DCA0DCA0DCA0ULL;
/// Mixed into a group's seed for its smoothed-calibration band.
inline constexpr std::uint64_t kSmoothedCalibrationSeedSalt = 0x5A00CA11B0A7D000ULL;

/// A number, or null when it is NaN or infinite.
nlohmann::json number_or_null(double value);
/// {"estimate", "ci_low", "ci_high"}.
nlohmann::json interval_json(double estimate, const stats::Interval& ci);
/// {"estimate", "ci_low", "ci_high", "successes", "trials"} (Wilson interval).
nlohmann::json proportion_json(const stats::Proportion& proportion);
/// {"received", "excluded", "excluded_total", "failed_inference", "failed", "analysed"}.
nlohmann::json flow_json(const dataset::CentreFlow& flow);
/// The "heterogeneity" block: random-effects meta-analysis of the centres' AUCs on the logit
/// scale. Every centre with an AUC is given (with its class counts); one at AUC 0 or 1 enters by
/// stats::kBoundaryAucMethod and is listed in "corrected_centres".
nlohmann::json heterogeneity_json(const std::vector<stats::CentreAuc>& aucs, const std::vector<std::string>& centres,
                                  double confidence);

/// The decision-curve grid: 0.01 .. 0.99 and the decision threshold when it lies inside (0, 1).
std::vector<double> decision_thresholds(double threshold);
/// The "decision_curve" block (docs/report-schema.md): net benefit of the model and of treating
/// all per threshold probability, the band when given, and the values at the decision threshold.
nlohmann::json decision_curve_json(const stats::DecisionCurve& curve, const stats::DecisionCurveBand* band,
                                   double threshold, const std::string& band_method);

}  // namespace mcval::validation::detail
