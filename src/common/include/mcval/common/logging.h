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

/// Queues one complete line (no newline) for the log stream, for lines written per request: each
/// thread gathers its lines and they are written together, when a thread has 64 KiB of them and
/// otherwise every 100 ms, so a busy server makes one write(2) per many requests instead of one
/// each. Lines stay whole; lines of different threads may appear up to 100 ms out of order (each
/// has its timestamp). Written at exit too; a killed process loses at most the last 100 ms.
void write_line_batched(std::string_view line);

/// Writes every queued line now.
void flush_batched_lines();

/// A request target fit for a log: the values of query parameters that carry credentials
/// (access_token, id_token, refresh_token, code, state, client_secret, token, session_state,
/// password, ... and any name containing "token", "secret" or "password"; names compared
/// case-insensitively after percent-decoding) replaced by REDACTED, as is any value or bare
/// parameter that looks like a JWT, and a fragment. Everything else is kept as sent.
std::string redacted_target(std::string_view target);

}  // namespace mcval::log
