#include "mcval/http/server.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_map>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "mcval/auth/refusal.h"
#include "mcval/common/clock.h"
#include "mcval/common/logging.h"
#include "mcval/common/strings.h"

namespace mcval::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr char kContentSecurityPolicy[] =
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::uint64_t v = rng();
  unsigned char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(v >> (8 * i));
  return to_hex(bytes, sizeof bytes);
}

bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

/// Splits the target into decoded path segments and query parameters.
Status parse_target(std::string_view target, Request& request) {
  if (target.empty() || target.front() != '/') {
    return Error{ErrorCode::bad_request, "the request target must be an absolute path"};
  }
  const auto question = target.find('?');
  const std::string_view path = target.substr(0, question);
  for (auto raw : split(path, '/')) {
    if (raw.empty()) continue;
    std::string decoded;
    if (!percent_decode(raw, decoded)) {
      return Error{ErrorCode::bad_request, "the path holds a malformed percent-escape or a NUL byte"};
    }
    request.segments.push_back(std::move(decoded));
  }
  if (question != std::string_view::npos) {
    for (auto pair : split(target.substr(question + 1), '&')) {
      if (pair.empty()) continue;
      const auto eq = pair.find('=');
      std::string key_raw(pair.substr(0, eq));
      std::string value_raw(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
      for (auto* s : {&key_raw, &value_raw}) {
        for (char& c : *s) {
          if (c == '+') c = ' ';
        }
      }
      std::string key, value;
      if (!percent_decode(key_raw, key) || !percent_decode(value_raw, value)) {
        return Error{ErrorCode::bad_request, "the query holds a malformed percent-escape or a NUL byte"};
      }
      request.query[std::move(key)] = std::move(value);
    }
  }
  return {};
}

/// The answer to refused credentials: 401 with a WWW-Authenticate challenge (naming the reason
/// when a token was refused), 503 when the identity provider's keys are unknown, or `error`'s.
Response refused_credentials(const Error& error, const Request& request) {
  Response response = error_response(error, request);
  if (error.code == ErrorCode::unauthenticated) {
    const bool token_refused = auth::refusal_of(error).has_value();
    response.header("WWW-Authenticate", auth::www_authenticate(token_refused ? &error : nullptr));
  } else if (error.code == ErrorCode::auth_unavailable) {
    response.header("Retry-After", "10");
  }
  response.header("Cache-Control", "no-store");
  return response;
}

/// 429 for a client address over its budget of requests without a valid principal; the first
/// refusal of an address per minute is logged and audited, the others leave nothing but the
/// access-log line and a metric.
Response too_many_unauthenticated(const Request& request, UserLimits& address_limits, audit::AuditRecorder* audit) {
  if (address_limits.should_report(UserLimits::address_key(request.remote_ip))) {
    log::warn("client address over the limit of requests without a valid token",
              {{"request_id", request.request_id}, {"remote", request.remote_ip}});
    if (audit != nullptr) {
      (void)audit->record(audit::AuditRecord::make(audit::Action::denied, requester_of(request), "", "",
                                                   audit::Outcome::denied, "rate_limited_unauthenticated"));
    }
  }
  Response response = error_response(
      Error{ErrorCode::rate_limited, "too many requests without a valid access token from this address"}, request);
  response.header("Retry-After", "1");
  response.header("Cache-Control", "no-store");
  return response;
}

/// The answer to credentials that `authenticator` refused with `refusal`: 429 for a client
/// address over its budget of refused requests (nothing recorded but once a minute), otherwise
/// the refusal is recorded, counted against the address's budget (401s) and answered.
Response answer_refusal(const Error& refusal, const Request& request, Authenticator& authenticator,
                        UserLimits* address_limits, audit::AuditRecorder* audit) {
  if (refusal.code == ErrorCode::unauthenticated && address_limits != nullptr) {
    const auto address = UserLimits::address_key(request.remote_ip);
    if (address_limits->exhausted(address)) return too_many_unauthenticated(request, *address_limits, audit);
    address_limits->charge(address);
  }
  authenticator.record_refusal(request, refusal);
  return refused_credentials(refusal, request);
}

/// For a route that is not public: sets request.principal, or returns the answer instead
/// (answer_refusal). A valid token passes whatever its address did before.
std::optional<Response> authenticate(const Router::Match& match, Request& request, Authenticator& authenticator,
                                     UserLimits* address_limits, audit::AuditRecorder* audit) {
  if (match.access == Access::public_) return std::nullopt;
  auto principal = authenticator.authenticate(request);
  if (principal.ok()) {
    request.principal = std::move(principal).value();
    return std::nullopt;
  }
  return answer_refusal(principal.error(), request, authenticator, address_limits, audit);
}

/// 400 for a request with more than one Authorization header (a gateway that reads the first
/// and mcval would disagree about who calls), audited as token_rejected; it counts against the
/// client address's budget of refused requests like a refused token.
Response repeated_authorization(const Request& request, UserLimits* address_limits, audit::AuditRecorder* audit) {
  const auto address = UserLimits::address_key(request.remote_ip);
  if (address_limits != nullptr) {
    if (address_limits->exhausted(address)) return too_many_unauthenticated(request, *address_limits, audit);
    address_limits->charge(address);
  }
  constexpr char kReason[] = "multiple_authorization_headers";
  log::info("access token refused",
            {{"request_id", request.request_id}, {"reason", kReason}, {"remote", request.remote_address}});
  if (audit != nullptr) {
    (void)audit->record(audit::AuditRecord::make(audit::Action::token_rejected, requester_of(request), "", "",
                                                 audit::Outcome::denied, kReason));
  }
  Response response =
      error_response(Error{ErrorCode::bad_request, "more than one Authorization header: send exactly one"}, request);
  response.header("Cache-Control", "no-store");
  return response;
}

/// 429 for a caller over a limit; the first refusal of a user per minute is logged and audited.
Response too_many_requests(UserLimits::Verdict verdict, const Request& request, UserLimits& limits,
                           audit::AuditRecorder* audit) {
  const bool too_fast = verdict == UserLimits::Verdict::too_fast;
  const std::string reason = too_fast ? "rate_limited" : "too_many_concurrent";
  if (limits.should_report(request.principal->key())) {
    log::warn("user over a request limit", {{"request_id", request.request_id}, {"reason", reason},
                                            {"issuer", request.principal->issuer_name},
                                            {"subject", request.principal->subject}});
    if (audit != nullptr) {
      (void)audit->record(audit::AuditRecord::make(audit::Action::denied, requester_of(request), "", "",
                                                   audit::Outcome::denied, reason));
    }
  }
  Response response = error_response(
      Error{ErrorCode::rate_limited, too_fast ? "too many requests per second for one user"
                                              : "too many requests of one user at once"},
      request);
  response.header("Retry-After", "1");
  return response;
}

}  // namespace

