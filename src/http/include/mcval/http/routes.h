#pragma once
// The routes of `mcval serve`: viewer assets, JSON API, Deep Zoom, IIIF, health and metrics.
// Handlers are thin: parse the request, call the catalogue or the tile service, respond.
#include <atomic>
#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "mcval/catalog/slide_catalog.h"
#include "mcval/common/result.h"
#include "mcval/http/metrics.h"
#include "mcval/http/router.h"
#include "mcval/tiles/tile_service.h"
#include "mcval/validation/report_store.h"

namespace mcval::http {

/// Server state shared between the routes and whoever runs scans.
struct ServiceState {
  std::atomic<bool> ready{false};  ///< true once the first catalogue scan finished
  /// Runs a catalogue scan now and returns its summary as JSON (set by the application).
  std::function<Result<nlohmann::json>()> rescan;
};

struct RouteContext {
  const catalog::SlideCatalog& catalog;
  const tiles::TileService& tiles;
  Metrics& metrics;
  ServiceState& state;
  std::filesystem::path web_root;  ///< built viewer assets; every file is loaded at start
  std::string version;
  const validation::ReportStore& reports;  ///< stored validation runs
};

/// Registers every route. The viewer's files are read into memory here and served only under
/// their own names, so no request path ever reaches the file system. `context` must outlive
/// the router.
Status register_routes(Router& router, const RouteContext& context);

/// The JSON the API gives for one slide.
nlohmann::json slide_json(const catalog::SlideRecord& record);

}  // namespace mcval::http
