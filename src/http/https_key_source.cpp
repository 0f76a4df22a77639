#include "mcval/http/https_key_source.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "mcval/common/strings.h"

namespace mcval::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

namespace {

Error unavailable(std::string why) { return Error{ErrorCode::auth_unavailable, std::move(why)}; }

bool is_ip_literal(const std::string& host) {
  in6_addr v6{};
  in_addr v4{};
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

}  // namespace

std::string FetchUrl::host_header() const {
  const std::string name = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const unsigned short default_port = scheme == "https" ? 443 : 80;
  return port == default_port ? name : name + ":" + std::to_string(port);
}

Result<FetchUrl> parse_fetch_url(std::string_view url) {
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return Error{ErrorCode::invalid_argument, "the URL holds a space or a control character"};
    }
  }
  FetchUrl parsed;
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return Error{ErrorCode::invalid_argument, "not an absolute URL"};
  parsed.scheme = to_lower(url.substr(0, scheme_end));
  if (parsed.scheme != "https" && parsed.scheme != "http") {
    return Error{ErrorCode::invalid_argument, "the URL's scheme is neither https nor http"};
  }
  std::string_view rest = url.substr(scheme_end + 3);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  const auto path_start = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, path_start);
  std::string target(path_start == std::string_view::npos ? std::string_view("/") : rest.substr(path_start));
  if (target.front() == '?') target.insert(target.begin(), '/');
  parsed.target = std::move(target);
  if (authority.find('@') != std::string_view::npos) {
    return Error{ErrorCode::invalid_argument, "the URL carries user information"};
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return Error{ErrorCode::invalid_argument, "unterminated IPv6 literal"};
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Error{ErrorCode::invalid_argument, "junk after the IPv6 literal"};
      port = after.substr(1);
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &v6) != 1) {
      return Error{ErrorCode::invalid_argument, "not an IPv6 address in brackets"};
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return Error{ErrorCode::invalid_argument, "the URL has no host"};
  parsed.host = to_lower(host);
  parsed.port = parsed.scheme == "https" ? 443 : 80;
  if (!port.empty()) {
    unsigned int number = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (ec != std::errc{} || end != port.data() + port.size() || number == 0 || number > 65535) {
      return Error{ErrorCode::invalid_argument, "the URL's port is not 1-65535"};
    }
    parsed.port = static_cast<unsigned short>(number);
  }
  return parsed;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  const std::string text(host);
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, text.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

struct HttpsKeySource::Impl {
  explicit Impl(KeySourceOptions o) : options(o), tls(ssl::context::tls_client) {
    beast::error_code ec;
    tls.set_default_verify_paths(ec);
    tls.set_verify_mode(ssl::verify_peer);
    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
  }
  KeySourceOptions options;
  ssl::context tls;
};

HttpsKeySource::HttpsKeySource(KeySourceOptions options) : impl_(std::make_unique<Impl>(options)) {}
HttpsKeySource::~HttpsKeySource() = default;

Result<std::string> HttpsKeySource::fetch(const std::string& url) { return exchange(url, nullptr, {}); }

Result<std::string> HttpsKeySource::post_form(const std::string& url, const std::string& form,
                                              const std::string& authorization) {
  return exchange(url, &form, authorization);
}

Result<std::string> HttpsKeySource::exchange(const std::string& url, const std::string* form,
                                             const std::string& authorization) {
  auto parsed_or = parse_fetch_url(url);
  if (!parsed_or.ok()) return unavailable("refused URL: " + parsed_or.error().detail);
  const FetchUrl parsed = std::move(parsed_or).value();
  const bool https = parsed.scheme == "https";
  if (!https && !(impl_->options.allow_loopback_http && is_loopback_host(parsed.host))) {
    return unavailable("refused URL: plain http is allowed only to a loopback host, in tests");
  }

  net::io_context ioc(1);
  tcp::resolver resolver(ioc);
  beast::ssl_stream<beast::tcp_stream> tls_stream(ioc, impl_->tls);
  beast::tcp_stream& tcp_stream = beast::get_lowest_layer(tls_stream);
  net::steady_timer deadline_timer(ioc);
  const auto deadline = std::chrono::steady_clock::now() + impl_->options.timeout;

  if (https) {
    SSL* native = tls_stream.native_handle();
    if (!is_ip_literal(parsed.host)) {  // SNI; SSL_set_tlsext_host_name is a macro with a C cast
      SSL_ctrl(native, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(parsed.host.c_str()));
    }
    X509_VERIFY_PARAM* param = SSL_get0_param(native);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int set = is_ip_literal(parsed.host) ? X509_VERIFY_PARAM_set1_ip_asc(param, parsed.host.c_str())
                                               : X509_VERIFY_PARAM_set1_host(param, parsed.host.c_str(), 0);
    if (set != 1) return unavailable("cannot set the host to verify: " + parsed.host);
  }

  bhttp::request<bhttp::string_body> request{form ? bhttp::verb::post : bhttp::verb::get, parsed.target, 11};
  request.set(bhttp::field::host, parsed.host_header());
  request.set(bhttp::field::user_agent, "mcval");
  request.set(bhttp::field::accept, "application/json");
  request.set(bhttp::field::connection, "close");
  if (!authorization.empty()) request.set(bhttp::field::authorization, authorization);
  if (form) {
    request.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
    request.set(bhttp::field::cache_control, "no-store");
    request.body() = *form;
    request.prepare_payload();
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(impl_->options.max_body_bytes);
  parser.header_limit(64 * 1024);
  beast::flat_buffer buffer;

  std::optional<Error> failure;
  bool done = false;
  auto fail = [&](const std::string& step, const beast::error_code& ec) {
    if (failure || done) return;
    std::string why = step + ": " + ec.message();
    if (ec == beast::error::timeout || ec == net::error::operation_aborted) why = step + ": timed out";
    if (ec == bhttp::error::body_limit) {
      why = "the document is larger than " + std::to_string(impl_->options.max_body_bytes) + " bytes";
    }
    failure = unavailable(url + ": " + why);
    deadline_timer.cancel();
  };

  // The header first: Beast 1.74 checks a Content-Length against the body limit only when the
  // header is parsed on its own (an eager read of a whole message in one buffer skips it).
  auto read_response = [&](auto& stream) {
    bhttp::async_read_header(stream, buffer, parser, [&](beast::error_code ec, std::size_t) {
      if (ec) return fail("reading the response", ec);
      bhttp::async_read(stream, buffer, parser, [&](beast::error_code body_ec, std::size_t) {
        if (body_ec) return fail("reading the response", body_ec);
        done = true;
        deadline_timer.cancel();
      });
    });
  };
  auto send_request = [&](auto& stream) {
    bhttp::async_write(stream, request, [&, read_response](beast::error_code ec, std::size_t) {
      if (ec) return fail("sending the request", ec);
      read_response(stream);
    });
  };
  auto on_connected = [&]() {
    if (!https) return send_request(tcp_stream);
    tls_stream.async_handshake(ssl::stream_base::client, [&, send_request](beast::error_code ec) {
      if (ec) return fail("TLS handshake (certificate verification)", ec);
      send_request(tls_stream);
    });
  };

  deadline_timer.expires_at(deadline);
  deadline_timer.async_wait([&](beast::error_code ec) {
    if (ec) return;  // cancelled: finished in time
    resolver.cancel();
    if (!failure && !done) failure = unavailable(url + ": timed out");
    beast::error_code ignored;
    tcp_stream.socket().close(ignored);
  });
  resolver.async_resolve(parsed.host, std::to_string(parsed.port), [&](beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return fail("resolving " + parsed.host, ec);
    std::vector<tcp::endpoint> endpoints;
    for (const auto& entry : results) {
      if (!https && !entry.endpoint().address().is_loopback()) continue;  // http: loopback addresses only
      endpoints.push_back(entry.endpoint());
    }
    if (endpoints.empty()) {
      failure = unavailable(url + ": " + parsed.host + " resolves to no usable address");
      deadline_timer.cancel();
      return;
    }
    tcp_stream.expires_at(deadline);
    tcp_stream.async_connect(endpoints, [&](beast::error_code connect_ec, const tcp::endpoint&) {
      if (connect_ec) return fail("connecting", connect_ec);
      on_connected();
    });
  });
  ioc.run();

  if (failure) return *failure;
  if (!done) return unavailable(url + ": no response");
  const auto& response = parser.get();
  const int status = static_cast<int>(response.result_int());
  if (status >= 300 && status < 400) {
    return unavailable(url + ": HTTP " + std::to_string(status) + " redirect not followed");
  }
  if (status != 200) {
    std::string why = url + ": HTTP " + std::to_string(status);
    // A token endpoint says why in an OAuth error object ({"error": "invalid_grant", ...}).
    const auto error = nlohmann::json::parse(response.body(), nullptr, /*allow_exceptions=*/false);
    if (form && error.is_object() && error.contains("error") && error["error"].is_string()) {
      why += " " + error["error"].get<std::string>().substr(0, 64);
    }
    return unavailable(why);
  }
  return std::string(response.body());
}

}  // namespace mcval::http
