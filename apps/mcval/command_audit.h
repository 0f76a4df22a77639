#pragma once
// The audit records of commands run from a shell (docs/audit.md, "What commands record"):
// imports, models added, inference and validation jobs, reports. They go to the same log as the
// server's (several processes may append to it at once), with the local account as the actor
// (iss "local", sub the user name, client_id "mcval-cli"), source "cli", and one request id per
// command run so that a job's start and end records belong together.
#include <memory>
#include <string>

#include "mcval/audit/audit_log.h"
#include "mcval/common/config.h"
#include "mcval/common/result.h"

namespace mcval::app {

class CommandAudit {
 public:
  /// Opens the audit log of `config` (--audit-log, or audit/audit.log in the data folder). A log
  /// that cannot be opened (a damaged chain, no permission) is an error: the command then
  /// changes nothing rather than run unaudited.
  static Result<CommandAudit> open(const Config& config);

  /// One record; a failure to write is returned (and the command should report it).
  Status record(audit::Action action, std::string resource, std::string centre, audit::Outcome outcome,
                std::string reason = {});

  const audit::Requester& requester() const { return who_; }

 private:
  std::shared_ptr<audit::AuditLog> log_;
  audit::Requester who_;
};

/// The outcome and reason of a command's exit status for its job_finished record: allowed and
/// "" for 0, failed and the error code's name otherwise (e.g. "cancelled", "inference_failed").
std::pair<audit::Outcome, std::string> job_outcome(int exit_status);

}  // namespace mcval::app
