#include "mcval/http/routes.h"

#include <charconv>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "mcval/auth/base64url.h"
#include "mcval/common/logging.h"
#include "mcval/common/strings.h"
#include "mcval/http/authenticator.h"
#include "mcval/report/html_report.h"
#include "mcval/tiles/dzi.h"
#include "route_support.h"

namespace mcval::http {

namespace {

constexpr char kTileCacheControl[] = "private, max-age=3600";

std::string iso8601_from_ns(std::int64_t ns) {
  const std::time_t t = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json optional_number(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

template <typename Int>
Result<Int> integer_param(const std::string& text, const char* what) {
  Int value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return Error{ErrorCode::tile_out_of_range, std::string(what) + " '" + text + "' is not a number"};
  }
  return value;
}

Response image_response(const tiles::EncodedImage& image) {
  Response r;
  r.status = 200;
  r.content_type = image->content_type;
  r.shared_body = std::shared_ptr<const std::string>(image, &image->bytes);  // no copy of the cached bytes
  r.header("ETag", image->etag);
  r.header("Cache-Control", kTileCacheControl);
  return r;
}

void open_to_other_origins(Response& r) { r.cross_origin = true; }

Response cors_error(const Error& error, const Request& request) {
  Response r = error_response(error, request);
  open_to_other_origins(r);
  return r;
}

/// How much of a validation report a caller may see.
enum class ReportAccess {
  none,       ///< not even that it exists
  aggregate,  ///< statistics, without per-slide rows of centres outside the caller's scope
  full,       ///< everything, per_slide.csv included
};

/// full: the caller may view every centre in the report. aggregate: the caller is a validator
/// (or more) somewhere: aggregate results across centres are what validators and model
/// developers compare. none otherwise.
ReportAccess report_access(const Request& request, const std::vector<std::string>& centres) {
  if (!request.principal) return ReportAccess::none;
  const auto scope = caller_scope(request);
  bool all_visible = scope.all || !centres.empty();
  for (const auto& centre : centres) all_visible = all_visible && scope.contains(centre);
  if (all_visible) return ReportAccess::full;
  const auto best = auth::highest_role_anywhere(*request.principal);
  return best && *best >= auth::Role::validator ? ReportAccess::aggregate : ReportAccess::none;
}

/// The centres a report covers: the keys of its "centres" and "flow" objects ("total" aside).
std::vector<std::string> report_centres(const nlohmann::json& report) {
  std::set<std::string> names;
  for (const char* key : {"centres", "flow"}) {
    if (!report.contains(key) || !report[key].is_object()) continue;
    for (const auto& [name, value] : report[key].items()) {
      if (name != "total") names.insert(name);
    }
  }
  return {names.begin(), names.end()};
}

/// The aggregate view of a report: per-slide rows (misclassified slides) of centres outside
/// the caller's scope removed, the per-slide file withheld, and a note saying so.
nlohmann::json aggregate_view(nlohmann::json report, const auth::CentreScope& scope) {
  std::size_t withheld = 0;
  if (report.contains("misclassified") && report["misclassified"].is_array()) {
    nlohmann::json kept = nlohmann::json::array();
    for (auto& row : report["misclassified"]) {
      const bool visible = row.is_object() && row.contains("centre") && row["centre"].is_string() &&
                           scope.contains(row["centre"].get<std::string>());
      if (visible) {
        kept.push_back(std::move(row));
      } else {
        ++withheld;
      }
    }
    report["misclassified"] = std::move(kept);
  }
  if (report.contains("files") && report["files"].is_object()) report["files"]["per_slide_csv"] = nullptr;
  report["withheld"] = {{"reason", "per-slide rows of centres outside your scope are withheld"},
                        {"misclassified_rows", withheld},
                        {"per_slide_csv", true}};
  return report;
}

/// A file of a stored report as the caller may see it; a report the caller may not see is
/// answered like an unknown one (404), per_slide.csv of a partly visible one is forbidden.
/// Reads and denials are audited.
Result<std::string> report_file(const RouteContext& c, const Request& req, const std::string& id,
                                const std::string& file) {
  MCVAL_TRY_ASSIGN(json_text, c.reports.read(id, "report.json"));
  auto report = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (report.is_discarded() || !report.is_object()) {
    return Error{ErrorCode::io_error, "stored report " + id + " is not valid JSON"};
  }
  const std::string resource = "report:" + id;
  const ReportAccess access = report_access(req, report_centres(report));
  if (access == ReportAccess::none) {
    audit_record(c, audit::AuditRecord::make(audit::Action::denied, requester_of(req), resource, "",
                                             audit::Outcome::denied, "centre_not_allowed"));
    return Error{ErrorCode::not_found, "no validation run '" + id + "'"};  // as ReportStore says for unknown ids
  }
  if (access == ReportAccess::aggregate && file == "per_slide.csv") {
    audit_record(c, audit::AuditRecord::make(audit::Action::denied, requester_of(req), resource + "/" + file, "",
                                             audit::Outcome::denied, "centre_not_allowed"));
    return Error{ErrorCode::forbidden,
                 "per_slide.csv holds rows of centres outside your scope; the aggregate report is available"};
  }
  Result<std::string> content = Error{ErrorCode::not_found, "no such file"};
  if (access == ReportAccess::full) {
    content = file == "report.json" ? Result<std::string>(std::move(json_text)) : c.reports.read(id, file);
  } else if (file == "report.json") {
    content = aggregate_view(std::move(report), caller_scope(req)).dump(2, ' ', false,
                                                                          nlohmann::json::error_handler_t::replace);
  } else if (file == "report.html") {
    content = report::render_html_report(aggregate_view(std::move(report), caller_scope(req)));
  } else {
    content = c.reports.read(id, file);  // unknown names: the store's own answer
  }
  if (!content.ok()) return content;
  const auto role = auth::highest_role_anywhere(*req.principal);
  audit_record(c, audit::AuditRecord::make(audit::Action::read_report,
                                           requester_of(req, role ? std::string(auth::role_name(*role)) : ""),
                                           resource + "/" + file, "", audit::Outcome::allowed));
  return content;
}

std::string content_type_for(const std::filesystem::path& file) {
  const std::string ext = to_lower(file.extension().string());
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".png") return "image/png";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".json") return "application/json";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".csv") return "text/csv; charset=utf-8";
  return "application/octet-stream";
}

