#include "mcval/slide/resample.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <numbers>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace mcval::slide {

// A transcription of Pillow 9.4's libImaging/Resample.c (8 bits per channel) and Reduce.c,
// including their fixed-point rounding, so results agree with Pillow pixel for pixel.

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;
constexpr double kLanczosSupport = 3.0;

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= std::numbers::pi;
  return std::sin(x) / x;
}

double lanczos(double x) {
  if (-3.0 <= x && x < 3.0) return sinc(x) * sinc(x / 3);
  return 0.0;
}

constexpr std::int32_t kRoundingHalf = 1 << (kPrecisionBits - 1);

template <typename Sum>
std::uint8_t clip8(Sum in) {
  if (in >= (Sum{1} << kPrecisionBits << 8)) return 255;
  if (in <= 0) return 0;
  return static_cast<std::uint8_t>(in >> kPrecisionBits);
}

// Fixed-point filter taps for one axis: output pixel i reads input [start[i], start[i]+count[i]).
struct Coefficients {
  int ksize = 0;
  std::vector<int> start;
  std::vector<int> count;
  std::vector<std::int32_t> taps;  // ksize per output pixel
  // Whether kRoundingHalf + 255 * sum(|tap|) stays below 2^31 for every output pixel, so that
  // every partial sum fits an int32 (Pillow's own accumulator type) and the int32 passes compute
  // the same sums as the int64 ones. The worst Lanczos-3 tap set seen over all sizes up to
  // 3000 px has sum(|tap|) = 1.58 * 2^22, 78% of that bound; any other takes the int64 passes.
  bool fits_int32 = true;
};

// precompute_coeffs + normalize_coeffs_8bpc. The box edges are floats, as in Pillow.
Coefficients precompute(int in_size, float in0, float in1, int out_size) {
  const double scale = static_cast<double>(in1 - in0) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = kLanczosSupport * filterscale;
  Coefficients c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.start.resize(static_cast<std::size_t>(out_size));
  c.count.resize(static_cast<std::size_t>(out_size));
  c.taps.assign(static_cast<std::size_t>(out_size) * static_cast<std::size_t>(c.ksize), 0);
  std::vector<double> k(static_cast<std::size_t>(c.ksize));
  constexpr std::int64_t kMaxAbsSum = (std::numeric_limits<std::int32_t>::max() - kRoundingHalf) / 255;
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double w = lanczos((x + xmin - center + 0.5) * ss);
      k[static_cast<std::size_t>(x)] = w;
      ww += w;
    }
    std::int32_t* taps = c.taps.data() + static_cast<std::size_t>(xx) * static_cast<std::size_t>(c.ksize);
    std::int64_t abs_sum = 0;
    for (int x = 0; x < xmax; ++x) {
      double w = k[static_cast<std::size_t>(x)];
      if (ww != 0.0) w /= ww;
      taps[x] = w < 0 ? static_cast<std::int32_t>(-0.5 + w * (1 << kPrecisionBits))
                      : static_cast<std::int32_t>(0.5 + w * (1 << kPrecisionBits));
      abs_sum += taps[x] < 0 ? -std::int64_t{taps[x]} : std::int64_t{taps[x]};
    }
    if (abs_sum > kMaxAbsSum) c.fits_int32 = false;
    c.start[static_cast<std::size_t>(xx)] = xmin;
    c.count[static_cast<std::size_t>(xx)] = xmax;
  }
  return c;
}

// precompute() through a small per-thread cache: Deep Zoom and IIIF tiles of one size ask
// for the same few tap sets over and over, and computing one costs a sin() per tap.
std::shared_ptr<const Coefficients> coefficients(int in_size, float in0, float in1, int out_size) {
  struct Entry {
    int in_size = 0;
    float in0 = 0.0f;
    float in1 = 0.0f;
    int out_size = 0;
    std::shared_ptr<const Coefficients> coefficients;
  };
  constexpr std::size_t kEntries = 8;
  thread_local std::array<Entry, kEntries> cache;
  thread_local std::size_t next = 0;
  for (const Entry& e : cache) {
    if (e.coefficients && e.in_size == in_size && e.in0 == in0 && e.in1 == in1 && e.out_size == out_size) {
      return e.coefficients;
    }
  }
  auto c = std::make_shared<const Coefficients>(precompute(in_size, in0, in1, out_size));
  constexpr std::size_t kMaxCachedTaps = 64 * 1024;  // 256 KiB: Deep Zoom/IIIF tiles need ~4k
  if (c->taps.size() <= kMaxCachedTaps) {
    cache[next] = Entry{in_size, in0, in1, out_size, c};
    next = (next + 1) % kEntries;
  }
  return c;
}

