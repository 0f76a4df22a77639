#include "mcval/slide/tile_cache.h"

#include <random>
#include <thread>

#include <gtest/gtest.h>

namespace mcval::slide {
namespace {

std::shared_ptr<const CachedTile> tile_of(std::size_t bytes, char fill = 'x') {
  return std::make_shared<const CachedTile>(CachedTile{std::string(bytes, fill), "image/jpeg", "\"e\""});
}

// Entry size as the cache counts it: key + payload + content type + ETag.
std::uint64_t entry_size(const std::string& key, std::size_t bytes) { return key.size() + bytes + 10 + 3; }

TEST(TileCache, CountsHitsAndMisses) {
  TileCache cache(1 << 20, 4);
  EXPECT_EQ(cache.get("s1/10/0_0"), nullptr);
  cache.put("s1/10/0_0", tile_of(100, 'a'));
  const auto hit = cache.get("s1/10/0_0");
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->bytes, std::string(100, 'a'));
  EXPECT_EQ(hit->content_type, "image/jpeg");
  const auto s = cache.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.bytes, entry_size("s1/10/0_0", 100));
  EXPECT_EQ(cache.budget_bytes(), 1u << 20);
}

TEST(TileCache, EvictsLeastRecentlyUsedWithinBudget) {
  // One shard so the LRU order is global; room for three 100-byte entries.
  const std::uint64_t one = entry_size("k0", 100);
  TileCache cache(3 * one, 1);
  cache.put("k0", tile_of(100));
  cache.put("k1", tile_of(100));
  cache.put("k2", tile_of(100));
  ASSERT_NE(cache.get("k0"), nullptr);  // k1 is now the least recently used
  cache.put("k3", tile_of(100));
  EXPECT_EQ(cache.get("k1"), nullptr);
  EXPECT_NE(cache.get("k0"), nullptr);
  EXPECT_NE(cache.get("k2"), nullptr);
  EXPECT_NE(cache.get("k3"), nullptr);
  auto s = cache.stats();
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.entries, 3u);
  EXPECT_EQ(s.bytes, 3 * one);

  // A tile held by a caller survives its eviction.
  const auto held = cache.get("k0");
  cache.put("big", tile_of(2 * 100 + 10));
  EXPECT_EQ(held->bytes.size(), 100u);
  s = cache.stats();
  EXPECT_LE(s.bytes, cache.budget_bytes());
}

TEST(TileCache, ReplacingAKeyUpdatesTheByteCount) {
  TileCache cache(10'000, 1);
  cache.put("k", tile_of(100));
  cache.put("k", tile_of(300, 'z'));
  const auto s = cache.stats();
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.bytes, entry_size("k", 300));
  EXPECT_EQ(cache.get("k")->bytes[0], 'z');
}

TEST(TileCache, EntriesLargerThanAShardAreNotStored) {
  TileCache cache(1000, 2);  // 500 bytes per shard
  cache.put("k", tile_of(100));
  cache.put("k", tile_of(600));  // too big: not stored, and the stale entry is gone too
  EXPECT_EQ(cache.get("k"), nullptr);
  EXPECT_EQ(cache.stats().entries, 0u);
  EXPECT_EQ(cache.stats().bytes, 0u);
}

TEST(TileCache, ZeroBudgetDisablesCaching) {
  TileCache cache(0);
  cache.put("k", tile_of(10));
  EXPECT_EQ(cache.get("k"), nullptr);
  EXPECT_EQ(cache.stats().entries, 0u);
  EXPECT_EQ(cache.stats().misses, 1u);
}

TEST(TileCache, ErasePrefixDropsOnlyMatchingKeys) {
  TileCache cache(1 << 20, 8);
  for (int i = 0; i < 20; ++i) {
    cache.put("slideA/12/" + std::to_string(i), tile_of(10));
    cache.put("slideB/12/" + std::to_string(i), tile_of(10));
  }
  cache.put("slideA", tile_of(10));
  cache.put("slide", tile_of(10));
  cache.erase_prefix("slideA/");
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(cache.get("slideA/12/" + std::to_string(i)), nullptr);
    EXPECT_NE(cache.get("slideB/12/" + std::to_string(i)), nullptr);
  }
  EXPECT_NE(cache.get("slideA"), nullptr);
  EXPECT_NE(cache.get("slide"), nullptr);
  const auto s = cache.stats();
  EXPECT_EQ(s.entries, 22u);
  EXPECT_EQ(s.bytes, 20 * entry_size("slideB/12/00", 10) - 10 + entry_size("slideA", 10) + entry_size("slide", 10));
}

TEST(TileCache, StaysConsistentUnderConcurrentUse) {
  TileCache cache(64 * 1024, 8);
  constexpr int kThreads = 8;
  constexpr int kOps = 5000;
  std::vector<std::thread> threads;
  std::atomic<std::uint64_t> gets{0};
  std::atomic<int> corrupt{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<std::uint32_t>(1234 + t));
      std::uniform_int_distribution<int> key_dist(0, 299);
      std::uniform_int_distribution<int> op_dist(0, 9);
      for (int i = 0; i < kOps; ++i) {
        const int k = key_dist(rng);
        const std::string key = "s" + std::to_string(k % 3) + "/" + std::to_string(k);
        const int op = op_dist(rng);
        if (op < 6) {
          ++gets;
          const auto tile = cache.get(key);
          if (tile && tile->bytes != std::string(static_cast<std::size_t>(100 + k), static_cast<char>('a' + k % 26))) {
            ++corrupt;
          }
        } else if (op < 9) {
          cache.put(key, tile_of(static_cast<std::size_t>(100 + k), static_cast<char>('a' + k % 26)));
        } else {
          cache.erase_prefix("s" + std::to_string(k % 3) + "/");
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const auto s = cache.stats();
  EXPECT_EQ(corrupt, 0);
  EXPECT_EQ(s.hits + s.misses, gets.load());
  EXPECT_LE(s.bytes, cache.budget_bytes());
  EXPECT_GT(s.hits, 0u);
}

}  // namespace
}  // namespace mcval::slide
