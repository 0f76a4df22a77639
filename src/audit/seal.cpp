#include "mcval/audit/seal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "line_check.h"
#include "mcval/audit/record.h"
#include "mcval/audit/verify.h"
#include "mcval/common/files.h"
#include "mcval/common/logging.h"
#include "mcval/common/sha256.h"
#include "mcval/common/strings.h"

namespace mcval::audit {

struct Ed25519Key::Handle {
  EVP_PKEY* pkey = nullptr;
  ~Handle() { EVP_PKEY_free(pkey); }
};

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    int value = 0;
    for (char c : hex.substr(2 * i, 2)) {
      value <<= 4;
      if (c >= '0' && c <= '9') value |= c - '0';
      else if (c >= 'a' && c <= 'f') value |= c - 'a' + 10;
      else return std::nullopt;
    }
    out[i] = static_cast<char>(value);
  }
  return out;
}

Result<std::string> bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size <= 0 || data == nullptr) return Error{ErrorCode::internal, "OpenSSL wrote no PEM"};
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

Result<Ed25519Key> Ed25519Key::load(const std::filesystem::path& pem_file, bool want_private) {
  MCVAL_TRY_ASSIGN(text, read_file(pem_file));
  Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) return Error{ErrorCode::internal, "OpenSSL: out of memory"};
  EVP_PKEY* pkey = want_private ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                                : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  const std::string kind = want_private ? "an Ed25519 private key (PEM)" : "an Ed25519 public key (PEM)";
  auto handle = std::make_shared<Handle>();
  handle->pkey = pkey;
  if (pkey == nullptr || EVP_PKEY_id(pkey) != EVP_PKEY_ED25519) {
    return Error{ErrorCode::invalid_argument, pem_file.string() + " is not " + kind};
  }
  return adopt(std::move(handle), want_private);
}

Ed25519Key Ed25519Key::adopt(std::shared_ptr<Handle> handle, bool has_private) {
  Ed25519Key key;
  key.key_ = std::move(handle);
  key.has_private_ = has_private;
  return key;
}

Result<Ed25519Key> Ed25519Key::load_private(const std::filesystem::path& pem_file) { return load(pem_file, true); }
Result<Ed25519Key> Ed25519Key::load_public(const std::filesystem::path& pem_file) { return load(pem_file, false); }

Result<Ed25519Key> Ed25519Key::generate() {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  auto handle = std::make_shared<Handle>();
  const bool ok = ctx != nullptr && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &handle->pkey) == 1;
  EVP_PKEY_CTX_free(ctx);
  if (!ok) return Error{ErrorCode::internal, "OpenSSL cannot generate an Ed25519 key"};
  return adopt(std::move(handle), true);
}

Result<std::string> Ed25519Key::sign(std::string_view message) const {
  if (!key_ || !has_private_) return Error{ErrorCode::invalid_argument, "signing needs the private key"};
  MdCtx ctx(EVP_MD_CTX_new());
  unsigned char signature[64];
  std::size_t size = sizeof signature;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_->pkey) != 1 ||
      EVP_DigestSign(ctx.get(), signature, &size, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {
    return Error{ErrorCode::internal, "OpenSSL cannot sign with the Ed25519 key"};
  }
  return to_hex(signature, size);
}

bool Ed25519Key::verify(std::string_view message, std::string_view signature_hex) const {
  if (!key_) return false;
  const auto signature = from_hex(signature_hex);
  if (!signature || signature->size() != 64) return false;
  MdCtx ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_->pkey) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

std::string Ed25519Key::key_id() const {
  unsigned char raw[32];
  std::size_t size = sizeof raw;
  if (!key_ || EVP_PKEY_get_raw_public_key(key_->pkey, raw, &size) != 1) return {};
  return sha256_hex(std::string(reinterpret_cast<const char*>(raw), size)).substr(0, 16);
}

Result<std::string> Ed25519Key::private_pem() const {
  if (!key_ || !has_private_) return Error{ErrorCode::invalid_argument, "no private key"};
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_->pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Error{ErrorCode::internal, "OpenSSL cannot write the private key"};
  }
  return bio_text(bio.get());
}

Result<std::string> Ed25519Key::public_pem() const {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!key_ || !bio || PEM_write_bio_PUBKEY(bio.get(), key_->pkey) != 1) {
    return Error{ErrorCode::internal, "OpenSSL cannot write the public key"};
  }
  return bio_text(bio.get());
}

