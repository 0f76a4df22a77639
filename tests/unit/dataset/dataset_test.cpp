#include "mcval/dataset/dataset.h"

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

const char* const kCsv =
    "slide_id,centre,patient_id,label,isup_grade,scanner,specimen,exclude_reason\n"
    "S3,Lyon,P2,0,,Aperio GT450,biopsy,\n"
    "S1,Paris,P1,1,3,Hamamatsu S360,biopsy,\n"
    "S2,Paris,P1,0,0,,,out of focus\n";

Dataset parse_ok(std::string_view csv, std::string name = "study") {
  auto result = parse_dataset_csv(csv, std::move(name));
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().detail);
  if (!result.ok()) std::abort();
  return std::move(result).value();
}

Lines csv_problems(std::string_view csv, const ImportLimits& limits = {}) {
  return problems(parse_dataset_csv(csv, "study", limits));
}

// A CSV with the four required columns and the given data lines.
std::string required(const std::string& rows) { return "slide_id,centre,patient_id,label\n" + rows; }

TEST(DatasetCsv, ImportsRowsSortedBySlideId) {
  const Dataset dataset = parse_ok(kCsv);
  EXPECT_EQ(dataset.name(), "study");
  ASSERT_EQ(dataset.size(), 3u);
  const auto& rows = dataset.rows();
  EXPECT_EQ(rows[0], (DatasetRow{"S1", "Paris", "P1", 1, 3, "Hamamatsu S360", "biopsy", ""}));
  EXPECT_EQ(rows[1], (DatasetRow{"S2", "Paris", "P1", 0, 0, "", "", "out of focus"}));
  EXPECT_EQ(rows[2], (DatasetRow{"S3", "Lyon", "P2", 0, std::nullopt, "Aperio GT450", "biopsy", ""}));
  EXPECT_TRUE(rows[1].excluded());
  EXPECT_FALSE(rows[0].excluded());
  EXPECT_EQ(dataset.sha256().size(), 64u);
  ASSERT_NE(dataset.find("S2"), nullptr);
  EXPECT_EQ(dataset.find("S2")->exclude_reason, "out of focus");
  EXPECT_EQ(dataset.find("S4"), nullptr);
  EXPECT_EQ(dataset.find(""), nullptr);
}

TEST(DatasetCsv, OptionalColumnsMayBeLeftOutAndColumnsComeInAnyOrder) {
  const Dataset dataset = parse_ok("label,patient_id,slide_id,centre\n1,P9,S9,Oslo\n");
  EXPECT_EQ(dataset.rows()[0], (DatasetRow{"S9", "Oslo", "P9", 1, std::nullopt, "", "", ""}));
}

TEST(DatasetCsv, QuotedValuesMayHoldCommasAndQuotes) {
  const Dataset dataset = parse_ok(required("\"S,1\",\"Centre \"\"A\"\"\",P1,1\n"));
  EXPECT_EQ(dataset.rows()[0].slide_id, "S,1");
  EXPECT_EQ(dataset.rows()[0].centre, "Centre \"A\"");
}

TEST(DatasetCsv, UnknownColumnIsAnErrorWithASuggestion) {
  EXPECT_EQ(csv_problems("slide_id,centre,patient_id,lable\nS1,C,P,1\n"),
            (Lines{"line 1: unknown column \"lable\" (did you mean \"label\"?)",
                   "line 1: missing required column \"label\""}));
  EXPECT_EQ(
      csv_problems("slide_id,centre,patient_id,label,Scanner,notes\nS1,C,P,1,x,y\n"),
      (Lines{"line 1: unknown column \"Scanner\" (did you mean \"scanner\"?)", "line 1: unknown column \"notes\""}));
  EXPECT_EQ(csv_problems("slide_id,center,patient_id,label\nS1,C,P,1\n"),
            (Lines{"line 1: unknown column \"center\" (did you mean \"centre\"?)",
                   "line 1: missing required column \"centre\""}));
}

