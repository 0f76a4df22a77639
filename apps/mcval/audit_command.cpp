// `mcval audit verify|checkpoint|keygen`: the operator's side of the audit log (docs/audit.md).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "mcval/audit/audit_log.h"
#include "mcval/audit/seal.h"
#include "mcval/audit/verify.h"
#include "mcval/common/files.h"

namespace mcval::app {

namespace {
std::filesystem::path log_file(const Config& config, const std::string& log) {
  return log.empty() ? audit::audit_log_path(config) : std::filesystem::path(log);
}
}  // namespace

int run_audit_verify(const Config& config, const AuditVerifyOptions& options) {
  std::optional<audit::Checkpoint> checkpoint;
  std::optional<audit::SignedCheckpoint> sealed;
  if (!options.public_key.empty()) {
    if (!options.checkpoint.empty()) {
      return fail(Error{ErrorCode::invalid_argument, "--checkpoint and --public-key: give one of them"});
    }
    auto key = audit::Ed25519Key::load_public(options.public_key);
    if (!key.ok()) return fail(key.error());
    const auto log_path = log_file(config, options.log);
    const auto store = options.checkpoints.empty()
                           ? audit::checkpoint_store_for(config, log_path)
                           : std::make_unique<audit::FileCheckpointStore>(options.checkpoints);
    auto last = audit::last_signed_checkpoint(*store, *key);
    if (!last.ok()) return fail(last.error());
    if (!*last) {
      return fail(Error{ErrorCode::audit_tampered, "no signed checkpoint of " + log_path.string() + " in " +
                                                       store->describe() + ": the log cannot be checked against its seal"});
    }
    sealed = **last;
    checkpoint = sealed->checkpoint;
  }
  if (!options.checkpoint.empty()) {
    auto text = read_file(options.checkpoint);
    if (!text.ok()) return fail(text.error());
    auto parsed = audit::Checkpoint::parse(*text);
    if (!parsed.ok()) return fail(Error{parsed.error().code, options.checkpoint + ": " + parsed.error().detail});
    checkpoint = std::move(parsed).value();
  }
  // A folder (the per-pod logs of a scaled-out server, docs/deployment.md): every *.log in it.
  const auto path = log_file(config, options.log);
  std::vector<std::filesystem::path> logs;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    if (checkpoint) {
      return fail(Error{ErrorCode::invalid_argument, "--checkpoint and --public-key apply to one log file, not a folder"});
    }
    for (auto it = std::filesystem::directory_iterator(path, ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec)) {
      if (it->path().extension() == ".log" && it->is_regular_file(ec)) logs.push_back(it->path());
    }
    if (ec) return fail(Error{ErrorCode::io_error, "cannot list " + path.string() + ": " + ec.message()});
    std::sort(logs.begin(), logs.end());
    if (logs.empty()) return fail(Error{ErrorCode::not_found, "no audit log (*.log) in " + path.string()});
  } else {
    logs.push_back(path);
  }
  nlohmann::json reports = nlohmann::json::array();
  std::optional<Error> first_failure;
  for (const auto& file : logs) {
    auto report = audit::verify_log(file, checkpoint);
    if (!report.ok()) return fail(report.error());
    // Records after the last signed checkpoint: protected by the chain only (anyone who can
    // write the file could have appended them).
    const std::uint64_t unsealed = sealed && report->ok() ? report->last_seq - sealed->checkpoint.seq : 0;
    if (options.json) {
      auto j = report->to_json();
      if (sealed) {
        j["signed_checkpoint"] = sealed->to_json();
        j["unsealed_records"] = unsealed;
      }
      reports.push_back(std::move(j));
    } else {
      if (logs.size() > 1) std::printf("%s:\n", file.c_str());
      std::fputs(report->to_text().c_str(), stdout);
      if (sealed && report->ok()) {
        std::printf("  signed        checkpoint seq %llu signed by key %s: signature valid\n",
                    static_cast<unsigned long long>(sealed->checkpoint.seq), sealed->key_id.c_str());
        std::printf("  unsealed tail: %llu records after the last checkpoint\n",
                    static_cast<unsigned long long>(unsealed));
      }
    }
    if (!report->ok() && !first_failure) first_failure = report->to_error();
    if (options.require_sealed && unsealed > 0 && !first_failure) {
      first_failure = Error{ErrorCode::audit_tampered, file.string() + ": unsealed tail: " + std::to_string(unsealed) +
                                                           " records after the last checkpoint"};
    }
  }
  if (options.json) std::printf("%s\n", (logs.size() == 1 ? reports[0] : reports).dump(2).c_str());
  std::fflush(stdout);
  return first_failure ? fail(*first_failure) : 0;
}

int run_audit_checkpoint(const Config& config, const AuditCheckpointOptions& options) {
  const auto path = log_file(config, options.log);
  auto checkpoint = audit::take_checkpoint(path);
  if (!checkpoint.ok()) return fail(checkpoint.error());
  const std::string text = checkpoint->to_json().dump(2) + "\n";
  if (options.out.empty()) {
    std::fputs(text.c_str(), stdout);
    return 0;
  }
  if (auto written = write_file_atomic(options.out, text); !written.ok()) return fail(written.error());
  std::printf("checkpoint of %s: log %s, seq %llu, hash %s, written to %s\n", path.c_str(),
              checkpoint->log_id.c_str(), static_cast<unsigned long long>(checkpoint->seq), checkpoint->hash.c_str(),
              options.out.c_str());
  return 0;
}

int run_audit_keygen(const std::string& out) {
  auto written = audit::write_key_pair(out);
  if (!written.ok()) return fail(written.error());
  std::printf("signing key: %s (keep it secret: mount it as a Secret file, --audit-signing-key-file)\n"
              "public key:  %s (give it to whoever verifies: mcval audit verify --public-key)\n",
              written->c_str(), (std::filesystem::path(out) / "audit-signing-key.pub.pem").c_str());
  return 0;
}

}  // namespace mcval::app
