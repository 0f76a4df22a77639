#pragma once
// One audit record: who did what to which resource, when, from where, and with what outcome.
// The schema is closed (docs/audit.md): there is no free-form field, so no patient data and no
// token can be carried by design, and every string is checked before it is written.
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mcval/common/result.h"

namespace mcval::audit {

/// The closed set of audited actions; the JSON name is the enumerator's name.
#define MCVAL_AUDIT_ACTIONS(X) \
  X(login)                     \
  X(logout)                    \
  X(token_rejected)            \
  X(denied)                    \
  X(read_slide)                \
  X(read_report)               \
  X(read_inference)            \
  X(job_started)               \
  X(job_finished)              \
  X(dataset_imported)          \
  X(model_added)               \
  X(report_created)            \
  X(config_changed)            \
  X(service_started)           \
  X(service_stopped)

enum class Action {
#define MCVAL_AUDIT_ENUM(name) name,
  MCVAL_AUDIT_ACTIONS(MCVAL_AUDIT_ENUM)
#undef MCVAL_AUDIT_ENUM
};

enum class Outcome { allowed, denied, failed };

/// "read_slide", "login", ...
std::string_view action_name(Action action) noexcept;
std::optional<Action> parse_action(std::string_view name) noexcept;
/// "allowed", "denied", "failed".
std::string_view outcome_name(Outcome outcome) noexcept;
std::optional<Outcome> parse_outcome(std::string_view name) noexcept;

/// The authenticated party, from the verified token: issuer, subject and OAuth client id.
/// All empty means anonymous (no token, or a token that was rejected before it was trusted).
struct Actor {
  std::string iss;
  std::string sub;
  std::string client_id;

  bool anonymous() const noexcept { return iss.empty() && sub.empty() && client_id.empty(); }
  friend bool operator==(const Actor&, const Actor&) = default;
};

/// What the server knows about one request, built once per request and passed to the audit
/// log and the read aggregator: the actor, the role that allowed the request (empty when no
/// role applied), the request id and the client's address (IP, without port).
struct Requester {
  Actor actor;
  std::string role;
  std::string request_id;
  std::string source;
};

/// Aggregated tile, region and thumbnail reads of one slide by one requester in one window
/// (read_slide records only).
struct ReadSummary {
  std::uint64_t tiles = 0;
  std::uint64_t regions = 0;
  std::uint64_t thumbnails = 0;
  std::uint64_t bytes = 0;       ///< encoded bytes sent
  std::uint64_t requests = 0;    ///< reads counted (tiles + regions + thumbnails)
  std::string first;             ///< time of the first read, UTC ISO 8601 ms
  std::string last;              ///< time of the last read
  std::set<int> levels;          ///< pyramid levels touched (at most kMaxLevels kept)
  std::string closed_by;         ///< why the record was written: "opened" (the window's first read),
                                 ///< "flush" (reads since the window's previous record), or the window
                                 ///< closed: "window", "cap", "evicted" or "shutdown"

  static constexpr std::size_t kMaxLevels = 64;
};

/// Refusals of one kind (action, reason, outcome) from one client address counted in a window
/// after the first, which has a record of its own (token_rejected and denied records written by
/// RefusalAggregator only).
struct RepeatSummary {
  std::uint64_t count = 0;  ///< refusals counted in this record, at least 1
  std::string first;        ///< time of the first of them, UTC ISO 8601 ms
  std::string last;         ///< time of the last of them
};

/// One audit record as the caller fills it. `time` and `version` may be left empty: the log
/// fills them (now, and the version it was opened with). The chain fields (log id, seq, prev,
/// hash) belong to the log, not to the record.
struct AuditRecord {
  std::string time;          ///< UTC ISO 8601 with milliseconds, "2026-11-23T22:18:51.042Z"
  Actor actor;
  std::string role;          ///< role that allowed the action; empty when none applied
  Action action = Action::denied;
  std::string resource;      ///< "type:id", e.g. "slide:3f2a9c0e5b1d7a44", "dataset:centre-a-2024"
  std::string centre;        ///< centre the resource belongs to; empty when none
  Outcome outcome = Outcome::allowed;
  std::string reason;        ///< short, code-like: "role_missing", "token_expired"; empty when allowed
  std::string request_id;
  std::string source;        ///< client address (IP), or "cli" for a command
  std::string version;       ///< mcval version that wrote the record
  std::optional<ReadSummary> reads;  ///< read_slide only
  std::optional<RepeatSummary> repeats;  ///< counted refusals: token_rejected and denied only

  /// A record of `action` by `who` on `resource`; time and version are filled by the log.
  static AuditRecord make(Action action, const Requester& who, std::string resource, std::string centre,
                          Outcome outcome, std::string reason = {});

  /// Checks every field: valid UTF-8, no control characters, at most kMaxFieldBytes, nothing
  /// that looks like a token (a JWT/JWS/JWE, "Bearer ..."), a well-formed time, reads present
  /// exactly for read_slide. The error (invalid_argument) names the fields, never their values.
  Status validate() const;

  /// A copy in which every field that fails validate() is replaced by a placeholder
  /// ("[withheld: looks like a token]", ...); `withheld` receives the fields' names.
  AuditRecord sanitized(std::vector<std::string>* withheld = nullptr) const;

  static constexpr std::size_t kMaxFieldBytes = 1024;
};

/// Why a string may not be written to the audit log, or empty when it may.
/// Exposed for tests and for callers that want to check a value early.
std::string_view refusal_reason(std::string_view value);

/// Whether `value` looks like a bearer token: "Bearer " anywhere (any case), or a run of three
/// or more dot-separated base64url segments that starts with "eyJ" (a JOSE header) or has at
/// least two segments of 16+ characters.
bool looks_like_token(std::string_view value) noexcept;

/// UTC ISO 8601 with milliseconds of a time point.
std::string format_utc(std::chrono::system_clock::time_point time);
/// Whether `text` has exactly the form "YYYY-MM-DDTHH:MM:SS.mmmZ".
bool is_utc_timestamp(std::string_view text) noexcept;

}  // namespace mcval::audit
