#pragma once
// Per-user request limits: a token bucket of requests per second and a cap on requests being
// handled at once, keyed by the verified principal (issuer, subject). Refused requests are
// answered 429 rate_limited by http::dispatch. A second instance, keyed by client address
// (address_key), limits the requests that end without a valid principal.
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "mcval/auth/principal.h"

namespace mcval::http {

struct UserLimitOptions {
  /// Average requests per second per user; 0: no rate limit. The bucket holds
  /// `burst_seconds` times this many requests, so a viewer opening a slide may go faster briefly.
  double requests_per_second = 0;
  double burst_seconds = 2;
  /// Requests of one user being handled at once; 0: no cap.
  int max_concurrent = 0;
  /// Most users tracked; beyond it, users idle the longest are forgotten first.
  std::size_t max_users = 10000;
  std::function<std::chrono::steady_clock::time_point()> clock = [] { return std::chrono::steady_clock::now(); };
};

/// Thread-safe. Memory is bounded by max_users.
class UserLimits {
 public:
  explicit UserLimits(UserLimitOptions options);

  /// The key of a client address in the per-address limits of unauthenticated requests.
  static auth::UserKey address_key(std::string_view ip) { return auth::UserKey{"", std::string(ip)}; }

  enum class Verdict { allowed, too_fast, too_many_at_once };

  /// Takes one request of `user`; when allowed, the caller must call release(user) once the
  /// request has been handled (a Slot does that).
  Verdict acquire(const auth::UserKey& user);
  void release(const auth::UserKey& user);
  /// True when `user`'s bucket holds less than one request now (acquire() would answer
  /// too_fast); takes nothing. False when there is no rate limit.
  bool exhausted(const auth::UserKey& user);
  /// Takes one request from `user`'s bucket, if one is left, without holding a slot: for requests
  /// counted once they have been answered (refused requests of a client address).
  void charge(const auth::UserKey& user);

  /// True at most once per user per `interval`: whether this refusal should be audited (so a
  /// client hammering the server does not flood the audit log).
  bool should_report(const auth::UserKey& user, std::chrono::seconds interval = std::chrono::seconds(60));

  bool enabled() const { return options_.requests_per_second > 0 || options_.max_concurrent > 0; }
  std::size_t tracked_users() const;

  /// Releases on destruction when it holds an allowed request.
  class Slot {
   public:
    Slot() = default;
    Slot(UserLimits* limits, auth::UserKey user) : limits_(limits), user_(std::move(user)) {}
    Slot(Slot&& other) noexcept : limits_(other.limits_), user_(std::move(other.user_)) { other.limits_ = nullptr; }
    Slot& operator=(Slot&&) = delete;
    Slot(const Slot&) = delete;
    ~Slot() {
      if (limits_) limits_->release(user_);
    }

   private:
    UserLimits* limits_ = nullptr;
    auth::UserKey user_;
  };

 private:
  struct State {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled;
    int in_flight = 0;
    std::optional<std::chrono::steady_clock::time_point> reported;
  };
  static std::string key_of(const auth::UserKey& user);
  void evict_idle_locked(std::chrono::steady_clock::time_point now);

  UserLimitOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, State> users_;
};

}  // namespace mcval::http
