// TileService over a real catalogue (SQLite, scanned with OpenSlide) of the CMU sample slide:
// cached answers skip the look at the slide file only while an earlier look still vouches for
// it, so a deleted file is refused within a second even for tiles already in the cache.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "mcval/catalog/catalog_scanner.h"
#include "mcval/catalog/sqlite_catalog.h"
#include "mcval/slide/openslide_source.h"
#include "mcval/slide/slide_pool.h"
#include "mcval/slide/tile_cache.h"
#include "mcval/tiles/tile_service.h"
#include "mcval/testing/temp_dir.h"

namespace mcval::tiles {
namespace {

namespace fs = std::filesystem;

class TileServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ifstream in(MCVAL_TEST_CMU_SLIDE, std::ios::binary);
    ASSERT_TRUE(in) << MCVAL_TEST_CMU_SLIDE;
    dir_.write("slides/centre-a/cmu.svs",
               std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
    auto catalog = catalog::SqliteCatalog::open(dir_.path() / "catalog.db");
    ASSERT_TRUE(catalog.ok()) << catalog.error().to_string();
    catalog_ = std::move(*catalog);
    catalog::CatalogScanner scanner(*catalog_, source_);
    ASSERT_TRUE(scanner.scan(dir_.path() / "slides", catalog::ScanOptions{}).ok());
    auto records = catalog_->list_slides(std::nullopt, false);
    ASSERT_TRUE(records.ok() && records->size() == 1);
    id_ = records->front().id;
    tiles_ = std::make_unique<TileService>(*catalog_, pool_, cache_, TileServiceOptions{dir_.path() / "slides"});
    ASSERT_TRUE(tiles_->refresh().ok());
  }

  Result<EncodedImage> tile(int col, int row) const {
    return tiles_->dzi_tile(id_, 12, col, row, ImageFormat::jpeg);
  }

  testing::TempDir dir_;
  std::unique_ptr<catalog::SqliteCatalog> catalog_;
  slide::OpenSlideSource source_;
  slide::SlidePool pool_{source_, 4};
  slide::TileCache cache_{64 << 20};
  std::unique_ptr<TileService> tiles_;
  std::string id_;
};

TEST_F(TileServiceTest, CachedTileOfADeletedSlideIsRefusedOnceTheLastLookIsOverASecondOld) {
  auto first = tile(0, 0);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  fs::remove(dir_.path() / "slides/centre-a/cmu.svs");

  // The cached tile may still be sent while the last successful look is under a second old...
  const auto deleted_at = std::chrono::steady_clock::now();
  auto cached = tile(0, 0);
  if (std::chrono::steady_clock::now() - deleted_at < std::chrono::milliseconds(900)) {
    ASSERT_TRUE(cached.ok());
    EXPECT_EQ(*cached, *first) << "the same cached bytes";
  }
  // ...and never once it is older: the file is looked at again and is gone.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto later = tile(0, 0);
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().code, ErrorCode::slide_gone);
}

TEST_F(TileServiceTest, ALookThatFindsTheFileGoneStopsCachedAnswersAtOnce) {
  ASSERT_TRUE(tile(0, 0).ok());
  fs::remove(dir_.path() / "slides/centre-a/cmu.svs");
  // A tile not in the cache looks at the file at once...
  auto uncached = tile(1, 1);
  ASSERT_FALSE(uncached.ok());
  EXPECT_EQ(uncached.error().code, ErrorCode::slide_gone);
  // ...and from then on the cached ones are refused too.
  auto cached = tile(0, 0);
  ASSERT_FALSE(cached.ok());
  EXPECT_EQ(cached.error().code, ErrorCode::slide_gone);
}

TEST_F(TileServiceTest, AWarmTileIsTheSameAnswerAndAnInvalidAddressIsRefusedCachedOrNot) {
  auto cold = tile(2, 3);
  ASSERT_TRUE(cold.ok()) << cold.error().to_string();
  auto warm = tile(2, 3);
  ASSERT_TRUE(warm.ok());
  EXPECT_EQ(*warm, *cold) << "served from the cache";
  // The address is checked against the slide on every miss, also right after a hit.
  for (int i = 0; i < 2; ++i) {
    auto outside = tile(1000, 0);
    ASSERT_FALSE(outside.ok());
    EXPECT_EQ(outside.error().code, ErrorCode::tile_out_of_range);
  }
  auto parsed = parse_iiif_request("full", "max", "0", "default.jpg");
  ASSERT_TRUE(parsed.ok());
  auto too_large = parse_iiif_request("full", "^100000,", "0", "default.jpg");
  ASSERT_TRUE(too_large.ok());
  EXPECT_TRUE(tiles_->iiif_image(id_, *parsed).ok());
  for (int i = 0; i < 2; ++i) EXPECT_FALSE(tiles_->iiif_image(id_, *too_large).ok());
}

}  // namespace
}  // namespace mcval::tiles
