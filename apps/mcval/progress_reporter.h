#pragma once
// Progress of long work for a person: a live bar with rate and ETA on a terminal, one JSON
// line every few seconds on stderr otherwise (for logs and CI).
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>

namespace mcval::app {

class ProgressReporter {
 public:
  /// `task` names the work in structured lines ("scan", "synth"); `unit` what is counted.
  ProgressReporter(std::string task, std::string unit);
  /// Thread-safe. `done` of `total` units; `current` says what is being worked on.
  void update(double done, double total, std::string_view current);
  /// Ends the bar's line.
  void finish();

 private:
  std::mutex mutex_;
  const std::string task_;
  const std::string unit_;
  const bool terminal_;
  bool drew_ = false;
  const std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace mcval::app
