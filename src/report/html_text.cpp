#include "html_text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mcval::report {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kEnDash = "\xE2\x80\x93";
constexpr std::string_view kNoBreakSpace = "\xC2\xA0";

// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is not valid.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  std::uint32_t code = 0;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    code = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    code = lead & 0x0Fu;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    code = lead & 0x07u;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0u) != 0x80u) return 0;
    code = (code << 6) | (byte(i + k) & 0x3Fu);
  }
  const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
  const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
  if (overlong || surrogate || code > 0x10FFFF) return 0;
  return length;
}

}  // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    if (length > 1) {
      out.append(text.substr(i, length));
      i += length;
      continue;
    }
    const char c = text[i++];
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '\t':
      case '\n':
        out += c;
        break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7F) out += c;
        break;
    }
  }
  return out;
}

std::string truncate(std::string_view text, std::size_t max_chars) {
  std::size_t chars = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t length = std::max<std::size_t>(1, utf8_sequence_length(text, i));
    if (chars + 1 == max_chars && i + length < text.size()) {
      return std::string(text.substr(0, i)) + "\xE2\x80\xA6";  // U+2026
    }
    ++chars;
    i += length;
  }
  return std::string(text);
}

bool is_site_relative_url(std::string_view url) {
  if (url.empty()) return false;
  for (const char c : url) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F || c == '\\') return false;
  }
  if (url[0] == '#' || url[0] == '?') return true;
  return url[0] == '/' && (url.size() == 1 || url[1] != '/');
}

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  std::string out(buffer);
  if (out[0] == '-' && out.find_first_not_of("-0.") == std::string::npos) out.erase(0, 1);
  return out;
}

std::string fixed_or_na(const std::optional<double>& value, int decimals) {
  return value ? fixed(*value, decimals) : "n/a";
}

std::string trimmed(double value, int max_decimals) {
  std::string out = fixed(value, max_decimals);
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  return out;
}

std::string interval_text(const std::optional<double>& low, const std::optional<double>& high, int decimals) {
  if (!low || !high) return {};
  return fixed(*low, decimals) + std::string(kEnDash) + fixed(*high, decimals);
}

std::string estimate_text(const Estimate& value, int decimals) {
  if (!value.estimate) return "n/a";
  std::string out = fixed(*value.estimate, decimals);
  const std::string range = interval_text(value.ci_low, value.ci_high, decimals);
  if (!range.empty()) out += " (" + range + ")";
  return out;
}

std::string percent(double fraction, int decimals) {
  return fixed(fraction * 100.0, decimals) + std::string(kNoBreakSpace) + "%";
}

std::string p_text(double p) {
  if (p < 0.001) return "p < 0.001";
  if (p < 0.01) return "p = " + fixed(p, 3);
  return "p = " + fixed(p, 2);
}

std::string count_or_na(const std::optional<std::int64_t>& value) { return value ? std::to_string(*value) : "n/a"; }

}  // namespace mcval::report
