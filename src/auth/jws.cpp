#include "mcval/auth/jws.h"

#include <openssl/rsa.h>

#include "mcval/auth/base64url.h"
#include "mcval/auth/refusal.h"
#include "mcval/auth/strict_json.h"
#include "openssl_util.h"

namespace mcval::auth {

namespace {

using json = nlohmann::json;

constexpr std::size_t kEs256SignatureBytes = 64;

Result<json> decode_object(std::string_view part, const char* what, int max_depth) {
  auto bytes = base64url_decode(part);
  if (!bytes) return refuse(Refusal::malformed, std::string(what) + " is not base64url");
  // RFC 8259 8.1: no byte-order mark; JSON parsers that skip it and ones that do not would
  // disagree about the token.
  if (bytes->starts_with("\xEF\xBB\xBF")) {
    return refuse(Refusal::malformed, std::string(what) + " starts with a byte-order mark");
  }
  auto object = parse_json_strict(*bytes, max_depth);
  if (!object.ok()) return refuse(Refusal::malformed, std::string(what) + ": " + object.error().detail);
  if (!object->is_object()) return refuse(Refusal::malformed, std::string(what) + " is not a JSON object");
  return std::move(object).value();
}

Result<std::optional<std::string>> header_string(const json& header, const char* name) {
  const auto it = header.find(name);
  if (it == header.end()) return std::optional<std::string>{};
  if (!it->is_string()) return refuse(Refusal::malformed, std::string("header \"") + name + "\" is not a string");
  return std::optional<std::string>{it->get<std::string>()};
}

// JOSE ECDSA signatures are r||s; OpenSSL verifies DER. Empty string when it cannot be built.
std::string es256_der(std::string_view raw) {
  if (raw.size() != kEs256SignatureBytes) return {};
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  ossl::Ptr<ECDSA_SIG> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes, 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + 32, 32, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(sig.get(), &der);
  if (length <= 0 || der == nullptr) return {};
  ossl::Ptr<unsigned char> owned(der);
  return std::string(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
}

}  // namespace

Result<Jws> parse_jws(std::string_view compact, const JwsLimits& limits) {
  if (compact.empty()) return refuse(Refusal::malformed, "empty token");
  if (compact.size() > limits.max_token_bytes) {
    return refuse(Refusal::malformed, "token longer than " + std::to_string(limits.max_token_bytes) + " bytes");
  }
  const std::size_t first = compact.find('.');
  const std::size_t second = first == std::string_view::npos ? first : compact.find('.', first + 1);
  if (second == std::string_view::npos || compact.find('.', second + 1) != std::string_view::npos) {
    return refuse(Refusal::malformed, "a compact JWS has exactly three parts");
  }
  const std::string_view header_part = compact.substr(0, first);
  const std::string_view payload_part = compact.substr(first + 1, second - first - 1);
  const std::string_view signature_part = compact.substr(second + 1);
  if (header_part.empty() || payload_part.empty() || signature_part.empty()) {
    return refuse(Refusal::malformed, "empty header, payload or signature");
  }

  Jws jws;
  MCVAL_TRY_ASSIGN(header, decode_object(header_part, "header", limits.max_json_depth));
  jws.header = std::move(header);
  MCVAL_TRY_ASSIGN(alg, header_string(jws.header, "alg"));
  if (!alg) return refuse(Refusal::malformed, "header without \"alg\"");
  jws.alg = std::move(*alg);
  MCVAL_TRY_ASSIGN(kid, header_string(jws.header, "kid"));
  jws.kid = std::move(kid);
  MCVAL_TRY_ASSIGN(typ, header_string(jws.header, "typ"));
  jws.typ = std::move(typ);
  if (jws.header.contains("enc")) return refuse(Refusal::malformed, "an encrypted token (JWE) is not a JWS");
  if (const auto crit = jws.header.find("crit"); crit != jws.header.end()) {
    if (!crit->is_array() || crit->empty())
      return refuse(Refusal::malformed, "header \"crit\" is not a non-empty array");
    return refuse(Refusal::unsupported_crit, "header \"crit\" names extensions this server does not understand");
  }

  MCVAL_TRY_ASSIGN(payload, decode_object(payload_part, "payload", limits.max_json_depth));
  jws.payload = std::move(payload);
  auto signature = base64url_decode(signature_part);
  if (!signature || signature->empty()) return refuse(Refusal::malformed, "signature is not base64url");
  jws.signature = std::move(*signature);
  jws.signing_input = std::string(compact.substr(0, second));
  return jws;
}

bool verify_signature(const Jws& jws, SignatureAlg alg, const Jwk& key) {
  if (!key.usable_for(alg) || key.native() == nullptr) return false;
  ossl::ErrorQueueGuard clear_errors;
  std::string der;
  std::string_view signature = jws.signature;
  if (alg == SignatureAlg::es256) {
    der = es256_der(jws.signature);
    if (der.empty()) return false;
    signature = der;
  }
  ossl::Ptr<EVP_MD_CTX> md(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by md
  if (!md || EVP_DigestVerifyInit_ex(md.get(), &pctx, "SHA256", nullptr, nullptr, key.native(), nullptr) != 1) {
    return false;
  }
  if (alg == SignatureAlg::ps256) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA256", nullptr) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
      return false;
    }
  } else if (alg == SignatureAlg::rs256) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return false;
  }
  return EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(jws.signing_input.data()),
                          jws.signing_input.size()) == 1;
}

}  // namespace mcval::auth
