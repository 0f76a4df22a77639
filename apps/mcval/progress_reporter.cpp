#include "progress_reporter.h"

#include <unistd.h>

#include <cstdio>

#include <nlohmann/json.hpp>

namespace mcval::app {

ProgressReporter::ProgressReporter(std::string task, std::string unit)
    : task_(std::move(task)),
      unit_(std::move(unit)),
      terminal_(::isatty(STDERR_FILENO) == 1),
      started_(std::chrono::steady_clock::now()),
      last_(started_) {}

void ProgressReporter::update(double done, double total, std::string_view current) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  const bool complete = total > 0 && done >= total;
  const double elapsed = std::chrono::duration<double>(now - started_).count();
  const double rate = elapsed > 0 ? done / elapsed : 0.0;
  const double eta = rate > 0 ? (total - done) / rate : 0.0;
  if (terminal_) {
    if (since_last < 0.1 && !complete) return;
    last_ = now;
    const double fraction = total > 0 ? done / total : 0.0;
    const int filled = static_cast<int>(fraction * 30);
    std::fprintf(stderr, "\r%s [%.*s%.*s] %.0f/%.0f %s  %.1f/s  ETA %.0f s ", task_.c_str(), filled,
                 "==============================", 30 - filled, "                              ", done, total,
                 unit_.c_str(), rate, eta);
    std::fflush(stderr);
    drew_ = true;
  } else {
    if (since_last < 2.0 && !complete) return;
    last_ = now;
    const nlohmann::json line = {{"progress", task_}, {"done", done},   {"total", total},
                                 {"unit", unit_},     {"rate_per_s", rate}, {"eta_s", eta},
                                 {"current", current}};
    std::fprintf(stderr, "%s\n", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
}

void ProgressReporter::finish() {
  std::lock_guard lock(mutex_);
  if (drew_) std::fprintf(stderr, "\n");
}

}  // namespace mcval::app
