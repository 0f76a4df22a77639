#pragma once
// Who is calling: every route that is not public (viewer assets, /healthz, /readyz, CORS
// preflights) gets a verified Principal from an Authenticator before its handler runs
// (http::dispatch). What the principal may then do is decided by the handlers
// (route_support.h: centre scoping, roles), from docs/security.md's table.
#include <memory>

#include "mcval/audit/audit_log.h"
#include "mcval/auth/principal.h"
#include "mcval/auth/token_verifier.h"
#include "mcval/common/result.h"
#include "mcval/http/message.h"

namespace mcval::http {

using PrincipalPtr = std::shared_ptr<const auth::Principal>;

class BrowserLogin;

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  /// The caller of `request`, or the Error to answer instead: unauthenticated (401; a refusal
  /// from mcval::auth when a token was presented and refused, see auth::refusal_of) or
  /// auth_unavailable (503). Leaves no log line or audit record: see record_refusal. Thread-safe.
  virtual Result<PrincipalPtr> authenticate(const Request& request) = 0;
  /// Logs and audits `refusal`, an Error that authenticate(request) returned (http::dispatch
  /// leaves this out for a client address over its budget of refused requests). Thread-safe.
  virtual void record_refusal(const Request& request, const Error& refusal) = 0;
  /// The Error for a request whose Authorization header is over `max_bytes`, too long to be read
  /// whole (its other fields are not known): payload_too_large by default; an authenticator that
  /// checks tokens refuses it as a malformed token (401). Leaves no record, like authenticate().
  virtual Error oversized_token(const Request& request, std::size_t max_bytes);
  /// "none" or "oidc", for /api/v1/me and the log.
  virtual const char* mode() const = 0;
};

/// `--auth none`: every request is the local user, an anonymous principal (empty issuer and
/// subject) with admin at every centre. serve allows it only on a loopback address.
class LocalAuthenticator final : public Authenticator {
 public:
  LocalAuthenticator();
  Result<PrincipalPtr> authenticate(const Request& request) override;
  void record_refusal(const Request&, const Error&) override {}
  const char* mode() const override { return "none"; }

 private:
  PrincipalPtr local_;
};

/// `--auth oidc`: `Authorization: Bearer <access token>` verified by a TokenVerifier, or, without
/// that header, the session cookie of a browser login when `sessions` is set. record_refusal
/// audits a request without either (denied with reason token_missing) or whose token was
/// refused (token_rejected with the refusal reason: never the token) when `audit` is set.
class BearerAuthenticator final : public Authenticator {
 public:
  /// `verifier`, `audit` and `sessions` (both may be null) must outlive this object.
  BearerAuthenticator(auth::TokenVerifier& verifier, audit::AuditRecorder* audit, BrowserLogin* sessions = nullptr);
  Result<PrincipalPtr> authenticate(const Request& request) override;
  void record_refusal(const Request& request, const Error& refusal) override;
  Error oversized_token(const Request& request, std::size_t max_bytes) override;
  const char* mode() const override { return "oidc"; }

 private:
  auth::TokenVerifier& verifier_;
  audit::AuditRecorder* audit_;
  BrowserLogin* sessions_;
};

/// The audit requester for `request`: the principal's issuer, subject and client (empty when
/// none), `role`, the request id and the client's IP.
audit::Requester requester_of(const Request& request, std::string role = {});

}  // namespace mcval::http
