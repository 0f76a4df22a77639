#pragma once
// AuditLog: the append-only, hash-chained audit log file (docs/audit.md).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "mcval/audit/checkpoint.h"
#include "mcval/audit/record.h"
#include "mcval/common/config.h"
#include "mcval/common/result.h"

namespace mcval::audit {

/// Where audit records go. AuditLog is the implementation; tests and the read aggregator's
/// users may substitute their own.
class AuditRecorder {
 public:
  virtual ~AuditRecorder() = default;
  /// Writes one record. Thread-safe in every implementation.
  virtual Status record(AuditRecord record) = 0;
};

/// Writes `records` in order; a failure (other than invalid_argument: written with fields
/// withheld, already reported) is logged as an error, not returned: for background writers.
void record_all(AuditRecorder& recorder, std::vector<AuditRecord> records);

/// Receives each record as written (the JSON object of its line), in log order, for shipping.
using AuditMirror = std::function<void(const nlohmann::json& record)>;

/// A mirror into mcval's log (mcval::log, stdout for `serve`): one event at level info,
/// {"ts":..., "level":"info", "msg":"audit", "audit":true, "record":{...the line's object...}}.
AuditMirror log_mirror();

using SystemClock = std::function<std::chrono::system_clock::time_point()>;

struct AuditLogOptions {
  std::filesystem::path path;
  /// 0: each record() returns after its line is on disk (fdatasync, grouped across threads).
  /// Otherwise a background thread syncs at most this long after a record is written.
  std::chrono::milliseconds fsync_interval{200};
  std::string version;   ///< written into records that do not carry one
  AuditMirror mirror;    ///< empty: none
  SystemClock clock = [] { return std::chrono::system_clock::now(); };
};

/// The audit log file of `config`: config.audit_log, or <data>/audit/audit.log when empty.
std::filesystem::path audit_log_path(const Config& config);
/// Whether records are mirrored into mcval's log: config.audit_stdout true or false, or auto:
/// only with JSON logs (a log shipper reads them; a person reading text logs does not want them).
/// config_invalid for another value.
Result<bool> audit_mirrored_to_log(const Config& config);
/// The options for `config` (path, fsync interval, stdout mirror); config_invalid when a value
/// is out of range.
Result<AuditLogOptions> audit_log_options(const Config& config, std::string version);

/// Appends records to one log file as canonical JSON lines chained by SHA-256.
///
/// Thread-safe: record() may be called from any number of threads. Several processes may write
/// the same file: each append holds an exclusive flock(2) and continues from the file's real
/// last record. Each record is one write(2) of a whole line on an O_APPEND descriptor; a short
/// write is cut back off the file. The log refuses to open a file whose last record is not a
/// complete, chained record (audit_tampered): it never starts a second chain in a damaged file.
class AuditLog final : public AuditRecorder {
 public:
  /// Opens or creates the log (and its folder). A new or empty file gets a fresh random log id.
  static Result<std::unique_ptr<AuditLog>> open(AuditLogOptions options);

  /// Syncs what is written and stops the background flusher.
  ~AuditLog() override;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  /// Validates, chains and appends one record, then mirrors it. A record with fields that fail
  /// validation (token-like, invalid UTF-8, too long) is written with those fields withheld
  /// (placeholders) and invalid_argument is returned naming the fields; the event stays
  /// audited and the value never reaches the file. audit_tampered, or io_error from the write:
  /// nothing written. With fsync per record, io_error from the sync: written, maybe not on disk
  /// (the log then refuses further records).
  Status record(AuditRecord record) override;

  /// fdatasync now.
  Status sync();

  /// The last record written or found (log id, seq, hash, time now); seq 0 before the first.
  Checkpoint checkpoint() const;
  std::string log_id() const;
  const std::filesystem::path& path() const noexcept { return options_.path; }

 private:
  explicit AuditLog(AuditLogOptions options);
  Status resync_locked(std::int64_t file_size);
  Status sync_to(std::int64_t end);
  void flusher();

  AuditLogOptions options_;
  int fd_ = -1;

  mutable std::mutex mutex_;           // chain state and the file's end
  std::string log_id_;
  std::uint64_t seq_ = 0;
  std::string last_hash_;
  std::int64_t size_ = 0;              // end of the last line this process wrote or read
  std::optional<Error> failed_;        // set after an unrecoverable write or sync failure

  std::mutex sync_mutex_;
  std::atomic<std::int64_t> written_{0};
  std::int64_t synced_ = 0;            // under sync_mutex_

  std::mutex flusher_mutex_;
  std::condition_variable flusher_wake_;
  bool stopping_ = false;
  std::thread flusher_thread_;
};

}  // namespace mcval::audit