Response dispatch(const Router& router, Request& request, std::string& route_name, Authenticator& authenticator,
                  UserLimits* limits, audit::AuditRecorder* audit, Metrics* metrics, const CorsPolicy* cors,
                  UserLimits* address_limits) {
  auto count_decision = [metrics](const char* decision) {
    if (metrics != nullptr) {
      metrics->increment("mcval_auth_decisions_total",
                         "Authentication decisions on routes that need a caller: authenticated, token_missing, "
                         "token_rejected, unavailable (identity provider keys unknown), rate_limited.",
                         {{"decision", decision}});
    }
  };
  Response response;
  auto parsed = parse_target(request.target, request);
  if (!parsed.ok()) {
    route_name = "malformed";
    response = error_response(parsed.error(), request);
  } else if (std::find(request.repeated_headers.begin(), request.repeated_headers.end(), "authorization") !=
             request.repeated_headers.end()) {
    route_name = "malformed";
    response = repeated_authorization(request, address_limits, audit);
    count_decision(response.status == 429 ? "rate_limited" : "token_rejected");
  } else {
    const auto match = router.match(request);
    route_name = match.handler ? match.route_name : "unmatched";
    if (!match.handler) {
      response = error_response(match.path_matched_other_method
                                    ? Error{ErrorCode::method_not_allowed, request.method + " " + request.target}
                                    : Error{ErrorCode::not_found, "no route for " + request.target},
                                request);
    } else if (auto denied = authenticate(match, request, authenticator, address_limits, audit)) {
      if (denied->status == 429) {
        count_decision("rate_limited");
      } else if (denied->status == 401) {
        count_decision(request.header("authorization").empty() && request.header("cookie").empty() ? "token_missing"
                                                                                                    : "token_rejected");
      } else {
        count_decision("unavailable");
      }
      response = std::move(*denied);
    } else {
      if (match.access != Access::public_) count_decision("authenticated");
      std::optional<UserLimits::Slot> slot;
      std::optional<Response> limited;
      if (limits != nullptr && request.principal) {
        const auto user = request.principal->key();
        if (const auto verdict = limits->acquire(user); verdict == UserLimits::Verdict::allowed) {
          slot.emplace(limits, user);
        } else {
          limited = too_many_requests(verdict, request, *limits, audit);
          count_decision("rate_limited");
        }
      }
      if (limited) {
        response = std::move(*limited);
      } else {
        try {
          response = (*match.handler)(request);
        } catch (const std::exception& e) {
          response = error_response(Error{ErrorCode::internal, std::string("handler threw: ") + e.what()}, request);
        }
      }
    }
  }
  static const CorsPolicy kAnyOrigin = CorsPolicy::any_origin();
  (cors ? *cors : kAnyOrigin).apply(request, response);
  response.header("X-Request-Id", request.request_id);
  response.header("X-Content-Type-Options", "nosniff");
  response.header("Referrer-Policy", "no-referrer");
  const bool has_policy = std::any_of(response.headers.begin(), response.headers.end(),
                                      [](const auto& h) { return h.first == "Content-Security-Policy"; });
  if (!has_policy) response.header("Content-Security-Policy", kContentSecurityPolicy);
  response.header("X-Frame-Options", "DENY");
  return response;
}

