#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <random>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "commands.h"
#include "memory_metrics.h"
#include "mcval/common/sha256.h"
#include "mcval/audit/audit_log.h"
#include "mcval/audit/read_aggregator.h"
#include "mcval/audit/refusal_aggregator.h"
#include "mcval/audit/seal.h"
#include "mcval/auth/issuer_config.h"
#include "mcval/auth/token_verifier.h"
#include "mcval/catalog/catalog_scanner.h"
#include "mcval/catalog/catalog_store.h"
#include "mcval/common/clock.h"
#include "mcval/common/files.h"
#include "mcval/common/job_registry.h"
#include "mcval/common/logging.h"
#include "mcval/common/strings.h"
#include "mcval/http/authenticator.h"
#include "mcval/http/browser_login.h"
#include "mcval/http/https_key_source.h"
#include "mcval/http/metrics_server.h"
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

/// True for IPv4 127.0.0.0/8 and IPv6 ::1 (the only hosts `--auth none` may listen on).
bool is_loopback(const std::string& host) {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

/// The trusted issuers of `--auth-config` (config_invalid naming the file otherwise).
Result<auth::AuthConfig> load_auth_config(const Config& config) {
  auto text = read_file(config.auth_config);
  if (!text.ok()) {
    return Error{ErrorCode::config_invalid, "auth_config '" + config.auth_config + "': " + text.error().to_string()};
  }
  auto parsed = auth::parse_auth_config(*text);
  if (!parsed.ok()) {
    return Error{ErrorCode::config_invalid, "auth_config '" + config.auth_config + "': " + parsed.error().detail};
  }
  if (parsed->issuers.empty()) {
    return Error{ErrorCode::config_invalid, "auth_config '" + config.auth_config + "' names no issuer"};
  }
  return std::move(parsed).value();
}

/// The browser login's settings: the issuer named by --login-issuer in the issuers file, the
/// client secret from its file, the redirect URI from --public-url (or the listen address).
Result<http::BrowserLoginOptions> browser_login_options(const Config& config, const auth::AuthConfig& issuers,
                                                        const std::pair<std::string, unsigned short>& listen) {
  http::BrowserLoginOptions options;
  bool found = false;
  for (const auto& issuer : issuers.issuers) {
    if (issuer.name == config.login_issuer) {
      options.issuer = issuer;
      found = true;
    }
  }
  if (!found) {
    return Error{ErrorCode::config_invalid, "login_issuer '" + config.login_issuer + "' is no issuer's name in " +
                                                config.auth_config};
  }
  auto secret = read_file(config.login_client_secret_file);
  if (!secret.ok()) {
    return Error{ErrorCode::config_invalid,
                 "login_client_secret_file '" + config.login_client_secret_file + "' cannot be read"};
  }
  options.client_secret = std::string(trim(*secret));
  if (options.client_secret.empty()) {
    return Error{ErrorCode::config_invalid, "login_client_secret_file '" + config.login_client_secret_file + "' is empty"};
  }
  options.client_id = config.login_client_id;
  options.resource = config.login_resource;
  options.scopes = config.login_scopes;
  options.session_max = std::chrono::seconds(config.login_session_max_s);
  std::string base = config.public_url;
  if (base.empty() && listen.second == 0) {
    return Error{ErrorCode::config_invalid, "a browser login needs --public-url when --listen picks a free port"};
  }
  if (base.empty()) {
    const std::string host = listen.first.find(':') != std::string::npos ? "[" + listen.first + "]" : listen.first;
    base = "http://" + host + ":" + std::to_string(listen.second);
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  options.redirect_uri = base + "/auth/callback";
  options.secure_cookies = base.starts_with("https://");
  return options;
}

/// The service's own records (start, stop): no actor, source "cli".
audit::AuditRecord service_record(audit::Action action, std::string reason = {}) {
  audit::Requester who;
  who.source = "cli";
  return audit::AuditRecord::make(action, who, "", "", audit::Outcome::allowed, std::move(reason));
}

/// The settings that decide who may see what, each with a fingerprint of its value (the auth
/// configuration by its file's content, so an edit of the file shows).
std::vector<std::pair<std::string, std::string>> permission_settings(const Config& config, const std::string& cors) {
  std::string auth_config_hash;
  if (!config.auth_config.empty()) {
    auto hashed = sha256_file_hex(config.auth_config);
    auth_config_hash = hashed.ok() ? *hashed : "unreadable";
  }
  std::vector<std::pair<std::string, std::string>> settings = {
      {"auth", config.auth},
      {"auth_config", auth_config_hash},
      {"cors_origins", cors},
      {"associated_images", config.associated_images ? "true" : "false"},
      {"listen", config.listen},
      {"login_issuer", config.login_issuer},
      {"login_client_id", config.login_client_id},
      {"public_url", config.public_url},
      {"rate_limit_per_user", std::to_string(config.rate_limit_per_user)},
      {"max_concurrent_per_user", std::to_string(config.max_concurrent_per_user)},
  };
  for (auto& [name, value] : settings) value = sha256_hex(value);
  return settings;
}

/// Audits each permission-relevant setting whose value differs from the last start of the server
/// on this data folder (all of them on the first start) as config_changed, resource
/// "config:<setting>@<first 16 hex of the value's SHA-256>", and remembers the values in
/// <audit log>.settings.json (one per log: each server pod may write its own).
Status audit_configuration_changes(audit::AuditRecorder& log, const std::filesystem::path& state_file,
                                   const std::vector<std::pair<std::string, std::string>>& settings) {
  nlohmann::json previous = nlohmann::json::object();
  if (auto text = read_file(state_file); text.ok()) {
    previous = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (!previous.is_object()) previous = nlohmann::json::object();
  }
  nlohmann::json current = nlohmann::json::object();
  for (const auto& [name, fingerprint] : settings) {
    current[name] = fingerprint;
    const auto before = previous.find(name);
    if (before != previous.end() && before->is_string() && before->get<std::string>() == fingerprint) continue;
    auto record = service_record(audit::Action::config_changed);
    record.resource = "config:" + name + "@" + fingerprint.substr(0, 16);
    MCVAL_TRY(log.record(std::move(record)));
  }
  return write_file_atomic(state_file, current.dump(2) + "\n");
}

/// Counts every audit record by action and outcome in /metrics (authorization decisions among
/// them: denied with its reason in the log), then writes it to the log.
class CountingAuditRecorder final : public audit::AuditRecorder {
 public:
  CountingAuditRecorder(audit::AuditRecorder& log, http::Metrics& metrics) : log_(log), metrics_(metrics) {}
  Status record(audit::AuditRecord record) override {
    metrics_.increment("mcval_audit_records_total",
                       "Audit records written, by action and outcome (denied: authorization refused).",
                       {{"action", std::string(audit::action_name(record.action))},
                        {"outcome", std::string(audit::outcome_name(record.outcome))}});
    return log_.record(std::move(record));
  }

 private:
  audit::AuditRecorder& log_;
  http::Metrics& metrics_;
};

/// Holder name of the scan lease: host, process and a random part (a restarted process is another
/// holder).
std::string lease_holder_name() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + sha256_hex(std::to_string(std::random_device{}()) +
                                                                         utc_now_iso8601()).substr(0, 8);
}

/// Follows the shared catalogue's version on a thread of its own (see run_serve).
class CatalogueWatcher {
 public:
  CatalogueWatcher(catalog::CatalogStore& store, std::chrono::milliseconds period, std::int64_t seen,
                   std::function<Status()> refresh, std::function<void(std::string)> report)
      : store_(store), period_(period), seen_(seen), refresh_(std::move(refresh)), report_(std::move(report)),
        thread_([this] { run(); }) {}
  ~CatalogueWatcher() { stop(); }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
      lock.unlock();
      check();
      lock.lock();
    }
  }
  void check() {
    auto version = store_.catalog_version();
    if (!version.ok()) {
      if (!failing_) log::warn("the shared store does not answer", {{"error", version.error().to_string()}});
      failing_ = true;
      report_(version.error().to_string());
      return;
    }
    if (failing_) log::info("the shared store answers again", {{"database", store_.describe()}});
    failing_ = false;
    report_("");
    if (*version == seen_) return;
    if (auto refreshed = refresh_(); !refreshed.ok()) {
      log::warn("catalogue refresh failed", {{"error", refreshed.error().to_string()}});
      return;  // tried again at the next period
    }
    log::info("catalogue changed elsewhere; view refreshed", {{"version", *version}});
    seen_ = *version;
  }

  catalog::CatalogStore& store_;
  std::chrono::milliseconds period_;
  std::int64_t seen_;
  bool failing_ = false;
  std::function<Status()> refresh_;
  std::function<void(std::string)> report_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

