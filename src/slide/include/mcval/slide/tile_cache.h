#pragma once
// TileCache: encoded tiles (bytes plus content type and ETag), and the decoded pixels of tiles
// made on the way (levels the file does not store), kept in memory under one byte budget, least
// recently used evicted first. Thread-safe; sharded to keep lock contention low.
#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "mcval/slide/image.h"

namespace mcval::slide {

struct CachedTile {
  std::string bytes;
  std::string content_type;  ///< e.g. "image/jpeg"
  std::string etag;          ///< strong ETag including quotes, e.g. "\"ab12...\""
  bool stored = false;       ///< the bytes are a slide file's own stored JPEG tile (not re-encoded)
  RgbImage pixels{};         ///< decoded pixels instead of bytes (a tile of a level made on demand)
};

struct TileCacheStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t evictions = 0;
  std::uint64_t bytes = 0;    ///< bytes held now (keys + payloads)
  std::uint64_t entries = 0;
};

class TileCache {
 public:
  /// `budget_bytes` 0 disables caching (every get misses, put stores nothing).
  explicit TileCache(std::uint64_t budget_bytes, std::size_t shards = 16);

  /// The tile under `key`, counting a hit or a miss.
  std::shared_ptr<const CachedTile> get(const std::string& key);
  /// Stores a tile (replacing any under the key); entries larger than a shard's budget are
  /// not stored (and the older entry under the key is dropped). Evicts least recently used
  /// entries to stay within budget.
  void put(const std::string& key, std::shared_ptr<const CachedTile> tile);
  /// Drops every entry whose key starts with `prefix` (e.g. a slide id after it changed).
  void erase_prefix(const std::string& prefix);

  TileCacheStats stats() const;
  std::uint64_t budget_bytes() const { return budget_bytes_; }

 private:
  struct Shard {
    std::mutex mutex;
    std::list<std::pair<std::string, std::shared_ptr<const CachedTile>>> lru;  // front: newest
    std::unordered_map<std::string, decltype(lru)::iterator> index;
    std::uint64_t bytes = 0;
  };
  Shard& shard_for(const std::string& key);
  static std::uint64_t entry_bytes(const std::string& key, const CachedTile& tile);

  std::uint64_t budget_bytes_;
  std::uint64_t shard_budget_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<std::uint64_t> hits_{0}, misses_{0}, evictions_{0};
};

}  // namespace mcval::slide
