#include "mcval/common/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cerrno>
#include <cstring>
#include <utility>

#include "mcval/common/strings.h"

namespace mcval {
namespace {

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "host";
  std::string host(name);
  for (char& c : host) {
    if (c == '-' || c == '/' || c == '.') c = '_';
  }
  return host.empty() ? "host" : host;
}

const std::string& this_host() {
  static const std::string host = host_name();
  return host;
}

constexpr std::string_view kStagingPrefix = ".staging-";

}  // namespace

Result<std::string> read_file(const std::filesystem::path& path) {
  // Opened first, not checked first: a file replaced meanwhile (a result folder swapped by another
  // writer) is then either read whole or not found, never an error.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Error{ErrorCode::not_found, "no such file: " + path.string()};
    return Error{ErrorCode::io_error, "cannot open " + path.string() + ": " + std::strerror(errno)};
  }
  std::string bytes;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return Error{ErrorCode::io_error, "cannot read " + path.string() + ": " + why};
    }
    if (n == 0) break;
    bytes.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return bytes;
}

Status write_file(const std::filesystem::path& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Error{ErrorCode::io_error, "cannot create " + path.string() + ": " + std::strerror(errno)};
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      return Error{ErrorCode::io_error, "cannot write " + path.string() + ": " + why};
    }
    written += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed) return Error{ErrorCode::io_error, "cannot flush " + path.string()};
  return {};
}

Status write_file_atomic(const std::filesystem::path& path, const std::string& content) {
  const auto staging = path.parent_path() / staging_name(path.filename().string());
  std::error_code ec;
  if (auto written = write_file(staging, content); !written.ok()) {
    std::filesystem::remove(staging, ec);  // a full disk leaves no hidden part behind
    return written;
  }
  std::filesystem::rename(staging, path, ec);
  if (ec) {
    std::filesystem::remove(staging, ec);
    return Error{ErrorCode::io_error, "cannot move " + path.filename().string() + " into place in " +
                                          path.parent_path().string()};
  }
  return {};
}

Status write_files_together(const std::filesystem::path& folder,
                            const std::vector<std::pair<std::string, std::string>>& files,
                            const std::vector<std::string>& stale) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) return Error{ErrorCode::io_error, "cannot create " + folder.string() + ": " + ec.message()};
  remove_stale_staging(folder);
  const fs::path staging = folder / staging_name("files");
  fs::create_directory(staging, ec);
  if (ec) return Error{ErrorCode::io_error, "cannot create " + staging.string() + ": " + ec.message()};
  const fs::path earlier = staging / "earlier";  // what the new files replace, until they are in place
  auto abandon = [&staging](Error error) {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    return error;
  };
  fs::create_directory(earlier, ec);
  if (ec) return abandon(Error{ErrorCode::io_error, "cannot create " + earlier.string() + ": " + ec.message()});
  for (const auto& [name, content] : files) {
    if (auto written = write_file(staging / name, content); !written.ok()) return abandon(written.error());
  }
  // Publish: each step is undone, last first, if a later one fails.
  std::vector<std::pair<fs::path, fs::path>> done;  // (from, to) renames made
  auto move = [&done, &ec](const fs::path& from, const fs::path& to) {
    fs::rename(from, to, ec);
    if (!ec) done.emplace_back(from, to);
    return !ec;
  };
  auto publish = [&]() -> Status {
    for (const auto& name : stale) {
      if (fs::exists(folder / name, ec) && !move(folder / name, earlier / name)) {
        return Error{ErrorCode::io_error, "cannot remove " + (folder / name).string() + ": " + ec.message()};
      }
    }
    for (const auto& [name, content] : files) {
      if (fs::exists(folder / name, ec) && !move(folder / name, earlier / name)) {
        return Error{ErrorCode::io_error, "cannot replace " + (folder / name).string() + ": " + ec.message()};
      }
      if (!move(staging / name, folder / name)) {
        return Error{ErrorCode::io_error,
                     "cannot move " + name + " into place in " + folder.string() + ": " + ec.message()};
      }
    }
    return {};
  };
  if (auto published = publish(); !published.ok()) {
    std::error_code ignored;
    for (auto it = done.rbegin(); it != done.rend(); ++it) fs::rename(it->second, it->first, ignored);
    return abandon(published.error());
  }
  fs::remove_all(staging, ec);
  return {};
}

Status replace_folder(const std::filesystem::path& staging, const std::filesystem::path& target) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path aside = target.parent_path() / staging_name(target.filename().string() + "-old");
  fs::rename(target, aside, ec);
  const bool moved_aside = !ec;
  if (ec && ec != std::errc::no_such_file_or_directory) {
    const std::string why = ec.message();
    fs::remove_all(staging, ec);
    return Error{ErrorCode::io_error, "cannot move " + target.string() + " aside: " + why};
  }
  fs::rename(staging, target, ec);
  if (ec) {
    const std::string why = ec.message();
    std::error_code ignored;
    if (moved_aside) fs::rename(aside, target, ignored);  // the earlier folder stays
    fs::remove_all(staging, ignored);
    return Error{ErrorCode::io_error,
                 "cannot move " + staging.filename().string() + " into place as " + target.string() + ": " + why};
  }
  fs::remove_all(aside, ec);
  return {};
}

void remove_stale_staging(const std::filesystem::path& folder) {
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(folder, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    std::error_code ignored;
    if (is_stale_staging_name(it->path().filename().string())) std::filesystem::remove_all(it->path(), ignored);
  }
}

Result<FileLock> FileLock::acquire(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Error{ErrorCode::io_error, "cannot open " + file.string() + ": " + std::strerror(errno)};
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const std::string why = std::strerror(errno);
    ::close(fd);
    return Error{ErrorCode::io_error, "cannot lock " + file.string() + ": " + why};
  }
  return FileLock(fd);
}

FileLock::FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

std::string staging_name(const std::string& label) {
  static std::atomic<unsigned> counter{0};
  return std::string(kStagingPrefix) + this_host() + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter++) + "-" + label;
}

bool is_stale_staging_name(const std::string& name) {
  if (!starts_with(name, kStagingPrefix)) return false;
  const auto parts = split(std::string_view(name).substr(kStagingPrefix.size()), '-');
  if (parts.size() < 3 || parts[0] != this_host()) return false;
  long pid = 0;
  const auto [end, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), pid);
  if (ec != std::errc() || end != parts[1].data() + parts[1].size() || pid <= 0 || pid == ::getpid()) return false;
  return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

Result<ProcessLock> ProcessLock::acquire(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Error{ErrorCode::io_error, "cannot open " + file.string() + ": " + std::strerror(errno)};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return Error{ErrorCode::config_invalid,
                   "another mcval server already uses this SQLite catalogue (" + file.string() +
                       " is locked): SQLite serves one server process; run several replicas on PostgreSQL "
                       "(--database postgresql://..., docs/deployment.md)"};
    }
    return Error{ErrorCode::io_error, "cannot lock " + file.string() + ": " + std::strerror(error)};
  }
  return ProcessLock(fd);
}

ProcessLock::~ProcessLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace mcval
