#include "mcval/dataset/predictions.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mcval/common/sha256.h"
#include "mcval/testing/temp_dir.h"
#include "test_support.h"

namespace mcval::dataset {
namespace {

using testing::error_lines;
using testing::problems;
using Lines = std::vector<std::string>;

const std::string kSha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

Predictions parse_ok(std::string_view csv) {
  auto result = parse_predictions_csv(csv);
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().detail);
  if (!result.ok()) std::abort();
  return std::move(result).value();
}

Lines csv_problems(std::string_view csv, const ImportLimits& limits = {}) {
  return problems(parse_predictions_csv(csv, limits));
}

TEST(PredictionsCsv, ImportsSortedRows) {
  const Predictions predictions = parse_ok("slide_id,score,isup_pred\nS2,0.75,3\nS1,0.125,\nS3,1,5\n");
  ASSERT_EQ(predictions.size(), 3u);
  EXPECT_EQ(predictions.rows()[0], (Prediction{"S1", 0.125, std::nullopt}));
  EXPECT_EQ(predictions.rows()[1], (Prediction{"S2", 0.75, 3}));
  EXPECT_EQ(predictions.rows()[2], (Prediction{"S3", 1.0, 5}));
  EXPECT_EQ(predictions.model(), "");
  EXPECT_EQ(predictions.model_sha256(), "");
  ASSERT_NE(predictions.find("S2"), nullptr);
  EXPECT_EQ(predictions.find("S2")->score, 0.75);
  EXPECT_EQ(predictions.find("S9"), nullptr);
}

TEST(PredictionsCsv, ScoresAreFiniteProbabilities) {
  EXPECT_EQ(csv_problems("slide_id,score\nA,0\nB,1\nC,1.5\nD,-0.1\nE,abc\nF,nan\nG,inf\nH,\nI,0.5x\nJ,1e999\nK,0x1p-2\n"
                         "L,+0.5\nM,\"0,5\"\n"),
            (Lines{"line 4, column score: expected a probability in [0, 1], got \"1.5\"",
                   "line 5, column score: expected a probability in [0, 1], got \"-0.1\"",
                   "line 6, column score: expected a number, got \"abc\"",
                   "line 7, column score: expected a finite number, got \"nan\"",
                   "line 8, column score: expected a finite number, got \"inf\"",
                   "line 9, column score: must not be empty", "line 10, column score: expected a number, got \"0.5x\"",
                   "line 11, column score: number out of range, got \"1e999\"",
                   "line 12, column score: expected a number, got \"0x1p-2\"",
                   "line 13, column score: expected a number, got \"+0.5\"",
                   "line 14, column score: expected a number, got \"0,5\""}));
  const Predictions predictions = parse_ok("slide_id,score\nA,1e-3\nB,.5\nC,-0\nD,1.000\n");
  EXPECT_EQ(predictions.rows()[0].score, 0.001);
  EXPECT_EQ(predictions.rows()[1].score, 0.5);
  EXPECT_EQ(predictions.rows()[2].score, 0.0);
  EXPECT_FALSE(std::signbit(predictions.rows()[2].score)) << "-0 becomes 0";
  EXPECT_EQ(predictions.rows()[3].score, 1.0);
}

TEST(PredictionsCsv, OtherColumnProblems) {
  EXPECT_EQ(csv_problems("slide_id,score,isup_pred\nS1,0.5,6\nS2,0.5,x\n,0.5,\nS1,0.2,1\n"),
            (Lines{"line 2, column isup_pred: expected an integer 0-5 or empty, got \"6\"",
                   "line 3, column isup_pred: expected an integer 0-5 or empty, got \"x\"",
                   "line 4, column slide_id: must not be empty"}))
      << "S1 on line 5 is no duplicate: line 2 was rejected";
  EXPECT_EQ(csv_problems("slide_id,score\nS1,0.5\nS1,0.2\n"),
            (Lines{"line 3, column slide_id: duplicate slide_id \"S1\" (first on line 2)"}));
  EXPECT_EQ(csv_problems("slide_id,score,label\nS1,0.5,1\n"), (Lines{"line 1: unknown column \"label\""}));
  EXPECT_EQ(csv_problems("slide_id,prob\nS1,0.5\n"),
            (Lines{"line 1: unknown column \"prob\"", "line 1: missing required column \"score\""}));
  EXPECT_EQ(csv_problems("slide_id,score\n"), (Lines{"the file has no data rows"}));
  EXPECT_EQ(csv_problems(""), (Lines{"line 1: the file is empty (expected a header row)"}));
  EXPECT_EQ(csv_problems("slide_id,score\nS1,0.5,1\nS2,\"0.5\n"),
            (Lines{"line 2: expected 2 fields, got 3",
                   "line 3, column score: unterminated quoted field (opened on line 3)"}));
  ImportLimits limits;
  limits.max_rows = 1;
  EXPECT_EQ(csv_problems("slide_id,score\nS1,0.5\nS2,0.5\n", limits), (Lines{"line 3: more than 1 rows"}));
}

TEST(PredictionsCsv, ModelColumnsHoldOneValue) {
  const Predictions predictions =
      parse_ok("slide_id,score,model,model_sha256\nS1,0.5,resnet-v2," + kSha + "\nS2,0.25,resnet-v2," + kSha + "\n");
  EXPECT_EQ(predictions.model(), "resnet-v2");
  EXPECT_EQ(predictions.model_sha256(), kSha);
  std::string upper = kSha;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const Predictions shouting =
      parse_ok("slide_id,score,model,model_sha256\nS1,0.5,resnet-v2," + upper + "\nS2,0.25,resnet-v2," + kSha + "\n");
  EXPECT_EQ(shouting.model_sha256(), kSha) << "hex digits are compared and kept in lower case";
  EXPECT_EQ(shouting.sha256(), predictions.sha256());
  EXPECT_EQ(csv_problems("slide_id,score,model,model_sha256\nS1,0.5,a,\nS2,0.5,b,\nS3,0.5,a,abc\n"),
            (Lines{"line 3, column model: expected the same value on every row (\"a\" on line 2), got \"b\"",
                   "line 4, column model_sha256: expected 64 hexadecimal digits, got \"abc\""}));
}

TEST(PredictionsHash, MatchesTheDocumentedCanonicalForm) {
  const Predictions predictions = parse_ok("slide_id,isup_pred,score\nS2,3,1\nS1,,0.25\n");
  const std::string canonical = "mcval-predictions-v1\n0:,0:,\n2:S1,4:0.25,0:,\n2:S2,1:1,1:3,\n";
  EXPECT_EQ(canonical_predictions_text(predictions.rows(), predictions.model(), predictions.model_sha256()), canonical);
  // Computed independently with sha256sum.
  EXPECT_EQ(predictions.sha256(), "4c3b863fb8685d78fc37e8103a0ab844a3d8b07fb5e1abd1245e22b81a778092");
  EXPECT_EQ(canonical_predictions_text({{"S", 1e-05, std::nullopt}, {"T", 0.1, 0}}, "m", kSha),
            "mcval-predictions-v1\n1:m,64:" + kSha + ",\n1:S,5:1e-05,0:,\n1:T,3:0.1,1:0,\n");
}

TEST(PredictionsHash, DependsOnValuesNotOnHowTheyAreWritten) {
  const std::string reference = parse_ok("slide_id,score,isup_pred\nS1,0.5,2\nS2,0.125,\n").sha256();
  EXPECT_EQ(parse_ok("isup_pred,score,slide_id\r\n,1.25e-1,S2\r\n2,0.50,S1\r\n").sha256(), reference);
  EXPECT_EQ(parse_ok("\xEF\xBB\xBF\"slide_id\",\"score\"\n\"S2\",\".125\"\n\"S1\",\"5e-1\"\n"
                     "\n")
                .sha256(),
            parse_ok("slide_id,score\nS1,0.5\nS2,0.125\n").sha256());
  EXPECT_NE(parse_ok("slide_id,score,isup_pred\nS1,0.5,2\nS2,0.125,1\n").sha256(), reference);
  EXPECT_NE(parse_ok("slide_id,score,isup_pred\nS1,0.5,2\nS2,0.12500001,\n").sha256(), reference);
  EXPECT_NE(parse_ok("slide_id,score,isup_pred\nS1,0.5,2\nS3,0.125,\n").sha256(), reference);
  EXPECT_NE(parse_ok("slide_id,score,isup_pred,model\nS1,0.5,2,m\nS2,0.125,,m\n").sha256(), reference);
  EXPECT_NE(parse_ok("slide_id,score,isup_pred\nS1,0.5,2\n").sha256(), reference);
}

TEST(PredictionsFromRows, ValidatesAndAllowsAnEmptyRun) {
  auto empty = Predictions::from_rows({});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0u);
  EXPECT_EQ(empty->sha256(), sha256_hex("mcval-predictions-v1\n0:,0:,\n"));
  auto built = Predictions::from_rows({{"S2", 0.125, std::nullopt}, {"S1", 0.5, 2}}, "m", kSha);
  ASSERT_TRUE(built.ok()) << built.error().detail;
  EXPECT_EQ(built->sha256(),
            parse_ok("slide_id,score,isup_pred,model,model_sha256\nS1,0.5,2,m," + kSha + "\nS2,0.125,,m," + kSha + "\n")
                .sha256());
  EXPECT_EQ(
      problems(Predictions::from_rows({{"S1", std::nan(""), std::nullopt},
                                       {"S2", std::numeric_limits<double>::infinity(), 9},
                                       {"", 1.5, std::nullopt},
                                       {"S4", 4.9e-324, std::nullopt}},
                                      "m\n", "xyz")),
      (Lines{"model: control character U+000A not allowed", "model_sha256: expected 64 hexadecimal digits, got \"xyz\"",
             "row 1, column score: expected a finite number, got \"nan\"",
             "row 2, column score: expected a finite number, got \"inf\"",
             "row 2, column isup_pred: expected an integer 0-5 or empty, got \"9\"",
             "row 3, column slide_id: must not be empty",
             "row 3, column score: expected a probability in [0, 1], got \"1.5\""}))
      << "the smallest subnormal is a fine score";
}

TEST(PredictionsFile, LoadsAndNamesTheFileInErrors) {
  const mcval::testing::TempDir dir;
  auto good = load_predictions(dir.write("p.csv", "slide_id,score\nS1,0.5\n"));
  ASSERT_TRUE(good.ok()) << good.error().detail;
  EXPECT_EQ(good->size(), 1u);
  const auto bad = dir.write("q.csv", "slide_id,score\nS1,2\n");
  EXPECT_EQ(error_lines(load_predictions(bad)),
            (Lines{bad.string() + ": 1 error; nothing was imported:",
                   "line 2, column score: expected a probability in [0, 1], got \"2\""}));
  auto missing = load_predictions(dir.path() / "none.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::io_error);
  ImportLimits limits;
  limits.max_file_bytes = 10;
  auto big = load_predictions(bad, limits);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::predictions_invalid);
}

}  // namespace
}  // namespace mcval::dataset
