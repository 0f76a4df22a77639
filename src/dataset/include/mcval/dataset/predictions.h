#pragma once
// Predictions of a model for slides, imported from a CSV made elsewhere (or built in code from
// an inference run), with the same error reporting as datasets.
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/dataset/limits.h"

namespace mcval::dataset {

/// A model's output for one slide.
struct Prediction {
  std::string slide_id;          ///< never empty; valid UTF-8 without control characters
  double score = 0;              ///< probability of the positive class, finite, in [0, 1]
  std::optional<int> isup_pred;  ///< predicted ISUP grade group 0-5, when the model gives one

  bool operator==(const Prediction&) const = default;
};

/// Validated, immutable predictions: sorted by slide_id (byte order), unique slide ids, with
/// the identity of the model when known and a content hash. Safe to share between threads.
///
/// Content hash (`sha256()`): lower-case hex SHA-256 of this canonical form (version 1):
///
///     "mcval-predictions-v1\n"
///     F(model) F(model_sha256) "\n"
///     then for each prediction in ascending byte order of slide_id:
///       F(slide_id) F(score) F(isup_pred) "\n"
///     where F(v) = <byte length of v in decimal> ":" v ","
///
/// `score` is the shortest decimal text that reads back as the same double (C++ std::to_chars,
/// e.g. "0.25", "1e-05"; -0 is written "0"), so "0.50", "0.5" and "5e-1" hash alike;
/// `isup_pred` is "0".."5" or ""; `model` and `model_sha256` (lower case) are "" when unknown.
/// The hash does not depend on column order, quoting, line endings or row order.
class Predictions {
 public:
  /// Validates predictions built in code (e.g. from an inference run); locations are "row N".
  /// Unlike the file import, an empty list is allowed (every inference failed).
  /// predictions_invalid with every problem in the detail.
  static Result<Predictions> from_rows(std::vector<Prediction> rows, std::string model = {},
                                       std::string_view model_sha256 = {}, const ImportLimits& limits = {});

  /// Sorted by slide_id.
  const std::vector<Prediction>& rows() const noexcept { return rows_; }
  /// Model name, or "" when unknown.
  const std::string& model() const noexcept { return model_; }
  /// Model file SHA-256 (64 lower-case hex digits), or "" when unknown.
  const std::string& model_sha256() const noexcept { return model_sha256_; }
  /// Content hash (see the class comment).
  const std::string& sha256() const noexcept { return sha256_; }
  std::size_t size() const noexcept { return rows_.size(); }
  /// The prediction for a slide, or nullptr (binary search; lives as long as the Predictions).
  const Prediction* find(std::string_view slide_id) const noexcept;

 private:
  friend class PredictionsBuilder;
  Predictions() = default;
  std::vector<Prediction> rows_;
  std::string model_;
  std::string model_sha256_;
  std::string sha256_;
};

/// The canonical form that Predictions::sha256 hashes; `rows` must be sorted by slide_id.
std::string canonical_predictions_text(const std::vector<Prediction>& rows, std::string_view model,
                                       std::string_view model_sha256);

/// Imports predictions from CSV text. Columns, in any order: `slide_id` and `score` (required),
/// `isup_pred` (optional, integer 0-5 or empty), and the allow-listed `model` and
/// `model_sha256` (optional; when present each must hold the same value on every row, and
/// model_sha256 must be 64 hex digits). Any other column is an error. `score` must be a finite
/// decimal number in [0, 1] (a probability: calibration needs one); at least one row is
/// required. On any problem: predictions_invalid, every problem listed as for datasets
/// (`line N, column C: why`).
Result<Predictions> parse_predictions_csv(std::string_view text, const ImportLimits& limits = {});

/// Reads a predictions CSV file. io_error when unreadable; predictions_invalid when larger
/// than limits.max_file_bytes or invalid (the detail then starts with the path).
Result<Predictions> load_predictions(const std::filesystem::path& path, const ImportLimits& limits = {});

}  // namespace mcval::dataset
