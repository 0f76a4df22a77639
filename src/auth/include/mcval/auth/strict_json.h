#pragma once
// JSON parsing for untrusted security documents (token headers and payloads, JWKS, discovery
// documents, the issuer configuration): an object member named twice is an error (nlohmann
// would keep the last one silently, so two parsers could disagree on a claim), nesting is
// bounded, non-finite numbers are refused, and invalid UTF-8 is refused by nlohmann's lexer.
#include <string_view>

#include <nlohmann/json.hpp>

#include "mcval/common/result.h"

namespace mcval::auth {

/// Parses one JSON value. Errors: invalid_argument with a short detail (never the input).
Result<nlohmann::json> parse_json_strict(std::string_view text, int max_depth = 32);

}  // namespace mcval::auth
