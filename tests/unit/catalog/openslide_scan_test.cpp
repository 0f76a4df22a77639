// The scanner with the real OpenSlideSource on the shared CMU sample slide.
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "mcval/catalog/catalog_scanner.h"
#include "mcval/catalog/sqlite_catalog.h"
#include "mcval/common/sha256.h"
#include "mcval/slide/openslide_source.h"
#include "temp_dir.h"

namespace mcval::catalog {
namespace {

namespace fs = std::filesystem;

TEST(OpenSlideScan, RealSlideIsOkAndTruncatedCopyIsUnreadable) {
  testing::TempDir dir;
  const fs::path cmu = MCVAL_TEST_CMU_SLIDE;
  ASSERT_TRUE(fs::exists(cmu)) << cmu;
  std::string bytes;
  {
    std::ifstream in(cmu, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  ASSERT_GT(bytes.size(), 100000u);
  dir.write("slides/centre-a/CMU-1-Small-Region.svs", bytes);
  dir.write("slides/centre-b/truncated.svs", std::string_view(bytes).substr(0, 100000));

  auto catalog = SqliteCatalog::open(dir.path() / "catalog.db");
  ASSERT_TRUE(catalog.ok()) << catalog.error().to_string();
  const slide::OpenSlideSource source;
  CatalogScanner scanner(**catalog, source);
  ScanOptions options;
  options.threads = 2;
  auto summary = scanner.scan(dir.path() / "slides", options);
  ASSERT_TRUE(summary.ok()) << summary.error().to_string();
  EXPECT_EQ(summary->added, 2);
  EXPECT_EQ(summary->unreadable, 1);

  auto records = (*catalog)->list_slides(std::nullopt, false);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2u);

  const SlideRecord& good = (*records)[0];
  EXPECT_EQ(good.relative_path, "centre-a/CMU-1-Small-Region.svs");
  EXPECT_EQ(good.status, SlideStatus::ok) << good.status_reason;
  EXPECT_EQ(good.properties.vendor, "aperio");
  ASSERT_EQ(good.properties.levels.size(), 1u);
  EXPECT_EQ(good.properties.levels[0].width, 2220);
  EXPECT_EQ(good.properties.levels[0].height, 2967);
  EXPECT_EQ(good.sha256, sha256_hex(bytes));
  EXPECT_EQ(good.file_bytes, static_cast<std::int64_t>(bytes.size()));

  const SlideRecord& bad = (*records)[1];
  EXPECT_EQ(bad.relative_path, "centre-b/truncated.svs");
  EXPECT_EQ(bad.status, SlideStatus::unreadable);
  EXPECT_FALSE(bad.status_reason.empty());
  EXPECT_TRUE(bad.properties.levels.empty());
}

}  // namespace
}  // namespace mcval::catalog
