#pragma once
// Memory of the running process for /metrics: resident set size from /proc, and, when the
// binary is linked with jemalloc (MCVAL_JEMALLOC), the allocator's own view. Comparing them
// tells live memory (allocated) from what the allocator keeps mapped (resident - allocated:
// fragmentation, dirty pages not yet returned, thread caches).
#include <vector>

#include "mcval/http/metrics.h"

namespace mcval::app {

/// Samples read at scrape time. Always process_resident_memory_bytes (Linux); with jemalloc
/// also mcval_allocator_{allocated,active,resident,mapped,retained,metadata}_bytes.
std::vector<http::Metrics::Sample> memory_samples();

}  // namespace mcval::app