Status register_static_assets(Router& router, const std::filesystem::path& web_root) {
  std::error_code ec;
  if (!std::filesystem::is_directory(web_root, ec)) {
    return Error{ErrorCode::config_invalid, "viewer assets not found in '" + web_root.string() +
                                                "' (build the web_assets target or set --web-root)"};
  }
  int files = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(web_root, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    auto body = std::make_shared<const std::string>(bytes.str());
    const std::string type = content_type_for(it->path());
    const std::string relative = std::filesystem::relative(it->path(), web_root).generic_string();
    auto handler = [body, type](Request&) {
      Response r;
      r.content_type = type;
      r.body = *body;
      r.header("Cache-Control", "no-cache");
      return r;
    };
    router.add("GET", "/" + relative, "static", handler, Access::public_);
    if (relative == "index.html") router.add("GET", "/", "static", handler, Access::public_);
    ++files;
  }
  if (ec) return Error{ErrorCode::io_error, "cannot list viewer assets: " + ec.message()};
  log::info("viewer assets loaded", {{"web_root", web_root.string()}, {"files", files}});
  return {};
}

/// A background job as the API shows it: a failed job's error by code and public message only
/// (the detail is in the server's log).
nlohmann::json job_json(const JobSnapshot& job) {
  nlohmann::json out = {{"id", job.id},
                        {"kind", job.kind},
                        {"state", std::string(job_state_name(job.state))},
                        {"url", "/api/v1/" + job.kind + "/" + job.id},
                        {"started_at", job.started_at},
                        {"finished_at", job.finished_at.empty() ? nlohmann::json() : nlohmann::json(job.finished_at)},
                        {"progress", {{"done", job.done}, {"total", job.total}}}};
  if (job.state == JobState::succeeded) out["result"] = job.result;
  if (job.error) {
    out["error"] = {{"code", std::string(error_name(job.error->code))},
                    {"message", std::string(public_message(job.error->code))}};
  }
  return out;
}

}  // namespace

