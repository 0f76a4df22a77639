#include "mcval/catalog/catalog_scanner.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <stop_token>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "mcval/common/clock.h"
#include "mcval/common/logging.h"
#include "mcval/common/sha256.h"
#include "mcval/common/strings.h"

namespace mcval::catalog {

namespace fs = std::filesystem;

namespace {

constexpr auto kProgressInterval = std::chrono::milliseconds(100);

// A slide file found under the root.
struct FoundFile {
  fs::path path;              // absolute, under the canonical root
  std::string relative_path;  // '/'-separated
  std::string centre;
  std::string id;
  std::int64_t file_bytes = 0;
  std::int64_t mtime_ns = 0;
};

// Work for the pool: a file to probe and hash, or (hash_only) only to hash because an
// earlier scan ran without hashing.
struct Job {
  const FoundFile* file = nullptr;
  SlideRecord record;  // the existing record for hash-only jobs; filled in otherwise
  bool hash_only = false;
};

bool is_within(const fs::path& root, const fs::path& path) {
  const auto [root_end, path_it] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return root_end == root.end();
}

bool is_hidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name.front() == '.';
}

// The data folder of an MRXS slide: a sibling "<name>.mrxs" exists.
bool is_mrxs_data_folder(const fs::path& dir) {
  std::error_code ec;
  for (const char* ext : {".mrxs", ".MRXS"}) {
    fs::path main = dir;
    main += ext;
    if (fs::is_regular_file(main, ec)) return true;
  }
  return false;
}

std::int64_t to_unix_ns(fs::file_time_type time) {
  const auto sys = std::chrono::file_clock::to_sys(time);
  return std::chrono::duration_cast<std::chrono::nanoseconds>(sys.time_since_epoch()).count();
}

// Walks the root; io_error if the walk fails part way (so that nothing is marked removed
// on the strength of a partial listing).
Result<std::vector<FoundFile>> walk(const fs::path& root) {
  std::vector<FoundFile> found;
  std::unordered_set<std::string> ids;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  if (ec) return Error{ErrorCode::io_error, "cannot list " + root.string() + ": " + ec.message()};
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) break;
    const fs::directory_entry& entry = *it;
    const fs::path& path = entry.path();
    std::error_code entry_ec;
    if (is_hidden(path)) {
      if (entry.is_directory(entry_ec)) it.disable_recursion_pending();
      continue;
    }
    if (entry.is_directory(entry_ec)) {
      // Symlinked folders are not recursed into (the iterator does not follow them).
      if (is_mrxs_data_folder(path)) it.disable_recursion_pending();
      continue;
    }
    if (!is_slide_file(path) || !entry.is_regular_file(entry_ec)) continue;
    const fs::path relative = path.lexically_relative(root);
    if (std::distance(relative.begin(), relative.end()) < 2) {
      log::warn("slide file directly in the slide root, not in a centre folder: skipped", {{"file", path.string()}});
      continue;
    }
    if (entry.is_symlink(entry_ec)) {
      const fs::path target = fs::weakly_canonical(path, entry_ec);
      if (entry_ec || !is_within(root, target)) {
        log::warn("symlink pointing outside the slide root: skipped", {{"file", path.string()}});
        continue;
      }
    }
    FoundFile file;
    file.path = path;
    file.relative_path = relative.generic_string();
    file.centre = relative.begin()->string();
    file.id = make_slide_id(file.relative_path);
    const auto bytes = entry.file_size(entry_ec);
    if (entry_ec) {
      log::warn("cannot stat slide file: skipped", {{"file", path.string()}, {"error", entry_ec.message()}});
      continue;
    }
    const auto mtime = entry.last_write_time(entry_ec);
    if (entry_ec) {
      log::warn("cannot stat slide file: skipped", {{"file", path.string()}, {"error", entry_ec.message()}});
      continue;
    }
    file.file_bytes = static_cast<std::int64_t>(bytes);
    file.mtime_ns = to_unix_ns(mtime);
    if (!ids.insert(file.id).second) {
      log::error("two slide paths share an id: second one skipped", {{"file", file.relative_path}, {"id", file.id}});
      continue;
    }
    found.push_back(std::move(file));
  }
  if (ec) return Error{ErrorCode::io_error, "listing " + root.string() + " failed: " + ec.message()};
  return found;
}

// Serialises and throttles calls to the progress callback.
class ProgressReporter {
 public:
  ProgressReporter(const std::function<void(const ScanProgress&)>& callback, std::int64_t total)
      : callback_(callback), total_(total) {}

