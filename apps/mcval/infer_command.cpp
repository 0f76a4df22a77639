#include "infer_command.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "command_audit.h"
#include "commands.h"
#include "mcval/catalog/catalog_store.h"
#include "mcval/common/logging.h"
#include "mcval/common/strings.h"
#include "mcval/http/metrics.h"
#include "mcval/http/metrics_server.h"
#include "mcval/inference/inference_run.h"
#include "mcval/inference/model_store.h"
#include "progress_reporter.h"

namespace mcval::app {
namespace {

nlohmann::json error_json(const Error& error) {
  return {{"code", std::string(error_name(error.code))},
          {"message", error.detail.empty() ? std::string(public_message(error.code)) : error.detail}};
}

Result<std::pair<int, int>> parse_shard(const std::string& text) {
  const auto parts = split(text, '/');
  int index = -1;
  int count = 0;
  auto parse = [](std::string_view part, int& value) {
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    return ec == std::errc() && end == part.data() + part.size() && !part.empty();
  };
  if (parts.size() != 2 || !parse(parts[0], index) || !parse(parts[1], count) || count < 1 || index < 0 ||
      index >= count) {
    return Error{ErrorCode::invalid_argument, "--shard must be i/N with 0 <= i < N, got '" + text + "'"};
  }
  return std::pair{index, count};
}

std::string slide_identity(const catalog::SlideRecord& record) {
  if (!record.sha256.empty()) return record.sha256;
  return "size:" + std::to_string(record.file_bytes) + ":mtime:" + std::to_string(record.mtime_ns);
}

// The catalogued slides the options select, in catalogue order; ids asked for that the
// catalogue does not hold come back in `missing`.
Result<std::vector<inference::SlideTarget>> select_slides(const Config& config, const InferCommandOptions& options,
                                                          std::vector<std::string>& missing) {
  MCVAL_TRY_ASSIGN(catalog, open_store(config));
  std::optional<std::string> centre;
  if (!options.centre.empty()) centre = options.centre;
  MCVAL_TRY_ASSIGN(records, catalog->list_slides(centre, /*include_removed=*/false));
  std::optional<std::set<std::string>> wanted;
  if (!options.dataset.empty()) {
    MCVAL_TRY_ASSIGN(dataset, resolve_dataset(config, options.dataset));
    wanted.emplace();
    for (const auto& row : dataset.rows()) wanted->insert(row.slide_id);
  }
  if (!options.slides.empty()) {
    std::set<std::string> listed(options.slides.begin(), options.slides.end());
    if (wanted) {
      std::set<std::string> both;
      for (const auto& id : listed) {
        if (wanted->count(id) != 0) both.insert(id);
      }
      wanted = std::move(both);
    } else {
      wanted = std::move(listed);
    }
  }
  std::vector<inference::SlideTarget> targets;
  std::set<std::string> found;
  for (const auto& record : records) {
    if (wanted && wanted->count(record.id) == 0) continue;
    found.insert(record.id);
    inference::SlideTarget target;
    target.id = record.id;
    target.centre = record.centre;
    target.relative_path = record.relative_path;
    target.path = std::filesystem::path(config.slides) / record.relative_path;
    target.identity = slide_identity(record);
    targets.push_back(std::move(target));
  }
  if (wanted) {
    for (const auto& id : *wanted) {
      if (found.count(id) == 0) missing.push_back(id);
    }
  }
  return targets;
}

// Stops the run on SIGINT/SIGTERM: the slide in progress is abandoned (nothing of it is
// written), finished slides are kept, and a rerun resumes.
class StopOnSignal {
 public:
  explicit StopOnSignal(std::atomic<bool>& stop) {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    sigaddset(&signals_, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    waiter_ = std::thread([this, &stop] {
      int signal_number = 0;
      sigwait(&signals_, &signal_number);
      if (signal_number != SIGUSR1) {
        stop = true;
        log::warn("stopping: the slide in progress is abandoned, finished slides are kept",
                  {{"signal", signal_number}});
      }
    });
  }
  ~StopOnSignal() {
    pthread_kill(waiter_.native_handle(), SIGUSR1);
    waiter_.join();
  }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

 private:
  sigset_t signals_{};
  std::thread waiter_;
};

/// What a running inference shows on --metrics-listen, for Prometheus (updated by the run's
/// callbacks, read at scrape time).
struct InferMetrics {
  std::atomic<std::int64_t> selected{0};
  std::atomic<std::int64_t> succeeded{0};
  std::atomic<std::int64_t> failed{0};
  std::atomic<std::int64_t> skipped{0};
  std::atomic<std::int64_t> tiles_of_finished_slides{0};
  std::atomic<std::int64_t> tiles_of_current_slide{0};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  std::vector<http::Metrics::Sample> samples() const {
    const double tiles = static_cast<double>(tiles_of_finished_slides + tiles_of_current_slide);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto left = selected - succeeded - failed - skipped;
    return {
        {"mcval_inference_slides_selected", "Slides this run (shard) has to do.", "gauge", static_cast<double>(selected)},
        {"mcval_inference_slides_queued", "Slides of this run not finished yet (the one in progress included).", "gauge",
         static_cast<double>(std::max<std::int64_t>(0, left))},
        {"mcval_inference_slides_succeeded_total", "Slides scored by this run.", "counter", static_cast<double>(succeeded)},
        {"mcval_inference_slides_failed_total", "Slides that failed in this run (recorded).", "counter",
         static_cast<double>(failed)},
        {"mcval_inference_slides_skipped_total", "Slides skipped: a result of this model already stored.", "counter",
         static_cast<double>(skipped)},
        {"mcval_inference_tiles_total", "Tiles scored by this run.", "counter", tiles},
        {"mcval_inference_tiles_per_second", "Tiles scored per second since the run started.", "gauge",
         seconds > 0 ? tiles / seconds : 0.0},
    };
  }
};

}  // namespace

Result<InferOutcome> infer_selected_slides(const Config& config, const inference::ModelRecord& model,
                                           const InferCommandOptions& options) {
  MCVAL_TRY_ASSIGN(shard, parse_shard(options.shard));
  if (options.batch_size < 1 || options.batch_size > 4096) {
    return Error{ErrorCode::invalid_argument, "--batch-size must be 1..4096"};
  }
  std::vector<std::string> missing;
  MCVAL_TRY_ASSIGN(targets, select_slides(config, options, missing));
  if (targets.empty() && missing.empty()) {
    return Error{ErrorCode::not_found, "no catalogued slide matches (run `mcval ingest` first?)"};
  }
  for (const auto& id : missing) {
    log::warn("slide not in the catalogue", {{"slide_id", id}});
  }

  const inference::InferenceStore store(config.data);
  InferMetrics live;
  live.selected = static_cast<std::int64_t>(targets.size());
  http::Metrics metrics;
  metrics.add_collector([&live] { return live.samples(); });
  std::atomic<bool> stop{false};
  ProgressReporter progress("infer", "tiles");
  inference::RunOptions run;
  run.shard_index = shard.first;
  run.shard_count = shard.second;
  run.force = options.force;
  run.mcval_version = MCVAL_VERSION;
  run.pipeline.read_threads = config.threads;
  run.pipeline.batch_size = options.batch_size;
  run.stop = &stop;
  run.on_progress = [&progress, &live](const inference::SlideTarget& slide, std::int64_t done,
                                      std::int64_t estimate) {
    live.tiles_of_current_slide = done;
    progress.update(static_cast<double>(done), static_cast<double>(estimate), slide.relative_path);
  };
  nlohmann::json slides = nlohmann::json::array();
  run.on_slide = [&](const inference::SlideInferenceRecord& record, bool skipped) {
    if (skipped) {
      ++live.skipped;
    } else if (record.status == "ok") {
      ++live.succeeded;
      live.tiles_of_finished_slides += record.tiles_scored;
    } else {
      ++live.failed;
    }
    live.tiles_of_current_slide = 0;
    nlohmann::json line = {{"slide_id", record.slide_id}, {"centre", record.centre},
                           {"path", record.relative_path}, {"status", skipped ? "skipped" : record.status}};
    if (record.status == "ok") {
      line["score"] = record.score ? nlohmann::json(*record.score) : nlohmann::json();
      line["tiles"] = record.tiles_scored;
      line["seconds"] = record.timings.total;
    } else {
      line["error_code"] = record.error_code;
      line["reason"] = record.reason;
    }
    if (!options.json) {
      progress.finish();
      if (record.status == "ok") {
        std::printf("%-16s  %-12s  %-8s  score %.4f  %6lld tiles  %6.1f s  %s\n", record.slide_id.c_str(),
                    record.centre.c_str(), skipped ? "skipped" : "ok", record.score.value_or(0.0),
                    static_cast<long long>(record.tiles_scored), record.timings.total, record.relative_path.c_str());
      } else {
        std::printf("%-16s  %-12s  %-8s  %s: %s  %s\n", record.slide_id.c_str(), record.centre.c_str(), "FAILED",
                    record.error_code.c_str(), record.reason.c_str(), record.relative_path.c_str());
      }
      std::fflush(stdout);
    }
    slides.push_back(std::move(line));
  };

  Result<inference::RunSummary> summary = Error{ErrorCode::internal};
  {
    StopOnSignal stop_on_signal(stop);
    // Started after the stop signals are blocked, so that its thread never receives them.
    std::unique_ptr<http::MetricsServer> metrics_server;
    if (!config.metrics_listen.empty()) {
      MCVAL_TRY_ASSIGN(started, http::MetricsServer::start(config.metrics_listen, metrics));
      metrics_server = std::move(started);
      log::info("metrics listening", {{"address", metrics_server->address()}});
    }
    summary = inference::run_inference(model, targets, store, run);
  }
  progress.finish();
  if (!summary.ok()) {
    // The run ended on an error part way: the summary still tells what was done before it.
    InferOutcome outcome;
    outcome.error = summary.error();
    outcome.selected = static_cast<int>(live.selected.load());
    outcome.succeeded = static_cast<int>(live.succeeded.load());
    outcome.failed = static_cast<int>(live.failed.load());
    outcome.skipped = static_cast<int>(live.skipped.load());
    outcome.json = {{"model", {{"sha256", model.sha256}, {"name", model.card.name}, {"version", model.card.version}}},
                    {"shard", options.shard},
                    {"succeeded", outcome.succeeded},
                    {"failed", outcome.failed},
                    {"skipped", outcome.skipped},
                    {"error", error_json(*outcome.error)},
                    {"slides", slides}};
    return outcome;
  }

  // Slides asked for by id or dataset that the catalogue lacks are recorded as failed too, so
  // that a validation's flow counts them.
  int missing_recorded = 0;
  for (const auto& id : missing) {
    if (inference::shard_of(id, run.shard_count) != run.shard_index) continue;
    inference::SlideInferenceRecord record;
    record.status = "failed";
    record.slide_id = id;
    record.model_sha256 = model.sha256;
    record.model_name = model.card.name;
    record.model_version = model.card.version;
    record.error_code = std::string(error_name(ErrorCode::slide_not_found));
    record.reason = "the slide is not in the catalogue";
    record.mcval_version = MCVAL_VERSION;
    if (store.commit(record, nullptr, nullptr).ok()) {
      ++missing_recorded;
      run.on_slide(record, false);
    }
  }
  InferOutcome outcome;
  outcome.selected = summary->selected + missing_recorded;
  outcome.skipped = summary->skipped;
  outcome.succeeded = summary->succeeded;
  outcome.failed = summary->failed + missing_recorded;
  outcome.stopped = summary->stopped;
  outcome.tiles = summary->tiles;
  outcome.seconds = summary->seconds;
  const double tiles_per_s = summary->timings.total > 0 ? static_cast<double>(summary->tiles) / summary->timings.total : 0;
  outcome.json = {
      {"model", {{"sha256", model.sha256}, {"name", model.card.name}, {"version", model.card.version}}},
      {"shard", options.shard},
      {"selected", outcome.selected},
      {"skipped", outcome.skipped},
      {"succeeded", outcome.succeeded},
      {"failed", outcome.failed},
      {"stopped", outcome.stopped},
      {"tiles", outcome.tiles},
      {"seconds", outcome.seconds},
      {"tiles_per_second", tiles_per_s},
      {"time_s", {{"tissue", summary->timings.tissue}, {"read", summary->timings.read},
                  {"resize", summary->timings.resize}, {"model", summary->timings.model}}},
      {"slides", slides}};
  if (!options.json) {
    std::printf("model %s %s (%s): %d slides in shard %s: %d done, %d skipped, %d failed%s; %lld tiles in %.1f s "
                "(%.0f tiles/s; read %.1f s, resize %.1f s, model %.1f s summed over threads)\n",
                model.card.name.c_str(), model.card.version.c_str(), model.sha256.substr(0, 12).c_str(),
                outcome.selected, options.shard.c_str(), outcome.succeeded, outcome.skipped, outcome.failed,
                outcome.stopped ? ", STOPPED early" : "", static_cast<long long>(outcome.tiles), outcome.seconds,
                tiles_per_s, summary->timings.read, summary->timings.resize, summary->timings.model);
  }
  return outcome;
}

namespace {

int infer_job(const Config& config, const InferCommandOptions& options) {
  // With --json, stdout ends with one JSON summary whatever happens (an error included).
  const auto fail_with_summary = [&options](const Error& error) {
    if (options.json) std::printf("%s\n", nlohmann::json({{"error", error_json(error)}}).dump(2).c_str());
    return fail(error);
  };
  const inference::ModelStore models(config.data);
  auto model = models.find(options.model);
  if (!model.ok()) return fail_with_summary(model.error());
  auto outcome = infer_selected_slides(config, *model, options);
  if (!outcome.ok()) return fail_with_summary(outcome.error());
  if (options.json) std::printf("%s\n", outcome->json.dump(2).c_str());
  if (outcome->error) return fail(*outcome->error);
  if (outcome->stopped) return exit_status(ErrorCode::cancelled);
  if (outcome->failed > 0 && !options.failed_slides_ok) return exit_status(ErrorCode::inference_failed);
  return 0;
}

}  // namespace

int run_infer(const Config& config, const InferCommandOptions& options) {
  auto audit = CommandAudit::open(config);
  if (!audit.ok()) return fail(audit.error());
  const std::string job = "job:infer/" + options.model + (options.shard == "0/1" ? "" : "/shard-" + options.shard);
  if (auto written = audit->record(audit::Action::job_started, job, options.centre, audit::Outcome::allowed);
      !written.ok()) {
    return fail(written.error());
  }
  const int status = infer_job(config, options);
  const auto [outcome, reason] = job_outcome(status);
  if (auto written = audit->record(audit::Action::job_finished, job, options.centre, outcome, reason); !written.ok()) {
    (void)fail(written.error());
    return status == 0 ? exit_status(written.error().code) : status;
  }
  return status;
}

}  // namespace mcval::app
