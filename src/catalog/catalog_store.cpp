#include "mcval/catalog/catalog_store.h"

#include "mcval/catalog/postgres_catalog.h"
#include "mcval/catalog/sqlite_catalog.h"

namespace mcval::catalog {

Result<std::string> store_engine(const std::string& url) {
  if (url.empty() || url.starts_with("sqlite://")) return std::string("sqlite");
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) return std::string("postgresql");
  return Error{ErrorCode::config_invalid, "--database '" + redact_database_url(url) +
                                              "' is neither sqlite:///path nor postgresql://user@host:port/database"};
}

std::string redact_database_url(const std::string& url) {
  std::string out = url;
  // user:password@host
  if (const auto scheme = out.find("://"); scheme != std::string::npos) {
    const auto authority_end = out.find_first_of("/?", scheme + 3);
    const auto at = out.rfind('@', authority_end == std::string::npos ? out.size() : authority_end);
    if (at != std::string::npos && at > scheme) {
      const auto colon = out.find(':', scheme + 3);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // ...?password=secret&...
  for (std::size_t pos = out.find("password="); pos != std::string::npos; pos = out.find("password=", pos + 1)) {
    if (pos > 0 && out[pos - 1] != '?' && out[pos - 1] != '&') continue;
    const std::size_t value = pos + 9;
    const std::size_t end = out.find('&', value);
    out.replace(value, (end == std::string::npos ? out.size() : end) - value, "***");
  }
  return out;
}

Result<std::unique_ptr<CatalogStore>> open_catalog_store(const StoreOptions& options) {
  MCVAL_TRY_ASSIGN(engine, store_engine(options.url));
  if (engine == "postgresql") {
    MCVAL_TRY_ASSIGN(store, PostgresCatalog::open(options));
    return std::unique_ptr<CatalogStore>(std::move(store));
  }
  const std::filesystem::path file = options.url.empty() ? options.data_folder / "catalog.sqlite"
                                                          : std::filesystem::path(options.url.substr(9));
  MCVAL_TRY_ASSIGN(store, SqliteCatalog::open(file));
  return std::unique_ptr<CatalogStore>(std::move(store));
}

}  // namespace mcval::catalog
