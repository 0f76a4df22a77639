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

TEST(Metrics, LabelledCountersAreSummedAndEscaped) {
  Metrics m;
  m.increment("mcval_auth_decisions_total", "Decisions.", {{"decision", "authenticated"}});
  m.increment("mcval_auth_decisions_total", "ignored: the first help stays", {{"decision", "authenticated"}});
  m.increment("mcval_auth_decisions_total", "Decisions.", {{"decision", "token_rejected"}}, 3);
  m.increment("mcval_odd_total", "Odd.", {{"a", "q\"b\\c\nd"}, {"z", ""}});
  m.increment("mcval_plain_total", "Plain.", {});
  const std::string text = m.render();
  EXPECT_NE(text.find("# HELP mcval_auth_decisions_total Decisions.\n# TYPE mcval_auth_decisions_total counter\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("mcval_auth_decisions_total{decision=\"authenticated\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("mcval_auth_decisions_total{decision=\"token_rejected\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("mcval_odd_total{a=\"q\\\"b\\\\c\\nd\",z=\"\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("mcval_plain_total 1\n"), std::string::npos);
  EXPECT_EQ(text.find("ignored"), std::string::npos);
}

}  // namespace
}  // namespace mcval::http
