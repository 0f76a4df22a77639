#include "mcval/audit/audit_log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "log_files.h"
#include "mcval/audit/verify.h"
#include "mcval/common/logging.h"
#include "mcval/testing/temp_dir.h"

namespace mcval::audit {
namespace {

using testing::numbered_record;
using testing::options_for;
using testing::read_lines;

std::unique_ptr<AuditLog> open_log(const AuditLogOptions& options) {
  auto log = AuditLog::open(options);
  EXPECT_TRUE(log.ok()) << log.error().to_string();
  return log.ok() ? std::move(log).value() : nullptr;
}

VerifyReport verified(const std::filesystem::path& path) {
  auto report = verify_log(path);
  EXPECT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_TRUE(report.ok() && report->ok()) << (report.ok() ? report->to_text() : "");
  return report.ok() ? *report : VerifyReport{};
}

TEST(AuditLog, ThousandRecordsFromEightThreadsFormOneChain) {
  mcval::testing::TempDir dir;
  const auto path = dir.path() / "audit" / "audit.log";  // the folder is created
  {
    auto log = open_log(options_for(path));
    ASSERT_TRUE(log);
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 125; ++i) {
          if (!log->record(numbered_record(t * 125 + i + 1)).ok()) ++failures;
        }
      });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(log->checkpoint().seq, 1000u);
  }
  const auto report = verified(path);
  EXPECT_EQ(report.records, 1000u);
  const auto lines = read_lines(path);
  ASSERT_EQ(lines.size(), 1000u);
  std::set<std::string> request_ids;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto j = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(j["seq"].get<std::uint64_t>(), i + 1);
    EXPECT_EQ(j["version"], "0.1.0-test");
    request_ids.insert(j["request_id"].get<std::string>());
  }
  EXPECT_EQ(request_ids.size(), 1000u);  // every record once
}

TEST(AuditLog, RestartContinuesTheChain) {
  mcval::testing::TempDir dir;
  const auto path = dir.path() / "audit.log";
  std::string id;
  {
    auto log = open_log(options_for(path));
    ASSERT_TRUE(log);
    id = log->log_id();
    EXPECT_EQ(id.size(), 32u);
    for (int i = 1; i <= 3; ++i) ASSERT_TRUE(log->record(numbered_record(i)).ok());
  }
  {
    auto log = open_log(options_for(path));
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_id(), id);
    EXPECT_EQ(log->checkpoint().seq, 3u);
    for (int i = 4; i <= 5; ++i) ASSERT_TRUE(log->record(numbered_record(i)).ok());
    EXPECT_EQ(log->checkpoint().hash, nlohmann::json::parse(read_lines(path).back())["hash"]);
  }
  const auto report = verified(path);
  EXPECT_EQ(report.records, 5u);
  EXPECT_EQ(report.log_id, id);
}

TEST(AuditLog, EveryNewLogGetsItsOwnId) {
  mcval::testing::TempDir dir;
  auto a = open_log(options_for(dir.path() / "a.log"));
  auto b = open_log(options_for(dir.path() / "b.log"));
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->log_id(), b->log_id());
}

TEST(AuditLog, RefusesToContinueADamagedLog) {
  mcval::testing::TempDir dir;
  const auto path = dir.path() / "audit.log";
  testing::write_log(path, 5);
  const auto good = testing::read_all(path);
  const auto lines = read_lines(path);

  const auto expect_refused = [&](const std::string& bytes, const std::string& why) {
    testing::write_raw(path, bytes);
    auto log = AuditLog::open(options_for(path));
    ASSERT_FALSE(log.ok()) << why;
    EXPECT_EQ(log.error().code, ErrorCode::audit_tampered) << why;
    EXPECT_NE(log.error().detail.find("mcval audit verify --log"), std::string::npos) << log.error().detail;
    EXPECT_NE(log.error().detail.find(why), std::string::npos) << log.error().detail;
    EXPECT_EQ(testing::read_all(path), bytes) << "a refused log is left as it was";
  };
  expect_refused(good + "{\"action\":", "the last line has no newline");
  expect_refused(good + "garbage\n", "last record: not JSON");
  std::string edited = good;
  edited[edited.rfind("centre-")+7] = 'z';
  expect_refused(edited, "last record: ");
  expect_refused(lines[0] + "\n" + lines[1] + "\n" + lines[3] + "\n", "does not chain to the one before it");
  expect_refused(lines[1] + "\n", "the only record does not start a chain");

  testing::write_raw(path, good);
  EXPECT_TRUE(AuditLog::open(options_for(path)).ok());
}

TEST(AuditLog, TailCheckReadsBackFarEnoughForLongRecords) {
  mcval::testing::TempDir dir;
  const auto path = dir.path() / "audit.log";
  {
    auto log = open_log(options_for(path));
    ASSERT_TRUE(log);
    for (int i = 0; i < 200; ++i) {
      AuditRecord r = numbered_record(i);
      r.reason = std::string(1000, 'r');
      r.resource = std::string(1000, 's');
      ASSERT_TRUE(log->record(r).ok());
    }
  }
  auto log = open_log(options_for(path));
  ASSERT_TRUE(log);
  EXPECT_EQ(log->checkpoint().seq, 200u);
}

