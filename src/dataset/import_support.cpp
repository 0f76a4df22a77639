#include "import_support.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <system_error>

#include "mcval/common/strings.h"

namespace mcval::dataset::detail {

void ErrorList::add(Where where, std::string_view column, std::string_view why) {
  std::string text;
  if (where.number > 0) {
    text = std::string(where.unit) + " " + std::to_string(where.number);
    if (!column.empty()) {
      text += ", column ";
      text += column;
    }
    text += ": ";
  } else if (!column.empty()) {
    text = std::string(column) + ": ";
  }
  text += why;
  entries_.push_back(Entry{where.number, total_, std::move(text)});
  ++total_;
  if (entries_.size() >= 2 * max_ + 16) prune();
}

void ErrorList::prune() {
  std::sort(entries_.begin(), entries_.end(),
            [](const Entry& a, const Entry& b) { return a.number != b.number ? a.number < b.number : a.seq < b.seq; });
  if (entries_.size() > max_) entries_.resize(max_);
}

Error ErrorList::to_error(ErrorCode code) {
  prune();
  std::string detail = std::to_string(total_) + (total_ == 1 ? " error" : " errors") + "; nothing was imported:";
  for (const auto& entry : entries_) {
    detail += '\n';
    detail += entry.text;
  }
  if (total_ > entries_.size()) {
    const std::size_t more = total_ - entries_.size();
    detail += "\nand " + std::to_string(more) + (more == 1 ? " more error" : " more errors");
  }
  return Error{code, std::move(detail)};
}

namespace {
// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is not one.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // no overlong forms
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // no overlong forms
    if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

std::string hex_escape(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", c);
  return buf;
}
}  // namespace

bool is_valid_utf8(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

std::string quote(std::string_view value) {
  constexpr std::size_t kMaxShown = 40;
  std::string out = "\"";
  std::size_t i = 0;
  while (i < value.size() && i < kMaxShown) {
    const auto c = static_cast<unsigned char>(value[i]);
    const std::size_t length = utf8_sequence_length(value, i);
    if (length == 0 || (length == 1 && (c < 0x20 || c == 0x7F))) {
      out += hex_escape(c);
      ++i;
    } else if (length > 1) {
      out.append(value.substr(i, length));
      i += length;
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else {
      out += static_cast<char>(c);
      ++i;
    }
  }
  if (i < value.size()) out += "...";
  out += '"';
  return out;
}

std::optional<std::string> text_problem(std::string_view value, std::size_t max_bytes) {
  if (value.size() > max_bytes) return "longer than " + std::to_string(max_bytes) + " bytes";
  if (value.find('\0') != std::string_view::npos) return "NUL byte not allowed";
  if (!is_valid_utf8(value)) return "invalid UTF-8";
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "control character U+%04X not allowed", static_cast<unsigned>(c));
      return buf;
    }
  }
  if (!value.empty() && (value.front() == ' ' || value.back() == ' ')) return "leading or trailing space";
  return std::nullopt;
}

std::optional<std::string> identifier_problem(std::string_view value, std::size_t max_bytes, bool path_safe) {
  if (auto problem = text_problem(value, max_bytes)) return problem;
  if (value.empty()) return "must not be empty";
  if (path_safe) {
    if (value.find_first_of("/\\") != std::string_view::npos) return "must not contain '/' or '\\'";
    if (value == "." || value == "..") return "must not be \".\" or \"..\"";
  }
  return std::nullopt;
}

namespace {
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}
}  // namespace

