#pragma once
// SlideCatalog: what mcval knows about the slides of every centre. SQLite by default
// (SqliteCatalog); a PostgreSQL implementation will satisfy the same interface.
#include <optional>
#include <string>
#include <vector>

#include "mcval/catalog/slide_record.h"
#include "mcval/common/result.h"

namespace mcval::catalog {

/// Thread-safe: implementations serialise or pool their connections.
class SlideCatalog {
 public:
  virtual ~SlideCatalog() = default;

  /// Slides ordered by centre then relative path; removed slides only if asked.
  virtual Result<std::vector<SlideRecord>> list_slides(const std::optional<std::string>& centre,
                                                       bool include_removed = false) const = 0;
  /// slide_not_found if no slide has this id (removed slides are found, with their status).
  virtual Result<SlideRecord> find_slide(const std::string& id) const = 0;
  virtual Result<std::vector<CentreSummary>> list_centres() const = 0;
  /// Inserts or replaces the record with the same id.
  virtual Status upsert_slide(const SlideRecord& record) = 0;
  /// Applies a batch of upserts atomically (one transaction).
  virtual Status upsert_slides(const std::vector<SlideRecord>& records) = 0;
  /// Current schema version (after migrations).
  virtual int schema_version() const = 0;
};

}  // namespace mcval::catalog
