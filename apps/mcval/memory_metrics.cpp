#include "memory_metrics.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>

#ifdef MCVAL_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

namespace mcval::app {

namespace {

/// Resident pages of this process (second field of /proc/self/statm) in bytes; -1 if unreadable.
double resident_set_bytes() {
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return -1;
  unsigned long long size_pages = 0;
  unsigned long long resident_pages = 0;
  const int read = std::fscanf(statm, "%llu %llu", &size_pages, &resident_pages);
  std::fclose(statm);
  if (read != 2) return -1;
  return static_cast<double>(resident_pages) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

#ifdef MCVAL_JEMALLOC
/// jemalloc's statistics are a snapshot refreshed by writing "epoch"; each read is then one
/// size_t. A name the allocator does not know reads as -1.
double jemalloc_stat(const char* name) {
  std::size_t value = 0;
  std::size_t length = sizeof value;
  if (mallctl(name, &value, &length, nullptr, 0) != 0) return -1;
  return static_cast<double>(value);
}
#endif

}  // namespace

std::vector<http::Metrics::Sample> memory_samples() {
  std::vector<http::Metrics::Sample> samples{
      {"process_resident_memory_bytes", "Resident memory of the server process (/proc/self/statm).", "gauge",
       resident_set_bytes()}};
#ifdef MCVAL_JEMALLOC
  std::uint64_t epoch = 1;
  mallctl("epoch", nullptr, nullptr, &epoch, sizeof epoch);
  const struct {
    const char* stat;
    const char* metric;
    const char* help;
  } allocator_stats[] = {
      {"stats.allocated", "mcval_allocator_allocated_bytes", "Bytes in live allocations (jemalloc stats.allocated)."},
      {"stats.active", "mcval_allocator_active_bytes", "Bytes in pages holding live allocations (jemalloc stats.active)."},
      {"stats.resident", "mcval_allocator_resident_bytes",
       "Bytes the allocator holds resident, dirty pages and metadata included (jemalloc stats.resident)."},
      {"stats.mapped", "mcval_allocator_mapped_bytes", "Bytes in the allocator's active extents (jemalloc stats.mapped)."},
      {"stats.retained", "mcval_allocator_retained_bytes",
       "Virtual memory kept mapped but returned to the system (jemalloc stats.retained)."},
      {"stats.metadata", "mcval_allocator_metadata_bytes", "Bytes of the allocator's own metadata (jemalloc stats.metadata)."},
  };
  for (const auto& s : allocator_stats) samples.push_back({s.metric, s.help, "gauge", jemalloc_stat(s.stat)});
  // Free pages the arenas still hold, summed over every arena (MALLCTL_ARENAS_ALL): dirty ones
  // are resident until decay purges them; muzzy ones were given back lazily (MADV_FREE) and
  // count in the process's resident memory until the kernel takes them.
  const double page = jemalloc_stat("arenas.page");
  const struct {
    const char* stat;
    const char* metric;
    const char* help;
  } free_page_stats[] = {
      {"stats.arenas.4096.pdirty", "mcval_allocator_dirty_bytes",
       "Bytes in free pages the allocator keeps resident until they decay (jemalloc pdirty, all arenas)."},
      {"stats.arenas.4096.pmuzzy", "mcval_allocator_muzzy_bytes",
       "Bytes in free pages given back lazily, resident until the kernel reclaims them (jemalloc pmuzzy)."},
  };
  for (const auto& s : free_page_stats) {
    const double pages = jemalloc_stat(s.stat);
    samples.push_back({s.metric, s.help, "gauge", pages < 0 || page < 0 ? -1 : pages * page});
  }
#endif
  return samples;
}

}  // namespace mcval::app
