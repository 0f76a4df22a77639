#pragma once
// mcval's error codes, declared once in error_codes.def, and the Error value that carries one.
#include <string>
#include <string_view>

namespace mcval {

enum class ErrorCode {
#define X(name, http, exit_status, message) name,
#include "mcval/common/error_codes.def"
#undef X
};

/// HTTP status for a code (from the one table).
int http_status(ErrorCode code) noexcept;
/// Process exit status for a code when a command fails with it.
int exit_status(ErrorCode code) noexcept;
/// Stable snake_case name, e.g. "slide_not_found"; used in JSON error bodies and logs.
std::string_view error_name(ErrorCode code) noexcept;
/// The message that may be shown to any client.
std::string_view public_message(ErrorCode code) noexcept;

/// An expected failure: a code from the table plus a detail.
/// `detail` is meant for the log and for command-line users; HTTP responses show it only for
/// 4xx codes, where it describes the caller's own input (see http::error_response).
struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string detail;

  Error() = default;
  Error(ErrorCode c, std::string d = {}) : code(c), detail(std::move(d)) {}
  /// "slide_not_found: no slide with id 'x'" (or only the name when there is no detail).
  std::string to_string() const;
};

}  // namespace mcval
