#include "mcval/slide/codec.h"

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace mcval::slide {
namespace {

RgbImage source_image() { return test::load_png(test::data_dir() / "resample_source.png"); }

// Over the tissue part of the fixture (x < 240); the hard black/white stripes beyond are
// the worst case for 4:2:0 JPEG and not what tiles look like.
double mean_abs_diff_tissue(const RgbImage& a, const RgbImage& b) {
  double sum = 0;
  int n = 0;
  for (int y = 0; y < a.height; ++y) {
    for (int i = 0; i < 240 * 3; ++i, ++n) sum += std::abs(a.row(y)[i] - b.row(y)[i]);
  }
  return sum / n;
}

TEST(Codec, PngRoundTripIsLossless) {
  const RgbImage image = source_image();
  ASSERT_EQ(image.width, 300);
  const auto png = encode_png(image);
  ASSERT_TRUE(png.ok()) << png.error().to_string();
  EXPECT_EQ(png->substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  const auto decoded = decode_png(*png);
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  EXPECT_EQ(decoded->width, image.width);
  EXPECT_EQ(decoded->height, image.height);
  EXPECT_EQ(decoded->pixels, image.pixels);
}

TEST(Codec, JpegRoundTripIsClose) {
  const RgbImage image = source_image();
  const auto jpeg = encode_jpeg(image, 90);
  ASSERT_TRUE(jpeg.ok()) << jpeg.error().to_string();
  EXPECT_EQ(jpeg->substr(0, 3), "\xFF\xD8\xFF");
  const auto decoded = decode_jpeg(*jpeg);
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  ASSERT_EQ(decoded->width, image.width);
  ASSERT_EQ(decoded->height, image.height);
  // libjpeg through Pillow (quality 90, 4:2:0) gives 4.68 on this content.
  EXPECT_LT(mean_abs_diff_tissue(*decoded, image), 5.5);
  const auto small = encode_jpeg(image, 20);
  ASSERT_TRUE(small.ok());
  EXPECT_LT(small->size(), jpeg->size());
}

TEST(Codec, OddSizesEncode) {
  RgbImage image(1, 1);
  image.pixels = {10, 200, 30};
  ASSERT_TRUE(decode_png(*encode_png(image)).ok());
  RgbImage odd(255, 17);
  const auto jpeg = encode_jpeg(odd, 80);
  ASSERT_TRUE(jpeg.ok());
  const auto decoded = decode_jpeg(*jpeg);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->width, 255);
  EXPECT_EQ(decoded->height, 17);
}

// The encoder's output buffer is kept per thread between encodes: an encode after a larger one
// (whose buffer is not kept) and after a smaller one gives the same bytes as the first time,
// and threads do not share it.
TEST(Codec, JpegEncodesAreTheSameWhateverWasEncodedBefore) {
  const RgbImage tile = source_image();
  const auto first = encode_jpeg(tile, 80);
  ASSERT_TRUE(first.ok());
  RgbImage large = RgbImage::uninitialized(1500, 1400);  // worst case above the kept 4 MiB
  for (std::size_t i = 0; i < large.pixels.size(); ++i) large.pixels[i] = static_cast<std::uint8_t>(i * 7 % 251);
  const auto large_jpeg = encode_jpeg(large, 80);
  ASSERT_TRUE(large_jpeg.ok());
  const auto large_decoded = decode_jpeg(*large_jpeg);
  ASSERT_TRUE(large_decoded.ok());
  EXPECT_EQ(large_decoded->width, 1500);
  EXPECT_EQ(large_decoded->height, 1400);
  EXPECT_EQ(*encode_jpeg(tile, 80), *first);
  RgbImage tiny(3, 2);
  ASSERT_TRUE(encode_jpeg(tiny, 80).ok());
  EXPECT_EQ(*encode_jpeg(tile, 80), *first);

  std::vector<std::string> from_threads(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < from_threads.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const auto other = encode_jpeg(i % 2 == 0 ? tiny : tile, 80);
        if (!other.ok()) return;
      }
      from_threads[t] = *encode_jpeg(tile, 80);
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& bytes : from_threads) EXPECT_EQ(bytes, *first);
}

TEST(Codec, RejectsBadArgumentsAndBadBytes) {
  const RgbImage image(8, 8);
  EXPECT_EQ(encode_jpeg(image, 0).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(encode_jpeg(image, 101).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(encode_jpeg(RgbImage(), 80).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(encode_png(RgbImage()).error().code, ErrorCode::invalid_argument);
  RgbImage inconsistent(8, 8);
  inconsistent.pixels.resize(10);
  EXPECT_EQ(encode_png(inconsistent).error().code, ErrorCode::invalid_argument);

  EXPECT_EQ(decode_jpeg("").error().code, ErrorCode::bad_request);
  EXPECT_EQ(decode_jpeg("definitely not a jpeg").error().code, ErrorCode::bad_request);
  EXPECT_EQ(decode_png("").error().code, ErrorCode::bad_request);
  EXPECT_EQ(decode_png("\x89PNG but not really").error().code, ErrorCode::bad_request);

  const std::string jpeg = *encode_jpeg(source_image(), 80);
  EXPECT_EQ(decode_jpeg(jpeg.substr(0, jpeg.size() / 2)).error().code, ErrorCode::bad_request);
  const std::string png = *encode_png(source_image());
  EXPECT_EQ(decode_png(png.substr(0, png.size() / 2)).error().code, ErrorCode::bad_request);
  EXPECT_EQ(decode_png(jpeg).error().code, ErrorCode::bad_request);
  EXPECT_EQ(decode_jpeg(png).error().code, ErrorCode::bad_request);
}

TEST(Codec, EncodesFromManyThreads) {
  const RgbImage image = source_image();
  const std::string expected = *encode_jpeg(image, 75);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        const auto jpeg = encode_jpeg(image, 75);
        const auto png = encode_png(image);
        if (!jpeg.ok() || *jpeg != expected || !png.ok() || !decode_jpeg(*jpeg).ok()) ++mismatches;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches, 0);
}

}  // namespace
}  // namespace mcval::slide
