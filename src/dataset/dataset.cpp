#include "mcval/dataset/dataset.h"

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>

#include "import_support.h"
#include "mcval/common/sha256.h"
#include "mcval/common/strings.h"

namespace mcval::dataset {

namespace {
using detail::ErrorList;
using detail::Where;

enum Column : std::size_t { slide_id, centre, patient_id, label, isup_grade, scanner, specimen, exclude_reason };
constexpr std::size_t kColumns = 8;
constexpr std::array<detail::ColumnSpec, kColumns> kSpecs{{
    {"slide_id", true},
    {"centre", true},
    {"patient_id", true},
    {"label", true},
    {"isup_grade", false},
    {"scanner", false},
    {"specimen", false},
    {"exclude_reason", false},
}};

// The cells of one row as text, in Column order ("" when absent).
using Cells = std::array<std::string, kColumns>;

// Parses the cells of one row into `row` (moving their text); every problem goes to `errors`,
// except for columns marked in `reported` (their problem is known already). True when none.
bool parse_cells(Cells& cells, Where where, const ImportLimits& limits, ErrorList& errors, DatasetRow& row,
                 const std::array<bool, kColumns>& reported = {}) {
  bool ok = true;
  auto fail = [&](std::size_t column, std::string_view why) {
    if (!reported[column]) errors.add(where, kSpecs[column].name, why);
    ok = false;
  };
  for (const std::size_t column : {slide_id, centre, patient_id}) {
    if (auto problem = detail::identifier_problem(cells[column], limits.max_id_bytes, column == centre)) {
      fail(column, *problem);
    }
  }
  for (const std::size_t column : {scanner, specimen, exclude_reason}) {
    if (auto problem = detail::text_problem(cells[column], limits.max_text_bytes)) fail(column, *problem);
  }
  if (auto problem = detail::text_problem(cells[label], limits.max_id_bytes)) {
    fail(label, *problem);
  } else if (cells[label].empty()) {
    fail(label, "must not be empty");
  } else if (cells[label] != "0" && cells[label] != "1") {
    fail(label, "expected 0 or 1, got " + detail::quote(cells[label]));
  }
  std::optional<int> grade;
  if (auto problem = detail::text_problem(cells[isup_grade], limits.max_id_bytes)) {
    fail(isup_grade, *problem);
  } else if (!cells[isup_grade].empty()) {
    grade = detail::parse_small_int(cells[isup_grade], 5);
    if (!grade) fail(isup_grade, "expected an integer 0-5 or empty, got " + detail::quote(cells[isup_grade]));
  }
  if (!ok) return false;
  row.slide_id = std::move(cells[slide_id]);
  row.centre = std::move(cells[centre]);
  row.patient_id = std::move(cells[patient_id]);
  row.label = cells[label] == "1" ? 1 : 0;
  row.isup_grade = grade;
  row.scanner = std::move(cells[scanner]);
  row.specimen = std::move(cells[specimen]);
  row.exclude_reason = std::move(cells[exclude_reason]);
  return true;
}

Cells cells_of(const DatasetRow& row) {
  Cells cells;
  cells[slide_id] = row.slide_id;
  cells[centre] = row.centre;
  cells[patient_id] = row.patient_id;
  cells[label] = std::to_string(row.label);
  cells[isup_grade] = row.isup_grade ? std::to_string(*row.isup_grade) : std::string();
  cells[scanner] = row.scanner;
  cells[specimen] = row.specimen;
  cells[exclude_reason] = row.exclude_reason;
  return cells;
}

void check_name(std::string_view name, const ImportLimits& limits, ErrorList& errors) {
  if (auto problem = detail::identifier_problem(name, limits.max_id_bytes, true)) {
    errors.add(Where{}, "dataset name", *problem);
  }
}
}  // namespace

// Turns parsed rows into a Dataset: checks the name and the uniqueness of slide ids, sorts,
// hashes. Nothing is returned but an error when any problem was found on the way.
class DatasetBuilder {
 public:
  DatasetBuilder(const ImportLimits& limits, const char* unit)
      : limits_(limits), unit_(unit), errors_(limits.max_errors) {}

  ErrorList& errors() { return errors_; }

  void add(DatasetRow row, std::size_t location) {
    rows_.push_back(std::move(row));
    locations_.push_back(location);
  }