struct HttpServer::Impl {
  ServerOptions options;
  const Router& router;
  Metrics& metrics;
  Authenticator& authenticator;
  UserLimits* limits;
  audit::AuditRecorder* audit;
  // Graceful shutdown: no new connections, idle ones closed, run() ends when none is left.
  // Declared before the contexts: sessions that a context destroys unregister here.
  std::atomic<bool> draining{false};
  std::atomic<std::size_t> connections{0};
  std::mutex idle_closers_mutex;
  std::unordered_map<const void*, std::function<void()>> idle_closers;  ///< one per open connection
  std::chrono::steady_clock::time_point drain_deadline;
  // One io_context per thread, each run by exactly one thread: a connection stays on the thread
  // that accepted it, so its handlers never hop between threads (no strand, no cross-thread
  // wake-ups on the fast path). New connections are dealt out round-robin. The acceptor and the
  // drain timer live on the first.
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  tcp::acceptor acceptor;
  std::size_t next_context = 0;  // used by the acceptor's handler only (one thread)
  std::vector<std::thread> threads;
  net::steady_timer drain_timer;
  // Accepting when out of descriptors or at max_connections: paused on this timer (growing
  // backoff), not re-armed at once (that spun at a full core); used by the acceptor's thread only.
  net::steady_timer accept_timer;
  std::chrono::milliseconds accept_backoff{0};
  std::chrono::steady_clock::time_point accept_error_logged{};
  std::uint64_t accept_errors_unlogged = 0;

  static std::vector<std::unique_ptr<net::io_context>> make_contexts(int n) {
    std::vector<std::unique_ptr<net::io_context>> out;
    for (int i = 0; i < std::max(1, n); ++i) out.push_back(std::make_unique<net::io_context>(1));
    return out;
  }

