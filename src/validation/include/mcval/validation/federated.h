#pragma once
// Federated validation: a centre computes a summary of aggregates only (no slide, no patient,
// no per-slide row ever leaves it); a coordinator combines the summaries of all centres into
// the pooled report. Exact statistics (confusion counts and everything derived from them,
// Brier score, ECE, ISUP confusion and QWK, per-centre DeLong AUCs and the between-centre
// meta-analysis) equal the centralised ones; the pooled AUC is computed from per-class score
// histograms on a shared bin grid, with its worst-case error bound stated.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mcval/common/result.h"
#include "mcval/dataset/dataset.h"
#include "mcval/dataset/predictions.h"
#include "mcval/validation/validation_report.h"

namespace mcval::validation {

/// Bins of the shared score histogram: [k/B, (k+1)/B), the last bin closed at 1.
inline constexpr int kSummaryHistogramBins = 1000;

/// The summary of one site's data: per centre found in the dataset, aggregates only.
/// Requires a pre-registered threshold (options.threshold). The summary carries
/// "content_sha256": SHA-256 of the canonical JSON of everything else, so the combiner can
/// show which summary it used and detect any change.
Result<nlohmann::json> build_summary(const dataset::Dataset& dataset, const dataset::Predictions& predictions,
                                     const ValidationOptions& options);

/// SHA-256 of a summary without its "content_sha256" member (canonical JSON dump).
std::string summary_content_hash(const nlohmann::json& summary);

/// Combines summaries into a report in the format of docs/report-schema.md (plus a
/// "federated" block: the summaries used with their hashes, and the histogram-AUC bound).
/// invalid_argument when a summary was altered (hash mismatch), when summaries disagree on
/// threshold, grid or ECE bins, or when a centre appears twice.
Result<nlohmann::json> combine_summaries(const std::vector<nlohmann::json>& summaries, const ValidationOptions& options);

}  // namespace mcval::validation