TEST(DatasetCsv, HeaderProblems) {
  EXPECT_EQ(csv_problems("slide_id,centre\nS1,C\n"),
            (Lines{"line 1: missing required column \"patient_id\"", "line 1: missing required column \"label\""}));
  EXPECT_EQ(csv_problems("slide_id,centre,patient_id,label,label\nS1,C,P,1,1\n"),
            (Lines{"line 1: duplicate column \"label\""}));
  EXPECT_EQ(csv_problems("slide_id,centre,patient_id,label,\nS1,C,P,1,\n"),
            (Lines{"line 1: empty column name (field 5 of the header)"}));
  EXPECT_EQ(csv_problems("slide_id,\"centre,patient_id,label\n"),
            (Lines{"line 1: header row: unterminated quoted field (opened on line 1)"}));
  EXPECT_EQ(csv_problems("slide_id,centre,patient_id,label,sp\xff\n"), (Lines{"line 1: unknown column \"sp\\xff\""}));
  EXPECT_EQ(csv_problems("\n\nslide_id,centre\n"),
            (Lines{"line 3: missing required column \"patient_id\"", "line 3: missing required column \"label\""}));
}

TEST(DatasetCsv, EmptyFileAndHeaderOnly) {
  EXPECT_EQ(error_lines(parse_dataset_csv("", "study")),
            (Lines{"1 error; nothing was imported:", "line 1: the file is empty (expected a header row)"}));
  EXPECT_EQ(csv_problems("\xEF\xBB\xBF\r\n"), (Lines{"line 1: the file is empty (expected a header row)"}));
  EXPECT_EQ(csv_problems(required("")), (Lines{"the dataset has no rows"}));
}

TEST(DatasetCsv, EveryValueProblemIsReportedWithLineAndColumn) {
  const std::string csv =
      "slide_id,centre,patient_id,label,isup_grade,scanner,specimen,exclude_reason\n"
      "S1,C,P,1,2,,,\n"                 // line 2: fine
      "S2,C,P,2,,,,\n"                  // line 3
      "S3,C,P,,,,,\n"                   // line 4
      "S4,C,P,yes,,,,\n"                // line 5
      "S5,C,P,0,6,,,\n"                 // line 6
      "S6,C,P,0,2.0,,,\n"               // line 7
      "S7,C,P,0,-1,,,\n"                // line 8
      ",C,P,0,,,,\n"                    // line 9
      "S9,C,,0,,,,\n"                   // line 10
      "S10,,P,0,,,,\n"                  // line 11
      "S11,a/b,P,0,,,,\n"               // line 12
      "S12,..,P,0,,,,\n"                // line 13
      "S13,a\\b,P,0,,,,\n"              // line 14
      "\" S14\",C,P,0,,,,\n"            // line 15
      "S15,\"C\tD\",P,0,,,,\n"          // line 16
      "S16,C,P,0,,\"multi\nline\",,\n"  // line 17 (and 18)
      "S17,C,P,0,, 1 ,,\n";             // line 19: unquoted spaces are trimmed, fine
  EXPECT_EQ(csv_problems(csv), (Lines{
                                   "line 3, column label: expected 0 or 1, got \"2\"",
                                   "line 4, column label: must not be empty",
                                   "line 5, column label: expected 0 or 1, got \"yes\"",
                                   "line 6, column isup_grade: expected an integer 0-5 or empty, got \"6\"",
                                   "line 7, column isup_grade: expected an integer 0-5 or empty, got \"2.0\"",
                                   "line 8, column isup_grade: expected an integer 0-5 or empty, got \"-1\"",
                                   "line 9, column slide_id: must not be empty",
                                   "line 10, column patient_id: must not be empty",
                                   "line 11, column centre: must not be empty",
                                   "line 12, column centre: must not contain '/' or '\\'",
                                   "line 13, column centre: must not be \".\" or \"..\"",
                                   "line 14, column centre: must not contain '/' or '\\'",
                                   "line 15, column slide_id: leading or trailing space",
                                   "line 16, column centre: control character U+0009 not allowed",
                                   "line 17, column scanner: control character U+000A not allowed",
                               }));
}

