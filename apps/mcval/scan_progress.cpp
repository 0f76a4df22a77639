#include "scan_progress.h"

#include <unistd.h>

#include <cstdio>

#include <nlohmann/json.hpp>

namespace mcval::app {

ProgressReporter::ProgressReporter()
    : terminal_(::isatty(STDERR_FILENO) == 1), started_(std::chrono::steady_clock::now()), last_(started_) {}

void ProgressReporter::update(const catalog::ScanProgress& p) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  const bool last_one = p.total > 0 && p.done >= p.total;
  if (terminal_) {
    if (since_last < 0.1 && !last_one) return;
    last_ = now;
    const double fraction = p.total > 0 ? static_cast<double>(p.done) / static_cast<double>(p.total) : 0.0;
    const int filled = static_cast<int>(fraction * 30);
    const double elapsed = std::chrono::duration<double>(now - started_).count();
    const double rate = elapsed > 0 ? static_cast<double>(p.done) / elapsed : 0.0;
    const double eta = rate > 0 ? static_cast<double>(p.total - p.done) / rate : 0.0;
    std::fprintf(stderr, "\r[%.*s%.*s] %lld/%lld slides  %.1f/s  ETA %.0f s ", filled,
                 "==============================", 30 - filled, "                              ",
                 static_cast<long long>(p.done), static_cast<long long>(p.total), rate, eta);
    std::fflush(stderr);
    drew_ = true;
  } else {
    if (since_last < 2.0 && !last_one) return;
    last_ = now;
    const nlohmann::json line = {{"progress", "scan"}, {"done", p.done}, {"total", p.total}, {"current", p.current}};
    std::fprintf(stderr, "%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
}

void ProgressReporter::finish() {
  std::lock_guard lock(mutex_);
  if (drew_) std::fprintf(stderr, "\n");
}

}  // namespace mcval::app
