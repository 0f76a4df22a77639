#include "mcval/dataset/predictions.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <system_error>

#include "import_support.h"
#include "mcval/common/sha256.h"
#include "mcval/common/strings.h"

namespace mcval::dataset {

namespace {
using detail::ErrorList;
using detail::Where;

enum Column : std::size_t { slide_id, score, isup_pred, model, model_sha256 };
constexpr std::size_t kColumns = 5;
constexpr std::array<detail::ColumnSpec, kColumns> kSpecs{{
    {"slide_id", true},
    {"score", true},
    {"isup_pred", false},
    {"model", false},
    {"model_sha256", false},
}};

std::string score_text(double value) {
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, result.ptr);
}

// Why a score is unacceptable, `text` being how it was given.
std::optional<std::string> score_value_problem(double value, std::string_view text) {
  if (!std::isfinite(value)) return "expected a finite number, got " + detail::quote(text);
  if (value < 0 || value > 1) return "expected a probability in [0, 1], got " + detail::quote(text);
  return std::nullopt;
}

// A score as text: its problem, or nothing with `value` set.
std::optional<std::string> score_problem(std::string_view text, double& value) {
  if (text.empty()) return "must not be empty";
  const char* const end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec == std::errc::result_out_of_range) return "number out of range, got " + detail::quote(text);
  if (ec != std::errc() || ptr != end) return "expected a number, got " + detail::quote(text);
  return score_value_problem(value, text);
}

std::optional<std::string> model_sha256_problem(std::string_view text) {
  const bool hex = text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
                     return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
                   });
  if (text.empty() || hex) return std::nullopt;
  return "expected 64 hexadecimal digits, got " + detail::quote(text);
}

// Parses the slide_id, score and isup_pred cells of one row (the score given as a number
// instead when `given_score` is set); every problem goes to `errors`.
bool parse_prediction(std::string_view id, std::string_view score_cell, const double* given_score,
                      std::string_view isup_cell, Where where, const ImportLimits& limits, ErrorList& errors,
                      Prediction& prediction) {
  bool ok = true;
  auto fail = [&](std::size_t column, std::string_view why) {
    errors.add(where, kSpecs[column].name, why);
    ok = false;
  };
  if (auto problem = detail::identifier_problem(id, limits.max_id_bytes, false)) fail(slide_id, *problem);
  double value = 0;
  if (given_score != nullptr) {
    value = *given_score;
    if (auto bad = score_value_problem(value, score_cell)) fail(score, *bad);
  } else if (auto problem = detail::text_problem(score_cell, limits.max_id_bytes)) {
    fail(score, *problem);
  } else if (auto bad = score_problem(score_cell, value)) {
    fail(score, *bad);
  }
  std::optional<int> grade;
  if (auto problem = detail::text_problem(isup_cell, limits.max_id_bytes)) {
    fail(isup_pred, *problem);
  } else if (!isup_cell.empty()) {
    grade = detail::parse_small_int(isup_cell, 5);
    if (!grade) fail(isup_pred, "expected an integer 0-5 or empty, got " + detail::quote(isup_cell));
  }
  if (!ok) return false;
  prediction.slide_id = std::string(id);
  prediction.score = value == 0 ? 0.0 : value;  // -0 becomes 0
  prediction.isup_pred = grade;
  return true;
}
}  // namespace

// Turns parsed predictions into Predictions: uniqueness of slide ids, sorting, hashing.
class PredictionsBuilder {
 public:
  PredictionsBuilder(const ImportLimits& limits, const char* unit) : unit_(unit), errors_(limits.max_errors) {}

  ErrorList& errors() { return errors_; }

  void add(Prediction prediction, std::size_t location) {
    rows_.push_back(std::move(prediction));
    locations_.push_back(location);
  }

  Result<Predictions> finish(std::string model, std::string_view model_sha256) {
    std::vector<std::string_view> ids;
    ids.reserve(rows_.size());
    for (const auto& row : rows_) ids.emplace_back(row.slide_id);
    std::vector<std::size_t> order;
    detail::sort_and_find_duplicates(ids, locations_, unit_, errors_, order);
    if (!errors_.empty()) return errors_.to_error(ErrorCode::predictions_invalid);
    Predictions predictions;
    predictions.rows_.reserve(rows_.size());
    for (const std::size_t index : order) predictions.rows_.push_back(std::move(rows_[index]));
    predictions.model_ = std::move(model);
    predictions.model_sha256_ = to_lower(model_sha256);
    predictions.sha256_ =
        sha256_hex(canonical_predictions_text(predictions.rows_, predictions.model_, predictions.model_sha256_));
    return predictions;
  }

