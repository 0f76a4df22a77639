#include "mcval/audit/verify.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "log_files.h"
#include "mcval/testing/temp_dir.h"

namespace mcval::audit {
namespace {

using testing::edited_and_rehashed;
using testing::read_lines;
using testing::write_lines;

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() / "audit.log";
    testing::write_log(path_, 10);
    lines_ = read_lines(path_);
    ASSERT_EQ(lines_.size(), 10u);
  }

  VerifyReport verify(const std::optional<Checkpoint>& checkpoint = std::nullopt) {
    auto report = verify_log(path_, checkpoint);
    EXPECT_TRUE(report.ok()) << report.error().to_string();
    return report.ok() ? *report : VerifyReport{};
  }

  void expect_problem(const VerifyReport& report, ProblemKind kind, std::uint64_t line) {
    ASSERT_FALSE(report.ok()) << report.to_text();
    EXPECT_EQ(problem_name(report.problem->kind), problem_name(kind)) << report.to_text();
    EXPECT_EQ(report.problem->line, line) << report.to_text();
    EXPECT_EQ(report.to_error().code, ErrorCode::audit_tampered);
  }

  mcval::testing::TempDir dir_;
  std::filesystem::path path_;
  std::vector<std::string> lines_;
};

TEST_F(VerifyTest, UntouchedLogVerifies) {
  const auto report = verify();
  ASSERT_TRUE(report.ok()) << report.to_text();
  EXPECT_EQ(report.records, 10u);
  EXPECT_EQ(report.last_seq, 10u);
  EXPECT_EQ(report.last_hash, nlohmann::json::parse(lines_.back())["hash"]);
  EXPECT_EQ(report.log_id.size(), 32u);
  EXPECT_NE(report.to_text().find(": OK, 10 records (seq 1-10)"), std::string::npos) << report.to_text();
  const auto j = report.to_json();
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_TRUE(j["problem"].is_null());
  EXPECT_EQ(j["records"], 10);
}

TEST_F(VerifyTest, EditedByteInAFieldIsFoundOnItsLine) {
  const auto at = lines_[4].find("centre-a");
  ASSERT_NE(at, std::string::npos);
  lines_[4][at + 7] = 'b';  // centre-a -> centre-b
  write_lines(path_, lines_);
  const auto report = verify();
  expect_problem(report, ProblemKind::edited, 5);
  EXPECT_EQ(report.records, 4u);
  EXPECT_NE(report.to_text().find("TAMPERED at line 5: edited"), std::string::npos) << report.to_text();
}

TEST_F(VerifyTest, RemovedLineIsFound) {
  lines_.erase(lines_.begin() + 4);
  write_lines(path_, lines_);
  const auto report = verify();
  expect_problem(report, ProblemKind::removed, 5);
  EXPECT_NE(report.problem->detail.find("expected seq 5, found seq 6"), std::string::npos) << report.problem->detail;
}

TEST_F(VerifyTest, RemovedFirstLineIsFound) {
  lines_.erase(lines_.begin());
  write_lines(path_, lines_);
  expect_problem(verify(), ProblemKind::removed, 1);
}

TEST_F(VerifyTest, SwappedLinesAreReordered) {
  std::swap(lines_[4], lines_[5]);
  write_lines(path_, lines_);
  const auto report = verify();
  expect_problem(report, ProblemKind::reordered, 5);
  EXPECT_NE(report.problem->detail.find("seq 5 is at line 6"), std::string::npos) << report.problem->detail;
}

TEST_F(VerifyTest, ReplayedRecordIsDuplicated) {
  lines_.insert(lines_.begin() + 6, lines_[2]);
  write_lines(path_, lines_);
  expect_problem(verify(), ProblemKind::duplicated, 7);
}

