#pragma once
// HttpsKeySource: the auth module's KeySource over Boost.Beast/Asio with OpenSSL. Fetches an
// identity provider's discovery document and JWKS (and posts a browser login's token request): https with the server's certificate verified
// against the system's trust store (OpenSSL's default paths, so SSL_CERT_FILE / SSL_CERT_DIR
// apply) and its host name or IP checked; plain http only to a loopback host and only when
// allowed (tests with a local provider). One GET, no redirects followed, a deadline for the
// whole exchange and a cap on the body.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "mcval/auth/jwk.h"
#include "mcval/auth/key_source.h"
#include "mcval/common/result.h"

namespace mcval::http {

struct KeySourceOptions {
  /// Deadline for one fetch: resolving, connecting, the TLS handshake, sending and reading.
  std::chrono::milliseconds timeout{5000};
  /// Largest body accepted (the response is refused beyond it).
  std::size_t max_body_bytes = auth::JwkSet::kMaxDocumentBytes;
  /// Permits http:// to 127.0.0.0/8, ::1 and localhost (resolved to loopback addresses only).
  bool allow_loopback_http = false;
};

/// The parts of a URL the key source fetches.
struct FetchUrl {
  std::string scheme;  ///< "https" or "http"
  std::string host;    ///< lower-case; an IPv6 literal without brackets
  unsigned short port = 0;
  std::string target;  ///< path and query, at least "/"
  /// "host" or "host:port" (IPv6 in brackets), as the Host header wants it.
  std::string host_header() const;
};

/// Parses an absolute http(s) URL. invalid_argument for other schemes, user information,
/// a bad port, spaces or control characters. The fragment is dropped.
Result<FetchUrl> parse_fetch_url(std::string_view url);

/// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback_host(std::string_view host);

/// Thread-safe: each fetch runs on its own io_context; the TLS context (trust store) is shared.
class HttpsKeySource final : public auth::KeySource {
 public:
  explicit HttpsKeySource(KeySourceOptions options = {});
  ~HttpsKeySource() override;
  HttpsKeySource(const HttpsKeySource&) = delete;
  HttpsKeySource& operator=(const HttpsKeySource&) = delete;

  /// The body of a 200 answer to GET `url`. auth_unavailable with the reason (for the log)
  /// for a refused URL, a failed connection or TLS verification, a timeout, any other status
  /// (a redirect is not followed) or a body over the limit.
  Result<std::string> fetch(const std::string& url) override;

  /// POSTs an application/x-www-form-urlencoded `form` (a token request of a browser login),
  /// with an `Authorization` header when not empty. The same rules and errors as fetch(); a
  /// refusal names the OAuth `error` code of the answer, never its other content.
  Result<std::string> post_form(const std::string& url, const std::string& form, const std::string& authorization);

 private:
  Result<std::string> exchange(const std::string& url, const std::string* form, const std::string& authorization);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcval::http
