#pragma once
#include <filesystem>
#include <memory>
#include <mutex>

#include "mcval/catalog/catalog_store.h"

struct sqlite3;

namespace mcval::catalog {

/// The whole CatalogStore in one SQLite file (WAL mode; the rollback journal on NFS). Applies
/// versioned schema migrations on open (table schema_migrations; the same numbers as
/// PostgresCatalog's). One connection guarded by a mutex.
class SqliteCatalog final : public CatalogStore {
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
  Result<SlidePage> list_slides_page(const SlidePageQuery& query) const override;
  int schema_version() const override;

  std::string engine() const override { return "sqlite"; }
  std::string describe() const override { return "sqlite://" + file_.string(); }
  Status ping() const override;
  Result<std::int64_t> catalog_version() const override;
  Result<bool> acquire_scan_lease(const std::string& holder, std::chrono::seconds ttl) override;
  Status release_scan_lease(const std::string& holder) override;

  Status put_pending_login(const StoredPendingLogin& login) override;
  Result<std::optional<StoredPendingLogin>> take_pending_login(const std::string& state_key,
                                                               std::int64_t now) override;
  Status put_session(const StoredSession& session) override;
  Result<std::optional<StoredSession>> find_session(const std::string& key, std::int64_t now) override;
  Result<bool> update_session_tokens(const std::string& key, const std::string& principal_json,
                                     std::int64_t access_expires_unix, const std::string& refresh_token) override;
  Result<bool> delete_session(const std::string& key) override;
  Result<std::vector<StoredSession>> list_sessions(std::int64_t now) override;
  Result<std::int64_t> revoke_sessions(const std::string& user_id, const std::string& key_prefix) override;
  Result<std::int64_t> purge_expired(std::int64_t now) override;

  /// Writes a consistent copy of the whole database to `file` (SQLite's online backup; readers
  /// and writers may go on meanwhile), atomically: written beside it, fsynced, renamed.
  Status backup_to(const std::filesystem::path& file) const;

  Result<bool> save_dataset(const StoredDataset& dataset) override;
  Result<StoredDataset> find_dataset(const std::string& name) const override;
  Result<std::vector<StoredDataset>> list_datasets() const override;

 private:
  SqliteCatalog(sqlite3* db, std::filesystem::path file);
  Status migrate();
  /// Runs a statement that changes rows and returns how many it changed.
  Result<std::int64_t> execute_changes(const char* sql, const std::vector<std::string>& params);
  sqlite3* db_;
  std::filesystem::path file_;
  mutable std::mutex mutex_;
};

}  // namespace mcval::catalog
