#include "mcval/common/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

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
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Error{ErrorCode::not_found, "no such file: " + path.string()};
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::io_error, "cannot open " + path.string()};
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return Error{ErrorCode::io_error, "cannot read " + path.string()};
  return bytes.str();
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
  MCVAL_TRY(write_file(staging, content));
  std::error_code ec;
  std::filesystem::rename(staging, path, ec);
  if (ec) {
    std::filesystem::remove(staging, ec);
    return Error{ErrorCode::io_error, "cannot move " + path.filename().string() + " into place in " +
                                          path.parent_path().string()};
  }
  return {};
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