// The portable passes: Resample.c's loops, with int64 sums (never slower here than int32 ones,
// and they need no bound on the taps).

// Rows [row_first, row_first + out.height) of `in`, resampled horizontally into `out`.
void horizontal_pass_portable(const RgbImage& in, int row_first, const Coefficients& c, RgbImage& out) {
  for (int y = 0; y < out.height; ++y) {
    const std::uint8_t* src = in.row(y + row_first);
    std::uint8_t* dst = out.row(y);
    for (int xx = 0; xx < out.width; ++xx) {
      const int xmin = c.start[static_cast<std::size_t>(xx)];
      const int n = c.count[static_cast<std::size_t>(xx)];
      const std::int32_t* k = c.taps.data() + static_cast<std::size_t>(xx) * static_cast<std::size_t>(c.ksize);
      std::int64_t s0 = kRoundingHalf;
      std::int64_t s1 = s0;
      std::int64_t s2 = s0;
      const std::uint8_t* p = src + static_cast<std::size_t>(xmin) * 3;
      for (int x = 0; x < n; ++x, p += 3) {
        s0 += p[0] * std::int64_t{k[x]};
        s1 += p[1] * std::int64_t{k[x]};
        s2 += p[2] * std::int64_t{k[x]};
      }
      dst[xx * 3 + 0] = clip8(s0);
      dst[xx * 3 + 1] = clip8(s1);
      dst[xx * 3 + 2] = clip8(s2);
    }
  }
}

// Vertical pass; `row_offset` is subtracted from the taps' start rows.
void vertical_pass_portable(const RgbImage& in, int row_offset, const Coefficients& c, RgbImage& out) {
  const std::size_t stride = in.stride();
  for (int yy = 0; yy < out.height; ++yy) {
    const int ymin = c.start[static_cast<std::size_t>(yy)] - row_offset;
    const int n = c.count[static_cast<std::size_t>(yy)];
    const std::int32_t* k = c.taps.data() + static_cast<std::size_t>(yy) * static_cast<std::size_t>(c.ksize);
    std::uint8_t* dst = out.row(yy);
    for (std::size_t xx = 0; xx < stride; ++xx) {
      std::int64_t s = kRoundingHalf;
      const std::uint8_t* p = in.row(ymin) + xx;
      for (int y = 0; y < n; ++y, p += stride) s += *p * std::int64_t{k[y]};
      dst[xx] = clip8(s);
    }
  }
}

// On x86-64 CPUs with AVX2 (chosen once at run time: the build keeps the default -march), the
// int32 passes and the 2 x 2 box reduction run eight to sixteen lanes at a time. Integer sums
// are exact, so the order in which they add the products does not change the result.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MCVAL_RESAMPLE_AVX2 1

bool has_avx2() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return has;
}

// sums[v] = half + sum_t p[t * step + 8 * v, + 8) * k[t]: kVectors x 8 int32 sums.
template <int kVectors>
[[gnu::target("avx2"), gnu::always_inline]] inline void multiply_add_avx2(const std::uint8_t* p, std::size_t step,
                                                                          int n, const std::int32_t* k,
                                                                          __m256i (&sums)[kVectors]) {
  for (__m256i& s : sums) s = _mm256_set1_epi32(kRoundingHalf);
  for (int t = 0; t < n; ++t, p += step) {
    const __m256i tap = _mm256_set1_epi32(k[t]);
#pragma GCC unroll 4
    for (int v = 0; v < kVectors; ++v) {
      const __m256i pixels = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + 8 * v)));
      sums[v] = _mm256_add_epi32(sums[v], _mm256_mullo_epi32(pixels, tap));
    }
  }
}

