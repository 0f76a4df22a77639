#include "mcval/audit/audit_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "line_check.h"
#include "mcval/audit/chain.h"
#include "mcval/common/logging.h"
#include "mcval/common/strings.h"

namespace mcval::audit {

namespace {

std::string errno_text() { return std::strerror(errno); }

Result<std::string> random_log_id() {
  unsigned char bytes[16];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error{ErrorCode::io_error, "cannot get random bytes for the audit log id: " + errno_text()};
    got += static_cast<std::size_t>(n);
  }
  return to_hex(bytes, sizeof bytes);
}

// Holds flock(LOCK_EX) on the log for one append (or the tail check), across processes.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        error_ = errno_text();
        return;
      }
    }
    locked_ = true;
  }
  ~FileLock() {
    if (locked_) ::flock(fd_, LOCK_UN);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool locked() const noexcept { return locked_; }
  const std::string& error() const noexcept { return error_; }

 private:
  int fd_;
  bool locked_ = false;
  std::string error_;
};

Result<std::int64_t> file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Error{ErrorCode::io_error, "cannot stat the audit log: " + errno_text()};
  return static_cast<std::int64_t>(st.st_size);
}

struct Tail {
  std::string log_id;
  std::uint64_t seq = 0;
  std::string hash;
};

Error damaged(const std::filesystem::path& path, const std::string& what) {
  return Error{ErrorCode::audit_tampered,
               "the audit log " + path.string() + " is damaged at its end (" + what +
                   "); mcval does not continue a damaged log: run `mcval audit verify --log " + path.string() +
                   "`, keep the file as evidence and move it aside to start a new log"};
}

// Where the line that ends with the '\n' at `end` begins in `bytes`.
std::size_t line_begin(const std::string& bytes, std::size_t end) {
  if (end == 0) return 0;
  const auto newline = bytes.rfind('\n', end - 1);
  return newline == std::string::npos ? 0 : newline + 1;
}

// The last record of a non-empty log, checked on its own and against the record before it.
Result<Tail> read_tail(int fd, std::int64_t size, const std::filesystem::path& path) {
  std::int64_t want = std::min<std::int64_t>(size, 64 * 1024);
  std::string bytes;
  for (;;) {  // read backwards until the buffer holds two whole lines, or the whole file
    bytes.resize(static_cast<std::size_t>(want));
    std::int64_t done = 0;
    while (done < want) {
      const ssize_t n = ::pread(fd, bytes.data() + done, static_cast<std::size_t>(want - done), size - want + done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Error{ErrorCode::io_error, "cannot read the audit log " + path.string() + ": " + errno_text()};
      done += n;
    }
    if (bytes.back() != '\n') return damaged(path, "the last line has no newline");
    if (want == size || std::count(bytes.begin(), bytes.end(), '\n') >= 3) break;
    want = std::min<std::int64_t>(size, want * 4);
  }
  const std::size_t last_end = bytes.size() - 1;
  const std::size_t last_begin = line_begin(bytes, last_end);
  const auto last = detail::check_line(std::string_view(bytes).substr(last_begin, last_end - last_begin));
  if (last.fault != detail::LineFault::none) return damaged(path, "last record: " + last.detail);
  const Tail tail{last.log, last.seq, last.hash};
  if (last_begin == 0) {  // the only line of the file
    if (last.seq != 1 || last.prev != genesis_hash(last.log)) return damaged(path, "the only record does not start a chain");
    return tail;
  }
  const std::size_t before_end = last_begin - 1;
  const std::size_t before_begin = line_begin(bytes, before_end);
  const auto before = detail::check_line(std::string_view(bytes).substr(before_begin, before_end - before_begin));
  if (before.fault != detail::LineFault::none) return damaged(path, "record before the last: " + before.detail);
  if (before.log != last.log || before.seq + 1 != last.seq || last.prev != before.hash) {
    return damaged(path, "the last record does not chain to the one before it");
  }
  return tail;
}

Status sync_directory(const std::filesystem::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error{ErrorCode::io_error, "cannot open " + folder.string() + ": " + errno_text()};
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Error{ErrorCode::io_error, "cannot sync " + folder.string()};
  return {};
}

}  // namespace

