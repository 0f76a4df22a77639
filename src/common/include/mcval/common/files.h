#pragma once
// Whole-file reads and writes with Result errors, and the staging names that make writes
// atomic (write beside, then rename into place).
#include <filesystem>
#include <string>

#include "mcval/common/result.h"

namespace mcval {

/// The file's bytes; not_found when it does not exist, io_error when it cannot be read.
Result<std::string> read_file(const std::filesystem::path& path);
/// Writes (truncating) and flushes the bytes to the disk (fsync); io_error on failure.
Status write_file(const std::filesystem::path& path, const std::string& content);
/// Writes into a staging file beside `path` and renames it into place: readers see the old
/// content or the new, never a part.
Status write_file_atomic(const std::filesystem::path& path, const std::string& content);

/// A name for a staging file or folder unique to this process: ".staging-<host>-<pid>-<n>-<label>".
std::string staging_name(const std::string& label);
/// Whether `name` is a staging name written by a process of this host that no longer runs.
bool is_stale_staging_name(const std::string& name);

/// An exclusive lock on a file held for the life of the object (flock(2); the kernel releases it
/// when the process ends, however it ends). Move-only.
class ProcessLock {
 public:
  /// Creates the file if needed and locks it without waiting; config_invalid naming the file
  /// when another process holds it, io_error when it cannot be opened.
  static Result<ProcessLock> acquire(const std::filesystem::path& file);
  ProcessLock(ProcessLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ProcessLock& operator=(ProcessLock&&) = delete;
  ProcessLock(const ProcessLock&) = delete;
  ~ProcessLock();

 private:
  explicit ProcessLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace mcval
