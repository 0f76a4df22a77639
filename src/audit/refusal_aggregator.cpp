#include "mcval/audit/refusal_aggregator.h"

#include <utility>

namespace mcval::audit {

Result<RefusalAggregatorOptions> refusal_aggregator_options(const Config& config) {
  if (config.audit_refusal_window_s < 0 || config.audit_refusal_window_s > 86400) {
    return Error{ErrorCode::config_invalid, "audit_refusal_window_s must be 0-86400"};
  }
  RefusalAggregatorOptions options;
  options.window = std::chrono::seconds(config.audit_refusal_window_s);
  return options;
}

RefusalAggregator::RefusalAggregator(AuditRecorder& next, RefusalAggregatorOptions options)
    : next_(next), options_(std::move(options)) {
  if (options_.max_open_windows == 0) options_.max_open_windows = 1;
  ticker_ = std::make_unique<Ticker>(options_.tick, [this] { flush_expired(); });
}

RefusalAggregator::~RefusalAggregator() {
  ticker_.reset();
  flush_all();
}

bool RefusalAggregator::aggregated(const AuditRecord& record) noexcept {
  if (!record.actor.anonymous() || record.repeats || record.reads) return false;
  return record.action == Action::token_rejected ||
         (record.action == Action::denied && record.reason == "token_missing");
}

void RefusalAggregator::close_front_locked(std::vector<AuditRecord>& out) {
  Window& w = windows_.front();
  if (w.repeats.count > 0) {
    AuditRecord r = std::move(w.first_repeat);
    r.time = format_utc(options_.clock());
    r.repeats = std::move(w.repeats);
    out.push_back(std::move(r));
  }
  by_key_.erase(w.key);
  windows_.pop_front();
}

Status RefusalAggregator::record(AuditRecord record) {
  if (options_.window.count() == 0 || !aggregated(record)) return next_.record(std::move(record));
  const auto now = options_.clock();
  std::string key;
  for (std::string_view part : {std::string_view(record.source), action_name(record.action),
                                std::string_view(record.reason), outcome_name(record.outcome)}) {
    key.append(part);
    key.push_back('\x1f');  // cannot occur in a valid field
  }
  std::vector<AuditRecord> closed;
  bool first = false;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    while (!windows_.empty() && windows_.front().opened + options_.window <= now) close_front_locked(closed);
    auto found = by_key_.find(key);
    if (found == by_key_.end()) {
      if (windows_.size() >= options_.max_open_windows) close_front_locked(closed);
      windows_.push_back(Window{key, {}, now, {}});
      by_key_.emplace(std::move(key), std::prev(windows_.end()));
      first = true;
    } else {
      Window& w = *found->second;
      const std::string time = format_utc(now);
      if (w.repeats.count == 0) {
        w.first_repeat = record;
        w.repeats.first = time;
      }
      ++w.repeats.count;
      w.repeats.last = time;
    }
  }
  record_all(next_, std::move(closed));
  if (first) return next_.record(std::move(record));
  return {};
}

void RefusalAggregator::flush_expired() {
  std::vector<AuditRecord> closed;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    const auto now = options_.clock();
    while (!windows_.empty() && windows_.front().opened + options_.window <= now) close_front_locked(closed);
  }
  record_all(next_, std::move(closed));
}

void RefusalAggregator::flush_all() {
  std::vector<AuditRecord> closed;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    while (!windows_.empty()) close_front_locked(closed);
  }
  record_all(next_, std::move(closed));
}

std::size_t RefusalAggregator::open_windows() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return windows_.size();
}

}  // namespace mcval::audit