std::string suggestion(std::string_view name, std::span<const std::string_view> known) {
  if (name.size() > 64) return {};
  const std::string lowered = to_lower(name);
  std::string_view best;
  std::size_t best_distance = 3;  // suggest within two edits
  for (const auto candidate : known) {
    const std::size_t distance = edit_distance(lowered, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  if (best.empty()) return {};
  return " (did you mean \"" + std::string(best) + "\"?)";
}

bool read_header(CsvReader& reader, std::span<const ColumnSpec> specs, ErrorList& errors, Header& header) {
  CsvRecord record;
  if (!reader.next(record)) {
    errors.add(Where{"line", 1}, {}, "the file is empty (expected a header row)");
    return false;
  }
  const Where where{"line", record.line};
  header.line = record.line;
  if (!record.error.empty()) {
    errors.add(where, {}, "header row: " + record.error);
    return false;
  }
  std::vector<std::string_view> known;
  known.reserve(specs.size());
  for (const auto& spec : specs) known.push_back(spec.name);
  header.field_of.assign(specs.size(), std::nullopt);
  header.column_of_field.clear();
  bool usable = true;
  for (std::size_t f = 0; f < record.fields.size(); ++f) {
    const std::string& name = record.fields[f];
    const auto it = std::find(known.begin(), known.end(), name);
    if (name.empty()) {
      errors.add(where, {}, "empty column name (field " + std::to_string(f + 1) + " of the header)");
      usable = false;
    } else if (it == known.end()) {
      errors.add(where, {}, "unknown column " + quote(name) + suggestion(name, known));
      usable = false;
    } else {
      const auto index = static_cast<std::size_t>(it - known.begin());
      if (header.field_of[index]) {
        errors.add(where, {}, "duplicate column " + quote(name));
        usable = false;
      }
      header.field_of[index] = f;
      header.column_of_field.push_back(index);
    }
  }
  for (std::size_t c = 0; c < specs.size(); ++c) {
    if (specs[c].required && !header.field_of[c]) {
      errors.add(where, {}, "missing required column " + quote(specs[c].name));
      usable = false;
    }
  }
  return usable;
}

Result<std::string> read_file(const std::filesystem::path& path, std::uintmax_t max_bytes, ErrorCode too_large) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Error{ErrorCode::io_error, path.string() + ": no such file"};
  if (std::filesystem::is_directory(path, ec)) return Error{ErrorCode::io_error, path.string() + ": is a directory"};
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{ErrorCode::io_error, path.string() + ": cannot open for reading"};
  std::string content;
  constexpr std::size_t kChunk = 1 << 20;
  std::string chunk(kChunk, '\0');
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(kChunk));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (content.size() + got > max_bytes) {
      return Error{too_large, path.string() + ": larger than " + std::to_string(max_bytes) + " bytes"};
    }
    content.append(chunk, 0, got);
  }
  if (in.bad()) return Error{ErrorCode::io_error, path.string() + ": read error"};
  return content;
}

Error with_path(Error error, const std::filesystem::path& path) {
  const std::string prefix = path.string() + ": ";
  if (!starts_with(error.detail, prefix)) error.detail = prefix + error.detail;
  return error;
}

std::optional<int> parse_small_int(std::string_view text, int max_value) noexcept {
  if (text.size() != 1 || text[0] < '0' || text[0] > '9') return std::nullopt;
  const int value = text[0] - '0';
  if (value > max_value) return std::nullopt;
  return value;
}

void sort_and_find_duplicates(std::span<const std::string_view> ids, std::span<const std::size_t> locations,
                              const char* unit, ErrorList& errors, std::vector<std::size_t>& order) {
  order.resize(ids.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return ids[a] != ids[b] ? ids[a] < ids[b] : locations[a] < locations[b];
  });
  std::size_t first = 0;
  for (std::size_t k = 1; k < order.size(); ++k) {
    if (ids[order[k]] == ids[order[first]]) {
      errors.add(Where{unit, locations[order[k]]}, "slide_id",
                 "duplicate slide_id " + quote(ids[order[k]]) + " (first on " + unit + " " +
                     std::to_string(locations[order[first]]) + ")");
    } else {
      first = k;
    }
  }
}

void append_field(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += ',';
}

}  // namespace mcval::dataset::detail
