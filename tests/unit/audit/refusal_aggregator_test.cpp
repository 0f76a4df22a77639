#include "mcval/audit/refusal_aggregator.h"

#include <gtest/gtest.h>

#include "log_files.h"
#include "mcval/audit/verify.h"
#include "mcval/testing/temp_dir.h"

namespace mcval::audit {
namespace {

using namespace std::chrono_literals;
using testing::CollectingRecorder;
using testing::ManualClock;

RefusalAggregatorOptions manual(ManualClock& clock) {
  RefusalAggregatorOptions options;
  options.window = 60s;
  options.tick = 0ms;
  options.clock = clock.function();
  return options;
}

AuditRecord refusal(Action action, std::string reason, std::string source, int request) {
  Requester anonymous;
  anonymous.request_id = "req-" + std::to_string(request);
  anonymous.source = std::move(source);
  return AuditRecord::make(action, anonymous, "", "", Outcome::denied, std::move(reason));
}

// A 15 s flood of refused tokens from one client wrote ~100 MB of audit log, one record per
// request: repeats are now counted, so a flood costs a record per address, reason and window.
TEST(RefusalAggregator, AFloodOfRefusedTokensFromOneClientIsCountedNotWrittenOneByOne) {
  CollectingRecorder recorder;
  ManualClock clock;
  RefusalAggregator refusals(recorder, manual(clock));
  for (int i = 0; i < 10000; ++i) {
    ASSERT_TRUE(refusals.record(refusal(Action::token_rejected, "bad_signature", "203.0.113.9", i)).ok());
    if (i == 0) clock.advance(1s);
  }
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(refusals.record(refusal(Action::denied, "token_missing", "203.0.113.9", 20000 + i)).ok());
  }
  auto records = recorder.records();
  ASSERT_EQ(records.size(), 2u) << "only the first of each kind is written at once";
  EXPECT_EQ(records[0].action, Action::token_rejected);
  EXPECT_EQ(records[0].request_id, "req-0");
  EXPECT_FALSE(records[0].repeats.has_value());
  EXPECT_EQ(records[1].reason, "token_missing");
  clock.advance(60s);
  refusals.flush_expired();
  records = recorder.records();
  ASSERT_EQ(records.size(), 4u);
  const auto& counted = records[2];
  EXPECT_EQ(counted.action, Action::token_rejected);
  EXPECT_EQ(counted.reason, "bad_signature");
  EXPECT_EQ(counted.source, "203.0.113.9");
  EXPECT_EQ(counted.outcome, Outcome::denied);
  EXPECT_EQ(counted.request_id, "req-1");
  ASSERT_TRUE(counted.repeats.has_value());
  EXPECT_EQ(counted.repeats->count, 9999u);
  EXPECT_EQ(counted.repeats->first, "2026-01-02T03:04:06.000Z");
  EXPECT_EQ(counted.repeats->last, "2026-01-02T03:04:06.000Z");
  EXPECT_EQ(counted.time, "2026-01-02T03:05:06.000Z");
  EXPECT_TRUE(counted.validate().ok()) << counted.validate().error().to_string();
  EXPECT_EQ(records[3].repeats->count, 499u);
  EXPECT_EQ(refusals.open_windows(), 0u);
}

TEST(RefusalAggregator, SeparateWindowsPerAddressAndReasonAndOthersPassUnchanged) {
  CollectingRecorder recorder;
  ManualClock clock;
  RefusalAggregator refusals(recorder, manual(clock));
  (void)refusals.record(refusal(Action::token_rejected, "expired", "10.0.0.1", 1));
  (void)refusals.record(refusal(Action::token_rejected, "expired", "10.0.0.2", 2));
  (void)refusals.record(refusal(Action::token_rejected, "bad_signature", "10.0.0.1", 3));
  // Not aggregated: a verified user's denial, another denial reason, a read.
  auto denied_user = AuditRecord::make(Action::denied, testing::alice(), "slide:1", "centre-a", Outcome::denied,
                                       "centre_not_allowed");
  (void)refusals.record(denied_user);
  (void)refusals.record(denied_user);
  (void)refusals.record(refusal(Action::denied, "csrf_token_mismatch", "10.0.0.1", 4));
  (void)refusals.record(refusal(Action::denied, "csrf_token_mismatch", "10.0.0.1", 5));
  EXPECT_EQ(recorder.records().size(), 7u);
  EXPECT_EQ(refusals.open_windows(), 3u);
  refusals.flush_all();
  EXPECT_EQ(recorder.records().size(), 7u) << "windows without repeats write nothing when they close";
}

TEST(RefusalAggregator, ARefusalAfterTheWindowWritesItsCountsAndOpensANewOne) {
  CollectingRecorder recorder;
  ManualClock clock;
  auto options = manual(clock);
  options.max_open_windows = 2;
  RefusalAggregator refusals(recorder, options);
  for (int i = 0; i < 3; ++i) (void)refusals.record(refusal(Action::token_rejected, "expired", "10.0.0.1", i));
  clock.advance(61s);
  (void)refusals.record(refusal(Action::token_rejected, "expired", "10.0.0.1", 9));
  auto records = recorder.records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[1].repeats->count, 2u);
  EXPECT_FALSE(records[2].repeats.has_value());
  EXPECT_EQ(records[2].request_id, "req-9");
  // Bounded: a third address closes the oldest window.
  (void)refusals.record(refusal(Action::token_rejected, "expired", "10.0.0.1", 10));
  (void)refusals.record(refusal(Action::token_rejected, "expired", "10.0.0.2", 11));
  (void)refusals.record(refusal(Action::token_rejected, "expired", "10.0.0.3", 12));
  EXPECT_EQ(refusals.open_windows(), 2u);
  records = recorder.records();
  ASSERT_EQ(records.size(), 6u);
  EXPECT_EQ(records[4].repeats->count, 1u);
  EXPECT_EQ(records[4].source, "10.0.0.1");
}

