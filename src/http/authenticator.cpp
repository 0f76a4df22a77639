#include "mcval/http/authenticator.h"

#include "mcval/auth/refusal.h"
#include "mcval/http/browser_login.h"
#include "mcval/common/logging.h"

namespace mcval::http {

audit::Requester requester_of(const Request& request, std::string role) {
  audit::Requester who;
  if (request.principal) {
    who.actor = {request.principal->issuer, request.principal->subject, request.principal->client_id};
  }
  who.role = std::move(role);
  who.request_id = request.request_id;
  who.source = request.remote_ip;
  return who;
}

LocalAuthenticator::LocalAuthenticator() {
  auto local = std::make_shared<auth::Principal>();
  local->issuer_name = "local";
  local->grants.insert(auth::Grant{auth::Role::admin, std::string(auth::kAllCentres)});
  local_ = std::move(local);
}

Result<PrincipalPtr> LocalAuthenticator::authenticate(const Request&) { return local_; }

BearerAuthenticator::BearerAuthenticator(auth::TokenVerifier& verifier, audit::AuditRecorder* audit,
                                         BrowserLogin* sessions)
    : verifier_(verifier), audit_(audit), sessions_(sessions) {}

Result<PrincipalPtr> BearerAuthenticator::authenticate(const Request& request) {
  const std::string_view authorization = request.header("authorization");
  std::optional<Error> refusal;
  if (authorization.empty() && sessions_ != nullptr) {
    if (auto session = sessions_->authenticate(request)) return std::move(*session);
  }
  if (authorization.empty()) {
    const Error missing{ErrorCode::unauthenticated, "no access token: send Authorization: Bearer <access token>"};
    if (audit_) {
      (void)audit_->record(audit::AuditRecord::make(audit::Action::denied, requester_of(request), "", "",
                                                    audit::Outcome::denied, "token_missing"));
    }
    return missing;
  }
  if (const auto token = auth::bearer_token(authorization)) {
    auto principal = verifier_.verify(*token);
    if (principal.ok()) return std::make_shared<const auth::Principal>(std::move(principal).value());
    refusal = principal.error();
  } else {
    refusal = auth::refuse(auth::Refusal::malformed, "the Authorization header is not \"Bearer <access token>\"");
  }
  const auto reason = auth::refusal_of(*refusal);
  const std::string reason_name = reason ? std::string(auth::refusal_name(*reason)) : std::string(error_name(refusal->code));
  log::info("access token refused", {{"request_id", request.request_id}, {"reason", reason_name},
                                     {"remote", request.remote_address}});
  if (audit_) {
    const auto outcome = refusal->code == ErrorCode::auth_unavailable ? audit::Outcome::failed : audit::Outcome::denied;
    (void)audit_->record(
        audit::AuditRecord::make(audit::Action::token_rejected, requester_of(request), "", "", outcome, reason_name));
  }
  return *refusal;
}

}  // namespace mcval::http
