#pragma once
// SlideCatalog: what mcval knows about the slides of every centre. SQLite by default
// (SqliteCatalog), PostgreSQL for replicas (PostgresCatalog), behind the same interface.
#include <optional>
#include <string>
#include <vector>

#include "mcval/catalog/slide_record.h"
#include "mcval/common/result.h"

namespace mcval::catalog {

/// One page of the catalogue, in relative-path order (byte order, the same in both engines),
/// continued from a cursor (keyset pagination: a deep page costs what the first does).
struct SlidePageQuery {
  std::optional<std::vector<std::string>> centres;  ///< nullopt: every centre; else only these
  std::optional<SlideStatus> status;                ///< only slides with this status
  std::string name_contains;                        ///< case-insensitive part of the relative path
  bool include_removed = false;                     ///< with no status asked for
  bool descending = false;
  int limit = 100;                                  ///< 1..1000
  std::string after_path;                           ///< the last relative path of the previous page
};

struct SlidePage {
  std::vector<SlideRecord> slides;
  std::string next_after;  ///< cursor of the next page; empty when this is the last page
};

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
  /// One page of slides (see SlidePageQuery); invalid_argument for a limit outside 1..1000.
  virtual Result<SlidePage> list_slides_page(const SlidePageQuery& query) const = 0;
  /// Current schema version (after migrations).
  virtual int schema_version() const = 0;
};

}  // namespace mcval::catalog
