// The slides mcval synth writes (Aperio-compatible, YCbCr JPEG tiles) are served tile by tile
// from their stored JPEG bytes: every stored tile wholly inside its level decodes to what
// OpenSlide's read_region gives for it, at every level. Regions that are not stored tiles,
// decoded by mcval from the parts of the stored tiles they need, are OpenSlide's pixels exactly.
#include <gtest/gtest.h>

#include "mcval/slide/codec.h"
#include "mcval/slide/openslide_source.h"
#include "mcval/synth/slide_synthesizer.h"
#include "mcval/testing/openslide_pixels.h"
#include "synth_test_support.h"

namespace mcval::synth {
namespace {

TEST(StoredTiles, EveryInnerTileOfAGeneratedSlideDecodesToOpenSlidesPixels) {
  testing::TempDir dir;
  SlideSpec spec;
  spec.width = 3072;
  spec.height = 2304;
  spec.tile_px = 256;
  spec.seed = 5;
  const auto path = dir.path() / "stored.svs";
  auto info = write_aperio_slide(spec, testing::cmu_source(), path);
  ASSERT_TRUE(info.ok()) << info.error().to_string();

  const slide::OpenSlideSource source;
  auto opened = source.open(path);
  ASSERT_TRUE(opened.ok()) << opened.error().to_string();
  const auto& reader = **opened;
  const auto& props = reader.properties();
  ASSERT_GE(props.levels.size(), 2u);
  int stored = 0;
  for (int level = 0; level < static_cast<int>(props.levels.size()); ++level) {
    const auto& l = props.levels[static_cast<std::size_t>(level)];
    const auto factor = static_cast<std::int64_t>(l.downsample);
    ASSERT_EQ(static_cast<double>(factor), l.downsample);
    for (std::int64_t y = 0; y + 256 <= l.height; y += 256) {
      for (std::int64_t x = 0; x + 256 <= l.width; x += 256) {
        const auto jpeg = reader.read_stored_jpeg(x * factor, y * factor, level, 256, 256);
        ASSERT_TRUE(jpeg) << "level " << level << " tile at " << x << "," << y;
        auto decoded = slide::decode_jpeg(*jpeg);
        ASSERT_TRUE(decoded.ok());
        auto expected = reader.read_region(x * factor, y * factor, level, 256, 256);
        ASSERT_TRUE(expected.ok());
        int worst = 0;
        for (std::size_t i = 0; i < decoded->pixels.size(); ++i) {
          worst = std::max(worst, std::abs(decoded->pixels[i] - expected->pixels[i]));
        }
        EXPECT_LE(worst, 4) << "level " << level << " tile at " << x << "," << y;
        ++stored;
      }
      // The edge tile of a level that is not a multiple of the tile size is padded: not stored.
      if (l.width % 256 != 0) {
        EXPECT_FALSE(reader.read_stored_jpeg((l.width / 256) * 256 * factor, y * factor, level, 256, 256));
      }
    }
  }
  // 12 x 9 at level 0, 3 x 2 at level 1 (768 x 576).
  EXPECT_EQ(stored, 12 * 9 + 3 * 2);
}

// The slide the benchmark serves is of this kind: 4:2:0 YCbCr tiles, whose fancy-upsampled chroma
// makes the edges of a partial decode differ unless the decoder is given a margin. The level
// sizes are not multiples of the tile size, so the edge tiles are padded in the file.
TEST(StoredTiles, PartialDecodingOfAGeneratedSlideGivesOpenSlidesPixelsExactly) {
  testing::TempDir dir;
  SlideSpec spec;
  spec.width = 2000;  // level 1: 500 x 375
  spec.height = 1500;
  spec.tile_px = 256;
  spec.seed = 7;
  const auto path = dir.path() / "partial.svs";
  auto info = write_aperio_slide(spec, testing::cmu_source(), path);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_EQ(mcval::testing::expect_read_region_is_openslides(path, 800, 20261124), 2 * 800);
}

}  // namespace
}  // namespace mcval::synth