TEST(AuditLog, TokenLookingFieldsAreWithheldButTheEventIsKept) {
  mcval::testing::TempDir dir;
  const auto path = dir.path() / "audit.log";
  const std::string jwt =
      "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTk5OTk5OTk5OX0.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl";
  {
    auto log = open_log(options_for(path));
    ASSERT_TRUE(log);
    AuditRecord r = numbered_record(1);
    r.action = Action::token_rejected;
    r.reason = "Bearer " + jwt;
    const auto status = log->record(r);
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, ErrorCode::invalid_argument);
    EXPECT_NE(status.error().detail.find("reason"), std::string::npos);
  }
  const auto bytes = testing::read_all(path);
  EXPECT_EQ(bytes.find("eyJ"), std::string::npos);
  EXPECT_EQ(bytes.find("Bearer"), std::string::npos);
  const auto j = nlohmann::json::parse(read_lines(path).at(0));
  EXPECT_EQ(j["reason"], "[withheld: looks like a token]");
  EXPECT_EQ(j["action"], "token_rejected");
  verified(path);
}

TEST(AuditLog, MirrorGetsEachWrittenObjectInLogOrder) {
  mcval::testing::TempDir dir;
  const auto path = dir.path() / "audit.log";
  std::mutex mutex;
  std::vector<nlohmann::json> mirrored;
  {
    auto options = options_for(path);
    options.mirror = [&](const nlohmann::json& record) {
      std::lock_guard<std::mutex> lock(mutex);
      mirrored.push_back(record);
    };
    auto log = open_log(options);
    ASSERT_TRUE(log);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < 25; ++i) ASSERT_TRUE(log->record(numbered_record(t * 25 + i)).ok());
      });
    }
    for (auto& thread : threads) thread.join();
  }
  const auto lines = read_lines(path);
  ASSERT_EQ(mirrored.size(), lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(canonical_json(mirrored[i]), lines[i]);
}

TEST(AuditLog, LogMirrorWritesOneMarkedJsonObjectPerLineOnStdout) {
  mcval::testing::TempDir dir;
  log::init("info", "json", log::Stream::stdout_);
  auto options = options_for(dir.path() / "audit.log");
  options.mirror = log_mirror();
  auto log = open_log(options);
  ASSERT_TRUE(log);
  ::testing::internal::CaptureStdout();
  ASSERT_TRUE(log->record(numbered_record(1)).ok());
  ASSERT_TRUE(log->record(numbered_record(2)).ok());
  std::fflush(stdout);
  const std::string out = ::testing::internal::GetCapturedStdout();
  std::istringstream in(out);
  std::vector<nlohmann::json> events;
  for (std::string line; std::getline(in, line);) events.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(events.size(), 2u) << out;
  const auto lines = read_lines(dir.path() / "audit.log");
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(events[i]["audit"], true);
    EXPECT_EQ(events[i]["msg"], "audit");
    EXPECT_EQ(events[i]["level"], "info");
    EXPECT_TRUE(events[i].contains("ts"));
    // The shipped copy is the record itself: its hash can be checked downstream.
    EXPECT_EQ(canonical_json(events[i]["record"]), lines[i]);
  }
}

TEST(AuditLog, TwoWritersOnOneFileKeepOneChain) {
  // Two AuditLog objects are two open file descriptions, as two processes would have.
  mcval::testing::TempDir dir;
  const auto path = dir.path() / "audit.log";
  auto a = open_log(options_for(path));
  auto b = open_log(options_for(path));
  ASSERT_TRUE(a && b);
  std::thread ta([&] {
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(a->record(numbered_record(i)).ok());
  });
  std::thread tb([&] {
    for (int i = 100; i < 200; ++i) ASSERT_TRUE(b->record(numbered_record(i)).ok());
  });
  ta.join();
  tb.join();
  EXPECT_EQ(a->log_id(), b->log_id());
  a.reset();
  b.reset();
  EXPECT_EQ(verified(path).records, 200u);
}

TEST(AuditLog, VerifyingALiveLogSeesWholeLinesOnly) {
  mcval::testing::TempDir dir;
  const auto path = dir.path() / "audit.log";
  auto log = open_log(options_for(path));
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->record(numbered_record(0)).ok());
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 1; i <= 3000; ++i) ASSERT_TRUE(log->record(numbered_record(i)).ok());
    done = true;
  });
  int verifications = 0;
  while (!done) {
    const auto report = verify_log(path);
    ASSERT_TRUE(report.ok());
    ASSERT_TRUE(report->ok()) << report->to_text();
    ++verifications;
  }
  writer.join();
  EXPECT_GT(verifications, 0);
  EXPECT_EQ(verified(path).records, 3001u);
}