  Impl(ServerOptions o, const Router& r, Metrics& m, Authenticator& a, UserLimits* l, audit::AuditRecorder* au)
      : options(std::move(o)),
        router(r),
        metrics(m),
        authenticator(a),
        limits(l),
        audit(au),
        contexts(make_contexts(options.threads)),
        acceptor(*contexts.front()),
        drain_timer(*contexts.front()),
        accept_timer(*contexts.front()) {
    for (auto& c : contexts) guards.push_back(net::make_work_guard(*c));
  }
  void accept();
  void on_accept_error(const beast::error_code& ec);
  void accept_later(std::chrono::milliseconds delay);
  void wait_for_drain();
  void close_idle_connections();
};

namespace {

/// Appends `text` as the inside of a JSON string: quotes, backslashes, control characters and
/// bytes outside ASCII escaped (request targets come from clients).
void append_json_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20 || c >= 0x7F) {
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    } else {
      out.push_back(ch);
    }
  }
}

/// One access-log line. JSON lines are formatted here directly (the fast path: no JSON objects,
/// one write); text format goes through the logger.
void write_access_log(const Request& request, const std::string& route_name, int status, std::size_t body_bytes,
                      double seconds) {
  if (!log::enabled(log::Level::info)) return;
  const std::string target = log::redacted_target(request.target);  // no credentials in the log
  if (!log::json_format()) {
    log::info("request", {{"request_id", request.request_id}, {"method", request.method}, {"target", target},
                          {"route", route_name}, {"status", status}, {"bytes", body_bytes},
                          {"ms", seconds * 1000.0}, {"remote", request.remote_address}});
    return;
  }
  std::string line;
  line.reserve(256 + target.size());
  line.append("{\"ts\":\"").append(utc_now_iso8601()).append("\",\"level\":\"info\",\"msg\":\"request\",\"request_id\":\"");
  append_json_escaped(line, request.request_id);
  line.append("\",\"method\":\"");
  append_json_escaped(line, request.method);
  line.append("\",\"target\":\"");
  append_json_escaped(line, target);
  line.append("\",\"route\":\"");
  append_json_escaped(line, route_name);
  line.append("\",\"status\":").append(std::to_string(status));
  line.append(",\"bytes\":").append(std::to_string(body_bytes));
  char ms[32];
  std::snprintf(ms, sizeof ms, "%.3f", seconds * 1000.0);
  line.append(",\"ms\":").append(ms);
  line.append(",\"remote\":\"");
  append_json_escaped(line, request.remote_address);
  line.append("\"}");
  log::write_line_batched(line);
}

/// The bytes of a request head (start line and fields, as far as parsed) other than its
/// Authorization field: what max_header_bytes limits.
std::size_t head_bytes_without_authorization(const bhttp::request<bhttp::string_body>& message) {
  std::size_t bytes = message.method_string().size() + message.target().size() + 12;
  for (const auto& field : message) {
    const auto name = field.name_string();
    if (!beast::iequals(name, "authorization")) bytes += name.size() + field.value().size() + 4;
  }
  return bytes;
}

/// Whether a request head over the limit is so because of its Authorization field: the parser
/// stopped in it (the fields before it are parsed, the rest of the head is still unread in
/// `unparsed`), and what it parsed is within `max_other_bytes`.
bool oversized_authorization(std::string_view unparsed, const bhttp::request<bhttp::string_body>& parsed,
                             std::size_t max_other_bytes) {
  constexpr std::string_view kField = "authorization:";
  return unparsed.size() > kField.size() && to_lower(unparsed.substr(0, kField.size())) == kField &&
         !parsed.method_string().empty() && head_bytes_without_authorization(parsed) <= max_other_bytes;
}