TEST_F(VerifyTest, TruncatedEndIsFoundAgainstACheckpoint) {
  const auto checkpoint = take_checkpoint(path_);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.error().to_string();
  EXPECT_EQ(checkpoint->seq, 10u);
  lines_.resize(7);
  write_lines(path_, lines_);
  // Without the checkpoint the shorter log is a valid log: that is what checkpoints are for.
  EXPECT_TRUE(verify().ok());
  const auto report = verify(*checkpoint);
  expect_problem(report, ProblemKind::truncated, 8);
  EXPECT_NE(report.problem->detail.find("3 records removed from the end"), std::string::npos);
}

TEST_F(VerifyTest, CheckpointOfAnEarlierStateStillMatchesAfterAppends) {
  lines_.resize(6);
  write_lines(path_, lines_);
  const auto checkpoint = take_checkpoint(path_);
  ASSERT_TRUE(checkpoint.ok());
  testing::write_log(path_, 4);  // continues the chain to seq 10
  const auto report = verify(*checkpoint);
  EXPECT_TRUE(report.ok()) << report.to_text();
  EXPECT_EQ(report.last_seq, 10u);
  EXPECT_NE(report.to_text().find("checkpoint    seq 6"), std::string::npos) << report.to_text();
}

TEST_F(VerifyTest, RebuiltChainIsFoundAgainstACheckpoint) {
  const auto checkpoint = take_checkpoint(path_);
  ASSERT_TRUE(checkpoint.ok());
  // Rewrite record 8 and re-chain everything after it: consistent on its own.
  std::string prev = nlohmann::json::parse(lines_[6])["hash"];
  for (std::size_t i = 7; i < lines_.size(); ++i) {
    lines_[i] = edited_and_rehashed(lines_[i], [&](nlohmann::json& j) {
      if (i == 7) j["outcome"] = "allowed";
      j["prev"] = prev;
    });
    prev = nlohmann::json::parse(lines_[i])["hash"];
  }
  write_lines(path_, lines_);
  EXPECT_TRUE(verify().ok());
  expect_problem(verify(*checkpoint), ProblemKind::checkpoint_mismatch, 10);
}

TEST_F(VerifyTest, CheckpointOfAnotherLogIsAMismatch) {
  mcval::testing::TempDir other;
  testing::write_log(other.path() / "audit.log", 3);
  const auto foreign = take_checkpoint(other.path() / "audit.log");
  ASSERT_TRUE(foreign.ok());
  expect_problem(verify(*foreign), ProblemKind::checkpoint_mismatch, 1);
}

TEST_F(VerifyTest, AppendedGarbageIsFound) {
  lines_.push_back("hello, I am not JSON");
  write_lines(path_, lines_);
  const auto report = verify();
  expect_problem(report, ProblemKind::garbage, 11);
  EXPECT_EQ(report.records, 10u);
}

TEST_F(VerifyTest, EmptyLineIsGarbage) {
  lines_.insert(lines_.begin() + 3, "");
  write_lines(path_, lines_);
  expect_problem(verify(), ProblemKind::garbage, 4);
}

TEST_F(VerifyTest, TrailingPartialLineIsFound) {
  testing::write_raw(path_, testing::read_all(path_) + lines_[0].substr(0, 40));
  expect_problem(verify(), ProblemKind::partial_line, 11);
  // A complete record that lost only its newline is still a partial line.
  auto bytes = testing::read_all(path_);
  testing::write_raw(path_, bytes.substr(0, bytes.size() - 41));
  expect_problem(verify(), ProblemKind::partial_line, 10);
}

TEST_F(VerifyTest, EditedRecordWithRecomputedHashIsFoundThroughTheNextPrev) {
  lines_[3] = edited_and_rehashed(lines_[3], [](nlohmann::json& j) { j["outcome"] = "allowed"; });
  write_lines(path_, lines_);
  const auto report = verify();
  expect_problem(report, ProblemKind::edited, 4);
  EXPECT_NE(report.problem->detail.find("line 5 (seq 5) chains to a different hash"), std::string::npos)
      << report.problem->detail;
  EXPECT_EQ(report.records, 3u);
  EXPECT_EQ(report.last_seq, 3u);
}