Response json_ok(const nlohmann::json& body) {
  return Response::json(200, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

bool not_modified(const Request& request, const std::string& etag) {
  const auto inm = request.header("if-none-match");
  if (inm.empty()) return false;
  if (inm == "*") return true;
  for (auto candidate : split(inm, ',')) {
    candidate = trim(candidate);
    if (starts_with(candidate, "W/")) candidate.remove_prefix(2);
    if (candidate == etag) return true;
  }
  return false;
}

/// The ETag the answer would have, computed only for a conditional request (If-None-Match): the
/// others skip the hashing (an error here is never shown; the rendering reports its own).
Result<std::string> conditional_etag(const tiles::TileService& tiles, const Request& request, const std::string& id,
                                     const std::string& key) {
  if (request.header("if-none-match").empty()) return Error{ErrorCode::not_found, "not a conditional request"};
  return tiles.etag_for(id, key);
}

Response not_modified_response(const std::string& etag, const std::string& cache_control) {
  Response r;
  r.status = 304;
  r.header("ETag", etag);
  r.header("Cache-Control", cache_control);
  return r;
}

nlohmann::json slide_json(const catalog::SlideRecord& record) {
  const auto& p = record.properties;
  nlohmann::json levels = nlohmann::json::array();
  for (const auto& l : p.levels) {
    levels.push_back({{"width", l.width}, {"height", l.height}, {"downsample", l.downsample}});
  }
  const std::string name = std::filesystem::path(record.relative_path).filename().string();
  const std::string base = "/api/v1/slides/" + record.id;
  return {
      {"id", record.id},
      {"centre", record.centre},
      {"name", name},
      {"relative_path", record.relative_path},
      {"file_bytes", record.file_bytes},
      {"modified", iso8601_from_ns(record.mtime_ns)},
      {"sha256", record.sha256},
      {"status", catalog::to_string(record.status)},
      {"status_reason", record.status_reason},
      {"vendor", p.vendor},
      {"width", p.levels.empty() ? 0 : p.levels.front().width},
      {"height", p.levels.empty() ? 0 : p.levels.front().height},
      {"levels", levels},
      {"mpp_x", optional_number(p.mpp_x)},
      {"mpp_y", optional_number(p.mpp_y)},
      {"objective_power", optional_number(p.objective_power)},
      {"associated_images", p.associated_images},
      {"scanned_at", record.scanned_at},
      {"urls",
       {{"self", base},
        {"dzi", "/dzi/" + record.id + ".dzi"},
        {"iiif", "/iiif/3/" + record.id + "/info.json"},
        {"thumbnail", base + "/thumbnail"},
        {"inference", base + "/inference"}}},
  };
}

namespace {
/// The catalogue page a GET /api/v1/slides asks for, within the caller's scope.
Result<catalog::SlidePageQuery> slide_page_query(const Request& req, const auth::CentreScope& scope) {
  catalog::SlidePageQuery query;
  query.limit = 1000;
  if (const auto limit = req.query_param("limit")) {
    int value = 0;
    const auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), value);
    if (ec != std::errc() || end != limit->data() + limit->size() || value < 1 || value > 1000) {
      return Error{ErrorCode::invalid_argument, "limit must be a whole number from 1 to 1000"};
    }
    query.limit = value;
  }
  if (const auto cursor = req.query_param("cursor"); cursor && !cursor->empty()) {
    auto decoded = auth::base64url_decode(*cursor);
    if (!decoded || decoded->empty()) return Error{ErrorCode::invalid_argument, "the cursor is not one this server gave"};
    query.after_path = std::move(*decoded);
  }
  if (const auto order = req.query_param("order")) {
    if (*order != "asc" && *order != "desc") return Error{ErrorCode::invalid_argument, "order is asc or desc"};
    query.descending = *order == "desc";
  }
  if (const auto status = req.query_param("status")) {
    query.status = catalog::slide_status_from_string(*status);
    if (!query.status) return Error{ErrorCode::invalid_argument, "status is ok, unreadable or removed"};
  }
  query.name_contains = req.query_param("q").value_or("");
  const auto centre = req.query_param("centre");
  if (centre) {
    query.centres = std::vector<std::string>{};
    if (scope.contains(*centre)) query.centres->push_back(*centre);
  } else if (!scope.all) {
    query.centres = std::vector<std::string>(scope.centres.begin(), scope.centres.end());
  }
  return query;
}
}  // namespace