  void report(std::int64_t done, const std::string& current) {
    if (!callback_) return;
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (reported_ && (done <= last_done_ || (done < total_ && now - last_ < kProgressInterval))) return;
    reported_ = true;
    last_ = now;
    last_done_ = done;
    callback_(ScanProgress{done, total_, current});
  }

 private:
  const std::function<void(const ScanProgress&)>& callback_;
  const std::int64_t total_;
  std::mutex mutex_;
  std::chrono::steady_clock::time_point last_;
  std::int64_t last_done_ = 0;
  bool reported_ = false;
};

// Collects finished records and commits them in batches of kCommitBatch, and on a thread of its
// own every `interval` (so that records finished before a slow file do not wait for it);
// thread-safe. Remembers the first write error, after which it stops writing.
class BatchWriter {
 public:
  BatchWriter(SlideCatalog& catalog, std::chrono::milliseconds interval)
      : catalog_(catalog),
        interval_(interval),
        committer_([this](std::stop_token stop) { commit_periodically(stop); }) {}
  ~BatchWriter() { stop_committer(); }

  void add(SlideRecord record) {
    std::vector<SlideRecord> batch;
    {
      std::lock_guard lock(mutex_);
      pending_.push_back(std::move(record));
      if (pending_.size() < kCommitBatch) return;
      batch.swap(pending_);
    }
    write(batch);
  }
  /// Commits what is pending and stops the periodic commits; returns the first write error.
  Status flush() {
    stop_committer();
    std::vector<SlideRecord> batch;
    {
      std::lock_guard lock(mutex_);
      batch.swap(pending_);
    }
    write(batch);
    std::lock_guard lock(mutex_);
    return status_;
  }
  bool failed() const {
    std::lock_guard lock(mutex_);
    return !status_.ok();
  }

 private:
  void write(const std::vector<SlideRecord>& batch) {
    if (batch.empty() || failed()) return;
    // One writer at a time: batches reach the catalogue in the order they were taken.
    std::lock_guard writing(write_mutex_);
    auto written = catalog_.upsert_slides(batch);
    if (!written.ok()) {
      std::lock_guard lock(mutex_);
      if (status_.ok()) status_ = written;
    }
  }

  void commit_periodically(const std::stop_token& stop) {
    std::unique_lock lock(wake_mutex_);
    for (;;) {
      wake_.wait_for(lock, stop, interval_, [] { return false; });
      if (stop.stop_requested()) return;
      std::vector<SlideRecord> batch;
      {
        std::lock_guard pending_lock(mutex_);
        batch.swap(pending_);
      }
      write(batch);
    }
  }
  void stop_committer() {
    if (!committer_.joinable()) return;
    committer_.request_stop();
    committer_.join();
  }

  SlideCatalog& catalog_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::mutex write_mutex_;
  std::vector<SlideRecord> pending_;
  Status status_;
  std::mutex wake_mutex_;
  std::condition_variable_any wake_;
  std::jthread committer_;  // last: started after, and stopped before, the members it uses
};

}  // namespace

bool is_slide_file(const fs::path& path) {
  static constexpr std::array<std::string_view, 9> kExtensions = {".svs", ".ndpi", ".mrxs", ".scn", ".tif",
                                                                   ".tiff", ".bif", ".vms", ".svslide"};
  const std::string ext = to_lower(path.extension().string());
  return std::find(kExtensions.begin(), kExtensions.end(), ext) != kExtensions.end();
}

CatalogScanner::CatalogScanner(SlideCatalog& catalog, const slide::SlideSource& source)
    : catalog_(catalog), source_(source) {}

