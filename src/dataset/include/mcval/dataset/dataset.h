#pragma once
// Datasets: named, frozen lists of slides with their ground truth, imported from CSV or JSON
// with every row-level problem reported and nothing half-imported.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/dataset/limits.h"

namespace mcval::dataset {

/// One slide of a dataset with its ground truth. Text fields are valid UTF-8 without control
/// characters or surrounding spaces; an empty optional text field means "not given".
struct DatasetRow {
  std::string slide_id;           ///< unique within the dataset, never empty
  std::string centre;             ///< never empty; no '/', '\\', "." or ".."
  std::string patient_id;         ///< never empty
  int label = 0;                  ///< 0 (negative) or 1 (positive)
  std::optional<int> isup_grade;  ///< ISUP grade group 0-5, when known
  std::string scanner;            ///< optional
  std::string specimen;           ///< optional, e.g. "biopsy", "prostatectomy"
  std::string exclude_reason;     ///< non-empty: the slide is excluded, for this reason

  bool excluded() const noexcept { return !exclude_reason.empty(); }
  bool operator==(const DatasetRow&) const = default;
};

/// A validated, immutable dataset: rows sorted by slide_id (byte order), unique slide ids, and
/// the snapshot hash of its content. Safe to share between threads once built.
///
/// Snapshot hash (`sha256()`): lower-case hex SHA-256 of this canonical form (version 1):
///
///     "mcval-dataset-v1\n"
///     then for each row in ascending byte order of slide_id:
///       F(slide_id) F(centre) F(patient_id) F(label) F(isup_grade)
///       F(scanner) F(specimen) F(exclude_reason) "\n"
///     where F(v) = <byte length of v in decimal> ":" v ","
///
/// `label` is "0" or "1"; `isup_grade` is "0".."5", or "" when not given; optional text fields
/// not given are "". Example: a single row S1, C1, P1, label 1, grade 2, nothing else gives
/// "mcval-dataset-v1\n2:S1,2:C1,2:P1,1:1,1:2,0:,0:,0:,\n". The hash therefore depends on the
/// content only: not on the dataset name, the file format (CSV or JSON), column order,
/// quoting, surrounding spaces of unquoted fields, line endings, a byte order mark or row
/// order; any change of any value changes it.
class Dataset {
 public:
  /// Validates rows built in code (e.g. from a catalogue) with the same rules as the file
  /// imports, locations being "row N" (1-based, in the given order). dataset_invalid, with
  /// every problem in the detail, when any row is invalid or there are no rows.
  static Result<Dataset> from_rows(std::string name, std::vector<DatasetRow> rows, const ImportLimits& limits = {});

  const std::string& name() const noexcept { return name_; }
  /// All rows, excluded ones included, sorted by slide_id.
  const std::vector<DatasetRow>& rows() const noexcept { return rows_; }
  /// Snapshot hash (see the class comment), 64 lower-case hex digits.
  const std::string& sha256() const noexcept { return sha256_; }
  std::size_t size() const noexcept { return rows_.size(); }
  /// The row of a slide, or nullptr (binary search; the pointer lives as long as the Dataset).
  const DatasetRow* find(std::string_view slide_id) const noexcept;

 private:
  friend class DatasetBuilder;
  Dataset() = default;
  std::string name_;
  std::vector<DatasetRow> rows_;
  std::string sha256_;
};

/// The canonical form that Dataset::sha256 hashes (exposed for tests and for reimplementation
/// elsewhere); `rows` must already be sorted by slide_id.
std::string canonical_dataset_text(const std::vector<DatasetRow>& rows);

/// Imports a dataset from CSV text. The header row names the columns, in any order:
/// `slide_id`, `centre`, `patient_id`, `label` (required) and `isup_grade`, `scanner`,
/// `specimen`, `exclude_reason` (optional); any other column is an error. Empty cells of
/// optional columns mean "not given". On any problem the result is dataset_invalid and the
/// detail lists them all (capped at limits.max_errors), one per line, each located as
/// `line N, column C: why` where N is the physical line on which the record starts, e.g.
/// `line 14, column label: expected 0 or 1, got "2"`.
Result<Dataset> parse_dataset_csv(std::string_view text, std::string name, const ImportLimits& limits = {});

/// Imports a dataset from JSON text: an array of objects with the CSV's column names as keys,
/// or {"name": "...", "rows": [...]} (the name, when given, replaces `name`). Values are
/// strings; `label` and `isup_grade` may also be integers; null or a missing key means "not
/// given". Problems are located as `row N, column C: why` (N 1-based in the array). Gives the
/// same Dataset, hash included, as the CSV with the same content.
Result<Dataset> parse_dataset_json(std::string_view text, std::string name, const ImportLimits& limits = {});

/// The dataset as JSON {"name": ..., "sha256": ..., "rows": [{...}]} with the CSV's column names
/// as keys (optional fields that are not given are left out). parse_dataset_json() reads it back
/// to the same Dataset, hash included.
std::string dataset_to_json(const Dataset& dataset);

/// Reads a dataset file: JSON when the extension is ".json" (any case), CSV otherwise. The
/// dataset is named after the file's stem unless the JSON names it. io_error when the file
/// cannot be read; dataset_invalid when it is larger than limits.max_file_bytes or invalid
/// (the detail then starts with the path).
Result<Dataset> load_dataset(const std::filesystem::path& path, const ImportLimits& limits = {});

}  // namespace mcval::dataset
