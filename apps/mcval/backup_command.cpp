// `mcval backup`: the operator's copy of the catalogue database (docs/deployment.md, backups).
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <vector>

#include "commands.h"
#include "mcval/catalog/sqlite_catalog.h"
#include "mcval/catalog/store_copy.h"
#include "mcval/common/logging.h"

namespace mcval::app {

namespace {
/// "catalog-20261124T021700Z.sqlite": names that sort by time.
std::string backup_name(std::time_t now) {
  std::tm tm{};
  gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  return std::string("catalog-") + stamp + ".sqlite";
}

bool is_backup(const std::filesystem::path& file) {
  const std::string name = file.filename().string();
  return name.starts_with("catalog-") && name.ends_with("Z.sqlite");
}
}  // namespace

namespace {
/// A PostgreSQL store copied, verified, into a new SQLite file (written beside, renamed when whole):
/// one file that `mcval db migrate --from sqlite:///<file> --to postgresql://...` restores into
/// an empty database.
Status backup_postgresql(const Config& config, const std::filesystem::path& target) {
  MCVAL_TRY_ASSIGN(source, open_store(config));
  const std::filesystem::path partial = target.string() + ".partial";
  std::error_code ec;
  std::filesystem::remove(partial, ec);
  {
    MCVAL_TRY_ASSIGN(copy, catalog::SqliteCatalog::open(partial));
    if (auto copied = catalog::copy_store(*source, *copy, {}); !copied.ok()) {
      std::filesystem::remove(partial, ec);
      return copied.error();
    }
  }
  std::filesystem::remove(partial.string() + "-wal", ec);
  std::filesystem::remove(partial.string() + "-shm", ec);
  std::filesystem::rename(partial, target, ec);
  if (ec) return Error{ErrorCode::io_error, "cannot rename " + partial.string() + ": " + ec.message()};
  return {};
}
}  // namespace

int run_backup(const Config& config, const BackupOptions& options) {
  auto engine = catalog::store_engine(config.database);
  if (!engine.ok()) return fail(engine.error());
  std::string database = config.database.empty() ? catalog_file(config) : config.database.substr(9);
  std::error_code ec;
  if (*engine == "sqlite" && !std::filesystem::is_regular_file(database, ec)) {
    return fail(Error{ErrorCode::not_found, "no catalogue at " + database + " (wrong --data?)"});
  }
  std::filesystem::create_directories(options.out, ec);
  if (ec) return fail(Error{ErrorCode::io_error, "cannot create " + options.out + ": " + ec.message()});
  const std::filesystem::path target = std::filesystem::path(options.out) / backup_name(std::time(nullptr));
  if (*engine == "postgresql") {
    database = catalog::redact_database_url(config.database);
    if (auto written = backup_postgresql(config, target); !written.ok()) return fail(written.error());
  } else {
    auto catalog = catalog::SqliteCatalog::open(database);
    if (!catalog.ok()) return fail(catalog.error());
    if (auto written = (*catalog)->backup_to(target); !written.ok()) return fail(written.error());
  }

  std::vector<std::filesystem::path> backups;
  for (auto it = std::filesystem::directory_iterator(options.out, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    if (is_backup(it->path())) backups.push_back(it->path());
  }
  std::sort(backups.begin(), backups.end());
  std::size_t removed = 0;
  while (backups.size() > static_cast<std::size_t>(options.keep)) {
    std::filesystem::remove(backups.front(), ec);
    if (ec) log::warn("cannot remove an old backup", {{"file", backups.front().string()}, {"error", ec.message()}});
    removed += !ec;
    backups.erase(backups.begin());
  }
  std::printf("catalogue %s backed up to %s (%zu backups kept, %zu old ones removed)\n", database.c_str(),
              target.c_str(), backups.size(), removed);
  return 0;
}

}  // namespace mcval::app