Result<ScanSummary> CatalogScanner::scan(const fs::path& root, const ScanOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  const std::string scanned_at = utc_now_iso8601();
  std::error_code ec;
  const fs::path canonical_root = fs::canonical(root, ec);
  if (ec) return Error{ErrorCode::io_error, "slide root " + root.string() + ": " + ec.message()};
  if (!fs::is_directory(canonical_root, ec)) {
    return Error{ErrorCode::io_error, "slide root " + root.string() + " is not a folder"};
  }

  MCVAL_TRY_ASSIGN(existing_list, catalog_.list_slides(std::nullopt, true));
  std::unordered_map<std::string, SlideRecord> existing;
  for (auto& record : existing_list) existing.emplace(record.id, std::move(record));

  MCVAL_TRY_ASSIGN(found, walk(canonical_root));
  ScanSummary summary;
  summary.seen = static_cast<std::int64_t>(found.size());

  BatchWriter writer(catalog_, options.commit_interval);
  std::vector<Job> jobs;
  std::unordered_set<std::string> seen_ids;
  for (const auto& file : found) {
    seen_ids.insert(file.id);
    const auto it = existing.find(file.id);
    if (it != existing.end() && it->second.relative_path != file.relative_path) {
      log::error("slide id already used by another path: skipped",
                 {{"file", file.relative_path}, {"other", it->second.relative_path}, {"id", file.id}});
      continue;
    }
    const SlideRecord* previous = it == existing.end() ? nullptr : &it->second;
    if (previous && previous->status != SlideStatus::removed && previous->file_bytes == file.file_bytes &&
        previous->mtime_ns == file.mtime_ns) {
      ++summary.unchanged;
      SlideRecord record = *previous;
      record.scanned_at = scanned_at;
      if (options.hash_files && record.status == SlideStatus::ok && record.sha256.empty()) {
        jobs.push_back(Job{&file, std::move(record), true});
      } else {
        writer.add(std::move(record));
      }
      continue;
    }
    if (previous && previous->status != SlideStatus::removed) {
      ++summary.changed;
    } else {
      ++summary.added;
    }
    jobs.push_back(Job{&file, {}, false});
  }

  // Probe and hash on the pool; each worker takes the next job until none is left.
  ProgressReporter progress(options.on_progress, summary.seen);
  std::atomic<std::size_t> next{0};
  std::atomic<std::int64_t> done{summary.seen - static_cast<std::int64_t>(jobs.size())};
  std::atomic<std::int64_t> unreadable{0};
  std::atomic<std::int64_t> hashed{0};
  std::atomic<std::int64_t> bytes_hashed{0};
  progress.report(done.load(), {});

  const auto process = [&](Job& job) {
    const FoundFile& file = *job.file;
    SlideRecord& record = job.record;
    if (!job.hash_only) {
      record.id = file.id;
      record.centre = file.centre;
      record.relative_path = file.relative_path;
      record.file_bytes = file.file_bytes;
      record.mtime_ns = file.mtime_ns;
      record.scanned_at = scanned_at;
      auto reader = source_.open(file.path);
      if (reader.ok()) {
        record.status = SlideStatus::ok;
        record.properties = (*reader)->properties();
      } else {
        record.status = SlideStatus::unreadable;
        record.status_reason = reader.error().detail.empty() ? reader.error().to_string() : reader.error().detail;
      }
    }
    if (options.hash_files) {
      auto digest = sha256_file_hex(file.path);
      if (digest.ok()) {
        record.sha256 = std::move(*digest);
        ++hashed;
        bytes_hashed += file.file_bytes;
      } else if (record.status == SlideStatus::ok) {
        record.status = SlideStatus::unreadable;
        record.status_reason = "cannot hash: " + digest.error().detail;
        record.properties = {};
      }
    }
  };

  const auto stopped = [&options] { return options.stop != nullptr && options.stop->load(); };
  const auto worker = [&] {
    while (!writer.failed() && !stopped()) {
      const std::size_t index = next++;
      if (index >= jobs.size()) return;
      Job& job = jobs[index];
      try {
        process(job);
      } catch (const std::exception& e) {
        // A SlideSource is third-party code at heart; one bad file must not end the scan.
        job.record.status = SlideStatus::unreadable;
        job.record.status_reason = std::string("internal error: ") + e.what();
        job.record.properties = {};
      }
      if (!job.hash_only && job.record.status == SlideStatus::unreadable) {
        ++unreadable;
        log::warn("slide unreadable", {{"file", job.file->relative_path}, {"reason", job.record.status_reason}});
      }
      writer.add(std::move(job.record));
      progress.report(++done, job.file->relative_path);
    }
  };

  const std::size_t thread_count =
      std::min<std::size_t>(static_cast<std::size_t>(std::max(options.threads, 1)), jobs.size());
  {
    std::vector<std::jthread> threads;
    for (std::size_t i = 1; i < thread_count; ++i) {
      try {
        threads.emplace_back(worker);
      } catch (const std::system_error& e) {
        log::warn("cannot start a scan thread; continuing with fewer", {{"error", e.what()}});
        break;
      }
    }
    worker();
  }

  if (stopped()) {
    MCVAL_TRY(writer.flush());
    return Error{ErrorCode::cancelled, "the catalogue scan was stopped; what it finished is kept"};
  }
  // Files no longer under the root: keep the row, mark it removed.
  for (auto& [id, record] : existing) {
    if (record.status == SlideStatus::removed || seen_ids.contains(id)) continue;
    record.status = SlideStatus::removed;
    record.status_reason.clear();
    record.scanned_at = scanned_at;
    ++summary.removed;
    writer.add(std::move(record));
  }
  MCVAL_TRY(writer.flush());

  summary.unreadable = unreadable.load();
  summary.hashed = hashed.load();
  summary.bytes_hashed = bytes_hashed.load();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return summary;
}

}  // namespace mcval::catalog
