#include "mcval/audit/read_aggregator.h"

#include <atomic>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "log_files.h"
#include "mcval/audit/verify.h"
#include "mcval/testing/temp_dir.h"

namespace mcval::audit {
namespace {

using namespace std::chrono_literals;
using testing::alice;

using testing::CollectingRecorder;
using testing::ManualClock;

ReadAggregatorOptions manual(ManualClock& clock) {
  ReadAggregatorOptions options;
  options.window = 300s;
  options.tick = 0ms;
  options.clock = clock.function();
  return options;
}

Requester bob() {
  return Requester{{"https://idp.example.org/realms/mcval", "bob-0002", "mcval-viewer"}, "viewer", "req-b", "10.0.0.5"};
}

TEST(ReadAggregator, FirstReadIsRecordedAtOnceAndTheRestWhenTheWindowCloses) {
  CollectingRecorder recorder;
  ManualClock clock;
  auto options = manual(clock);
  options.flush_every = 0s;
  ReadAggregator aggregator(recorder, options);
  Requester who = alice();
  who.request_id = "req-first";
  aggregator.tile_read(who, "3f2a9c0e5b1d7a44", "centre-a", 12, 1000);
  ASSERT_EQ(recorder.records().size(), 1u) << "the window's first read is on record at once";
  const auto opened = recorder.records()[0];
  ASSERT_TRUE(opened.reads.has_value());
  EXPECT_EQ(opened.reads->closed_by, "opened");
  EXPECT_EQ(opened.reads->tiles, 1u);
  EXPECT_EQ(opened.reads->bytes, 1000u);
  EXPECT_EQ(opened.reads->levels, (std::set<int>{12}));
  EXPECT_EQ(opened.request_id, "req-first");
  EXPECT_EQ(opened.time, "2026-01-02T03:04:05.000Z");
  clock.advance(1500ms);
  who.request_id = "req-second";
  aggregator.tile_read(who, "3f2a9c0e5b1d7a44", "centre-a", 13, 2000);
  aggregator.region_read(who, "3f2a9c0e5b1d7a44", "centre-a", 0, 30000);
  aggregator.thumbnail_read(who, "3f2a9c0e5b1d7a44", "centre-a", 500);
  clock.advance(298s);
  aggregator.flush_expired();
  EXPECT_EQ(recorder.records().size(), 1u) << "the window is still open";
  EXPECT_EQ(aggregator.open_windows(), 1u);
  clock.advance(1s);
  aggregator.flush_expired();
  const auto records = recorder.records();
  ASSERT_EQ(records.size(), 2u);
  const auto& r = records[1];
  EXPECT_EQ(r.action, Action::read_slide);
  EXPECT_EQ(r.actor, alice().actor);
  EXPECT_EQ(r.role, "viewer");
  EXPECT_EQ(r.resource, "slide:3f2a9c0e5b1d7a44");
  EXPECT_EQ(r.centre, "centre-a");
  EXPECT_EQ(r.outcome, Outcome::allowed);
  EXPECT_EQ(r.request_id, "req-first");
  EXPECT_EQ(r.source, "10.0.0.4");
  EXPECT_EQ(r.time, "2026-01-02T03:09:05.500Z");
  ASSERT_TRUE(r.reads.has_value());
  EXPECT_EQ(r.reads->tiles, 1u);
  EXPECT_EQ(r.reads->regions, 1u);
  EXPECT_EQ(r.reads->thumbnails, 1u);
  EXPECT_EQ(r.reads->requests, 3u);
  EXPECT_EQ(r.reads->bytes, 32500u);
  EXPECT_EQ(r.reads->levels, (std::set<int>{0, 13}));
  EXPECT_EQ(r.reads->first, "2026-01-02T03:04:06.500Z");
  EXPECT_EQ(r.reads->last, "2026-01-02T03:04:06.500Z");
  EXPECT_EQ(r.reads->closed_by, "window");
  EXPECT_TRUE(r.validate().ok()) << r.validate().error().to_string();
  EXPECT_EQ(aggregator.open_windows(), 0u);
}

// A kill -9 dropped every read of the open windows (counted in memory for 300 s): the counts
// are now written every flush_every, so a crash loses at most that many seconds of them.
TEST(ReadAggregator, CountsAreWrittenEveryFlushIntervalWhileTheWindowIsOpen) {
  CollectingRecorder recorder;
  ManualClock clock;
  ReadAggregator aggregator(recorder, manual(clock));  // flush_every 5 s
  aggregator.tile_read(alice(), "s1", "centre-a", 1, 10);
  for (int i = 0; i < 4; ++i) aggregator.tile_read(alice(), "s1", "centre-a", 2, 10);
  clock.advance(4s);
  aggregator.flush_expired();
  ASSERT_EQ(recorder.records().size(), 1u) << "not due yet";
  clock.advance(1s);
  aggregator.flush_expired();
  auto records = recorder.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].reads->closed_by, "flush");
  EXPECT_EQ(records[1].reads->tiles, 4u);
  EXPECT_EQ(records[1].reads->bytes, 40u);
  clock.advance(10s);
  aggregator.flush_expired();
  EXPECT_EQ(recorder.records().size(), 2u) << "no record without new reads";
  aggregator.tile_read(alice(), "s1", "centre-a", 3, 10);
  aggregator.flush_all();
  records = recorder.records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2].reads->closed_by, "shutdown");
  EXPECT_EQ(records[2].reads->tiles, 1u);
  EXPECT_EQ(aggregator.open_windows(), 0u);
}

