#pragma once
// BrowserLogin: people sign in to the viewer through one of the trusted issuers, with mcval as a
// confidential OAuth 2.0 client (a "backend for frontend"): authorization code flow with PKCE
// (S256), state bound to the browser by a cookie, nonce checked in the ID token, the `iss`
// response parameter checked (RFC 9207). Tokens never reach the browser: it gets an HttpOnly,
// SameSite=Lax session cookie; the session holds the verified principal of the access token,
// renews that token with the refresh token when the issuer gives one, and ends when it cannot.
// Requests with the cookie that change something (not GET/HEAD/OPTIONS) must carry the
// session's CSRF token in `X-CSRF-Token`.
//
// Routes (public, since they establish the caller): GET /auth/login?return_to=/path,
// GET /auth/callback, GET /auth/session, POST /auth/logout.
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "mcval/audit/audit_log.h"
#include "mcval/auth/issuer_config.h"
#include "mcval/auth/token_verifier.h"
#include "mcval/catalog/session_store.h"
#include "mcval/common/result.h"
#include "mcval/http/authenticator.h"
#include "mcval/http/https_key_source.h"
#include "mcval/http/router.h"

namespace mcval::http {

/// The endpoints of a login issuer's discovery document that a browser login uses.
struct LoginEndpoints {
  std::string authorization;
  std::string token;
  std::string end_session;     ///< empty: the issuer offers none (or not over https)
  bool iss_parameter = false;  ///< authorization_response_iss_parameter_supported
};

/// Reads an issuer's discovery document (untrusted: it comes over the network): a JSON object
/// that names `issuer` exactly and https authorization and token endpoints; auth_unavailable
/// otherwise.
Result<LoginEndpoints> parse_login_discovery(std::string_view body, const auth::IssuerConfig& issuer);

/// The tokens of a token endpoint's answer (RFC 6749 section 5.1); a token that is absent, not a
/// string, or in an answer that is not a JSON object comes back empty.
struct TokenResponse {
  std::string access_token;
  std::string id_token;
  std::string refresh_token;
};
TokenResponse parse_token_response(std::string_view body);

struct BrowserLoginOptions {
  auth::IssuerConfig issuer;   ///< the login's issuer, one of the verifier's
  std::string client_id;
  std::string client_secret;   ///< sent to the token endpoint only (HTTP Basic); never logged
  std::string redirect_uri;    ///< <public URL>/auth/callback, registered at the issuer
  std::string resource;        ///< RFC 8707 resource indicator sent along; empty: none
  std::string scopes = "openid";
  bool secure_cookies = false; ///< the public URL is https: cookies get Secure
  std::chrono::seconds login_timeout{600};  ///< from /auth/login to the callback
  /// Longest a session lasts when the issuer gives a refresh token (the access token is renewed
  /// with it shortly before it expires); without one, a session ends with its access token.
  std::chrono::seconds session_max{8 * 3600};
  std::chrono::seconds refresh_margin{30};  ///< renew this long before the access token expires
  /// How long a session read from the store is reused before it is read again: a sign-out on
  /// another replica takes effect here within this bound (on this one at once). 0: always read.
  std::chrono::milliseconds session_cache{1000};
};

/// Thread-safe. Sessions and sign-ins in progress live in the shared store (SessionStore), so
/// every replica knows them and they survive restarts; the cookie's secret is stored only as its
/// SHA-256.
class BrowserLogin {
 public:
  static constexpr const char* kSessionCookie = "mcval_session";
  static constexpr const char* kLoginCookie = "mcval_login";

  /// `verifier`, `client`, `store` and `audit` (may be null) must outlive this object.
  BrowserLogin(BrowserLoginOptions options, auth::TokenVerifier& verifier, HttpsKeySource& client,
               catalog::SessionStore& store, audit::AuditRecorder* audit);

  /// Adds the /auth/... routes.
  void register_routes(Router& router);

  /// The caller of a request that carries the session cookie: nullopt when it carries none;
  /// otherwise the session's principal, or unauthenticated (an unknown or expired session), or
  /// forbidden (a request that changes something without the session's CSRF token; audited).
  std::optional<Result<PrincipalPtr>> authenticate(const Request& request);

  /// Sessions in the store that have not ended (every replica's).
  Result<std::size_t> sessions() const;

 private:
  struct Session {
    PrincipalPtr principal;
    std::string csrf_token;
    std::chrono::system_clock::time_point expires_at;  ///< of the current access token
    std::chrono::system_clock::time_point ends_at;     ///< of the session
    std::int64_t created_unix = 0;
    std::string refresh_token;                         ///< empty: none
  };
  struct CachedSession {
    Session session;
    std::chrono::steady_clock::time_point read_at;
  };

  Result<LoginEndpoints> endpoints();
  Response login(const Request& request);
  Response callback(const Request& request);
  Response session_info(const Request& request);
  Response logout(const Request& request);
  Response refuse_login(const Request& request, const std::string& reason, const std::string& message);
  /// The session of the request's cookie (and its key), when it has not ended; an error when the
  /// store cannot be read.
  Result<std::optional<std::pair<std::string, Session>>> find_session(const Request& request);
  /// The session with this key from the store (bypassing the cache), when it has not ended.
  Result<std::optional<Session>> load_session(const std::string& key);
  void forget(const std::string& key);
  /// Renews the access token of a session with its refresh token; the renewed session, or
  /// nullopt when the issuer refused (the session then ends once its access token expires).
  std::optional<Session> refresh(const std::string& key, const Session& session);

  BrowserLoginOptions options_;
  auth::TokenVerifier& verifier_;
  HttpsKeySource& client_;
  audit::AuditRecorder* audit_;

  std::mutex endpoints_mutex_;
  std::optional<LoginEndpoints> endpoints_;

  catalog::SessionStore& store_;
  std::mutex mutex_;
  std::map<std::string, CachedSession> cache_;                ///< by key (hex SHA-256 of the cookie)
  std::map<std::string, std::shared_ptr<std::mutex>> renewing_;  ///< one renewal at a time per session here
};

/// The value of cookie `name` in a Cookie header, or nullopt.
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);

/// Whether `path` may be redirected to after a login: a path on this server ("/..."), not a
/// scheme-relative URL ("//host") nor anything with a backslash or control character.
bool safe_return_path(std::string_view path);

}  // namespace mcval::http
