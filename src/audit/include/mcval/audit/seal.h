#pragma once
// Sealing: checkpoints of the audit log signed with Ed25519 by the log's writer and stored apart
// from the log, so that someone who can write the log file (but not the key or the checkpoint
// store) cannot append, cut or rewrite records up to the last checkpoint unnoticed
// (docs/audit.md, "Sealing"), as Certificate Transparency's signed tree heads do.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mcval/audit/audit_log.h"
#include "mcval/audit/checkpoint.h"
#include "mcval/audit/ticker.h"
#include "mcval/common/config.h"
#include "mcval/common/result.h"

namespace mcval::audit {

/// An Ed25519 key (OpenSSL), private (signs and verifies) or public (verifies). Copyable;
/// thread-safe for concurrent use.
class Ed25519Key {
 public:
  /// PEM (PKCS#8 private key, or SubjectPublicKeyInfo public key) from a file. not_found,
  /// io_error, or invalid_argument when it is not an Ed25519 key of that kind.
  static Result<Ed25519Key> load_private(const std::filesystem::path& pem_file);
  static Result<Ed25519Key> load_public(const std::filesystem::path& pem_file);
  /// A new random key pair.
  static Result<Ed25519Key> generate();

  bool has_private() const noexcept { return has_private_; }
  /// The 64-byte signature of `message`, hex; needs the private key.
  Result<std::string> sign(std::string_view message) const;
  /// Whether `signature_hex` is this key's signature of `message`.
  bool verify(std::string_view message, std::string_view signature_hex) const;
  /// First 16 hex digits of the SHA-256 of the raw public key: names the key in checkpoints.
  std::string key_id() const;
  /// PEM texts (the private one needs the private key).
  Result<std::string> private_pem() const;
  Result<std::string> public_pem() const;

 private:
  struct Handle;
  static Result<Ed25519Key> load(const std::filesystem::path& pem_file, bool want_private);
  static Ed25519Key adopt(std::shared_ptr<Handle> handle, bool has_private);
  std::shared_ptr<Handle> key_;
  bool has_private_ = false;
};

/// Writes a new key pair into `folder`: audit-signing-key.pem (private, mode 0600) and
/// audit-signing-key.pub.pem (public); refuses (already_exists... invalid_argument) to overwrite.
Result<std::filesystem::path> write_key_pair(const std::filesystem::path& folder);

/// A checkpoint signed by the log's writer.
struct SignedCheckpoint {
  Checkpoint checkpoint;
  std::string key_id;     ///< Ed25519Key::key_id() of the signer
  std::string signature;  ///< hex Ed25519 signature of message()

  /// What is signed: "mcval-audit-checkpoint-v1\n<log>\n<seq>\n<hash>\n<time>\n".
  std::string message() const;
  /// {"hash","key","log","seq","signature","time","v":1}
  nlohmann::json to_json() const;
  static Result<SignedCheckpoint> from_json(const nlohmann::json& json);
  static Result<SignedCheckpoint> sign(const Checkpoint& checkpoint, const Ed25519Key& key);
  bool verify(const Ed25519Key& key) const { return key.verify(message(), signature); }
};

/// Where signed checkpoints of one log file are kept, apart from the log. The file store is the
/// only implementation today; a database-backed one (shared by replicas) fits the same interface.
/// Implementations are thread-safe.
class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;
  /// Adds a checkpoint durably (on disk, or committed) before returning.
  virtual Status append(const SignedCheckpoint& checkpoint) = 0;
  /// Every checkpoint in the order appended (none: empty). invalid_argument for a malformed one.
  virtual Result<std::vector<SignedCheckpoint>> all() const = 0;
  /// Where it is, for messages.
  virtual std::string describe() const = 0;
};

/// Checkpoints as JSON lines in one file (appended and fsynced), e.g.
/// <checkpoint folder>/<log file name>.checkpoints.
class FileCheckpointStore final : public CheckpointStore {
 public:
  explicit FileCheckpointStore(std::filesystem::path file) : file_(std::move(file)) {}
  Status append(const SignedCheckpoint& checkpoint) override;
  Result<std::vector<SignedCheckpoint>> all() const override;
  std::string describe() const override { return file_.string(); }

 private:
  std::filesystem::path file_;
  mutable std::mutex mutex_;
};

/// The checkpoint folder of `config` (audit_checkpoint_dir, or <data>/audit-checkpoints) and the
/// file store of the log at `log_path` in it.
std::filesystem::path checkpoint_folder(const Config& config);
std::unique_ptr<CheckpointStore> checkpoint_store_for(const Config& config, const std::filesystem::path& log_path);

/// The last checkpoint of a store, after checking that every checkpoint in it is signed by `key`
/// (audit_tampered otherwise). Empty when the store has none.
Result<std::optional<SignedCheckpoint>> last_signed_checkpoint(const CheckpointStore& store, const Ed25519Key& key);

struct SealOptions {
  std::uint64_t every_records = 1000;         ///< seal when this many records are unsealed
  std::chrono::seconds every{60};             ///< and at least this often while records come
  std::chrono::milliseconds tick{1000};       ///< how often to check; 0: no thread (call seal_due())
};

/// Result<SealOptions> from config (audit_checkpoint_records, audit_checkpoint_s).
Result<SealOptions> seal_options(const Config& config);

/// Takes signed checkpoints of a running log automatically (every N records, every T seconds,
/// and when destroyed) into a store. start() first checks the log against the store's last
/// checkpoint and refuses (audit_tampered) a log that was cut below it, replaced, or rewritten
/// up to it: mcval then never continues such a log nor reuses its sequence numbers.
/// Thread-safe. `log` must outlive the sealer.
class AuditSealer {
 public:
  static Result<std::unique_ptr<AuditSealer>> start(AuditLog& log, Ed25519Key key,
                                                    std::unique_ptr<CheckpointStore> store, SealOptions options);
  /// Seals what is unsealed (a final checkpoint).
  ~AuditSealer();
  AuditSealer(const AuditSealer&) = delete;
  AuditSealer& operator=(const AuditSealer&) = delete;

  /// Signs and stores a checkpoint of the log's last record, if it moved since the last one.
  Status seal();
  /// seal() when every_records or `every` is reached.
  void seal_due();
  /// seq of the last sealed record.
  std::uint64_t sealed_seq() const;

 private:
  AuditSealer(AuditLog& log, Ed25519Key key, std::unique_ptr<CheckpointStore> store, SealOptions options);

  AuditLog& log_;
  Ed25519Key key_;
  std::unique_ptr<CheckpointStore> store_;
  SealOptions options_;
  mutable std::mutex mutex_;
  std::uint64_t sealed_seq_ = 0;
  std::chrono::steady_clock::time_point sealed_at_;
  std::unique_ptr<Ticker> ticker_;  // last: stopped first
};

}  // namespace mcval::audit