// clip8 of 4 x 8 sums, as 32 bytes in order: >> 22 keeps the sign, then the saturating packs
// map below 0 to 0 and 256 and above to 255; the packs work per 128-bit half, which the
// permutation undoes.
[[gnu::target("avx2")]] inline __m256i clip_pack_avx2(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
  const __m256i words01 =
      _mm256_packus_epi32(_mm256_srai_epi32(a0, kPrecisionBits), _mm256_srai_epi32(a1, kPrecisionBits));
  const __m256i words23 =
      _mm256_packus_epi32(_mm256_srai_epi32(a2, kPrecisionBits), _mm256_srai_epi32(a3, kPrecisionBits));
  const __m256i bytes = _mm256_packus_epi16(words01, words23);
  return _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// The vertical pass, 32 bytes of a row at a time.
[[gnu::target("avx2")]] void vertical_pass_avx2(const RgbImage& in, int row_offset, const Coefficients& c,
                                                RgbImage& out) {
  const std::size_t stride = in.stride();
  for (int yy = 0; yy < out.height; ++yy) {
    const std::uint8_t* src = in.row(c.start[static_cast<std::size_t>(yy)] - row_offset);
    const int n = c.count[static_cast<std::size_t>(yy)];
    const std::int32_t* k = c.taps.data() + static_cast<std::size_t>(yy) * static_cast<std::size_t>(c.ksize);
    std::uint8_t* dst = out.row(yy);
    std::size_t i = 0;
    for (; i + 32 <= stride; i += 32) {
      __m256i sums[4];
      multiply_add_avx2(src + i, stride, n, k, sums);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), clip_pack_avx2(sums[0], sums[1], sums[2], sums[3]));
    }
    for (; i < stride; ++i) {
      std::int32_t s = kRoundingHalf;
      const std::uint8_t* p = src + i;
      for (int t = 0; t < n; ++t, p += stride) s += *p * k[t];
      dst[i] = clip8(s);
    }
  }
}

// The horizontal pass runs on blocks of eight rows interleaved byte by byte
// (block[i * 8 + r] = row r's byte i): one 8-byte load then holds one channel of one pixel in
// the eight rows, and a pixel's three channels are 24 contiguous bytes.
constexpr int kBlockRows = 8;
constexpr std::size_t kBlockPixelBytes = 3 * kBlockRows;

// One step of an 8 x 16 byte transpose: the vectors whose indices differ only in `bit` are
// merged byte by byte, so that a byte's position bits move up by one, the vector index's `bit`
// becomes the lowest position bit, and the highest position bit becomes the index's `bit`.
[[gnu::always_inline]] inline void unpack_step(__m128i (&v)[8], int bit) {
#pragma GCC unroll 4
  for (int m = 0; m < 4; ++m) {
    const int j = (m >> bit << (bit + 1)) | (m & ((1 << bit) - 1));  // the four with `bit` clear
    const int j1 = j | (1 << bit);
    const __m128i lo = _mm_unpacklo_epi8(v[j], v[j1]);
    v[j1] = _mm_unpackhi_epi8(v[j], v[j1]);
    v[j] = lo;
  }
}

// block[i * 8 + r] = rows[r][i] for i < len.
void interleave_rows(const std::uint8_t* const (&rows)[kBlockRows], std::size_t len, std::uint8_t* block) {
  std::size_t i = 0;
  // v[r] holds row r's bytes i..i+15 (position bits i3 i2 i1 i0); after the steps on bits 2, 1
  // and 0, v[j] holds bytes i+2j and i+2j+1 of the eight rows: block[(i + 2j) * 8, +16).
  for (; i + 16 <= len; i += 16) {
    __m128i v[8];
    for (int r = 0; r < 8; ++r) v[r] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[r] + i));
    unpack_step(v, 2);
    unpack_step(v, 1);
    unpack_step(v, 0);
    for (int j = 0; j < 8; ++j) _mm_storeu_si128(reinterpret_cast<__m128i*>(block + i * 8 + j * 16), v[j]);
  }
  for (; i < len; ++i) {
    for (int r = 0; r < kBlockRows; ++r) block[i * 8 + static_cast<std::size_t>(r)] = rows[r][i];
  }
}

