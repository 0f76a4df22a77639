#pragma once
// RefusalAggregator: one client without a valid token can send thousands of requests a second,
// each refused and each audited; written one by one they filled the disk (~100 MB of audit log
// in 15 s). Repeated refusals of one kind from one address are counted instead, as reads are.
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "mcval/audit/audit_log.h"
#include "mcval/audit/record.h"
#include "mcval/audit/ticker.h"

namespace mcval::audit {

struct RefusalAggregatorOptions {
  /// A window opens with a refusal and closes this long after; 0: no aggregation (every
  /// refusal is passed on).
  std::chrono::seconds window{60};
  /// Most windows open at once; opening one more closes the oldest first.
  std::size_t max_open_windows = 10000;
  /// How often a background thread closes expired windows; 0: no thread (call flush_expired()).
  std::chrono::milliseconds tick{1000};
  SystemClock clock = [] { return std::chrono::system_clock::now(); };
};

/// Options for `config` (the window length); config_invalid when out of range.
Result<RefusalAggregatorOptions> refusal_aggregator_options(const Config& config);

/// An AuditRecorder in front of another that aggregates refusals of anonymous requests:
/// token_rejected records, and denied records with reason token_missing. The first refusal of
/// a (source address, action, reason, outcome) in a window is passed on at once, as it is; the
/// repeats are counted and written as one record of the same kind with `repeats` {count, first,
/// last} when the window closes (request_id: the first repeat's). Every other record is passed
/// on unchanged.
///
/// Thread-safe. Memory is bounded by max_open_windows. `next` must outlive this object; the
/// destructor writes the counts of every open window.
class RefusalAggregator final : public AuditRecorder {
 public:
  RefusalAggregator(AuditRecorder& next, RefusalAggregatorOptions options = {});
  ~RefusalAggregator() override;
  RefusalAggregator(const RefusalAggregator&) = delete;
  RefusalAggregator& operator=(const RefusalAggregator&) = delete;

  Status record(AuditRecord record) override;

  /// Writes the counts of the windows whose time is up (also done on every refusal and by the
  /// tick thread).
  void flush_expired();
  /// Writes the counts of every open window and closes them, e.g. at shutdown.
  void flush_all();
  /// Windows open now.
  std::size_t open_windows() const;

  /// Whether `record` is a refusal that this aggregator counts.
  static bool aggregated(const AuditRecord& record) noexcept;

 private:
  struct Window {
    std::string key;
    AuditRecord first_repeat;  // the record of the first repeat (its request id and fields)
    std::chrono::system_clock::time_point opened;
    RepeatSummary repeats;     // count 0: no repeat yet
  };
  using WindowList = std::list<Window>;  // in opening order, hence in closing order

  void close_front_locked(std::vector<AuditRecord>& out);

  AuditRecorder& next_;
  RefusalAggregatorOptions options_;

  mutable std::mutex mutex_;
  WindowList windows_;
  std::unordered_map<std::string, WindowList::iterator> by_key_;

  std::unique_ptr<Ticker> ticker_;  // last: stopped first
};

}  // namespace mcval::audit
