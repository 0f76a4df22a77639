#pragma once
// A complete, plausible report.json for three centres, built from a binormal model of scores so
// that every number agrees with the others (confusion counts, Wilson intervals, ROC points,
// reliability bins, ISUP matrices and their kappa, flow, meta-analysis). One centre's name is an
// HTML injection attempt. tests/data/report/example_report.json is this report, written out.
#include <nlohmann/json.hpp>

namespace mcval::report::testing {

nlohmann::json make_example_report();

}  // namespace mcval::report::testing
