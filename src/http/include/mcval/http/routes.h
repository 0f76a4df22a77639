#pragma once
// The routes of `mcval serve`: viewer assets, JSON API, Deep Zoom, IIIF, inference results
// (heatmaps, tissue masks), health and metrics. Handlers are thin: parse the request,
// authorize (the caller's centres and roles, docs/security.md), call the catalogue, the tile
// service or a store, audit, respond.
#include <atomic>
#include <mutex>
#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "mcval/audit/audit_log.h"
#include "mcval/audit/read_aggregator.h"
#include "mcval/catalog/slide_catalog.h"
#include "mcval/common/job_registry.h"
#include "mcval/common/result.h"
#include "mcval/http/metrics.h"
#include "mcval/http/router.h"
#include "mcval/inference/inference_store.h"
#include "mcval/inference/model_store.h"
#include "mcval/tiles/tile_service.h"
#include "mcval/validation/report_store.h"

namespace mcval::http {

/// Server state shared between the routes and whoever runs scans.
struct ServiceState {
  std::atomic<bool> ready{false};  ///< true once the first catalogue scan finished
  std::atomic<bool> stopping{false};  ///< true from SIGTERM on: /readyz answers 503
  /// Starts a catalogue scan as a background job, or returns the scan already running (set by
  /// the application; POST /api/v1/rescan). The Notify functions are the JobRegistry's.
  std::function<JobRegistry::Started(JobRegistry::Notify on_started, JobRegistry::Notify on_finished)> start_rescan;
  /// The background jobs (GET /api/v1/rescan/{id}); null: none.
  const JobRegistry* jobs = nullptr;
  /// Why the shared store does not answer now (empty while it does); set by the catalogue
  /// watcher, shown by /readyz. Thread-safe.
  void set_database_problem(std::string problem) {
    std::lock_guard lock(database_mutex_);
    database_problem_ = std::move(problem);
  }
  std::string database_problem() const {
    std::lock_guard lock(database_mutex_);
    return database_problem_;
  }

 private:
  mutable std::mutex database_mutex_;
  std::string database_problem_;
};

struct RouteContext {
  const catalog::SlideCatalog& catalog;
  const tiles::TileService& tiles;
  Metrics& metrics;
  ServiceState& state;
  std::filesystem::path web_root;  ///< built viewer assets; every file is loaded at start
  std::string version;
  const validation::ReportStore& reports;  ///< stored validation runs
  const inference::InferenceStore& inference;  ///< inference results per model and slide
  const inference::ModelStore& models;         ///< registered models (their cards name the classes)
  /// Where decisions and reads are audited (docs/audit.md); null: not audited (tests).
  audit::AuditRecorder* audit = nullptr;
  /// Counts tile, region and thumbnail reads into read_slide records; null: not counted.
  audit::ReadAggregator* reads = nullptr;
  /// "none" or "oidc", reported by /api/v1/me.
  std::string auth_mode = "none";
  /// Whether a BrowserLogin registers the /auth/... routes; without one, GET /auth/session
  /// answers {"login": false} so the viewer knows there is no sign-in.
  bool browser_login = false;
};

/// Registers every route. The viewer's files are read into memory here and served only under
/// their own names, so no request path ever reaches the file system. `context` must outlive
/// the router.
Status register_routes(Router& router, const RouteContext& context);

/// The JSON the API gives for one slide (the routes add the count of its inference results).
nlohmann::json slide_json(const catalog::SlideRecord& record);

}  // namespace mcval::http
