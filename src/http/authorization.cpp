// Authorization of the routes: centre scoping of every slide-bearing route, roles for actions
// that need more than viewing, and the audit records of these decisions (docs/security.md,
// docs/audit.md).
#include "mcval/common/logging.h"
#include "mcval/http/authenticator.h"
#include "route_support.h"

namespace mcval::http {

void audit_record(const RouteContext& context, audit::AuditRecord record) {
  if (context.audit == nullptr) return;
  const auto action = record.action;
  if (auto written = context.audit->record(std::move(record)); !written.ok()) {
    log::warn("audit record not written as given",
              {{"action", audit::action_name(action)}, {"error", written.error().to_string()}});
  }
}

auth::CentreScope caller_scope(const Request& request, auth::Role at_least) {
  if (!request.principal) return {};
  return auth::visible_centres(*request.principal, at_least);
}

std::string acting_role(const Request& request, std::string_view centre) {
  if (!request.principal) return {};
  const auto role = auth::highest_role(*request.principal, centre);
  return role ? std::string(auth::role_name(*role)) : std::string();
}

Result<catalog::SlideRecord> authorize_slide(const RouteContext& context, const Request& request,
                                             const std::string& id, auth::Role needed, std::string what) {
  MCVAL_TRY_ASSIGN(record, context.tiles.slide(id));
  if (what.empty()) what = "slide:" + id;
  const bool visible = request.principal && request.principal->can(auth::Role::viewer, record.centre);
  if (!visible) {
    audit_record(context, audit::AuditRecord::make(audit::Action::denied, requester_of(request), what, record.centre,
                                                   audit::Outcome::denied, "centre_not_allowed"));
    // Word for word what an unknown id gets (TileService::slide), so existence does not leak.
    return Error{ErrorCode::slide_not_found, "no slide with id '" + id + "'"};
  }
  if (!request.principal->can(needed, record.centre)) {
    audit_record(context, audit::AuditRecord::make(audit::Action::denied, requester_of(request), what, record.centre,
                                                   audit::Outcome::denied, "role_missing"));
    return Error{ErrorCode::forbidden, "this needs the role " + std::string(auth::role_name(needed)) +
                                           " at the slide's centre"};
  }
  return record;
}

Status require_everywhere(const RouteContext& context, const Request& request, auth::Role needed,
                          const std::string& resource) {
  if (request.principal && request.principal->can(needed, auth::kAllCentres)) return {};
  audit_record(context, audit::AuditRecord::make(audit::Action::denied, requester_of(request), resource, "",
                                                 audit::Outcome::denied, "role_missing"));
  return Error{ErrorCode::forbidden, "this needs the role " + std::string(auth::role_name(needed)) + " at every centre"};
}

void count_read(const RouteContext& context, const Request& request, const catalog::SlideRecord& slide,
                audit::ReadKind kind, int level, std::uint64_t bytes) {
  if (context.reads == nullptr) return;
  context.reads->read(requester_of(request, acting_role(request, slide.centre)), kind, slide.id, slide.centre, level,
                      bytes);
}

}  // namespace mcval::http
