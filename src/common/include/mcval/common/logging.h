#pragma once
// Structured logging on stdout through spdlog: one JSON object per line (or plain text).
// Events are a message plus fields; values are JSON-escaped. Thread-safe.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

namespace mcval::log {

enum class Level { trace, debug, info, warn, error };

enum class Stream { stdout_, stderr_ };

/// Configures the process-wide sink; call once at start (before threads). `format` is
/// "json" or "text"; `level` one of trace, debug, info, warn, error. The server logs to
/// stdout; commands whose stdout is their result log to stderr.
void init(std::string_view level, std::string_view format, Stream stream = Stream::stdout_);

/// Emits one event: {"ts":..., "level":..., "msg":..., ...fields}.
void event(Level level, std::string_view message, const nlohmann::json& fields = nlohmann::json::object());

inline void info(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) { event(Level::info, m, f); }
inline void warn(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) { event(Level::warn, m, f); }
inline void error(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) { event(Level::error, m, f); }
inline void debug(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) { event(Level::debug, m, f); }

bool enabled(Level level);

/// True when events are JSON lines (log_format json).
bool json_format();

/// Writes one complete line, already formatted (no newline), to the log stream with a single
/// write(2), bypassing the event formatter: for hot paths that format their own line (the access
/// log). Thread-safe; lines are never interleaved with each other or with events.
void write_line(std::string_view line);

}  // namespace mcval::log
