#include "mcval/common/config.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace mcval {
namespace {

TEST(Config, DefaultsAreValidAndBindToLoopback) {
  const Config c = Config::defaults();
  EXPECT_TRUE(validate(c).ok());
  EXPECT_EQ(c.listen, "127.0.0.1:8080");
  EXPECT_FALSE(c.associated_images);
  EXPECT_GT(c.tile_cache_bytes, 0);
}

TEST(Config, SettingNamesDeriveFlagAndEnvironment) {
  for (const auto& s : all_settings()) {
    if (s.name == "tile_cache_bytes") {
      EXPECT_EQ(s.flag(), "--tile-cache-bytes");
      EXPECT_EQ(s.env(), "MCVAL_TILE_CACHE_BYTES");
      return;
    }
  }
  FAIL() << "tile_cache_bytes not declared";
}

TEST(Config, ConfigFileSetsValuesAndNamesBadLines) {
  const auto dir = std::filesystem::temp_directory_path() / ("mcval-config-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream f(dir / "good.conf");
    f << "# comment\nslides = \"/srv/slides\"\nmax-open-slides = 7\nassociated_images = yes\n";
  }
  Config c = Config::defaults();
  ASSERT_TRUE(load_config_file(c, dir / "good.conf").ok());
  EXPECT_EQ(c.slides, "/srv/slides");
  EXPECT_EQ(c.max_open_slides, 7);
  EXPECT_TRUE(c.associated_images);

  {
    std::ofstream f(dir / "bad.conf");
    f << "slides = /a\nmax_open_slides = seven\n";
  }
  auto status = load_config_file(c, dir / "bad.conf");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().detail.find("bad.conf:2"), std::string::npos) << status.error().detail;

  {
    std::ofstream f(dir / "unknown.conf");
    f << "colour = blue\n";
  }
  EXPECT_FALSE(load_config_file(c, dir / "unknown.conf").ok());
  std::filesystem::remove_all(dir);
}

TEST(Config, ListenAddressParsing) {
  auto a = parse_listen_address("127.0.0.1:0");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, 0);
  auto v6 = parse_listen_address("[::1]:8080");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->first, "::1");
  EXPECT_FALSE(parse_listen_address("localhost").ok());
  EXPECT_FALSE(parse_listen_address("127.0.0.1:99999").ok());
  EXPECT_FALSE(parse_listen_address("127.0.0.1:80a").ok());
}

TEST(Config, ValidateRejectsOutOfRange) {
  Config c = Config::defaults();
  c.jpeg_quality = 0;
  EXPECT_FALSE(validate(c).ok());
  c = Config::defaults();
  c.log_format = "xml";
  EXPECT_FALSE(validate(c).ok());
  c = Config::defaults();
  c.decoded_tile_cache_bytes = -1;
  const auto refused = validate(c);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().detail.find("decoded_tile_cache_bytes"), std::string::npos);
  c.decoded_tile_cache_bytes = 0;  // none kept
  EXPECT_TRUE(validate(c).ok());
}

}  // namespace
}  // namespace mcval
