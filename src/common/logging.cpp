#include "mcval/common/logging.h"

#include "mcval/common/clock.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace mcval::log {

namespace {
std::atomic<int> g_min_level{static_cast<int>(Level::info)};
std::atomic<bool> g_json{true};
std::once_flag g_logger_once;
std::shared_ptr<spdlog::logger> g_logger;
Stream g_stream = Stream::stdout_;

spdlog::logger& logger() {
  std::call_once(g_logger_once, [] {
    spdlog::sink_ptr sink;
    if (g_stream == Stream::stderr_) {
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    } else {
      sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    }
    g_logger = std::make_shared<spdlog::logger>("mcval", sink);
    g_logger->set_pattern("%v");
    g_logger->set_level(spdlog::level::trace);
    g_logger->flush_on(spdlog::level::trace);
  });
  return *g_logger;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::trace: return "trace";
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
  }
  return "info";
}

}  // namespace

void init(std::string_view level, std::string_view format, Stream stream) {
  g_stream = stream;
  for (Level l : {Level::trace, Level::debug, Level::info, Level::warn, Level::error}) {
    if (level_name(l) == level) g_min_level = static_cast<int>(l);
  }
  g_json = format != "text";
  logger();
}

bool json_format() { return g_json.load(); }

void write_line(std::string_view line) {
  std::string buffer;
  buffer.reserve(line.size() + 1);
  buffer.append(line);
  buffer.push_back('\n');
  const int fd = g_stream == Stream::stderr_ ? 2 : 1;
  std::size_t done = 0;
  while (done < buffer.size()) {
    const ssize_t n = ::write(fd, buffer.data() + done, buffer.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to log to: drop the line, as spdlog would
    done += static_cast<std::size_t>(n);
  }
}

bool enabled(Level level) { return static_cast<int>(level) >= g_min_level.load(); }

void event(Level level, std::string_view message, const nlohmann::json& fields) {
  if (!enabled(level)) return;
  std::string line;
  if (g_json) {
    nlohmann::json j = {{"ts", utc_now_iso8601()}, {"level", level_name(level)}, {"msg", message}};
    if (fields.is_object()) {
      for (auto it = fields.begin(); it != fields.end(); ++it) j[it.key()] = it.value();
    }
    line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else {
    line = utc_now_iso8601() + " " + std::string(level_name(level)) + " " + std::string(message);
    if (fields.is_object() && !fields.empty()) {
      line += " " + fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  logger().info(line);
}

}  // namespace mcval::log
