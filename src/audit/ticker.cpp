#include "mcval/audit/ticker.h"

namespace mcval::audit {

Ticker::Ticker(std::chrono::milliseconds interval, std::function<void()> task)
    : interval_(interval), task_(std::move(task)) {
  if (interval_.count() > 0) thread_ = std::thread([this] { run(); });
}

Ticker::~Ticker() { stop(); }

void Ticker::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Ticker::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    task_();
    lock.lock();
  }
}

}  // namespace mcval::audit