TEST_F(VerifyTest, FirstRecordWithAnotherPrevIsEdited) {
  lines_[0] = edited_and_rehashed(lines_[0], [](nlohmann::json& j) { j["prev"] = std::string(64, 'a'); });
  write_lines(path_, lines_);
  expect_problem(verify(), ProblemKind::edited, 1);
}

TEST_F(VerifyTest, ReformattedRecordIsEdited) {
  auto j = nlohmann::json::parse(lines_[2]);
  lines_[2] = j.dump(1);  // same content, not canonical
  lines_[2].erase(std::remove(lines_[2].begin(), lines_[2].end(), '\n'), lines_[2].end());
  write_lines(path_, lines_);
  expect_problem(verify(), ProblemKind::edited, 3);
}

TEST_F(VerifyTest, AddedFieldIsOutsideTheSchemaEvenWithARecomputedHash) {
  lines_[5] = edited_and_rehashed(lines_[5], [](nlohmann::json& j) { j["patient_name"] = "Jane Doe"; });
  write_lines(path_, lines_);
  const auto report = verify();
  expect_problem(report, ProblemKind::garbage, 6);
  EXPECT_NE(report.problem->detail.find("keys outside the audit schema"), std::string::npos);
}

TEST_F(VerifyTest, RecordOfAnotherLogIsForeign) {
  mcval::testing::TempDir other;
  testing::write_log(other.path() / "audit.log", 10);
  const auto other_lines = read_lines(other.path() / "audit.log");
  lines_[6] = other_lines[6];
  write_lines(path_, lines_);
  expect_problem(verify(), ProblemKind::foreign, 7);
}

TEST_F(VerifyTest, MissingFileIsNotFoundAndEmptyFileIsAnEmptyLog) {
  const auto missing = verify_log(dir_.path() / "nope.log");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);

  const auto checkpoint = take_checkpoint(path_);
  ASSERT_TRUE(checkpoint.ok());
  testing::write_raw(path_, "");
  const auto empty = verify();
  EXPECT_TRUE(empty.ok());
  EXPECT_EQ(empty.records, 0u);
  expect_problem(verify(*checkpoint), ProblemKind::truncated, 1);
  const auto no_checkpoint = take_checkpoint(path_);
  ASSERT_FALSE(no_checkpoint.ok());
  EXPECT_EQ(no_checkpoint.error().code, ErrorCode::invalid_argument);
}

TEST_F(VerifyTest, CheckpointOfATamperedLogIsRefused) {
  lines_.erase(lines_.begin() + 2);
  write_lines(path_, lines_);
  const auto checkpoint = take_checkpoint(path_);
  ASSERT_FALSE(checkpoint.ok());
  EXPECT_EQ(checkpoint.error().code, ErrorCode::audit_tampered);
  EXPECT_NE(checkpoint.error().detail.find("line 3: removed"), std::string::npos) << checkpoint.error().detail;
}

TEST(Checkpoint, JsonRoundTripsAndIsStrict) {
  const Checkpoint c{"00112233445566778899aabbccddeeff", 42, std::string(64, 'e'), "2026-01-02T03:04:05.678Z"};
  const auto back = Checkpoint::parse(c.to_json().dump());
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->log_id, c.log_id);
  EXPECT_EQ(back->seq, 42u);
  EXPECT_EQ(back->hash, c.hash);
  EXPECT_EQ(back->time, c.time);
  // Regression (found by fuzz.audit_log): "v" built in memory is a signed integer, parsed text
  // gives an unsigned one; both are the format version.
  EXPECT_TRUE(Checkpoint::from_json(c.to_json()).ok());
  for (const char* bad : {"[]", "{}", "not json",
                          R"({"v":1,"log":"0011","seq":1,"hash":"eeee","time":"2026-01-02T03:04:05.678Z"})",
                          R"({"v":2,"log":"00112233445566778899aabbccddeeff","seq":1,"hash":"x","time":"t"})"}) {
    EXPECT_FALSE(Checkpoint::parse(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace mcval::audit
