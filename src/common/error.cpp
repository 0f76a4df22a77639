#include "mcval/common/error.h"

namespace mcval {

namespace {
struct ErrorRow {
  std::string_view name;
  int http;
  int exit_status;
  std::string_view message;
};
constexpr ErrorRow kErrorTable[] = {
#define X(name, http, exit_status, message) {#name, http, exit_status, message},
#include "mcval/common/error_codes.def"
#undef X
};
const ErrorRow& row(ErrorCode code) noexcept { return kErrorTable[static_cast<int>(code)]; }
}  // namespace

int http_status(ErrorCode code) noexcept { return row(code).http; }
int exit_status(ErrorCode code) noexcept { return row(code).exit_status; }
std::string_view error_name(ErrorCode code) noexcept { return row(code).name; }
std::string_view public_message(ErrorCode code) noexcept { return row(code).message; }

std::string Error::to_string() const {
  std::string s(error_name(code));
  if (!detail.empty()) {
    s += ": ";
    s += detail;
  }
  return s;
}

}  // namespace mcval
