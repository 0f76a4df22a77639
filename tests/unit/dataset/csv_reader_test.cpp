#include "mcval/dataset/csv_reader.h"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace mcval::dataset {
namespace {

using Rows = std::vector<std::vector<std::string>>;

std::vector<CsvRecord> read_all(std::string_view text) {
  CsvReader reader(text);
  std::vector<CsvRecord> records;
  CsvRecord record;
  while (reader.next(record)) records.push_back(record);
  EXPECT_TRUE(record.fields.empty());
  return records;
}

Rows fields_of(std::string_view text) {
  Rows rows;
  for (const auto& record : read_all(text)) {
    EXPECT_EQ(record.error, "") << "line " << record.line;
    rows.push_back(record.fields);
  }
  return rows;
}

std::vector<std::size_t> lines_of(std::string_view text) {
  std::vector<std::size_t> lines;
  for (const auto& record : read_all(text)) lines.push_back(record.line);
  return lines;
}

TEST(CsvReader, SplitsFieldsAndRecords) {
  EXPECT_EQ(fields_of("a,b,c\n1,2,3\n"), (Rows{{"a", "b", "c"}, {"1", "2", "3"}}));
  EXPECT_EQ(fields_of("a,b\n1,2"), (Rows{{"a", "b"}, {"1", "2"}})) << "no final line break";
  EXPECT_EQ(fields_of("single\n"), (Rows{{"single"}}));
  EXPECT_TRUE(fields_of("").empty());
}

TEST(CsvReader, LineEndingsCrlfLfAndLoneCr) {
  EXPECT_EQ(fields_of("a,b\r\n1,2\r\n"), (Rows{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(fields_of("a,b\r1,2\r"), (Rows{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(fields_of("a,b\r\n1,2\n3,4\r5,6"), (Rows{{"a", "b"}, {"1", "2"}, {"3", "4"}, {"5", "6"}}));
  EXPECT_EQ(lines_of("a\r\nb\nc\rd"), (std::vector<std::size_t>{1, 2, 3, 4}));
}

TEST(CsvReader, EmptyFields) {
  EXPECT_EQ(fields_of("a,,b\n"), (Rows{{"a", "", "b"}}));
  EXPECT_EQ(fields_of(",\n"), (Rows{{"", ""}}));
  EXPECT_EQ(fields_of("a,b,\n"), (Rows{{"a", "b", ""}})) << "a trailing comma is one more empty field";
  EXPECT_EQ(fields_of("a,b,"), (Rows{{"a", "b", ""}}));
  EXPECT_EQ(fields_of("\"\",x\n"), (Rows{{"", "x"}}));
  EXPECT_EQ(fields_of("\"\"\n"), (Rows{{""}})) << "a quoted empty field is a record, not a blank line";
}

TEST(CsvReader, QuotedFieldsWithCommasQuotesAndLineBreaks) {
  EXPECT_EQ(fields_of("\"a,b\",c\n"), (Rows{{"a,b", "c"}}));
  EXPECT_EQ(fields_of("\"say \"\"hi\"\"\",x\n"), (Rows{{"say \"hi\"", "x"}}));
  EXPECT_EQ(fields_of("\"\"\"\"\n"), (Rows{{"\""}}));
  EXPECT_EQ(fields_of("\"\"\"a\"\"\",\"b\"\"\"\n"), (Rows{{"\"a\"", "b\""}}));
  EXPECT_EQ(fields_of("\"two\nlines\",x\n"), (Rows{{"two\nlines", "x"}}));
  EXPECT_EQ(fields_of("\"two\r\nlines\",x\r\n"), (Rows{{"two\nlines", "x"}})) << "CRLF inside quotes becomes LF";
  EXPECT_EQ(fields_of("\"two\rlines\"\n"), (Rows{{"two\nlines"}}));
  EXPECT_EQ(fields_of("\"a\n\nb\"\n"), (Rows{{"a\n\nb"}})) << "a blank line inside quotes is data";
  EXPECT_EQ(fields_of("\"x\""), (Rows{{"x"}}));
}

TEST(CsvReader, RecordLineIsThePhysicalLineWhereItStarts) {
  EXPECT_EQ(lines_of("h1,h2\n\"multi\nline\nfield\",x\nnext,y\n\"a\r\nb\",z\r\nlast,w\r\n"),
            (std::vector<std::size_t>{1, 2, 5, 6, 8}));
}

TEST(CsvReader, TrimsSpacesAndTabsOutsideQuotesOnly) {
  EXPECT_EQ(fields_of("  a  , b\t,\tc\n"), (Rows{{"a", "b", "c"}}));
  EXPECT_EQ(fields_of("  \" a \"  ,\" b\"\n"), (Rows{{" a ", " b"}}));
  EXPECT_EQ(fields_of("a b , c  d\n"), (Rows{{"a b", "c  d"}})) << "inner spaces stay";
  EXPECT_EQ(fields_of(" , \n"), (Rows{{"", ""}}));
}

TEST(CsvReader, SkipsByteOrderMark) {
  EXPECT_EQ(fields_of("\xEF\xBB\xBFslide_id,label\nS1,1\n"), (Rows{{"slide_id", "label"}, {"S1", "1"}}));
  EXPECT_EQ(fields_of("\xEF\xBB\xBF\"quoted\",x\n"), (Rows{{"quoted", "x"}}));
  EXPECT_EQ(fields_of("a,\xEF\xBB\xBF\n"), (Rows{{"a", "\xEF\xBB\xBF"}})) << "only a leading BOM is skipped";
}

TEST(CsvReader, SkipsBlankLinesAnywhere) {
  EXPECT_EQ(fields_of("a\n1\n\n"), (Rows{{"a"}, {"1"}}));
  EXPECT_EQ(fields_of("a\r\n1\r\n\r\n"), (Rows{{"a"}, {"1"}}));
  EXPECT_EQ(fields_of("a\n1\n  \t \n"), (Rows{{"a"}, {"1"}}));
  EXPECT_EQ(fields_of("\n\na\n\n1\n"), (Rows{{"a"}, {"1"}}));
  EXPECT_EQ(lines_of("\n\na\n\n1\n"), (std::vector<std::size_t>{3, 5}));
}

TEST(CsvReader, FieldsAreBytesNulIncluded) {
  const std::string text("a\0b,\xff\n", 6);
  EXPECT_EQ(fields_of(text), (Rows{{std::string("a\0b", 3), "\xff"}}));
}

TEST(CsvReader, UnterminatedQuoteNamesTheLineItOpenedOn) {
  const auto records = read_all("h\nok\nx,\"never\nclosed\n");
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2].line, 3u);
  EXPECT_EQ(records[2].error, "unterminated quoted field (opened on line 3)");
  EXPECT_EQ(records[2].error_field, 1u);
  EXPECT_EQ(records[2].fields, (std::vector<std::string>{"x"}));
}

TEST(CsvReader, QuoteInsideUnquotedFieldIsAnErrorAndReadingResumesOnTheNextLine) {
  const auto records = read_all("a,b\"c,d\nnext,1\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].error, "unexpected '\"' in an unquoted field");
  EXPECT_EQ(records[0].error_field, 1u);
  EXPECT_EQ(records[1].error, "");
  EXPECT_EQ(records[1].fields, (std::vector<std::string>{"next", "1"}));
  EXPECT_EQ(records[1].line, 2u);
}

TEST(CsvReader, TextAfterClosingQuoteIsAnError) {
  const auto records = read_all("\"ab\"c,d\r\nnext\r\n");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].error, "unexpected character after the closing quote");
  EXPECT_EQ(records[0].error_field, 0u);
  EXPECT_EQ(records[1].fields, (std::vector<std::string>{"next"}));
  EXPECT_EQ(records[1].line, 2u);
  EXPECT_EQ(fields_of("\"ab\"  ,c\n"), (Rows{{"ab", "c"}})) << "spaces after the closing quote are fine";
}

TEST(CsvReader, ReportsTheLineWhereReadingContinues) {
  CsvReader reader("a\n\"b\nc\"\nd");
  CsvRecord record;
  EXPECT_EQ(reader.line(), 1u);
  ASSERT_TRUE(reader.next(record));
  EXPECT_EQ(reader.line(), 2u);
  ASSERT_TRUE(reader.next(record));
  EXPECT_EQ(reader.line(), 4u);
  ASSERT_TRUE(reader.next(record));
  EXPECT_FALSE(reader.next(record));
  EXPECT_FALSE(reader.next(record)) << "stays at the end";
}

// Writes fields the way a careful writer does (quoting when needed) and checks that they read
// back unchanged, whatever bytes they hold.
TEST(CsvReader, RoundTripsRandomTables) {
  std::mt19937 rng(42);
  const std::string alphabet = "ab ,\"\n\r\t1\xc3\xa9";
  for (int round = 0; round < 300; ++round) {
    Rows table;
    const std::size_t columns = 1 + rng() % 5;
    const std::size_t rows = 1 + rng() % 6;
    std::string text;
    for (std::size_t r = 0; r < rows; ++r) {
      std::vector<std::string> row;
      for (std::size_t c = 0; c < columns; ++c) {
        std::string field;
        const std::size_t length = rng() % 8;
        for (std::size_t i = 0; i < length; ++i) field += alphabet[rng() % alphabet.size()];
        // What the reader returns: line breaks inside quotes become LF.
        std::string expected;
        for (std::size_t i = 0; i < field.size(); ++i) {
          if (field[i] == '\r') {
            expected += '\n';
            if (i + 1 < field.size() && field[i + 1] == '\n') ++i;
          } else {
            expected += field[i];
          }
        }
        row.push_back(expected);
        if (c > 0) text += ',';
        text += '"';
        for (const char ch : field) text += ch == '"' ? std::string("\"\"") : std::string(1, ch);
        text += '"';
      }
      table.push_back(row);
      text += (rng() % 2) ? "\r\n" : "\n";
    }
    EXPECT_EQ(fields_of(text), table) << text;
  }
}

}  // namespace
}  // namespace mcval::dataset
