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

Error Authenticator::oversized_token(const Request&, std::size_t max_bytes) {
  return Error{ErrorCode::payload_too_large,
               "the Authorization header is longer than " + std::to_string(max_bytes) + " bytes"};
}

Result<PrincipalPtr> BearerAuthenticator::authenticate(const Request& request) {
  const std::string_view authorization = request.header("authorization");
  if (authorization.empty() && sessions_ != nullptr) {
    if (auto session = sessions_->authenticate(request)) return std::move(*session);
  }
  if (authorization.empty()) {
    return Error{ErrorCode::unauthenticated, "no access token: send Authorization: Bearer <access token>"};
  }
  if (const auto token = auth::bearer_token(authorization)) {
    auto principal = verifier_.verify(*token);
    if (principal.ok()) return std::make_shared<const auth::Principal>(std::move(principal).value());
    return principal.error();
  }
  return auth::refuse(auth::Refusal::malformed, "the Authorization header is not \"Bearer <access token>\"");
}

Error BearerAuthenticator::oversized_token(const Request&, std::size_t max_bytes) {
  return auth::refuse(auth::Refusal::malformed,
                      "the Authorization header is longer than " + std::to_string(max_bytes) + " bytes");
}

void BearerAuthenticator::record_refusal(const Request& request, const Error& refusal) {
  const auto reason = auth::refusal_of(refusal);
  if (!reason && request.header("authorization").empty()) {
    // No token: audited unless a browser session was presented (its end is not an attack).
    if (audit_ && refusal.code == ErrorCode::unauthenticated &&
        (sessions_ == nullptr || !cookie_value(request.header("cookie"), BrowserLogin::kSessionCookie))) {
      (void)audit_->record(audit::AuditRecord::make(audit::Action::denied, requester_of(request), "", "",
                                                    audit::Outcome::denied, "token_missing"));
    }
    return;
  }
  const std::string reason_name =
      reason ? std::string(auth::refusal_name(*reason)) : std::string(error_name(refusal.code));
  log::info("access token refused", {{"request_id", request.request_id}, {"reason", reason_name},
                                     {"remote", request.remote_address}});
  if (audit_) {
    const auto outcome = refusal.code == ErrorCode::auth_unavailable ? audit::Outcome::failed : audit::Outcome::denied;
    (void)audit_->record(
        audit::AuditRecord::make(audit::Action::token_rejected, requester_of(request), "", "", outcome, reason_name));
  }
}

}  // namespace mcval::http
