#pragma once
// The HTML rendering of a validation report (docs/report-schema.md): one self-contained page
// with inline CSS and inline SVG figures, no script and no external resource, printable.
#include <string>

#include <nlohmann/json.hpp>

#include "mcval/common/result.h"

namespace mcval::report {

/// Renders `report` (a parsed `report.json`, format "mcval-validation-report/1") as one HTML
/// document. Every string taken from the report is HTML-escaped; viewer links are kept only
/// when they are site-relative ("/..."), so the page can be served by mcval as it is.
/// Fails with invalid_argument, naming the key, when a required key (format, version,
/// dataset_sha256, threshold, pooled, centres, heterogeneity, flow) is missing or null, or
/// when any key that is present has the wrong type; optional parts that are absent or null
/// are rendered as "not available". Pure function: no I/O, safe to call from any thread.
Result<std::string> render_html_report(const nlohmann::json& report);

}  // namespace mcval::report
