#include "pg_connection.h"

#include <libpq-fe.h>

#include <cstdlib>

#include "mcval/common/strings.h"

namespace mcval::catalog::pg {

void ResultDeleter::operator()(pg_result* result) const { PQclear(result); }

int Rows::count() const { return PQntuples(result_.get()); }
std::string Rows::value(int row, int column) const {
  return std::string(PQgetvalue(result_.get(), row, column),
                     static_cast<std::size_t>(PQgetlength(result_.get(), row, column)));
}
bool Rows::is_null(int row, int column) const { return PQgetisnull(result_.get(), row, column) == 1; }
std::int64_t Rows::int64(int row, int column) const {
  return std::strtoll(PQgetvalue(result_.get(), row, column), nullptr, 10);
}
std::optional<double> Rows::optional_double(int row, int column) const {
  if (is_null(row, column)) return std::nullopt;
  return std::strtod(PQgetvalue(result_.get(), row, column), nullptr);
}
std::int64_t Rows::affected() const {
  const char* text = PQcmdTuples(result_.get());
  return text && *text ? std::strtoll(text, nullptr, 10) : 0;
}

namespace {

/// SQLSTATEs that mean "the database is not there now", answered 503 rather than 500: connection
/// exceptions (08), shutdown or start-up in progress (57P01-57P03), the statement timeout
/// (57014), too many connections (53300), read-only during a fail-over (25006).
bool unavailable_state(const std::string& state) {
  return state.starts_with("08") || state == "57P01" || state == "57P02" || state == "57P03" || state == "57014" ||
         state == "53300" || state == "25006";
}

std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return std::string(trim(text));
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::open(const ConnectOptions& options) {
  const std::string timeout = std::to_string(options.connect_timeout_s);
  // tcp_user_timeout and keepalives: a server that vanishes without closing the socket is noticed
  // within seconds instead of a request hanging on it.
  std::vector<const char*> keys = {"dbname", "connect_timeout", "application_name", "tcp_user_timeout",
                                   "keepalives_idle", "keepalives_interval", "keepalives_count"};
  std::vector<const char*> values = {options.url.c_str(), timeout.c_str(), "mcval", "5000", "5", "2", "2"};
  if (!options.password.empty()) {
    keys.push_back("password");
    values.push_back(options.password.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) return Error{ErrorCode::database_unavailable, "out of memory connecting to PostgreSQL"};
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = one_line(PQerrorMessage(conn));
    PQfinish(conn);
    // A wrong password or an unknown database will not fix itself, but the operator sees the
    // reason either way; the request is answered 503 and retried later.
    return Error{ErrorCode::database_unavailable, "cannot connect to PostgreSQL: " + message};
  }
  // The server's NOTICEs ("relation already exists, skipping") are not for the user's terminal.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  std::unique_ptr<Connection> connection(new Connection(conn, options.prepared_statements));
  // Every connection of every replica sets the same timeout, so behind PgBouncer in transaction
  // mode (where a SET outlives this client's use of the server connection) nothing differs.
  const std::string set_timeout = "SET statement_timeout = " + std::to_string(options.statement_timeout.count());
  MCVAL_TRY(connection->exec_script(set_timeout));
  return connection;
}

Connection::~Connection() { PQfinish(conn_); }

bool Connection::broken() const { return PQstatus(conn_) != CONNECTION_OK; }

Error Connection::error_of(pg_result* result, const std::string& what) const {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string sqlstate = state ? state : "";
  std::string message = one_line(result ? PQresultErrorMessage(result) : PQerrorMessage(conn_));
  if (message.empty()) message = one_line(PQerrorMessage(conn_));
  const bool unavailable = broken() || unavailable_state(sqlstate);
  std::string detail = what + ": " + message;
  if (!sqlstate.empty()) detail += " (SQLSTATE " + sqlstate + ")";
  return Error{unavailable ? ErrorCode::database_unavailable : ErrorCode::database_error, detail};
}

Result<Rows> Connection::exec(const Statement& statement, const Params& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  const int n = static_cast<int>(values.size());
  PGresult* result = nullptr;
  if (prepared_statements_) {
    if (!prepared_.contains(statement.name)) {
      PGresult* prepared = PQprepare(conn_, statement.name, statement.sql, n, nullptr);
      if (prepared == nullptr || PQresultStatus(prepared) != PGRES_COMMAND_OK) {
        Error error = error_of(prepared, std::string(statement.name) + " (prepare)");
        PQclear(prepared);
        if (broken()) prepared_.clear();
        return error;
      }
      PQclear(prepared);
      prepared_.insert(statement.name);
    }
    result = PQexecPrepared(conn_, statement.name, n, values.data(), nullptr, nullptr, 0);
  } else {
    result = PQexecParams(conn_, statement.sql, n, nullptr, values.data(), nullptr, nullptr, 0);
  }
  const auto status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    Error error = error_of(result, statement.name);
    PQclear(result);
    if (broken()) prepared_.clear();
    return error;
  }
  return Rows(result);
}

Result<Rows> Connection::exec_script(const std::string& sql) {
  PGresult* result = PQexec(conn_, sql.c_str());
  const auto status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    Error error = error_of(result, sql.substr(0, 40));
    PQclear(result);
    return error;
  }
  return Rows(result);
}

Pool::Pool(ConnectOptions options, int size, std::chrono::milliseconds acquire_timeout)
    : options_(std::move(options)), size_(size < 1 ? 1 : size), acquire_timeout_(acquire_timeout) {}

Pool::~Pool() = default;

Pool::Lease::~Lease() {
  if (pool_ != nullptr && connection_ != nullptr) pool_->give_back(std::move(connection_));
}

Result<Pool::Lease> Pool::acquire() {
  std::unique_lock lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + acquire_timeout_;
  while (idle_.empty() && open_ >= size_) {
    if (available_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() && open_ >= size_) {
      return Error{ErrorCode::database_unavailable,
                   "no database connection free within " + std::to_string(acquire_timeout_.count()) + " ms (pool of " +
                       std::to_string(size_) + ")"};
    }
  }
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(connection), /*reused=*/true);
  }
  ++open_;
  lock.unlock();
  auto opened = Connection::open(options_);
  if (!opened.ok()) {
    lock.lock();
    --open_;
    available_.notify_one();
    return std::move(opened).error();
  }
  return Lease(this, std::move(opened).value(), /*reused=*/false);
}

void Pool::give_back(std::unique_ptr<Connection> connection) {
  std::lock_guard lock(mutex_);
  if (connection->broken()) {
    --open_;
    connection.reset();
  } else {
    idle_.push_back(std::move(connection));
  }
  available_.notify_one();
}

Transaction::~Transaction() {
  if (active_) (void)connection_.exec_script("ROLLBACK");
}

Status Transaction::begin() {
  MCVAL_TRY(connection_.exec_script("BEGIN"));
  active_ = true;
  return {};
}

Status Transaction::commit() {
  active_ = false;
  MCVAL_TRY(connection_.exec_script("COMMIT"));
  return {};
}

}  // namespace mcval::catalog::pg