Result<std::filesystem::path> write_key_pair(const std::filesystem::path& folder) {
  const auto private_file = folder / "audit-signing-key.pem";
  const auto public_file = folder / "audit-signing-key.pub.pem";
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) return Error{ErrorCode::io_error, "cannot create " + folder.string() + ": " + ec.message()};
  if (std::filesystem::exists(private_file, ec) || std::filesystem::exists(public_file, ec)) {
    return Error{ErrorCode::invalid_argument, "a signing key is already in " + folder.string() + ": not overwritten"};
  }
  MCVAL_TRY_ASSIGN(key, Ed25519Key::generate());
  MCVAL_TRY_ASSIGN(private_text, key.private_pem());
  MCVAL_TRY_ASSIGN(public_text, key.public_pem());
  const int fd = ::open(private_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Error{ErrorCode::io_error, "cannot create " + private_file.string() + ": " + std::strerror(errno)};
  const bool written = ::write(fd, private_text.data(), private_text.size()) == static_cast<ssize_t>(private_text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written) return Error{ErrorCode::io_error, "cannot write " + private_file.string()};
  MCVAL_TRY(write_file_atomic(public_file, public_text));
  return private_file;
}

std::string SignedCheckpoint::message() const {
  return "mcval-audit-checkpoint-v1\n" + checkpoint.log_id + "\n" + std::to_string(checkpoint.seq) + "\n" +
         checkpoint.hash + "\n" + checkpoint.time + "\n";
}

nlohmann::json SignedCheckpoint::to_json() const {
  nlohmann::json j = checkpoint.to_json();
  j["key"] = key_id;
  j["signature"] = signature;
  return j;
}

Result<SignedCheckpoint> SignedCheckpoint::from_json(const nlohmann::json& json) {
  if (!json.is_object() || json.size() != 7) return Error{ErrorCode::invalid_argument, "signed checkpoint: wrong keys"};
  nlohmann::json plain = json;
  const auto key = plain.find("key");
  const auto signature = plain.find("signature");
  if (key == plain.end() || !key->is_string() || signature == plain.end() || !signature->is_string() ||
      !detail::is_lower_hex(signature->get<std::string>(), 128)) {
    return Error{ErrorCode::invalid_argument, "signed checkpoint: no \"key\" and hex \"signature\""};
  }
  SignedCheckpoint signed_checkpoint;
  signed_checkpoint.key_id = key->get<std::string>();
  signed_checkpoint.signature = signature->get<std::string>();
  plain.erase("key");
  plain.erase("signature");
  MCVAL_TRY_ASSIGN(checkpoint, Checkpoint::from_json(plain));
  signed_checkpoint.checkpoint = std::move(checkpoint);
  return signed_checkpoint;
}

Result<SignedCheckpoint> SignedCheckpoint::sign(const Checkpoint& checkpoint, const Ed25519Key& key) {
  SignedCheckpoint out;
  out.checkpoint = checkpoint;
  out.key_id = key.key_id();
  MCVAL_TRY_ASSIGN(signature, key.sign(out.message()));
  out.signature = std::move(signature);
  return out;
}

Status FileCheckpointStore::append(const SignedCheckpoint& checkpoint) {
  std::lock_guard<std::mutex> guard(mutex_);
  std::error_code ec;
  if (file_.has_parent_path()) std::filesystem::create_directories(file_.parent_path(), ec);
  const std::string line = checkpoint.to_json().dump() + "\n";
  const int fd = ::open(file_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Error{ErrorCode::io_error, "cannot open " + file_.string() + ": " + std::strerror(errno)};
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fdatasync(fd) == 0;
  ::close(fd);
  if (!ok) return Error{ErrorCode::io_error, "cannot write " + file_.string()};
  return {};
}

Result<std::vector<SignedCheckpoint>> FileCheckpointStore::all() const {
  std::lock_guard<std::mutex> guard(mutex_);
  std::vector<SignedCheckpoint> out;
  std::error_code ec;
  if (!std::filesystem::exists(file_, ec)) return out;
  MCVAL_TRY_ASSIGN(text, read_file(file_));
  std::istringstream in(text);
  std::size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    auto parsed = SignedCheckpoint::from_json(nlohmann::json::parse(line, nullptr, false));
    if (!parsed.ok()) {
      return Error{ErrorCode::invalid_argument, file_.string() + ": line " + std::to_string(number) + ": " +
                                                    parsed.error().detail};
    }
    out.push_back(std::move(parsed).value());
  }
  return out;
}

std::filesystem::path checkpoint_folder(const Config& config) {
  if (!config.audit_checkpoint_dir.empty()) return config.audit_checkpoint_dir;
  return std::filesystem::path(config.data) / "audit-checkpoints";
}

std::unique_ptr<CheckpointStore> checkpoint_store_for(const Config& config, const std::filesystem::path& log_path) {
  return std::make_unique<FileCheckpointStore>(checkpoint_folder(config) /
                                               (log_path.filename().string() + ".checkpoints"));
}