/// Stored validation runs: the folders under reports/.
std::size_t count_folders(const std::filesystem::path& folder) {
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = std::filesystem::directory_iterator(folder, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    n += it->is_directory(ec) && !it->path().filename().string().starts_with(".");
  }
  return n;
}

/// The server's connection limit: max_connections, or with 0 what the file limit allows after a
/// reserve for everything else the process opens (slides, several descriptors each; the
/// catalogue; logs; each I/O thread's event descriptors). Raises the soft file limit to the hard
/// one first. config_invalid when the file limit leaves no room for connections at all.
Result<std::size_t> connection_limit(const Config& config, int io_threads) {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return static_cast<std::size_t>(std::max(0, config.max_connections));
  if (files.rlim_cur < files.rlim_max) {
    rlimit raised = files;
    raised.rlim_cur = files.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) files = raised;
  }
  const std::uint64_t file_limit = files.rlim_cur;
  const std::uint64_t reserve = 64 + 4 * static_cast<std::uint64_t>(std::max(0, config.max_open_slides)) +
                                3 * static_cast<std::uint64_t>(std::max(1, io_threads));
  const std::uint64_t room = file_limit > reserve ? file_limit - reserve : 0;
  if (config.max_connections == 0) {
    if (room < 16) {
      return Error{ErrorCode::config_invalid,
                   "the file limit (ulimit -n) is " + std::to_string(file_limit) + ", which leaves no room for " +
                       "connections beside the " + std::to_string(reserve) + " descriptors kept for slides, the " +
                       "catalogue and logs: raise it (ulimit -n, LimitNOFILE=, the container's nofile limit) or " +
                       "set --max-connections"};
    }
    log::info("connection limit", {{"max_connections", room}, {"file_limit", file_limit}, {"reserve", reserve}});
    return static_cast<std::size_t>(room);
  }
  const auto wanted = static_cast<std::uint64_t>(config.max_connections);
  if (wanted > room) {
    log::warn("max_connections is more than the file limit allows: beyond about " + std::to_string(room) +
                  " connections accepting fails for want of descriptors and backs off (raise ulimit -n)",
              {{"max_connections", wanted}, {"file_limit", file_limit}, {"reserve", reserve}});
  } else {
    log::info("connection limit", {{"max_connections", wanted}, {"file_limit", file_limit}, {"reserve", reserve}});
  }
  return static_cast<std::size_t>(wanted);
}

}  // namespace

