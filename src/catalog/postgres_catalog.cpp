#include "mcval/catalog/postgres_catalog.h"

#include <string_view>
#include <type_traits>
#include <utility>

#include "mcval/common/clock.h"
#include "mcval/common/logging.h"
#include "pg_connection.h"
#include "store_support.h"

namespace mcval::catalog {

namespace {

using pg::Params;
using pg::Rows;
using pg::Statement;

// Migrations: the same numbers and meaning as SqliteCatalog's, written for PostgreSQL. Never edit
// a released step: append a new one. Text that is sorted or paged on is COLLATE "C" (byte order,
// as SQLite's BINARY), so that both engines page identically.
struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE slides (
  id                     TEXT PRIMARY KEY NOT NULL,
  centre                 TEXT COLLATE "C" NOT NULL,
  relative_path          TEXT COLLATE "C" NOT NULL UNIQUE,
  file_bytes             BIGINT NOT NULL,
  mtime_ns               BIGINT NOT NULL,
  sha256                 TEXT NOT NULL,
  status                 TEXT NOT NULL CHECK (status IN ('ok', 'unreadable', 'removed')),
  status_reason          TEXT NOT NULL,
  vendor                 TEXT NOT NULL,
  levels_json            TEXT NOT NULL,
  mpp_x                  DOUBLE PRECISION,
  mpp_y                  DOUBLE PRECISION,
  objective_power        DOUBLE PRECISION,
  associated_images_json TEXT NOT NULL,
  background_rgb         BIGINT NOT NULL,
  level_tile_width_json  TEXT NOT NULL,
  level_tile_height_json TEXT NOT NULL,
  scanned_at             TEXT NOT NULL
);
CREATE INDEX slides_by_centre ON slides (centre, relative_path);
CREATE INDEX slides_by_centre_status ON slides (centre, status);
)sql"},
    {2, R"sql(
CREATE TABLE datasets (
  name         TEXT COLLATE "C" PRIMARY KEY NOT NULL,
  sha256       TEXT NOT NULL,
  rows         BIGINT NOT NULL,
  source       TEXT NOT NULL,
  imported_at  TEXT NOT NULL,
  content_json TEXT NOT NULL
);
)sql"},
    {3, R"sql(
CREATE TABLE sessions (
  key                 TEXT COLLATE "C" PRIMARY KEY NOT NULL,
  user_id             TEXT NOT NULL,
  display_name        TEXT NOT NULL,
  principal_json      TEXT NOT NULL,
  csrf_token          TEXT NOT NULL,
  refresh_token       TEXT NOT NULL,
  access_expires_unix BIGINT NOT NULL,
  ends_unix           BIGINT NOT NULL,
  created_unix        BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_end ON sessions (ends_unix);
CREATE TABLE pending_logins (
  state_key     TEXT PRIMARY KEY NOT NULL,
  binding       TEXT NOT NULL,
  nonce         TEXT NOT NULL,
  code_verifier TEXT NOT NULL,
  return_to     TEXT NOT NULL,
  expires_unix  BIGINT NOT NULL
);
CREATE TABLE catalog_state (id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
INSERT INTO catalog_state (id, version) VALUES (1, 0);
CREATE TABLE scan_lease (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, expires_unix BIGINT NOT NULL);
INSERT INTO scan_lease (id, holder, expires_unix) VALUES (1, '', 0);
)sql"},
};

constexpr int kLatestVersion = kMigrations[std::size(kMigrations) - 1].version;

// Any constant: the key of the advisory lock that serialises migrations across replicas.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7320251207)";

#define MCVAL_SLIDE_COLUMNS                                                                      \
  "id, centre, relative_path, file_bytes, mtime_ns, sha256, status, status_reason, vendor, "      \
  "levels_json, mpp_x, mpp_y, objective_power, associated_images_json, background_rgb, "          \
  "level_tile_width_json, level_tile_height_json, scanned_at"
#define MCVAL_SESSION_COLUMNS                                                                     \
  "key, user_id, display_name, principal_json, csrf_token, refresh_token, access_expires_unix, "  \
  "ends_unix, created_unix"

const Statement kSelectActive{"slides_all",
                              "SELECT " MCVAL_SLIDE_COLUMNS " FROM slides WHERE $1::boolean OR status <> 'removed' "
                              "ORDER BY centre, relative_path"};
const Statement kSelectCentre{"slides_of_centre",
                              "SELECT " MCVAL_SLIDE_COLUMNS " FROM slides WHERE centre = $2 AND "
                              "($1::boolean OR status <> 'removed') ORDER BY centre, relative_path"};
const Statement kSelectById{"slide_by_id", "SELECT " MCVAL_SLIDE_COLUMNS " FROM slides WHERE id = $1"};
// $1 centres as a JSON array or NULL (every centre), $2 status or '' (any), $3 include removed,
// $4 lower-case part of the path or '', $5 cursor or '', $6 limit.
#define MCVAL_PAGE_FILTER                                                                          \
  " FROM slides WHERE ($1::jsonb IS NULL OR centre IN (SELECT jsonb_array_elements_text($1::jsonb))) " \
  "AND (CASE WHEN $2 <> '' THEN status = $2 ELSE ($3::boolean OR status <> 'removed') END) "      \
  "AND ($4 = '' OR strpos(lower(relative_path), $4) > 0) "
const Statement kPageAscending{"slides_page_asc", "SELECT " MCVAL_SLIDE_COLUMNS MCVAL_PAGE_FILTER
                                                  "AND ($5 = '' OR relative_path > $5) "
                                                  "ORDER BY relative_path LIMIT $6::integer"};
const Statement kPageDescending{"slides_page_desc", "SELECT " MCVAL_SLIDE_COLUMNS MCVAL_PAGE_FILTER
                                                    "AND ($5 = '' OR relative_path < $5) "
                                                    "ORDER BY relative_path DESC LIMIT $6::integer"};
const Statement kUpsert{
    "slide_upsert",
    "INSERT INTO slides (" MCVAL_SLIDE_COLUMNS ") "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) "
    "ON CONFLICT (id) DO UPDATE SET centre = EXCLUDED.centre, relative_path = EXCLUDED.relative_path, "
    "file_bytes = EXCLUDED.file_bytes, mtime_ns = EXCLUDED.mtime_ns, sha256 = EXCLUDED.sha256, "
    "status = EXCLUDED.status, status_reason = EXCLUDED.status_reason, vendor = EXCLUDED.vendor, "
    "levels_json = EXCLUDED.levels_json, mpp_x = EXCLUDED.mpp_x, mpp_y = EXCLUDED.mpp_y, "
    "objective_power = EXCLUDED.objective_power, associated_images_json = EXCLUDED.associated_images_json, "
    "background_rgb = EXCLUDED.background_rgb, level_tile_width_json = EXCLUDED.level_tile_width_json, "
    "level_tile_height_json = EXCLUDED.level_tile_height_json, scanned_at = EXCLUDED.scanned_at"};
const Statement kBumpVersion{"catalog_bump", "UPDATE catalog_state SET version = version + 1 WHERE id = 1"};
const Statement kVersion{"catalog_version", "SELECT version FROM catalog_state WHERE id = 1"};
const Statement kCentres{"centres",
                         "SELECT centre, COUNT(*), COUNT(*) FILTER (WHERE status = 'unreadable'), "
                         "COALESCE(SUM(file_bytes), 0) FROM slides WHERE status <> 'removed' "
                         "GROUP BY centre ORDER BY centre"};
const Statement kSchemaVersion{"schema_version", "SELECT COALESCE(MAX(version), 0) FROM schema_migrations"};
const Statement kPing{"ping", "SELECT 1"};
const Statement kDatasetHash{"dataset_hash", "SELECT sha256 FROM datasets WHERE name = $1"};
const Statement kDatasetInsert{"dataset_insert",
                               "INSERT INTO datasets (name, sha256, rows, source, imported_at, content_json) "
                               "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING"};
const Statement kDatasetByName{"dataset_by_name",
                               "SELECT name, sha256, rows, source, imported_at, content_json FROM datasets "
                               "WHERE name = $1"};
const Statement kDatasetList{"dataset_list",
                             "SELECT name, sha256, rows, source, imported_at, '' FROM datasets ORDER BY name"};
const Statement kLeaseAcquire{"lease_acquire",
                              "UPDATE scan_lease SET holder = $1, expires_unix = $2 WHERE id = 1 AND "
                              "(holder = $1 OR expires_unix < $3)"};
const Statement kLeaseRelease{"lease_release",
                              "UPDATE scan_lease SET holder = '', expires_unix = 0 WHERE id = 1 AND holder = $1"};
const Statement kLoginPut{"login_put",
                          "INSERT INTO pending_logins (state_key, binding, nonce, code_verifier, return_to, "
                          "expires_unix) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (state_key) DO UPDATE SET "
                          "binding = EXCLUDED.binding, nonce = EXCLUDED.nonce, code_verifier = EXCLUDED.code_verifier, "
                          "return_to = EXCLUDED.return_to, expires_unix = EXCLUDED.expires_unix"};
const Statement kLoginTake{"login_take",
                           "DELETE FROM pending_logins WHERE state_key = $1 "
                           "RETURNING state_key, binding, nonce, code_verifier, return_to, expires_unix"};
const Statement kSessionPut{"session_put",
                            "INSERT INTO sessions (" MCVAL_SESSION_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                            "ON CONFLICT (key) DO UPDATE SET user_id = EXCLUDED.user_id, "
                            "display_name = EXCLUDED.display_name, principal_json = EXCLUDED.principal_json, "
                            "csrf_token = EXCLUDED.csrf_token, refresh_token = EXCLUDED.refresh_token, "
                            "access_expires_unix = EXCLUDED.access_expires_unix, ends_unix = EXCLUDED.ends_unix, "
                            "created_unix = EXCLUDED.created_unix"};
const Statement kSessionFind{"session_find",
                             "SELECT " MCVAL_SESSION_COLUMNS " FROM sessions WHERE key = $1 AND ends_unix > $2"};
const Statement kSessionTokens{"session_tokens",
                               "UPDATE sessions SET principal_json = $2, access_expires_unix = $3, refresh_token = $4 "
                               "WHERE key = $1"};
const Statement kSessionDelete{"session_delete", "DELETE FROM sessions WHERE key = $1"};
const Statement kSessionList{"session_list",
                             "SELECT " MCVAL_SESSION_COLUMNS " FROM sessions WHERE ends_unix > $1 "
                             "ORDER BY created_unix DESC, key"};
const Statement kSessionRevoke{"session_revoke",
                               "DELETE FROM sessions WHERE ($1 <> '' AND user_id = $1) OR "
                               "($2 <> '' AND left(key, length($2)) = $2)"};
const Statement kSessionPurge{"session_purge", "DELETE FROM sessions WHERE ends_unix <= $1"};
const Statement kLoginPurge{"login_purge", "DELETE FROM pending_logins WHERE expires_unix <= $1"};

#undef MCVAL_SLIDE_COLUMNS
#undef MCVAL_SESSION_COLUMNS
#undef MCVAL_PAGE_FILTER

/// One row of a result, read the way slide_from_row expects.
struct RowView {
  const Rows& rows;
  int row;
  std::string text(int column) const { return rows.value(row, column); }
  std::int64_t int64(int column) const { return rows.int64(row, column); }
  std::optional<double> optional_double(int column) const { return rows.optional_double(row, column); }
};

Result<std::vector<SlideRecord>> read_slides(const Rows& rows) {
  std::vector<SlideRecord> records;
  records.reserve(static_cast<std::size_t>(rows.count()));
  for (int i = 0; i < rows.count(); ++i) {
    MCVAL_TRY_ASSIGN(record, slide_from_row(RowView{rows, i}));
    records.push_back(std::move(record));
  }
  return records;
}

StoredSession session_at(const Rows& rows, int i) {
  return {rows.value(i, 0), rows.value(i, 1), rows.value(i, 2), rows.value(i, 3), rows.value(i, 4),
          rows.value(i, 5), rows.int64(i, 6), rows.int64(i, 7), rows.int64(i, 8)};
}

StoredDataset dataset_at(const Rows& rows, int i) {
  return {rows.value(i, 0), rows.value(i, 1), rows.int64(i, 2), rows.value(i, 3), rows.value(i, 4), rows.value(i, 5)};
}

std::string boolean(bool value) { return value ? "true" : "false"; }

/// Runs `work` on a pooled connection. A connection that had waited in the pool may have died
/// meanwhile (a database restart closes them all): when the work fails because the connection is
/// gone, it runs once more on a new one. Every operation here is safe to repeat.
template <typename Work>
auto with_connection(pg::Pool& pool, Work&& work) -> decltype(work(std::declval<pg::Connection&>())) {
  for (int attempt = 0;; ++attempt) {
    MCVAL_TRY_ASSIGN(lease, pool.acquire());
    auto result = work(*lease);
    if (!result.ok() && attempt == 0 && lease.reused() && lease->broken()) continue;
    return result;
  }
}

}  // namespace

