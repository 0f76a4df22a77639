#pragma once
#include <filesystem>
#include <memory>
#include <mutex>

#include "mcval/catalog/slide_catalog.h"

struct sqlite3;

namespace mcval::catalog {

/// SlideCatalog in one SQLite file (WAL mode). Applies versioned schema migrations on open
/// (table schema_migrations). One connection guarded by a mutex.
class SqliteCatalog final : public SlideCatalog {
 public:
  /// Opens or creates the database file (parent folder created); database_error on failure.
  static Result<std::unique_ptr<SqliteCatalog>> open(const std::filesystem::path& file);
  ~SqliteCatalog() override;

  Result<std::vector<SlideRecord>> list_slides(const std::optional<std::string>& centre,
                                               bool include_removed) const override;
  Result<SlideRecord> find_slide(const std::string& id) const override;
  Result<std::vector<CentreSummary>> list_centres() const override;
  Status upsert_slide(const SlideRecord& record) override;
  Status upsert_slides(const std::vector<SlideRecord>& records) override;
  int schema_version() const override;

 private:
  explicit SqliteCatalog(sqlite3* db);
  Status migrate();
  sqlite3* db_;
  mutable std::mutex mutex_;
};

}  // namespace mcval::catalog
