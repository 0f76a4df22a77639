#pragma once
// Progress of a catalogue scan for a person: a live bar on a terminal, a structured log
// line every few seconds otherwise.
#include <chrono>
#include <mutex>

#include "mcval/catalog/catalog_scanner.h"

namespace mcval::app {

class ProgressReporter {
 public:
  ProgressReporter();
  /// Thread-safe; called from the scanning threads.
  void update(const catalog::ScanProgress& progress);
  /// Ends the bar's line.
  void finish();

 private:
  std::mutex mutex_;
  bool terminal_;
  bool drew_ = false;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace mcval::app
