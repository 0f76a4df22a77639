#include "test_signer.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <stdexcept>
#include <vector>

#include "mcval/auth/base64url.h"

namespace mcval::auth::testing {

namespace {

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL failed: ") + what);
}

std::string bignum_bytes(EVP_PKEY* key, const char* param, int pad) {
  BIGNUM* bn = nullptr;
  check(EVP_PKEY_get_bn_param(key, param, &bn) == 1, param);
  std::vector<unsigned char> bytes(static_cast<std::size_t>(pad > 0 ? pad : BN_num_bytes(bn)));
  if (pad > 0) {
    check(BN_bn2binpad(bn, bytes.data(), pad) == pad, "BN_bn2binpad");
  } else {
    BN_bn2bin(bn, bytes.data());
  }
  BN_free(bn);
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace

TestKey TestKey::rsa(int bits) {
  TestKey key;
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
  check(raw != nullptr, "RSA keygen");
  key.pkey_.reset(raw, EVP_PKEY_free);
  return key;
}

TestKey TestKey::ec(const char* curve) {
  TestKey key;
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve);
  check(raw != nullptr, "EC keygen");
  key.pkey_.reset(raw, EVP_PKEY_free);
  return key;
}

nlohmann::json TestKey::jwk(const std::string& kid, const std::string& alg) const {
  nlohmann::json j;
  if (EVP_PKEY_is_a(pkey_.get(), "RSA")) {
    j["kty"] = "RSA";
    j["n"] = base64url_encode(bignum_bytes(pkey_.get(), OSSL_PKEY_PARAM_RSA_N, 0));
    j["e"] = base64url_encode(bignum_bytes(pkey_.get(), OSSL_PKEY_PARAM_RSA_E, 0));
  } else {
    char group[64] = {};
    size_t length = 0;
    check(EVP_PKEY_get_utf8_string_param(pkey_.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) == 1,
          "group name");
    const std::string name(group, length);
    const int size = name == "prime256v1" ? 32 : name == "secp384r1" ? 48 : 66;
    j["kty"] = "EC";
    j["crv"] = name == "prime256v1" ? "P-256" : name == "secp384r1" ? "P-384" : "P-521";
    j["x"] = base64url_encode(bignum_bytes(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_X, size));
    j["y"] = base64url_encode(bignum_bytes(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, size));
  }
  if (!kid.empty()) j["kid"] = kid;
  if (!alg.empty()) j["alg"] = alg;
  j["use"] = "sig";
  return j;
}

std::string TestKey::public_pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  check(bio != nullptr && PEM_write_bio_PUBKEY(bio, pkey_.get()) == 1, "PEM");
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(length));
  BIO_free(bio);
  return pem;
}

std::string TestKey::sign(SignatureAlg alg, std::string_view input, int pss_salt) const {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  check(md != nullptr && EVP_DigestSignInit_ex(md, &pctx, "SHA256", nullptr, nullptr, pkey_.get(), nullptr) == 1,
        "DigestSignInit");
  if (alg == SignatureAlg::ps256) {
    check(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
              EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA256", nullptr) == 1 &&
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, pss_salt) == 1,
          "PSS parameters");
  }
  size_t length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  check(EVP_DigestSign(md, nullptr, &length, data, input.size()) == 1, "DigestSign size");
  std::vector<unsigned char> signature(length);
  check(EVP_DigestSign(md, signature.data(), &length, data, input.size()) == 1, "DigestSign");
  EVP_MD_CTX_free(md);
  signature.resize(length);
  if (alg != SignatureAlg::es256) return std::string(signature.begin(), signature.end());
  const unsigned char* p = signature.data();
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(signature.size()));
  check(sig != nullptr, "d2i_ECDSA_SIG");
  unsigned char raw[64];
  check(BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32) == 32 && BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32) == 32,
        "r||s");
  ECDSA_SIG_free(sig);
  return std::string(reinterpret_cast<const char*>(raw), sizeof raw);
}

const TestKey& rsa_key(int index) {
  static const TestKey keys[] = {TestKey::rsa(), TestKey::rsa(), TestKey::rsa()};
  return keys[index];
}

const TestKey& ec_key(int index) {
  static const TestKey keys[] = {TestKey::ec(), TestKey::ec(), TestKey::ec()};
  return keys[index];
}

std::string sign_token_text(std::string_view header, std::string_view payload, const TestKey& key, SignatureAlg alg) {
  const std::string input = base64url_encode(header) + "." + base64url_encode(payload);
  return input + "." + base64url_encode(key.sign(alg, input));
}

std::string sign_token(const nlohmann::json& header, const nlohmann::json& payload, const TestKey& key,
                       SignatureAlg alg) {
  return sign_token_text(header.dump(), payload.dump(), key, alg);
}

std::string hmac_token(const nlohmann::json& header, const nlohmann::json& payload, std::string_view secret) {
  const std::string input = base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t length = 0;
  check(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                  reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof mac,
                  &length) != nullptr,
        "HMAC");
  return input + "." + base64url_encode(std::string(reinterpret_cast<const char*>(mac), length));
}

}  // namespace mcval::auth::testing
