// HttpsKeySource against small servers on 127.0.0.1 run by the test: plain HTTP, and TLS with a
// certificate made here (trusted only when SSL_CERT_FILE names it, as OpenSSL's default paths
// allow). Covers the URL rules, certificate and host checks, redirects, the size cap and the
// deadline.
#include "mcval/http/https_key_source.h"

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "mcval/testing/temp_dir.h"

namespace mcval::http {
namespace {

using namespace std::chrono_literals;

// ---- a certificate for 127.0.0.1 and "localhost", self-signed ----

struct TestCertificate {
  std::shared_ptr<EVP_PKEY> key;
  std::shared_ptr<X509> cert;
  std::string pem_path;
};

TestCertificate make_certificate(const std::filesystem::path& folder, const char* subject_alt_names) {
  TestCertificate out;
  out.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)), EVP_PKEY_free);
  out.cert.reset(X509_new(), X509_free);
  X509* cert = out.cert.get();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, out.key.get());
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("mcval test"), -1, -1,
                             0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_subject_alt_name, subject_alt_names}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert, out.key.get(), EVP_sha256());
  out.pem_path = (folder / "ca.pem").string();
  FILE* file = std::fopen(out.pem_path.c_str(), "w");
  PEM_write_X509(file, cert);
  std::fclose(file);
  return out;
}

// ---- a server on 127.0.0.1 answering every connection with the same bytes ----

class TestServer {
 public:
  /// `response`: the raw HTTP answer; `hang`: accept and never answer; `tls`: serve TLS with it.
  TestServer(std::string response, bool hang = false, const TestCertificate* tls = nullptr)
      : response_(std::move(response)), hang_(hang) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(fd_, 8);
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    if (tls) {
      ctx_ = SSL_CTX_new(TLS_server_method());
      SSL_CTX_use_certificate(ctx_, tls->cert.get());
      SSL_CTX_use_PrivateKey(ctx_, tls->key.get());
    }
    thread_ = std::thread([this] { serve(); });
  }
  ~TestServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
    if (ctx_) SSL_CTX_free(ctx_);
  }
  unsigned short port() const { return port_; }
  int connections() const { return connections_.load(); }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) continue;
      ++connections_;
      handle(client);
      ::close(client);
    }
  }
  void handle(int client) {
    SSL* ssl = nullptr;
    if (ctx_) {
      ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, client);
      if (SSL_accept(ssl) != 1) {  // the client refused the certificate
        SSL_free(ssl);
        ERR_clear_error();
        return;
      }
    }
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos) {
      const int n = ssl ? SSL_read(ssl, buffer, sizeof buffer) : static_cast<int>(::read(client, buffer, sizeof buffer));
      if (n <= 0) break;
      request.append(buffer, static_cast<std::size_t>(n));
    }
    if (hang_) {
      while (!stop_) std::this_thread::sleep_for(10ms);
    } else if (ssl) {
      SSL_write(ssl, response_.data(), static_cast<int>(response_.size()));
    } else {
      (void)!::write(client, response_.data(), response_.size());
    }
    if (ssl) {
      SSL_shutdown(ssl);
      SSL_free(ssl);
    }
  }

  std::string response_;
  bool hang_;
  int fd_ = -1;
  unsigned short port_ = 0;
  SSL_CTX* ctx_ = nullptr;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

std::string answer(int status, const std::string& body, const std::string& extra_headers = {}) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n" + extra_headers + "\r\n" + body;
}

const std::string kJwks = R"({"keys":[]})";

KeySourceOptions loopback_http() {
  KeySourceOptions options;
  options.allow_loopback_http = true;
  return options;
}

TEST(FetchUrl, ParsesAbsoluteHttpUrls) {
  auto u = parse_fetch_url("https://IdP.Example.org/realms/x/protocol/openid-connect/certs?a=1#frag");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "idp.example.org");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/realms/x/protocol/openid-connect/certs?a=1");
  EXPECT_EQ(u->host_header(), "idp.example.org");
  u = parse_fetch_url("http://[::1]:8080");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->host_header(), "[::1]:8080");
  for (const char* bad : {"ftp://x/", "https://user:pw@idp.example.org/", "https://idp.example.org:0/",
                          "https://idp.example.org:99999/", "https:///jwks", "https://a b/", "//idp/x",
                          "https://[::1/x", "https://[nothost]/"}) {
    EXPECT_FALSE(parse_fetch_url(bad).ok()) << bad;
  }
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.8.9.10"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_FALSE(is_loopback_host("128.0.0.1"));
  EXPECT_FALSE(is_loopback_host("localhost.example.org"));
  EXPECT_FALSE(is_loopback_host("::ffff:10.0.0.1"));
}

