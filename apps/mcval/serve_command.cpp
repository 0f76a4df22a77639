#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "commands.h"
#include "mcval/catalog/catalog_scanner.h"
#include "mcval/catalog/sqlite_catalog.h"
#include "mcval/common/logging.h"
#include "mcval/http/routes.h"
#include "mcval/http/server.h"
#include "mcval/inference/inference_store.h"
#include "mcval/inference/model_store.h"
#include "mcval/slide/openslide_source.h"
#include "mcval/slide/slide_pool.h"
#include "mcval/slide/tile_cache.h"
#include "mcval/tiles/tile_service.h"

namespace mcval::app {

namespace {

/// <dir of this executable>/../share/mcval/web: right in the build tree and when installed.
std::filesystem::path default_web_root() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "share/mcval/web";
  return exe.parent_path().parent_path() / "share" / "mcval" / "web";
}

nlohmann::json summary_json(const catalog::ScanSummary& s) {
  return {{"seen", s.seen},         {"added", s.added},         {"changed", s.changed}, {"unchanged", s.unchanged},
          {"removed", s.removed},   {"unreadable", s.unreadable}, {"seconds", s.seconds}};
}

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host.rfind("127.", 0) == 0 || host == "localhost";
}

}  // namespace

int run_serve(const Config& config) {
  const auto listen = parse_listen_address(config.listen);
  if (!listen.ok()) return fail(listen.error());
  std::error_code ec;
  if (!std::filesystem::is_directory(config.slides, ec)) {
    return fail(Error{ErrorCode::config_invalid, "slide root '" + config.slides + "' is not a folder"});
  }
  if (!is_loopback(listen->first)) {
    log::warn("listening beyond loopback without authentication", {{"listen", config.listen}});
  }

  // Block the stop signals in every thread; one thread waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto catalog = catalog::SqliteCatalog::open(catalog_file(config));
  if (!catalog.ok()) return fail(catalog.error());
  const slide::OpenSlideSource source;
  slide::SlidePool pool(source, static_cast<std::size_t>(config.max_open_slides));
  slide::TileCache cache(static_cast<std::uint64_t>(config.tile_cache_bytes));
  tiles::TileServiceOptions tile_options;
  tile_options.slide_root = config.slides;
  tile_options.jpeg_quality = config.jpeg_quality;
  tile_options.max_output_pixels = config.max_region_pixels;
  tile_options.associated_images = config.associated_images;
  tiles::TileService tile_service(**catalog, pool, cache, tile_options);
  if (auto refreshed = tile_service.refresh(); !refreshed.ok()) return fail(refreshed.error());

  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  http::ServiceState state;
  std::mutex scan_mutex;
  catalog::CatalogScanner scanner(**catalog, source);
  auto scan = [&]() -> Result<nlohmann::json> {
    std::lock_guard lock(scan_mutex);
    catalog::ScanOptions options;
    options.threads = config.threads > 0 ? config.threads : cores;
    // Long scans (first start on a large slide root) report progress in the log every few seconds.
    auto last_report = std::make_shared<std::atomic<std::int64_t>>(0);
    const auto started = std::chrono::steady_clock::now();
    options.on_progress = [last_report, started](const catalog::ScanProgress& p) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
      std::int64_t previous = last_report->load();
      if (ms - previous < 5000 || !last_report->compare_exchange_strong(previous, ms)) return;
      log::info("catalogue scan progress", {{"done", p.done}, {"total", p.total}, {"current", p.current}});
    };
    MCVAL_TRY_ASSIGN(summary, scanner.scan(config.slides, options));
    MCVAL_TRY(tile_service.refresh());
    auto json = summary_json(summary);
    log::info("catalogue scan finished", json);
    return json;
  };
  state.rescan = scan;

  http::Metrics metrics;
  metrics.add_collector([&cache, &pool, &state, &tile_service]() {
    const auto s = cache.stats();
    (void)tile_service;
    return std::vector<http::Metrics::Sample>{
        {"mcval_tile_cache_hits_total", "Tile cache hits.", "counter", static_cast<double>(s.hits)},
        {"mcval_tile_cache_misses_total", "Tile cache misses.", "counter", static_cast<double>(s.misses)},
        {"mcval_tile_cache_evictions_total", "Tile cache evictions.", "counter", static_cast<double>(s.evictions)},
        {"mcval_tile_cache_bytes", "Bytes held by the tile cache.", "gauge", static_cast<double>(s.bytes)},
        {"mcval_tile_cache_entries", "Tiles held by the tile cache.", "gauge", static_cast<double>(s.entries)},
        {"mcval_open_slides", "Slide handles open now.", "gauge", static_cast<double>(pool.open_count())},
        {"mcval_ready", "1 once the first catalogue scan has finished.", "gauge", state.ready ? 1.0 : 0.0},
    };
  });

  http::Router router;
  const validation::ReportStore reports(reports_folder(config));
  const inference::InferenceStore inference_results(config.data);
  const inference::ModelStore models(config.data);
  const http::RouteContext context{**catalog, tile_service, metrics, state,
                                   config.web_root.empty() ? default_web_root() : std::filesystem::path(config.web_root),
                                   MCVAL_VERSION, reports, inference_results, models};
  if (auto registered = http::register_routes(router, context); !registered.ok()) return fail(registered.error());

  http::ServerOptions server_options;
  server_options.host = listen->first;
  server_options.port = listen->second;
  server_options.threads = config.threads > 0 ? config.threads : std::max(4, 2 * cores);
  http::HttpServer server(server_options, router, metrics);
  auto address = server.start();
  if (!address.ok()) return fail(address.error());
  log::info("listening", {{"address", *address}, {"url", "http://" + *address + "/"}, {"version", MCVAL_VERSION},
                          {"slides", config.slides}, {"data", config.data}});

  std::thread signal_waiter([&server, stop_signals] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    log::info("stopping", {{"signal", signal_number}});
    server.stop();
  });

  std::thread first_scan([&] {
    if (config.scan_on_start) {
      auto result = scan();
      if (!result.ok()) log::error("catalogue scan failed", {{"error", result.error().to_string()}});
    }
    state.ready = true;
    log::info("ready");
  });

  server.run();
  first_scan.join();
  // Wake the signal thread if the server stopped for another reason.
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  log::info("stopped");
  return 0;
}

}  // namespace mcval::app
