#pragma once
// MetricsServer: a second listener that answers only GET /metrics (Prometheus text), without
// authentication, for a scraper that reaches it through its own port (kept off the ingress and
// opened by a NetworkPolicy to the monitoring namespace only, docs/deployment.md).
#include <memory>
#include <string>
#include <thread>

#include "mcval/common/result.h"
#include "mcval/http/authenticator.h"
#include "mcval/http/metrics.h"
#include "mcval/http/router.h"
#include "mcval/http/server.h"

namespace mcval::http {

class MetricsServer {
 public:
  /// Listens on `listen` ("host:port", port 0: any free port) and serves `metrics` on its own
  /// thread until destroyed. `metrics` must outlive the server. Scrapes are neither logged nor
  /// counted in `metrics`.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& listen, const Metrics& metrics);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  /// The bound "host:port".
  const std::string& address() const { return address_; }

 private:
  MetricsServer() = default;
  Router router_;
  Metrics own_requests_;  ///< the scrapes themselves (not exposed)
  LocalAuthenticator no_authentication_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  std::string address_;
};

}  // namespace mcval::http