TEST(DatasetCsv, SeveralProblemsOnOneRowAreAllReported) {
  EXPECT_EQ(csv_problems("slide_id,centre,patient_id,label,isup_grade\n,,,x,9\n"),
            (Lines{"line 2, column slide_id: must not be empty", "line 2, column centre: must not be empty",
                   "line 2, column patient_id: must not be empty", "line 2, column label: expected 0 or 1, got \"x\"",
                   "line 2, column isup_grade: expected an integer 0-5 or empty, got \"9\""}));
}

TEST(DatasetCsv, NulBytesAndInvalidUtf8AreRejectedWithTheirLine) {
  std::string csv = required("S1,C,P,1\nS2,C\xff,P,1\nS3,C,P,1\n");
  csv += std::string("S4,C,P\0X,1\n", 11);
  csv += "S5,C,P,1\xc3\n";
  csv += "S6,\xed\xa0\x80,P,1\n";   // an encoded surrogate
  csv += "S7,\xc0\xaf,P,1\n";       // an overlong '/'
  csv += "S8,Z\xc3\xbcrich,P,1\n";  // fine: "Zürich"
  EXPECT_EQ(csv_problems(csv),
            (Lines{"line 3, column centre: invalid UTF-8", "line 5, column patient_id: NUL byte not allowed",
                   "line 6, column label: invalid UTF-8", "line 7, column centre: invalid UTF-8",
                   "line 8, column centre: invalid UTF-8"}));
}

TEST(DatasetCsv, WrongFieldCountAndSyntaxErrorsAreReportedAndReadingGoesOn) {
  EXPECT_EQ(csv_problems(required("S1,C,P\nS2,C,P,1,extra\nS3,C,\"P,1\nS4,C,P,x\"y\nS5,C,P,2\n")),
            (Lines{"line 2: expected 4 fields, got 3", "line 3: expected 4 fields, got 5",
                   "line 4, column patient_id: unexpected character after the closing quote",
                   "line 6, column label: expected 0 or 1, got \"2\""}));
  EXPECT_EQ(csv_problems(required("S1,C,P,1\nS3,C,\"P,1\nS4,C,P,1\n")),
            (Lines{"line 3, column patient_id: unterminated quoted field (opened on line 3)"}));
  EXPECT_EQ(csv_problems(required("S4,C,P,x\"y\nS5,C,P,2\n")),
            (Lines{"line 2, column label: unexpected '\"' in an unquoted field",
                   "line 3, column label: expected 0 or 1, got \"2\""}));
  EXPECT_EQ(csv_problems(required("S4,C,P,1,x\"y\n")), (Lines{"line 2: unexpected '\"' in an unquoted field"}));
}

TEST(DatasetCsv, DuplicateSlideIdNamesTheFirstLine) {
  EXPECT_EQ(csv_problems(required("S1,C,P,1\nS2,C,P,1\nS1,D,Q,0\nS1,E,R,0\n")),
            (Lines{"line 4, column slide_id: duplicate slide_id \"S1\" (first on line 2)",
                   "line 5, column slide_id: duplicate slide_id \"S1\" (first on line 2)"}));
}

TEST(DatasetCsv, ProblemsAreListedInLineOrder) {
  EXPECT_EQ(csv_problems(required("S1,C,P,1\nS1,C,P,1\nS3,C,P,7\n")),
            (Lines{"line 3, column slide_id: duplicate slide_id \"S1\" (first on line 2)",
                   "line 4, column label: expected 0 or 1, got \"7\""}));
}

TEST(DatasetCsv, LinesCountPhysicalLinesOfMultiLineRecords) {
  const std::string csv =
      "slide_id,centre,patient_id,label,exclude_reason\r\n"
      "S1,C,P,1,\"a\r\nlong\r\nreason\"\r\n"
      "S2,C,P,3,\r\n";
  EXPECT_EQ(csv_problems(csv), (Lines{"line 2, column exclude_reason: control character U+000A not allowed",
                                      "line 5, column label: expected 0 or 1, got \"3\""}));
}

