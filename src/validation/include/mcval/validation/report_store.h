#pragma once
// ReportStore: validation runs kept in the data folder (<data>/reports/<run id>/), so the
// server can list them and show each report. A run id is derived from what determines the
// numbers (dataset, predictions, threshold, parameters, seed): rerunning the same validation
// replaces the same run.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mcval/common/result.h"

namespace mcval::validation {

/// 16 hex digits of SHA-256 over the report's dataset and predictions hashes, threshold,
/// parameters and seed.
std::string run_id(const nlohmann::json& report);

/// Thread-safe for concurrent readers; one writer at a time per run id.
class ReportStore {
 public:
  /// The files of a run, and the only names read() serves.
  static constexpr const char* kFiles[] = {"report.html", "report.json", "per_slide.csv"};

  explicit ReportStore(std::filesystem::path root);

  /// Stores a run atomically (written to a staging folder, then renamed into place, replacing an
  /// earlier run with the same id); a failed write (a full disk) leaves nothing behind, and
  /// staging left by killed runs is removed. Returns the run id.
  Result<std::string> save(const nlohmann::json& report, const std::string& html, const std::string& per_slide_csv);
  /// One summary per stored run, newest first: id, created_at, dataset name and hash,
  /// threshold, n, centres, pooled AUC.
  Result<std::vector<nlohmann::json>> list() const;
  /// A file of a run; not_found for an unknown id or a name outside kFiles (ids are checked
  /// to be 16 hex digits, so no request reaches outside the store).
  Result<std::string> read(const std::string& id, const std::string& file) const;

 private:
  std::filesystem::path root_;
};

}  // namespace mcval::validation
