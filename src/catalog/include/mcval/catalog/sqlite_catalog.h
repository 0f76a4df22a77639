#pragma once
#include <filesystem>
#include <memory>
#include <mutex>

#include "mcval/catalog/dataset_store.h"
#include "mcval/catalog/slide_catalog.h"

struct sqlite3;

namespace mcval::catalog {

/// SlideCatalog and DatasetStore in one SQLite file (WAL mode). Applies versioned schema
/// migrations on open (table schema_migrations). One connection guarded by a mutex.
class SqliteCatalog final : public SlideCatalog, public DatasetStore {
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

  /// Writes a consistent copy of the whole database to `file` (SQLite's online backup; readers
  /// and writers may go on meanwhile), atomically: written beside it, fsynced, renamed.
  Status backup_to(const std::filesystem::path& file) const;

  Result<bool> save_dataset(const StoredDataset& dataset) override;
  Result<StoredDataset> find_dataset(const std::string& name) const override;
  Result<std::vector<StoredDataset>> list_datasets() const override;

 private:
  explicit SqliteCatalog(sqlite3* db);
  Status migrate();
  sqlite3* db_;
  mutable std::mutex mutex_;
};

}  // namespace mcval::catalog