TEST(ReadAggregator, SeparateWindowsPerActorSlideRoleAndSource) {
  CollectingRecorder recorder;
  ManualClock clock;
  ReadAggregator aggregator(recorder, manual(clock));
  Requester other_source = alice();
  other_source.source = "192.0.2.7";
  Requester other_role = alice();
  other_role.role = "steward";
  aggregator.tile_read(alice(), "s1", "centre-a", 1, 1);
  aggregator.tile_read(alice(), "s1", "centre-a", 1, 1);
  aggregator.tile_read(alice(), "s2", "centre-a", 1, 1);
  aggregator.tile_read(bob(), "s1", "centre-a", 1, 1);
  aggregator.tile_read(other_source, "s1", "centre-a", 1, 1);
  aggregator.tile_read(other_role, "s1", "centre-a", 1, 1);
  EXPECT_EQ(aggregator.open_windows(), 5u);
  auto records = recorder.records();
  ASSERT_EQ(records.size(), 5u);
  for (const auto& r : records) EXPECT_EQ(r.reads->closed_by, "opened");
  aggregator.flush_all();
  records = recorder.records();
  ASSERT_EQ(records.size(), 6u);
  EXPECT_EQ(records[5].resource, "slide:s1");
  EXPECT_EQ(records[5].actor, alice().actor);
  EXPECT_EQ(records[5].reads->tiles, 1u);
  EXPECT_EQ(records[5].reads->closed_by, "shutdown");
}

TEST(ReadAggregator, AReadAfterTheWindowClosesItAndOpensANewOne) {
  CollectingRecorder recorder;
  ManualClock clock;
  ReadAggregator aggregator(recorder, manual(clock));
  aggregator.tile_read(alice(), "s1", "centre-a", 1, 10);
  aggregator.tile_read(alice(), "s1", "centre-a", 1, 5);
  clock.advance(301s);
  aggregator.tile_read(alice(), "s1", "centre-a", 2, 20);
  auto records = recorder.records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].reads->bytes, 10u);
  EXPECT_EQ(records[1].reads->bytes, 5u);
  EXPECT_EQ(records[1].reads->closed_by, "window");
  EXPECT_EQ(records[2].reads->bytes, 20u);
  EXPECT_EQ(records[2].reads->closed_by, "opened");
  EXPECT_EQ(aggregator.open_windows(), 1u);
}

TEST(ReadAggregator, AWindowPastTheReadCapIsClosedAtOnce) {
  CollectingRecorder recorder;
  ManualClock clock;
  auto options = manual(clock);
  options.max_reads_per_window = 10;
  ReadAggregator aggregator(recorder, options);
  for (int i = 0; i < 25; ++i) aggregator.tile_read(alice(), "s1", "centre-a", 1, 1);
  auto records = recorder.records();
  // Each window: its first read ("opened"), then the other 9 when it reaches the cap.
  ASSERT_EQ(records.size(), 5u);
  for (const std::size_t i : {0, 2, 4}) EXPECT_EQ(records[i].reads->closed_by, "opened");
  for (const std::size_t i : {1, 3}) {
    EXPECT_EQ(records[i].reads->closed_by, "cap");
    EXPECT_EQ(records[i].reads->tiles, 9u);
  }
  aggregator.flush_all();
  records = recorder.records();
  ASSERT_EQ(records.size(), 6u);
  EXPECT_EQ(records[5].reads->tiles, 4u);
  EXPECT_EQ(records[5].reads->closed_by, "shutdown");
}

TEST(ReadAggregator, OpenWindowsAreBoundedByEvictingTheOldest) {
  CollectingRecorder recorder;
  ManualClock clock;
  auto options = manual(clock);
  options.max_open_windows = 3;
  ReadAggregator aggregator(recorder, options);
  for (int i = 0; i < 5; ++i) {
    aggregator.tile_read(alice(), "slide-" + std::to_string(i), "centre-a", 1, 1);
    aggregator.tile_read(alice(), "slide-" + std::to_string(i), "centre-a", 1, 1);
    clock.advance(1s);
  }
  EXPECT_EQ(aggregator.open_windows(), 3u);
  std::vector<std::string> evicted;
  for (const auto& r : recorder.records()) {
    if (r.reads->closed_by == "evicted") evicted.push_back(r.resource);
  }
  EXPECT_EQ(evicted, (std::vector<std::string>{"slide:slide-0", "slide:slide-1"}));
}

