// Untrusted input must never crash the imports, and whatever they accept must satisfy the
// documented invariants. (tests/fuzz/dataset_csv_fuzz.cpp goes further in CI.)
#include <algorithm>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "mcval/dataset/csv_reader.h"
#include "mcval/dataset/dataset.h"
#include "mcval/dataset/predictions.h"

namespace mcval::dataset {
namespace {

void check_dataset(const Result<Dataset>& result) {
  if (!result.ok()) {
    EXPECT_EQ(result.error().code, ErrorCode::dataset_invalid);
    EXPECT_FALSE(result.error().detail.empty());
    return;
  }
  const auto& rows = result->rows();
  EXPECT_FALSE(rows.empty());
  EXPECT_TRUE(std::adjacent_find(rows.begin(), rows.end(), [](const DatasetRow& a, const DatasetRow& b) {
                return a.slide_id >= b.slide_id;
              }) == rows.end());
  EXPECT_EQ(result->sha256().size(), 64u);
}

void check_predictions(const Result<Predictions>& result) {
  if (!result.ok()) {
    EXPECT_EQ(result.error().code, ErrorCode::predictions_invalid);
    return;
  }
  for (const auto& row : result->rows()) {
    EXPECT_GE(row.score, 0.0);
    EXPECT_LE(row.score, 1.0);
  }
}

std::string random_bytes(std::mt19937_64& rng, std::size_t max_size) {
  std::string bytes(rng() % max_size, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  return bytes;
}

// Bytes drawn mostly from CSV syntax, so that parsing gets deep.
std::string random_csvish(std::mt19937_64& rng, std::size_t max_size) {
  static const std::string alphabet = ",,,\"\"\n\r \t01234S5a\xc3\xa9\xff";
  std::string text = rng() % 2 ? "slide_id,centre,patient_id,label,isup_grade\n" : "slide_id,score,isup_pred\n";
  const std::size_t size = rng() % max_size;
  for (std::size_t i = 0; i < size; ++i) text += alphabet[rng() % alphabet.size()];
  return text;
}

TEST(Robustness, RandomBytesNeverCrashTheImports) {
  std::mt19937_64 rng(20240601);
  for (int i = 0; i < 3000; ++i) {
    const std::string text = i % 2 ? random_bytes(rng, 200) : random_csvish(rng, 300);
    CsvReader reader(text);
    CsvRecord record;
    std::size_t records = 0;
    while (reader.next(record)) ASSERT_LE(++records, text.size() + 1);
    check_dataset(parse_dataset_csv(text, "fuzz"));
    check_dataset(parse_dataset_json(text, "fuzz"));
    check_predictions(parse_predictions_csv(text));
  }
}

TEST(Robustness, MutatedValidFilesNeverCrash) {
  const std::string dataset =
      "slide_id,centre,patient_id,label,isup_grade,scanner,specimen,exclude_reason\r\n"
      "S1,Paris,P1,1,3,\"Hamamatsu, S360\",biopsy,\r\nS2,Lyon,P2,0,,,,\"out of \"\"focus\"\"\"\r\n";
  const std::string json =
      R"({"name": "x", "rows": [{"slide_id": "S1", "centre": "C", "patient_id": "P", "label": 1, "isup_grade": 2}]})";
  std::mt19937_64 rng(7);
  for (int i = 0; i < 3000; ++i) {
    std::string text = i % 3 == 0 ? json : dataset;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = rng() % (text.size() + 1);
      switch (rng() % 3) {
        case 0:
          if (pos < text.size()) text[pos] = static_cast<char>(rng());
          break;
        case 1:
          text.insert(pos, 1, ",\"\n{}[]:0"[rng() % 9]);
          break;
        default:
          if (pos < text.size()) text.erase(pos, 1 + rng() % 3);
      }
    }
    check_dataset(parse_dataset_csv(text, "fuzz"));
    check_dataset(parse_dataset_json(text, "fuzz"));
    check_predictions(parse_predictions_csv(text));
  }
}

}  // namespace
}  // namespace mcval::dataset
