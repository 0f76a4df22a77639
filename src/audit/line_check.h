#pragma once
// Checks one line of a log on its own: JSON, schema, canonical form, own hash. The chain
// between lines is checked by the callers (verify_log, AuditLog's tail check).
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mcval::audit::detail {

enum class LineFault { none, garbage, edited };

struct CheckedLine {
  LineFault fault = LineFault::none;
  std::string detail;           ///< what is wrong, when fault != none
  nlohmann::json object;        ///< the parsed record (when it parsed)
  std::uint64_t seq = 0;
  std::string log;
  std::string prev;
  std::string hash;
  std::string time;
};

/// `line` without its newline.
CheckedLine check_line(std::string_view line);

bool is_lower_hex(std::string_view text, std::size_t length) noexcept;

}  // namespace mcval::audit::detail
