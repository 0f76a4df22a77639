#pragma once
// Copies a whole store into another (SQLite into PostgreSQL for `mcval db migrate`, any engine
// into a SQLite file for `mcval backup`) and proves the copy: row counts and a content hash per
// table, computed on both sides by reading back.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "mcval/catalog/catalog_store.h"

namespace mcval::catalog {

/// What one table holds: rows and the SHA-256 of their canonical form (ordered by key).
struct TableDigest {
  std::string table;
  std::int64_t rows = 0;
  std::string sha256;
  bool operator==(const TableDigest&) const = default;
};

/// The digests of slides, datasets and sessions (sign-ins in progress are not state worth
/// keeping: they expire within minutes and are not copied).
Result<std::vector<TableDigest>> digest_store(CatalogStore& store);

/// Copies everything from `from` into `to`, which must be empty (invalid_argument otherwise),
/// then compares the digests of both; database_error naming the table when they differ.
/// Returns the digests. `on_progress(table, rows copied)` is called as it goes (may be empty).
Result<std::vector<TableDigest>> copy_store(CatalogStore& from, CatalogStore& to,
                                            const std::function<void(const std::string&, std::int64_t)>& on_progress);

}  // namespace mcval::catalog
