#include "mcval/dataset/csv_reader.h"

namespace mcval::dataset {

namespace {
constexpr std::string_view kBom = "\xEF\xBB\xBF";

bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }
bool is_line_break(char c) noexcept { return c == '\n' || c == '\r'; }
}  // namespace

CsvReader::CsvReader(std::string_view text) : text_(text) {
  if (text_.substr(0, kBom.size()) == kBom) pos_ = kBom.size();
}

void CsvReader::skip_blanks() noexcept {
  while (!at_end() && is_blank(text_[pos_])) ++pos_;
}

bool CsvReader::skip_line_break() noexcept {
  if (at_end()) return false;
  if (text_[pos_] == '\r') {
    ++pos_;
    if (!at_end() && text_[pos_] == '\n') ++pos_;
  } else if (text_[pos_] == '\n') {
    ++pos_;
  } else {
    return false;
  }
  ++line_;
  return true;
}

void CsvReader::skip_rest_of_line() noexcept {
  while (!at_end() && !is_line_break(text_[pos_])) ++pos_;
  skip_line_break();
}

bool CsvReader::read_quoted(CsvRecord& record, std::string& field) {
  ++pos_;  // the opening quote
  const std::size_t opened_on = line_;
  while (!at_end()) {
    const char c = text_[pos_];
    if (c == '"') {
      if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
        field.push_back('"');
        pos_ += 2;
        continue;
      }
      ++pos_;
      skip_blanks();
      if (at_end() || text_[pos_] == ',' || is_line_break(text_[pos_])) return true;
      record.error = "unexpected character after the closing quote";
      skip_rest_of_line();
      return false;
    }
    if (is_line_break(c)) {
      skip_line_break();
      field.push_back('\n');
      continue;
    }
    const auto end = text_.find_first_of("\"\r\n", pos_);
    const std::size_t stop = end == std::string_view::npos ? text_.size() : end;
    field.append(text_.substr(pos_, stop - pos_));
    pos_ = stop;
  }
  record.error = "unterminated quoted field (opened on line " + std::to_string(opened_on) + ")";
  return false;
}

bool CsvReader::read_unquoted(CsvRecord& record, std::string& field) {
  const auto end = text_.find_first_of(",\"\r\n", pos_);
  const std::size_t stop = end == std::string_view::npos ? text_.size() : end;
  std::string_view value = text_.substr(pos_, stop - pos_);
  pos_ = stop;
  if (!at_end() && text_[pos_] == '"') {
    record.error = "unexpected '\"' in an unquoted field";
    skip_rest_of_line();
    return false;
  }
  while (!value.empty() && is_blank(value.back())) value.remove_suffix(1);
  field.assign(value);
  return true;
}

bool CsvReader::next(CsvRecord& record) {
  record.fields.clear();
  record.error.clear();
  record.error_field.reset();
  record.line = 0;
  // Skip blank lines.
  while (true) {
    skip_blanks();
    if (at_end()) return false;
    if (!skip_line_break()) break;
  }
  record.line = line_;
  while (true) {
    skip_blanks();
    std::string field;
    const bool ok = (!at_end() && text_[pos_] == '"') ? read_quoted(record, field) : read_unquoted(record, field);
    if (!ok) {
      record.error_field = record.fields.size();
      return true;
    }
    record.fields.push_back(std::move(field));
    if (at_end()) return true;
    if (text_[pos_] == ',') {
      ++pos_;
      continue;
    }
    skip_line_break();
    return true;
  }
}

}  // namespace mcval::dataset