TEST(RefusalAggregator, CountedRecordsGoThroughARealLogAndVerify) {
  mcval::testing::TempDir dir;
  const auto path = dir.path() / "audit.log";
  {
    auto log = AuditLog::open(testing::options_for(path));
    ASSERT_TRUE(log.ok());
    ManualClock clock;
    RefusalAggregator refusals(**log, manual(clock));
    for (int i = 0; i < 100; ++i) (void)refusals.record(refusal(Action::denied, "token_missing", "10.0.0.1", i));
  }
  const auto report = verify_log(path);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->to_text();
  EXPECT_EQ(report->records, 2u);
  const auto counted = nlohmann::json::parse(testing::read_lines(path).at(1));
  EXPECT_EQ(counted["repeats"]["count"], 99);
}

TEST(RefusalAggregator, AVerifierRefusesRepeatsOnAnotherAction) {
  mcval::testing::TempDir dir;
  const auto path = dir.path() / "audit.log";
  testing::write_log(path, 1);
  auto j = nlohmann::json::parse(testing::read_lines(path).at(0));
  j["action"] = "read_report";
  j["repeats"] = {{"count", 2}, {"first", j["time"]}, {"last", j["time"]}};
  j.erase("hash");
  j["hash"] = sha256_hex(canonical_json(j));
  testing::write_lines(path, {canonical_json(j)});
  const auto report = verify_log(path);
  ASSERT_TRUE(report.ok());
  ASSERT_FALSE(report->ok());
  EXPECT_EQ(report->problem->kind, ProblemKind::garbage);
}

TEST(RefusalAggregator, RepeatsOnlyOnRefusals) {
  auto record = AuditRecord::make(Action::read_report, testing::alice(), "report:r", "", Outcome::allowed);
  record.time = "2026-01-02T03:04:05.000Z";
  record.repeats = RepeatSummary{3, "2026-01-02T03:04:05.000Z", "2026-01-02T03:04:05.000Z"};
  EXPECT_FALSE(record.validate().ok());
  std::vector<std::string> withheld;
  EXPECT_FALSE(record.sanitized(&withheld).repeats.has_value());
  EXPECT_EQ(withheld, std::vector<std::string>{"repeats"});
}

TEST(RefusalAggregator, OptionsFromConfig) {
  Config config = Config::defaults();
  EXPECT_EQ(refusal_aggregator_options(config)->window, 60s);
  config.audit_refusal_window_s = -1;
  EXPECT_EQ(refusal_aggregator_options(config).error().code, ErrorCode::config_invalid);
  config.audit_refusal_window_s = 0;
  CollectingRecorder recorder;
  RefusalAggregator every_one(recorder, *refusal_aggregator_options(config));
  for (int i = 0; i < 3; ++i) (void)every_one.record(refusal(Action::denied, "token_missing", "10.0.0.1", i));
  EXPECT_EQ(recorder.records().size(), 3u);
}

}  // namespace
}  // namespace mcval::audit
