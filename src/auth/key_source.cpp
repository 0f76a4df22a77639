#include "mcval/auth/key_source.h"

#include "mcval/auth/strict_json.h"

namespace mcval::auth {

namespace {
Error unavailable(const IssuerConfig& issuer, std::string why) {
  return Error{ErrorCode::auth_unavailable, issuer.name + ": " + std::move(why)};
}
}  // namespace

Result<std::string> resolve_jwks_uri(KeySource& source, const IssuerConfig& issuer) {
  if (!issuer.jwks_uri.empty()) return issuer.jwks_uri;
  const std::string url = issuer.discovery_endpoint();
  if (!url_allowed(url, issuer.allow_insecure_http_for_tests)) {
    return unavailable(issuer, "discovery URL is not https");
  }
  auto body = source.fetch(url);
  if (!body.ok()) return unavailable(issuer, "discovery fetch failed: " + body.error().to_string());
  if (body->size() > JwkSet::kMaxDocumentBytes) return unavailable(issuer, "discovery document larger than 1 MiB");
  auto document = parse_json_strict(*body, 16);
  if (!document.ok() || !document->is_object()) return unavailable(issuer, "discovery document is not a JSON object");
  const auto found_issuer = document->find("issuer");
  if (found_issuer == document->end() || !found_issuer->is_string() ||
      found_issuer->get_ref<const std::string&>() != issuer.issuer) {
    return unavailable(issuer, "discovery document names another issuer");
  }
  const auto jwks_uri = document->find("jwks_uri");
  if (jwks_uri == document->end() || !jwks_uri->is_string()) {
    return unavailable(issuer, "discovery document has no jwks_uri");
  }
  if (!url_allowed(jwks_uri->get_ref<const std::string&>(), issuer.allow_insecure_http_for_tests)) {
    return unavailable(issuer, "jwks_uri is not https");
  }
  return jwks_uri->get<std::string>();
}

Result<JwkSet> fetch_jwks(KeySource& source, const std::string& jwks_uri, const IssuerConfig& issuer) {
  if (!url_allowed(jwks_uri, issuer.allow_insecure_http_for_tests)) return unavailable(issuer, "jwks_uri is not https");
  auto body = source.fetch(jwks_uri);
  if (!body.ok()) return unavailable(issuer, "JWKS fetch failed: " + body.error().to_string());
  auto set = JwkSet::parse(*body);
  if (!set.ok()) return unavailable(issuer, set.error().detail);
  if (set->keys().empty()) return unavailable(issuer, "JWKS has no usable key");
  return std::move(set).value();
}

}  // namespace mcval::auth