// rows[r][i] = block[i * 8 + r] for i < len and r < row_count: interleave_rows' inverse.
void deinterleave_rows(const std::uint8_t* block, std::size_t len, int row_count,
                       std::uint8_t* const (&rows)[kBlockRows]) {
  std::size_t i = 0;
  // v[j] holds bytes i+2j and i+2j+1 of the eight rows (position bits h r2 r1 r0); the steps on
  // bits 2, 1, 0 and 2 again leave row r's bytes i..i+15 in v[(r & 1) << 2 | r >> 1].
  for (; i + 16 <= len; i += 16) {
    __m128i v[8];
    for (int j = 0; j < 8; ++j) v[j] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + i * 8 + j * 16));
    unpack_step(v, 2);
    unpack_step(v, 1);
    unpack_step(v, 0);
    unpack_step(v, 2);
    for (int r = 0; r < row_count; ++r) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(rows[r] + i), v[(r & 1) << 2 | r >> 1]);
    }
  }
  for (; i < len; ++i) {
    for (int r = 0; r < row_count; ++r) rows[r][i] = block[i * 8 + static_cast<std::size_t>(r)];
  }
}

// The horizontal pass over one interleaved block: out_block's pixel xx (24 bytes) from the
// block's pixels [start, start + count).
[[gnu::target("avx2")]] void horizontal_block_avx2(const std::uint8_t* block, const Coefficients& c, int out_width,
                                                   std::uint8_t* out_block) {
  for (int xx = 0; xx < out_width; ++xx) {
    const std::int32_t* k = c.taps.data() + static_cast<std::size_t>(xx) * static_cast<std::size_t>(c.ksize);
    const int n = c.count[static_cast<std::size_t>(xx)];
    const std::uint8_t* p = block + static_cast<std::size_t>(c.start[static_cast<std::size_t>(xx)]) * kBlockPixelBytes;
    __m256i sums[3];
    multiply_add_avx2(p, kBlockPixelBytes, n, k, sums);
    const __m256i bytes = clip_pack_avx2(sums[0], sums[1], sums[2], _mm256_setzero_si256());
    std::uint8_t* dst = out_block + static_cast<std::size_t>(xx) * kBlockPixelBytes;
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm256_castsi256_si128(bytes));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst + 16), _mm256_extracti128_si256(bytes, 1));
  }
}

void horizontal_pass_avx2(const RgbImage& in, int row_first, const Coefficients& c, RgbImage& out) {
  std::vector<std::uint8_t> block(in.stride() * kBlockRows);
  std::vector<std::uint8_t> out_block(out.stride() * kBlockRows);
  for (int y0 = 0; y0 < out.height; y0 += kBlockRows) {
    const int row_count = std::min(kBlockRows, out.height - y0);
    const std::uint8_t* src[kBlockRows];
    std::uint8_t* dst[kBlockRows];
    for (int r = 0; r < kBlockRows; ++r) {
      // A last, partial block repeats its last row; only its real rows are written.
      src[r] = in.row(row_first + y0 + std::min(r, row_count - 1));
      dst[r] = out.row(y0 + std::min(r, row_count - 1));
    }
    interleave_rows(src, in.stride(), block.data());
    horizontal_block_avx2(block.data(), c, out.width, out_block.data());
    deinterleave_rows(out_block.data(), out.stride(), row_count, dst);
  }
}
#endif

void resample_horizontal(const RgbImage& in, int row_first, const Coefficients& c, RgbImage& out) {
#if defined(MCVAL_RESAMPLE_AVX2)
  if (c.fits_int32 && has_avx2()) {
    horizontal_pass_avx2(in, row_first, c, out);
    return;
  }
#endif
  horizontal_pass_portable(in, row_first, c, out);
}

void resample_vertical(const RgbImage& in, int row_offset, const Coefficients& c, RgbImage& out) {
#if defined(MCVAL_RESAMPLE_AVX2)
  if (c.fits_int32 && has_avx2()) {
    vertical_pass_avx2(in, row_offset, c, out);
    return;
  }
#endif
  vertical_pass_portable(in, row_offset, c, out);
}

