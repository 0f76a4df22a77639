#include "mcval/auth/jwk.h"

#include <openssl/core_names.h>

#include "mcval/auth/base64url.h"
#include "mcval/auth/strict_json.h"
#include "openssl_util.h"

namespace mcval::auth {

namespace {

using json = nlohmann::json;

constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;
constexpr std::size_t kP256CoordinateBytes = 32;

Error bad_key(std::string why) { return Error{ErrorCode::invalid_argument, std::move(why)}; }

// An optional string member: absent is fine, present but not a string is an error.
Result<std::optional<std::string>> optional_string(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end()) return std::optional<std::string>{};
  if (!it->is_string()) return bad_key(std::string("\"") + name + "\" is not a string");
  return std::optional<std::string>{it->get<std::string>()};
}

Result<std::string> required_bytes(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return bad_key(std::string("\"") + name + "\" missing or not a string");
  auto bytes = base64url_decode(it->get_ref<const std::string&>());
  if (!bytes || bytes->empty()) return bad_key(std::string("\"") + name + "\" is not base64url");
  return std::move(*bytes);
}

ossl::Ptr<BIGNUM> to_bignum(const std::string& big_endian) {
  return ossl::Ptr<BIGNUM>(BN_bin2bn(reinterpret_cast<const unsigned char*>(big_endian.data()),
                                     static_cast<int>(big_endian.size()), nullptr));
}

Result<ossl::Ptr<EVP_PKEY>> from_params(const char* type, OSSL_PARAM_BLD* builder) {
  ossl::Ptr<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(builder));
  ossl::Ptr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1 || raw == nullptr) {
    return bad_key(std::string("OpenSSL refused the ") + type + " key");
  }
  ossl::Ptr<EVP_PKEY> key(raw);
  ossl::Ptr<EVP_PKEY_CTX> check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    return bad_key(std::string("the ") + type + " public key fails OpenSSL's check");
  }
  return key;
}

Result<ossl::Ptr<EVP_PKEY>> rsa_key(const json& object, int& bits) {
  MCVAL_TRY_ASSIGN(n, required_bytes(object, "n"));
  MCVAL_TRY_ASSIGN(e, required_bytes(object, "e"));
  if (n.size() > kMaxRsaBits / 8 + 1 || e.size() > 8) return bad_key("RSA modulus or exponent too long");
  auto n_bn = to_bignum(n);
  auto e_bn = to_bignum(e);
  if (!n_bn || !e_bn) return bad_key("RSA numbers unreadable");
  bits = BN_num_bits(n_bn.get());
  if (bits < kMinRsaBits) return bad_key("RSA key of " + std::to_string(bits) + " bits (at least 2048 required)");
  if (bits > kMaxRsaBits) return bad_key("RSA key of " + std::to_string(bits) + " bits (at most 8192 accepted)");
  if (!BN_is_odd(e_bn.get()) || BN_num_bits(e_bn.get()) < 2) return bad_key("RSA exponent must be odd and at least 3");
  ossl::Ptr<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  if (!builder || OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n_bn.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e_bn.get()) != 1) {
    return bad_key("RSA parameters could not be built");
  }
  return from_params("RSA", builder.get());
}

Result<ossl::Ptr<EVP_PKEY>> ec_key(const json& object, int& bits) {
  MCVAL_TRY_ASSIGN(crv, optional_string(object, "crv"));
  if (!crv) return bad_key("EC key without \"crv\"");
  if (*crv != "P-256") return bad_key("unsupported curve (only P-256)");
  MCVAL_TRY_ASSIGN(x, required_bytes(object, "x"));
  MCVAL_TRY_ASSIGN(y, required_bytes(object, "y"));
  if (x.size() != kP256CoordinateBytes || y.size() != kP256CoordinateBytes) {
    return bad_key("P-256 coordinates must be 32 bytes each");
  }
  std::string point = "\x04" + x + y;  // uncompressed SEC1 point
  ossl::Ptr<OSSL_PARAM_BLD> builder(OSSL_PARAM_BLD_new());
  char group[] = "P-256";
  if (!builder || OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return bad_key("EC parameters could not be built");
  }
  bits = 256;
  return from_params("EC", builder.get());
}

bool fits(KeyType type, SignatureAlg alg) {
  return type == KeyType::ec_p256 ? alg == SignatureAlg::es256 : alg != SignatureAlg::es256;
}

}  // namespace

std::string_view alg_name(SignatureAlg alg) noexcept {
  switch (alg) {
    case SignatureAlg::rs256:
      return "RS256";
    case SignatureAlg::ps256:
      return "PS256";
    case SignatureAlg::es256:
      return "ES256";
  }
  return "";
}

