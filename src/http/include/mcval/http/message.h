#pragma once
// The server's view of one request and one response, independent of Boost.Beast.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mcval/auth/principal.h"
#include "mcval/common/error.h"

namespace mcval::http {

struct Request {
  std::string method;                         ///< "GET", "HEAD", "POST", ...
  std::string target;                         ///< raw request target, e.g. "/dzi/x.dzi?a=1"
  std::vector<std::string> segments;          ///< path split on '/', each percent-decoded
  std::map<std::string, std::string> query;   ///< decoded query parameters (last one wins)
  std::map<std::string, std::string> headers; ///< lower-case names
  /// Lower-case names of header fields that came more than once (`headers` holds the last).
  std::vector<std::string> repeated_headers;
  std::string request_id;
  std::string remote_address;                ///< "ip:port" of the client
  std::string remote_ip;                     ///< the client's IP alone (for the audit log)
  /// The verified caller; set by dispatch() before the handler of every route that is not
  /// public, null for public routes.
  std::shared_ptr<const auth::Principal> principal;
  /// Route parameters captured by the router ({id}, {level}, ...).
  std::map<std::string, std::string> params;

  std::string_view header(const std::string& lower_name) const;
  const std::string& param(const std::string& name) const;
  std::optional<std::string> query_param(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  /// A body shared with its owner (a cached tile) instead of copied into `body`; when set it is
  /// what is sent, and `body` stays empty.
  std::shared_ptr<const std::string> shared_body;
  std::vector<std::pair<std::string, std::string>> headers;
  /// Pages of other web origins may read this response as the server's CorsPolicy allows
  /// (set by the Deep Zoom and IIIF routes; dispatch() adds the headers).
  bool cross_origin = false;

  Response& header(std::string name, std::string value);
  /// The bytes sent: `shared_body` if set, else `body`.
  std::string_view body_bytes() const { return shared_body ? std::string_view(*shared_body) : std::string_view(body); }
  static Response json(int status, const std::string& body);
};

/// The one place an Error becomes a response: JSON {"error":{"code","message","request_id"}}.
/// For 4xx codes the message includes the detail (it describes the caller's own input);
/// for 5xx only the table's public message is shown and the detail is logged.
Response error_response(const Error& error, const Request& request);

}  // namespace mcval::http
