#include "mcval/http/user_limits.h"

#include <algorithm>

namespace mcval::http {

UserLimits::UserLimits(UserLimitOptions options) : options_(std::move(options)) {
  options_.burst_seconds = std::max(options_.burst_seconds, 0.0);
  options_.max_users = std::max<std::size_t>(options_.max_users, 1);
}

std::string UserLimits::key_of(const auth::UserKey& user) {
  std::string key = user.issuer;
  key.push_back('\0');
  key += user.subject;
  return key;
}

void UserLimits::evict_idle_locked(std::chrono::steady_clock::time_point now) {
  const double capacity = std::max(1.0, options_.requests_per_second * options_.burst_seconds);
  // A user with nothing in flight whose bucket would be full again is the same as a new one.
  for (auto it = users_.begin(); it != users_.end();) {
    const double seconds = std::chrono::duration<double>(now - it->second.refilled).count();
    const bool full = options_.requests_per_second <= 0 ||
                      it->second.tokens + seconds * options_.requests_per_second >= capacity;
    it = (it->second.in_flight == 0 && full) ? users_.erase(it) : std::next(it);
  }
  while (users_.size() >= options_.max_users) {
    auto oldest = users_.end();
    for (auto it = users_.begin(); it != users_.end(); ++it) {
      if (it->second.in_flight == 0 && (oldest == users_.end() || it->second.refilled < oldest->second.refilled)) {
        oldest = it;
      }
    }
    if (oldest == users_.end()) break;  // every tracked user has requests in flight
    users_.erase(oldest);
  }
}

UserLimits::Verdict UserLimits::acquire(const auth::UserKey& user) {
  if (!enabled()) return Verdict::allowed;
  const auto now = options_.clock();
  const double capacity = std::max(1.0, options_.requests_per_second * options_.burst_seconds);
  std::lock_guard lock(mutex_);
  const std::string key = key_of(user);
  auto it = users_.find(key);
  if (it == users_.end()) {
    if (users_.size() >= options_.max_users) evict_idle_locked(now);
    it = users_.emplace(key, State{capacity, now, 0, std::nullopt}).first;
  }
  State& state = it->second;
  if (options_.requests_per_second > 0) {
    const double seconds = std::chrono::duration<double>(now - state.refilled).count();
    state.tokens = std::min(capacity, state.tokens + std::max(0.0, seconds) * options_.requests_per_second);
    state.refilled = now;
    if (state.tokens < 1.0) return Verdict::too_fast;
  }
  if (options_.max_concurrent > 0 && state.in_flight >= options_.max_concurrent) return Verdict::too_many_at_once;
  if (options_.requests_per_second > 0) state.tokens -= 1.0;
  ++state.in_flight;
  return Verdict::allowed;
}

void UserLimits::release(const auth::UserKey& user) {
  if (!enabled()) return;
  std::lock_guard lock(mutex_);
  const auto it = users_.find(key_of(user));
  if (it != users_.end() && it->second.in_flight > 0) --it->second.in_flight;
}

bool UserLimits::exhausted(const auth::UserKey& user) {
  if (options_.requests_per_second <= 0) return false;
  const auto now = options_.clock();
  const double capacity = std::max(1.0, options_.requests_per_second * options_.burst_seconds);
  std::lock_guard lock(mutex_);
  const auto it = users_.find(key_of(user));
  if (it == users_.end()) return false;
  const double seconds = std::max(0.0, std::chrono::duration<double>(now - it->second.refilled).count());
  return std::min(capacity, it->second.tokens + seconds * options_.requests_per_second) < 1.0;
}

void UserLimits::charge(const auth::UserKey& user) {
  if (acquire(user) == Verdict::allowed) release(user);
}

bool UserLimits::should_report(const auth::UserKey& user, std::chrono::seconds interval) {
  const auto now = options_.clock();
  std::lock_guard lock(mutex_);
  const auto it = users_.find(key_of(user));
  if (it == users_.end()) return true;
  if (it->second.reported && now - *it->second.reported < interval) return false;
  it->second.reported = now;
  return true;
}

std::size_t UserLimits::tracked_users() const {
  std::lock_guard lock(mutex_);
  return users_.size();
}

}  // namespace mcval::http
