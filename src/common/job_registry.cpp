#include "mcval/common/job_registry.h"

#include <random>
#include <system_error>
#include <vector>

#include "mcval/common/clock.h"
#include "mcval/common/strings.h"

namespace mcval {

std::string_view job_state_name(JobState state) {
  switch (state) {
    case JobState::running:
      return "running";
    case JobState::succeeded:
      return "succeeded";
    case JobState::failed:
      return "failed";
  }
  return "unknown";
}

struct JobRegistry::Entry {
  std::string id;
  std::string kind;
  JobState state = JobState::running;  // guarded by the registry's mutex, as the fields below
  std::string started_at;
  std::string finished_at;
  nlohmann::json result;
  std::optional<Error> error;
  JobProgress progress;  // written by the job, read without the lock
};

namespace {

std::string new_job_id() {
  static std::mutex mutex;
  static std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t v = 0;
  {
    std::lock_guard lock(mutex);
    v = rng();
  }
  unsigned char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(v >> (8 * i));
  return to_hex(bytes, sizeof bytes);
}

}  // namespace

JobRegistry::JobRegistry(std::size_t keep_finished) : keep_finished_(keep_finished) {}

JobRegistry::~JobRegistry() { stop_and_wait(); }

JobSnapshot JobRegistry::snapshot(const Entry& entry) const {
  JobSnapshot s;
  s.id = entry.id;
  s.kind = entry.kind;
  s.state = entry.state;
  s.started_at = entry.started_at;
  s.finished_at = entry.finished_at;
  s.done = entry.progress.done();
  s.total = entry.progress.total();
  s.result = entry.result;
  s.error = entry.error;
  return s;
}

JobRegistry::Started JobRegistry::start(const std::string& kind, Work work, Notify on_started, Notify on_finished) {
  std::vector<std::thread> reaped;  // threads of finished jobs, joined outside the lock
  Started out;
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mutex_);
    for (auto it = threads_.begin(); it != threads_.end();) {
      const auto job = jobs_.find(it->first);
      if (job == jobs_.end() || job->second->state != JobState::running) {
        reaped.push_back(std::move(it->second));
        it = threads_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& [id, existing] : jobs_) {
      if (existing->kind == kind && existing->state == JobState::running) {
        out.job = snapshot(*existing);
        break;
      }
    }
    if (out.job.id.empty()) {
      entry = std::make_shared<Entry>();
      entry->id = new_job_id();
      entry->kind = kind;
      entry->started_at = utc_now_iso8601();
      entry->progress.stop_ = &stop_;
      if (stop_) {
        entry->state = JobState::failed;
        entry->finished_at = entry->started_at;
        entry->error = Error{ErrorCode::cancelled, "the service is stopping"};
        return {snapshot(*entry), false};
      }
      jobs_.emplace(entry->id, entry);
      out.job = snapshot(*entry);
      out.started = true;
      // Told before the thread exists, so that a record of the start precedes that of the end.
      if (on_started) on_started(out.job);
      try {
        threads_.emplace(entry->id, std::thread([this, entry, work = std::move(work),
                                                 on_finished = std::move(on_finished)]() mutable {
                           Result<nlohmann::json> outcome = Error{ErrorCode::internal, "the job did not run"};
                           try {
                             outcome = work(entry->progress);
                           } catch (const std::exception& e) {
                             outcome = Error{ErrorCode::internal, std::string("job threw: ") + e.what()};
                           }
                           finish(entry, std::move(outcome), on_finished);
                         }));
      } catch (const std::system_error& e) {
        entry->state = JobState::failed;
        entry->finished_at = utc_now_iso8601();
        entry->error = Error{ErrorCode::internal, std::string("cannot start a thread for the job: ") + e.what()};
        finished_order_.push_back(entry->id);
        out.job = snapshot(*entry);
      }
    }
  }
  for (auto& t : reaped) t.join();
  return out;
}

void JobRegistry::finish(const std::shared_ptr<Entry>& entry, Result<nlohmann::json> outcome,
                         const Notify& on_finished) {
  JobSnapshot done;
  {
    std::lock_guard lock(mutex_);
    entry->finished_at = utc_now_iso8601();
    if (outcome.ok()) {
      entry->state = JobState::succeeded;
      entry->result = std::move(outcome).value();
    } else {
      entry->state = JobState::failed;
      entry->error = outcome.error();
    }
    finished_order_.push_back(entry->id);
    while (finished_order_.size() > keep_finished_) {
      jobs_.erase(finished_order_.front());
      finished_order_.pop_front();
    }
    done = snapshot(*entry);
  }
  if (on_finished) on_finished(done);
}

std::optional<JobSnapshot> JobRegistry::find(const std::string& id) const {
  std::lock_guard lock(mutex_);
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return snapshot(*it->second);
}

void JobRegistry::stop_and_wait() {
  stop_ = true;
  std::map<std::string, std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(threads_);
  }
  for (auto& [id, thread] : threads) {
    if (thread.joinable()) thread.join();
  }
}

}  // namespace mcval