TEST(ReadAggregator, DestructionFlushesOpenWindows) {
  CollectingRecorder recorder;
  ManualClock clock;
  {
    ReadAggregator aggregator(recorder, manual(clock));
    aggregator.tile_read(alice(), "s1", "centre-a", 1, 1);
    aggregator.tile_read(alice(), "s1", "centre-a", 1, 1);
    aggregator.tile_read(bob(), "s1", "centre-a", 1, 1);
    aggregator.tile_read(bob(), "s1", "centre-a", 1, 1);
    ASSERT_EQ(recorder.records().size(), 2u);
  }
  ASSERT_EQ(recorder.records().size(), 4u);
  EXPECT_EQ(recorder.records()[3].reads->closed_by, "shutdown");
}

TEST(ReadAggregator, ManyThreadsLoseNoRead) {
  CollectingRecorder recorder;
  ManualClock clock;
  auto options = manual(clock);
  options.max_reads_per_window = 777;  // some windows close by cap while others read
  {
    ReadAggregator aggregator(recorder, options);
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        Requester who = t % 2 ? alice() : bob();
        for (int i = 0; i < 1000; ++i) {
          aggregator.tile_read(who, "slide-" + std::to_string(i % 4), "centre-a", i % 7, 3);
        }
      });
    }
    for (auto& thread : threads) thread.join();
  }
  std::uint64_t tiles = 0, bytes = 0;
  for (const auto& r : recorder.records()) {
    tiles += r.reads->tiles;
    bytes += r.reads->bytes;
    EXPECT_LE(r.reads->tiles, 777u);
  }
  EXPECT_EQ(tiles, 8000u);
  EXPECT_EQ(bytes, 24000u);
}

TEST(ReadAggregator, BackgroundTickClosesWindowsWithoutFurtherReads) {
  CollectingRecorder recorder;
  ManualClock clock;
  auto options = manual(clock);
  options.tick = 5ms;
  ReadAggregator aggregator(recorder, options);
  aggregator.tile_read(alice(), "s1", "centre-a", 1, 1);
  aggregator.tile_read(alice(), "s1", "centre-a", 1, 1);
  clock.advance(301s);
  for (int i = 0; i < 400 && recorder.records().size() < 2; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(recorder.records().size(), 2u);
  EXPECT_EQ(recorder.records()[1].reads->closed_by, "window");
  EXPECT_EQ(aggregator.open_windows(), 0u);
}

TEST(ReadAggregator, RecordsGoThroughARealLogAndVerify) {
  mcval::testing::TempDir dir;
  const auto path = dir.path() / "audit.log";
  {
    auto log = AuditLog::open(testing::options_for(path));
    ASSERT_TRUE(log.ok());
    ManualClock clock;
    ReadAggregator aggregator(**log, manual(clock));
    for (int i = 0; i < 50; ++i) aggregator.tile_read(i % 2 ? alice() : bob(), "s" + std::to_string(i % 5), "c", i % 3, 100);
  }
  const auto report = verify_log(path);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << report->to_text();
  EXPECT_EQ(report->records, 20u);  // per window: the first read, then the other four
  const auto first = nlohmann::json::parse(testing::read_lines(path).at(0));
  EXPECT_EQ(first["action"], "read_slide");
  EXPECT_EQ(first["reads"]["tiles"], 1);
  EXPECT_EQ(first["reads"]["closed_by"], "opened");
  const auto last = nlohmann::json::parse(testing::read_lines(path).at(19));
  EXPECT_EQ(last["reads"]["tiles"], 4);
  EXPECT_EQ(last["reads"]["closed_by"], "shutdown");
}

TEST(ReadAggregator, OptionsFromConfig) {
  Config config = Config::defaults();
  const auto options = read_aggregator_options(config);
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->window, 300s);
  EXPECT_EQ(options->flush_every, 5s);
  config.audit_read_flush_s = -1;
  EXPECT_EQ(read_aggregator_options(config).error().code, ErrorCode::config_invalid);
  config.audit_read_flush_s = 0;
  EXPECT_EQ(read_aggregator_options(config)->flush_every, 0s);
  config.audit_read_window_s = 0;
  EXPECT_EQ(read_aggregator_options(config).error().code, ErrorCode::config_invalid);
}

}  // namespace
}  // namespace mcval::audit
