#include "mcval/http/metrics.h"

#include <gtest/gtest.h>

namespace mcval::http {
namespace {

TEST(Metrics, RendersCountersHistogramsAndCollectors) {
  Metrics m;
  m.observe_request("dzi.tile", 200, 0.003);
  m.observe_request("dzi.tile", 200, 0.2);
  m.observe_request("dzi.tile", 404, 0.0001);
  m.add_collector([] { return std::vector<Metrics::Sample>{{"mcval_open_slides", "Open.", "gauge", 3}}; });
  const std::string text = m.render();
  EXPECT_NE(text.find("mcval_http_requests_total{route=\"dzi.tile\",status=\"200\"} 2"), std::string::npos) << text;
  EXPECT_NE(text.find("mcval_http_requests_total{route=\"dzi.tile\",status=\"404\"} 1"), std::string::npos);
  EXPECT_NE(text.find("mcval_http_request_duration_seconds_bucket{route=\"dzi.tile\",le=\"0.005\"} 2"), std::string::npos);
  EXPECT_NE(text.find("mcval_http_request_duration_seconds_bucket{route=\"dzi.tile\",le=\"+Inf\"} 3"), std::string::npos);
  EXPECT_NE(text.find("mcval_open_slides 3"), std::string::npos);
}

}  // namespace
}  // namespace mcval::http
