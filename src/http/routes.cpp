#include "mcval/http/routes.h"

#include <charconv>
#include <chrono>
#include <fstream>
#include <sstream>

#include "mcval/common/logging.h"
#include "mcval/common/strings.h"
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

Result<tiles::ImageFormat> dzi_format(const std::string& extension) {
  if (extension == "jpeg" || extension == "jpg") return tiles::ImageFormat::jpeg;
  if (extension == "png") return tiles::ImageFormat::png;
  return Error{ErrorCode::not_found, "Deep Zoom tiles are .jpeg or .png"};
}

Response image_response(const tiles::EncodedImage& image) {
  Response r;
  r.status = 200;
  r.content_type = image->content_type;
  r.body = image->bytes;
  r.header("ETag", image->etag);
  r.header("Cache-Control", kTileCacheControl);
  return r;
}

void allow_any_origin(Response& r) {
  r.header("Access-Control-Allow-Origin", "*");
  r.header("Access-Control-Expose-Headers", "ETag, Link, X-Request-Id");
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
    router.add("GET", "/" + relative, "static", handler);
    if (relative == "index.html") router.add("GET", "/", "static", handler);
    ++files;
  }
  if (ec) return Error{ErrorCode::io_error, "cannot list viewer assets: " + ec.message()};
  log::info("viewer assets loaded", {{"web_root", web_root.string()}, {"files", files}});
  return {};
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

