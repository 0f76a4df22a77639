#pragma once
// Where issuers' documents come from. The auth module does no networking: the server injects a
// KeySource backed by its HTTP client, tests inject a fake.
#include <string>

#include "mcval/auth/issuer_config.h"
#include "mcval/auth/jwk.h"
#include "mcval/common/result.h"

namespace mcval::auth {

/// Fetches a document by URL (HTTP GET; the body on 200, an Error otherwise).
/// Implementations must be thread-safe (several issuers may fetch at once), time out within a
/// few seconds, cap the body (JwkSet::kMaxDocumentBytes is enough) and never follow a redirect
/// to a URL url_allowed() would refuse.
class KeySource {
 public:
  virtual ~KeySource() = default;
  virtual Result<std::string> fetch(const std::string& url) = 0;
};

/// The issuer's JWKS URL: `jwks_uri` from the configuration when set; otherwise OpenID Connect
/// discovery: the document at issuer.discovery_endpoint() must be a JSON object whose "issuer"
/// equals the configured issuer exactly and whose "jwks_uri" passes url_allowed().
/// auth_unavailable with the reason otherwise (for the log).
Result<std::string> resolve_jwks_uri(KeySource& source, const IssuerConfig& issuer);

/// Fetches and parses the JWKS at `jwks_uri` (auth_unavailable if the fetch fails, the URL is not
/// allowed or the document is not a JWKS; a JWKS with no usable key is an error too).
Result<JwkSet> fetch_jwks(KeySource& source, const std::string& jwks_uri, const IssuerConfig& issuer);

}  // namespace mcval::auth
