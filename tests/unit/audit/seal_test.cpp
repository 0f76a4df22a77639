#include "mcval/audit/seal.h"

#include <gtest/gtest.h>

#include "log_files.h"
#include "mcval/audit/verify.h"
#include "mcval/testing/temp_dir.h"

namespace mcval::audit {
namespace {

using namespace std::chrono_literals;

SealOptions manual() {
  SealOptions options;
  options.every_records = 5;
  options.every = 3600s;
  options.tick = 0ms;
  return options;
}

struct Sealed {
  mcval::testing::TempDir dir;
  std::filesystem::path log_path = dir.path() / "log" / "audit.log";
  std::filesystem::path store_path = dir.path() / "checkpoints" / "audit.log.checkpoints";
  Ed25519Key key = *Ed25519Key::generate();

  std::unique_ptr<CheckpointStore> store() const { return std::make_unique<FileCheckpointStore>(store_path); }

  // Opens the log and starts sealing it, as `mcval serve` does.
  Result<std::pair<std::unique_ptr<AuditLog>, std::unique_ptr<AuditSealer>>> open() const {
    MCVAL_TRY_ASSIGN(log, AuditLog::open(testing::options_for(log_path)));
    MCVAL_TRY_ASSIGN(sealer, AuditSealer::start(*log, key, store(), manual()));
    return std::make_pair(std::move(log), std::move(sealer));
  }

  void write(int from, int to) const {
    auto opened = open();
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    for (int i = from; i <= to; ++i) {
      ASSERT_TRUE(opened->first->record(testing::numbered_record(i)).ok());
      opened->second->seal_due();
    }
    opened->second.reset();  // the final checkpoint
  }

