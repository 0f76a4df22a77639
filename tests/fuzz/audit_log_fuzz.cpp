// Fuzz target: the audit log verifier and the record checks. Any bytes as a log file: verify
// never fails on content (only I/O), a clean report is a chain of consecutive records whose
// checkpoint verifies, and a problem names a line of the file. Any bytes as field values: the
// record written (with fields withheld) is one the verifier accepts.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "mcval/audit/chain.h"
#include "mcval/audit/checkpoint.h"
#include "mcval/audit/record.h"
#include "mcval/audit/verify.h"

namespace {
using namespace mcval::audit;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

// The file each input is written to: memory-backed where the system has /dev/shm, removed at exit.
struct ScratchFile {
  std::filesystem::path path =
      (std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                 : std::filesystem::temp_directory_path()) /
      ("mcval-audit-fuzz-" + std::to_string(::getpid()) + ".log");
  ~ScratchFile() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
};

const std::filesystem::path& scratch() {
  static const ScratchFile file;
  return file.path;
}

void write(const std::string_view bytes) {
  std::ofstream out(scratch(), std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::uint64_t count_lines(std::string_view text) {
  std::uint64_t n = 0;
  for (char c : text) n += c == '\n';
  return n + (!text.empty() && text.back() != '\n');
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  write(text);
  const auto report = verify_log(scratch());
  check(report.ok());
  const auto lines = count_lines(text);
  if (report->ok()) {
    check(report->records == lines && report->last_seq == lines);
    if (lines > 0) {
      const auto checkpoint = take_checkpoint(scratch());
      check(checkpoint.ok() && checkpoint->seq == lines && checkpoint->hash == report->last_hash);
      const auto again = verify_log(scratch(), *checkpoint);
      check(again.ok() && again->ok());
    }
  } else {
    check(report->problem->line >= 1 && report->problem->line <= lines + 1);
    check(report->records < report->problem->line);
    check(!report->to_text().empty() && report->to_error().code == mcval::ErrorCode::audit_tampered);
  }

  if (const auto checkpoint = Checkpoint::parse(text); checkpoint.ok()) {
    const auto back = Checkpoint::from_json(checkpoint->to_json());
    check(back.ok() && back->seq == checkpoint->seq && back->hash == checkpoint->hash);
  }

  // The input's first line as every free-text field: what the log would write verifies.
  const std::string value(text.substr(0, std::min(text.find('\n'), text.size())));
  AuditRecord record = AuditRecord::make(Action::denied, Requester{{value, value, value}, value, value, value},
                                         value, value, Outcome::denied, value);
  record.time = "2026-01-02T03:04:05.678Z";
  record.version = value;
  const AuditRecord clean = record.sanitized();
  check(clean.validate().ok());
  check(record.validate().ok() == refusal_reason(value).empty());
  const std::string log_id = "00112233445566778899aabbccddeeff";
  write(chain_record(clean, log_id, 1, genesis_hash(log_id)).line);
  const auto written = verify_log(scratch());
  check(written.ok() && written->ok() && written->records == 1);
  return 0;
}
