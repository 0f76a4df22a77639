#pragma once
// Text helpers of the HTML report: escaping of untrusted strings and the number formats used
// throughout (fixed decimals, estimates with intervals, percentages, p-values).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "report_data.h"

namespace mcval::report {

// Escapes text for HTML element content and quoted attribute values (also inside inline SVG):
// & < > " ' become entities, invalid UTF-8 becomes U+FFFD, C0 controls other than tab and
// newline are dropped.
std::string escape(std::string_view text);

// At most `max_chars` code points of valid UTF-8 `text`, ending in an ellipsis when shortened.
std::string truncate(std::string_view text, std::size_t max_chars);

// True for links that stay on the serving site: "/path", "/#fragment", "?query", "#fragment";
// false for schemes ("javascript:"), protocol-relative "//host" and anything with controls.
bool is_site_relative_url(std::string_view url);

// "0.83"; never "-0.00".
std::string fixed(double value, int decimals);
// fixed(), or "n/a".
std::string fixed_or_na(const std::optional<double>& value, int decimals);
// Up to `max_decimals` decimals without trailing zeros: 0.5 -> "0.5", 0.3125 -> "0.3125".
std::string trimmed(double value, int max_decimals = 4);
// "0.83 (0.77–0.89)"; "0.83" without an interval; "n/a" without an estimate.
std::string estimate_text(const Estimate& value, int decimals = 2);
// "0.77–0.89", or an empty string when either end is missing.
std::string interval_text(const std::optional<double>& low, const std::optional<double>& high, int decimals = 2);
// 0.514 -> "51 %" (with a no-break space).
std::string percent(double fraction, int decimals = 0);
// "p = 0.13", "p = 0.004", "p < 0.001".
std::string p_text(double p);
// A count, or "n/a".
std::string count_or_na(const std::optional<std::int64_t>& value);

}  // namespace mcval::report
