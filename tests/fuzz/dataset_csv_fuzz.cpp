// Fuzz target: dataset and predictions import (CSV, and JSON for datasets). Whatever is
// accepted must hold its invariants and survive a round trip: written back as fully quoted CSV
// (and as JSON) it must import to the same rows and the same snapshot hash.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mcval/dataset/csv_reader.h"
#include "mcval/dataset/dataset.h"
#include "mcval/dataset/join.h"
#include "mcval/dataset/predictions.h"

namespace {
using namespace mcval::dataset;

void check(bool condition) {
  if (!condition) __builtin_trap();
}

std::string csv_quote(std::string_view value) {
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

void check_dataset(const mcval::Result<Dataset>& dataset) {
  if (!dataset.ok()) {
    check(dataset.error().code == mcval::ErrorCode::dataset_invalid && !dataset.error().detail.empty());
    return;
  }
  const auto& rows = dataset->rows();
  check(!rows.empty() && dataset->sha256().size() == 64);
  std::string csv = "exclude_reason,specimen,scanner,isup_grade,label,patient_id,centre,slide_id\r\n";
  nlohmann::json json = nlohmann::json::array();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const DatasetRow& row = rows[i];
    check(i == 0 || rows[i - 1].slide_id < row.slide_id);
    check(row.label == 0 || row.label == 1);
    check(!row.isup_grade || (*row.isup_grade >= 0 && *row.isup_grade <= 5));
    check(dataset->find(row.slide_id) == &row);
    const std::string grade = row.isup_grade ? std::to_string(*row.isup_grade) : "";
    csv += csv_quote(row.exclude_reason) + "," + csv_quote(row.specimen) + "," + csv_quote(row.scanner) + "," + grade +
           "," + std::to_string(row.label) + "," + csv_quote(row.patient_id) + "," + csv_quote(row.centre) + "," +
           csv_quote(row.slide_id) + "\r\n";
    json.push_back({{"slide_id", row.slide_id},
                    {"centre", row.centre},
                    {"patient_id", row.patient_id},
                    {"label", row.label},
                    {"scanner", row.scanner},
                    {"specimen", row.specimen},
                    {"exclude_reason", row.exclude_reason}});
    if (row.isup_grade) json.back()["isup_grade"] = *row.isup_grade;
  }
  auto again = parse_dataset_csv(csv, dataset->name());
  check(again.ok() && again->rows() == rows && again->sha256() == dataset->sha256());
  auto from_json = parse_dataset_json(json.dump(), dataset->name());
  check(from_json.ok() && from_json->sha256() == dataset->sha256());
}

void check_predictions(const mcval::Result<Predictions>& predictions) {
  if (!predictions.ok()) {
    check(predictions.error().code == mcval::ErrorCode::predictions_invalid);
    return;
  }
  const auto& rows = predictions->rows();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    check(i == 0 || rows[i - 1].slide_id < rows[i].slide_id);
    check(rows[i].score >= 0 && rows[i].score <= 1);
  }
  auto rebuilt = Predictions::from_rows(rows, predictions->model(), predictions->model_sha256());
  check(rebuilt.ok() && rebuilt->sha256() == predictions->sha256());
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CsvReader reader(text);
  CsvRecord record;
  std::size_t previous_line = 0;
  while (reader.next(record)) {
    check(record.line > previous_line);
    check(record.error.empty() != record.error_field.has_value());
    previous_line = record.line;
  }
  auto dataset = parse_dataset_csv(text, "fuzz");
  check_dataset(dataset);
  check_dataset(parse_dataset_json(text, "fuzz"));
  auto predictions = parse_predictions_csv(text);
  check_predictions(predictions);
  if (dataset.ok() && predictions.ok()) {
    const JoinResult joined = join(*dataset, *predictions);
    check(joined.total.received == dataset->size());
    check(joined.total.received == joined.total.excluded_total() + joined.total.failed_total() + joined.total.analysed);
    check(joined.rows.size() == joined.total.analysed);
  }
  return 0;
}
