#pragma once
// Router: maps method + path pattern to a handler. Patterns are '/'-separated; a segment
// "{name}" captures one decoded segment, and a segment like "{id}.dzi" or "{col}_{row}.{fmt}"
// captures parts of one segment around literal separators.
#include <functional>
#include <string>
#include <vector>

#include "mcval/http/message.h"

namespace mcval::http {

using Handler = std::function<Response(Request&)>;

/// Who may reach a route. Deny by default: a route is `authenticated` unless registered
/// `public_` (viewer assets, health probes, CORS preflights: nothing that names a slide).
enum class Access { authenticated, public_ };

class Router {
 public:
  /// `route_name` labels metrics and logs (never the raw path, to bound cardinality).
  void add(std::string method, std::string pattern, std::string route_name, Handler handler,
           Access access = Access::authenticated);

  struct Match {
    const Handler* handler = nullptr;
    std::string route_name;
    Access access = Access::authenticated;
    bool path_matched_other_method = false;  ///< for 405
  };
  /// Finds the handler and fills request.params; handler null when nothing matches.
  Match match(Request& request) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> pattern;
    std::string name;
    Handler handler;
    Access access = Access::authenticated;
  };
  std::vector<Route> routes_;
};

/// Matches one decoded segment against a pattern segment; fills captures. Exposed for tests.
bool match_segment(std::string_view pattern, std::string_view segment,
                   std::map<std::string, std::string>& captures);

}  // namespace mcval::http
