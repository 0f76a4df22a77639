#pragma once
// Small string helpers shared by every module.
#include <string>
#include <string_view>
#include <vector>

namespace mcval {

std::string_view trim(std::string_view text);
std::string to_lower(std::string_view text);
std::string to_upper(std::string_view text);
std::vector<std::string_view> split(std::string_view text, char separator);
bool starts_with(std::string_view text, std::string_view prefix);
/// Lower-case hexadecimal of bytes.
std::string to_hex(const unsigned char* bytes, std::size_t size);
/// RFC 3986 percent-decoding; fails on a malformed escape or a decoded NUL byte.
bool percent_decode(std::string_view text, std::string& out);

}  // namespace mcval
