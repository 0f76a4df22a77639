#include "mcval/http/metrics_server.h"

#include "mcval/common/config.h"

namespace mcval::http {

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& listen, const Metrics& metrics) {
  MCVAL_TRY_ASSIGN(address, parse_listen_address(listen));
  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->router_.add(
      "GET", "/metrics", "metrics",
      [&metrics](Request&) {
        Response r;
        r.status = 200;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = metrics.render();
        r.header("Cache-Control", "no-store");
        return r;
      },
      Access::public_);
  ServerOptions options;
  options.host = address.first;
  options.port = address.second;
  options.threads = 1;
  options.access_log = AccessLog::off;
  server->server_ = std::make_unique<HttpServer>(options, server->router_, server->own_requests_,
                                                 server->no_authentication_);
  MCVAL_TRY_ASSIGN(bound, server->server_->start());
  server->address_ = bound;
  server->thread_ = std::thread([raw = server->server_.get()] { raw->run(); });
  return server;
}

MetricsServer::~MetricsServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace mcval::http