// ImagingResampleInner: horizontal pass over the rows the vertical pass needs, then vertical.
RgbImage resample(const RgbImage& in, int width, int height, const float (&box)[4]) {
  const bool need_horizontal = width != in.width || box[0] != 0.0f || box[2] != static_cast<float>(width);
  const bool need_vertical = height != in.height || box[1] != 0.0f || box[3] != static_cast<float>(height);
  const auto horiz = coefficients(in.width, box[0], box[2], width);
  const auto vert = coefficients(in.height, box[1], box[3], height);
  const int row_first = vert->start.front();
  const int row_last = vert->start.back() + vert->count.back();

  RgbImage current;
  const RgbImage* source = &in;
  int row_offset = 0;
  if (need_horizontal) {
    current = RgbImage::uninitialized(width, row_last - row_first);
    resample_horizontal(in, row_first, *horiz, current);
    source = &current;
    row_offset = row_first;
  }
  if (need_vertical) {
    RgbImage out = RgbImage::uninitialized(source->width, height);
    resample_vertical(*source, row_offset, *vert, out);
    return out;
  }
  if (need_horizontal) return current;
  return in;
}

bool valid(const RgbImage& image, int width, int height) {
  return image.width > 0 && image.height > 0 && width > 0 && height > 0 &&
         image.pixels.size() == static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.height) * 3;
}

// Reduce.c's division_UINT32: a fixed-point reciprocal computed in float.
std::uint32_t reciprocal(std::uint32_t divider) {
  const float max_int = static_cast<float>((1 << 30) * 4.0);
  return static_cast<std::uint32_t>(max_int / static_cast<float>(std::uint32_t{256} * divider));
}

#if defined(MCVAL_RESAMPLE_AVX2)
// One row of reduce_2x2_whole_blocks, four output pixels per step: two overlapping 16-byte
// loads per input row (bytes 0..15 and 12..27) put two output pixels' 12 input bytes in each
// 128-bit half; the shuffle lines up the pairs 3 bytes apart (same channel, neighbouring
// pixels) and maddubs adds each pair. Returns how many pixels it wrote; the caller finishes.
[[gnu::target("avx2")]] int reduce_2x2_row_avx2(const std::uint8_t* row0, const std::uint8_t* row1,
                                                std::size_t in_stride, int pixels, std::uint8_t* dst) {
  const __m256i pairs = _mm256_setr_epi8(0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11, -1, -1, -1, -1,  //
                                         0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11, -1, -1, -1, -1);
  const __m256i ones = _mm256_set1_epi8(1);
  const __m256i two = _mm256_set1_epi16(2);
  int x = 0;
  // A step reads input bytes [6x, 6x + 28) and writes output bytes [3x, 3x + 14), the last two
  // of which the next step or the caller's loop overwrites.
  for (; static_cast<std::size_t>(x) * 6 + 28 <= in_stride && x * 3 + 14 <= pixels * 3; x += 4) {
    const std::uint8_t* p0 = row0 + static_cast<std::size_t>(x) * 6;
    const std::uint8_t* p1 = row1 + static_cast<std::size_t>(x) * 6;
    const __m256i a =
        _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(p0 + 12), reinterpret_cast<const __m128i*>(p0));
    const __m256i b =
        _mm256_loadu2_m128i(reinterpret_cast<const __m128i*>(p1 + 12), reinterpret_cast<const __m128i*>(p1));
    const __m256i sum = _mm256_add_epi16(_mm256_maddubs_epi16(_mm256_shuffle_epi8(a, pairs), ones),
                                         _mm256_maddubs_epi16(_mm256_shuffle_epi8(b, pairs), ones));
    const __m256i bytes = _mm256_packus_epi16(_mm256_srli_epi16(_mm256_add_epi16(sum, two), 2), _mm256_setzero_si256());
    std::uint8_t* d = dst + static_cast<std::size_t>(x) * 3;
    _mm_storel_epi64(reinterpret_cast<__m128i*>(d), _mm256_castsi256_si128(bytes));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(d + 6), _mm256_extracti128_si256(bytes, 1));
  }
  return x;
}
#endif

// For 2 x 2 blocks the reciprocal is exactly 2^22 and the rounding term 2, so Reduce.c's
// ((sum + 2) * 2^22) >> 24 (no overflow: the sum is at most 1022) is (sum + 2) >> 2. This
// writes the output pixels whose block is whole, x < image.width / 2 and y < image.height / 2.
void reduce_2x2_whole_blocks(const RgbImage& image, RgbImage& out) {
  const int pixels = image.width / 2;
  for (int y = 0; y < image.height / 2; ++y) {
    const std::uint8_t* row0 = image.row(2 * y);
    const std::uint8_t* row1 = image.row(2 * y + 1);
    std::uint8_t* dst = out.row(y);
    int x = 0;
#if defined(MCVAL_RESAMPLE_AVX2)
    if (has_avx2()) x = reduce_2x2_row_avx2(row0, row1, image.stride(), pixels, dst);
#endif
    for (std::size_t i = static_cast<std::size_t>(x) * 3; i < static_cast<std::size_t>(pixels) * 3; ++i) {
      const std::size_t j = i + i / 3 * 3;  // 6x + c for i = 3x + c
      dst[i] = static_cast<std::uint8_t>((row0[j] + row0[j + 3] + row1[j] + row1[j + 3] + 2) >> 2);
    }
  }
}

}  // namespace

