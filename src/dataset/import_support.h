#pragma once
// Private helpers shared by the dataset and predictions imports: error collection, text
// checks, quoting of untrusted values in messages, header mapping and file reading.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/dataset/csv_reader.h"
#include "mcval/dataset/limits.h"

namespace mcval::dataset::detail {

// Where a problem is: "line 14" (CSV), "row 3" (JSON, rows built in code) or nowhere (number 0).
struct Where {
  const char* unit = "line";
  std::size_t number = 0;
};

// Collects problems and keeps the `max_errors` earliest (by location, then by discovery),
// counting the rest, so that memory stays bounded whatever the input.
class ErrorList {
 public:
  explicit ErrorList(std::size_t max_errors) : max_(max_errors) {}

  void add(Where where, std::string_view column, std::string_view why);
  bool empty() const noexcept { return total_ == 0; }
  std::size_t total() const noexcept { return total_; }
  // "N errors; nothing was imported:" and one line per problem, then "and M more errors".
  Error to_error(ErrorCode code);

 private:
  struct Entry {
    std::size_t number;
    std::size_t seq;
    std::string text;
  };
  void prune();
  std::size_t max_;
  std::size_t total_ = 0;
  std::vector<Entry> entries_;
};

// A value as it may appear in a message: in double quotes, with '"', '\', control characters
// and bytes of invalid UTF-8 escaped, cut after 40 bytes with "...".
std::string quote(std::string_view value);

bool is_valid_utf8(std::string_view text) noexcept;

// Why a text value is unacceptable (longer than max_bytes, NUL, invalid UTF-8, control
// character, leading or trailing space), or nothing.
std::optional<std::string> text_problem(std::string_view value, std::size_t max_bytes);

// text_problem plus "must not be empty"; with path_safe also no '/', '\', "." or "..".
std::optional<std::string> identifier_problem(std::string_view value, std::size_t max_bytes, bool path_safe);

// " (did you mean "label"?)" when `name` is close to one of `known`, otherwise "".
std::string suggestion(std::string_view name, std::span<const std::string_view> known);

// A column the import knows.
struct ColumnSpec {
  std::string_view name;
  bool required;
};

// The header row mapped onto known columns.
struct Header {
  std::size_t line = 0;
  std::vector<std::size_t> column_of_field;          // spec index of each field of a record
  std::vector<std::optional<std::size_t>> field_of;  // field index of each spec column
};

// Reads and maps the header row; false (with the problems in `errors`) when the text is empty
// or the header is unusable: malformed, unknown, duplicate or empty column names, required
// columns missing.
bool read_header(CsvReader& reader, std::span<const ColumnSpec> specs, ErrorList& errors, Header& header);

// Reads every data record after the header, reporting the record-level problems (too many
// rows, malformed CSV, wrong field count) and calling `on_record(where, cells, line)` with the
// fields placed by column (`cells` sized like `specs`, cleared for each record). Returns the
// number of records read.
template <typename Cells, typename OnRecord>
std::size_t for_each_record(CsvReader& reader, const Header& header, std::span<const ColumnSpec> specs,
                     const ImportLimits& limits, ErrorList& errors, Cells& cells, OnRecord&& on_record) {
  CsvRecord record;
  std::size_t count = 0;
  while (reader.next(record)) {
    const Where where{"line", record.line};
    if (++count > limits.max_rows) {
      errors.add(where, {}, "more than " + std::to_string(limits.max_rows) + " rows");
      break;
    }
    if (!record.error.empty()) {
      const std::size_t field = *record.error_field;
      errors.add(where, field < header.column_of_field.size() ? specs[header.column_of_field[field]].name : "",
                 record.error);
      continue;
    }
    if (record.fields.size() != header.column_of_field.size()) {
      errors.add(where, {},
                 "expected " + std::to_string(header.column_of_field.size()) + " fields, got " +
                     std::to_string(record.fields.size()));
      continue;
    }
    for (auto& cell : cells) cell.clear();
    for (std::size_t f = 0; f < record.fields.size(); ++f) cells[header.column_of_field[f]] = std::move(record.fields[f]);
    on_record(where, cells, record.line);
  }
  return count;
}

// Reads a whole file of at most max_bytes. io_error when it cannot be read, `too_large` when
// it is larger.
Result<std::string> read_file(const std::filesystem::path& path, std::uintmax_t max_bytes, ErrorCode too_large);

// The error with "<path>: " before its detail.
Error with_path(Error error, const std::filesystem::path& path);

// A single-digit integer within [0, max_value], or nothing.
std::optional<int> parse_small_int(std::string_view text, int max_value) noexcept;

// Sorts `order` (indices of `ids`) by id then index and reports each repeated id at its later
// location: "duplicate slide_id "S1" (first on line 3)".
void sort_and_find_duplicates(std::span<const std::string_view> ids, std::span<const std::size_t> locations,
                              const char* unit, ErrorList& errors, std::vector<std::size_t>& order);

// F(v) of the canonical forms: "<byte length>:<v>,".
void append_field(std::string& out, std::string_view value);

}  // namespace mcval::dataset::detail