/// A response whose body is bytes shared with their owner (Response::shared_body), not copied.
using SharedBodyResponse = bhttp::response<bhttp::span_body<const char>>;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server)
      : stream_(std::move(socket)), server_(server), idle_timer_(stream_.get_executor()) {
    beast::error_code ec;
    const auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      remote_ip_ = endpoint.address().to_string();
      remote_ = remote_ip_ + ":" + std::to_string(endpoint.port());
    }
  }

  ~Session() {
    {
      std::lock_guard lock(server_.idle_closers_mutex);
      server_.idle_closers.erase(this);
    }
    --server_.connections;
  }

  void start() {
    ++server_.connections;
    {
      std::lock_guard lock(server_.idle_closers_mutex);
      server_.idle_closers[this] = [weak = weak_from_this()] {
        if (auto self = weak.lock()) net::post(self->stream_.get_executor(), [self] { self->close_if_idle(); });
      };
    }
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->last_progress_ = std::chrono::steady_clock::now();
      self->watch_idle(self->last_progress_ + self->idle_timeout());
      self->read();
    });
  }

 private:
  void read();
  void on_read(beast::error_code ec);
  void respond(Request& request, Response response, const std::string& route_name, bool keep_alive, bool head,
               std::chrono::steady_clock::time_point started);
  std::chrono::seconds idle_timeout() const { return std::chrono::seconds(server_.options.idle_timeout_seconds); }
  /// The idle timeout: one timer per connection, re-armed about once per timeout rather than per
  /// request (moving a timer is a system call), that closes the connection once nothing has
  /// progressed for idle_timeout(): no request started coming in, or an answer is not taken.
  void watch_idle(std::chrono::steady_clock::time_point deadline);
  void on_idle_check();
  /// The answer to a request whose head is over the limit because of its Authorization field.
  Response refuse_oversized_token(const Request& request);
  /// Metrics and the access log of one answer.
  void account(const Request& request, const std::string& route_name, int status, std::size_t body_bytes,
               std::chrono::steady_clock::time_point started);
  void on_write(bool keep_alive, beast::error_code ec);
  void drain_and_close();
  void drain_and_close_more(std::shared_ptr<std::array<char, 16384>> sink);
  /// During a shutdown: closes the connection if it waits for a request of which nothing has
  /// arrived (a request on its way is answered, with Connection: close).
  void close_if_idle();

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<bhttp::response<bhttp::string_body>> response_;
  std::shared_ptr<SharedBodyResponse> shared_response_;  ///< or this, sending shared_body_
  std::shared_ptr<const std::string> shared_body_;
  std::string remote_;
  std::string remote_ip_;
  bool waiting_for_request_ = false;  ///< on the strand: a read of the next request is pending
  net::steady_timer idle_timer_;
  /// When a request was last awaited or an answer last started: idle time counts from here.
  std::chrono::steady_clock::time_point last_progress_{};
};

void Session::watch_idle(std::chrono::steady_clock::time_point deadline) {
  idle_timer_.expires_at(deadline);
  idle_timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
    if (ec) return;  // cancelled: the session is gone
    if (auto self = weak.lock()) self->on_idle_check();
  });
}

void Session::on_idle_check() {
  const auto deadline = last_progress_ + idle_timeout();
  if (std::chrono::steady_clock::now() < deadline) {
    watch_idle(deadline);
    return;
  }
  // Pending reads and writes end with operation_aborted, which ends the session.
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
}