void record_all(AuditRecorder& recorder, std::vector<AuditRecord> records) {
  for (auto& r : records) {
    const auto action = r.action;
    auto written = recorder.record(std::move(r));
    if (!written.ok() && written.error().code != ErrorCode::invalid_argument) {
      log::error("audit record not written",
                 {{"action", action_name(action)}, {"error", written.error().to_string()}});
    }
  }
}

AuditMirror log_mirror() {
  return [](const nlohmann::json& record) {
    log::event(log::Level::info, "audit", {{"audit", true}, {"record", record}});
  };
}

std::filesystem::path audit_log_path(const Config& config) {
  if (!config.audit_log.empty()) return config.audit_log;
  return std::filesystem::path(config.data) / "audit" / "audit.log";
}

Result<bool> audit_mirrored_to_log(const Config& config) {
  const std::string mode = to_lower(config.audit_stdout);
  if (mode == "auto") return config.log_format == "json";
  if (mode == "true" || mode == "1" || mode == "yes" || mode == "on") return true;
  if (mode == "false" || mode == "0" || mode == "no" || mode == "off") return false;
  return Error{ErrorCode::config_invalid, "audit_stdout must be auto, true or false"};
}

Result<AuditLogOptions> audit_log_options(const Config& config, std::string version) {
  if (config.audit_fsync_ms < 0 || config.audit_fsync_ms > 60000) {
    return Error{ErrorCode::config_invalid, "audit_fsync_ms must be 0-60000"};
  }
  AuditLogOptions options;
  options.path = audit_log_path(config);
  options.fsync_interval = std::chrono::milliseconds(config.audit_fsync_ms);
  options.version = std::move(version);
  MCVAL_TRY_ASSIGN(mirror, audit_mirrored_to_log(config));
  if (mirror) options.mirror = log_mirror();
  return options;
}

AuditLog::AuditLog(AuditLogOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<AuditLog>> AuditLog::open(AuditLogOptions options) {
  if (options.path.empty()) return Error{ErrorCode::config_invalid, "no audit log path"};
  std::error_code ec;
  const auto folder = options.path.has_parent_path() ? options.path.parent_path() : std::filesystem::path(".");
  std::filesystem::create_directories(folder, ec);
  if (ec) return Error{ErrorCode::io_error, "cannot create " + folder.string() + ": " + ec.message()};
  const bool existed = std::filesystem::exists(options.path, ec);

  std::unique_ptr<AuditLog> log(new AuditLog(std::move(options)));
  const auto& path = log->options_.path;
  log->fd_ = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (log->fd_ < 0) return Error{ErrorCode::io_error, "cannot open the audit log " + path.string() + ": " + errno_text()};
  if (!existed) MCVAL_TRY(sync_directory(folder));
  {
    FileLock lock(log->fd_);
    if (!lock.locked()) return Error{ErrorCode::io_error, "cannot lock the audit log " + path.string() + ": " + lock.error()};
    MCVAL_TRY_ASSIGN(size, file_size(log->fd_));
    if (size == 0) {
      MCVAL_TRY_ASSIGN(id, random_log_id());
      log->log_id_ = std::move(id);
    } else {
      MCVAL_TRY_ASSIGN(tail, read_tail(log->fd_, size, path));
      log->log_id_ = tail.log_id;
      log->seq_ = tail.seq;
      log->last_hash_ = tail.hash;
    }
    log->size_ = size;
    log->written_ = size;
    log->synced_ = size;
  }
  if (log->options_.fsync_interval.count() > 0) log->flusher_thread_ = std::thread([raw = log.get()] { raw->flusher(); });
  return log;
}

AuditLog::~AuditLog() {
  if (flusher_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(flusher_mutex_);
      stopping_ = true;
    }
    flusher_wake_.notify_all();
    flusher_thread_.join();
  }
  if (fd_ >= 0) {
    if (auto synced = sync_to(written_.load()); !synced.ok()) {
      log::error("audit log: final sync failed", {{"path", options_.path.string()}, {"error", synced.error().to_string()}});
    }
    ::close(fd_);
  }
}