TEST(DatasetCsv, LengthCaps) {
  ImportLimits limits;
  limits.max_id_bytes = 8;
  limits.max_text_bytes = 12;
  EXPECT_EQ(
      csv_problems("slide_id,centre,patient_id,label,scanner\nS123456789,C,P,1,abcdefghijklm\nS1,C,P,1,abcdefghijkl\n",
                   limits),
      (Lines{"line 2, column slide_id: longer than 8 bytes", "line 2, column scanner: longer than 12 bytes"}));
}

TEST(DatasetCsv, RowCap) {
  ImportLimits limits;
  limits.max_rows = 2;
  EXPECT_EQ(csv_problems(required("S1,C,P,1\nS2,C,P,1\nS3,C,P,1\nS4,C,P,1\n"), limits),
            (Lines{"line 4: more than 2 rows"}));
  EXPECT_TRUE(parse_dataset_csv(required("S1,C,P,1\nS2,C,P,1\n"), "study", limits).ok());
}

TEST(DatasetCsv, ErrorListIsCappedAndCountsTheRest) {
  ImportLimits limits;
  limits.max_errors = 3;
  std::string rows;
  for (int i = 0; i < 10; ++i) rows += "S" + std::to_string(i) + ",C,P,9\n";
  const auto lines = error_lines(parse_dataset_csv(required(rows), "study", limits));
  EXPECT_EQ(lines, (Lines{"10 errors; nothing was imported:", "line 2, column label: expected 0 or 1, got \"9\"",
                          "line 3, column label: expected 0 or 1, got \"9\"",
                          "line 4, column label: expected 0 or 1, got \"9\"", "and 7 more errors"}));
}

TEST(DatasetCsv, DefaultCapIsOneHundred) {
  std::string rows;
  for (int i = 0; i < 250; ++i) rows += "S" + std::to_string(i) + ",C,P,x\n";
  const auto lines = error_lines(parse_dataset_csv(required(rows), "study"));
  ASSERT_EQ(lines.size(), 102u);
  EXPECT_EQ(lines.front(), "250 errors; nothing was imported:");
  EXPECT_EQ(lines[100], "line 101, column label: expected 0 or 1, got \"x\"");
  EXPECT_EQ(lines.back(), "and 150 more errors");
}

TEST(DatasetCsv, NothingIsImportedWhenOneRowIsBad) {
  std::string rows;
  for (int i = 0; i < 1000; ++i) rows += "S" + std::to_string(i) + ",C,P," + (i == 998 ? "2" : "1") + "\n";
  const auto result = parse_dataset_csv(required(rows), "study");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::dataset_invalid);
  EXPECT_EQ(problems(result), (Lines{"line 1000, column label: expected 0 or 1, got \"2\""}));
}

TEST(DatasetCsv, ValuesShownInMessagesAreEscapedAndShortened) {
  EXPECT_EQ(csv_problems(required("S1,C,P,\"a\"\"b\\c\"\n")),
            (Lines{"line 2, column label: expected 0 or 1, got \"a\\\"b\\\\c\""}));
  EXPECT_EQ(csv_problems(required("S1,C,P," + std::string(60, 'x') + "\n")),
            (Lines{"line 2, column label: expected 0 or 1, got \"" + std::string(40, 'x') + "...\""}));
}

TEST(DatasetCsv, NameIsChecked) {
  EXPECT_EQ(problems(parse_dataset_csv(required("S1,C,P,1\n"), "a/b")),
            (Lines{"dataset name: must not contain '/' or '\\'"}));
  EXPECT_EQ(problems(parse_dataset_csv(required("S1,C,P,1\n"), "")), (Lines{"dataset name: must not be empty"}));
}

// ---- snapshot hash -------------------------------------------------------------------------

