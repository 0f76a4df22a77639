#pragma once
#include <string>

namespace mcval {

/// Now as UTC ISO 8601 with milliseconds, e.g. "2026-11-23T22:18:51.042Z".
std::string utc_now_iso8601();

}  // namespace mcval