  Result<Dataset> finish(std::string name, bool any_row_seen) {
    check_name(name, limits_, errors_);
    if (!any_row_seen && errors_.empty()) errors_.add(Where{}, {}, "the dataset has no rows");
    std::vector<std::string_view> ids;
    ids.reserve(rows_.size());
    for (const auto& row : rows_) ids.emplace_back(row.slide_id);
    std::vector<std::size_t> order;
    detail::sort_and_find_duplicates(ids, locations_, unit_, errors_, order);
    if (!errors_.empty()) return errors_.to_error(ErrorCode::dataset_invalid);
    Dataset dataset;
    dataset.name_ = std::move(name);
    dataset.rows_.reserve(rows_.size());
    for (const std::size_t index : order) dataset.rows_.push_back(std::move(rows_[index]));
    dataset.sha256_ = sha256_hex(canonical_dataset_text(dataset.rows_));
    return dataset;
  }

 private:
  const ImportLimits& limits_;
  const char* unit_;
  ErrorList errors_;
  std::vector<DatasetRow> rows_;
  std::vector<std::size_t> locations_;
};

const DatasetRow* Dataset::find(std::string_view id) const noexcept {
  const auto it = std::lower_bound(rows_.begin(), rows_.end(), id,
                                   [](const DatasetRow& row, std::string_view key) { return row.slide_id < key; });
  return it != rows_.end() && it->slide_id == id ? &*it : nullptr;
}

std::string canonical_dataset_text(const std::vector<DatasetRow>& rows) {
  std::string out = "mcval-dataset-v1\n";
  std::size_t bytes = out.size();
  for (const auto& row : rows) {
    bytes += 64 + row.slide_id.size() + row.centre.size() + row.patient_id.size() + row.scanner.size() +
             row.specimen.size() + row.exclude_reason.size();
  }
  out.reserve(bytes);
  for (const auto& row : rows) {
    detail::append_field(out, row.slide_id);
    detail::append_field(out, row.centre);
    detail::append_field(out, row.patient_id);
    detail::append_field(out, row.label == 1 ? "1" : "0");
    detail::append_field(out, row.isup_grade ? std::to_string(*row.isup_grade) : std::string());
    detail::append_field(out, row.scanner);
    detail::append_field(out, row.specimen);
    detail::append_field(out, row.exclude_reason);
    out += '\n';
  }
  return out;
}

Result<Dataset> Dataset::from_rows(std::string name, std::vector<DatasetRow> rows, const ImportLimits& limits) {
  DatasetBuilder builder(limits, "row");
  if (rows.size() > limits.max_rows) {
    builder.errors().add(Where{}, {}, "more than " + std::to_string(limits.max_rows) + " rows");
    return builder.errors().to_error(ErrorCode::dataset_invalid);
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    DatasetRow row;
    Cells cells = cells_of(rows[i]);
    if (parse_cells(cells, Where{"row", i + 1}, limits, builder.errors(), row)) {
      builder.add(std::move(row), i + 1);
    }
  }
  return builder.finish(std::move(name), !rows.empty());
}

Result<Dataset> parse_dataset_csv(std::string_view text, std::string name, const ImportLimits& limits) {
  DatasetBuilder builder(limits, "line");
  ErrorList& errors = builder.errors();
  CsvReader reader(text);
  detail::Header header;
  if (!detail::read_header(reader, kSpecs, errors, header)) {
    check_name(name, limits, errors);
    return errors.to_error(ErrorCode::dataset_invalid);
  }
  Cells cells;
  const std::size_t count = detail::for_each_record(reader, header, kSpecs, limits, errors, cells,
                          [&](const Where& where, Cells& fields, std::size_t line) {
                            DatasetRow row;
                            if (parse_cells(fields, where, limits, errors, row)) builder.add(std::move(row), line);
                          });
  return builder.finish(std::move(name), count > 0);
}

namespace {
// Deepest nesting of arrays and objects in JSON text (strings skipped), to refuse pathological
// input before building a document from it.
std::size_t json_depth(std::string_view text) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

std::string shown(const nlohmann::json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 40) text = text.substr(0, 40) + "...";
  return text;
}
}  // namespace

std::string dataset_to_json(const Dataset& dataset) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : dataset.rows()) {
    nlohmann::json row = {{"slide_id", r.slide_id}, {"centre", r.centre}, {"patient_id", r.patient_id}, {"label", r.label}};
    if (r.isup_grade) row["isup_grade"] = *r.isup_grade;
    if (!r.scanner.empty()) row["scanner"] = r.scanner;
    if (!r.specimen.empty()) row["specimen"] = r.specimen;
    if (!r.exclude_reason.empty()) row["exclude_reason"] = r.exclude_reason;
    rows.push_back(std::move(row));
  }
  return nlohmann::json{{"name", dataset.name()}, {"sha256", dataset.sha256()}, {"rows", rows}}.dump();
}