Status register_routes(Router& router, const RouteContext& ctx) {
  const RouteContext* c = &ctx;

  // Health probes stay public: they name no slide and no centre.
  router.add("GET", "/healthz", "healthz", [](Request&) { return Response::json(200, R"({"status":"ok"})"); },
             Access::public_);
  router.add(
      "GET", "/readyz", "readyz",
      [c](Request& req) {
        if (c->state.stopping) {
          return error_response(Error{ErrorCode::not_ready, "the server is shutting down"}, req);
        }
        if (c->state.ready) {
          // The shared database away: ready all the same, since slides already catalogued are
          // still served (taking every replica out would stop that too); the body says why.
          if (const auto problem = c->state.database_problem(); !problem.empty()) {
            return Response::json(200, nlohmann::json({{"status", "degraded"}, {"database", problem}}).dump());
          }
          return Response::json(200, R"({"status":"ready"})");
        }
        return error_response(Error{ErrorCode::not_ready, "the first catalogue scan is still running"}, req);
      },
      Access::public_);
  // Metrics: admin at every centre (Prometheus scrapes with a client-credentials token).
  router.add("GET", "/metrics", "metrics", [c](Request& req) {
    if (auto allowed = require_everywhere(*c, req, auth::Role::admin, "service:metrics"); !allowed.ok()) {
      return error_response(allowed.error(), req);
    }
    Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = c->metrics.render();
    return r;
  });

  if (!ctx.browser_login) {
    router.add(
        "GET", "/auth/session", "auth.session",
        [c](Request&) {
          Response r = json_ok({{"login", false}, {"authenticated", c->auth_mode == "none"}});
          r.header("Cache-Control", "no-store");
          return r;
        },
        Access::public_);
  }

  // JSON API.
  router.add("GET", "/api/v1", "api.index", [c](Request&) {
    return json_ok({{"name", "mcval"}, {"version", c->version}, {"ready", c->state.ready.load()}});
  });
  router.add("GET", "/api/v1/me", "api.me", [c](Request& req) {
    const auth::Principal& p = *req.principal;
    nlohmann::json grants = nlohmann::json::array();
    for (const auto& grant : p.grants) grants.push_back({{"role", auth::role_name(grant.role)}, {"centre", grant.centre}});
    return json_ok({{"auth", c->auth_mode}, {"issuer", p.issuer}, {"issuer_name", p.issuer_name},
                    {"subject", p.subject}, {"client_id", p.client_id}, {"is_service", p.is_service},
                    {"grants", grants}});
  });
  router.add("GET", "/api/v1/centres", "api.centres", [c](Request& req) {
    auto centres = c->catalog.list_centres();
    if (!centres.ok()) return error_response(centres.error(), req);
    const auto scope = caller_scope(req);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& centre : *centres) {
      if (!scope.contains(centre.name)) continue;
      list.push_back({{"name", centre.name}, {"slide_count", centre.slide_count},
                      {"unreadable_count", centre.unreadable_count}, {"total_bytes", centre.total_bytes}});
    }
    return json_ok({{"centres", list}});
  });
  // Keyset pagination: ?limit=1..1000 (default 1000), ?cursor= from the previous page's
  // next_cursor, ?order=asc|desc (by relative path), ?q= part of the path (any case), ?status=,
  // ?centre=. A centre outside the caller's scope lists as an empty one.
  router.add("GET", "/api/v1/slides", "api.slides", [c](Request& req) {
    auto query = slide_page_query(req, caller_scope(req));
    if (!query.ok()) return error_response(query.error(), req);
    auto page = c->catalog.list_slides_page(*query);
    if (!page.ok()) return error_response(page.error(), req);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : page->slides) {
      auto json = slide_json(s);
      json["inference_count"] = inference_count(*c, s.id);
      list.push_back(std::move(json));
    }
    nlohmann::json body{{"slides", list}, {"limit", query->limit}};
    if (!page->next_after.empty()) body["next_cursor"] = auth::base64url_encode(page->next_after);
    return json_ok(body);
  });
  router.add("GET", "/api/v1/slides/{id}", "api.slide", [c](Request& req) {
    auto record = authorize_slide(*c, req, req.param("id"));
    if (!record.ok()) return error_response(record.error(), req);
    auto json = slide_json(*record);
    json["inference_count"] = inference_count(*c, record->id);
    return json_ok(json);
  });
  router.add("GET", "/api/v1/slides/{id}/thumbnail", "api.thumbnail", [c](Request& req) {
    int max_px = 256;
    if (auto max = req.query_param("max")) {
      auto parsed = integer_param<int>(*max, "max");
      if (!parsed.ok()) return error_response(Error{ErrorCode::invalid_argument, "max must be an integer"}, req);
      max_px = *parsed;
    }
    auto slide = authorize_slide(*c, req, req.param("id"));
    if (!slide.ok()) return error_response(slide.error(), req);
    const auto etag = conditional_etag(c->tiles, req, req.param("id"), tiles::TileService::thumbnail_key(max_px));
    if (etag.ok() && not_modified(req, *etag)) return not_modified_response(*etag, kTileCacheControl);
    auto image = c->tiles.thumbnail(req.param("id"), max_px);
    if (!image.ok()) return error_response(image.error(), req);
    count_read(*c, req, *slide, audit::ReadKind::thumbnail, -1, (*image)->bytes.size());
    return image_response(*image);
  });
  // Label and macro images may identify patients: data_steward at the slide's centre, and each
  // one served is audited on its own.
  router.add("GET", "/api/v1/slides/{id}/associated/{name}", "api.associated", [c](Request& req) {
    const std::string resource = "slide:" + req.param("id") + "/associated/" + req.param("name");
    auto slide = authorize_slide(*c, req, req.param("id"), auth::Role::data_steward, resource);
    if (!slide.ok()) return error_response(slide.error(), req);
    auto image = c->tiles.associated_image(req.param("id"), req.param("name"));
    if (!image.ok()) return error_response(image.error(), req);
    auto record = audit::AuditRecord::make(audit::Action::read_slide,
                                           requester_of(req, acting_role(req, slide->centre)), resource,
                                           slide->centre, audit::Outcome::allowed);
    audit::ReadSummary reads;
    reads.thumbnails = 1;
    reads.requests = 1;
    reads.bytes = (*image)->bytes.size();
    reads.first = reads.last = audit::format_utc(std::chrono::system_clock::now());
    reads.closed_by = "window";
    record.reads = std::move(reads);
    audit_record(*c, std::move(record));
    Response r = image_response(*image);
    return r;
  });
  // A rescan runs as a background job, never on this I/O thread: the answer (202) names the job
  // to follow; while a scan runs (the one at start too), a POST answers that scan.
  router.add("POST", "/api/v1/rescan", "api.rescan", [c](Request& req) {
    if (auto allowed = require_everywhere(*c, req, auth::Role::admin, "job:rescan"); !allowed.ok()) {
      return error_response(allowed.error(), req);
    }
    if (!c->state.start_rescan) return error_response(Error{ErrorCode::unsupported, "rescan is not configured"}, req);
    const auto who = requester_of(req, acting_role(req, auth::kAllCentres));
    const auto started = c->state.start_rescan(
        [c, who](const JobSnapshot&) {
          audit_record(
              *c, audit::AuditRecord::make(audit::Action::job_started, who, "job:rescan", "", audit::Outcome::allowed));
        },
        [c, who](const JobSnapshot& job) {
          const bool ok = job.state == JobState::succeeded;
          audit_record(*c, audit::AuditRecord::make(audit::Action::job_finished, who, "job:rescan", "",
                                                    ok ? audit::Outcome::allowed : audit::Outcome::failed,
                                                    ok || !job.error ? "" : std::string(error_name(job.error->code))));
        });
    if (started.job.state == JobState::failed && started.job.error) return error_response(*started.job.error, req);
    Response r =
        Response::json(202, job_json(started.job).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    r.header("Location", "/api/v1/rescan/" + started.job.id);
    r.header("Cache-Control", "no-store");
    return r;
  });
  router.add("GET", "/api/v1/rescan/{id}", "api.rescan_job", [c](Request& req) {
    if (auto allowed = require_everywhere(*c, req, auth::Role::admin, "job:rescan"); !allowed.ok()) {
      return error_response(allowed.error(), req);
    }
    const auto job = c->state.jobs ? c->state.jobs->find(req.param("id")) : std::nullopt;
    if (!job || job->kind != "rescan") {
      return error_response(Error{ErrorCode::not_found, "no rescan job '" + req.param("id") + "'"}, req);
    }
    Response r = json_ok(job_json(*job));
    r.header("Cache-Control", "no-store");
    return r;
  });

  // Validation reports: whole to a caller who may view every centre in the report; aggregates
  // (no per-slide rows of centres outside the scope, no per_slide.csv) to a validator.
  router.add("GET", "/api/v1/reports", "api.reports", [c](Request& req) {
    auto runs = c->reports.list();
    if (!runs.ok()) return error_response(runs.error(), req);
    nlohmann::json visible = nlohmann::json::array();
    for (auto& run : *runs) {
      // Decided on the report itself, exactly as when one of its files is read.
      auto text = c->reports.read(run.value("id", std::string()), "report.json");
      if (!text.ok()) continue;
      const auto report = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
      if (!report.is_object()) continue;
      const ReportAccess access = report_access(req, report_centres(report));
      if (access == ReportAccess::none) continue;
      run["access"] = access == ReportAccess::full ? "full" : "aggregate";
      visible.push_back(std::move(run));
    }
    return json_ok({{"reports", visible}});
  });
  router.add("GET", "/reports/{id}/{file}", "reports.file", [c](Request& req) {
    auto content = report_file(*c, req, req.param("id"), req.param("file"));
    if (!content.ok()) return error_response(content.error(), req);
    Response r;
    r.content_type = content_type_for(req.param("file"));
    r.body = std::move(content).value();
    r.header("Cache-Control", "private, no-cache");
    // The report is self-contained: inline styles and SVG, no script, nothing fetched.
    r.header("Content-Security-Policy",
             "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; base-uri 'none'");
    return r;
  });

  // Deep Zoom.
  router.add("GET", "/dzi/{id}.dzi", "dzi.descriptor", [c](Request& req) {
    auto slide = authorize_slide(*c, req, req.param("id"));
    if (!slide.ok()) return cors_error(slide.error(), req);
    auto xml = c->tiles.dzi_descriptor(req.param("id"), tiles::ImageFormat::jpeg);
    if (!xml.ok()) return cors_error(xml.error(), req);
    Response r;
    r.content_type = "application/xml";
    r.body = std::move(xml).value();
    open_to_other_origins(r);
    return r;
  });
  router.add("GET", "/dzi/{id}_files/{level}/{col}_{row}.{format}", "dzi.tile", [c](Request& req) {
    auto slide = authorize_slide(*c, req, req.param("id"));
    if (!slide.ok()) return cors_error(slide.error(), req);
    auto address = tiles::parse_dzi_tile(req.param("level"), req.param("col"), req.param("row"), req.param("format"));
    if (!address.ok()) return cors_error(address.error(), req);
    const auto& [level, col, row, format] = *address;
    const auto etag = conditional_etag(c->tiles, req, req.param("id"), tiles::TileService::dzi_tile_key(level, col, row, format));
    if (etag.ok() && not_modified(req, *etag)) return not_modified_response(*etag, kTileCacheControl);
    auto tile = c->tiles.dzi_tile(req.param("id"), level, col, row, format);
    if (!tile.ok()) return error_response(tile.error(), req);
    count_read(*c, req, *slide, audit::ReadKind::tile, level, (*tile)->bytes.size());
    Response r = image_response(*tile);
    open_to_other_origins(r);
    return r;
  });

  // IIIF Image API 3.0.
  router.add("GET", "/iiif/3/{id}", "iiif.base", [c](Request& req) {
    auto record = authorize_slide(*c, req, req.param("id"));
    if (!record.ok()) return cors_error(record.error(), req);
    Response r;
    r.status = 303;
    r.header("Location", "/iiif/3/" + req.param("id") + "/info.json");
    open_to_other_origins(r);
    return r;
  });
  router.add("GET", "/iiif/3/{id}/info.json", "iiif.info", [c](Request& req) {
    const std::string host(req.header("host").empty() ? "localhost" : req.header("host"));
    const std::string service_id = "http://" + host + "/iiif/3/" + req.param("id");
    auto slide = authorize_slide(*c, req, req.param("id"));
    if (!slide.ok()) return cors_error(slide.error(), req);
    auto info = c->tiles.iiif_info(req.param("id"), service_id);
    if (!info.ok()) return cors_error(info.error(), req);
    Response r = json_ok(*info);
    if (req.header("accept").find("application/ld+json") != std::string_view::npos) {
      r.content_type = "application/ld+json;profile=\"http://iiif.io/api/image/3/context.json\"";
    }
    r.header("Link", "<http://iiif.io/api/image/3/level2.json>;rel=\"profile\"");
    open_to_other_origins(r);
    return r;
  });
  router.add("GET", "/iiif/3/{id}/{region}/{size}/{rotation}/{quality_format}", "iiif.image", [c](Request& req) {
    auto slide = authorize_slide(*c, req, req.param("id"));
    auto request = tiles::parse_iiif_request(req.param("region"), req.param("size"), req.param("rotation"),
                                             req.param("quality_format"));
    Response r;
    if (!slide.ok()) {
      r = error_response(slide.error(), req);
    } else if (!request.ok()) {
      r = error_response(request.error(), req);
    } else {
      const auto etag = conditional_etag(c->tiles, req, req.param("id"), tiles::TileService::iiif_key(*request));
      if (etag.ok() && not_modified(req, *etag)) {
        r = not_modified_response(*etag, kTileCacheControl);
      } else if (auto image = c->tiles.iiif_image(req.param("id"), *request); image.ok()) {
        count_read(*c, req, *slide, audit::ReadKind::region, -1, (*image)->bytes.size());
        r = image_response(*image);
        r.header("Link", "<http://iiif.io/api/image/3/level2.json>;rel=\"profile\"");
      } else {
        r = error_response(image.error(), req);
      }
    }
    open_to_other_origins(r);
    return r;
  });
  // CORS preflights carry no credentials (browsers never send Authorization on them).
  for (const char* pattern : {"/iiif/3/{id}/info.json", "/iiif/3/{id}/{region}/{size}/{rotation}/{quality_format}"}) {
    router.add(
        "OPTIONS", pattern, "iiif.preflight",
        [](Request&) {
          Response r;
          r.status = 204;
          r.content_type = "text/plain";
          open_to_other_origins(r);
          r.header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
          r.header("Access-Control-Allow-Headers", "Accept, Authorization, If-None-Match");
          r.header("Access-Control-Max-Age", "86400");
          return r;
        },
        Access::public_);
  }

  register_inference_routes(router, ctx);

  return register_static_assets(router, ctx.web_root);
}

}  // namespace mcval::http
