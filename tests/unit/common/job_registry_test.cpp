#include "mcval/common/job_registry.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

namespace mcval {
namespace {

/// Waits until the job has left `running` (the registry's own answer, no sleep-based guess).
JobSnapshot wait_finished(const JobRegistry& jobs, const std::string& id) {
  for (;;) {
    auto job = jobs.find(id);
    if (!job || job->state != JobState::running) return job.value_or(JobSnapshot{});
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

TEST(JobRegistry, StartReturnsAtOnceAndASecondStartOfTheKindJoinsTheRunningJob) {
  JobRegistry jobs;
  std::promise<void> release;
  auto released = release.get_future().share();
  int started_notices = 0;
  auto first = jobs.start(
      "rescan",
      [released](JobProgress& progress) -> Result<nlohmann::json> {
        progress.set(1, 4);
        released.wait();
        return nlohmann::json{{"seen", 4}};
      },
      [&started_notices](const JobSnapshot&) { ++started_notices; });
  ASSERT_TRUE(first.started);
  EXPECT_EQ(first.job.state, JobState::running);
  EXPECT_EQ(first.job.id.size(), 16u);

  auto second = jobs.start(
      "rescan", [](JobProgress&) -> Result<nlohmann::json> { return nlohmann::json(); },
      [&started_notices](const JobSnapshot&) { ++started_notices; });
  EXPECT_FALSE(second.started);
  EXPECT_EQ(second.job.id, first.job.id);
  EXPECT_EQ(started_notices, 1);

  // Another kind is not held up by the running one.
  auto other = jobs.start("other", [](JobProgress&) -> Result<nlohmann::json> { return nlohmann::json(1); });
  EXPECT_TRUE(other.started);
  EXPECT_EQ(wait_finished(jobs, other.job.id).state, JobState::succeeded);
  EXPECT_EQ(jobs.find(first.job.id)->state, JobState::running);

  release.set_value();
  const auto done = wait_finished(jobs, first.job.id);
  EXPECT_EQ(done.state, JobState::succeeded);
  EXPECT_EQ(done.result["seen"], 4);
  EXPECT_EQ(done.done, 1);
  EXPECT_EQ(done.total, 4);
  EXPECT_FALSE(done.finished_at.empty());

  // Once finished, the next start of the kind is a new job.
  auto third = jobs.start("rescan", [](JobProgress&) -> Result<nlohmann::json> { return nlohmann::json(); });
  EXPECT_TRUE(third.started);
  EXPECT_NE(third.job.id, first.job.id);
}

TEST(JobRegistry, FailuresAndExceptionsEndTheJobFailedAndNotifyOnItsThread) {
  JobRegistry jobs;
  std::promise<JobSnapshot> finished;
  auto failed = jobs.start(
      "rescan",
      [](JobProgress&) -> Result<nlohmann::json> {
        return Error{ErrorCode::io_error, "walk failed"};
      },
      {}, [&finished](const JobSnapshot& job) { finished.set_value(job); });
  const auto notice = finished.get_future().get();
  EXPECT_EQ(notice.id, failed.job.id);
  EXPECT_EQ(notice.state, JobState::failed);
  ASSERT_TRUE(notice.error);
  EXPECT_EQ(notice.error->code, ErrorCode::io_error);

  auto threw = jobs.start("rescan", [](JobProgress&) -> Result<nlohmann::json> { throw std::runtime_error("boom"); });
  const auto done = wait_finished(jobs, threw.job.id);
  EXPECT_EQ(done.state, JobState::failed);
  EXPECT_EQ(done.error->code, ErrorCode::internal);
  EXPECT_FALSE(jobs.find("0000000000000000"));
}

TEST(JobRegistry, StopAndWaitAsksRunningJobsToStopAndRefusesNewOnes) {
  JobRegistry jobs;
  auto job = jobs.start("rescan", [](JobProgress& progress) -> Result<nlohmann::json> {
    while (!progress.stop_flag()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return Error{ErrorCode::cancelled, "stopped"};
  });
  jobs.stop_and_wait();
  EXPECT_EQ(jobs.find(job.job.id)->state, JobState::failed);
  auto late = jobs.start("rescan", [](JobProgress&) -> Result<nlohmann::json> { return nlohmann::json(); });
  EXPECT_FALSE(late.started);
  EXPECT_EQ(late.job.state, JobState::failed);
}

TEST(JobRegistry, KeepsOnlyTheLastFinishedJobs) {
  JobRegistry jobs(2);
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    auto job = jobs.start("k", [](JobProgress&) -> Result<nlohmann::json> { return nlohmann::json(); });
    wait_finished(jobs, job.job.id);
    ids.push_back(job.job.id);
  }
  EXPECT_FALSE(jobs.find(ids[0]));
  EXPECT_FALSE(jobs.find(ids[1]));
  EXPECT_TRUE(jobs.find(ids[2]));
  EXPECT_TRUE(jobs.find(ids[3]));
}

}  // namespace
}  // namespace mcval
