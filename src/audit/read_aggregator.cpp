#include "mcval/audit/read_aggregator.h"

#include <utility>

#include "mcval/common/logging.h"

namespace mcval::audit {

Result<ReadAggregatorOptions> read_aggregator_options(const Config& config) {
  if (config.audit_read_window_s < 1 || config.audit_read_window_s > 86400) {
    return Error{ErrorCode::config_invalid, "audit_read_window_s must be 1-86400"};
  }
  if (config.audit_read_flush_s < 0 || config.audit_read_flush_s > 3600) {
    return Error{ErrorCode::config_invalid, "audit_read_flush_s must be 0-3600"};
  }
  ReadAggregatorOptions options;
  options.window = std::chrono::seconds(config.audit_read_window_s);
  options.flush_every = std::chrono::seconds(config.audit_read_flush_s);
  return options;
}

ReadAggregator::ReadAggregator(AuditRecorder& recorder, ReadAggregatorOptions options)
    : recorder_(recorder), options_(std::move(options)) {
  if (options_.max_open_windows == 0) options_.max_open_windows = 1;
  if (options_.max_reads_per_window == 0) options_.max_reads_per_window = 1;
  ticker_ = std::make_unique<Ticker>(options_.tick, [this] { flush_expired(); });
}

ReadAggregator::~ReadAggregator() {
  ticker_.reset();
  flush_all();
}

void ReadAggregator::read(const Requester& who, ReadKind kind, std::string_view slide_id, std::string_view centre,
                          int level, std::uint64_t bytes) {
  const auto now = options_.clock();
  std::string key;
  key.reserve(who.actor.iss.size() + who.actor.sub.size() + who.actor.client_id.size() + who.role.size() +
              slide_id.size() + who.source.size() + 5);
  for (std::string_view part : {std::string_view(who.actor.iss), std::string_view(who.actor.sub),
                                std::string_view(who.actor.client_id), std::string_view(who.role), slide_id,
                                std::string_view(who.source)}) {
    key.append(part);
    key.push_back('\x1f');  // cannot occur in a valid field
  }

  std::vector<AuditRecord> closed;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    close_expired_locked(now, closed);
    auto found = by_key_.find(key);
    const bool opening = found == by_key_.end();
    if (opening) {
      if (windows_.size() >= options_.max_open_windows) {
        take(windows_.front(), "evicted", closed);
        by_key_.erase(windows_.front().key);
        windows_.pop_front();
      }
      windows_.push_back(Window{key, who, std::string(slide_id), std::string(centre), now, now, now, now, 0, {}});
      found = by_key_.emplace(std::move(key), std::prev(windows_.end())).first;
    }
    Window& w = *found->second;
    if (w.summary.requests == 0) w.first = now;
    switch (kind) {
      case ReadKind::tile: ++w.summary.tiles; break;
      case ReadKind::region: ++w.summary.regions; break;
      case ReadKind::thumbnail: ++w.summary.thumbnails; break;
    }
    ++w.summary.requests;
    ++w.requests;
    w.summary.bytes += bytes;
    w.last = now;
    if (level >= 0 && w.summary.levels.size() < ReadSummary::kMaxLevels) w.summary.levels.insert(level);
    if (w.requests >= options_.max_reads_per_window) {
      take(w, "cap", closed);
      const auto position = found->second;
      by_key_.erase(found);
      windows_.erase(position);
    } else if (opening) {
      take(w, "opened", closed);  // the first read is on record at once: a crash cannot hide it
    }
  }
  record_all(recorder_, std::move(closed));
}

void ReadAggregator::close_expired_locked(std::chrono::system_clock::time_point now,
                                          std::vector<AuditRecord>& out) {
  while (!windows_.empty() && windows_.front().opened + options_.window <= now) {
    take(windows_.front(), "window", out);
    by_key_.erase(windows_.front().key);
    windows_.pop_front();
  }
}

void ReadAggregator::flush_expired() {
  std::vector<AuditRecord> closed;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    const auto now = options_.clock();
    close_expired_locked(now, closed);
    if (options_.flush_every.count() > 0) {
      for (auto& w : windows_) {
        if (w.summary.requests > 0 && w.recorded + options_.flush_every <= now) take(w, "flush", closed);
      }
    }
  }
  record_all(recorder_, std::move(closed));
}

void ReadAggregator::flush_all() {
  std::vector<AuditRecord> closed;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    for (auto& w : windows_) take(w, "shutdown", closed);
    windows_.clear();
    by_key_.clear();
  }
  record_all(recorder_, std::move(closed));
}

std::size_t ReadAggregator::open_windows() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return windows_.size();
}

void ReadAggregator::take(Window& w, std::string_view closed_by, std::vector<AuditRecord>& out) const {
  if (w.summary.requests == 0) return;  // everything already on record
  AuditRecord r = AuditRecord::make(Action::read_slide, w.who, "slide:" + w.slide_id, w.centre, Outcome::allowed);
  const auto now = options_.clock();
  r.time = format_utc(now);
  ReadSummary summary = std::exchange(w.summary, ReadSummary{});
  summary.first = format_utc(w.first);
  summary.last = format_utc(w.last);
  summary.closed_by = std::string(closed_by);
  r.reads = std::move(summary);
  w.recorded = now;
  out.push_back(std::move(r));
}

}  // namespace mcval::audit
