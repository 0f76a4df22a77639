// Fuzz target: access tokens (compact JWS parsing, signature and claim checks through the whole
// TokenVerifier), plus JWKS documents and the issuer configuration, all untrusted or semi-trusted
// input. Seeds (corpus/jws/) are signed with the keys in jws_fuzz_keys.h, so mutations of their
// payloads reach the claim checks through validate_claims even when the signature breaks.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "jws_fuzz_keys.h"
#include "mcval/auth/claims.h"
#include "mcval/auth/jws.h"
#include "mcval/auth/token_verifier.h"

namespace {

using namespace mcval::auth;

class FixedKeys : public KeySource {
 public:
  mcval::Result<std::string> fetch(const std::string& /*url*/) override { return std::string(kFuzzJwks); }
};

const std::chrono::system_clock::time_point kNow{std::chrono::seconds(kFuzzNow)};

AuthConfig fuzz_config() {
  const std::string config = std::string(R"({"issuers":[{"name":"fuzz","issuer":")") + kFuzzIssuer +
                             R"(","jwks_uri":"https://idp.example.org/jwks","audiences":["mcval-api"],)"
                             R"("algorithms":["RS256","PS256","ES256"],)"
                             R"("group_claims":["groups","realm_access.roles",["eduperson_entitlement"]],)"
                             R"("service_claim":"client_id","rules":[)"
                             R"({"value":"/mcval/centre-a/viewer","role":"viewer","centre":"centre-a"},)"
                             R"({"value":"/mcval/admins","role":"admin","centre":"*","claim":"groups"},)"
                             R"({"value":"mcval-admin","role":"admin","centre":"*","service_only":true}]}]})";
  auto parsed = parse_auth_config(config);
  if (!parsed.ok()) __builtin_trap();
  return std::move(parsed).value();
}

TokenVerifier& verifier() {
  static FixedKeys keys;
  static TokenVerifier instance(fuzz_config(), keys);
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  TokenVerifier& v = verifier();

  auto parsed = parse_jws(text);
  if (parsed.ok()) {
    // The signed part is the token up to its last '.', header and payload are objects.
    if (!parsed->header.is_object() || !parsed->payload.is_object() ||
        text.substr(0, parsed->signing_input.size()) != parsed->signing_input) {
      __builtin_trap();
    }
    auto principal = validate_claims(*parsed, v.config().issuers[0], kNow);
    if (principal.ok()) {
      // Accepted claims always name a subject, and grants only come from configured rules.
      if (principal->subject.empty() || principal->issuer != kFuzzIssuer || principal->grants.size() > 3) {
        __builtin_trap();
      }
    } else if (!refusal_of(principal.error())) {
      __builtin_trap();
    }
  }
  auto verified = v.verify(text, kNow);
  if (verified.ok() && !parsed.ok()) __builtin_trap();  // nothing unparsable may verify
  if (!verified.ok() && !refusal_of(verified.error())) __builtin_trap();

  // The same bytes as a JWKS document and as an issuer configuration.
  if (!text.empty() && text.front() == '{') {
    (void)JwkSet::parse(text);
    (void)parse_auth_config(text);
  }
  return 0;
}
