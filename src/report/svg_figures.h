#pragma once
// The report's figures as inline SVG: ROC curves, forest plot, reliability diagrams. Each
// figure is one <svg> with an id, a <title>, and data-points on it and on its plotted marks, so
// that a browser test can check that a figure is rendered and not empty.
#include <cstddef>
#include <string>

#include "report_data.h"

namespace mcval::report {

// Line style of the centre at `index` (in report order); the pooled series is black.
struct SeriesStyle {
  std::string colour;
  std::string dash;  // SVG stroke-dasharray, empty for a solid line
};
SeriesStyle centre_style(std::size_t index);

// id="roc-plot": one curve per centre plus the pooled curve, the chance diagonal, the operating
// point of each curve at the report's threshold, and a legend with each curve's AUC.
std::string roc_svg(const ReportData& report);

// id="forest-plot": per-centre AUC with its interval (square area proportional to n), the plain
// pooled AUC, fixed- and random-effects diamonds, the prediction interval, a reference at 0.5
// and the heterogeneity statistics. `ci_label` is e.g. "95 % CI".
std::string forest_svg(const ReportData& report, const std::string& ci_label);

// id="calibration-plot": one reliability diagram per centre and one for the pooled data.
std::string calibration_svg(const ReportData& report);

// id="decision-curve-plot": one panel per centre with a decision curve and one for the pooled
// data: net benefit of the model with its bootstrap band, treat all, treat none, and the
// decision threshold.
std::string decision_curve_svg(const ReportData& report);

// id="subgroup-forest-<variable>": AUC with its interval per level of a subgroup variable, all
// centres first and then within each centre; small subgroups hollow.
std::string subgroup_forest_svg(const SubgroupVariable& variable, const std::string& ci_label);

}  // namespace mcval::report
