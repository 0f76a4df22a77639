#pragma once
#include <memory>
#include <string>

#include "mcval/catalog/catalog_store.h"

namespace mcval::catalog {

namespace pg {
class Pool;
}

/// The whole CatalogStore in PostgreSQL (libpq), for several server replicas on one database.
/// A bounded pool of connections, prepared statements (or unnamed ones, for PgBouncer < 1.21 in
/// transaction mode), a statement timeout on every connection, TLS as the URL's sslmode says.
/// Migrations (the same numbers as SqliteCatalog's) run at open in one transaction under an
/// advisory transaction lock, so replicas starting together migrate once. A lost connection is
/// dropped and replaced; an operation that found its pooled connection dead is retried once on a
/// new one; while the server is away operations fail with database_unavailable (HTTP 503) within
/// the connect timeout. Thread-safe.
class PostgresCatalog final : public CatalogStore {
 public:
  /// database_unavailable when the server cannot be reached, database_error when the schema is
  /// newer than this build or a migration fails.
  static Result<std::unique_ptr<PostgresCatalog>> open(const StoreOptions& options);
  ~PostgresCatalog() override;

  Result<std::vector<SlideRecord>> list_slides(const std::optional<std::string>& centre,
                                               bool include_removed) const override;
  Result<SlideRecord> find_slide(const std::string& id) const override;
  Result<std::vector<CentreSummary>> list_centres() const override;
  Status upsert_slide(const SlideRecord& record) override;
  Status upsert_slides(const std::vector<SlideRecord>& records) override;
  Result<SlidePage> list_slides_page(const SlidePageQuery& query) const override;
  int schema_version() const override;

  Result<bool> save_dataset(const StoredDataset& dataset) override;
  Result<StoredDataset> find_dataset(const std::string& name) const override;
  Result<std::vector<StoredDataset>> list_datasets() const override;

  std::string engine() const override { return "postgresql"; }
  std::string describe() const override;
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

 private:
  explicit PostgresCatalog(std::unique_ptr<pg::Pool> pool);
  Status migrate();

  std::unique_ptr<pg::Pool> pool_;
};

}  // namespace mcval::catalog