TEST(HttpsKeySource, PlainHttpOnlyToLoopbackAndOnlyWhenAllowed) {
  TestServer server(answer(200, kJwks));
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/jwks";
  HttpsKeySource strict;
  auto refused = strict.fetch(url);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::auth_unavailable);
  EXPECT_EQ(server.connections(), 0);  // refused before connecting

  HttpsKeySource tests(loopback_http());
  auto body = tests.fetch(url);
  ASSERT_TRUE(body.ok()) << body.error().to_string();
  EXPECT_EQ(*body, kJwks);
  auto localhost = tests.fetch("http://localhost:" + std::to_string(server.port()) + "/jwks");
  ASSERT_TRUE(localhost.ok()) << localhost.error().to_string();

  EXPECT_FALSE(tests.fetch("http://192.0.2.1:" + std::to_string(server.port()) + "/jwks").ok());
  EXPECT_FALSE(tests.fetch("http://idp.example.org/jwks").ok());
}

TEST(HttpsKeySource, OnlyA200BodyWithinTheLimitAndNoRedirect) {
  HttpsKeySource source(loopback_http());
  {
    TestServer server(answer(302, "", "Location: http://127.0.0.1:1/evil\r\n"));
    auto r = source.fetch("http://127.0.0.1:" + std::to_string(server.port()) + "/jwks");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().detail.find("redirect not followed"), std::string::npos) << r.error().detail;
    EXPECT_EQ(server.connections(), 1);
  }
  {
    TestServer server(answer(404, "{}"));
    auto r = source.fetch("http://127.0.0.1:" + std::to_string(server.port()) + "/jwks");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().detail.find("HTTP 404"), std::string::npos);
  }
  {
    KeySourceOptions options = loopback_http();
    options.max_body_bytes = 1000;
    HttpsKeySource small(options);
    TestServer server(answer(200, std::string(2000, 'x')));
    auto r = small.fetch("http://127.0.0.1:" + std::to_string(server.port()) + "/jwks");
    ASSERT_FALSE(r.ok()) << r->size();
    // Without Content-Length (the body runs to the end of the connection) as well.
    TestServer eof_server("HTTP/1.1 200 X\r\nConnection: close\r\n\r\n" + std::string(2000, 'x'));
    auto to_eof = small.fetch("http://127.0.0.1:" + std::to_string(eof_server.port()) + "/jwks");
    ASSERT_FALSE(to_eof.ok()) << to_eof->size();
    EXPECT_NE(r.error().detail.find("larger than 1000 bytes"), std::string::npos) << r.error().detail;
  }
}

TEST(HttpsKeySource, GivesUpAtTheDeadline) {
  KeySourceOptions options = loopback_http();
  options.timeout = 300ms;
  HttpsKeySource source(options);
  TestServer server("", /*hang=*/true);
  const auto started = std::chrono::steady_clock::now();
  auto r = source.fetch("http://127.0.0.1:" + std::to_string(server.port()) + "/jwks");
  const auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find("timed out"), std::string::npos) << r.error().detail;
  EXPECT_LT(took, 3s);
  EXPECT_GE(took, 250ms);
}

TEST(HttpsKeySource, VerifiesTheCertificateAndTheHost) {
  mcval::testing::TempDir dir;
  const TestCertificate cert = make_certificate(dir.path(), "IP:127.0.0.1");
  TestServer server(answer(200, kJwks), false, &cert);
  const std::string by_ip = "https://127.0.0.1:" + std::to_string(server.port()) + "/jwks";
  const std::string by_name = "https://localhost:" + std::to_string(server.port()) + "/jwks";

  // Not in the trust store: refused in the handshake.
  ::setenv("SSL_CERT_FILE", (dir.path() / "missing.pem").c_str(), 1);
  ::setenv("SSL_CERT_DIR", dir.path().c_str(), 1);
  {
    HttpsKeySource source;
    auto r = source.fetch(by_ip);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().detail.find("TLS handshake"), std::string::npos) << r.error().detail;
  }
  // Trusted (SSL_CERT_FILE is read by OpenSSL's default paths): fetched by IP; by a name the
  // certificate does not carry, refused.
  ::setenv("SSL_CERT_FILE", cert.pem_path.c_str(), 1);
  {
    HttpsKeySource source;
    auto r = source.fetch(by_ip);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(*r, kJwks);
    auto wrong_host = source.fetch(by_name);
    ASSERT_FALSE(wrong_host.ok());
    EXPECT_NE(wrong_host.error().detail.find("TLS handshake"), std::string::npos) << wrong_host.error().detail;
  }
  ::unsetenv("SSL_CERT_FILE");
  ::unsetenv("SSL_CERT_DIR");
}

}  // namespace
}  // namespace mcval::http