TEST(DatasetHash, MatchesTheDocumentedCanonicalForm) {
  const Dataset dataset = parse_ok("slide_id,centre,patient_id,label,isup_grade\nS1,C1,P1,1,2\n");
  const std::string canonical = "mcval-dataset-v1\n2:S1,2:C1,2:P1,1:1,1:2,0:,0:,0:,\n";
  EXPECT_EQ(canonical_dataset_text(dataset.rows()), canonical);
  // Computed independently: printf 'mcval-dataset-v1\n2:S1,2:C1,2:P1,1:1,1:2,0:,0:,0:,\n' | sha256sum
  EXPECT_EQ(dataset.sha256(), "461e79e63ce1cd0735b216bca8a76f9e0cddb462f93915e4ddf8734babdc4a15");
  EXPECT_EQ(dataset.sha256(), sha256_hex(canonical));
}

TEST(DatasetHash, CanonicalFormOfEveryField) {
  const Dataset dataset = parse_ok(kCsv);
  EXPECT_EQ(canonical_dataset_text(dataset.rows()),
            "mcval-dataset-v1\n"
            "2:S1,5:Paris,2:P1,1:1,1:3,14:Hamamatsu S360,6:biopsy,0:,\n"
            "2:S2,5:Paris,2:P1,1:0,1:0,0:,0:,12:out of focus,\n"
            "2:S3,4:Lyon,2:P2,1:0,0:,12:Aperio GT450,6:biopsy,0:,\n");
  const Dataset utf8 = parse_ok(required("S1,Z\xc3\xbcrich,P1,0\n"));
  EXPECT_EQ(canonical_dataset_text(utf8.rows()), "mcval-dataset-v1\n2:S1,7:Z\xc3\xbcrich,2:P1,1:0,0:,0:,0:,0:,\n")
      << "lengths are in bytes";
}

TEST(DatasetHash, DependsOnContentOnly) {
  const std::string reference = parse_ok(kCsv).sha256();
  const char* const same_content[] = {
      // columns in another order
      "exclude_reason,specimen,scanner,isup_grade,label,patient_id,centre,slide_id\n"
      ",biopsy,Aperio GT450,,0,P2,Lyon,S3\n"
      ",biopsy,Hamamatsu S360,3,1,P1,Paris,S1\n"
      "out of focus,,,0,0,P1,Paris,S2\n",
      // every field quoted, CRLF line endings, a byte order mark, rows in another order
      "\xEF\xBB\xBF\"slide_id\",\"centre\",\"patient_id\",\"label\",\"isup_grade\",\"scanner\",\"specimen\","
      "\"exclude_reason\"\r\n"
      "\"S2\",\"Paris\",\"P1\",\"0\",\"0\",\"\",\"\",\"out of focus\"\r\n"
      "\"S1\",\"Paris\",\"P1\",\"1\",\"3\",\"Hamamatsu S360\",\"biopsy\",\"\"\r\n"
      "\"S3\",\"Lyon\",\"P2\",\"0\",\"\",\"Aperio GT450\",\"biopsy\",\"\"\r\n",
      // spaces around unquoted fields, blank lines, no final line break
      "slide_id , centre,patient_id,label,isup_grade,scanner,specimen,exclude_reason\n"
      "\n"
      "  S3,Lyon , P2,0,,Aperio GT450,biopsy,\n"
      "S1,Paris,P1,1, 3 ,Hamamatsu S360,biopsy,\n"
      "\n"
      "S2,Paris,P1,0,0,,,out of focus",
  };
  for (const char* csv : same_content) EXPECT_EQ(parse_ok(csv).sha256(), reference) << csv;
  EXPECT_EQ(parse_ok(kCsv, "another-name").sha256(), reference) << "the name is not content";
}

TEST(DatasetHash, LeavingOutAnEmptyOptionalColumnKeepsTheHash) {
  EXPECT_EQ(
      parse_ok(required("S1,C,P,1\n")).sha256(),
      parse_ok("slide_id,centre,patient_id,label,isup_grade,scanner,specimen,exclude_reason\nS1,C,P,1,,,,\n").sha256());
}