Status register_routes(Router& router, const RouteContext& ctx) {
  const RouteContext* c = &ctx;

  // Health.
  router.add("GET", "/healthz", "healthz", [](Request&) { return Response::json(200, R"({"status":"ok"})"); });
  router.add("GET", "/readyz", "readyz", [c](Request& req) {
    if (c->state.ready) return Response::json(200, R"({"status":"ready"})");
    return error_response(Error{ErrorCode::not_ready, "the first catalogue scan is still running"}, req);
  });
  router.add("GET", "/metrics", "metrics", [c](Request&) {
    Response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = c->metrics.render();
    return r;
  });

  // JSON API.
  router.add("GET", "/api/v1", "api.index", [c](Request&) {
    return json_ok({{"name", "mcval"}, {"version", c->version}, {"ready", c->state.ready.load()}});
  });
  router.add("GET", "/api/v1/centres", "api.centres", [c](Request& req) {
    auto centres = c->catalog.list_centres();
    if (!centres.ok()) return error_response(centres.error(), req);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& centre : *centres) {
      list.push_back({{"name", centre.name}, {"slide_count", centre.slide_count},
                      {"unreadable_count", centre.unreadable_count}, {"total_bytes", centre.total_bytes}});
    }
    return json_ok({{"centres", list}});
  });
  router.add("GET", "/api/v1/slides", "api.slides", [c](Request& req) {
    auto slides = c->catalog.list_slides(req.query_param("centre"));
    if (!slides.ok()) return error_response(slides.error(), req);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : *slides) {
      auto json = slide_json(s);
      json["inference_count"] = inference_count(*c, s.id);
      list.push_back(std::move(json));
    }
    return json_ok({{"slides", list}});
  });
  router.add("GET", "/api/v1/slides/{id}", "api.slide", [c](Request& req) {
    auto record = c->tiles.slide(req.param("id"));
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
    const auto etag = c->tiles.etag_for(req.param("id"), tiles::TileService::thumbnail_key(max_px));
    if (etag.ok() && not_modified(req, *etag)) return not_modified_response(*etag, kTileCacheControl);
    auto image = c->tiles.thumbnail(req.param("id"), max_px);
    if (!image.ok()) return error_response(image.error(), req);
    return image_response(*image);
  });
  router.add("GET", "/api/v1/slides/{id}/associated/{name}", "api.associated", [c](Request& req) {
    auto image = c->tiles.associated_image(req.param("id"), req.param("name"));
    if (!image.ok()) return error_response(image.error(), req);
    return image_response(*image);
  });
  router.add("POST", "/api/v1/rescan", "api.rescan", [c](Request& req) {
    if (!c->state.rescan) return error_response(Error{ErrorCode::unsupported, "rescan is not configured"}, req);
    auto summary = c->state.rescan();
    if (!summary.ok()) return error_response(summary.error(), req);
    return json_ok(*summary);
  });

  // Validation reports.
  router.add("GET", "/api/v1/reports", "api.reports", [c](Request& req) {
    auto runs = c->reports.list();
    if (!runs.ok()) return error_response(runs.error(), req);
    return json_ok({{"reports", *runs}});
  });
  router.add("GET", "/reports/{id}/{file}", "reports.file", [c](Request& req) {
    auto content = c->reports.read(req.param("id"), req.param("file"));
    if (!content.ok()) return error_response(content.error(), req);
    Response r;
    r.content_type = content_type_for(req.param("file"));
    r.body = std::move(content).value();
    r.header("Cache-Control", "no-cache");
    // The report is self-contained: inline styles and SVG, no script, nothing fetched.
    r.header("Content-Security-Policy",
             "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; base-uri 'none'");
    return r;
  });

  // Deep Zoom.
  router.add("GET", "/dzi/{id}.dzi", "dzi.descriptor", [c](Request& req) {
    auto xml = c->tiles.dzi_descriptor(req.param("id"), tiles::ImageFormat::jpeg);
    if (!xml.ok()) return error_response(xml.error(), req);
    Response r;
    r.content_type = "application/xml";
    r.body = std::move(xml).value();
    allow_any_origin(r);
    return r;
  });
  router.add("GET", "/dzi/{id}_files/{level}/{col}_{row}.{format}", "dzi.tile", [c](Request& req) {
    auto format = dzi_format(req.param("format"));
    auto level = integer_param<int>(req.param("level"), "level");
    auto col = integer_param<std::int64_t>(req.param("col"), "column");
    auto row = integer_param<std::int64_t>(req.param("row"), "row");
    for (const Error* e : {format.ok() ? nullptr : &format.error(), level.ok() ? nullptr : &level.error(),
                           col.ok() ? nullptr : &col.error(), row.ok() ? nullptr : &row.error()}) {
      if (e) return error_response(*e, req);
    }
    const auto etag = c->tiles.etag_for(req.param("id"), tiles::TileService::dzi_tile_key(*level, *col, *row, *format));
    if (etag.ok() && not_modified(req, *etag)) return not_modified_response(*etag, kTileCacheControl);
    auto tile = c->tiles.dzi_tile(req.param("id"), *level, *col, *row, *format);
    if (!tile.ok()) return error_response(tile.error(), req);
    Response r = image_response(*tile);
    allow_any_origin(r);
    return r;
  });

  // IIIF Image API 3.0.
  router.add("GET", "/iiif/3/{id}", "iiif.base", [c](Request& req) {
    auto record = c->tiles.slide(req.param("id"));
    if (!record.ok()) return error_response(record.error(), req);
    Response r;
    r.status = 303;
    r.header("Location", "/iiif/3/" + req.param("id") + "/info.json");
    allow_any_origin(r);
    return r;
  });
  router.add("GET", "/iiif/3/{id}/info.json", "iiif.info", [c](Request& req) {
    const std::string host(req.header("host").empty() ? "localhost" : req.header("host"));
    const std::string service_id = "http://" + host + "/iiif/3/" + req.param("id");
    auto info = c->tiles.iiif_info(req.param("id"), service_id);
    if (!info.ok()) {
      Response r = error_response(info.error(), req);
      allow_any_origin(r);
      return r;
    }
    Response r = json_ok(*info);
    if (req.header("accept").find("application/ld+json") != std::string_view::npos) {
      r.content_type = "application/ld+json;profile=\"http://iiif.io/api/image/3/context.json\"";
    }
    r.header("Link", "<http://iiif.io/api/image/3/level2.json>;rel=\"profile\"");
    allow_any_origin(r);
    return r;
  });
  router.add("GET", "/iiif/3/{id}/{region}/{size}/{rotation}/{quality_format}", "iiif.image", [c](Request& req) {
    auto request = tiles::parse_iiif_request(req.param("region"), req.param("size"), req.param("rotation"),
                                             req.param("quality_format"));
    Response r;
    if (!request.ok()) {
      r = error_response(request.error(), req);
    } else {
      const auto etag = c->tiles.etag_for(req.param("id"), tiles::TileService::iiif_key(*request));
      if (etag.ok() && not_modified(req, *etag)) {
        r = not_modified_response(*etag, kTileCacheControl);
      } else if (auto image = c->tiles.iiif_image(req.param("id"), *request); image.ok()) {
        r = image_response(*image);
        r.header("Link", "<http://iiif.io/api/image/3/level2.json>;rel=\"profile\"");
      } else {
        r = error_response(image.error(), req);
      }
    }
    allow_any_origin(r);
    return r;
  });
  for (const char* pattern : {"/iiif/3/{id}/info.json", "/iiif/3/{id}/{region}/{size}/{rotation}/{quality_format}"}) {
    router.add("OPTIONS", pattern, "iiif.preflight", [](Request&) {
      Response r;
      r.status = 204;
      r.content_type = "text/plain";
      allow_any_origin(r);
      r.header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
      r.header("Access-Control-Allow-Headers", "Accept, If-None-Match");
      r.header("Access-Control-Max-Age", "86400");
      return r;
    });
  }

  register_inference_routes(router, ctx);

  return register_static_assets(router, ctx.web_root);
}

}  // namespace mcval::http
