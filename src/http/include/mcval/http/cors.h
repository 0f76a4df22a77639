#pragma once
// Cross-origin reads (CORS): which other web origins may read the responses of the routes that
// are open to them (Deep Zoom and IIIF, for viewers on other sites). Credentials are never
// allowed cross-origin (no Access-Control-Allow-Credentials), so a browser session cookie is
// never sent along; a page on an allowed origin calls with its own bearer token.
#include <string>
#include <string_view>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/http/message.h"

namespace mcval::http {

class CorsPolicy {
 public:
  static CorsPolicy any_origin();
  static CorsPolicy same_origin_only();
  /// "*" (any origin), "" (none) or comma-separated origins such as
  /// "https://viewer.example.org,http://localhost:3000": a scheme (http or https), a host and an
  /// optional port, nothing else (no path, no trailing '/'; compared case-insensitively).
  /// config_invalid naming the first bad entry otherwise.
  static Result<CorsPolicy> parse(std::string_view list);

  bool any() const { return any_; }
  const std::vector<std::string>& origins() const { return origins_; }
  bool allows(std::string_view origin) const;

  /// For a response with `cross_origin` set: Access-Control-Allow-Origin ("*", or the request's
  /// Origin when it is on the list, with Vary: Origin) and the headers a page may read. Nothing
  /// for an origin that is not allowed: the browser then keeps the response from the page.
  void apply(const Request& request, Response& response) const;

 private:
  bool any_ = false;
  std::vector<std::string> origins_;  ///< lower case
};

}  // namespace mcval::http
