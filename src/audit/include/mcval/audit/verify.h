#pragma once
// Verification of a whole audit log: every record's form and hash, the chain between records,
// and optionally a checkpoint (docs/audit.md, "Verifying").
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mcval/audit/checkpoint.h"
#include "mcval/common/result.h"

namespace mcval::audit {

/// What is wrong, by the first problem found (the names are stable: they appear in --json).
enum class ProblemKind {
  edited,               ///< a record's content changed: hash mismatch, non-canonical form, or
                        ///< hash recomputed so that the next record no longer chains to it
  removed,              ///< seq jumps forward: records are missing before this line
  reordered,            ///< the expected seq appears later in the file
  duplicated,           ///< a seq that was already seen (replayed record)
  foreign,              ///< a record of another log (different log id)
  truncated,            ///< the log ends before the checkpoint's seq
  checkpoint_mismatch,  ///< the record at the checkpoint's seq has another hash, or another log
  partial_line,         ///< the last line has no newline (interrupted or tampered write)
  garbage,              ///< a line that is not a JSON record of the audit schema
};

std::string_view problem_name(ProblemKind kind) noexcept;

struct Problem {
  ProblemKind kind;
  std::uint64_t line = 0;  ///< 1-based line of the record found edited, missing, out of place
  std::string detail;
};

struct VerifyReport {
  std::filesystem::path path;
  std::string log_id;
  std::uint64_t records = 0;     ///< records verified before the problem (all when ok)
  std::uint64_t last_seq = 0;    ///< of the last verified record
  std::string last_hash;
  std::string first_time;
  std::string last_time;
  std::optional<Checkpoint> checkpoint;
  std::optional<Problem> problem;

  bool ok() const noexcept { return !problem.has_value(); }
  /// {"ok":..., "path":..., "log":..., "records":..., "last_seq":..., "last_hash":...,
  ///  "first_time":..., "last_time":..., "checkpoint":{...}|null, "problem":{"kind","line","detail"}|null}
  nlohmann::json to_json() const;
  /// Several lines for a person: "OK" or "TAMPERED" with the line and what is wrong.
  std::string to_text() const;
  /// "line 17: removed: ..." (audit_tampered), for the one-line error of a command.
  Error to_error() const;
};

/// Walks the whole file once (streaming, constant memory) and checks every line. Errors are
/// only for a file that cannot be read (not_found, io_error); tampering is a report.
Result<VerifyReport> verify_log(const std::filesystem::path& path,
                                const std::optional<Checkpoint>& checkpoint = std::nullopt);

/// Verifies the log and returns a checkpoint of its last record (time: now).
/// audit_tampered when verification fails, invalid_argument when the log is empty.
Result<Checkpoint> take_checkpoint(const std::filesystem::path& path);

}  // namespace mcval::audit
