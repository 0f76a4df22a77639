#include "mcval/common/logging.h"

#include "mcval/common/clock.h"
#include "mcval/common/strings.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

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

namespace {

/// Writes whole lines with as few write(2) calls as the stream takes.
void write_all(const std::string& lines) {
  const int fd = g_stream == Stream::stderr_ ? 2 : 1;
  std::size_t done = 0;
  while (done < lines.size()) {
    const ssize_t n = ::write(fd, lines.data() + done, lines.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to log to: drop the lines, as spdlog would
    done += static_cast<std::size_t>(n);
  }
}

/// The per-thread line batches of write_line_batched and the thread that writes them out.
class LineBatches {
 public:
  static constexpr std::size_t kBatchBytes = 64 * 1024;
  static constexpr std::chrono::milliseconds kInterval{100};

  LineBatches() : flusher_([this] { run(); }) {}
  ~LineBatches() {
    {
      std::lock_guard lock(wake_mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    flusher_.join();
    flush_all();
  }

  void add(std::string_view line) {
    Batch& batch = mine();
    std::string full;
    {
      std::lock_guard lock(batch.mutex);
      batch.lines.append(line).push_back('\n');
      if (batch.lines.size() < kBatchBytes) return;
      full.swap(batch.lines);
    }
    std::lock_guard writing(write_mutex_);
    write_all(full);
  }

  void flush_all() {
    std::vector<Batch*> all;
    {
      std::lock_guard lock(registry_mutex_);
      for (const auto& b : batches_) all.push_back(b.get());
    }
    for (Batch* batch : all) {
      std::string lines;
      {
        std::lock_guard lock(batch->mutex);
        lines.swap(batch->lines);
      }
      if (lines.empty()) continue;
      std::lock_guard writing(write_mutex_);
      write_all(lines);
    }
  }

 private:
  struct Batch {
    std::mutex mutex;
    std::string lines;
  };

  Batch& mine() {
    thread_local Batch* batch = nullptr;
    if (batch == nullptr) {
      std::lock_guard lock(registry_mutex_);
      batches_.push_back(std::make_unique<Batch>());
      batch = batches_.back().get();
    }
    return *batch;
  }

  void run() {
    std::unique_lock lock(wake_mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, kInterval);
      lock.unlock();
      flush_all();
      lock.lock();
    }
  }

  std::mutex registry_mutex_;
  std::vector<std::unique_ptr<Batch>> batches_;  // one per thread that wrote; kept until exit
  std::mutex write_mutex_;
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread flusher_;  // last: started once everything it uses exists
};

LineBatches& line_batches() {
  static LineBatches batches;
  return batches;
}

}  // namespace

void write_line(std::string_view line) {
  std::string buffer;
  buffer.reserve(line.size() + 1);
  buffer.append(line);
  buffer.push_back('\n');
  write_all(buffer);
}

void write_line_batched(std::string_view line) { line_batches().add(line); }

void flush_batched_lines() { line_batches().flush_all(); }

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

namespace {

constexpr std::string_view kRedacted = "REDACTED";

/// Query parameter names whose values are credentials (OAuth 2.0, OIDC, common API keys).
bool secret_parameter(std::string_view raw_name) {
  std::string plus_as_space(raw_name);
  for (char& c : plus_as_space) {
    if (c == '+') c = ' ';
  }
  std::string decoded;
  if (!percent_decode(plus_as_space, decoded)) return true;  // unreadable name: keep nothing of its value
  const std::string name = to_lower(decoded);
  static constexpr std::string_view kNames[] = {
      "code",          "state", "session_state", "client_assertion", "assertion", "code_verifier", "api_key",
      "apikey",        "key",   "sig",           "signature",        "passwd",    "pwd",           "auth",
      "authorization", "jwt",   "ticket",        "session",          "sessionid", "user_code",     "device_code",
      "otp",
  };
  for (auto known : kNames) {
    if (name == known) return true;
  }
  for (std::string_view part : {"token", "secret", "password", "credential"}) {
    if (name.find(part) != std::string::npos) return true;
  }
  return false;
}

/// A compact JWS or JWE: base64url of a JSON object ("eyJ"), then dot-separated parts.
bool looks_like_jwt(std::string_view text) {
  if (text.size() < 10 || !text.starts_with("eyJ")) return false;
  return text.find('.') != std::string_view::npos || text.find("%2E") != std::string_view::npos ||
         text.find("%2e") != std::string_view::npos;
}

}  // namespace

std::string redacted_target(std::string_view target) {
  const std::size_t question = target.find('?');
  const std::size_t hash = target.find('#');
  if (question == std::string_view::npos && hash == std::string_view::npos) return std::string(target);
  const std::size_t query_end = hash == std::string_view::npos ? target.size() : hash;
  if (question == std::string_view::npos || question > query_end) {
    return std::string(target.substr(0, query_end)) + "#" + std::string(kRedacted);
  }
  std::string out(target.substr(0, question + 1));
  const std::string_view query = target.substr(question + 1, query_end - question - 1);
  std::size_t start = 0;
  while (start <= query.size()) {
    const std::size_t amp = std::min(query.find('&', start), query.size());
    const std::string_view pair = query.substr(start, amp - start);
    const std::size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    if (eq == std::string_view::npos) {
      out.append(looks_like_jwt(pair) ? kRedacted : pair);
    } else if (secret_parameter(name) || looks_like_jwt(pair.substr(eq + 1))) {
      out.append(name).append("=").append(pair.size() > eq + 1 ? kRedacted : std::string_view{});
    } else {
      out.append(pair);
    }
    if (amp >= query.size()) break;
    out.push_back('&');
    start = amp + 1;
  }
  if (hash != std::string_view::npos) out.append("#").append(kRedacted);
  return out;
}

}  // namespace mcval::log
