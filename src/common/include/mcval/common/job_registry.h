#pragma once
// JobRegistry: long work (catalogue scans, later inference and validation runs started through
// the server) run on threads of their own, never on a server I/O thread. A job has an id, a
// state and progress that a client follows; at most one job of a kind runs at a time.
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "mcval/common/result.h"

namespace mcval {

enum class JobState { running, succeeded, failed };
std::string_view job_state_name(JobState state);

/// What a running job tells its followers, and how it learns that it should stop. Thread-safe.
class JobProgress {
 public:
  /// Units of work done so far of `total` (e.g. slides examined of slides found).
  void set(std::int64_t done, std::int64_t total) {
    done_ = done;
    total_ = total;
  }
  std::int64_t done() const { return done_; }
  std::int64_t total() const { return total_; }
  /// Set when the registry is shutting down: the job should end soon (with `cancelled`).
  const std::atomic<bool>& stop_flag() const { return *stop_; }

 private:
  friend class JobRegistry;
  std::atomic<std::int64_t> done_{0};
  std::atomic<std::int64_t> total_{0};
  const std::atomic<bool>* stop_ = nullptr;
};

/// A job as seen at one moment.
struct JobSnapshot {
  std::string id;    ///< 16 lower-case hex digits
  std::string kind;  ///< e.g. "rescan"
  JobState state = JobState::running;
  std::string started_at;   ///< UTC ISO 8601
  std::string finished_at;  ///< empty while running
  std::int64_t done = 0;
  std::int64_t total = 0;
  nlohmann::json result;       ///< what the work returned, once succeeded
  std::optional<Error> error;  ///< why it failed, once failed
};

class JobRegistry {
 public:
  /// The work of a job; runs on the job's own thread.
  using Work = std::function<Result<nlohmann::json>(JobProgress&)>;
  /// Told about a job when it starts (before its thread can finish it) or when it has finished.
  using Notify = std::function<void(const JobSnapshot&)>;

  /// Keeps the last `keep_finished` finished jobs for their followers.
  explicit JobRegistry(std::size_t keep_finished = 32);
  /// Asks running jobs to stop and waits for them.
  ~JobRegistry();
  JobRegistry(const JobRegistry&) = delete;
  JobRegistry& operator=(const JobRegistry&) = delete;

  struct Started {
    JobSnapshot job;
    bool started = false;  ///< false: a job of this kind was running already, and this is it
  };
  /// Starts `work` as a job of `kind` on a thread of its own and returns at once, unless a job of
  /// that kind is running: then returns that job and does not start another. `on_started` is
  /// called (on the calling thread, under the registry's lock: it must not call the registry)
  /// only for a job that is started, before it can finish; `on_finished` on the job's thread
  /// once it has. Thread-safe. A job whose thread cannot be
  /// started is returned failed (internal).
  Started start(const std::string& kind, Work work, Notify on_started = {}, Notify on_finished = {});
  /// The job with this id while it runs and for a while after; nullopt for an unknown id.
  std::optional<JobSnapshot> find(const std::string& id) const;
  /// Asks every running job to stop (JobProgress::stop_flag) and waits until none runs.
  void stop_and_wait();

 private:
  struct Entry;
  JobSnapshot snapshot(const Entry& entry) const;
  void finish(const std::shared_ptr<Entry>& entry, Result<nlohmann::json> outcome, const Notify& on_finished);

  const std::size_t keep_finished_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Entry>> jobs_;  ///< by id
  std::deque<std::string> finished_order_;              ///< ids of finished jobs, oldest first
  std::map<std::string, std::thread> threads_;          ///< by id; joined when their job is reaped
};

}  // namespace mcval