RgbImage resize_lanczos(const RgbImage& image, int width, int height) {
  if (!valid(image, width, height)) return RgbImage();
  if (image.width == width && image.height == height) return image;
  const float box[4] = {0.0f, 0.0f, static_cast<float>(image.width), static_cast<float>(image.height)};
  return resample(image, width, height, box);
}

RgbImage reduce_box(const RgbImage& image, int factor) { return reduce_box(image, factor, factor); }

RgbImage reduce_box(const RgbImage& image, int factor_x, int factor_y) {
  if (!valid(image, 1, 1) || factor_x < 1 || factor_y < 1) return RgbImage();
  if (factor_x == 1 && factor_y == 1) return image;
  RgbImage out = RgbImage::uninitialized((image.width + factor_x - 1) / factor_x, (image.height + factor_y - 1) / factor_y);
  // Whole blocks: [0, whole_x) x [0, whole_y); the partial ones at the right and bottom edge
  // average what exists.
  const int whole_x = image.width / factor_x;
  const int whole_y = image.height / factor_y;
  const bool fast_2x2 = factor_x == 2 && factor_y == 2;
  if (fast_2x2) reduce_2x2_whole_blocks(image, out);
  const std::uint32_t whole_multiplier = reciprocal(static_cast<std::uint32_t>(factor_x * factor_y));
  for (int y = 0; y < out.height; ++y) {
    const int y0 = y * factor_y;
    const int y1 = std::min(image.height, y0 + factor_y);
    std::uint8_t* dst = out.row(y);
    for (int x = fast_2x2 && y < whole_y ? whole_x : 0; x < out.width; ++x) {
      const int x0 = x * factor_x;
      const int x1 = std::min(image.width, x0 + factor_x);
      const auto count = static_cast<std::uint32_t>((x1 - x0) * (y1 - y0));
      const std::uint32_t multiplier = x < whole_x && y < whole_y ? whole_multiplier : reciprocal(count);
      const std::uint32_t amend = count / 2;
      std::uint32_t s[3] = {amend, amend, amend};
      for (int yy = y0; yy < y1; ++yy) {
        const std::uint8_t* p = image.row(yy) + static_cast<std::size_t>(x0) * 3;
        for (int xx = x0; xx < x1; ++xx, p += 3) {
          s[0] += p[0];
          s[1] += p[1];
          s[2] += p[2];
        }
      }
      for (int i = 0; i < 3; ++i) dst[x * 3 + i] = static_cast<std::uint8_t>((s[i] * multiplier) >> 24);
    }
  }
  return out;
}

RgbImage resize_tile(const RgbImage& image, int width, int height) {
  if (!valid(image, width, height)) return RgbImage();
  if (image.width == width && image.height == height) return image;
  // Image.resize(size, LANCZOS, reducing_gap=2.0): factor = int(in / out / 2.0) or 1.
  constexpr double kReducingGap = 2.0;
  const int factor_x = std::max(1, static_cast<int>(static_cast<double>(image.width) / width / kReducingGap));
  const int factor_y = std::max(1, static_cast<int>(static_cast<double>(image.height) / height / kReducingGap));
  if (factor_x == 1 && factor_y == 1) return resize_lanczos(image, width, height);
  const RgbImage reduced = reduce_box(image, factor_x, factor_y);
  const float box[4] = {0.0f, 0.0f, static_cast<float>(static_cast<double>(image.width) / factor_x),
                        static_cast<float>(static_cast<double>(image.height) / factor_y)};
  if (reduced.width == width && reduced.height == height && box[2] == static_cast<float>(width) &&
      box[3] == static_cast<float>(height)) {
    return reduced;
  }
  return resample(reduced, width, height, box);
}

}  // namespace mcval::slide
