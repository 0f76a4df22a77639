#include "mcval/auth/token_verifier.h"

#include <mutex>
#include <optional>

#include "mcval/auth/claims.h"
#include "mcval/common/logging.h"
#include "mcval/common/strings.h"

namespace mcval::auth {

namespace {

using Clock = std::chrono::system_clock;

std::string near_form(std::string_view issuer) {
  std::string form = to_lower(issuer);
  while (!form.empty() && form.back() == '/') form.pop_back();
  return form;
}

}  // namespace

struct TokenVerifier::KeySnapshot {
  JwkSet keys;
  Clock::time_point fetched_at;
};

struct TokenVerifier::IssuerState {
  explicit IssuerState(const IssuerConfig& c) : config(c) {}

  // The current snapshot, swapped whole. A mutex rather than std::atomic<std::shared_ptr>:
  // libstdc++ 12's lock-bit implementation of the latter is invisible to ThreadSanitizer, and
  // copying a shared_ptr is all that happens under this lock.
  std::shared_ptr<const KeySnapshot> load_keys() const {
    std::lock_guard lock(keys_mutex);
    return keys;
  }
  void store_keys(std::shared_ptr<const KeySnapshot> fresh) {
    std::lock_guard lock(keys_mutex);
    keys.swap(fresh);  // the old snapshot is released after the lock, by its last user
  }

