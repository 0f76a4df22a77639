#pragma once
// Helpers shared by the route files (private to the http module).
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mcval/audit/read_aggregator.h"
#include "mcval/auth/principal.h"
#include "mcval/catalog/slide_record.h"
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

// ---- Authorization (authorization.cpp), docs/security.md's table of roles ----

/// Writes one audit record when the context has an audit log; a failure is logged, never answered.
void audit_record(const RouteContext& context, audit::AuditRecord record);

/// The centres the caller may see with at least `at_least` (none without a principal).
auth::CentreScope caller_scope(const Request& request, auth::Role at_least = auth::Role::viewer);

/// The name of the strongest role the caller holds at `centre` (kAllCentres: at every
/// centre), for the audit log's `role`; empty when none.
std::string acting_role(const Request& request, std::string_view centre);

/// The catalogued slide `id` (any status) when the caller may see it, i.e. holds at least viewer
/// at the slide's centre. A slide of a centre outside the caller's scope is answered exactly like
/// an unknown id (slide_not_found, 404: its existence does not leak) and audited as denied
/// (centre_not_allowed). When `needed` is above viewer and the caller holds less at that centre:
/// forbidden (403), audited (role_missing). `what` names the resource in the audit record
/// (default "slide:<id>").
Result<catalog::SlideRecord> authorize_slide(const RouteContext& context, const Request& request, const std::string& id,
                                             auth::Role needed = auth::Role::viewer, std::string what = {});

/// For actions that belong to no single centre (rescan everything, metrics): forbidden (403),
/// audited as denied (role_missing), unless the caller holds `needed` at every centre ("*").
Status require_everywhere(const RouteContext& context, const Request& request, auth::Role needed,
                          const std::string& resource);

/// Counts one successful tile, region or thumbnail read of `slide` for the audit log.
void count_read(const RouteContext& context, const Request& request, const catalog::SlideRecord& slide,
                audit::ReadKind kind, int level, std::uint64_t bytes);

}  // namespace mcval::http
