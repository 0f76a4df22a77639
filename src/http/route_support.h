#pragma once
// Helpers shared by the route files (private to the http module).
#include <string>

#include <nlohmann/json.hpp>

#include "mcval/http/message.h"
#include "mcval/http/router.h"
#include "mcval/http/routes.h"

namespace mcval::http {

/// 200 with the JSON body (invalid UTF-8 replaced, never thrown on).
Response json_ok(const nlohmann::json& body);

/// Whether the client already holds this representation (If-None-Match, weak or strong).
bool not_modified(const Request& request, const std::string& etag);

/// 304 with the ETag and the Cache-Control of the representation.
Response not_modified_response(const std::string& etag, const std::string& cache_control);

/// How many inference results (ok or failed) the slide has; 0 when the store cannot be read.
int inference_count(const RouteContext& context, const std::string& slide_id);

/// The inference routes: results per slide, heatmaps as data and as images, tissue masks,
/// colormaps. Defined in inference_routes.cpp.
void register_inference_routes(Router& router, const RouteContext& context);

}  // namespace mcval::http