std::optional<SignatureAlg> alg_from_name(std::string_view name) noexcept {
  if (name == "RS256") return SignatureAlg::rs256;
  if (name == "PS256") return SignatureAlg::ps256;
  if (name == "ES256") return SignatureAlg::es256;
  return std::nullopt;
}

Result<Jwk> Jwk::parse(const nlohmann::json& object) {
  ossl::ErrorQueueGuard clear_errors;
  if (!object.is_object()) return bad_key("a key is not a JSON object");
  MCVAL_TRY_ASSIGN(kty, optional_string(object, "kty"));
  MCVAL_TRY_ASSIGN(kid, optional_string(object, "kid"));
  MCVAL_TRY_ASSIGN(use, optional_string(object, "use"));
  MCVAL_TRY_ASSIGN(alg, optional_string(object, "alg"));
  if (!kty) return bad_key("key without \"kty\"");
  if (use && *use != "sig") return bad_key("key \"use\" is not \"sig\"");
  if (const auto ops = object.find("key_ops"); ops != object.end()) {
    if (!ops->is_array()) return bad_key("\"key_ops\" is not an array");
    bool verify = false;
    for (const auto& op : *ops) {
      if (!op.is_string()) return bad_key("\"key_ops\" holds a non-string");
      verify = verify || op.get_ref<const std::string&>() == "verify";
    }
    if (!verify) return bad_key("\"key_ops\" does not allow \"verify\"");
  }

  Jwk key;
  key.kid_ = kid.value_or("");
  if (*kty == "RSA") {
    key.type_ = KeyType::rsa;
    MCVAL_TRY_ASSIGN(pkey, rsa_key(object, key.bits_));
    key.pkey_ = std::shared_ptr<evp_pkey_st>(pkey.release(), EVP_PKEY_free);
  } else if (*kty == "EC") {
    key.type_ = KeyType::ec_p256;
    MCVAL_TRY_ASSIGN(pkey, ec_key(object, key.bits_));
    key.pkey_ = std::shared_ptr<evp_pkey_st>(pkey.release(), EVP_PKEY_free);
  } else if (*kty == "oct") {
    return bad_key("symmetric (\"oct\") keys are never accepted");
  } else {
    return bad_key("unsupported key type");
  }
  if (alg) {
    key.alg_ = alg_from_name(*alg);
    if (!key.alg_ || !fits(key.type_, *key.alg_))
      return bad_key("key \"alg\" is not RS256, PS256 or ES256 for its type");
  }
  return key;
}

bool Jwk::usable_for(SignatureAlg alg) const { return fits(type_, alg) && (!alg_ || *alg_ == alg); }

Result<JwkSet> JwkSet::parse(std::string_view json_text) {
  if (json_text.size() > kMaxDocumentBytes) return bad_key("JWKS document larger than 1 MiB");
  auto document = parse_json_strict(json_text, 8);
  if (!document.ok()) return bad_key("JWKS: " + document.error().detail);
  const auto keys = document->find("keys");
  if (!document->is_object() || keys == document->end() || !keys->is_array()) {
    return bad_key("JWKS is not an object with a \"keys\" array");
  }
  JwkSet set;
  std::size_t index = 0;
  for (const auto& member : *keys) {
    const std::string label = "key " + std::to_string(index++);
    if (set.keys_.size() >= kMaxKeys) {
      set.skipped_.push_back(label + ": more than " + std::to_string(kMaxKeys) + " keys");
      continue;
    }
    auto key = Jwk::parse(member);
    if (!key.ok()) {
      std::string kid;
      if (member.is_object() && member.contains("kid") && member["kid"].is_string()) {
        kid = " (kid \"" + member["kid"].get<std::string>().substr(0, 80) + "\")";
      }
      set.skipped_.push_back(label + kid + ": " + key.error().detail);
      continue;
    }
    bool duplicate = false;
    for (const auto& earlier : set.keys_) {
      duplicate = duplicate || (earlier.kid() == key->kid() && earlier.type() == key->type());
    }
    if (duplicate) {
      set.skipped_.push_back(label + ": repeats kid \"" + key->kid().substr(0, 80) + "\"");
      continue;
    }
    set.keys_.push_back(std::move(key).value());
  }
  return set;
}

const Jwk* JwkSet::find(std::optional<std::string_view> kid, SignatureAlg alg) const {
  const Jwk* found = nullptr;
  for (const auto& key : keys_) {
    if (!key.usable_for(alg)) continue;
    if (kid) {
      if (key.kid() == *kid) return &key;
    } else {
      if (found != nullptr) return nullptr;  // ambiguous without a kid
      found = &key;
    }
  }
  return found;
}

}  // namespace mcval::auth