void Session::read() {
  if (server_.draining && buffer_.size() == 0) {
    drain_and_close();
    return;
  }
  waiting_for_request_ = true;
  parser_.emplace();
  parser_->body_limit(server_.options.max_body_bytes);
  parser_->header_limit(
      static_cast<std::uint32_t>(server_.options.max_header_bytes + server_.options.max_authorization_bytes));
  last_progress_ = std::chrono::steady_clock::now();
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

void Session::on_read(beast::error_code ec) {
  waiting_for_request_ = false;
  const auto started = std::chrono::steady_clock::now();
  if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == net::error::connection_reset ||
      ec == net::error::operation_aborted || ec == net::error::eof) {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    return;
  }
  Request request;
  request.remote_address = remote_;
  request.remote_ip = remote_ip_;
  request.request_id = new_request_id();
  if (ec == bhttp::error::header_limit) {
    const std::string_view unparsed(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    const auto& parsed = parser_->get();
    if (oversized_authorization(unparsed, parsed, server_.options.max_header_bytes)) {
      // Over the limit because of its Authorization field: a refused token (401, audited).
      request.method = std::string(parsed.method_string());
      request.target = std::string(parsed.target());
      if (const auto id = parsed["X-Request-Id"]; acceptable_request_id(std::string_view(id.data(), id.size()))) {
        request.request_id = std::string(id);
      }
      Response response = refuse_oversized_token(request);
      response.header("X-Request-Id", request.request_id);
      respond(request, std::move(response), "malformed", false, false, started);
      return;
    }
  }
  if (ec) {
    // Malformed HTTP or over a limit: answer once and close.
    const bool too_large = ec == bhttp::error::body_limit || ec == bhttp::error::header_limit ||
                           ec == bhttp::error::buffer_overflow;
    request.target = "(unparsed)";
    Response response = error_response(
        Error{too_large ? ErrorCode::payload_too_large : ErrorCode::bad_request, "unparsable HTTP request: " + ec.message()},
        request);
    respond(request, std::move(response), "malformed", false, false, started);
    return;
  }
  auto& message = parser_->get();
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  for (const auto& field : message) {
    const auto name = field.name_string();
    std::string lower = to_lower(std::string_view(name.data(), name.size()));
    auto [it, added] = request.headers.try_emplace(lower, field.value());
    if (!added) {
      it->second = std::string(field.value());
      request.repeated_headers.push_back(std::move(lower));
    }
  }
  if (head_bytes_without_authorization(message) > server_.options.max_header_bytes) {
    Response response = error_response(
        Error{ErrorCode::payload_too_large,
              "unparsable HTTP request: " + bhttp::make_error_code(bhttp::error::header_limit).message()},
        request);
    respond(request, std::move(response), "malformed", false, false, started);
    return;
  }
  if (const auto incoming = request.header("x-request-id"); acceptable_request_id(incoming)) {
    request.request_id = std::string(incoming);
  }
  std::string route_name;
  Response response =
      dispatch(server_.router, request, route_name, server_.authenticator, server_.limits, server_.audit,
               &server_.metrics, &server_.options.cors, server_.options.address_limits);
  respond(request, std::move(response), route_name, message.keep_alive(), request.method == "HEAD", started);
}

Response Session::refuse_oversized_token(const Request& request) {
  const Error refusal = server_.authenticator.oversized_token(request, server_.options.max_authorization_bytes);
  return answer_refusal(refusal, request, server_.authenticator, server_.options.address_limits, server_.audit);
}

void Session::respond(Request& request, Response response, const std::string& route_name, bool keep_alive, bool head,
                      std::chrono::steady_clock::time_point started) {
  keep_alive = keep_alive && !server_.draining;  // a shutting-down server closes after each answer
  const auto status = static_cast<bhttp::status>(response.status);
  const std::size_t body_bytes = response.body_bytes().size();
  const bool bodiless = head || response.status == 304 || response.status == 204;
  const auto set_head = [&](auto& res) {
    res.set(bhttp::field::server, "mcval");
    res.set(bhttp::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) res.insert(name, value);
    res.keep_alive(keep_alive);
  };
  if (response.shared_body && !bodiless) {
    // Sent straight from the bytes it shares (a cached tile), which it keeps alive until written.
    auto res = std::make_shared<SharedBodyResponse>(status, 11);
    set_head(*res);
    res->body() = SharedBodyResponse::body_type::value_type(response.shared_body->data(), body_bytes);
    res->prepare_payload();
    shared_body_ = std::move(response.shared_body);
    shared_response_ = res;
    account(request, route_name, response.status, body_bytes, started);
    last_progress_ = std::chrono::steady_clock::now();
    bhttp::async_write(stream_, *res, [self = shared_from_this(), keep_alive](beast::error_code e, std::size_t) {
      self->on_write(keep_alive, e);
    });
    return;
  }
  auto res = std::make_shared<bhttp::response<bhttp::string_body>>(status, 11);
  set_head(*res);
  if (bodiless) {
    if (response.status != 304 && response.status != 204) res->content_length(body_bytes);
  } else {
    res->body() = std::move(response.body);
    res->prepare_payload();
  }
  account(request, route_name, response.status, body_bytes, started);
  last_progress_ = std::chrono::steady_clock::now();
  response_ = std::move(res);
  bhttp::async_write(stream_, *response_, [self = shared_from_this(), keep_alive](beast::error_code e, std::size_t) {
    self->on_write(keep_alive, e);
  });
}

void Session::account(const Request& request, const std::string& route_name, int status, std::size_t body_bytes,
                      std::chrono::steady_clock::time_point started) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  server_.metrics.observe_request(route_name, status, seconds);
  const AccessLog access_log = server_.options.access_log;
  if (access_log == AccessLog::all || (access_log == AccessLog::errors && (status >= 400 || seconds >= 1.0))) {
    write_access_log(request, route_name, status, body_bytes, seconds);
  }
}

