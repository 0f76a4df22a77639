#include "mcval/http/message.h"

#include <nlohmann/json.hpp>

#include "mcval/common/logging.h"

namespace mcval::http {

std::string_view Request::header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? std::string_view{} : std::string_view{it->second};
}

const std::string& Request::param(const std::string& name) const {
  static const std::string kEmpty;
  const auto it = params.find(name);
  return it == params.end() ? kEmpty : it->second;
}

std::optional<std::string> Request::query_param(const std::string& name) const {
  const auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

Response& Response::header(std::string name, std::string value) {
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

Response Response::json(int status, const std::string& body) {
  Response r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body;
  return r;
}

Response error_response(const Error& error, const Request& request) {
  const int status = http_status(error.code);
  std::string message(public_message(error.code));
  if (status < 500 && !error.detail.empty()) {
    // "No such slide: no slide with id 'x'" — the table's message, then what was wrong.
    if (!message.empty() && message.back() == '.') message.pop_back();
    message += ": ";
    message += error.detail;
  }
  if (status >= 500) {
    log::error("request failed", {{"request_id", request.request_id}, {"code", error_name(error.code)},
                                  {"detail", error.detail}, {"target", log::redacted_target(request.target)}});
  }
  const nlohmann::json body = {
      {"error", {{"code", error_name(error.code)}, {"message", message}, {"request_id", request.request_id}}}};
  Response response = Response::json(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  // The shared store comes back by itself (a restart, a fail-over): clients may try again soon.
  if (error.code == ErrorCode::database_unavailable) response.header("Retry-After", "2");
  return response;
}

}  // namespace mcval::http
