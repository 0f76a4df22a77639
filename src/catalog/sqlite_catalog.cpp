#include "mcval/catalog/sqlite_catalog.h"

#include <sys/vfs.h>

#include <cerrno>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "mcval/common/clock.h"
#include "mcval/common/logging.h"
#include "store_support.h"

namespace mcval::catalog {

namespace {

using nlohmann::json;

// Migrations, applied in order, each in its own transaction. Never edit a released step:
// append a new one.
struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE slides (
  id                     TEXT PRIMARY KEY NOT NULL,
  centre                 TEXT NOT NULL,
  relative_path          TEXT NOT NULL UNIQUE,
  file_bytes             INTEGER NOT NULL,
  mtime_ns               INTEGER NOT NULL,
  sha256                 TEXT NOT NULL,
  status                 TEXT NOT NULL CHECK (status IN ('ok', 'unreadable', 'removed')),
  status_reason          TEXT NOT NULL,
  vendor                 TEXT NOT NULL,
  levels_json            TEXT NOT NULL,
  mpp_x                  REAL,
  mpp_y                  REAL,
  objective_power        REAL,
  associated_images_json TEXT NOT NULL,
  background_rgb         INTEGER NOT NULL,
  level_tile_width_json  TEXT NOT NULL,
  level_tile_height_json TEXT NOT NULL,
  scanned_at             TEXT NOT NULL
);
CREATE INDEX slides_by_centre ON slides (centre, relative_path);
CREATE INDEX slides_by_centre_status ON slides (centre, status);
)sql"},
    {2, R"sql(
CREATE TABLE datasets (
  name         TEXT PRIMARY KEY NOT NULL,
  sha256       TEXT NOT NULL,
  rows         INTEGER NOT NULL,
  source       TEXT NOT NULL,
  imported_at  TEXT NOT NULL,
  content_json TEXT NOT NULL
);
)sql"},
    {3, R"sql(
CREATE TABLE sessions (
  key                 TEXT PRIMARY KEY NOT NULL,
  user_id             TEXT NOT NULL,
  display_name        TEXT NOT NULL,
  principal_json      TEXT NOT NULL,
  csrf_token          TEXT NOT NULL,
  refresh_token       TEXT NOT NULL,
  access_expires_unix INTEGER NOT NULL,
  ends_unix           INTEGER NOT NULL,
  created_unix        INTEGER NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_end ON sessions (ends_unix);
CREATE TABLE pending_logins (
  state_key     TEXT PRIMARY KEY NOT NULL,
  binding       TEXT NOT NULL,
  nonce         TEXT NOT NULL,
  code_verifier TEXT NOT NULL,
  return_to     TEXT NOT NULL,
  expires_unix  INTEGER NOT NULL
);
CREATE TABLE catalog_state (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
INSERT INTO catalog_state (id, version) VALUES (1, 0);
CREATE TABLE scan_lease (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, expires_unix INTEGER NOT NULL);
INSERT INTO scan_lease (id, holder, expires_unix) VALUES (1, '', 0);
)sql"},
};

constexpr int kLatestVersion = kMigrations[std::size(kMigrations) - 1].version;

// The column list shared by every SELECT and by the upsert, in this order.
#define MCVAL_SLIDE_COLUMNS                                                                      \
  "id, centre, relative_path, file_bytes, mtime_ns, sha256, status, status_reason, vendor, "      \
  "levels_json, mpp_x, mpp_y, objective_power, associated_images_json, background_rgb, "          \
  "level_tile_width_json, level_tile_height_json, scanned_at"

constexpr const char* kSelectActive =
    "SELECT " MCVAL_SLIDE_COLUMNS " FROM slides WHERE ?1 OR status <> 'removed' "
    "ORDER BY centre, relative_path";
constexpr const char* kSelectCentre =
    "SELECT " MCVAL_SLIDE_COLUMNS " FROM slides WHERE centre = ?2 AND (?1 OR status <> 'removed') "
    "ORDER BY centre, relative_path";
constexpr const char* kSelectById = "SELECT " MCVAL_SLIDE_COLUMNS " FROM slides WHERE id = ?1";
// ?1 centres as a JSON array or NULL (every centre), ?2 status or '' (any), ?3 include removed,
// ?4 lower-case part of the path or '', ?5 cursor or '', ?6 limit.
constexpr const char* kPageAscending =
    "SELECT " MCVAL_SLIDE_COLUMNS " FROM slides WHERE (?1 IS NULL OR centre IN (SELECT value FROM json_each(?1))) "
    "AND (CASE WHEN ?2 <> '' THEN status = ?2 ELSE (?3 OR status <> 'removed') END) "
    "AND (?4 = '' OR instr(lower(relative_path), ?4) > 0) AND (?5 = '' OR relative_path > ?5) "
    "ORDER BY relative_path LIMIT ?6";
constexpr const char* kPageDescending =
    "SELECT " MCVAL_SLIDE_COLUMNS " FROM slides WHERE (?1 IS NULL OR centre IN (SELECT value FROM json_each(?1))) "
    "AND (CASE WHEN ?2 <> '' THEN status = ?2 ELSE (?3 OR status <> 'removed') END) "
    "AND (?4 = '' OR instr(lower(relative_path), ?4) > 0) AND (?5 = '' OR relative_path < ?5) "
    "ORDER BY relative_path DESC LIMIT ?6";
constexpr const char* kUpsert =
    "INSERT INTO slides (" MCVAL_SLIDE_COLUMNS ") "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18) "
    "ON CONFLICT (id) DO UPDATE SET centre = excluded.centre, relative_path = excluded.relative_path, "
    "file_bytes = excluded.file_bytes, mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256, "
    "status = excluded.status, status_reason = excluded.status_reason, vendor = excluded.vendor, "
    "levels_json = excluded.levels_json, mpp_x = excluded.mpp_x, mpp_y = excluded.mpp_y, "
    "objective_power = excluded.objective_power, "
    "associated_images_json = excluded.associated_images_json, "
    "background_rgb = excluded.background_rgb, level_tile_width_json = excluded.level_tile_width_json, "
    "level_tile_height_json = excluded.level_tile_height_json, scanned_at = excluded.scanned_at";
constexpr const char* kCentres =
    "SELECT centre, COUNT(*), SUM(status = 'unreadable'), SUM(file_bytes) FROM slides "
    "WHERE status <> 'removed' GROUP BY centre ORDER BY centre";
constexpr const char* kSchemaVersion = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
constexpr const char* kDatasetHash = "SELECT sha256 FROM datasets WHERE name = ?1";
constexpr const char* kDatasetInsert =
    "INSERT INTO datasets (name, sha256, rows, source, imported_at, content_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr const char* kDatasetByName =
    "SELECT name, sha256, rows, source, imported_at, content_json FROM datasets WHERE name = ?1";
constexpr const char* kDatasetList =
    "SELECT name, sha256, rows, source, imported_at, '' FROM datasets ORDER BY name";

#undef MCVAL_SLIDE_COLUMNS

// SQLite's message; on a full disk (SQLITE_FULL, or an I/O error from ENOSPC or EDQUOT, which
// SQLite reports as "disk I/O error") one that says so and names the folder.
std::string db_message(sqlite3* db, const std::string& message) {
  const int errno_of_call = sqlite3_system_errno(db);
  if (sqlite3_errcode(db) != SQLITE_FULL && errno_of_call != ENOSPC && errno_of_call != EDQUOT) return message;
  const char* file = sqlite3_db_filename(db, "main");
  const std::string folder =
      file != nullptr && *file != '\0' ? std::filesystem::path(file).parent_path().string() : "?";
  return "no space left on the disk holding " + folder + " (the catalogue's folder): free some space (" + message + ")";
}

Error db_error(sqlite3* db, std::string_view what) {
  return Error{ErrorCode::database_error, db_message(db, std::string(what) + ": " + sqlite3_errmsg(db))};
}

// Runs SQL without parameters (pragmas, transaction control, migration DDL).
Status exec(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string detail = message ? message : sqlite3_errmsg(db);
    sqlite3_free(message);
    return Error{ErrorCode::database_error, db_message(db, std::string(sql).substr(0, 40) + ": " + detail)};
  }
  return {};
}