Result<Dataset> parse_dataset_json(std::string_view text, std::string name, const ImportLimits& limits) {
  constexpr std::size_t kMaxDepth = 16;
  DatasetBuilder builder(limits, "row");
  ErrorList& errors = builder.errors();
  if (json_depth(text) > kMaxDepth) {
    errors.add(Where{}, {}, "JSON nested deeper than " + std::to_string(kMaxDepth) + " levels");
    return errors.to_error(ErrorCode::dataset_invalid);
  }
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    errors.add(Where{}, {}, std::string("invalid JSON: ") + e.what());
    return errors.to_error(ErrorCode::dataset_invalid);
  }
  const nlohmann::json* rows = &document;
  std::string expected_sha256;
  if (document.is_object()) {
    rows = nullptr;
    for (const auto& [key, value] : document.items()) {
      if (key == "rows") {
        rows = &value;
      } else if (key == "sha256" && value.is_string()) {
        expected_sha256 = value.get<std::string>();
      } else if (key == "name") {
        if (value.is_string()) {
          name = value.get<std::string>();
        } else {
          errors.add(Where{}, {}, "\"name\" must be a string, got " + shown(value));
        }
      } else {
        errors.add(Where{}, {}, "unknown key " + detail::quote(key) + " in the top-level object");
      }
    }
  }
  if (rows == nullptr || !rows->is_array()) {
    errors.add(Where{}, {}, "expected an array of rows, or an object with \"rows\": [...]");
    return errors.to_error(ErrorCode::dataset_invalid);
  }
  if (rows->size() > limits.max_rows) {
    errors.add(Where{}, {}, "more than " + std::to_string(limits.max_rows) + " rows");
    return errors.to_error(ErrorCode::dataset_invalid);
  }
  std::vector<std::string_view> known;
  known.reserve(kSpecs.size());
  for (const auto& spec : kSpecs) known.push_back(spec.name);
  for (std::size_t i = 0; i < rows->size(); ++i) {
    const Where where{"row", i + 1};
    const nlohmann::json& object = (*rows)[i];
    if (!object.is_object()) {
      errors.add(where, {}, "expected an object, got " + shown(object));
      continue;
    }
    Cells cells;
    std::array<bool, kColumns> reported{};
    bool ok = true;
    for (const auto& [key, value] : object.items()) {
      const auto it = std::find(known.begin(), known.end(), key);
      if (it == known.end()) {
        errors.add(where, {}, "unknown key " + detail::quote(key) + detail::suggestion(key, known));
        ok = false;
        continue;
      }
      const auto column = static_cast<std::size_t>(it - known.begin());
      const bool integer_column = column == label || column == isup_grade;
      if (value.is_string()) {
        cells[column] = value.get<std::string>();
      } else if (value.is_null()) {
        cells[column].clear();
      } else if (integer_column && value.is_number_unsigned()) {
        cells[column] = std::to_string(value.get<std::uint64_t>());
      } else if (integer_column && value.is_number_integer()) {
        cells[column] = std::to_string(value.get<std::int64_t>());
      } else {
        errors.add(where, kSpecs[column].name,
                   std::string(integer_column ? "expected an integer or a string, got " : "expected a string, got ") +
                       shown(value));
        reported[column] = true;
        ok = false;
      }
    }
    DatasetRow row;
    if (parse_cells(cells, where, limits, errors, row, reported) && ok) builder.add(std::move(row), i + 1);
  }
  auto dataset = builder.finish(std::move(name), !rows->empty());
  // A snapshot that states its hash (dataset_to_json) must still have exactly that content.
  if (dataset.ok() && !expected_sha256.empty() && dataset->sha256() != expected_sha256) {
    return Error{ErrorCode::dataset_invalid, "the content does not match its stated sha256 " + expected_sha256};
  }
  return dataset;
}

Result<Dataset> load_dataset(const std::filesystem::path& path, const ImportLimits& limits) {
  auto content = detail::read_file(path, limits.max_file_bytes, ErrorCode::dataset_invalid);
  if (!content.ok()) return std::move(content).error();
  const bool json = to_lower(path.extension().string()) == ".json";
  auto dataset = json ? parse_dataset_json(*content, path.stem().string(), limits)
                      : parse_dataset_csv(*content, path.stem().string(), limits);
  if (!dataset.ok()) return detail::with_path(std::move(dataset).error(), path);
  return dataset;
}

}  // namespace mcval::dataset
