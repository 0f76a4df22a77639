#pragma once
// CatalogScanner: walks a slide root (<root>/<centre>/.../<slide>.<ext>) and brings the
// catalogue up to date: new files are probed and hashed, files with unchanged size and
// mtime are skipped, changed files re-probed and re-hashed, vanished files marked removed.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "mcval/catalog/slide_catalog.h"
#include "mcval/slide/slide_reader.h"

namespace mcval::catalog {

struct ScanSummary {
  std::int64_t seen = 0;        ///< slide files found under the root
  std::int64_t added = 0;
  std::int64_t changed = 0;
  std::int64_t unchanged = 0;
  std::int64_t removed = 0;
  std::int64_t unreadable = 0;  ///< of added + changed, how many are unreadable
  std::int64_t hashed = 0;      ///< files whose SHA-256 was computed in this scan
  std::int64_t bytes_hashed = 0;
  double seconds = 0;
};

struct ScanProgress {
  std::int64_t done = 0;   ///< files examined so far
  std::int64_t total = 0;  ///< files found
  std::string current;     ///< relative path being examined
};

struct ScanOptions {
  bool hash_files = true;  ///< compute SHA-256 of new and changed files
  int threads = 1;         ///< files probed and hashed in parallel
  std::function<void(const ScanProgress&)> on_progress;  ///< called from the scanning threads
  /// When it becomes true the scan ends after the files in hand (cancelled), keeping what it
  /// committed and marking nothing removed; null: never.
  const std::atomic<bool>* stop = nullptr;
  /// Finished records are committed at least this often and every kCommitBatch records, so that
  /// a killed scan keeps its work: on NFS a batch of multi-gigabyte slides takes minutes.
  std::chrono::milliseconds commit_interval{5000};
};

/// Finished records are committed in transactions of at most this many.
inline constexpr std::size_t kCommitBatch = 256;

/// True for the extensions OpenSlide reads: svs, ndpi, mrxs, scn, tif, tiff, bif, vms, svslide
/// (case-insensitive).
bool is_slide_file(const std::filesystem::path& path);

class CatalogScanner {
 public:
  CatalogScanner(SlideCatalog& catalog, const slide::SlideSource& source);
  /// io_error if the root is not a readable folder; per-file problems become unreadable records;
  /// cancelled when options.stop was set. Symlinks that point outside the root are ignored.
  /// Finished records are committed as the scan goes (options.commit_interval, kCommitBatch), so
  /// an interrupted scan keeps them and the next one skips them as unchanged.
  Result<ScanSummary> scan(const std::filesystem::path& root, const ScanOptions& options);

 private:
  SlideCatalog& catalog_;
  const slide::SlideSource& source_;
};

}  // namespace mcval::catalog
