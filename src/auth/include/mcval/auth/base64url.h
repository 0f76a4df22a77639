#pragma once
// Strict base64url (RFC 4648 section 5) as JOSE uses it: no padding, no characters outside
// A-Z a-z 0-9 '-' '_', and the unused bits of the last character zero (one spelling per value).
#include <optional>
#include <string>
#include <string_view>

namespace mcval::auth {

/// Decodes unpadded base64url; nullopt for any other alphabet, '=' padding, whitespace, a length
/// of 4n+1 or non-zero trailing bits.
std::optional<std::string> base64url_decode(std::string_view text);

/// Encodes bytes as unpadded base64url.
std::string base64url_encode(std::string_view bytes);

}  // namespace mcval::auth
