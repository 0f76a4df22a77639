#include "mcval/slide/tiff_jpeg_tiles.h"

#include <array>

#include "mcval/slide/openslide_source.h"
#include "mcval/testing/openslide_pixels.h"
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

// read_region decodes only the part of each stored tile a region needs (or takes the whole tile
// from its cache): random regions of the CMU slide (Photometric RGB tiles of 240 px), from
// one-pixel slivers to 3x3 stored tiles and past the level's edges, give OpenSlide's pixels
// exactly, read with a warm cache and with a fresh one.
TEST(TiffJpegTiles, PartialDecodingGivesOpenSlidesPixelsExactly) {
  EXPECT_EQ(testing::expect_read_region_is_openslides(test::cmu_slide(), 1600, 20261124), 1600);
}

// libjpeg's errors and warnings (which mean corrupt data) end the decoding of a tile without
// ending the process, and read_region answers nullopt: the caller then asks OpenSlide, which
// reports the damage. Whole tiles (decoded whole) and parts (decoded partly) alike.
TEST(TiffJpegTiles, CorruptTilesAreLeftToOpenSlide) {
  const auto reader = open_cmu();
  ASSERT_TRUE(reader);
  std::string file = test::read_file(test::cmu_slide());
  // Where a stored tile's bytes lie in the file: from its SOF marker (the JPEG tables before it
  // are spliced in from the directory) to its end.
  const auto locate = [&](std::int64_t x, std::int64_t y) -> std::pair<std::size_t, std::size_t> {
    const auto jpeg = reader->read_stored_jpeg(x, y, 0, 240, 240);
    if (!jpeg) return {0, 0};
    const std::string from_sof = jpeg->substr(jpeg->find("\xFF\xC0"));
    const std::size_t at = file.find(from_sof);
    return at == std::string::npos ? std::pair<std::size_t, std::size_t>{0, 0} : std::pair{at, at + from_sof.size()};
  };
  // Tile (1, 1): an EOI marker in the middle of the scan (libjpeg warns of corrupt data).
  const auto [sof_a, end_a] = locate(240, 240);
  ASSERT_GT(end_a, sof_a + 1000);
  file.replace((sof_a + end_a) / 2, 2, "\xFF\xD9");
  // Tile (2, 1): a sample precision of 12 bits (an error for an 8-bit decoder).
  const auto [sof_b, end_b] = locate(480, 240);
  ASSERT_GT(end_b, sof_b + 1000);
  ASSERT_EQ(file[sof_b + 4], 8);
  file[sof_b + 4] = 12;
  test::TempDir dir;
  const auto path = dir.path() / "corrupt.svs";
  test::write_file(path, file);

  const std::uint8_t white[3] = {255, 255, 255};
  const auto tiles = TiffJpegTiles::open(path, reader->properties());
  ASSERT_TRUE(tiles);
  EXPECT_FALSE(tiles->read_region(0, 240 + 10, 240 + 200, 20, 30, white));  // part, below the damage
  EXPECT_FALSE(tiles->read_region(0, 240, 240, 240, 240, white));
  EXPECT_FALSE(tiles->read_region(0, 480 + 100, 240 + 5, 1, 1, white));
  EXPECT_FALSE(tiles->read_region(0, 480, 240, 240, 240, white));
  EXPECT_FALSE(tiles->read_region(0, 0, 0, 1000, 1000, white));
  // The other tiles still decode, whole and in part.
  EXPECT_TRUE(tiles->read_region(0, 720, 240, 240, 240, white));
  EXPECT_TRUE(tiles->read_region(0, 720 + 7, 240 + 9, 20, 30, white));
}

TEST(TiffJpegTiles, EdgeMisalignedAndResizedReadsAreNotStoredTiles) {
  const auto reader = open_cmu();
  ASSERT_TRUE(reader);
  // Right and bottom edge tiles are padded in the file: the padded whole is never sent.
  EXPECT_FALSE(reader->read_stored_jpeg(2160, 0, 0, 240, 240));
  EXPECT_FALSE(reader->read_stored_jpeg(2160, 0, 0, 50, 240));  // not the part inside the level
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

// The LRU of decoded tiles holds at most its budget, whatever is read: with room for five CMU
// tiles, reading every tile of the level one by one keeps the last five and the pixels stay
// OpenSlide's; with no budget nothing is kept; the default keeps CMU's whole level (22.5 MB).
TEST(TiffJpegTiles, DecodedTilesStayWithinTheirBudget) {
  const auto reader = open_cmu();
  ASSERT_TRUE(reader);
  const std::uint8_t white[3] = {255, 255, 255};
  const std::size_t tile_bytes = 240 * 240 * 3;
  const auto read_every_tile = [&](const TiffJpegTiles& tiles, std::size_t budget) {
    int read = 0;
    for (std::int64_t y = 0; y < reader->properties().levels[0].height; y += 240) {
      for (std::int64_t x = 0; x < reader->properties().levels[0].width; x += 240) {
        const auto decoded = tiles.read_region(0, x, y, 240, 240, white);
        if (!decoded) ADD_FAILURE() << "tile at " << x << "," << y << " not decoded";
        EXPECT_LE(tiles.decoded_cache_bytes_held(), budget);
        if (++read % 17 == 0 && decoded) {  // a sample against OpenSlide
          const auto expected = reader->read_region(x, y, 0, 240, 240);
          EXPECT_TRUE(expected.ok() && test::max_abs_diff(*decoded, *expected) == 0) << "tile at " << x << "," << y;
        }
      }
    }
    return read;
  };

  const auto five = TiffJpegTiles::open(test::cmu_slide(), reader->properties(), 5 * tile_bytes);
  ASSERT_TRUE(five);
  EXPECT_EQ(read_every_tile(*five, 5 * tile_bytes), 10 * 13);
  EXPECT_EQ(five->decoded_cache_bytes_held(), 5 * tile_bytes);

  const auto none = TiffJpegTiles::open(test::cmu_slide(), reader->properties(), 0);
  ASSERT_TRUE(none);
  read_every_tile(*none, 0);
  EXPECT_EQ(none->decoded_cache_bytes_held(), 0u);

  const auto whole = TiffJpegTiles::open(test::cmu_slide(), reader->properties());
  ASSERT_TRUE(whole);
  read_every_tile(*whole, TiffJpegTiles::kDefaultDecodedCacheBytes);
  EXPECT_EQ(whole->decoded_cache_bytes_held(), 130 * tile_bytes);
}

// The part of an edge tile inside the level is the stored stream cut losslessly (CMU's tiles are
// RGB without subsampling, so the cut changes no pixel): decoded, exactly OpenSlide's pixels.
TEST(TiffJpegTiles, EdgeTilesAreCutLosslesslyToTheLevel) {
  const auto reader = open_cmu();
  ASSERT_TRUE(reader);
  for (const auto& [x, y, w, h] : std::vector<std::array<int, 4>>{{2160, 0, 60, 240}, {0, 2880, 240, 87},
                                                                  {2160, 2880, 60, 87}, {2160, 1200, 60, 240}}) {
    const auto jpeg = reader->read_stored_jpeg(x, y, 0, w, h);
    ASSERT_TRUE(jpeg) << x << "," << y;
    auto decoded = decode_jpeg(*jpeg);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded->width, w);
    EXPECT_EQ(decoded->height, h);
    auto reference = reader->read_region(x, y, 0, w, h);
    ASSERT_TRUE(reference.ok());
    EXPECT_EQ(decoded->pixels, reference->pixels) << x << "," << y;
  }
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
