#include "mcval/slide/tiff_jpeg_tiles.h"

#include "mcval/slide/openslide_source.h"
#include "test_support.h"

namespace mcval::slide {
namespace {

using test::open_cmu;

double mean_abs_diff(const RgbImage& a, const RgbImage& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) sum += std::abs(a.pixels[i] - b.pixels[i]);
  return a.pixels.empty() ? 0 : sum / static_cast<double>(a.pixels.size());
}

// Every stored tile wholly inside the CMU slide (Aperio, Photometric RGB, JPEGTables) decodes to
// what OpenSlide's read_region gives for the same rectangle.
TEST(TiffJpegTiles, EveryInnerCmuTileDecodesToOpenSlidesPixels) {
  const auto reader = open_cmu();
  ASSERT_TRUE(reader);
  const auto& p = reader->properties();
  ASSERT_EQ(p.level_tile_width[0], 240);
  const int tile = 240;
  int stored = 0;
  for (std::int64_t y = 0; y + tile <= p.levels[0].height; y += tile) {
    for (std::int64_t x = 0; x + tile <= p.levels[0].width; x += tile) {
      const auto jpeg = reader->read_stored_jpeg(x, y, 0, tile, tile);
      ASSERT_TRUE(jpeg) << "tile at " << x << "," << y;
      // An Adobe APP14 marker right after SOI says the samples are RGB, not YCbCr.
      ASSERT_GE(jpeg->size(), 20u);
      EXPECT_EQ(jpeg->substr(0, 4), std::string("\xFF\xD8\xFF\xEE", 4));
      auto decoded = decode_jpeg(*jpeg);
      ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
      auto expected = reader->read_region(x, y, 0, tile, tile);
      ASSERT_TRUE(expected.ok());
      EXPECT_LE(test::max_abs_diff(*decoded, *expected), 4) << "tile at " << x << "," << y;
      EXPECT_LT(mean_abs_diff(*decoded, *expected), 0.5) << "tile at " << x << "," << y;
      ++stored;
    }
  }
  EXPECT_EQ(stored, 9 * 12);
}

TEST(TiffJpegTiles, EdgeMisalignedAndResizedReadsAreNotStoredTiles) {
  const auto reader = open_cmu();
  ASSERT_TRUE(reader);
  // Right and bottom edge tiles are padded in the file: the server renders them.
  EXPECT_FALSE(reader->read_stored_jpeg(2160, 0, 0, 240, 240));
  EXPECT_FALSE(reader->read_stored_jpeg(0, 2880, 0, 240, 240));
  EXPECT_FALSE(reader->read_stored_jpeg(1, 0, 0, 240, 240));
  EXPECT_FALSE(reader->read_stored_jpeg(240, 120, 0, 240, 240));
  EXPECT_FALSE(reader->read_stored_jpeg(0, 0, 0, 256, 256));
  EXPECT_FALSE(reader->read_stored_jpeg(0, 0, 0, 240, 239));
  EXPECT_FALSE(reader->read_stored_jpeg(-240, 0, 0, 240, 240));
  EXPECT_FALSE(reader->read_stored_jpeg(0, 0, 1, 240, 240));

  const auto tiles = TiffJpegTiles::open(test::cmu_slide(), reader->properties());
  ASSERT_TRUE(tiles);
  EXPECT_EQ(tiles->jpeg_levels(), std::vector<bool>{true});
  EXPECT_EQ(tiles->read(0, 2160, 0, 240, 240).miss, StoredTileMiss::edge_tile);
  EXPECT_EQ(tiles->read(0, 1, 0, 240, 240).miss, StoredTileMiss::not_tile_aligned);
  EXPECT_TRUE(tiles->read(0, 240, 480, 240, 240).jpeg);
}

TEST(TiffJpegTiles, FilesThatAreNotTiffHaveNoStoredTiles) {
  test::TempDir dir;
  const auto path = dir.path() / "not.tif";
  test::write_file(path, "this is not a TIFF file at all");
  SlideProperties props;
  props.levels.push_back({100, 100, 1.0});
  EXPECT_FALSE(TiffJpegTiles::open(path, props));
}

}  // namespace
}  // namespace mcval::slide
