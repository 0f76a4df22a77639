#pragma once
// A small RFC 4180 CSV reader over text held in memory, shared by the dataset and the
// predictions import. Byte-transparent: it checks syntax only; encoding and values are the
// caller's business.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcval::dataset {

/// One record (row) of a CSV text.
struct CsvRecord {
  /// 1-based physical line of the text on which the record starts (a quoted field may span
  /// several lines; the next record's line counts them all).
  std::size_t line = 0;
  /// The fields, unquoted ("" inside quotes becomes "), with spaces and tabs around unquoted
  /// fields and outside the quotes of quoted fields removed. A line break inside a quoted
  /// field (CRLF, LF or CR) is returned as a single LF.
  std::vector<std::string> fields;
  /// Empty when the record is well formed; otherwise why it is not ("unterminated quoted
  /// field"), and `fields` holds only what was read before the problem.
  std::string error;
  /// With `error`: the 0-based index of the field where the problem was found.
  std::optional<std::size_t> error_field;
};

/// Reads records one at a time from CSV text (RFC 4180 with the usual tolerances):
/// - fields are separated by ',', records end with CRLF, LF or a lone CR, or the end of text;
/// - a field may be quoted with '"'; inside quotes ',' and line breaks are data and '""' is one
///   '"'; a '"' inside an unquoted field, or text after a closing quote, is an error;
/// - a UTF-8 byte order mark at the start is skipped;
/// - blank lines (nothing but spaces and tabs) are skipped wherever they are, including a
///   trailing one;
/// - after a malformed record, reading resumes at the next physical line.
/// The reader borrows `text`, which must outlive it. Not thread-safe; cheap to construct.
class CsvReader {
 public:
  explicit CsvReader(std::string_view text);

  /// Reads the next record into `record` (its previous content is replaced). Returns false,
  /// leaving `record` empty, when no record is left.
  bool next(CsvRecord& record);

  /// 1-based physical line at which reading continues.
  std::size_t line() const noexcept { return line_; }

 private:
  bool at_end() const noexcept { return pos_ >= text_.size(); }
  void skip_blanks() noexcept;
  bool skip_line_break() noexcept;
  void skip_rest_of_line() noexcept;
  bool read_quoted(CsvRecord& record, std::string& field);
  bool read_unquoted(CsvRecord& record, std::string& field);

  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

}  // namespace mcval::dataset
