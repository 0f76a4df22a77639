#pragma once
// HttpServer: HTTP/1.1 on Boost.Beast/Asio, keep-alive, a pool of threads running the
// handlers. Every request gets a request id, security headers, a JSON access-log line
// and a metrics observation; a handler that throws answers 500 and the server goes on.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/http/authenticator.h"
#include "mcval/http/cors.h"
#include "mcval/http/metrics.h"
#include "mcval/http/router.h"
#include "mcval/http/user_limits.h"

namespace mcval::http {

/// Which requests get an access-log line.
enum class AccessLog { all, errors, off };

struct ServerOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;  ///< 0: any free port
  int threads = 4;
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 << 10;  ///< the request head without its Authorization field (413)
  /// The Authorization field, read beyond max_header_bytes: a longer one is a refused token
  /// (401, audited) rather than a request too large; the token itself is limited by the verifier.
  std::size_t max_authorization_bytes = 17 << 10;
  int idle_timeout_seconds = 60;
  CorsPolicy cors = CorsPolicy::any_origin();  ///< who may read the Deep Zoom and IIIF routes cross-origin
  AccessLog access_log = AccessLog::all;  ///< errors: status >= 400 or slower than 1 s
  /// Limits of requests without a valid principal per client address (see dispatch); null:
  /// none. Must outlive the server.
  UserLimits* address_limits = nullptr;
  /// Most connections open at once; at the limit, accepting pauses (new connections wait in the
  /// kernel's queue) until one closes. 0: no limit of the server's own.
  std::size_t max_connections = 0;
};

class HttpServer {
 public:
  /// `router`, `metrics`, `authenticator` and, when given, `limits` and `audit` must outlive the
  /// server.
  HttpServer(ServerOptions options, const Router& router, Metrics& metrics, Authenticator& authenticator,
             UserLimits* limits = nullptr, audit::AuditRecorder* audit = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and listens; returns the bound "host:port" (the real port when 0 was asked).
  Result<std::string> start();
  /// Serves on the option's threads until stop(); returns when they have finished.
  void run();
  /// Stops accepting and ends run() at once (requests in flight are not answered); safe from
  /// any thread.
  void stop();
  /// Graceful stop, safe from any thread: refuses new connections, closes idle keep-alive
  /// connections, lets the requests in flight finish and answer (with `Connection: close`), and
  /// ends run() when no connection is left or after `grace`, whichever comes first.
  void shutdown(std::chrono::milliseconds grace);
  /// Connections open now (for tests and logs).
  std::size_t open_connections() const;

  struct Impl;  ///< Boost.Asio state, private to server.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

/// Handles one parsed request: routing, authentication (routes that are not public get
/// request.principal from `authenticator`, or 401 with WWW-Authenticate / 503), the caller's
/// limits (429 with Retry-After; audited in `audit` at most once per user and minute), errors,
/// HEAD, security headers, CORS (`cors`; null: any origin). Authentication decisions are counted
/// in `metrics` when given (mcval_auth_decisions_total). A request with more than one
/// Authorization header is refused 400 and audited (token_rejected, multiple_authorization_headers).
/// `address_limits` (keyed by UserLimits::address_key of the client's IP) counts the requests
/// refused for their credentials (401, and the 400 above); a client address over it is answered
/// 429 for anything but a valid token, without an audit record (but one per minute). Exposed for tests.
Response dispatch(const Router& router, Request& request, std::string& route_name, Authenticator& authenticator,
                  UserLimits* limits = nullptr, audit::AuditRecorder* audit = nullptr, Metrics* metrics = nullptr,
                  const CorsPolicy* cors = nullptr, UserLimits* address_limits = nullptr);

}  // namespace mcval::http
