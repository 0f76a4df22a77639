#pragma once
// CatalogStore: every piece of state the server and the CLI keep, behind one interface with two
// engines: SQLite (SqliteCatalog, the embedded default: one file in the data folder) and
// PostgreSQL (PostgresCatalog, for replicas that act as one). Chosen by one setting
// (`--database`); open_catalog_store() picks the engine from the URL.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "mcval/catalog/dataset_store.h"
#include "mcval/catalog/session_store.h"
#include "mcval/catalog/slide_catalog.h"

namespace mcval::catalog {

class CatalogStore : public SlideCatalog, public DatasetStore, public SessionStore {
 public:
  /// "sqlite" or "postgresql".
  virtual std::string engine() const = 0;
  /// Where the store is, for logs and messages (no password ever).
  virtual std::string describe() const = 0;
  /// A cheap round trip (SELECT 1): database_unavailable when the database cannot be reached.
  virtual Status ping() const = 0;
  /// Grows with every change of the slides table: a replica that sees another number than the
  /// one its snapshot was made from refreshes its snapshot.
  virtual Result<std::int64_t> catalog_version() const = 0;
  /// Takes (or renews, for the same holder) the one catalogue-scan lease across every process on
  /// this store for `ttl`; false when another holder has it. A lease row rather than a session
  /// advisory lock, so that it works behind PgBouncer in transaction mode.
  virtual Result<bool> acquire_scan_lease(const std::string& holder, std::chrono::seconds ttl) = 0;
  virtual Status release_scan_lease(const std::string& holder) = 0;
};

/// How to reach the store.
struct StoreOptions {
  /// Empty or "sqlite:///path/to/file.sqlite": SQLite (empty: <data>/catalog.sqlite);
  /// "postgresql://user@host:port/db?sslmode=verify-full": PostgreSQL (libpq's URI form).
  std::string url;
  std::filesystem::path data_folder;  ///< for the default SQLite file
  std::string password;               ///< PostgreSQL password (from --database-password-file)
  int pool_size = 8;                  ///< PostgreSQL: most connections open at once
  std::chrono::milliseconds statement_timeout{5000};
  std::chrono::milliseconds acquire_timeout{2000};  ///< waiting for a free pooled connection
  int connect_timeout_s = 2;
  bool prepared_statements = true;    ///< off for PgBouncer < 1.21 in transaction mode
};

/// The engine of a URL: "sqlite", "postgresql", or config_invalid.
Result<std::string> store_engine(const std::string& url);
/// The URL with any password removed (for logs).
std::string redact_database_url(const std::string& url);
/// Opens (and migrates) the store the options name.
Result<std::unique_ptr<CatalogStore>> open_catalog_store(const StoreOptions& options);

}  // namespace mcval::catalog