int run_serve(const Config& config) {
  const auto listen = parse_listen_address(config.listen);
  if (!listen.ok()) return fail(listen.error());
  std::error_code ec;
  if (!std::filesystem::is_directory(config.slides, ec)) {
    return fail(Error{ErrorCode::config_invalid, "slide root '" + config.slides + "' is not a folder"});
  }
  if (config.auth == "none" && !is_loopback(listen->first)) {
    return fail(Error{ErrorCode::config_invalid,
                      "--auth none lets every client act as an administrator, so it is allowed only on a loopback "
                      "address (127.0.0.1 or ::1), not on " + config.listen +
                          ": use --auth oidc with --auth-config (docs/security.md) or listen on 127.0.0.1"});
  }

  std::string cors_list = config.cors_origins;
  if (cors_list == "auto") cors_list = config.auth == "none" ? "*" : "";
  if (cors_list == "none") cors_list.clear();
  auto cors = http::CorsPolicy::parse(cors_list);
  if (!cors.ok()) return fail(Error{cors.error().code, "--cors-origins: " + cors.error().detail});

  // Block the stop signals in every thread (the audit log's threads too, so before they start);
  // one thread waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // Authentication: the issuers are read and checked before anything else starts.
  std::optional<auth::AuthConfig> auth_config;
  if (config.auth == "oidc") {
    auto loaded = load_auth_config(config);
    if (!loaded.ok()) return fail(loaded.error());
    auth_config = std::move(loaded).value();
  }

  // The audit log: refuses to start on a damaged log (audit_tampered).
  auto audit_options = audit::audit_log_options(config, MCVAL_VERSION);
  if (!audit_options.ok()) return fail(audit_options.error());
  auto audit_log = audit::AuditLog::open(std::move(audit_options).value());
  if (!audit_log.ok()) return fail(audit_log.error());
  // Sealing (docs/audit.md): refuses a log cut below, replaced or rewritten up to its last
  // signed checkpoint; then seals every N records and T seconds, and at the end.
  std::unique_ptr<audit::AuditSealer> sealer;
  if (!config.audit_signing_key_file.empty()) {
    auto key = audit::Ed25519Key::load_private(config.audit_signing_key_file);
    if (!key.ok()) return fail(Error{ErrorCode::config_invalid, "audit_signing_key_file: " + key.error().detail});
    auto seal_options = audit::seal_options(config);
    if (!seal_options.ok()) return fail(seal_options.error());
    auto started = audit::AuditSealer::start(**audit_log, std::move(key).value(),
                                             audit::checkpoint_store_for(config, (*audit_log)->path()), *seal_options);
    if (!started.ok()) return fail(started.error());
    sealer = std::move(started).value();
  } else {
    log::info("audit log not sealed: no audit_signing_key_file (production needs one, docs/audit.md)");
  }
  auto read_options = audit::read_aggregator_options(config);
  if (!read_options.ok()) return fail(read_options.error());
  auto refusal_options = audit::refusal_aggregator_options(config);
  if (!refusal_options.ok()) return fail(refusal_options.error());


  auto catalog = open_store(config);
  if (!catalog.ok()) return fail(catalog.error());
  // SQLite is one server's store: a second server on the same file would keep its own sessions
  // and scan on its own. Refused with one clear line (held until exit; released by the kernel
  // when the process dies, kill -9 included).
  std::optional<ProcessLock> sqlite_lock;
  if ((*catalog)->engine() == "sqlite") {
    auto locked = ProcessLock::acquire((*catalog)->describe().substr(9) + ".serve.lock");
    if (!locked.ok()) return fail(locked.error());
    sqlite_lock.emplace(std::move(locked).value());
  }
  const slide::OpenSlideSource source(static_cast<std::size_t>(config.decoded_tile_cache_bytes));
  slide::SlidePool pool(source, static_cast<std::size_t>(config.max_open_slides));
  slide::TileCache cache(static_cast<std::uint64_t>(config.tile_cache_bytes));
  tiles::TileServiceOptions tile_options;
  tile_options.slide_root = config.slides;
  tile_options.jpeg_quality = config.jpeg_quality;
  tile_options.max_output_pixels = config.max_region_pixels;
  tile_options.associated_images = config.associated_images;
  tile_options.dzi_native_tiles = config.dzi_native_tiles;
  tiles::TileService tile_service(**catalog, pool, cache, tile_options);
  auto initial_version = (*catalog)->catalog_version();
  if (!initial_version.ok()) return fail(initial_version.error());
  if (auto refreshed = tile_service.refresh(); !refreshed.ok()) return fail(refreshed.error());

  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  http::ServiceState state;
  catalog::CatalogScanner scanner(**catalog, source);
  // Scans run as background jobs (the one at start and POST /api/v1/rescan), one at a time, never
  // on a server I/O thread; and one at a time across every process on the store: the lease is
  // renewed while the scan makes progress and given back at the end; a replica that finds it taken
  // leaves the scan to the holder and sees the result through the catalogue watcher.
  const std::string scan_holder = lease_holder_name();
  constexpr std::chrono::seconds kScanLease{60};
  auto scan = [&](JobProgress& job) -> Result<nlohmann::json> {
    // SQLite serves one server process (ProcessLock above): its scans are one at a time already.
    const bool shared = (*catalog)->engine() != "sqlite";
    bool leased = true;
    if (shared) {
      MCVAL_TRY_ASSIGN(acquired, (*catalog)->acquire_scan_lease(scan_holder, kScanLease));
      leased = acquired;
    }
    if (!leased) {
      log::info("catalogue scan left to another process", {{"database", (*catalog)->describe()}});
      return nlohmann::json{{"skipped", "another process is scanning this catalogue; its result is seen here within "
                                        "catalog_poll_ms of its end"}};
    }
    struct LeaseRelease {
      catalog::CatalogStore& store;
      const std::string& holder;
      bool held;
      ~LeaseRelease() {
        if (held) (void)store.release_scan_lease(holder);
      }
    } release{**catalog, scan_holder, shared};
    catalog::ScanOptions options;
    options.threads = config.threads > 0 ? config.threads : cores;
    options.stop = &job.stop_flag();
    options.commit_interval = std::chrono::seconds(config.scan_commit_s);
    // Long scans (first start on a large slide root) report progress in the log every few seconds.
    auto last_report = std::make_shared<std::atomic<std::int64_t>>(0);
    const auto started = std::chrono::steady_clock::now();
    auto last_renewal = std::make_shared<std::atomic<std::int64_t>>(0);
    options.on_progress = [last_report, last_renewal, started, &catalog, &scan_holder, kScanLease, shared,
                           &job](const catalog::ScanProgress& p) {
      job.set(p.done, p.total);
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
      if (std::int64_t renewed = last_renewal->load();
          shared && ms - renewed >= 10000 && last_renewal->compare_exchange_strong(renewed, ms)) {
        (void)(*catalog)->acquire_scan_lease(scan_holder, kScanLease);
      }
      std::int64_t previous = last_report->load();
      if (ms - previous < 5000 || !last_report->compare_exchange_strong(previous, ms)) return;
      log::info("catalogue scan progress", {{"done", p.done}, {"total", p.total}, {"current", p.current}});
    };
    auto summary = scanner.scan(config.slides, options);
    // What a failed or stopped scan committed is served too.
    MCVAL_TRY(tile_service.refresh());
    if (!summary.ok()) return summary.error();
    auto json = summary_json(*summary);
    log::info("catalogue scan finished", json);
    return json;
  };
  JobRegistry jobs;
  state.jobs = &jobs;
  state.start_rescan = [&jobs, &scan](JobRegistry::Notify on_started, JobRegistry::Notify on_finished) {
    return jobs.start("rescan", scan, std::move(on_started), std::move(on_finished));
  };

  http::Metrics metrics;
  CountingAuditRecorder audit_recorder(**audit_log, metrics);
  // Refusals of requests without a valid token: the first per address and reason, then counts.
  audit::RefusalAggregator refusals(audit_recorder, std::move(refusal_options).value());
  metrics.add_collector([&cache, &pool, &state, &tile_service, reports_root = reports_folder(config)]() {
    const auto s = cache.stats();
    return std::vector<http::Metrics::Sample>{
        {"mcval_tile_cache_hits_total", "Tile cache hits.", "counter", static_cast<double>(s.hits)},
        {"mcval_tile_cache_misses_total", "Tile cache misses.", "counter", static_cast<double>(s.misses)},
        {"mcval_tile_cache_evictions_total", "Tile cache evictions.", "counter", static_cast<double>(s.evictions)},
        {"mcval_tile_cache_bytes", "Bytes held by the tile cache.", "gauge", static_cast<double>(s.bytes)},
        {"mcval_tile_cache_entries", "Tiles held by the tile cache.", "gauge", static_cast<double>(s.entries)},
        {"mcval_open_slides", "Slide handles open now.", "gauge", static_cast<double>(pool.open_count())},
        {"mcval_tiles_stored_jpeg_total", "Tiles answered with the slide file's own stored JPEG bytes (no decoding), cache hits included.",
         "counter", static_cast<double>(tile_service.counters().stored_jpeg_served)},
        {"mcval_tiles_stored_jpeg_reads_total", "Stored JPEG tiles read from slide files (cache misses).", "counter",
         static_cast<double>(tile_service.counters().stored_jpeg_reads)},
        {"mcval_tiles_rendered_total", "Tiles and regions decoded, scaled and encoded (cache misses).", "counter",
         static_cast<double>(tile_service.counters().rendered)},
        {"mcval_ready", "1 once the first catalogue scan has finished (0 again while shutting down).", "gauge",
         state.ready && !state.stopping ? 1.0 : 0.0},
        {"mcval_validation_runs", "Validation runs stored (listed by /api/v1/reports).", "gauge",
         static_cast<double>(count_folders(reports_root))},
    };
  });

  metrics.add_collector(app::memory_samples);

  // Who is calling (docs/security.md): bearer tokens from the configured issuers, or the local
  // user on loopback. The key source and verifier outlive the server.
  bool loopback_http = false;
  if (auth_config) {
    for (const auto& issuer : auth_config->issuers) loopback_http = loopback_http || issuer.allow_insecure_http_for_tests;
  }
  http::HttpsKeySource key_source(http::KeySourceOptions{.allow_loopback_http = loopback_http});
  std::unique_ptr<auth::TokenVerifier> verifier;
  std::unique_ptr<http::Authenticator> authenticator;
  std::unique_ptr<http::BrowserLogin> browser_login;
  if (auth_config) {
    verifier = std::make_unique<auth::TokenVerifier>(std::move(*auth_config), key_source);
    for (const auto& failure : verifier->prefetch(std::chrono::system_clock::now())) {
      log::warn("issuer keys not fetched at start; its tokens are refused (503) until a fetch succeeds",
                {{"error", failure.to_string()}});
    }
    if (!config.login_issuer.empty()) {
      auto login_options = browser_login_options(config, verifier->config(), *listen);
      if (!login_options.ok()) return fail(login_options.error());
      login_options->session_cache = std::chrono::milliseconds(std::max(0, config.session_cache_ms));
      browser_login = std::make_unique<http::BrowserLogin>(std::move(login_options).value(), *verifier, key_source,
                                                           **catalog, &audit_recorder);
    }
    authenticator = std::make_unique<http::BearerAuthenticator>(*verifier, &refusals, browser_login.get());
    metrics.add_collector([&verifier]() {
      return std::vector<http::Metrics::Sample>{{"mcval_jwks_fetches_total", "JWKS fetch attempts, all issuers.",
                                                 "counter", static_cast<double>(verifier->jwks_fetches())}};
    });
  } else {
    authenticator = std::make_unique<http::LocalAuthenticator>();
  }
  audit::ReadAggregator reads(audit_recorder, std::move(read_options).value());

  http::Router router;
  const validation::ReportStore reports(reports_folder(config));
  const inference::InferenceStore inference_results(config.data);
  const inference::ModelStore models(config.data);
  const http::RouteContext context{**catalog, tile_service, metrics, state,
                                   config.web_root.empty() ? default_web_root() : std::filesystem::path(config.web_root),
                                   MCVAL_VERSION, reports, inference_results, models,
                                   &audit_recorder, &reads, config.auth, browser_login != nullptr};
  if (auto registered = http::register_routes(router, context); !registered.ok()) return fail(registered.error());
  if (browser_login) browser_login->register_routes(router);

  http::ServerOptions server_options;
  server_options.host = listen->first;
  server_options.port = listen->second;
  server_options.threads = config.threads > 0 ? config.threads : std::max(4, 2 * cores);
  server_options.cors = *cors;
  server_options.idle_timeout_seconds = config.idle_timeout_s;
  auto max_connections = connection_limit(config, server_options.threads);
  if (!max_connections.ok()) return fail(max_connections.error());
  server_options.max_connections = *max_connections;
  server_options.access_log = config.access_log == "off"      ? http::AccessLog::off
                              : config.access_log == "errors" ? http::AccessLog::errors
                                                              : http::AccessLog::all;
  // Per-user limits apply to verified users (--auth oidc); the local user of --auth none has none.
  http::UserLimitOptions limit_options;
  if (config.auth == "oidc") {
    limit_options.requests_per_second = config.rate_limit_per_user;
    limit_options.max_concurrent = config.max_concurrent_per_user;
  }
  http::UserLimits limits(limit_options);
  // Requests refused for their credentials, per client address (a client without a token
  // flooding the server and its logs).
  http::UserLimitOptions address_limit_options;
  if (config.auth == "oidc") address_limit_options.requests_per_second = config.rate_limit_per_address_unauthenticated;
  http::UserLimits address_limits(address_limit_options);
  server_options.address_limits = &address_limits;
  http::HttpServer server(server_options, router, metrics, *authenticator, &limits, &audit_recorder);
  auto address = server.start();
  if (!address.ok()) return fail(address.error());
  log::info("listening", {{"address", *address}, {"url", "http://" + *address + "/"}, {"version", MCVAL_VERSION},
                          {"slides", config.slides}, {"data", config.data}, {"auth", config.auth},
                          {"cors_origins", cors->any() ? nlohmann::json("*") : nlohmann::json(cors->origins())},
                          {"audit_log", (*audit_log)->path().string()},
                          {"database", (*catalog)->describe()}});
  std::unique_ptr<http::MetricsServer> metrics_server;
  if (!config.metrics_listen.empty()) {
    auto started = http::MetricsServer::start(config.metrics_listen, metrics);
    if (!started.ok()) {
      server.stop();
      return fail(started.error());
    }
    metrics_server = std::move(started).value();
    log::info("metrics listening", {{"address", metrics_server->address()},
                                    {"url", "http://" + metrics_server->address() + "/metrics"}});
  }
  (void)audit_recorder.record(service_record(audit::Action::service_started));
  if (auto audited = audit_configuration_changes(audit_recorder, (*audit_log)->path().string() + ".settings.json",
                                                 permission_settings(config, cors_list));
      !audited.ok()) {
    log::warn("configuration changes not audited", {{"error", audited.error().to_string()}});
  }

  // SIGTERM/SIGINT: /readyz answers 503 at once; requests are still served for
  // shutdown_delay_s (load balancers take the pod out meanwhile); then new connections are
  // refused, idle ones closed, and the requests in flight get shutdown_grace_s to finish.
  std::atomic<bool> server_ended{false};
  std::thread signal_waiter([&server, &state, &server_ended, &config, stop_signals] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    if (server_ended) return;
    state.stopping = true;
    log::info("stopping", {{"signal", signal_number}, {"delay_s", config.shutdown_delay_s},
                           {"grace_s", config.shutdown_grace_s}});
    std::this_thread::sleep_for(std::chrono::seconds(config.shutdown_delay_s));
    server.shutdown(std::chrono::seconds(config.shutdown_grace_s));
  });

  if (config.scan_on_start) {
    jobs.start("rescan", scan, {}, [&state](const JobSnapshot& job) {
      if (job.error) log::error("catalogue scan failed", {{"error", job.error->to_string()}});
      state.ready = true;
      log::info("ready");
    });
  } else {
    state.ready = true;
    log::info("ready");
  }

  // The catalogue watcher: other processes on the store (replicas, `mcval ingest`) change the
  // catalogue too; every catalog_poll_ms the version is read (one indexed row) and the snapshot
  // refreshed when it moved, so every replica serves a new slide within that bound. The same read
  // tells /readyz whether the database answers.
  CatalogueWatcher watcher(**catalog, std::chrono::milliseconds(std::max(100, config.catalog_poll_ms)),
                           *initial_version, [&] { return tile_service.refresh(); },
                           [&state](std::string problem) { state.set_database_problem(std::move(problem)); });

  server.run();
  server_ended = true;
  watcher.stop();
  log::flush_batched_lines();  // the last requests' lines before the shutdown's
  log::info("server stopped");
  jobs.stop_and_wait();  // a scan still running ends after the file in hand, keeping what it wrote
  // Wake the signal thread if the server stopped for another reason.
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  metrics_server.reset();
  reads.flush_all();
  refusals.flush_all();
  (void)audit_recorder.record(service_record(audit::Action::service_stopped));
  log::info("stopped");
  return 0;
}

}  // namespace mcval::app
