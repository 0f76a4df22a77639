#include "mcval/slide/tile_cache.h"

#include <functional>

namespace mcval::slide {

TileCache::TileCache(std::uint64_t budget_bytes, std::size_t shards)
    : budget_bytes_(budget_bytes), shard_budget_(0) {
  const std::size_t count = shards < 1 ? 1 : shards;
  shard_budget_ = budget_bytes_ / count;
  shards_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) shards_.push_back(std::make_unique<Shard>());
}

TileCache::Shard& TileCache::shard_for(const std::string& key) {
  return *shards_[std::hash<std::string>{}(key) % shards_.size()];
}

std::uint64_t TileCache::entry_bytes(const std::string& key, const CachedTile& tile) {
  return key.size() + tile.bytes.size() + tile.content_type.size() + tile.etag.size() + tile.pixels.pixels.size();
}

std::shared_ptr<const CachedTile> TileCache::get(const std::string& key) {
  if (budget_bytes_ == 0) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  Shard& shard = shard_for(key);
  std::lock_guard lock(shard.mutex);
  const auto it = shard.index.find(key);
  if (it == shard.index.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  hits_.fetch_add(1, std::memory_order_relaxed);
  return it->second->second;
}

void TileCache::put(const std::string& key, std::shared_ptr<const CachedTile> tile) {
  if (budget_bytes_ == 0 || !tile) return;
  const std::uint64_t size = entry_bytes(key, *tile);
  Shard& shard = shard_for(key);
  // Destroy evicted tiles after releasing the lock.
  std::vector<std::shared_ptr<const CachedTile>> dropped;
  std::lock_guard lock(shard.mutex);
  if (const auto it = shard.index.find(key); it != shard.index.end()) {
    shard.bytes -= entry_bytes(it->first, *it->second->second);
    dropped.push_back(std::move(it->second->second));
    shard.lru.erase(it->second);
    shard.index.erase(it);
  }
  if (size > shard_budget_) return;
  while (!shard.lru.empty() && shard.bytes + size > shard_budget_) {
    auto& victim = shard.lru.back();
    shard.bytes -= entry_bytes(victim.first, *victim.second);
    dropped.push_back(std::move(victim.second));
    shard.index.erase(victim.first);
    shard.lru.pop_back();
    evictions_.fetch_add(1, std::memory_order_relaxed);
  }
  shard.lru.emplace_front(key, std::move(tile));
  shard.index.emplace(key, shard.lru.begin());
  shard.bytes += size;
}

void TileCache::erase_prefix(const std::string& prefix) {
  for (auto& shard_ptr : shards_) {
    Shard& shard = *shard_ptr;
    std::vector<std::shared_ptr<const CachedTile>> dropped;
    std::lock_guard lock(shard.mutex);
    for (auto it = shard.lru.begin(); it != shard.lru.end();) {
      if (it->first.compare(0, prefix.size(), prefix) == 0) {
        shard.bytes -= entry_bytes(it->first, *it->second);
        dropped.push_back(std::move(it->second));
        shard.index.erase(it->first);
        it = shard.lru.erase(it);
      } else {
        ++it;
      }
    }
  }
}

TileCacheStats TileCache::stats() const {
  TileCacheStats s;
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.evictions = evictions_.load(std::memory_order_relaxed);
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard->mutex);
    s.bytes += shard->bytes;
    s.entries += shard->index.size();
  }
  return s;
}

}  // namespace mcval::slide
