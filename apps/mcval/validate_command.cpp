#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "command_audit.h"
#include "commands.h"
#include "mcval/common/files.h"
#include "infer_command.h"
#include "mcval/inference/inference_store.h"
#include "mcval/inference/model_store.h"
#include "mcval/catalog/catalog_store.h"
#include "mcval/dataset/dataset.h"
#include "mcval/dataset/join.h"
#include "mcval/dataset/predictions.h"
#include "mcval/report/html_report.h"
#include "mcval/validation/federated.h"
#include "mcval/validation/report_store.h"
#include "mcval/validation/validation_report.h"

namespace mcval::app {

/// Returns the failure of a Status-returning expression as the command's exit status.
#define MCVAL_TRY_OR_FAIL(expr)                 \
  do {                                          \
    auto status_ = (expr);                      \
    if (!status_.ok()) return fail(status_.error()); \
  } while (0)

namespace {

Status create_folder(const std::string& folder) {
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) return Error{ErrorCode::io_error, "cannot create " + folder + ": " + ec.message()};
  return {};
}

/// Maps dataset slide ids to catalogue ids when the slide store knows the slide: by catalogue
/// id, by path under the slide root, or by file name without extension.
std::map<std::string, std::string> catalogue_index(const Config& config) {
  std::map<std::string, std::string> index;
  if (!store_exists(config)) return index;
  auto catalog = open_store(config);
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

/// --model: runs (or resumes) the model over the dataset's catalogued slides and takes their
/// slide scores as the predictions. Slides whose inference failed, or that the slide store
/// lacks, have no prediction: the report's flow counts them as failed inference.
Result<dataset::Predictions> predictions_from_model(const Config& config, const dataset::Dataset& dataset,
                                                    const std::map<std::string, std::string>& index,
                                                    const inference::ModelRecord& model) {
  InferCommandOptions infer;
  infer.model = model.sha256;
  std::map<std::string, std::string> catalogue_ids;  // dataset slide id -> catalogue id
  for (const auto& row : dataset.rows()) {
    if (row.excluded()) continue;
    const auto it = index.find(row.slide_id);
    if (it == index.end()) continue;
    catalogue_ids.emplace(row.slide_id, it->second);
    infer.slides.push_back(it->second);
  }
  if (infer.slides.empty()) {
    return Error{ErrorCode::not_found, "no slide of the dataset is in the catalogue (run `mcval ingest` first?)"};
  }
  MCVAL_TRY_ASSIGN(outcome, infer_selected_slides(config, model, infer));
  if (outcome.error) return *outcome.error;
  if (outcome.stopped) return Error{ErrorCode::cancelled, "inference was stopped; run the command again to resume"};
  const inference::InferenceStore store(config.data);
  std::vector<dataset::Prediction> rows;
  for (const auto& [slide_id, catalogue_id] : catalogue_ids) {
    MCVAL_TRY_ASSIGN(record, store.find(model.sha256, catalogue_id));
    if (record && record->status == "ok" && record->score) rows.push_back({slide_id, *record->score, std::nullopt});
  }
  return dataset::Predictions::from_rows(std::move(rows), model.card.name + "@" + model.card.version, model.sha256);
}

}  // namespace

namespace {

validation::ValidationOptions validation_options(const Config& config, const ValidateCommandOptions& options) {
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
  return run;
}

Result<nlohmann::json> read_summary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::io_error, "cannot read " + path};
  const auto summary = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (summary.is_discarded()) return Error{ErrorCode::invalid_argument, path + " is not JSON"};
  return summary;
}

/// --combine: the pooled report from the centres' summaries.
int run_combine(const Config& config, const ValidateCommandOptions& options, CommandAudit& audit) {
  std::vector<nlohmann::json> summaries;
  for (const auto& path : options.combine) {
    auto summary = read_summary(path);
    if (!summary.ok()) return fail(summary.error());
    summaries.push_back(std::move(summary).value());
  }
  const auto run = validation_options(config, options);
  auto report = validation::combine_summaries(summaries, run);
  if (!report.ok()) return fail(report.error());
  auto html = report::render_html_report(*report);
  if (!html.ok()) return fail(html.error());
  const std::filesystem::path out(options.out);
  // Together or not at all; an earlier validation's per_slide.csv would not belong to this report.
  MCVAL_TRY_OR_FAIL(
      write_files_together(out, {{"report.json", report->dump(2) + "\n"}, {"report.html", *html}}, {"per_slide.csv"}));
  validation::ReportStore store(reports_folder(config));
  auto run_id = store.save(*report, *html, "");
  if (!run_id.ok()) return fail(run_id.error());
  MCVAL_TRY_OR_FAIL(audit.record(audit::Action::report_created, "report:" + *run_id, "", audit::Outcome::allowed));
  const auto& pooled = (*report)["pooled"];
  std::printf("combined %zu summaries: %zu centres, %lld slides; pooled AUC %.4f (histogram, exact within +/- %.2g)\n",
              summaries.size(), (*report)["centres"].size(), pooled["n"].get<long long>(),
              pooled["auc"]["estimate"].get<double>(), pooled["auc"]["histogram_error_bound"].get<double>());
  std::printf("report: %s (stored as run %s)\n", (out / "report.html").string().c_str(), run_id->c_str());
  return 0;
}


