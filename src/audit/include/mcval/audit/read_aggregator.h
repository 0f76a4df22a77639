#pragma once
// ReadAggregator: tile, region and thumbnail reads are far too many to audit one by one; they
// are counted per (actor, role, slide, source) in a window. The window's first read is recorded
// at once, the reads after it every few seconds and when the window closes, so that a process
// killed at any moment loses at most the last seconds of counts and no slide read goes unrecorded.
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mcval/audit/audit_log.h"
#include "mcval/audit/record.h"
#include "mcval/audit/ticker.h"

namespace mcval::audit {

struct ReadAggregatorOptions {
  /// A window opens with its first read and closes this long after.
  std::chrono::seconds window{300};
  /// Most windows open at once; opening one more closes the oldest first ("evicted").
  std::size_t max_open_windows = 10000;
  /// A window with this many reads is closed at once ("cap"); the next read opens a new one.
  std::uint64_t max_reads_per_window = 100000;
  /// Reads not yet in a record are written at most this long after the window's previous
  /// record ("flush"); 0: only when the window closes. This bounds what a kill -9 loses.
  std::chrono::seconds flush_every{5};
  /// How often a background thread closes expired windows and flushes counts; 0: no thread
  /// (call flush_expired()).
  std::chrono::milliseconds tick{1000};
  SystemClock clock = [] { return std::chrono::system_clock::now(); };
};

/// Options for `config` (the window length, the flush interval); config_invalid when out of range.
Result<ReadAggregatorOptions> read_aggregator_options(const Config& config);

enum class ReadKind { tile, region, thumbnail };

/// Counts reads and hands read_slide records to a recorder: one for a window's first read when
/// the window opens ("opened"), then one for the reads since the window's previous record every
/// flush_every ("flush") and when the window closes; every read is counted in exactly one record.
///
/// Thread-safe: the read calls may come from any number of threads. Memory is bounded by
/// max_open_windows. Records are written outside the aggregator's lock. The recorder must
/// outlive the aggregator; the destructor closes every open window ("shutdown").
class ReadAggregator {
 public:
  ReadAggregator(AuditRecorder& recorder, ReadAggregatorOptions options = {});
  ~ReadAggregator();
  ReadAggregator(const ReadAggregator&) = delete;
  ReadAggregator& operator=(const ReadAggregator&) = delete;

  /// One successful read of `bytes` encoded bytes of `slide_id` (of `centre`) at pyramid
  /// `level` (-1: none or unknown).
  void read(const Requester& who, ReadKind kind, std::string_view slide_id, std::string_view centre, int level,
            std::uint64_t bytes);
  void tile_read(const Requester& who, std::string_view slide_id, std::string_view centre, int level,
                 std::uint64_t bytes) {
    read(who, ReadKind::tile, slide_id, centre, level, bytes);
  }
  void region_read(const Requester& who, std::string_view slide_id, std::string_view centre, int level,
                   std::uint64_t bytes) {
    read(who, ReadKind::region, slide_id, centre, level, bytes);
  }
  void thumbnail_read(const Requester& who, std::string_view slide_id, std::string_view centre,
                      std::uint64_t bytes) {
    read(who, ReadKind::thumbnail, slide_id, centre, -1, bytes);
  }

  /// Closes the windows whose time is up and writes the counts due (flush_every); also done on
  /// every read (expired windows only) and by the tick thread.
  void flush_expired();
  /// Closes every open window, e.g. at shutdown ("shutdown").
  void flush_all();
  /// Windows open now.
  std::size_t open_windows() const;

 private:
  struct Window {
    std::string key;
    Requester who;
    std::string slide_id;
    std::string centre;
    std::chrono::system_clock::time_point opened;
    std::chrono::system_clock::time_point recorded;  // when the window's previous record was written
    std::chrono::system_clock::time_point first;     // of the reads in `summary`
    std::chrono::system_clock::time_point last;
    std::uint64_t requests = 0;                      // in the whole window (the cap)
    ReadSummary summary;                             // reads not yet in a record
  };
  using WindowList = std::list<Window>;  // in opening order, hence in closing order

  /// Moves the window's pending reads into a record; nothing when there are none.
  void take(Window& window, std::string_view closed_by, std::vector<AuditRecord>& out) const;
  void close_expired_locked(std::chrono::system_clock::time_point now, std::vector<AuditRecord>& out);

  AuditRecorder& recorder_;
  ReadAggregatorOptions options_;

  mutable std::mutex mutex_;
  WindowList windows_;
  std::unordered_map<std::string, WindowList::iterator> by_key_;

  std::unique_ptr<Ticker> ticker_;  // last: stopped first
};

}  // namespace mcval::audit
