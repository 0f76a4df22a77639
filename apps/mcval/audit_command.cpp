// `mcval audit verify|checkpoint`: the operator's side of the audit log (docs/audit.md).
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "mcval/audit/audit_log.h"
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
  if (!options.checkpoint.empty()) {
    auto text = read_file(options.checkpoint);
    if (!text.ok()) return fail(text.error());
    auto parsed = audit::Checkpoint::parse(*text);
    if (!parsed.ok()) return fail(Error{parsed.error().code, options.checkpoint + ": " + parsed.error().detail});
    checkpoint = std::move(parsed).value();
  }
  auto report = audit::verify_log(log_file(config, options.log), checkpoint);
  if (!report.ok()) return fail(report.error());
  if (options.json) {
    std::printf("%s\n", report->to_json().dump(2).c_str());
  } else {
    std::fputs(report->to_text().c_str(), stdout);
  }
  std::fflush(stdout);
  return report->ok() ? 0 : fail(report->to_error());
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

}  // namespace mcval::app
