// The shared store from the command line: opening it as the settings say (every command),
// `mcval db migrate` (a whole store copied into an empty one, verified), `mcval sessions
// list|revoke` (browser sessions, for administrators).
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "mcval/catalog/store_copy.h"
#include "mcval/common/files.h"
#include "mcval/common/strings.h"

namespace mcval::app {

catalog::StoreOptions store_options(const Config& config, const std::string& url) {
  catalog::StoreOptions options;
  options.url = url;
  options.data_folder = config.data;
  options.pool_size = config.database_pool_size;
  options.statement_timeout = std::chrono::milliseconds(config.database_statement_timeout_ms);
  options.prepared_statements = config.database_prepared_statements;
  return options;
}

Result<std::unique_ptr<catalog::CatalogStore>> open_store_at(const Config& config, const std::string& url) {
  auto options = store_options(config, url);
  MCVAL_TRY_ASSIGN(engine, catalog::store_engine(url));
  if (engine == "postgresql" && !config.database_password_file.empty()) {
    auto password = read_file(config.database_password_file);
    if (!password.ok()) {
      return Error{ErrorCode::config_invalid,
                   "database_password_file '" + config.database_password_file + "' cannot be read"};
    }
    options.password = std::string(trim(*password));
  }
  return catalog::open_catalog_store(options);
}

Result<std::unique_ptr<catalog::CatalogStore>> open_store(const Config& config) {
  return open_store_at(config, config.database);
}

bool store_exists(const Config& config) {
  if (!config.database.empty()) return true;  // an explicit store: opening it says whether it is there
  std::error_code ec;
  return std::filesystem::exists(catalog_file(config), ec);
}

int run_db_migrate(const Config& config, const DbMigrateOptions& options) {
  for (const auto& url : {options.from, options.to}) {
    if (auto engine = catalog::store_engine(url); !engine.ok()) return fail(engine.error());
  }
  if (options.from.starts_with("sqlite://")) {
    std::error_code ec;
    const std::filesystem::path file = options.from.substr(9);
    if (!std::filesystem::is_regular_file(file, ec)) {
      return fail(Error{ErrorCode::not_found, "no SQLite store at " + file.string()});
    }
  }
  auto from = open_store_at(config, options.from);
  if (!from.ok()) return fail(from.error());
  auto to = open_store_at(config, options.to);
  if (!to.ok()) return fail(to.error());
  auto copied = catalog::copy_store(**from, **to, [](const std::string& table, std::int64_t rows) {
    std::fprintf(stderr, "copied %s: %lld rows\n", table.c_str(), static_cast<long long>(rows));
  });
  if (!copied.ok()) return fail(copied.error());
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& t : *copied) tables.push_back({{"table", t.table}, {"rows", t.rows}, {"sha256", t.sha256}});
  if (options.json) {
    std::printf("%s\n", nlohmann::json({{"from", (*from)->describe()}, {"to", (*to)->describe()}, {"tables", tables},
                                        {"verified", true}})
                            .dump(2)
                            .c_str());
  } else {
    std::printf("copied %s into %s; verified:\n", (*from)->describe().c_str(), (*to)->describe().c_str());
    for (const auto& t : *copied) {
      std::printf("  %-9s %10lld rows  sha256 %s\n", t.table.c_str(), static_cast<long long>(t.rows), t.sha256.c_str());
    }
  }
  return 0;
}

namespace {
std::string utc_time(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}
}  // namespace

int run_sessions_list(const Config& config, bool json) {
  auto store = open_store(config);
  if (!store.ok()) return fail(store.error());
  auto sessions = (*store)->list_sessions(static_cast<std::int64_t>(std::time(nullptr)));
  if (!sessions.ok()) return fail(sessions.error());
  nlohmann::json list = nlohmann::json::array();
  // The session id shown is the first 16 hex digits of the stored hash: enough to revoke one,
  // useless as a cookie.
  for (const auto& s : *sessions) {
    list.push_back({{"session", s.key.substr(0, 16)},
                    {"user", s.user_id},
                    {"name", s.display_name},
                    {"created", utc_time(s.created_unix)},
                    {"ends", utc_time(s.ends_unix)}});
  }
  if (json) {
    std::printf("%s\n", list.dump(2).c_str());
    return 0;
  }
  std::printf("%-16s  %-20s  %-20s  %-20s  %s\n", "SESSION", "CREATED", "ENDS", "NAME", "USER");
  for (const auto& s : list) {
    std::printf("%-16s  %-20s  %-20s  %-20s  %s\n", s["session"].get<std::string>().c_str(),
                s["created"].get<std::string>().c_str(), s["ends"].get<std::string>().c_str(),
                s["name"].get<std::string>().c_str(), s["user"].get<std::string>().c_str());
  }
  return 0;
}

int run_sessions_revoke(const Config& config, const SessionsRevokeOptions& options) {
  auto store = open_store(config);
  if (!store.ok()) return fail(store.error());
  auto revoked = (*store)->revoke_sessions(options.user, options.session);
  if (!revoked.ok()) return fail(revoked.error());
  std::printf("%lld sessions ended\n", static_cast<long long>(*revoked));
  return 0;
}

}  // namespace mcval::app