  const IssuerConfig& config;
  mutable std::mutex keys_mutex;
  std::shared_ptr<const KeySnapshot> keys;  ///< guarded by keys_mutex
  std::mutex fetch_mutex;
  std::optional<Clock::time_point> last_attempt;  ///< guarded by fetch_mutex
  std::string jwks_uri;                           ///< guarded by fetch_mutex; empty until resolved
};

TokenVerifier::TokenVerifier(AuthConfig config, KeySource& source, JwsLimits limits)
    : config_(std::move(config)), source_(source), limits_(limits) {
  for (const auto& issuer : config_.issuers) {
    issuers_.emplace(issuer.issuer, std::make_unique<IssuerState>(issuer));
    near_issuers_.emplace(near_form(issuer.issuer), issuer.issuer);
  }
}

TokenVerifier::~TokenVerifier() = default;

std::shared_ptr<const TokenVerifier::KeySnapshot> TokenVerifier::refresh(IssuerState& state, Clock::time_point now,
                                                                         const KeySnapshot* seen) {
  std::lock_guard lock(state.fetch_mutex);
  auto current = state.load_keys();
  if (current.get() != seen) return current;  // another thread fetched meanwhile
  if (state.last_attempt && now < *state.last_attempt + state.config.jwks_refetch_interval) return current;
  state.last_attempt = now;
  fetches_.fetch_add(1);
  if (state.jwks_uri.empty()) {
    auto uri = resolve_jwks_uri(source_, state.config);
    if (!uri.ok()) {
      log::warn("jwks discovery failed", {{"issuer", state.config.name}, {"error", uri.error().detail}});
      return current;
    }
    state.jwks_uri = std::move(uri).value();
  }
  auto set = fetch_jwks(source_, state.jwks_uri, state.config);
  if (!set.ok()) {
    log::warn("jwks fetch failed", {{"issuer", state.config.name}, {"error", set.error().detail}});
    if (state.config.jwks_uri.empty()) state.jwks_uri.clear();  // discover again next time
    return current;
  }
  for (const auto& skipped : set->skipped()) {
    log::warn("jwks key left out", {{"issuer", state.config.name}, {"reason", skipped}});
  }
  log::info("jwks fetched", {{"issuer", state.config.name}, {"keys", set->keys().size()}});
  auto fresh = std::make_shared<const KeySnapshot>(KeySnapshot{std::move(set).value(), now});
  state.store_keys(fresh);
  return fresh;
}

Result<Principal> TokenVerifier::verify(std::string_view token, Clock::time_point now) {
  MCVAL_TRY_ASSIGN(jws, parse_jws(token, limits_));
  const auto iss = jws.payload.find("iss");
  if (iss == jws.payload.end() || !iss->is_string())
    return refuse(Refusal::malformed, "\"iss\" missing or not a string");
  const auto found = issuers_.find(iss->get_ref<const std::string&>());
  if (found == issuers_.end()) {
    if (near_issuers_.contains(near_form(iss->get_ref<const std::string&>()))) {
      return refuse(Refusal::wrong_issuer, "\"iss\" differs from a trusted issuer in case or a trailing '/'");
    }
    return refuse(Refusal::unknown_issuer, "\"iss\" is not a trusted issuer");
  }
  MCVAL_TRY(check_signature(jws, *found->second, now));
  return validate_claims(jws, found->second->config, now);
}

Result<std::string> TokenVerifier::verify_id_token(std::string_view token, std::string_view issuer,
                                                   std::string_view client_id, std::string_view nonce,
                                                   Clock::time_point now) {
  MCVAL_TRY_ASSIGN(jws, parse_jws(token, limits_));
  const auto found = issuers_.find(std::string(issuer));
  if (found == issuers_.end()) return refuse(Refusal::unknown_issuer, "the login's issuer is not configured");
  MCVAL_TRY(check_signature(jws, *found->second, now));
  return validate_id_token_claims(jws, found->second->config, client_id, nonce, now);
}

Status TokenVerifier::check_signature(const Jws& jws, IssuerState& state, Clock::time_point now) {
  const IssuerConfig& issuer = state.config;
  const auto alg = alg_from_name(jws.alg);
  bool allowed = false;
  for (auto a : issuer.algorithms) allowed = allowed || (alg && a == *alg);
  if (!allowed) return refuse(Refusal::alg_not_allowed, "\"alg\" is not allowed for this issuer");

  auto snapshot = state.load_keys();
  if (!snapshot || now - snapshot->fetched_at >= issuer.jwks_max_age) {
    snapshot = refresh(state, now, snapshot.get());
    if (!snapshot) return refuse(Refusal::jwks_unavailable, "the issuer's keys could not be fetched");
  }
  std::optional<std::string_view> kid;
  if (jws.kid) kid = *jws.kid;
  const Jwk* key = snapshot->keys.find(kid, *alg);
  if (key == nullptr) {
    auto fresh = refresh(state, now, snapshot.get());
    if (fresh && fresh != snapshot) {
      snapshot = std::move(fresh);
      key = snapshot->keys.find(kid, *alg);
    }
    if (key == nullptr) {
      return refuse(Refusal::unknown_kid, kid ? "no key of the issuer has this \"kid\" for this \"alg\""
                                              : "no \"kid\" and not exactly one key for this \"alg\"");
    }
  }
  if (!verify_signature(jws, *alg, *key)) return refuse(Refusal::bad_signature, "signature does not verify");
  return {};
}

std::vector<Error> TokenVerifier::prefetch(Clock::time_point now) {
  std::vector<Error> failures;
  for (const auto& issuer : config_.issuers) {
    IssuerState& state = *issuers_.at(issuer.issuer);
    if (state.load_keys()) continue;
    if (!refresh(state, now, nullptr)) {
      failures.push_back(Error{ErrorCode::auth_unavailable, issuer.name + ": keys could not be fetched"});
    }
  }
  return failures;
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  if (authorization.size() < 7 || to_lower(authorization.substr(0, 6)) != "bearer" || authorization[6] != ' ') {
    return std::nullopt;
  }
  std::string_view token = authorization.substr(7);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  if (token.empty()) return std::nullopt;
  // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
  std::size_t i = 0;
  for (; i < token.size(); ++i) {
    const char c = token[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
    if (!ok) break;
  }
  if (i == 0) return std::nullopt;
  for (std::size_t j = i; j < token.size(); ++j) {
    if (token[j] != '=') return std::nullopt;
  }
  return token;
}

std::string www_authenticate(const Error* refusal, std::string_view realm) {
  std::string value = "Bearer realm=\"" + std::string(realm) + "\"";
  if (refusal != nullptr && refusal->code == ErrorCode::unauthenticated) {
    const auto reason = refusal_of(*refusal);
    value += ", error=\"invalid_token\"";
    if (reason) value += ", error_description=\"" + std::string(refusal_name(*reason)) + "\"";
  }
  return value;
}

}  // namespace mcval::auth
