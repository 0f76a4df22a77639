#pragma once
// Whole-file reads and writes with Result errors, and the staging names that make writes
// atomic (write beside, then rename into place).
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "mcval/common/result.h"

namespace mcval {

/// The file's bytes; not_found when it does not exist, io_error when it cannot be read.
Result<std::string> read_file(const std::filesystem::path& path);
/// Writes (truncating) and flushes the bytes to the disk (fsync); io_error on failure.
Status write_file(const std::filesystem::path& path, const std::string& content);
/// Writes into a staging file beside `path` and renames it into place: readers see the old
/// content or the new, never a part.
Status write_file_atomic(const std::filesystem::path& path, const std::string& content);

/// Writes a set of files into `folder` (created if missing) together or not at all: each into a
/// staging folder inside it first, so that a failed write (a full disk) changes nothing there and
/// leaves nothing behind; then each moved into place, an earlier file of the same name moved
/// aside first and put back if a later move fails. Files named in `stale` that exist (an earlier
/// run's files that this one does not write) are removed with the publication. Staging left in
/// `folder` by killed processes of this host is removed first. Not safe against another writer of
/// the same folder at once; a crash during the moves (microseconds) can leave a mix.
Status write_files_together(const std::filesystem::path& folder,
                            const std::vector<std::pair<std::string, std::string>>& files,
                            const std::vector<std::string>& stale = {});

/// Puts the folder `staging` in the place of `target` (a sibling): an existing `target` is moved
/// aside first and put back if the move fails, then removed. A reader sees the old folder, none
/// for an instant, or the new one. On failure `staging` is removed.
Status replace_folder(const std::filesystem::path& staging, const std::filesystem::path& target);

/// Removes staging files and folders of processes of this host that no longer run, in `folder`.
void remove_stale_staging(const std::filesystem::path& folder);

/// An exclusive lock (flock) on a file, created if missing, held until the object is destroyed;
/// acquire() waits for other holders, in this process or another. On NFS, Linux maps flock to a
/// byte-range lock that the server arbitrates between clients.
class FileLock {
 public:
  static Result<FileLock> acquire(const std::filesystem::path& file);
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

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