int validate_job(const Config& config, const ValidateCommandOptions& options, CommandAudit& audit) {
  if (!options.combine.empty()) return run_combine(config, options, audit);
  auto dataset = resolve_dataset(config, options.dataset);
  if (!dataset.ok()) return fail(dataset.error());
  const auto index = catalogue_index(config);
  std::optional<inference::ModelRecord> model;
  if (!options.model.empty()) {
    auto found = inference::ModelStore(config.data).find(options.model);
    if (!found.ok()) return fail(found.error());
    model = std::move(*found);
  }
  auto predictions = model ? predictions_from_model(config, *dataset, index, *model)
                           : dataset::load_predictions(options.predictions);
  if (!predictions.ok()) return fail(predictions.error());

  auto run = validation_options(config, options);
  if (model) {
    run.predictions_source = "mcval infer: " + model->card.name + "@" + model->card.version;
    run.heatmap_model = model->sha256;
  }
  if (options.summary_only) {
    auto summary = validation::build_summary(*dataset, *predictions, run);
    if (!summary.ok()) return fail(summary.error());
    MCVAL_TRY_OR_FAIL(create_folder(options.out));
    const auto path = std::filesystem::path(options.out) / "summary.json";
    MCVAL_TRY_OR_FAIL(write_file_atomic(path, summary->dump(2) + "\n"));
    std::printf("summary of %zu centres (aggregates only) written to %s, content_sha256 %s\n",
                (*summary)["centres"].size(), path.string().c_str(),
                (*summary)["content_sha256"].get<std::string>().c_str());
    return 0;
  }
  run.catalogue_id = [&index](const std::string& slide_id) -> std::optional<std::string> {
    const auto it = index.find(slide_id);
    if (it == index.end()) return std::nullopt;
    return it->second;
  };

  auto report = validation::build_report(*dataset, *predictions, run);
  if (!report.ok()) return fail(report.error());
  auto html = report::render_html_report(*report);
  if (!html.ok()) return fail(html.error());

  const std::filesystem::path out(options.out);
  const auto joined = dataset::join(*dataset, *predictions);
  const std::string per_slide = validation::per_slide_csv(joined, (*report)["threshold"]);
  // The run's files together or not at all: a full disk leaves --out as it was.
  MCVAL_TRY_OR_FAIL(write_files_together(
      out, {{"per_slide.csv", per_slide},
            {"report.json", report->dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"},
            {"report.html", *html}}));
  // Also kept in the data folder, where `mcval serve` lists and shows it.
  validation::ReportStore store(reports_folder(config));
  auto run_id = store.save(*report, *html, per_slide);
  if (!run_id.ok()) return fail(run_id.error());
  MCVAL_TRY_OR_FAIL(audit.record(audit::Action::report_created, "report:" + *run_id, "", audit::Outcome::allowed));

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

}  // namespace

int run_validate(const Config& config, const ValidateCommandOptions& options) {
  auto audit = CommandAudit::open(config);
  if (!audit.ok()) return fail(audit.error());
  const std::string job =
      "job:validate/" + (options.combine.empty() ? std::filesystem::path(options.dataset).filename().string()
                                                  : std::to_string(options.combine.size()) + "-summaries");
  MCVAL_TRY_OR_FAIL(audit->record(audit::Action::job_started, job, "", audit::Outcome::allowed));
  const int status = validate_job(config, options, *audit);
  const auto [outcome, reason] = job_outcome(status);
  if (auto written = audit->record(audit::Action::job_finished, job, "", outcome, reason); !written.ok()) {
    (void)fail(written.error());
    return status == 0 ? exit_status(written.error().code) : status;
  }
  return status;
}

}  // namespace mcval::app
