#include "mcval/validation/report_store.h"

#include <algorithm>

#include "mcval/common/files.h"
#include "mcval/common/sha256.h"

namespace mcval::validation {

namespace {

bool is_run_id(const std::string& id) {
  return id.size() == 16 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

std::string run_id(const nlohmann::json& report) {
  // Whatever these members hold (null included) goes into the identity as it is.
  auto member = [&report](const char* key) { return report.contains(key) ? report[key] : nlohmann::json(); };
  const nlohmann::json predictions = member("predictions");
  const nlohmann::json identity = {
      {"dataset", member("dataset_sha256")},
      {"predictions", predictions.is_object() && predictions.contains("sha256") ? predictions["sha256"] : nlohmann::json()},
      {"federated", member("federated")},
      {"threshold", member("threshold")},
      {"parameters", member("parameters")},
      {"seed", member("seed")}};
  return sha256_hex(identity.dump()).substr(0, 16);
}

ReportStore::ReportStore(std::filesystem::path root) : root_(std::move(root)) {}

Result<std::string> ReportStore::save(const nlohmann::json& report, const std::string& html,
                                      const std::string& per_slide_csv) {
  const std::string id = run_id(report);
  std::error_code ec;
  std::filesystem::create_directories(root_, ec);
  if (ec) return Error{ErrorCode::io_error, "cannot create " + root_.string() + ": " + ec.message()};
  remove_stale_staging(root_);  // what killed runs left
  const auto staging = root_ / staging_name(id);
  std::filesystem::create_directories(staging, ec);
  if (ec) return Error{ErrorCode::io_error, "cannot create " + staging.string() + ": " + ec.message()};
  auto write_all = [&]() -> Status {
    MCVAL_TRY(write_file(staging / "report.html", html));
    MCVAL_TRY(
        write_file(staging / "report.json", report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)));
    return write_file(staging / "per_slide.csv", per_slide_csv);
  };
  if (auto written = write_all(); !written.ok()) {
    std::filesystem::remove_all(staging, ec);  // a full disk leaves no half run behind
    return written.error();
  }
  MCVAL_TRY(replace_folder(staging, root_ / id));
  return id;
}

Result<std::vector<nlohmann::json>> ReportStore::list() const {
  std::vector<nlohmann::json> runs;
  std::error_code ec;
  if (!std::filesystem::is_directory(root_, ec)) return runs;
  for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
    const std::string id = entry.path().filename().string();
    if (!is_run_id(id)) continue;
    auto text = read_file(entry.path() / "report.json");
    if (!text.ok()) continue;
    const auto report = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (report.is_discarded() || !report.is_object()) continue;
    auto text_of = [](const nlohmann::json& j, const char* key) {
      return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
    };
    nlohmann::json summary = {{"id", id},
                              {"created_at", text_of(report, "created_at")},
                              {"dataset", report.contains("dataset") ? text_of(report["dataset"], "name") : ""},
                              {"dataset_sha256", text_of(report, "dataset_sha256")},
                              {"threshold", report.contains("threshold") ? report["threshold"] : nlohmann::json()},
                              {"centres", nlohmann::json::array()},
                              {"n", nullptr},
                              {"pooled_auc", nullptr},
                              {"urls", {{"html", "/reports/" + id + "/report.html"}, {"json", "/reports/" + id + "/report.json"},
                                        {"per_slide_csv", "/reports/" + id + "/per_slide.csv"}}}};
    if (report.contains("centres") && report["centres"].is_object()) {
      for (const auto& [name, value] : report["centres"].items()) summary["centres"].push_back(name);
    }
    if (report.contains("pooled") && report["pooled"].is_object()) {
      const auto& pooled = report["pooled"];
      if (pooled.contains("n")) summary["n"] = pooled["n"];
      if (pooled.contains("auc") && pooled["auc"].is_object() && pooled["auc"].contains("estimate")) {
        summary["pooled_auc"] = pooled["auc"]["estimate"];
      }
    }
    runs.push_back(std::move(summary));
  }
  std::sort(runs.begin(), runs.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a["created_at"].get<std::string>() > b["created_at"].get<std::string>();
  });
  return runs;
}

Result<std::string> ReportStore::read(const std::string& id, const std::string& file) const {
  if (!is_run_id(id)) return Error{ErrorCode::not_found, "no validation run '" + id + "'"};
  if (std::find(std::begin(kFiles), std::end(kFiles), file) == std::end(kFiles)) {
    return Error{ErrorCode::not_found, "a validation run has no file '" + file + "'"};
  }
  auto content = read_file(root_ / id / file);
  if (!content.ok()) return Error{ErrorCode::not_found, "no validation run '" + id + "'"};
  return content;
}

}  // namespace mcval::validation