TEST(DatasetHash, AnyChangeOfAnyFieldChangesIt) {
  const std::string base_row = "S1,Paris,P1,1,3,Hamamatsu S360,biopsy,";
  const std::string header = "slide_id,centre,patient_id,label,isup_grade,scanner,specimen,exclude_reason\n";
  const std::string others = "S2,Paris,P1,0,0,,,out of focus\nS3,Lyon,P2,0,,Aperio GT450,biopsy,\n";
  const std::string reference = parse_ok(header + base_row + "\n" + others).sha256();
  const char* const changed_rows[] = {
      "S1x,Paris,P1,1,3,Hamamatsu S360,biopsy,", "S1,Pari,P1,1,3,Hamamatsu S360,biopsy,",
      "S1,Paris,P2,1,3,Hamamatsu S360,biopsy,",  "S1,Paris,P1,0,3,Hamamatsu S360,biopsy,",
      "S1,Paris,P1,1,4,Hamamatsu S360,biopsy,",  "S1,Paris,P1,1,,Hamamatsu S360,biopsy,",
      "S1,Paris,P1,1,3,Hamamatsu S36,biopsy,",   "S1,Paris,P1,1,3,,biopsy,",
      "S1,Paris,P1,1,3,Hamamatsu S360,biopsyX,", "S1,Paris,P1,1,3,Hamamatsu S360,,",
      "S1,Paris,P1,1,3,Hamamatsu S360,biopsy,x", "S1,Paris,P1,1,3,Hamamatsu S360,biopsy,out of focus",
      "S1,paris,P1,1,3,Hamamatsu S360,biopsy,",  "S1,Paris,P1,1,3,Hamamatsu  S360,biopsy,",
  };
  std::vector<std::string> seen{reference};
  for (const char* row : changed_rows) {
    const std::string hash = parse_ok(header + row + "\n" + others).sha256();
    for (const auto& other : seen) EXPECT_NE(hash, other) << row;
    seen.push_back(hash);
  }
  // Moving text between fields changes it too (the length prefixes keep fields apart).
  EXPECT_NE(parse_ok(required("S1,AB,C,1\n")).sha256(), parse_ok(required("S1,A,BC,1\n")).sha256());
  // Adding or removing a row.
  EXPECT_NE(parse_ok(header + base_row + "\n" + others + "S4,Lyon,P3,1,,,,\n").sha256(), reference);
  EXPECT_NE(parse_ok(header + base_row + "\n").sha256(), reference);
}

// ---- JSON ----------------------------------------------------------------------------------

const char* const kJsonArray = R"([
  {"slide_id": "S3", "centre": "Lyon", "patient_id": "P2", "label": 0, "isup_grade": null,
   "scanner": "Aperio GT450", "specimen": "biopsy"},
  {"slide_id": "S1", "centre": "Paris", "patient_id": "P1", "label": 1, "isup_grade": 3,
   "scanner": "Hamamatsu S360", "specimen": "biopsy", "exclude_reason": ""},
  {"slide_id": "S2", "centre": "Paris", "patient_id": "P1", "label": "0", "isup_grade": "0",
   "exclude_reason": "out of focus"}
])";

TEST(DatasetJson, ArrayImportEqualsCsvImport) {
  auto json = parse_dataset_json(kJsonArray, "study");
  ASSERT_TRUE(json.ok()) << json.error().detail;
  const Dataset csv = parse_ok(kCsv);
  EXPECT_EQ(json->rows(), csv.rows());
  EXPECT_EQ(json->sha256(), csv.sha256());
  EXPECT_EQ(json->name(), "study");
}

TEST(DatasetJson, ObjectFormCarriesTheName) {
  const std::string text = std::string(R"({"name": "prostate-2024", "rows": )") + kJsonArray + "}";
  auto json = parse_dataset_json(text, "fallback");
  ASSERT_TRUE(json.ok()) << json.error().detail;
  EXPECT_EQ(json->name(), "prostate-2024");
  EXPECT_EQ(json->sha256(), parse_ok(kCsv).sha256());
  auto unnamed = parse_dataset_json(std::string(R"({"rows": )") + kJsonArray + "}", "fallback");
  ASSERT_TRUE(unnamed.ok());
  EXPECT_EQ(unnamed->name(), "fallback");
}

