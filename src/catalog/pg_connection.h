#pragma once
// A small RAII layer over libpq for PostgresCatalog: connections, results, prepared statements
// and a bounded pool. Private to the catalog module: nothing outside it sees libpq.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mcval/common/result.h"

struct pg_conn;
struct pg_result;

namespace mcval::catalog::pg {

struct ResultDeleter {
  void operator()(pg_result* result) const;
};
/// A query's result: rows read with value()/is_null(), all as text.
class Rows {
 public:
  explicit Rows(pg_result* result) : result_(result) {}
  int count() const;
  std::string value(int row, int column) const;
  bool is_null(int row, int column) const;
  std::int64_t int64(int row, int column) const;
  std::optional<double> optional_double(int row, int column) const;
  std::int64_t affected() const;  ///< rows changed by INSERT/UPDATE/DELETE

 private:
  std::unique_ptr<pg_result, ResultDeleter> result_;
};

/// A statement by name: prepared once per connection (when prepared statements are on).
struct Statement {
  const char* name;
  const char* sql;
};

using Params = std::vector<std::optional<std::string>>;  ///< nullopt: SQL NULL

struct ConnectOptions {
  std::string url;       ///< libpq URI, e.g. postgresql://mcval@db:5432/mcval?sslmode=verify-full
  std::string password;  ///< empty: none given (libpq may still use ~/.pgpass or PGPASSWORD)
  int connect_timeout_s = 2;
  std::chrono::milliseconds statement_timeout{5000};
  bool prepared_statements = true;
};

/// Not thread-safe: one thread at a time (the pool hands it out).
class Connection {
 public:
  /// database_unavailable when the server cannot be reached or refuses the connection.
  static Result<std::unique_ptr<Connection>> open(const ConnectOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Result<Rows> exec(const Statement& statement, const Params& params = {});
  /// SQL without parameters, possibly several statements (transaction control, migrations).
  Result<Rows> exec_script(const std::string& sql);
  /// True once the connection to the server is lost: the pool drops it.
  bool broken() const;

 private:
  Connection(pg_conn* conn, bool prepared_statements) : conn_(conn), prepared_statements_(prepared_statements) {}
  Error error_of(pg_result* result, const std::string& what) const;

  pg_conn* conn_;
  bool prepared_statements_;
  std::set<std::string> prepared_;
};

/// Thread-safe, bounded: at most `size` connections, opened when needed; a caller waits up to
/// `acquire_timeout` for one (then database_unavailable).
class Pool {
 public:
  Pool(ConnectOptions options, int size, std::chrono::milliseconds acquire_timeout);
  ~Pool();

  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> connection, bool reused)
        : pool_(pool), connection_(std::move(connection)), reused_(reused) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection& operator*() { return *connection_; }
    Connection* operator->() { return connection_.get(); }
    /// True when the connection had served before (it may have died while idle).
    bool reused() const { return reused_; }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> connection_;
    bool reused_;
  };

  Result<Lease> acquire();
  const ConnectOptions& options() const { return options_; }

 private:
  void give_back(std::unique_ptr<Connection> connection);

  ConnectOptions options_;
  int size_;
  std::chrono::milliseconds acquire_timeout_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;
  int open_ = 0;  ///< idle + leased + being opened
};

/// BEGIN ... COMMIT on one connection; rolled back when left without commit().
class Transaction {
 public:
  explicit Transaction(Connection& connection) : connection_(connection) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  Status begin();
  Status commit();

 private:
  Connection& connection_;
  bool active_ = false;
};

}  // namespace mcval::catalog::pg