void Session::on_write(bool keep_alive, beast::error_code ec) {
  response_.reset();
  shared_response_.reset();
  shared_body_.reset();
  if (ec) return;
  if (!keep_alive) {
    drain_and_close();
    return;
  }
  read();
}

void Session::close_if_idle() {
  if (!waiting_for_request_ || buffer_.size() != 0 || (parser_ && parser_->got_some())) return;
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
}

void Session::drain_and_close_more(std::shared_ptr<std::array<char, 16384>> sink) {
  stream_.async_read_some(net::buffer(*sink), [self = shared_from_this(), sink](beast::error_code e, std::size_t) {
    if (!e) self->drain_and_close_more(sink);
  });
}

// Lingering close: after the last response, stop sending and read (and discard) what the
// client may still be sending, for a short while. Closing with unread data would reset the
// connection and could destroy the response (e.g. a 413 while a large body is on its way).
void Session::drain_and_close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(std::chrono::seconds(2));
  auto sink = std::make_shared<std::array<char, 16384>>();
  stream_.async_read_some(net::buffer(*sink), [self = shared_from_this(), sink](beast::error_code e, std::size_t) {
    if (!e) self->drain_and_close_more(sink);
  });
}

}  // namespace

void HttpServer::Impl::close_idle_connections() {
  std::vector<std::function<void()>> closers;
  {
    std::lock_guard lock(idle_closers_mutex);
    for (const auto& [session, closer] : idle_closers) closers.push_back(closer);
  }
  for (const auto& close : closers) close();
}

void HttpServer::Impl::wait_for_drain() {
  const std::size_t open = connections.load();
  if (open == 0 || std::chrono::steady_clock::now() >= drain_deadline) {
    if (open > 0) log::warn("shutdown: connections still open after the grace period are dropped", {{"connections", open}});
    for (auto& context : contexts) context->stop();
    return;
  }
  close_idle_connections();  // connections that became idle since
  drain_timer.expires_after(std::chrono::milliseconds(20));
  drain_timer.async_wait([this](beast::error_code) { wait_for_drain(); });
}

namespace {
constexpr char kAcceptErrorsHelp[] =
    "Times accepting a connection failed or paused, by reason (emfile, enfile: out of file descriptors; enomem; "
    "max_connections: paused at the server's limit; other).";
}  // namespace

void HttpServer::Impl::accept() {
  if (options.max_connections > 0 && connections.load() >= options.max_connections) {
    // At the limit: look again shortly (not a spin); the waiting connections stay queued.
    if (accept_backoff.count() == 0) {  // counted once per pause
      metrics.increment("mcval_accept_errors_total", kAcceptErrorsHelp, {{"reason", "max_connections"}});
      ++accept_errors_unlogged;
      const auto now = std::chrono::steady_clock::now();
      if (now - accept_error_logged >= std::chrono::seconds(10)) {
        log::warn("connection limit reached: new connections wait until one closes",
                  {{"max_connections", options.max_connections}, {"pauses_since_last_report", accept_errors_unlogged}});
        accept_error_logged = now;
        accept_errors_unlogged = 0;
      }
    }
    accept_backoff = std::chrono::milliseconds(50);
    accept_later(accept_backoff);
    return;
  }
  net::io_context& context = *contexts[next_context++ % contexts.size()];
  acceptor.async_accept(context, [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
    if (ec) {
      on_accept_error(ec);
      return;
    }
    accept_backoff = std::chrono::milliseconds(0);
    if (!draining) std::make_shared<Session>(std::move(socket), *this)->start();
    accept();
  });
}