TEST(AuditLog, ALogCutWhileOpenIsNotContinued) {
  mcval::testing::TempDir dir;
  const auto path = dir.path() / "audit.log";
  auto log = open_log(options_for(path));
  ASSERT_TRUE(log);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(log->record(numbered_record(i)).ok());
  const auto lines = read_lines(path);
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(lines[0].size() + 1)), 0);
  const auto status = log->record(numbered_record(4));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::audit_tampered);
  EXPECT_NE(status.error().detail.find("shrank"), std::string::npos);
  EXPECT_FALSE(log->record(numbered_record(5)).ok()) << "stays refused";
}

TEST(AuditLog, FillsTimeFromItsClockAndKeepsAGivenTime) {
  mcval::testing::TempDir dir;
  auto options = options_for(dir.path() / "audit.log");
  options.clock = [] { return std::chrono::system_clock::time_point(std::chrono::milliseconds(1767323045678)); };
  auto log = open_log(options);
  ASSERT_TRUE(log);
  ASSERT_TRUE(log->record(numbered_record(1)).ok());
  AuditRecord given = numbered_record(2);
  given.time = "2025-12-31T23:59:59.999Z";
  given.version = "0.0.9";
  ASSERT_TRUE(log->record(given).ok());
  const auto lines = read_lines(dir.path() / "audit.log");
  EXPECT_EQ(nlohmann::json::parse(lines[0])["time"], "2026-01-02T03:04:05.678Z");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["time"], "2025-12-31T23:59:59.999Z");
  EXPECT_EQ(nlohmann::json::parse(lines[1])["version"], "0.0.9");
}

TEST(AuditLog, OptionsFromConfig) {
  Config config = Config::defaults();
  config.data = "/srv/mcval";
  EXPECT_EQ(audit_log_path(config), std::filesystem::path("/srv/mcval/audit/audit.log"));
  config.audit_log = "/var/log/mcval/audit.log";
  const auto options = audit_log_options(config, "1.2.3");
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->path, std::filesystem::path("/var/log/mcval/audit.log"));
  EXPECT_EQ(options->fsync_interval, std::chrono::milliseconds(200));
  EXPECT_TRUE(static_cast<bool>(options->mirror));
  config.audit_stdout = "false";
  EXPECT_FALSE(static_cast<bool>(audit_log_options(config, "1.2.3")->mirror));
  config.audit_stdout = "sometimes";
  EXPECT_EQ(audit_log_options(config, "1.2.3").error().code, ErrorCode::config_invalid);
  config.audit_stdout = "auto";
  config.audit_fsync_ms = -1;
  EXPECT_EQ(audit_log_options(config, "1.2.3").error().code, ErrorCode::config_invalid);
}

// `mcval serve --log-format text` filled the terminal with one JSON line per audit record: with
// text logs records are mirrored only when asked for; JSON logs (for a log shipper) keep them.
TEST(AuditLog, TextLogsMirrorAuditRecordsOnlyWhenAsked) {
  Config config = Config::defaults();
  EXPECT_EQ(config.audit_stdout, "auto");
  config.log_format = "json";
  EXPECT_TRUE(static_cast<bool>(audit_log_options(config, "1.2.3")->mirror));
  config.log_format = "text";
  EXPECT_FALSE(static_cast<bool>(audit_log_options(config, "1.2.3")->mirror));
  config.audit_stdout = "true";
  EXPECT_TRUE(static_cast<bool>(audit_log_options(config, "1.2.3")->mirror));
  config.log_format = "json";
  config.audit_stdout = "false";
  EXPECT_FALSE(static_cast<bool>(audit_log_options(config, "1.2.3")->mirror));
}

// Throughput with each durability policy, printed for docs/audit.md (not a pass/fail figure).
TEST(AuditLog, ThroughputBySyncPolicy) {
  for (const int fsync_ms : {0, 200}) {
    for (const int threads : {1, 8}) {
      mcval::testing::TempDir dir;
      auto options = options_for(dir.path() / "audit.log");
      options.fsync_interval = std::chrono::milliseconds(fsync_ms);
      auto log = open_log(options);
      ASSERT_TRUE(log);
      const int per_thread = fsync_ms == 0 ? 200 * (threads == 1 ? 1 : 4) / threads : 20000 / threads;
      const auto start = std::chrono::steady_clock::now();
      std::vector<std::thread> workers;
      for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
          for (int i = 0; i < per_thread; ++i) ASSERT_TRUE(log->record(numbered_record(i)).ok());
        });
      }
      for (auto& w : workers) w.join();
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("[ audit    ] fsync %s, %d thread%s: %.0f records/s\n",
                  fsync_ms == 0 ? "per record  " : "every 200 ms", threads, threads == 1 ? " " : "s",
                  per_thread * threads / seconds);
    }
  }
}

}  // namespace
}  // namespace mcval::audit
