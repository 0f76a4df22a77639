#include "mcval/common/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace mcval {

std::string utc_now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  // The date and time to the second change once a second: formatted once per thread and second.
  thread_local std::time_t cached_second = -1;
  thread_local char prefix[64];
  if (t != cached_second) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_second = t;
  }
  std::string out(prefix);
  const int m = static_cast<int>(ms);
  out += '.';
  out += static_cast<char>('0' + m / 100);
  out += static_cast<char>('0' + m / 10 % 10);
  out += static_cast<char>('0' + m % 10);
  out += 'Z';
  return out;
}

}  // namespace mcval
