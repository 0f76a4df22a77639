#include "mcval/tiles/image_ops.h"

#include <gtest/gtest.h>

namespace mcval::tiles {
namespace {

slide::RgbImage numbered(int w, int h) {
  slide::RgbImage img(w, h);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      auto* p = img.row(y) + 3 * x;
      p[0] = static_cast<std::uint8_t>(x);
      p[1] = static_cast<std::uint8_t>(y);
      p[2] = 7;
    }
  }
  return img;
}

TEST(ImageOps, QuarterTurnsAndMirrorMovePixelsWhereIiifSays) {
  const auto img = numbered(3, 2);
  const auto r90 = rotate_clockwise(img, 90);
  ASSERT_EQ(r90.width, 2);
  ASSERT_EQ(r90.height, 3);
  // Clockwise: the bottom-left source pixel (0,1) lands top-left.
  EXPECT_EQ(r90.row(0)[0], 0);
  EXPECT_EQ(r90.row(0)[1], 1);
  const auto r270 = rotate_clockwise(img, 270);
  // Counter-clockwise: the top-right source pixel (2,0) lands top-left.
  EXPECT_EQ(r270.row(0)[0], 2);
  EXPECT_EQ(r270.row(0)[1], 0);
  const auto r180 = rotate_clockwise(img, 180);
  EXPECT_EQ(r180.row(0)[0], 2);
  EXPECT_EQ(r180.row(0)[1], 1);
  const auto m = mirror_horizontally(img);
  EXPECT_EQ(m.row(0)[0], 2);
  EXPECT_EQ(m.row(1)[3 * 2], 0);
}

TEST(ImageOps, GrayAndBitonal) {
  slide::RgbImage img(2, 1);
  img.pixels = {255, 0, 0, 250, 250, 250};
  const auto g = to_gray(img);
  EXPECT_EQ(g.pixels[0], g.pixels[1]);
  EXPECT_EQ(g.pixels[0], 76);
  const auto b = to_bitonal(img);
  EXPECT_EQ(b.pixels[0], 0);
  EXPECT_EQ(b.pixels[3], 255);
}

}  // namespace
}  // namespace mcval::tiles