  SignedCheckpoint last() const { return **last_signed_checkpoint(*store(), key); }
};

TEST(Seal, ASignatureCoversEveryFieldAndOnlyThisKeyMadeIt) {
  const auto key = *Ed25519Key::generate();
  const Checkpoint checkpoint{"0123456789abcdef0123456789abcdef", 42, std::string(64, 'a'), "2026-01-02T03:04:05.000Z"};
  auto signed_checkpoint = *SignedCheckpoint::sign(checkpoint, key);
  EXPECT_TRUE(signed_checkpoint.verify(key));
  EXPECT_EQ(signed_checkpoint.key_id, key.key_id());
  EXPECT_FALSE(signed_checkpoint.verify(*Ed25519Key::generate()));
  auto parsed = SignedCheckpoint::from_json(signed_checkpoint.to_json());
  ASSERT_TRUE(parsed.ok()) << parsed.error().to_string();
  EXPECT_TRUE(parsed->verify(key));
  parsed->checkpoint.seq = 41;
  EXPECT_FALSE(parsed->verify(key));
}

TEST(Seal, KeysRoundTripThroughPemFilesAndThePublicOneCannotSign) {
  mcval::testing::TempDir dir;
  const auto private_file = write_key_pair(dir.path() / "keys");
  ASSERT_TRUE(private_file.ok()) << private_file.error().to_string();
  EXPECT_EQ(std::filesystem::status(*private_file).permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  EXPECT_FALSE(write_key_pair(dir.path() / "keys").ok()) << "never overwrites a key";
  const auto signing = Ed25519Key::load_private(*private_file);
  const auto verifying = Ed25519Key::load_public(dir.path() / "keys" / "audit-signing-key.pub.pem");
  ASSERT_TRUE(signing.ok() && verifying.ok());
  EXPECT_EQ(signing->key_id(), verifying->key_id());
  EXPECT_TRUE(verifying->verify("m", *signing->sign("m")));
  EXPECT_FALSE(verifying->sign("m").ok());
  EXPECT_FALSE(Ed25519Key::load_private(dir.path() / "keys" / "audit-signing-key.pub.pem").ok());
}

TEST(Seal, CheckpointsAreTakenEveryNRecordsAndAtTheEnd) {
  Sealed s;
  s.write(1, 12);
  const auto all = *s.store()->all();
  std::vector<std::uint64_t> seqs;
  for (const auto& c : all) seqs.push_back(c.checkpoint.seq);
  EXPECT_EQ(seqs, (std::vector<std::uint64_t>{5, 10, 12}));
  EXPECT_TRUE(verify_log(s.log_path, s.last().checkpoint)->ok());
}

// The chain is unkeyed: a record appended with a correct hash verified. Against the signed
// checkpoint it is outside the seal (the unsealed tail), which `verify --require-sealed` fails.
TEST(Seal, AForgedAppendedRecordWithACorrectHashIsOutsideTheSeal) {
  Sealed s;
  s.write(1, 10);
  const auto last = s.last();
  auto record = testing::numbered_record(99);
  record.time = "2026-01-02T03:04:05.000Z";
  record.version = "0.1.0-test";
  const auto forged = chain_record(record, last.checkpoint.log_id, 11, last.checkpoint.hash);
  testing::write_raw(s.log_path, testing::read_all(s.log_path) + forged.line);
  const auto report = verify_log(s.log_path, last.checkpoint);
  ASSERT_TRUE(report->ok()) << "the chain alone cannot tell";
  EXPECT_EQ(report->last_seq - last.checkpoint.seq, 1u) << "one unsealed record";
}

// A server started on a log cut at its end reused sequence numbers; it now refuses to start.
TEST(Seal, ALogCutBelowItsLastCheckpointIsRefusedAndItsNumbersNotReused) {
  Sealed s;
  s.write(1, 10);
  auto lines = testing::read_lines(s.log_path);
  lines.resize(7);
  testing::write_lines(s.log_path, lines);
  const auto opened = s.open();
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, ErrorCode::audit_tampered);
  EXPECT_NE(opened.error().detail.find("was cut"), std::string::npos) << opened.error().detail;
  EXPECT_EQ(testing::read_lines(s.log_path).size(), 7u) << "not a byte written";
  const auto report = verify_log(s.log_path, s.last().checkpoint);
  EXPECT_EQ(report->problem->kind, ProblemKind::truncated);
  // Emptied or replaced by a new log: refused too.
  std::filesystem::remove(s.log_path);
  EXPECT_EQ(s.open().error().code, ErrorCode::audit_tampered);
}

TEST(Seal, ALogRewrittenUpToItsCheckpointIsRefused) {
  Sealed s;
  s.write(1, 10);
  // Rewrite from record 3 with correct hashes: a consistent chain that is not the sealed one.
  auto lines = testing::read_lines(s.log_path);
  const auto second = nlohmann::json::parse(lines[1]);
  std::string prev = second["hash"];
  const std::string log_id = second["log"];
  for (int i = 3; i <= 10; ++i) {
    auto rewritten = testing::numbered_record(i);
    rewritten.reason = "rewritten";
    rewritten.time = nlohmann::json::parse(lines[i - 1])["time"];
    rewritten.version = "0.1.0-test";
    const auto chained = chain_record(rewritten, log_id, static_cast<std::uint64_t>(i), prev);
    lines[i - 1] = chained.line.substr(0, chained.line.size() - 1);
    prev = chained.hash;
  }
  testing::write_lines(s.log_path, lines);
  EXPECT_TRUE(verify_log(s.log_path)->ok()) << "the chain alone cannot tell";
  EXPECT_EQ(verify_log(s.log_path, s.last().checkpoint)->problem->kind, ProblemKind::checkpoint_mismatch);
  EXPECT_EQ(s.open().error().code, ErrorCode::audit_tampered);
}

TEST(Seal, ACheckpointNotSignedByTheKeyIsRefused) {
  Sealed s;
  s.write(1, 3);
  auto forged = s.last();
  forged.checkpoint.seq = 2;
  ASSERT_TRUE(s.store()->append(forged).ok());
  EXPECT_EQ(last_signed_checkpoint(*s.store(), s.key).error().code, ErrorCode::audit_tampered);
  EXPECT_EQ(s.open().error().code, ErrorCode::audit_tampered);
}

TEST(Seal, AnIntactLogContinuesWithTheNextNumbers) {
  Sealed s;
  s.write(1, 4);
  s.write(5, 6);
  const auto report = verify_log(s.log_path, s.last().checkpoint);
  ASSERT_TRUE(report->ok()) << report->to_text();
  EXPECT_EQ(report->last_seq, 6u);
  EXPECT_EQ(s.last().checkpoint.seq, 6u);
}

}  // namespace
}  // namespace mcval::audit
