#include "mcval/http/router.h"

#include "mcval/common/strings.h"

namespace mcval::http {

void Router::add(std::string method, std::string pattern, std::string route_name, Handler handler, Access access) {
  Route route;
  route.method = std::move(method);
  for (auto part : split(pattern, '/')) {
    if (!part.empty()) route.pattern.emplace_back(part);
  }
  route.name = std::move(route_name);
  route.handler = std::move(handler);
  route.access = access;
  routes_.push_back(std::move(route));
}

bool match_segment(std::string_view pattern, std::string_view segment, std::map<std::string, std::string>& captures) {
  // Walk the pattern: literals must match exactly; a capture takes the shortest text up to
  // the next literal (or, for the last capture, everything left). Captures are never empty.
  std::size_t p = 0;
  std::size_t s = 0;
  while (p < pattern.size()) {
    if (pattern[p] == '{') {
      const auto close = pattern.find('}', p);
      const std::string name(pattern.substr(p + 1, close - p - 1));
      p = close + 1;
      const auto next_brace = pattern.find('{', p);
      const std::string_view literal =
          pattern.substr(p, next_brace == std::string_view::npos ? std::string_view::npos : next_brace - p);
      std::size_t end;
      if (literal.empty()) {
        end = segment.size();
      } else if (p + literal.size() == pattern.size()) {
        // Trailing literal (e.g. ".dzi"): anchor it at the end of the segment.
        if (segment.size() < literal.size() || segment.substr(segment.size() - literal.size()) != literal) return false;
        end = segment.size() - literal.size();
        if (end < s) return false;
      } else {
        end = segment.find(literal, s);
        if (end == std::string_view::npos) return false;
      }
      if (end == s) return false;
      captures[name] = std::string(segment.substr(s, end - s));
      s = end;
    } else {
      const auto next_brace = pattern.find('{', p);
      const std::string_view literal =
          pattern.substr(p, next_brace == std::string_view::npos ? std::string_view::npos : next_brace - p);
      if (segment.substr(s, literal.size()) != literal) return false;
      s += literal.size();
      p += literal.size();
    }
  }
  return s == segment.size();
}

Router::Match Router::match(Request& request) const {
  Match result;
  for (const auto& route : routes_) {
    if (route.pattern.size() != request.segments.size()) continue;
    std::map<std::string, std::string> captures;
    bool ok = true;
    for (std::size_t i = 0; i < route.pattern.size() && ok; ++i) {
      ok = match_segment(route.pattern[i], request.segments[i], captures);
    }
    if (!ok) continue;
    const bool method_ok = route.method == request.method || (route.method == "GET" && request.method == "HEAD");
    if (!method_ok) {
      result.path_matched_other_method = true;
      continue;
    }
    request.params = std::move(captures);
    result.handler = &route.handler;
    result.route_name = route.name;
    result.access = route.access;
    return result;
  }
  return result;
}

}  // namespace mcval::http
