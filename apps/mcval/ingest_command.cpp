#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "commands.h"
#include "mcval/catalog/catalog_scanner.h"
#include "mcval/catalog/catalog_store.h"
#include "mcval/slide/openslide_source.h"
#include "progress_reporter.h"

namespace mcval::app {

int run_ingest(const Config& config) {
  auto catalog = open_store(config);
  if (!catalog.ok()) return fail(catalog.error());
  const slide::OpenSlideSource source;
  catalog::CatalogScanner scanner(**catalog, source);
  ProgressReporter progress("scan", "slides");
  catalog::ScanOptions options;
  options.threads = config.threads > 0 ? config.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  options.commit_interval = std::chrono::seconds(config.scan_commit_s);
  options.on_progress = [&progress](const catalog::ScanProgress& p) {
    progress.update(static_cast<double>(p.done), static_cast<double>(p.total), p.current);
  };
  auto summary = scanner.scan(config.slides, options);
  progress.finish();
  if (!summary.ok()) return fail(summary.error());
  std::printf("scanned %s: %lld slides (%lld added, %lld changed, %lld unchanged, %lld removed, %lld unreadable) in %.2f s\n",
              config.slides.c_str(), static_cast<long long>(summary->seen), static_cast<long long>(summary->added),
              static_cast<long long>(summary->changed), static_cast<long long>(summary->unchanged),
              static_cast<long long>(summary->removed), static_cast<long long>(summary->unreadable), summary->seconds);
  return 0;
}

}  // namespace mcval::app
