#include "mcval/audit/read_aggregator.h"

#include "mcval/common/logging.h"

namespace mcval::audit {

Result<ReadAggregatorOptions> read_aggregator_options(const Config& config) {
  if (config.audit_read_window_s < 1 || config.audit_read_window_s > 86400) {
    return Error{ErrorCode::config_invalid, "audit_read_window_s must be 1-86400"};
  }
  ReadAggregatorOptions options;
  options.window = std::chrono::seconds(config.audit_read_window_s);
  return options;
}

ReadAggregator::ReadAggregator(AuditRecorder& recorder, ReadAggregatorOptions options)
    : recorder_(recorder), options_(std::move(options)) {
  if (options_.max_open_windows == 0) options_.max_open_windows = 1;
  if (options_.max_reads_per_window == 0) options_.max_reads_per_window = 1;
  if (options_.tick.count() > 0) tick_thread_ = std::thread([this] { ticker(); });
}

ReadAggregator::~ReadAggregator() {
  if (tick_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(tick_mutex_);
      stopping_ = true;
    }
    tick_wake_.notify_all();
    tick_thread_.join();
  }
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
    while (!windows_.empty() && windows_.front().opened + options_.window <= now) {
      closed.push_back(close(windows_.front(), "window"));
      by_key_.erase(windows_.front().key);
      windows_.pop_front();
    }
    auto found = by_key_.find(key);
    if (found == by_key_.end()) {
      if (windows_.size() >= options_.max_open_windows) {
        closed.push_back(close(windows_.front(), "evicted"));
        by_key_.erase(windows_.front().key);
        windows_.pop_front();
      }
      windows_.push_back(Window{key, who, std::string(slide_id), std::string(centre), now, now, now, {}});
      found = by_key_.emplace(std::move(key), std::prev(windows_.end())).first;
    }
    Window& w = *found->second;
    switch (kind) {
      case ReadKind::tile: ++w.summary.tiles; break;
      case ReadKind::region: ++w.summary.regions; break;
      case ReadKind::thumbnail: ++w.summary.thumbnails; break;
    }
    ++w.summary.requests;
    w.summary.bytes += bytes;
    w.last = now;
    if (level >= 0 && w.summary.levels.size() < ReadSummary::kMaxLevels) w.summary.levels.insert(level);
    if (w.summary.requests >= options_.max_reads_per_window) {
      closed.push_back(close(w, "cap"));
      const auto position = found->second;
      by_key_.erase(found);
      windows_.erase(position);
    }
  }
  emit(std::move(closed));
}

void ReadAggregator::flush_expired() {
  std::vector<AuditRecord> closed;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    const auto now = options_.clock();
    while (!windows_.empty() && windows_.front().opened + options_.window <= now) {
      closed.push_back(close(windows_.front(), "window"));
      by_key_.erase(windows_.front().key);
      windows_.pop_front();
    }
  }
  emit(std::move(closed));
}

void ReadAggregator::flush_all() {
  std::vector<AuditRecord> closed;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    for (auto& w : windows_) closed.push_back(close(w, "shutdown"));
    windows_.clear();
    by_key_.clear();
  }
  emit(std::move(closed));
}

std::size_t ReadAggregator::open_windows() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return windows_.size();
}

AuditRecord ReadAggregator::close(Window& w, std::string_view closed_by) const {
  AuditRecord r = AuditRecord::make(Action::read_slide, w.who, "slide:" + w.slide_id, w.centre, Outcome::allowed);
  r.time = format_utc(options_.clock());
  ReadSummary summary = std::move(w.summary);
  summary.first = format_utc(w.first);
  summary.last = format_utc(w.last);
  summary.closed_by = std::string(closed_by);
  r.reads = std::move(summary);
  return r;
}

void ReadAggregator::emit(std::vector<AuditRecord> records) {
  for (auto& r : records) {
    auto written = recorder_.record(std::move(r));
    // invalid_argument: written with fields withheld (already reported by the log).
    if (!written.ok() && written.error().code != ErrorCode::invalid_argument) {
      log::error("audit: read_slide record not written", {{"error", written.error().to_string()}});
    }
  }
}

void ReadAggregator::ticker() {
  std::unique_lock<std::mutex> lock(tick_mutex_);
  while (!stopping_) {
    tick_wake_.wait_for(lock, options_.tick, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    flush_expired();
    lock.lock();
  }
}

}  // namespace mcval::audit