TEST(DatasetJson, RowProblemsAreLocatedByRow) {
  const char* const text = R"([
    {"slide_id": "S1", "centre": "C", "patient_id": "P", "label": 1},
    {"slide_id": "S2", "centre": "C", "patient_id": "P", "lable": 1},
    {"slide_id": "S3", "centre": "C", "patient_id": "P", "label": true},
    {"slide_id": 4, "centre": "C", "patient_id": "P", "label": 2},
    "S5",
    {"slide_id": "S1", "centre": "C", "patient_id": "P", "label": 0, "isup_grade": 1.5},
    {"slide_id": "S7", "centre": "C/D", "patient_id": null, "label": 0, "isup_grade": 7}
  ])";
  EXPECT_EQ(problems(parse_dataset_json(text, "study")),
            (Lines{"row 2: unknown key \"lable\" (did you mean \"label\"?)", "row 2, column label: must not be empty",
                   "row 3, column label: expected an integer or a string, got true",
                   "row 4, column slide_id: expected a string, got 4",
                   "row 4, column label: expected 0 or 1, got \"2\"", "row 5: expected an object, got \"S5\"",
                   "row 6, column isup_grade: expected an integer or a string, got 1.5",
                   "row 7, column centre: must not contain '/' or '\\'", "row 7, column patient_id: must not be empty",
                   "row 7, column isup_grade: expected an integer 0-5 or empty, got \"7\""}));
}

TEST(DatasetJson, DuplicateSlideIdNamesTheFirstRow) {
  EXPECT_EQ(problems(parse_dataset_json(R"([{"slide_id": "S1", "centre": "C", "patient_id": "P", "label": 1},
                                            {"slide_id": "S1", "centre": "C", "patient_id": "P", "label": 0}])",
                                        "study")),
            (Lines{"row 2, column slide_id: duplicate slide_id \"S1\" (first on row 1)"}));
}

TEST(DatasetJson, DocumentProblems) {
  EXPECT_EQ(problems(parse_dataset_json("{\"rows\": [", "study")).size(), 1u);
  EXPECT_EQ(problems(parse_dataset_json("{\"rows\": [", "study"))[0].rfind("invalid JSON: ", 0), 0u);
  EXPECT_EQ(problems(parse_dataset_json("42", "study")),
            (Lines{"expected an array of rows, or an object with \"rows\": [...]"}));
  EXPECT_EQ(problems(parse_dataset_json(R"({"name": 3, "rows": [], "extra": 1})", "study")),
            (Lines{"unknown key \"extra\" in the top-level object", "\"name\" must be a string, got 3"}));
  EXPECT_EQ(problems(parse_dataset_json("[]", "study")), (Lines{"the dataset has no rows"}));
  EXPECT_EQ(problems(parse_dataset_json(std::string(100, '[') + std::string(100, ']'), "study")),
            (Lines{"JSON nested deeper than 16 levels"}));
  EXPECT_EQ(problems(parse_dataset_json(R"([{"slide_id": "S\u0000", "centre": "C", "patient_id": "P", "label": 1}])",
                                        "study")),
            (Lines{"row 1, column slide_id: NUL byte not allowed"}));
  ImportLimits limits;
  limits.max_rows = 1;
  EXPECT_EQ(problems(parse_dataset_json(kJsonArray, "study", limits)), (Lines{"more than 1 rows"}));
}

// ---- rows built in code ----------------------------------------------------------------------