PostgresCatalog::PostgresCatalog(std::unique_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

PostgresCatalog::~PostgresCatalog() = default;

Result<std::unique_ptr<PostgresCatalog>> PostgresCatalog::open(const StoreOptions& options) {
  pg::ConnectOptions connect;
  connect.url = options.url;
  connect.password = options.password;
  connect.connect_timeout_s = options.connect_timeout_s;
  connect.statement_timeout = options.statement_timeout;
  connect.prepared_statements = options.prepared_statements;
  std::unique_ptr<PostgresCatalog> store(
      new PostgresCatalog(std::make_unique<pg::Pool>(connect, options.pool_size, options.acquire_timeout)));
  if (auto migrated = store->migrate(); !migrated.ok()) {
    return Error{migrated.error().code, redact_database_url(options.url) + ": " + migrated.error().detail};
  }
  return store;
}

std::string PostgresCatalog::describe() const { return redact_database_url(pool_->options().url); }

Status PostgresCatalog::migrate() {
  // Migrations are DDL: no statement timeout, or a big first migration on a slow disk fails.
  return with_connection(*pool_, [](pg::Connection& c) -> Status {
    pg::Transaction transaction(c);
    MCVAL_TRY(transaction.begin());
    MCVAL_TRY(c.exec_script("SET LOCAL statement_timeout = 0"));
    // Replicas that start together queue here; the second finds the work done.
    MCVAL_TRY(c.exec_script(kMigrationLock));
    MCVAL_TRY(c.exec_script(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"));
    MCVAL_TRY_ASSIGN(rows, c.exec_script("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
    const auto found = static_cast<int>(rows.int64(0, 0));
    if (found > kLatestVersion) {
      return Error{ErrorCode::database_error,
                   "the database is at schema version " + std::to_string(found) + ", newer than this mcval supports (" +
                       std::to_string(kLatestVersion) + "): run a newer mcval, or restore a backup made by this version"};
    }
    for (const auto& migration : kMigrations) {
      if (migration.version <= found) continue;
      if (auto applied = c.exec_script(migration.sql); !applied.ok()) {
        return Error{applied.error().code, "migration " + std::to_string(migration.version) + " failed: " +
                                               applied.error().detail};
      }
      MCVAL_TRY(c.exec_script("INSERT INTO schema_migrations (version, applied_at) VALUES (" +
                              std::to_string(migration.version) + ", '" + utc_now_iso8601() + "')"));
      log::info("catalog schema migrated", {{"version", migration.version}, {"engine", "postgresql"}});
    }
    return transaction.commit();
  });
}

Result<std::vector<SlideRecord>> PostgresCatalog::list_slides(const std::optional<std::string>& centre,
                                                              bool include_removed) const {
  return with_connection(*pool_, [&](pg::Connection& c) -> Result<std::vector<SlideRecord>> {
    Params params{boolean(include_removed)};
    if (centre) params.push_back(*centre);
    MCVAL_TRY_ASSIGN(rows, c.exec(centre ? kSelectCentre : kSelectActive, params));
    return read_slides(rows);
  });
}

Result<SlideRecord> PostgresCatalog::find_slide(const std::string& id) const {
  return with_connection(*pool_, [&](pg::Connection& c) -> Result<SlideRecord> {
    MCVAL_TRY_ASSIGN(rows, c.exec(kSelectById, {id}));
    if (rows.count() == 0) return Error{ErrorCode::slide_not_found, "no slide with id '" + id + "'"};
    return slide_from_row(RowView{rows, 0});
  });
}

Result<std::vector<CentreSummary>> PostgresCatalog::list_centres() const {
  return with_connection(*pool_, [&](pg::Connection& c) -> Result<std::vector<CentreSummary>> {
    MCVAL_TRY_ASSIGN(rows, c.exec(kCentres));
    std::vector<CentreSummary> centres;
    for (int i = 0; i < rows.count(); ++i) {
      centres.push_back({rows.value(i, 0), rows.int64(i, 1), rows.int64(i, 2), rows.int64(i, 3)});
    }
    return centres;
  });
}

Status PostgresCatalog::upsert_slide(const SlideRecord& record) { return upsert_slides({record}); }

Status PostgresCatalog::upsert_slides(const std::vector<SlideRecord>& records) {
  if (records.empty()) return {};
  return with_connection(*pool_, [&](pg::Connection& c) -> Status {
    pg::Transaction transaction(c);
    MCVAL_TRY(transaction.begin());
    for (const auto& record : records) {
      if (auto written = c.exec(kUpsert, slide_values(record)); !written.ok()) {
        return Error{written.error().code, "upsert of slide " + record.id + ": " + written.error().detail};
      }
    }
    MCVAL_TRY(c.exec(kBumpVersion));
    return transaction.commit();
  });
}

Result<SlidePage> PostgresCatalog::list_slides_page(const SlidePageQuery& query) const {
  if (query.limit < 1 || query.limit > 1000) {
    return Error{ErrorCode::invalid_argument, "limit must be between 1 and 1000"};
  }
  return with_connection(*pool_, [&](pg::Connection& c) -> Result<SlidePage> {
    Params params{query.centres ? std::optional<std::string>(compact_json(nlohmann::json(*query.centres)))
                                : std::nullopt,
                  query.status ? std::string(to_string(*query.status)) : std::string(),
                  boolean(query.include_removed),
                  ascii_lower(query.name_contains),
                  query.after_path,
                  std::to_string(query.limit + 1)};
    MCVAL_TRY_ASSIGN(rows, c.exec(query.descending ? kPageDescending : kPageAscending, params));
    MCVAL_TRY_ASSIGN(records, read_slides(rows));
    return make_page(std::move(records), query.limit);
  });
}

int PostgresCatalog::schema_version() const {
  auto version = with_connection(*pool_, [](pg::Connection& c) -> Result<std::int64_t> {
    MCVAL_TRY_ASSIGN(rows, c.exec(kSchemaVersion));
    return rows.int64(0, 0);
  });
  if (!version.ok()) {
    log::error("cannot read the catalog schema version", {{"error", version.error().to_string()}});
    return 0;
  }
  return static_cast<int>(*version);
}

Result<bool> PostgresCatalog::save_dataset(const StoredDataset& dataset) {
  return with_connection(*pool_, [&](pg::Connection& c) -> Result<bool> {
    MCVAL_TRY_ASSIGN(inserted, c.exec(kDatasetInsert, {dataset.name, dataset.sha256, std::to_string(dataset.rows),
                                                       dataset.source, dataset.imported_at, dataset.content_json}));
    if (inserted.affected() == 1) return true;
    MCVAL_TRY_ASSIGN(existing, c.exec(kDatasetHash, {dataset.name}));
    if (existing.count() == 1 && existing.value(0, 0) == dataset.sha256) return false;
    return Error{ErrorCode::invalid_argument,
                 "dataset '" + dataset.name + "' already holds another snapshot (" +
                     (existing.count() == 1 ? existing.value(0, 0).substr(0, 12) : std::string("?")) +
                     "…); datasets are frozen: import the new content under a new name"};
  });
}

Result<StoredDataset> PostgresCatalog::find_dataset(const std::string& name) const {
  return with_connection(*pool_, [&](pg::Connection& c) -> Result<StoredDataset> {
    MCVAL_TRY_ASSIGN(rows, c.exec(kDatasetByName, {name}));
    if (rows.count() == 0) return Error{ErrorCode::not_found, "no dataset named '" + name + "' in the catalogue"};
    return dataset_at(rows, 0);
  });
}

Result<std::vector<StoredDataset>> PostgresCatalog::list_datasets() const {
  return with_connection(*pool_, [&](pg::Connection& c) -> Result<std::vector<StoredDataset>> {
    MCVAL_TRY_ASSIGN(rows, c.exec(kDatasetList));
    std::vector<StoredDataset> datasets;
    for (int i = 0; i < rows.count(); ++i) datasets.push_back(dataset_at(rows, i));
    return datasets;
  });
}

Status PostgresCatalog::ping() const {
  return with_connection(*pool_, [](pg::Connection& c) -> Status {
    MCVAL_TRY(c.exec(kPing));
    return {};
  });
}

Result<std::int64_t> PostgresCatalog::catalog_version() const {
  return with_connection(*pool_, [](pg::Connection& c) -> Result<std::int64_t> {
    MCVAL_TRY_ASSIGN(rows, c.exec(kVersion));
    return rows.count() == 1 ? rows.int64(0, 0) : 0;
  });
}

Result<bool> PostgresCatalog::acquire_scan_lease(const std::string& holder, std::chrono::seconds ttl) {
  const std::int64_t now = unix_now();
  return with_connection(*pool_, [&](pg::Connection& c) -> Result<bool> {
    MCVAL_TRY_ASSIGN(rows, c.exec(kLeaseAcquire, {holder, std::to_string(now + ttl.count()), std::to_string(now)}));
    return rows.affected() == 1;
  });
}

Status PostgresCatalog::release_scan_lease(const std::string& holder) {
  return with_connection(*pool_, [&](pg::Connection& c) -> Status {
    MCVAL_TRY(c.exec(kLeaseRelease, {holder}));
    return {};
  });
}

Status PostgresCatalog::put_pending_login(const StoredPendingLogin& login) {
  return with_connection(*pool_, [&](pg::Connection& c) -> Status {
    MCVAL_TRY(c.exec(kLoginPut, {login.state_key, login.binding, login.nonce, login.code_verifier, login.return_to,
                                 std::to_string(login.expires_unix)}));
    return {};
  });
}

Result<std::optional<StoredPendingLogin>> PostgresCatalog::take_pending_login(const std::string& state_key,
                                                                              std::int64_t now) {
  return with_connection(*pool_, [&](pg::Connection& c) -> Result<std::optional<StoredPendingLogin>> {
    MCVAL_TRY_ASSIGN(rows, c.exec(kLoginTake, {state_key}));
    if (rows.count() == 0) return std::optional<StoredPendingLogin>();
    StoredPendingLogin login{rows.value(0, 0), rows.value(0, 1), rows.value(0, 2),
                             rows.value(0, 3), rows.value(0, 4), rows.int64(0, 5)};
    if (login.expires_unix <= now) return std::optional<StoredPendingLogin>();
    return std::optional<StoredPendingLogin>(std::move(login));
  });
}

Status PostgresCatalog::put_session(const StoredSession& s) {
  return with_connection(*pool_, [&](pg::Connection& c) -> Status {
    MCVAL_TRY(c.exec(kSessionPut, {s.key, s.user_id, s.display_name, s.principal_json, s.csrf_token, s.refresh_token,
                                   std::to_string(s.access_expires_unix), std::to_string(s.ends_unix),
                                   std::to_string(s.created_unix)}));
    return {};
  });
}

Result<std::optional<StoredSession>> PostgresCatalog::find_session(const std::string& key, std::int64_t now) {
  return with_connection(*pool_, [&](pg::Connection& c) -> Result<std::optional<StoredSession>> {
    MCVAL_TRY_ASSIGN(rows, c.exec(kSessionFind, {key, std::to_string(now)}));
    if (rows.count() == 0) return std::optional<StoredSession>();
    return std::optional<StoredSession>(session_at(rows, 0));
  });
}

Result<bool> PostgresCatalog::update_session_tokens(const std::string& key, const std::string& principal_json,
                                                    std::int64_t access_expires_unix,
                                                    const std::string& refresh_token) {
  return with_connection(*pool_, [&](pg::Connection& c) -> Result<bool> {
    MCVAL_TRY_ASSIGN(rows,
                     c.exec(kSessionTokens, {key, principal_json, std::to_string(access_expires_unix), refresh_token}));
    return rows.affected() > 0;
  });
}

Result<bool> PostgresCatalog::delete_session(const std::string& key) {
  return with_connection(*pool_, [&](pg::Connection& c) -> Result<bool> {
    MCVAL_TRY_ASSIGN(rows, c.exec(kSessionDelete, {key}));
    return rows.affected() > 0;
  });
}

Result<std::vector<StoredSession>> PostgresCatalog::list_sessions(std::int64_t now) {
  return with_connection(*pool_, [&](pg::Connection& c) -> Result<std::vector<StoredSession>> {
    MCVAL_TRY_ASSIGN(rows, c.exec(kSessionList, {std::to_string(now)}));
    std::vector<StoredSession> sessions;
    for (int i = 0; i < rows.count(); ++i) sessions.push_back(session_at(rows, i));
    return sessions;
  });
}

Result<std::int64_t> PostgresCatalog::revoke_sessions(const std::string& user_id, const std::string& key_prefix) {
  MCVAL_TRY(check_revoke_arguments(user_id, key_prefix));
  return with_connection(*pool_, [&](pg::Connection& c) -> Result<std::int64_t> {
    MCVAL_TRY_ASSIGN(rows, c.exec(kSessionRevoke, {user_id, key_prefix}));
    return rows.affected();
  });
}

Result<std::int64_t> PostgresCatalog::purge_expired(std::int64_t now) {
  return with_connection(*pool_, [&](pg::Connection& c) -> Result<std::int64_t> {
    MCVAL_TRY_ASSIGN(sessions, c.exec(kSessionPurge, {std::to_string(now)}));
    MCVAL_TRY_ASSIGN(logins, c.exec(kLoginPurge, {std::to_string(now)}));
    return sessions.affected() + logins.affected();
  });
}

}  // namespace mcval::catalog
