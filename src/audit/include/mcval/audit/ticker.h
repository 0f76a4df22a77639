#pragma once
// Ticker: runs a task on its own thread at a fixed interval until destroyed (the audit log's
// background work: closing read and refusal windows, taking checkpoints).
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace mcval::audit {

/// Calls `task` every `interval` on a thread of its own; the destructor stops and joins it (a
/// task in progress finishes first). An interval of 0 starts no thread. Not copyable.
class Ticker {
 public:
  Ticker(std::chrono::milliseconds interval, std::function<void()> task);
  ~Ticker();
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

  /// Stops the thread now (idempotent); the destructor does the same.
  void stop();

 private:
  void run();

  std::chrono::milliseconds interval_;
  std::function<void()> task_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mcval::audit
