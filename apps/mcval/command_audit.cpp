#include "command_audit.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <random>

#include "mcval/common/error.h"

namespace mcval::app {
namespace {

std::string local_account() {
  const uid_t uid = ::geteuid();
  passwd entry{};
  passwd* found = nullptr;
  char buffer[4096];
  if (::getpwuid_r(uid, &entry, buffer, sizeof buffer, &found) == 0 && found != nullptr && found->pw_name) {
    return found->pw_name;
  }
  return "uid:" + std::to_string(uid);  // containers often run as a uid without a passwd entry
}

std::string command_run_id() {
  std::random_device device;
  char id[17];
  std::snprintf(id, sizeof id, "%08x%08x", device(), device());
  return id;
}

}  // namespace

Result<CommandAudit> CommandAudit::open(const Config& config) {
  MCVAL_TRY_ASSIGN(options, audit::audit_log_options(config, MCVAL_VERSION));
  options.mirror = nullptr;                       // a command's stdout is its own output
  options.fsync_interval = std::chrono::milliseconds(0);  // a few records: each on disk before going on
  MCVAL_TRY_ASSIGN(log, audit::AuditLog::open(std::move(options)));
  CommandAudit audit;
  audit.log_ = std::shared_ptr<audit::AuditLog>(std::move(log));
  audit.who_.actor = audit::Actor{"local", local_account(), "mcval-cli"};
  audit.who_.role = "admin";  // whoever may run mcval on the data folder holds every role there
  audit.who_.request_id = command_run_id();
  audit.who_.source = "cli";
  return audit;
}

Status CommandAudit::record(audit::Action action, std::string resource, std::string centre, audit::Outcome outcome,
                            std::string reason) {
  return log_->record(
      audit::AuditRecord::make(action, who_, std::move(resource), std::move(centre), outcome, std::move(reason)));
}

std::pair<audit::Outcome, std::string> job_outcome(int exit_status) {
  if (exit_status == 0) return {audit::Outcome::allowed, ""};
  // The error code's name where the exit status belongs to one code alone ("cancelled",
  // "inference_failed", ...), else "exit_<n>".
  int matches = 0;
  std::string_view name;
#define X(code, http, exit, message)                          \
  if (mcval::exit_status(ErrorCode::code) == exit_status) {   \
    ++matches;                                                \
    name = error_name(ErrorCode::code);                       \
  }
#include "mcval/common/error_codes.def"
#undef X
  return {audit::Outcome::failed, matches == 1 ? std::string(name) : "exit_" + std::to_string(exit_status)};
}

}  // namespace mcval::app
