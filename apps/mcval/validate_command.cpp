#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "commands.h"
#include "mcval/catalog/sqlite_catalog.h"
#include "mcval/dataset/dataset.h"
#include "mcval/dataset/join.h"
#include "mcval/dataset/predictions.h"
#include "mcval/report/html_report.h"
#include "mcval/validation/report_store.h"
#include "mcval/validation/validation_report.h"

namespace mcval::app {

namespace {

/// Writes a file completely or not at all (temporary file, then rename).
Status write_atomically(const std::filesystem::path& path, const std::string& content) {
  const auto temporary = path.parent_path() / ("." + path.filename().string() + ".tmp");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) return Error{ErrorCode::io_error, "cannot write " + temporary.string()};
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) return Error{ErrorCode::io_error, "cannot move " + temporary.string() + " into place: " + ec.message()};
  return {};
}

/// Maps dataset slide ids to catalogue ids when the slide store knows the slide: by catalogue
/// id, by path under the slide root, or by file name without extension.
std::map<std::string, std::string> catalogue_index(const Config& config) {
  std::map<std::string, std::string> index;
  if (!std::filesystem::exists(catalog_file(config))) return index;
  auto catalog = catalog::SqliteCatalog::open(catalog_file(config));
  if (!catalog.ok()) return index;
  auto slides = (*catalog)->list_slides(std::nullopt, false);
  if (!slides.ok()) return index;
  for (const auto& s : *slides) {
    index.emplace(s.id, s.id);
    index.emplace(s.relative_path, s.id);
    index.emplace(std::filesystem::path(s.relative_path).stem().string(), s.id);
  }
  return index;
}

}  // namespace

int run_validate(const Config& config, const ValidateCommandOptions& options) {
  auto dataset = dataset::load_dataset(options.dataset);
  if (!dataset.ok()) return fail(dataset.error());
  auto predictions = dataset::load_predictions(options.predictions);
  if (!predictions.ok()) return fail(predictions.error());

  validation::ValidationOptions run;
  run.threshold = options.threshold;
  run.development_centre = options.development_centre;
  run.target_sensitivity = options.target_sensitivity;
  run.bootstrap_replicates = options.bootstrap_replicates;
  run.ece_bins = options.ece_bins;
  run.seed = options.seed;
  run.patient_aggregation =
      options.patient_aggregation == "mean" ? stats::ScoreAggregation::mean : stats::ScoreAggregation::max;
  run.threads = static_cast<unsigned>(std::max(0, config.threads));
  run.version = MCVAL_VERSION;
  run.predictions_source = std::filesystem::path(options.predictions).filename().string();
  const auto index = catalogue_index(config);
  run.catalogue_id = [&index](const std::string& slide_id) -> std::optional<std::string> {
    const auto it = index.find(slide_id);
    if (it == index.end()) return std::nullopt;
    return it->second;
  };

  auto report = validation::build_report(*dataset, *predictions, run);
  if (!report.ok()) return fail(report.error());
  auto html = report::render_html_report(*report);
  if (!html.ok()) return fail(html.error());

  std::error_code ec;
  std::filesystem::create_directories(options.out, ec);
  if (ec) return fail(Error{ErrorCode::io_error, "cannot create " + options.out + ": " + ec.message()});
  const std::filesystem::path out(options.out);
  const auto joined = dataset::join(*dataset, *predictions);
  const std::string per_slide = validation::per_slide_csv(joined, (*report)["threshold"]);
  for (const auto& [file, content] :
       {std::pair<std::string, std::string>{"per_slide.csv", per_slide},
        {"report.json", report->dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"},
        {"report.html", *html}}) {
    if (auto written = write_atomically(out / file, content); !written.ok()) return fail(written.error());
  }
  // Also kept in the data folder, where `mcval serve` lists and shows it.
  validation::ReportStore store(reports_folder(config));
  auto run_id = store.save(*report, *html, per_slide);
  if (!run_id.ok()) return fail(run_id.error());

  const auto& pooled = (*report)["pooled"];
  const auto& auc = pooled["auc"];
  std::printf("validated %zu slides of %zu centres at threshold %.6g (dataset %.12s, predictions %.12s)\n",
              pooled["n"].get<std::size_t>(), (*report)["centres"].size(), (*report)["threshold"].get<double>(),
              dataset->sha256().c_str(), predictions->sha256().c_str());
  if (auc["estimate"].is_number()) {
    std::printf("pooled AUC %.3f (%.3f-%.3f)\n", auc["estimate"].get<double>(), auc["ci_low"].get<double>(),
                auc["ci_high"].get<double>());
  }
  for (const auto& [centre, stats] : (*report)["centres"].items()) {
    const auto& a = stats["auc"]["estimate"];
    std::printf("  %-16s n=%-6zu AUC %s\n", centre.c_str(), stats["n"].get<std::size_t>(),
                a.is_number() ? std::to_string(a.get<double>()).substr(0, 5).c_str() : "n/a");
  }
  std::printf("report: %s (stored as run %s: /reports/%s/report.html when served)\n",
              (out / "report.html").string().c_str(), run_id->c_str(), run_id->c_str());
  return 0;
}

}  // namespace mcval::app
