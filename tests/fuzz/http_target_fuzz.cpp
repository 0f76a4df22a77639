// Fuzz target: request-target parsing, percent-decoding and routing (http::dispatch), and the
// redaction of credentials in a target for the logs (log::redacted_target).
#include <algorithm>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "mcval/common/logging.h"
#include "mcval/http/router.h"
#include "mcval/http/server.h"

namespace {
const mcval::http::Router& router() {
  static const mcval::http::Router r = [] {
    mcval::http::Router routes;
    auto echo = [](mcval::http::Request& req) {
      nlohmann::json params = req.params;
      return mcval::http::Response::json(200, params.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    };
    routes.add("GET", "/dzi/{id}.dzi", "dzi.descriptor", echo);
    routes.add("GET", "/dzi/{id}_files/{level}/{col}_{row}.{format}", "dzi.tile", echo);
    routes.add("GET", "/iiif/3/{id}/{region}/{size}/{rotation}/{quality_format}", "iiif.image", echo);
    routes.add("GET", "/api/v1/slides/{id}", "api.slide", echo);
    return routes;
  }();
  return r;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  mcval::http::Request request;
  request.method = "GET";
  request.target.assign(reinterpret_cast<const char*>(data), size);
  request.request_id = "fuzz";
  std::string route;
  static mcval::http::LocalAuthenticator local;
  const auto response = mcval::http::dispatch(router(), request, route, local);
  if (response.status == 500) __builtin_trap();  // no input may reach an internal error
  for (const auto& segment : request.segments) {
    if (segment.find('\0') != std::string::npos) __builtin_trap();
  }
  // Redaction keeps the path as sent (it only rewrites query values and a fragment).
  const std::string logged = mcval::log::redacted_target(request.target);
  const auto path_end = std::min(request.target.find_first_of("?#"), request.target.size());
  if (logged.compare(0, path_end, request.target, 0, path_end) != 0) __builtin_trap();
  return 0;
}