Result<std::optional<SignedCheckpoint>> last_signed_checkpoint(const CheckpointStore& store, const Ed25519Key& key) {
  MCVAL_TRY_ASSIGN(all, store.all());
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (!all[i].verify(key)) {
      return Error{ErrorCode::audit_tampered, store.describe() + ": checkpoint " + std::to_string(i + 1) +
                                                  " (seq " + std::to_string(all[i].checkpoint.seq) +
                                                  ") is not signed by this key"};
    }
  }
  if (all.empty()) return std::optional<SignedCheckpoint>{};
  return std::optional<SignedCheckpoint>{all.back()};
}

Result<SealOptions> seal_options(const Config& config) {
  if (config.audit_checkpoint_records < 1 || config.audit_checkpoint_s < 1 || config.audit_checkpoint_s > 86400) {
    return Error{ErrorCode::config_invalid, "audit_checkpoint_records must be >= 1 and audit_checkpoint_s 1-86400"};
  }
  SealOptions options;
  options.every_records = static_cast<std::uint64_t>(config.audit_checkpoint_records);
  options.every = std::chrono::seconds(config.audit_checkpoint_s);
  return options;
}

AuditSealer::AuditSealer(AuditLog& log, Ed25519Key key, std::unique_ptr<CheckpointStore> store, SealOptions options)
    : log_(log), key_(std::move(key)), store_(std::move(store)), options_(options),
      sealed_at_(std::chrono::steady_clock::now()) {}

Result<std::unique_ptr<AuditSealer>> AuditSealer::start(AuditLog& log, Ed25519Key key,
                                                        std::unique_ptr<CheckpointStore> store, SealOptions options) {
  if (!key.has_private()) return Error{ErrorCode::config_invalid, "the audit signing key must be a private key"};
  MCVAL_TRY_ASSIGN(last, last_signed_checkpoint(*store, key));
  const std::string where = store->describe();
  const auto refuse = [&](const std::string& what) {
    return Error{ErrorCode::audit_tampered,
                 "the audit log " + log.path().string() + " " + what + " (last signed checkpoint in " + where +
                     "); mcval does not continue it: run `mcval audit verify --public-key ...`, "
                     "keep the files as evidence"};
  };
  std::uint64_t sealed_seq = 0;
  if (last) {
    const Checkpoint now = log.checkpoint();
    const Checkpoint& sealed = last->checkpoint;
    if (now.log_id != sealed.log_id) {
      return refuse("is not the log that was sealed: it is log " + now.log_id + " (or empty), the checkpoint is of log " +
                    sealed.log_id + " at seq " + std::to_string(sealed.seq));
    }
    if (now.seq < sealed.seq) {
      return refuse("was cut: it ends at seq " + std::to_string(now.seq) + ", below the signed checkpoint at seq " +
                    std::to_string(sealed.seq));
    }
    MCVAL_TRY_ASSIGN(report, verify_log(log.path(), sealed));
    if (!report.ok()) return refuse("fails verification against its signed checkpoint: " + report.to_error().detail);
    sealed_seq = sealed.seq;
  }
  // Created only once the log passed: a refused start seals nothing.
  std::unique_ptr<AuditSealer> sealer(new AuditSealer(log, std::move(key), std::move(store), options));
  sealer->sealed_seq_ = sealed_seq;
  MCVAL_TRY(sealer->seal());
  sealer->ticker_ = std::make_unique<Ticker>(options.tick, [raw = sealer.get()] { raw->seal_due(); });
  return sealer;
}

AuditSealer::~AuditSealer() {
  ticker_.reset();
  if (auto sealed = seal(); !sealed.ok()) {
    log::error("audit log: final checkpoint not sealed", {{"error", sealed.error().to_string()}});
  }
}

Status AuditSealer::seal() {
  std::lock_guard<std::mutex> guard(mutex_);
  const Checkpoint now = log_.checkpoint();
  if (now.seq == 0 || now.seq == sealed_seq_) return {};
  MCVAL_TRY(log_.sync());  // a checkpoint never covers records that are not on disk
  MCVAL_TRY_ASSIGN(signed_checkpoint, SignedCheckpoint::sign(now, key_));
  MCVAL_TRY(store_->append(signed_checkpoint));
  sealed_seq_ = now.seq;
  sealed_at_ = std::chrono::steady_clock::now();
  return {};
}

void AuditSealer::seal_due() {
  bool due = false;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    const std::uint64_t seq = log_.checkpoint().seq;
    due = seq > sealed_seq_ && (seq - sealed_seq_ >= options_.every_records ||
                                std::chrono::steady_clock::now() - sealed_at_ >= options_.every);
  }
  if (!due) return;
  if (auto sealed = seal(); !sealed.ok()) {
    log::error("audit log: checkpoint not sealed", {{"error", sealed.error().to_string()}});
  }
}

std::uint64_t AuditSealer::sealed_seq() const {
  std::lock_guard<std::mutex> guard(mutex_);
  return sealed_seq_;
}

}  // namespace mcval::audit
