#include "mcval/tiles/iiif.h"

#include <string>

#include <gtest/gtest.h>

#include "mcval/common/strings.h"

namespace mcval::tiles {
namespace {

IiifRequest parse_ok(const char* region, const char* size, const char* rotation, const char* qf) {
  auto r = parse_iiif_request(region, size, rotation, qf);
  EXPECT_TRUE(r.ok()) << region << "/" << size << "/" << rotation << "/" << qf << ": "
                      << (r.ok() ? "" : r.error().to_string());
  return r.ok() ? *r : IiifRequest{};
}

ErrorCode parse_error(const char* region, const char* size, const char* rotation, const char* qf) {
  auto r = parse_iiif_request(region, size, rotation, qf);
  EXPECT_FALSE(r.ok()) << region << "/" << size << "/" << rotation << "/" << qf;
  return r.ok() ? ErrorCode::internal : r.error().code;
}

TEST(IiifParse, AcceptsEveryLevel2Form) {
  EXPECT_EQ(parse_ok("full", "max", "0", "default.jpg").canonical(), "full/max/0/default.jpg");
  EXPECT_EQ(parse_ok("square", "256,", "90", "color.png").canonical(), "square/256,/90/color.png");
  EXPECT_EQ(parse_ok("10,20,300,400", ",128", "!180", "gray.jpg").canonical(), "10,20,300,400/,128/!180/gray.jpg");
  EXPECT_EQ(parse_ok("pct:10,20.5,30,40", "pct:50", "270", "bitonal.png").canonical(),
            "pct:10,20.5,30,40/pct:50/270/bitonal.png");
  EXPECT_EQ(parse_ok("full", "!200,100", "0", "default.jpg").size_kind, IiifRequest::SizeKind::confined);
  EXPECT_EQ(parse_ok("full", "200,100", "0", "default.jpg").size_kind, IiifRequest::SizeKind::exact);
  EXPECT_TRUE(parse_ok("full", "^max", "0", "default.jpg").upscale);
  EXPECT_TRUE(parse_ok("full", "^!300,300", "360", "default.jpg").upscale);
}

TEST(IiifParse, MalformedIs400AndUnsupportedIs501) {
  EXPECT_EQ(parse_error("fullx", "max", "0", "default.jpg"), ErrorCode::iiif_malformed);
  EXPECT_EQ(parse_error("1,2,3", "max", "0", "default.jpg"), ErrorCode::iiif_malformed);
  EXPECT_EQ(parse_error("-1,2,3,4", "max", "0", "default.jpg"), ErrorCode::iiif_malformed);
  EXPECT_EQ(parse_error("pct:a,2,3,4", "max", "0", "default.jpg"), ErrorCode::iiif_malformed);
  EXPECT_EQ(parse_error("full", "full", "0", "default.jpg"), ErrorCode::iiif_malformed);
  EXPECT_EQ(parse_error("full", ",", "0", "default.jpg"), ErrorCode::iiif_malformed);
  EXPECT_EQ(parse_error("full", "!100,", "0", "default.jpg"), ErrorCode::iiif_malformed);
  EXPECT_EQ(parse_error("full", "max", "361", "default.jpg"), ErrorCode::iiif_malformed);
  EXPECT_EQ(parse_error("full", "max", "-90", "default.jpg"), ErrorCode::iiif_malformed);
  EXPECT_EQ(parse_error("full", "max", "0", "native.jpg"), ErrorCode::iiif_malformed);
  EXPECT_EQ(parse_error("full", "max", "0", "default"), ErrorCode::iiif_malformed);
  EXPECT_EQ(parse_error("full", "max", "0", "default.bmp"), ErrorCode::iiif_malformed);
  EXPECT_EQ(parse_error("full", "max", "45", "default.jpg"), ErrorCode::unsupported);
  EXPECT_EQ(parse_error("full", "max", "0", "default.webp"), ErrorCode::unsupported);
  EXPECT_EQ(parse_error("full", "max", "0", "default.tif"), ErrorCode::unsupported);
}

IiifPlan resolve_ok(const char* region, const char* size, std::int64_t w, std::int64_t h, IiifLimits limits = {}) {
  auto plan = resolve_iiif_request(parse_ok(region, size, "0", "default.jpg"), w, h, limits);
  EXPECT_TRUE(plan.ok()) << region << "/" << size << ": " << (plan.ok() ? "" : plan.error().to_string());
  return plan.ok() ? *plan : IiifPlan{};
}

TEST(IiifResolve, RegionsAndSizesFollowTheSpecification) {
  auto p = resolve_ok("full", "max", 2220, 2967);
  EXPECT_EQ(p.region_w, 2220);
  EXPECT_EQ(p.out_h, 2967);
  p = resolve_ok("square", "max", 2220, 2967);
  EXPECT_EQ(p.region_x, 0);
  EXPECT_EQ(p.region_y, (2967 - 2220) / 2);
  EXPECT_EQ(p.region_w, 2220);
  EXPECT_EQ(p.region_h, 2220);
  // A region running past the edge is clipped.
  p = resolve_ok("2000,2900,1000,1000", "max", 2220, 2967);
  EXPECT_EQ(p.region_w, 220);
  EXPECT_EQ(p.region_h, 67);
  p = resolve_ok("pct:50,50,50,50", "pct:25", 2000, 1000);
  EXPECT_EQ(p.region_x, 1000);
  EXPECT_EQ(p.region_w, 1000);
  EXPECT_EQ(p.out_w, 250);
  EXPECT_EQ(p.out_h, 125);
  p = resolve_ok("full", "500,", 2000, 1000);
  EXPECT_EQ(p.out_h, 250);
  p = resolve_ok("full", ",100", 2000, 1000);
  EXPECT_EQ(p.out_w, 200);
  p = resolve_ok("full", "!300,300", 2000, 1000);
  EXPECT_EQ(p.out_w, 300);
  EXPECT_EQ(p.out_h, 150);
  p = resolve_ok("full", "^4000,", 2000, 1000);
  EXPECT_EQ(p.out_w, 4000);
  // "max" shrinks to the server's area limit instead of failing.
  p = resolve_ok("full", "max", 10000, 10000, IiifLimits{1000000, 0, 0});
  EXPECT_LE(p.out_w * p.out_h, 1000000);
  EXPECT_GE(p.out_w, 999);
}

TEST(IiifResolve, RejectsOutOfBoundsZeroAndUnaskedUpscaling) {
  auto resolve_code = [](const char* region, const char* size) {
    auto plan = resolve_iiif_request(parse_ok(region, size, "0", "default.jpg"), 1000, 1000, IiifLimits{});
    EXPECT_FALSE(plan.ok()) << region << "/" << size;
    return plan.ok() ? ErrorCode::internal : plan.error().code;
  };
  EXPECT_EQ(resolve_code("1000,0,10,10", "max"), ErrorCode::region_out_of_bounds);
  EXPECT_EQ(resolve_code("0,0,0,10", "max"), ErrorCode::region_out_of_bounds);
  EXPECT_EQ(resolve_code("pct:100,0,10,10", "max"), ErrorCode::region_out_of_bounds);
  EXPECT_EQ(resolve_code("full", "0,"), ErrorCode::invalid_argument);
  EXPECT_EQ(resolve_code("full", "2000,"), ErrorCode::invalid_argument);
  EXPECT_EQ(resolve_code("full", "pct:200"), ErrorCode::invalid_argument);
  EXPECT_EQ(resolve_code("full", "^100000,100000"), ErrorCode::invalid_argument);
  // Found by libFuzzer: percentages far beyond any int64 (clipped, or refused, never overflowed).
  EXPECT_EQ(resolve_code("full", "^pct:99999999999999999999999999999"), ErrorCode::invalid_argument);
}

// Found by libFuzzer: a 32-digit percentage rounds to 1e32, whose canonical form has 33 digits
// and would not parse back. Percentages above 1e30 are refused; the largest taken round-trips.
TEST(IiifParse, PercentagesAbove1e30AreRefusedAndTheRestRoundTrip) {
  EXPECT_EQ(parse_error("pct:10,99999999999999999999999999992030,5,00", "pct:0", "0", "gray.png"),
            ErrorCode::iiif_malformed);
  EXPECT_EQ(parse_error("full", "pct:2000000000000000000000000000000", "0", "default.jpg"), ErrorCode::iiif_malformed);
  const auto largest = parse_ok("pct:0,0,1000000000000000000000000000000,0.000000000000000000000000000001", "max", "0",
                                "default.jpg")
                           .canonical();
  const auto parts = split(largest, '/');
  ASSERT_EQ(parts.size(), 4u);
  const std::string region(parts[0]), size(parts[1]), rotation(parts[2]), quality_format(parts[3]);
  EXPECT_EQ(parse_ok(region.c_str(), size.c_str(), rotation.c_str(), quality_format.c_str()).canonical(), largest);
}

TEST(IiifResolve, ClipsRegionsOfAnyPercentageToTheImage) {
  auto p = resolve_ok("pct:5,2,4333333333333333333333333330,0.5", "max", 1000, 1000);
  EXPECT_EQ(p.region_x, 50);
  EXPECT_EQ(p.region_w, 950);
  EXPECT_EQ(p.region_h, 5);
  p = resolve_ok("pct:0,0,99999999999999999999999999999,99999999999999999999999999999", "max", 2220, 2967);
  EXPECT_EQ(p.region_w, 2220);
  EXPECT_EQ(p.region_h, 2967);
  // Unlimited: a percentage size far beyond any image is still refused, not cast.
  auto huge = resolve_iiif_request(parse_ok("full", "^pct:99999999999999999999999999999", "0", "default.jpg"), 1000,
                                   1000, IiifLimits{0, 0, 0});
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.error().code, ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace mcval::tiles