// One prepared statement. Bind failures are remembered and reported by the next step().
class Statement {
 public:
  static Result<Statement> prepare(sqlite3* db, const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return db_error(db, "prepare");
    }
    return Statement(db, stmt);
  }
  Statement(Statement&& other) noexcept
      : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), bind_rc_(other.bind_rc_) {}
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  void bind(int index, std::string_view text) {
    remember(sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void bind(int index, std::int64_t value) { remember(sqlite3_bind_int64(stmt_, index, value)); }
  void bind(int index, std::optional<double> value) {
    remember(value ? sqlite3_bind_double(stmt_, index, *value) : sqlite3_bind_null(stmt_, index));
  }

  // True when a row is available, false when done.
  Result<bool> step() {
    if (bind_rc_ != SQLITE_OK) return Error{ErrorCode::database_error, std::string("bind: ") + sqlite3_errstr(bind_rc_)};
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return db_error(db_, "step");
  }
  // Makes the statement ready for the next set of parameters.
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    bind_rc_ = SQLITE_OK;
  }

  std::string text(int column) const {
    const auto* bytes = sqlite3_column_text(stmt_, column);
    if (!bytes) return {};
    return std::string(reinterpret_cast<const char*>(bytes), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
  }
  std::int64_t int64(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::optional<double> optional_double(int column) const {
    if (sqlite3_column_type(stmt_, column) == SQLITE_NULL) return std::nullopt;
    return sqlite3_column_double(stmt_, column);
  }

 private:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  void remember(int rc) {
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back when left without commit().
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (active_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Status begin() {
    MCVAL_TRY(exec(db_, "BEGIN IMMEDIATE"));
    active_ = true;
    return {};
  }
  Status commit() {
    MCVAL_TRY(exec(db_, "COMMIT"));
    active_ = false;
    return {};
  }

 private:
  sqlite3* db_;
  bool active_ = false;
};

std::string dump(const json& j) { return compact_json(j); }

std::string levels_to_json(const std::vector<slide::LevelInfo>& levels) { return slide_levels_json(levels); }

Result<SlideRecord> read_record(const Statement& stmt) { return slide_from_row(stmt); }

Result<std::vector<SlideRecord>> read_all(Statement& stmt) {
  std::vector<SlideRecord> records;
  while (true) {
    MCVAL_TRY_ASSIGN(row, stmt.step());
    if (!row) return records;
    MCVAL_TRY_ASSIGN(record, read_record(stmt));
    records.push_back(std::move(record));
  }
}

void bind_record(Statement& stmt, const SlideRecord& r) {
  const auto& p = r.properties;
  stmt.bind(1, r.id);
  stmt.bind(2, r.centre);
  stmt.bind(3, r.relative_path);
  stmt.bind(4, r.file_bytes);
  stmt.bind(5, r.mtime_ns);
  stmt.bind(6, r.sha256);
  stmt.bind(7, to_string(r.status));
  stmt.bind(8, r.status_reason);
  stmt.bind(9, p.vendor);
  stmt.bind(10, levels_to_json(p.levels));
  stmt.bind(11, p.mpp_x);
  stmt.bind(12, p.mpp_y);
  stmt.bind(13, p.objective_power);
  stmt.bind(14, dump(json(p.associated_images)));
  stmt.bind(15, std::int64_t{(p.background_rgb[0] << 16) | (p.background_rgb[1] << 8) | p.background_rgb[2]});
  stmt.bind(16, dump(json(p.level_tile_width)));
  stmt.bind(17, dump(json(p.level_tile_height)));
  stmt.bind(18, r.scanned_at);
}

Status write_records(sqlite3* db, std::span<const SlideRecord> records) {
  if (records.empty()) return {};
  Transaction transaction(db);
  MCVAL_TRY(transaction.begin());
  MCVAL_TRY_ASSIGN(stmt, Statement::prepare(db, kUpsert));
  for (const auto& record : records) {
    bind_record(stmt, record);
    auto stepped = stmt.step();
    if (!stepped.ok()) {
      return Error{ErrorCode::database_error, "upsert of slide " + record.id + ": " + stepped.error().detail};
    }
    stmt.reset();
  }
  MCVAL_TRY(exec(db, "UPDATE catalog_state SET version = version + 1 WHERE id = 1"));
  return transaction.commit();
}

Result<int> read_schema_version(sqlite3* db) {
  MCVAL_TRY_ASSIGN(stmt, Statement::prepare(db, kSchemaVersion));
  MCVAL_TRY_ASSIGN(row, stmt.step());
  return row ? static_cast<int>(stmt.int64(0)) : 0;
}

}  // namespace

SqliteCatalog::SqliteCatalog(sqlite3* db, std::filesystem::path file) : db_(db), file_(std::move(file)) {}

SqliteCatalog::~SqliteCatalog() { sqlite3_close_v2(db_); }

namespace {
/// True when `folder` is on NFS: SQLite's WAL mode needs memory shared by every process that
/// opens the database, which pods on different nodes do not have; there the rollback journal
/// with NFSv4's byte-range locks is used instead.
bool on_nfs(const std::filesystem::path& folder) {
  constexpr long kNfsSuperMagic = 0x6969;
  struct statfs fs {};
  return statfs(folder.empty() ? "." : folder.c_str(), &fs) == 0 && static_cast<long>(fs.f_type) == kNfsSuperMagic;
}
}  // namespace

Result<std::unique_ptr<SqliteCatalog>> SqliteCatalog::open(const std::filesystem::path& file) {
  if (file.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    if (ec) {
      return Error{ErrorCode::database_error,
                   "cannot create folder " + file.parent_path().string() + ": " + ec.message()};
    }
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Error{ErrorCode::database_error, "cannot open " + file.string() + ": " + message};
  }
  std::unique_ptr<SqliteCatalog> catalog(new SqliteCatalog(db, file));
  auto with_file = [&file](const Error& e) {
    return Error{ErrorCode::database_error, file.string() + ": " + e.detail};
  };
  sqlite3_busy_timeout(db, 5000);
  if (auto s = exec(db, "PRAGMA foreign_keys = ON"); !s.ok()) return with_file(s.error());
  {
    const std::string mode = on_nfs(file.parent_path()) ? "delete" : "wal";
    const std::string pragma = "PRAGMA journal_mode = " + mode;
    auto stmt = Statement::prepare(db, pragma.c_str());
    if (!stmt.ok()) return with_file(stmt.error());
    auto row = stmt->step();
    if (!row.ok()) return with_file(row.error());
    if (*row && stmt->text(0) != mode) {
      log::warn("SQLite could not switch journal mode", {{"file", file.string()}, {"wanted", mode},
                                                         {"journal_mode", stmt->text(0)}});
    }
  }
  if (auto s = exec(db, "PRAGMA synchronous = NORMAL"); !s.ok()) return with_file(s.error());
  if (auto s = catalog->migrate(); !s.ok()) return with_file(s.error());
  return catalog;
}

Status SqliteCatalog::migrate() {
  std::lock_guard lock(mutex_);
  MCVAL_TRY(exec(db_, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)"));
  MCVAL_TRY_ASSIGN(found, read_schema_version(db_));
  if (found > kLatestVersion) {
    return Error{ErrorCode::database_error, "the database is at schema version " + std::to_string(found) +
                                                ", newer than this mcval supports (" + std::to_string(kLatestVersion) +
                                                "): run a newer mcval, or restore a backup made by this version"};
  }
  for (const auto& migration : kMigrations) {
    Transaction transaction(db_);
    MCVAL_TRY(transaction.begin());
    // Read again inside the transaction: another process may have migrated meanwhile.
    MCVAL_TRY_ASSIGN(current, read_schema_version(db_));
    if (current >= migration.version) continue;
    if (auto s = exec(db_, migration.sql); !s.ok()) {
      return Error{ErrorCode::database_error,
                   "migration " + std::to_string(migration.version) + " failed: " + s.error().detail};
    }
    MCVAL_TRY_ASSIGN(insert, Statement::prepare(db_, "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)"));
    insert.bind(1, std::int64_t{migration.version});
    insert.bind(2, utc_now_iso8601());
    MCVAL_TRY(insert.step());
    MCVAL_TRY(transaction.commit());
    log::info("catalog schema migrated", {{"version", migration.version}});
  }
  return {};
}

Result<std::vector<SlideRecord>> SqliteCatalog::list_slides(const std::optional<std::string>& centre,
                                                            bool include_removed) const {
  std::lock_guard lock(mutex_);
  MCVAL_TRY_ASSIGN(stmt, Statement::prepare(db_, centre ? kSelectCentre : kSelectActive));
  stmt.bind(1, std::int64_t{include_removed ? 1 : 0});
  if (centre) stmt.bind(2, *centre);
  return read_all(stmt);
}

Result<SlideRecord> SqliteCatalog::find_slide(const std::string& id) const {
  std::lock_guard lock(mutex_);
  MCVAL_TRY_ASSIGN(stmt, Statement::prepare(db_, kSelectById));
  stmt.bind(1, id);
  MCVAL_TRY_ASSIGN(row, stmt.step());
  if (!row) return Error{ErrorCode::slide_not_found, "no slide with id '" + id + "'"};
  return read_record(stmt);
}

Result<std::vector<CentreSummary>> SqliteCatalog::list_centres() const {
  std::lock_guard lock(mutex_);
  MCVAL_TRY_ASSIGN(stmt, Statement::prepare(db_, kCentres));
  std::vector<CentreSummary> centres;
  while (true) {
    MCVAL_TRY_ASSIGN(row, stmt.step());
    if (!row) return centres;
    centres.push_back({stmt.text(0), stmt.int64(1), stmt.int64(2), stmt.int64(3)});
  }
}

Status SqliteCatalog::upsert_slide(const SlideRecord& record) {
  std::lock_guard lock(mutex_);
  return write_records(db_, std::span<const SlideRecord>(&record, 1));
}

Status SqliteCatalog::upsert_slides(const std::vector<SlideRecord>& records) {
  std::lock_guard lock(mutex_);
  return write_records(db_, records);
}

namespace {
StoredDataset dataset_from_row(const Statement& stmt) {
  return {stmt.text(0), stmt.text(1), stmt.int64(2), stmt.text(3), stmt.text(4), stmt.text(5)};
}
}  // namespace

Result<bool> SqliteCatalog::save_dataset(const StoredDataset& dataset) {
  std::lock_guard lock(mutex_);
  Transaction transaction(db_);
  MCVAL_TRY(transaction.begin());
  MCVAL_TRY_ASSIGN(existing, Statement::prepare(db_, kDatasetHash));
  existing.bind(1, dataset.name);
  MCVAL_TRY_ASSIGN(found, existing.step());
  if (found) {
    if (existing.text(0) == dataset.sha256) return false;
    return Error{ErrorCode::invalid_argument, "dataset '" + dataset.name + "' already holds another snapshot (" +
                                                  existing.text(0).substr(0, 12) +
                                                  "…); datasets are frozen: import the new content under a new name"};
  }
  MCVAL_TRY_ASSIGN(insert, Statement::prepare(db_, kDatasetInsert));
  insert.bind(1, dataset.name);
  insert.bind(2, dataset.sha256);
  insert.bind(3, dataset.rows);
  insert.bind(4, dataset.source);
  insert.bind(5, dataset.imported_at);
  insert.bind(6, dataset.content_json);
  MCVAL_TRY(insert.step());
  MCVAL_TRY(transaction.commit());
  return true;
}

Result<StoredDataset> SqliteCatalog::find_dataset(const std::string& name) const {
  std::lock_guard lock(mutex_);
  MCVAL_TRY_ASSIGN(stmt, Statement::prepare(db_, kDatasetByName));
  stmt.bind(1, name);
  MCVAL_TRY_ASSIGN(found, stmt.step());
  if (!found) return Error{ErrorCode::not_found, "no dataset named '" + name + "' in the catalogue"};
  return dataset_from_row(stmt);
}

Result<std::vector<StoredDataset>> SqliteCatalog::list_datasets() const {
  std::lock_guard lock(mutex_);
  MCVAL_TRY_ASSIGN(stmt, Statement::prepare(db_, kDatasetList));
  std::vector<StoredDataset> datasets;
  while (true) {
    MCVAL_TRY_ASSIGN(row, stmt.step());
    if (!row) return datasets;
    datasets.push_back(dataset_from_row(stmt));
  }
}

int SqliteCatalog::schema_version() const {
  std::lock_guard lock(mutex_);
  auto version = read_schema_version(db_);
  if (!version.ok()) {
    log::error("cannot read the catalog schema version", {{"error", version.error().to_string()}});
    return 0;
  }
  return *version;
}

Result<SlidePage> SqliteCatalog::list_slides_page(const SlidePageQuery& query) const {
  if (query.limit < 1 || query.limit > 1000) {
    return Error{ErrorCode::invalid_argument, "limit must be between 1 and 1000"};
  }
  std::lock_guard lock(mutex_);
  MCVAL_TRY_ASSIGN(stmt, Statement::prepare(db_, query.descending ? kPageDescending : kPageAscending));
  if (query.centres) stmt.bind(1, dump(json(*query.centres)));
  stmt.bind(2, query.status ? std::string(to_string(*query.status)) : std::string());
  stmt.bind(3, std::int64_t{query.include_removed ? 1 : 0});
  stmt.bind(4, ascii_lower(query.name_contains));
  stmt.bind(5, query.after_path);
  stmt.bind(6, std::int64_t{query.limit} + 1);
  MCVAL_TRY_ASSIGN(records, read_all(stmt));
  return make_page(std::move(records), query.limit);
}

Status SqliteCatalog::ping() const {
  std::lock_guard lock(mutex_);
  return exec(db_, "SELECT 1");
}

Result<std::int64_t> SqliteCatalog::catalog_version() const {
  std::lock_guard lock(mutex_);
  MCVAL_TRY_ASSIGN(stmt, Statement::prepare(db_, "SELECT version FROM catalog_state WHERE id = 1"));
  MCVAL_TRY_ASSIGN(row, stmt.step());
  return row ? stmt.int64(0) : 0;
}

Result<bool> SqliteCatalog::acquire_scan_lease(const std::string& holder, std::chrono::seconds ttl) {
  const std::int64_t now = unix_now();
  MCVAL_TRY_ASSIGN(changed, execute_changes(
      "UPDATE scan_lease SET holder = ?1, expires_unix = ?2 WHERE id = 1 AND (holder = ?1 OR expires_unix < ?3)",
      {holder, std::to_string(now + ttl.count()), std::to_string(now)}));
  return changed == 1;
}

Status SqliteCatalog::release_scan_lease(const std::string& holder) {
  MCVAL_TRY(execute_changes("UPDATE scan_lease SET holder = '', expires_unix = 0 WHERE id = 1 AND holder = ?1",
                            {holder}));
  return {};
}

Result<std::int64_t> SqliteCatalog::execute_changes(const char* sql, const std::vector<std::string>& params) {
  std::lock_guard lock(mutex_);
  MCVAL_TRY_ASSIGN(stmt, Statement::prepare(db_, sql));
  for (std::size_t i = 0; i < params.size(); ++i) stmt.bind(static_cast<int>(i + 1), params[i]);
  MCVAL_TRY(stmt.step());
  return static_cast<std::int64_t>(sqlite3_changes(db_));
}

namespace {
constexpr const char* kSessionColumns =
    "key, user_id, display_name, principal_json, csrf_token, refresh_token, access_expires_unix, ends_unix, "
    "created_unix";

StoredSession session_from_row(const Statement& stmt) {
  return {stmt.text(0), stmt.text(1), stmt.text(2), stmt.text(3),  stmt.text(4),
          stmt.text(5), stmt.int64(6), stmt.int64(7), stmt.int64(8)};
}
}  // namespace

Status SqliteCatalog::put_pending_login(const StoredPendingLogin& login) {
  MCVAL_TRY(execute_changes(
      "INSERT OR REPLACE INTO pending_logins (state_key, binding, nonce, code_verifier, return_to, expires_unix) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
      {login.state_key, login.binding, login.nonce, login.code_verifier, login.return_to,
       std::to_string(login.expires_unix)}));
  return {};
}

Result<std::optional<StoredPendingLogin>> SqliteCatalog::take_pending_login(const std::string& state_key,
                                                                            std::int64_t now) {
  std::lock_guard lock(mutex_);
  MCVAL_TRY_ASSIGN(stmt, Statement::prepare(
      db_, "DELETE FROM pending_logins WHERE state_key = ?1 "
           "RETURNING state_key, binding, nonce, code_verifier, return_to, expires_unix"));
  stmt.bind(1, state_key);
  MCVAL_TRY_ASSIGN(row, stmt.step());
  if (!row) return std::optional<StoredPendingLogin>();
  StoredPendingLogin login{stmt.text(0), stmt.text(1), stmt.text(2), stmt.text(3), stmt.text(4), stmt.int64(5)};
  MCVAL_TRY(stmt.step());  // finishes the statement (and the deletion)
  if (login.expires_unix <= now) return std::optional<StoredPendingLogin>();
  return std::optional<StoredPendingLogin>(std::move(login));
}

Status SqliteCatalog::put_session(const StoredSession& s) {
  MCVAL_TRY(execute_changes(
      "INSERT OR REPLACE INTO sessions (key, user_id, display_name, principal_json, csrf_token, refresh_token, "
      "access_expires_unix, ends_unix, created_unix) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
      {s.key, s.user_id, s.display_name, s.principal_json, s.csrf_token, s.refresh_token,
       std::to_string(s.access_expires_unix), std::to_string(s.ends_unix), std::to_string(s.created_unix)}));
  return {};
}

Result<std::optional<StoredSession>> SqliteCatalog::find_session(const std::string& key, std::int64_t now) {
  std::lock_guard lock(mutex_);
  const std::string sql = std::string("SELECT ") + kSessionColumns + " FROM sessions WHERE key = ?1 AND ends_unix > ?2";
  MCVAL_TRY_ASSIGN(stmt, Statement::prepare(db_, sql.c_str()));
  stmt.bind(1, key);
  stmt.bind(2, now);
  MCVAL_TRY_ASSIGN(row, stmt.step());
  if (!row) return std::optional<StoredSession>();
  return std::optional<StoredSession>(session_from_row(stmt));
}

Result<bool> SqliteCatalog::update_session_tokens(const std::string& key, const std::string& principal_json,
                                                  std::int64_t access_expires_unix, const std::string& refresh_token) {
  MCVAL_TRY_ASSIGN(changed, execute_changes(
      "UPDATE sessions SET principal_json = ?2, access_expires_unix = ?3, refresh_token = ?4 WHERE key = ?1",
      {key, principal_json, std::to_string(access_expires_unix), refresh_token}));
  return changed > 0;
}

Result<bool> SqliteCatalog::delete_session(const std::string& key) {
  MCVAL_TRY_ASSIGN(changed, execute_changes("DELETE FROM sessions WHERE key = ?1", {key}));
  return changed > 0;
}

Result<std::vector<StoredSession>> SqliteCatalog::list_sessions(std::int64_t now) {
  std::lock_guard lock(mutex_);
  const std::string sql = std::string("SELECT ") + kSessionColumns +
                          " FROM sessions WHERE ends_unix > ?1 ORDER BY created_unix DESC, key";
  MCVAL_TRY_ASSIGN(stmt, Statement::prepare(db_, sql.c_str()));
  stmt.bind(1, now);
  std::vector<StoredSession> sessions;
  while (true) {
    MCVAL_TRY_ASSIGN(row, stmt.step());
    if (!row) return sessions;
    sessions.push_back(session_from_row(stmt));
  }
}

Result<std::int64_t> SqliteCatalog::revoke_sessions(const std::string& user_id, const std::string& key_prefix) {
  MCVAL_TRY(check_revoke_arguments(user_id, key_prefix));
  return execute_changes(
      "DELETE FROM sessions WHERE (?1 <> '' AND user_id = ?1) OR (?2 <> '' AND substr(key, 1, length(?2)) = ?2)",
      {user_id, key_prefix});
}

Result<std::int64_t> SqliteCatalog::purge_expired(std::int64_t now) {
  MCVAL_TRY_ASSIGN(sessions, execute_changes("DELETE FROM sessions WHERE ends_unix <= ?1", {std::to_string(now)}));
  MCVAL_TRY_ASSIGN(logins, execute_changes("DELETE FROM pending_logins WHERE expires_unix <= ?1", {std::to_string(now)}));
  return sessions + logins;
}

Status SqliteCatalog::backup_to(const std::filesystem::path& file) const {
  std::lock_guard lock(mutex_);
  const std::filesystem::path partial = file.string() + ".partial";
  std::error_code ec;
  std::filesystem::remove(partial, ec);
  sqlite3* target = nullptr;
  int rc = sqlite3_open_v2(partial.c_str(), &target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_backup* backup = sqlite3_backup_init(target, "main", db_, "main");
    if (backup == nullptr) {
      rc = sqlite3_errcode(target);
    } else {
      // One step copies every page under one read transaction: a consistent snapshot while
      // others keep writing (they wait at most the busy timeout).
      do {
        rc = sqlite3_backup_step(backup, -1);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(100);
      } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
      const int finished = sqlite3_backup_finish(backup);
      if (rc == SQLITE_DONE) rc = finished;
    }
  }
  const std::string message = target ? sqlite3_errmsg(target) : sqlite3_errstr(rc);
  if (rc == SQLITE_OK) rc = exec(target, "PRAGMA journal_mode = DELETE").ok() ? SQLITE_OK : SQLITE_ERROR;
  sqlite3_close_v2(target);
  if (rc != SQLITE_OK) {
    std::filesystem::remove(partial, ec);
    return Error{ErrorCode::database_error, "backup to " + file.string() + " failed: " + message};
  }
  // SQLite synced the copy when the backup committed; the rename makes it appear whole.
  std::filesystem::rename(partial, file, ec);
  if (ec) return Error{ErrorCode::io_error, "cannot rename " + partial.string() + ": " + ec.message()};
  return {};
}

}  // namespace mcval::catalog