TEST(DatasetFromRows, ValidatesLikeTheImports) {
  std::vector<DatasetRow> rows{{"S2", "C", "P", 1, 5, "", "", ""}, {"S1", "C", "P", 0, std::nullopt, "", "", "x"}};
  auto dataset = Dataset::from_rows("study", rows);
  ASSERT_TRUE(dataset.ok()) << dataset.error().detail;
  EXPECT_EQ(dataset->rows()[0].slide_id, "S1");
  EXPECT_EQ(dataset->sha256(), parse_ok("slide_id,centre,patient_id,label,isup_grade,exclude_reason\n"
                                        "S1,C,P,0,,x\nS2,C,P,1,5,\n")
                                   .sha256());
  rows.push_back({"S3", "C", "P", 7, 6, "", "", ""});
  rows.push_back({"S1", "", "P", 0, std::nullopt, " scanner", "", ""});
  EXPECT_EQ(problems(Dataset::from_rows("study", rows)),
            (Lines{"row 3, column label: expected 0 or 1, got \"7\"",
                   "row 3, column isup_grade: expected an integer 0-5 or empty, got \"6\"",
                   "row 4, column centre: must not be empty", "row 4, column scanner: leading or trailing space"}));
  EXPECT_EQ(problems(Dataset::from_rows("study", {})), (Lines{"the dataset has no rows"}));
}

// ---- files -----------------------------------------------------------------------------------

TEST(DatasetFile, LoadsCsvAndJsonByExtension) {
  const mcval::testing::TempDir dir;
  auto csv = load_dataset(dir.write("ground truth.csv", kCsv));
  ASSERT_TRUE(csv.ok()) << csv.error().detail;
  EXPECT_EQ(csv->name(), "ground truth");
  auto json = load_dataset(dir.write("gt.JSON", kJsonArray));
  ASSERT_TRUE(json.ok()) << json.error().detail;
  EXPECT_EQ(json->name(), "gt");
  EXPECT_EQ(json->sha256(), csv->sha256());
}

TEST(DatasetFile, ErrorsNameTheFile) {
  const mcval::testing::TempDir dir;
  const auto path = dir.write("bad.csv", required("S1,C,P,2\n"));
  EXPECT_EQ(error_lines(load_dataset(path)), (Lines{path.string() + ": 1 error; nothing was imported:",
                                                    "line 2, column label: expected 0 or 1, got \"2\""}));
}

TEST(DatasetFile, UnreadableAndTooLarge) {
  const mcval::testing::TempDir dir;
  auto missing = load_dataset(dir.path() / "missing.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::io_error);
  EXPECT_EQ(missing.error().detail, (dir.path() / "missing.csv").string() + ": no such file");
  auto directory = load_dataset(dir.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().code, ErrorCode::io_error);
  ImportLimits limits;
  limits.max_file_bytes = 100;
  const auto path = dir.write("big.csv", required(std::string(200, '\n')));
  auto big = load_dataset(path, limits);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, ErrorCode::dataset_invalid);
  EXPECT_EQ(big.error().detail, path.string() + ": larger than 100 bytes");
  limits.max_file_bytes = 1000;
  EXPECT_EQ(problems(load_dataset(path, limits)), (Lines{"the dataset has no rows"}));
}

}  // namespace
}  // namespace mcval::dataset

namespace mcval::dataset {
namespace {

TEST(DatasetJson, SnapshotRoundTripsWithItsHashAndRefusesTampering) {
  auto original = parse_dataset_csv(
      "slide_id,centre,patient_id,label,isup_grade,exclude_reason\n"
      "s2,centre-b,p2,0,,\n"
      "s1,centre-a,p1,1,3,\"blurred, rescanned\"\n",
      "study");
  ASSERT_TRUE(original.ok()) << original.error().to_string();
  const std::string json = dataset_to_json(*original);
  auto back = parse_dataset_json(json, "other-name");
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->name(), "study");
  EXPECT_EQ(back->sha256(), original->sha256());
  EXPECT_EQ(back->rows(), original->rows());

  std::string tampered = json;
  tampered.replace(tampered.find("centre-b"), 8, "centre-c");
  auto refused = parse_dataset_json(tampered, "study");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().detail.find("does not match its stated sha256"), std::string::npos);
}

}  // namespace
}  // namespace mcval::dataset
