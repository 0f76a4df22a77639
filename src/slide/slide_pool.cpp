#include "mcval/slide/slide_pool.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace mcval::slide {

Result<SlideFileKey> stat_slide_file(const std::filesystem::path& path) {
  struct ::stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return Error{ErrorCode::slide_gone, "the slide file no longer exists"};
    }
    return Error{ErrorCode::io_error, path.string() + ": " + std::strerror(err)};
  }
  if (!S_ISREG(st.st_mode)) return Error{ErrorCode::io_error, path.string() + ": not a regular file"};
  SlideFileKey key;
  key.path = path;
  key.file_bytes = static_cast<std::int64_t>(st.st_size);
  key.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return key;
}

SlidePool::SlidePool(const SlideSource& source, std::size_t max_open)
    : source_(source), max_open_(max_open < 1 ? 1 : max_open) {}

std::shared_ptr<const SlideReader> SlidePool::take_current_locked(const std::string& path_key,
                                                                 const SlideFileKey& current) {
  const auto it = by_path_.find(path_key);
  if (it == by_path_.end()) return nullptr;
  if (it->second->key == current && !it->second->reader->failed()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->reader;
  }
  lru_.erase(it->second);  // stale: the file changed on disk or its handle failed
  by_path_.erase(it);
  return nullptr;
}

Result<std::shared_ptr<const SlideReader>> SlidePool::acquire(const SlideFileKey& key) {
  const std::string path_key = key.path.string();
  auto current_result = stat_slide_file(key.path);
  if (!current_result.ok()) {
    if (current_result.error().code == ErrorCode::slide_gone) {
      std::lock_guard lock(mutex_);
      if (auto it = by_path_.find(path_key); it != by_path_.end()) {
        lru_.erase(it->second);
        by_path_.erase(it);
      }
    }
    return std::move(current_result).error();
  }
  const SlideFileKey current = std::move(current_result).value();

  {
    std::lock_guard lock(mutex_);
    if (auto reader = take_current_locked(path_key, current)) return reader;
  }

  // Opening can take long; other slides stay available meanwhile. Two callers racing on
  // the same file may both open it; the first one stored wins and the other is dropped.
  MCVAL_TRY_ASSIGN(reader, source_.open(key.path));

  std::lock_guard lock(mutex_);
  if (auto stored = take_current_locked(path_key, current)) return stored;
  lru_.push_front(Entry{current, reader});
  by_path_[path_key] = lru_.begin();
  while (lru_.size() > max_open_) {
    by_path_.erase(lru_.back().key.path.string());
    lru_.pop_back();
  }
  return reader;
}

std::size_t SlidePool::open_count() const {
  std::lock_guard lock(mutex_);
  return lru_.size();
}

}  // namespace mcval::slide
