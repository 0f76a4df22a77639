#include "mcval/http/browser_login.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <nlohmann/json.hpp>

#include "mcval/auth/base64url.h"
#include "mcval/auth/refusal.h"
#include "mcval/auth/strict_json.h"
#include "mcval/common/logging.h"
#include "mcval/common/strings.h"
#include "route_support.h"

namespace mcval::http {

namespace {

using Clock = std::chrono::system_clock;
using Steady = std::chrono::steady_clock;

/// 32 random bytes from OpenSSL's CSPRNG, base64url (43 characters).
std::string random_token() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  return auth::base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

std::int64_t unix_seconds(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

Clock::time_point from_unix_seconds(std::int64_t seconds) { return Clock::time_point(std::chrono::seconds(seconds)); }

std::string sha256_raw(std::string_view text);

/// The key under which a secret (a session cookie, a login's state) is stored: its hex SHA-256.
std::string hex_sha256(std::string_view secret) {
  const std::string raw = sha256_raw(secret);
  return to_hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

std::string sha256_raw(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

bool equal_secrets(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

std::string form_of(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (value.empty()) continue;
    if (!out.empty()) out.push_back('&');
    out += percent_encode(name) + "=" + percent_encode(value);
  }
  return out;
}

std::string basic_authorization(const std::string& client_id, const std::string& secret) {
  // RFC 6749 2.3.1: both form-urlencoded before the Basic encoding.
  const std::string pair = percent_encode(client_id) + ":" + percent_encode(secret);
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < pair.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(pair[i]) << 16) | (static_cast<unsigned char>(pair[i + 1]) << 8) |
                       static_cast<unsigned char>(pair[i + 2]);
    out += {kB64[(v >> 18) & 63], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], kB64[v & 63]};
  }
  if (i + 1 == pair.size()) {
    const unsigned v = static_cast<unsigned char>(pair[i]) << 16;
    out += {kB64[(v >> 18) & 63], kB64[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == pair.size()) {
    const unsigned v = (static_cast<unsigned char>(pair[i]) << 16) | (static_cast<unsigned char>(pair[i + 1]) << 8);
    out += {kB64[(v >> 18) & 63], kB64[(v >> 12) & 63], kB64[(v >> 6) & 63], '='};
  }
  return "Basic " + out;
}

std::string cookie(std::string_view name, std::string_view value, std::string_view path, long long max_age_s,
                   bool secure) {
  std::string out = std::string(name) + "=" + std::string(value) + "; Path=" + std::string(path) +
                    "; Max-Age=" + std::to_string(std::max(0LL, max_age_s)) + "; HttpOnly; SameSite=Lax";
  if (secure) out += "; Secure";
  return out;
}

Response redirect(const std::string& location) {
  Response r;
  r.status = 303;
  r.content_type = "text/plain; charset=utf-8";
  r.header("Location", location);
  r.header("Cache-Control", "no-store");
  return r;
}

}  // namespace

std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name) {
  for (auto part : split(cookie_header, ';')) {
    part = trim(part);
    const auto eq = part.find('=');
    if (eq == std::string_view::npos || trim(part.substr(0, eq)) != name) continue;
    std::string_view value = trim(part.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return std::string(value);
  }
  return std::nullopt;
}

bool safe_return_path(std::string_view path) {
  if (path.empty() || path.front() != '/' || path.size() > 2048) return false;
  if (path.size() > 1 && (path[1] == '/' || path[1] == '\\')) return false;
  for (const char c : path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '\\') return false;
  }
  return true;
}

BrowserLogin::BrowserLogin(BrowserLoginOptions options, auth::TokenVerifier& verifier, HttpsKeySource& client,
                           catalog::SessionStore& store, audit::AuditRecorder* audit)
    : options_(std::move(options)), verifier_(verifier), client_(client), audit_(audit), store_(store) {}

Result<LoginEndpoints> parse_login_discovery(std::string_view body, const auth::IssuerConfig& issuer) {
  auto document = auth::parse_json_strict(body, 16);
  if (!document.ok() || !document->is_object()) {
    return Error{ErrorCode::auth_unavailable, "the login issuer's discovery document is not a JSON object"};
  }
  const auto text = [&](const char* key) {
    const auto it = document->find(key);
    return it != document->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (text("issuer") != issuer.issuer) {
    return Error{ErrorCode::auth_unavailable, "the login issuer's discovery document names another issuer"};
  }
  LoginEndpoints found;
  found.authorization = text("authorization_endpoint");
  found.token = text("token_endpoint");
  found.end_session = text("end_session_endpoint");
  const auto iss_parameter = document->find("authorization_response_iss_parameter_supported");
  found.iss_parameter = iss_parameter != document->end() && iss_parameter->is_boolean() && iss_parameter->get<bool>();
  for (const std::string* endpoint : {&found.authorization, &found.token}) {
    if (!auth::url_allowed(*endpoint, issuer.allow_insecure_http_for_tests)) {
      return Error{ErrorCode::auth_unavailable, "the login issuer's authorization or token endpoint is missing or not https"};
    }
  }
  if (!found.end_session.empty() && !auth::url_allowed(found.end_session, issuer.allow_insecure_http_for_tests)) {
    found.end_session.clear();
  }
  return found;
}

TokenResponse parse_token_response(std::string_view body) {
  TokenResponse tokens;
  auto document = auth::parse_json_strict(body, 16);
  if (!document.ok() || !document->is_object()) return tokens;
  const auto text = [&](const char* key) {
    const auto it = document->find(key);
    return it != document->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  tokens.access_token = text("access_token");
  tokens.id_token = text("id_token");
  tokens.refresh_token = text("refresh_token");
  return tokens;
}

Result<LoginEndpoints> BrowserLogin::endpoints() {
  std::lock_guard lock(endpoints_mutex_);
  if (endpoints_) return *endpoints_;
  const auto& issuer = options_.issuer;
  const std::string url = issuer.discovery_endpoint();
  if (!auth::url_allowed(url, issuer.allow_insecure_http_for_tests)) {
    return Error{ErrorCode::auth_unavailable, "the login issuer's discovery URL is not https"};
  }
  MCVAL_TRY_ASSIGN(body, client_.fetch(url));
  MCVAL_TRY_ASSIGN(found, parse_login_discovery(body, issuer));
  endpoints_ = found;
  return found;
}

void BrowserLogin::register_routes(Router& router) {
  router.add("GET", "/auth/login", "auth.login", [this](Request& req) { return login(req); }, Access::public_);
  router.add("GET", "/auth/callback", "auth.callback", [this](Request& req) { return callback(req); },
             Access::public_);
  router.add("GET", "/auth/session", "auth.session", [this](Request& req) { return session_info(req); },
             Access::public_);
  router.add("POST", "/auth/logout", "auth.logout", [this](Request& req) { return logout(req); }, Access::public_);
}

Response BrowserLogin::login(const Request& request) {
  std::string return_to = request.query_param("return_to").value_or("/");
  if (!safe_return_path(return_to)) return_to = "/";
  auto found = endpoints();
  if (!found.ok()) {
    log::warn("browser login unavailable", {{"error", found.error().to_string()}});
    return error_response(Error{ErrorCode::auth_unavailable, found.error().detail}, request);
  }
  catalog::StoredPendingLogin pending{"", random_token(), random_token(), random_token(), return_to,
                                     unix_seconds(Clock::now() + options_.login_timeout)};
  const std::string state = random_token();
  pending.state_key = hex_sha256(state);
  const std::string challenge = auth::base64url_encode(sha256_raw(pending.code_verifier));
  const std::string binding = pending.binding;
  const std::string nonce = pending.nonce;
  // Any replica may get the callback: the sign-in waits in the shared store, keyed by the hash
  // of its state, for login_timeout.
  (void)store_.purge_expired(unix_seconds(Clock::now()));
  if (auto stored = store_.put_pending_login(pending); !stored.ok()) {
    log::warn("browser login not started: the store cannot be written", {{"error", stored.error().to_string()}});
    return error_response(stored.error(), request);
  }
  const std::string query =
      form_of({{"response_type", "code"}, {"client_id", options_.client_id}, {"redirect_uri", options_.redirect_uri},
               {"scope", options_.scopes}, {"state", state}, {"nonce", nonce}, {"code_challenge", challenge},
               {"code_challenge_method", "S256"}, {"resource", options_.resource}});
  const std::string& endpoint = found->authorization;
  Response r = redirect(endpoint + (endpoint.find('?') == std::string::npos ? "?" : "&") + query);
  r.header("Set-Cookie", cookie(kLoginCookie, binding, "/auth/callback",
                                std::chrono::duration_cast<std::chrono::seconds>(options_.login_timeout).count(),
                                options_.secure_cookies));
  return r;
}

Response BrowserLogin::refuse_login(const Request& request, const std::string& reason, const std::string& message) {
  log::warn("browser login refused", {{"request_id", request.request_id}, {"reason", reason}});
  if (audit_) {
    (void)audit_->record(audit::AuditRecord::make(audit::Action::login, requester_of(request), "", "",
                                                  audit::Outcome::denied, reason));
  }
  Response r = error_response(Error{ErrorCode::unauthenticated, "login refused (" + reason + "): " + message}, request);
  r.header("Set-Cookie", cookie(kLoginCookie, "", "/auth/callback", 0, options_.secure_cookies));
  r.header("Cache-Control", "no-store");
  return r;
}

Response BrowserLogin::callback(const Request& request) {
  const auto state = request.query_param("state");
  std::optional<catalog::StoredPendingLogin> pending;
  if (state) {
    // One use only: of two callbacks with one state, on any replicas, one finds it.
    auto taken = store_.take_pending_login(hex_sha256(*state), unix_seconds(Clock::now()));
    if (!taken.ok()) return error_response(taken.error(), request);
    pending = std::move(taken).value();
  }
  if (!pending) {
    return refuse_login(request, "state_unknown", "no login of this browser is waiting for this answer; sign in again");
  }
  // The answer must come back to the browser that started the login (login CSRF).
  const auto binding = cookie_value(request.header("cookie"), kLoginCookie);
  if (!binding || !equal_secrets(*binding, pending->binding)) {
    return refuse_login(request, "login_binding_mismatch", "the login was started in another browser");
  }
  auto found = endpoints();
  if (!found.ok()) return refuse_login(request, "issuer_unavailable", "the identity provider cannot be reached");
  // RFC 9207: the issuer names itself in the answer, so a mix-up with another issuer shows.
  const auto iss = request.query_param("iss");
  if ((iss && *iss != options_.issuer.issuer) || (!iss && found->iss_parameter)) {
    return refuse_login(request, "iss_mismatch", "the answer does not come from the login's issuer");
  }
  if (const auto error = request.query_param("error")) {
    const std::string code = error->substr(0, 64);
    return refuse_login(request, "provider_error", "the identity provider answered " + code);
  }
  const auto code = request.query_param("code");
  if (!code || code->empty()) return refuse_login(request, "no_code", "the answer carries no authorization code");

  const std::string form = form_of({{"grant_type", "authorization_code"}, {"code", *code},
                                    {"redirect_uri", options_.redirect_uri}, {"code_verifier", pending->code_verifier},
                                    {"resource", options_.resource}});
  auto answer = client_.post_form(found->token, form, basic_authorization(options_.client_id, options_.client_secret));
  if (!answer.ok()) {
    log::warn("token request of a browser login failed", {{"request_id", request.request_id},
                                                          {"error", answer.error().detail}});
    return refuse_login(request, "token_exchange_failed", "the identity provider did not issue tokens");
  }
  const TokenResponse tokens = parse_token_response(*answer);
  const std::string& id_token = tokens.id_token;
  const std::string& access_token = tokens.access_token;
  if (id_token.empty() || access_token.empty()) {
    return refuse_login(request, "token_exchange_failed", "the identity provider's answer lacks a token");
  }
  const auto now = Clock::now();
  auto subject = verifier_.verify_id_token(id_token, options_.issuer.issuer, options_.client_id, pending->nonce, now);
  if (!subject.ok()) {
    const auto refusal = auth::refusal_of(subject.error());
    const std::string why = refusal ? std::string(auth::refusal_name(*refusal))
                                    : subject.error().detail.substr(0, subject.error().detail.find(':'));
    return refuse_login(request, "id_token_" + why, "the ID token was refused");
  }
  auto principal = verifier_.verify(access_token, now);
  if (!principal.ok()) {
    const auto refusal = auth::refusal_of(principal.error());
    return refuse_login(request, "access_token_" + std::string(refusal ? auth::refusal_name(*refusal) : "refused"),
                        "the access token was refused (is mcval's API its audience?)");
  }
  if (principal->issuer != options_.issuer.issuer || principal->subject != *subject) {
    return refuse_login(request, "subject_mismatch", "the access token is not the signed-in user's");
  }

  const std::string cookie_secret = random_token();
  Session session;
  session.principal = std::make_shared<const auth::Principal>(std::move(principal).value());
  session.csrf_token = random_token();
  session.expires_at = session.principal->expires_at;
  session.refresh_token = tokens.refresh_token;
  session.ends_at = session.refresh_token.empty() ? session.expires_at : now + options_.session_max;
  session.created_unix = unix_seconds(now);
  const auto max_age = std::chrono::duration_cast<std::chrono::seconds>(session.ends_at - now).count();
  const PrincipalPtr who = session.principal;
  catalog::StoredSession stored;
  stored.key = hex_sha256(cookie_secret);
  stored.user_id = who->stable_id();
  stored.display_name = who->display_name;
  stored.principal_json = auth::principal_to_json(*who);
  stored.csrf_token = session.csrf_token;
  stored.refresh_token = session.refresh_token;
  stored.access_expires_unix = unix_seconds(session.expires_at);
  stored.ends_unix = unix_seconds(session.ends_at);
  stored.created_unix = session.created_unix;
  if (auto saved = store_.put_session(stored); !saved.ok()) {
    log::warn("browser login not completed: the session cannot be stored", {{"error", saved.error().to_string()}});
    return error_response(saved.error(), request);
  }
  Request as_user = request;
  as_user.principal = who;
  if (audit_) {
    (void)audit_->record(
        audit::AuditRecord::make(audit::Action::login, requester_of(as_user), "", "", audit::Outcome::allowed));
  }
  log::info("browser login", {{"request_id", request.request_id}, {"issuer", who->issuer_name},
                              {"subject", who->subject}, {"name", who->display_name}});
  Response r = redirect(pending->return_to);
  r.header("Set-Cookie", cookie(kSessionCookie, cookie_secret, "/", max_age, options_.secure_cookies));
  r.header("Set-Cookie", cookie(kLoginCookie, "", "/auth/callback", 0, options_.secure_cookies));
  return r;
}

Result<std::optional<BrowserLogin::Session>> BrowserLogin::load_session(const std::string& key) {
  const auto now = Clock::now();
  MCVAL_TRY_ASSIGN(stored, store_.find_session(key, unix_seconds(now)));
  if (!stored) return std::optional<Session>();
  auto principal = auth::principal_from_json(stored->principal_json);
  if (!principal.ok()) {
    log::warn("a stored session is unreadable; it is ended", {{"error", principal.error().to_string()}});
    (void)store_.delete_session(key);
    return std::optional<Session>();
  }
  Session session;
  session.principal = std::make_shared<const auth::Principal>(std::move(principal).value());
  session.csrf_token = stored->csrf_token;
  session.expires_at = from_unix_seconds(stored->access_expires_unix);
  session.ends_at = from_unix_seconds(stored->ends_unix);
  session.created_unix = stored->created_unix;
  session.refresh_token = stored->refresh_token;
  std::lock_guard lock(mutex_);
  if (options_.session_cache.count() > 0) {
    // Bounded: entries older than the cache period are useless, drop them when it grows.
    if (cache_.size() >= 10000) {
      const auto steady_now = Steady::now();
      std::erase_if(cache_, [&](const auto& entry) { return steady_now - entry.second.read_at > options_.session_cache; });
    }
    cache_[key] = CachedSession{session, Steady::now()};
  }
  return std::optional<Session>(std::move(session));
}

void BrowserLogin::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  cache_.erase(key);
}

Result<std::optional<std::pair<std::string, BrowserLogin::Session>>> BrowserLogin::find_session(
    const Request& request) {
  using Found = std::optional<std::pair<std::string, Session>>;
  const auto secret = cookie_value(request.header("cookie"), kSessionCookie);
  if (!secret || secret->empty()) return Found();
  std::string key = hex_sha256(*secret);
  std::optional<Session> session;
  {
    std::lock_guard lock(mutex_);
    if (const auto it = cache_.find(key); it != cache_.end()) {
      if (Steady::now() - it->second.read_at <= options_.session_cache) {
        session = it->second.session;
      } else {
        cache_.erase(it);
      }
    }
  }
  if (!session) {
    MCVAL_TRY_ASSIGN(loaded, load_session(key));
    if (!loaded) return Found();
    session = std::move(loaded);
  }
  const auto now = Clock::now();
  if (session->ends_at <= now || (session->refresh_token.empty() && session->expires_at <= now)) {
    forget(key);
    (void)store_.delete_session(key);
    return Found();
  }
  return Found(std::make_pair(std::move(key), std::move(*session)));
}

std::optional<BrowserLogin::Session> BrowserLogin::refresh(const std::string& key, const Session& session) {
  std::shared_ptr<std::mutex> renewing;
  {
    std::lock_guard lock(mutex_);
    auto& slot = renewing_[key];
    if (!slot) slot = std::make_shared<std::mutex>();
    renewing = slot;
  }
  std::lock_guard renewal(*renewing);
  struct Done {
    BrowserLogin& self;
    const std::string& key;
    ~Done() {
      std::lock_guard lock(self.mutex_);
      if (const auto it = self.renewing_.find(key); it != self.renewing_.end() && it->second.use_count() <= 2) {
        self.renewing_.erase(it);
      }
    }
  } done{*this, key};
  // Another request, here or on another replica, may have renewed meanwhile: read the store.
  auto current = load_session(key);
  if (!current.ok() || !*current) return std::nullopt;
  if ((*current)->expires_at > Clock::now() + options_.refresh_margin) return **current;
  auto found = endpoints();
  if (!found.ok()) return std::nullopt;
  const std::string form = form_of({{"grant_type", "refresh_token"}, {"refresh_token", (*current)->refresh_token},
                                    {"resource", options_.resource}});
  auto answer = client_.post_form(found->token, form, basic_authorization(options_.client_id, options_.client_secret));
  if (!answer.ok()) {
    log::warn("browser session not renewed", {{"subject", session.principal->subject},
                                               {"error", answer.error().detail}});
    return std::nullopt;
  }
  const TokenResponse tokens = parse_token_response(*answer);
  auto principal = verifier_.verify(tokens.access_token, Clock::now());
  if (!principal.ok() || principal->issuer != session.principal->issuer ||
      principal->subject != session.principal->subject) {
    log::warn("browser session not renewed: the new access token was refused or names another user",
              {{"subject", session.principal->subject}});
    return std::nullopt;
  }
  Session renewed = **current;
  renewed.principal = std::make_shared<const auth::Principal>(std::move(principal).value());
  renewed.expires_at = renewed.principal->expires_at;
  if (!tokens.refresh_token.empty()) renewed.refresh_token = tokens.refresh_token;
  auto saved = store_.update_session_tokens(key, auth::principal_to_json(*renewed.principal),
                                            unix_seconds(renewed.expires_at), renewed.refresh_token);
  if (!saved.ok() || !*saved) return std::nullopt;  // signed out meanwhile, or the store is away
  forget(key);
  log::info("browser session renewed", {{"subject", renewed.principal->subject}});
  return renewed;
}

std::optional<Result<PrincipalPtr>> BrowserLogin::authenticate(const Request& request) {
  if (!cookie_value(request.header("cookie"), kSessionCookie)) return std::nullopt;
  auto found = find_session(request);
  if (!found.ok()) return Result<PrincipalPtr>(found.error());  // the store is away: 503, not "signed out"
  std::optional<Session> session;
  if (*found) {
    auto& [key, current] = **found;
    session = std::move(current);
    if (session->expires_at <= Clock::now() + options_.refresh_margin && !session->refresh_token.empty()) {
      if (auto renewed = refresh(key, *session)) session = std::move(renewed);
    }
    if (session->expires_at <= Clock::now()) {  // not renewed: the session has ended
      forget(key);
      (void)store_.delete_session(key);
      session.reset();
    }
  }
  if (!session) {
    return Result<PrincipalPtr>(
        Error{ErrorCode::unauthenticated, "the session has ended or is unknown: sign in again at /auth/login"});
  }
  const bool safe = request.method == "GET" || request.method == "HEAD" || request.method == "OPTIONS";
  if (!safe && !equal_secrets(request.header("x-csrf-token"), session->csrf_token)) {
    Request as_user = request;
    as_user.principal = session->principal;
    if (audit_) {
      (void)audit_->record(audit::AuditRecord::make(audit::Action::denied, requester_of(as_user), "", "",
                                                    audit::Outcome::denied, "csrf_token_mismatch"));
    }
    return Result<PrincipalPtr>(
        Error{ErrorCode::forbidden, "a request that changes something needs the session's X-CSRF-Token header"});
  }
  return Result<PrincipalPtr>(session->principal);
}

Response BrowserLogin::session_info(const Request& request) {
  Response r;
  auto lookup = find_session(request);
  if (!lookup.ok()) return error_response(lookup.error(), request);
  const auto& found = *lookup;
  if (!found) {
    r = json_ok({{"login", true}, {"authenticated", false}, {"login_url", "/auth/login"}});
  } else {
    const Session* session = &found->second;
    const auth::Principal& p = *session->principal;
    nlohmann::json grants = nlohmann::json::array();
    for (const auto& grant : p.grants) grants.push_back({{"role", auth::role_name(grant.role)}, {"centre", grant.centre}});
    r = json_ok({{"login", true},
                       {"authenticated", true},
                       {"issuer", p.issuer},
                       {"subject", p.subject},
                       {"name", p.display_name},
                       {"grants", grants},
                       {"csrf_token", session->csrf_token},
                       {"access_expires_at", audit::format_utc(session->expires_at)},
                       {"renewable", !session->refresh_token.empty()},
                       {"ends_at", audit::format_utc(session->ends_at)}});
  }
  r.header("Cache-Control", "no-store");
  return r;
}

Response BrowserLogin::logout(const Request& request) {
  auto who = authenticate(request);
  if (!who) return error_response(Error{ErrorCode::unauthenticated, "not signed in"}, request);
  if (!who->ok()) return error_response(who->error(), request);
  const auto secret = cookie_value(request.header("cookie"), kSessionCookie);
  const std::string key = hex_sha256(secret.value_or(""));
  forget(key);
  // Deleted from the store: every replica refuses the cookie within --session-cache-ms.
  if (auto deleted = store_.delete_session(key); !deleted.ok()) return error_response(deleted.error(), request);
  Request as_user = request;
  as_user.principal = who->value();
  if (audit_) {
    (void)audit_->record(
        audit::AuditRecord::make(audit::Action::logout, requester_of(as_user), "", "", audit::Outcome::allowed));
  }
  nlohmann::json body = {{"logged_out", true}};
  if (auto found = endpoints(); found.ok() && !found->end_session.empty()) {
    body["end_session_url"] = found->end_session + (found->end_session.find('?') == std::string::npos ? "?" : "&") +
                              form_of({{"client_id", options_.client_id}});
  }
  Response r = json_ok(body);
  r.header("Set-Cookie", cookie(kSessionCookie, "", "/", 0, options_.secure_cookies));
  r.header("Cache-Control", "no-store");
  return r;
}

Result<std::size_t> BrowserLogin::sessions() const {
  MCVAL_TRY_ASSIGN(listed, store_.list_sessions(unix_seconds(Clock::now())));
  return listed.size();
}

}  // namespace mcval::http