Status AuditLog::resync_locked(std::int64_t file_size) {
  if (file_size < size_) {
    failed_ = Error{ErrorCode::audit_tampered, "the audit log " + options_.path.string() + " shrank from " +
                                                   std::to_string(size_) + " to " + std::to_string(file_size) +
                                                   " bytes while mcval was writing it"};
    return *failed_;
  }
  auto tail = read_tail(fd_, file_size, options_.path);
  if (!tail.ok()) {
    failed_ = tail.error();
    return *failed_;
  }
  if (seq_ != 0 && tail->log_id != log_id_) {
    failed_ = Error{ErrorCode::audit_tampered, "the audit log " + options_.path.string() +
                                                   " was replaced by another log while mcval was writing it"};
    return *failed_;
  }
  log_id_ = tail->log_id;
  seq_ = tail->seq;
  last_hash_ = tail->hash;
  size_ = file_size;
  return {};
}

Status AuditLog::record(AuditRecord record) {
  std::vector<std::string> withheld;
  if (!record.validate().ok()) record = record.sanitized(&withheld);
  if (record.time.empty()) record.time = format_utc(options_.clock());
  if (record.version.empty()) record.version = options_.version;

  std::int64_t end = 0;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (failed_) return *failed_;
    FileLock lock(fd_);
    if (!lock.locked()) return Error{ErrorCode::io_error, "cannot lock the audit log: " + lock.error()};
    MCVAL_TRY_ASSIGN(size, file_size(fd_));
    if (size != size_) MCVAL_TRY(resync_locked(size));

    const auto chained = chain_record(record, log_id_, seq_ + 1, seq_ == 0 ? genesis_hash(log_id_) : last_hash_);
    // One write(2) of the whole line on an O_APPEND descriptor; a short write (disk full) is
    // completed while the lock is held, or cut off again so no partial line stays behind.
    std::size_t done = 0;
    while (done < chained.line.size()) {
      const ssize_t n = ::write(fd_, chained.line.data() + done, chained.line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const std::string why = n < 0 ? errno_text() : "nothing written";
        if (done > 0 && ::ftruncate(fd_, size) != 0) {
          failed_ = Error{ErrorCode::io_error, "the audit log " + options_.path.string() +
                                                   " ends with a partial line after a failed write: " + why};
          return *failed_;
        }
        return Error{ErrorCode::io_error, "cannot write the audit log " + options_.path.string() + ": " + why};
      }
      done += static_cast<std::size_t>(n);
    }
    size_ = size + static_cast<std::int64_t>(chained.line.size());
    written_ = size_;
    seq_ += 1;
    last_hash_ = chained.hash;
    end = size_;
    if (options_.mirror) options_.mirror(chained.object);
  }

  if (options_.fsync_interval.count() == 0) MCVAL_TRY(sync_to(end));
  if (!withheld.empty()) {
    std::string fields;
    for (const auto& f : withheld) fields += (fields.empty() ? "" : ", ") + f;
    log::warn("audit record written with fields withheld", {{"action", action_name(record.action)}, {"fields", fields}});
    return Error{ErrorCode::invalid_argument, "audit record written with fields withheld: " + fields};
  }
  return {};
}

Status AuditLog::sync() { return sync_to(written_.load()); }

Status AuditLog::sync_to(std::int64_t end) {
  std::lock_guard<std::mutex> guard(sync_mutex_);
  if (synced_ >= end) return {};  // another thread's fdatasync covered this record
  const std::int64_t target = written_.load();
  if (::fdatasync(fd_) != 0) {
    Error error{ErrorCode::io_error, "cannot sync the audit log " + options_.path.string() + ": " + errno_text()};
    std::lock_guard<std::mutex> state(mutex_);
    failed_ = error;
    return error;
  }
  synced_ = target;
  return {};
}

void AuditLog::flusher() {
  bool reported = false;  // a failing disk is reported once, not every interval
  std::unique_lock<std::mutex> lock(flusher_mutex_);
  while (!stopping_) {
    flusher_wake_.wait_for(lock, options_.fsync_interval, [this] { return stopping_; });
    lock.unlock();
    if (auto synced = sync_to(written_.load()); !synced.ok() && !reported) {
      log::error("audit log: sync failed", {{"path", options_.path.string()}, {"error", synced.error().to_string()}});
      reported = true;
    }
    lock.lock();
  }
}

Checkpoint AuditLog::checkpoint() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return Checkpoint{log_id_, seq_, last_hash_, format_utc(options_.clock())};
}

std::string AuditLog::log_id() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return log_id_;
}

}  // namespace mcval::audit