 private:
  const char* unit_;
  ErrorList errors_;
  std::vector<Prediction> rows_;
  std::vector<std::size_t> locations_;
};

const Prediction* Predictions::find(std::string_view id) const noexcept {
  const auto it = std::lower_bound(rows_.begin(), rows_.end(), id,
                                   [](const Prediction& row, std::string_view key) { return row.slide_id < key; });
  return it != rows_.end() && it->slide_id == id ? &*it : nullptr;
}

std::string canonical_predictions_text(const std::vector<Prediction>& rows, std::string_view model,
                                       std::string_view model_sha256) {
  std::string out = "mcval-predictions-v1\n";
  detail::append_field(out, model);
  detail::append_field(out, model_sha256);
  out += '\n';
  for (const auto& row : rows) {
    detail::append_field(out, row.slide_id);
    detail::append_field(out, score_text(row.score == 0 ? 0.0 : row.score));  // -0 is written "0"
    detail::append_field(out, row.isup_pred ? std::to_string(*row.isup_pred) : std::string());
    out += '\n';
  }
  return out;
}

Result<Predictions> Predictions::from_rows(std::vector<Prediction> rows, std::string model_name,
                                           std::string_view model_hash, const ImportLimits& limits) {
  PredictionsBuilder builder(limits, "row");
  ErrorList& errors = builder.errors();
  if (rows.size() > limits.max_rows) {
    errors.add(Where{}, {}, "more than " + std::to_string(limits.max_rows) + " rows");
    return errors.to_error(ErrorCode::predictions_invalid);
  }
  if (auto problem = detail::text_problem(model_name, limits.max_id_bytes)) errors.add(Where{}, "model", *problem);
  if (auto problem = model_sha256_problem(model_hash)) errors.add(Where{}, "model_sha256", *problem);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Prediction& given = rows[i];
    const std::string isup_cell = given.isup_pred ? std::to_string(*given.isup_pred) : std::string();
    Prediction prediction;
    if (parse_prediction(given.slide_id, score_text(given.score), &given.score, isup_cell, Where{"row", i + 1}, limits,
                         errors, prediction)) {
      builder.add(std::move(prediction), i + 1);
    }
  }
  return builder.finish(std::move(model_name), model_hash);
}

Result<Predictions> parse_predictions_csv(std::string_view text, const ImportLimits& limits) {
  PredictionsBuilder builder(limits, "line");
  ErrorList& errors = builder.errors();
  CsvReader reader(text);
  detail::Header header;
  if (!detail::read_header(reader, kSpecs, errors, header)) return errors.to_error(ErrorCode::predictions_invalid);
  // The model columns must hold one value throughout; the first data row sets it.
  std::array<std::optional<std::pair<std::string, std::size_t>>, kColumns> constant;
  std::array<std::string, kColumns> cells;
  const std::size_t count = detail::for_each_record(reader, header, kSpecs, limits, errors, cells,
                          [&](const Where& where, std::array<std::string, kColumns>& /*cells*/, std::size_t line) {
    bool ok = true;
    for (const std::size_t column : {model, model_sha256}) {
      if (!header.field_of[column]) continue;
      std::optional<std::string> problem = detail::text_problem(cells[column], limits.max_id_bytes);
      if (!problem && column == model_sha256) {
        problem = model_sha256_problem(cells[column]);
        cells[column] = to_lower(cells[column]);
      }
      if (!problem && constant[column] && constant[column]->first != cells[column]) {
        problem = "expected the same value on every row (" + detail::quote(constant[column]->first) + " on line " +
                  std::to_string(constant[column]->second) + "), got " + detail::quote(cells[column]);
      }
      if (problem) {
        errors.add(where, kSpecs[column].name, *problem);
        ok = false;
      } else if (!constant[column]) {
        constant[column].emplace(cells[column], line);
      }
    }
    Prediction prediction;
    if (parse_prediction(cells[slide_id], cells[score], nullptr, cells[isup_pred], where, limits, errors, prediction) &&
        ok) {
      builder.add(std::move(prediction), line);
    }
  });
  if (count == 0 && errors.empty()) errors.add(Where{}, {}, "the file has no data rows");
  return builder.finish(constant[model] ? constant[model]->first : std::string(),
                        constant[model_sha256] ? constant[model_sha256]->first : std::string());
}

Result<Predictions> load_predictions(const std::filesystem::path& path, const ImportLimits& limits) {
  auto content = detail::read_file(path, limits.max_file_bytes, ErrorCode::predictions_invalid);
  if (!content.ok()) return std::move(content).error();
  auto predictions = parse_predictions_csv(*content, limits);
  if (!predictions.ok()) return detail::with_path(std::move(predictions).error(), path);
  return predictions;
}

}  // namespace mcval::dataset