void HttpServer::Impl::on_accept_error(const beast::error_code& ec) {
  const int code = ec.category() == boost::system::system_category() ? ec.value() : 0;
  const bool out_of_resources = code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM;
  const char* reason = code == EMFILE ? "emfile" : code == ENFILE ? "enfile" : out_of_resources ? "enomem" : "other";
  metrics.increment("mcval_accept_errors_total", kAcceptErrorsHelp, {{"reason", reason}});
  if (!out_of_resources) {  // e.g. a client gone before it was accepted: the next one may be fine
    accept();
    return;
  }
  // Out of descriptors or memory: the connection stays queued and the error would repeat at once.
  // Back off (100 ms doubling to 1.6 s) while the open connections go on being served.
  accept_backoff = std::clamp(accept_backoff * 2, std::chrono::milliseconds(100), std::chrono::milliseconds(1600));
  ++accept_errors_unlogged;
  const auto now = std::chrono::steady_clock::now();
  if (now - accept_error_logged >= std::chrono::seconds(10)) {
    log::error(
        "cannot accept connections: out of file descriptors or memory; retrying with backoff (raise "
        "ulimit -n or lower max_connections)",
        {{"error", ec.message()},
         {"reason", reason},
         {"open_connections", connections.load()},
         {"errors_since_last_report", accept_errors_unlogged},
         {"backoff_ms", accept_backoff.count()}});
    accept_error_logged = now;
    accept_errors_unlogged = 0;
  }
  accept_later(accept_backoff);
}

void HttpServer::Impl::accept_later(std::chrono::milliseconds delay) {
  accept_timer.expires_after(delay);
  accept_timer.async_wait([this](beast::error_code ec) {
    if (ec || !acceptor.is_open()) return;
    accept();
  });
}

HttpServer::HttpServer(ServerOptions options, const Router& router, Metrics& metrics, Authenticator& authenticator,
                       UserLimits* limits, audit::AuditRecorder* audit)
    : impl_(std::make_unique<Impl>(std::move(options), router, metrics, authenticator, limits, audit)) {}

HttpServer::~HttpServer() {
  stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}

Result<std::string> HttpServer::start() {
  beast::error_code ec;
  const auto address = net::ip::make_address(impl_->options.host, ec);
  if (ec) return Error{ErrorCode::config_invalid, "cannot listen on '" + impl_->options.host + "': not an IP address"};
  const tcp::endpoint endpoint{address, impl_->options.port};
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error{ErrorCode::io_error, "cannot listen on " + impl_->options.host + ":" +
                                          std::to_string(impl_->options.port) + ": " + ec.message()};
  }
  const auto bound = acceptor.local_endpoint();
  const std::string host = bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
  impl_->accept();
  return host + ":" + std::to_string(bound.port());
}

void HttpServer::run() {
  auto& contexts = impl_->contexts;
  for (std::size_t i = 1; i < contexts.size(); ++i) {
    impl_->threads.emplace_back([context = contexts[i].get()] { context->run(); });
  }
  contexts.front()->run();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->threads.clear();
}

void HttpServer::stop() {
  net::post(*impl_->contexts.front(), [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
  });
  for (auto& context : impl_->contexts) context->stop();
}

void HttpServer::shutdown(std::chrono::milliseconds grace) {
  net::post(*impl_->contexts.front(), [this, grace] {
    impl_->draining = true;
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->drain_deadline = std::chrono::steady_clock::now() + grace;
    impl_->close_idle_connections();
    impl_->wait_for_drain();
  });
}

std::size_t HttpServer::open_connections() const { return impl_->connections.load(); }

}  // namespace mcval::http
