#pragma once
// SlidePool: a bounded set of open slide handles, keyed by file identity, least recently
// used closed first. Thread-safe.
#include <cstdint>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "mcval/slide/slide_reader.h"

namespace mcval::slide {

/// Identity of a slide file as last seen: a changed size or mtime means a different file.
struct SlideFileKey {
  std::filesystem::path path;
  std::int64_t file_bytes = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const SlideFileKey&) const = default;
};

/// The file's identity now (one stat): slide_gone if it does not exist, io_error if it
/// cannot be examined or is not a regular file.
Result<SlideFileKey> stat_slide_file(const std::filesystem::path& path);

class SlidePool {
 public:
  /// `source` must outlive the pool. `max_open` >= 1.
  SlidePool(const SlideSource& source, std::size_t max_open);

  /// An open reader for the file; opens it (and possibly closes the least recently used
  /// one) if needed. A reader stays valid while the caller holds it, even if evicted.
  /// Fails with slide_gone when the file no longer exists, slide_unreadable when it cannot
  /// be opened, and reopens when size or mtime changed since it was opened.
  /// Every call stats `key.path`; the file as found on disk decides (`key.file_bytes` and
  /// `key.mtime_ns` need not be filled in). A reader whose handle failed is reopened too.
  Result<std::shared_ptr<const SlideReader>> acquire(const SlideFileKey& key);

  std::size_t open_count() const;
  std::size_t capacity() const { return max_open_; }

 private:
  struct Entry {
    SlideFileKey key;
    std::shared_ptr<const SlideReader> reader;
  };
  /// With mutex_ held: the open reader for `path_key` if it matches `current` and has not
  /// failed (marked most recently used); otherwise drops any stale entry and returns null.
  std::shared_ptr<const SlideReader> take_current_locked(const std::string& path_key, const SlideFileKey& current);

  const SlideSource& source_;
  const std::size_t max_open_;
  mutable std::mutex mutex_;
  std::list<Entry> lru_;  // front: most recently used
  std::unordered_map<std::string, std::list<Entry>::iterator> by_path_;
};

}  // namespace mcval::slide
