#include <cstdio>
#include <array>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "command_audit.h"
#include "commands.h"
#include "mcval/catalog/catalog_store.h"
#include "mcval/common/clock.h"
#include "mcval/dataset/dataset.h"

namespace mcval::app {

Result<dataset::Dataset> resolve_dataset(const Config& config, const std::string& name_or_file) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(name_or_file, ec)) return dataset::load_dataset(name_or_file);
  if (!store_exists(config)) {
    return Error{ErrorCode::not_found, "'" + name_or_file + "' is neither a file nor a dataset in the catalogue"};
  }
  MCVAL_TRY_ASSIGN(catalog, open_store(config));
  auto stored = catalog->find_dataset(name_or_file);
  if (!stored.ok()) {
    return Error{ErrorCode::not_found, "'" + name_or_file + "' is neither a file nor a dataset in the catalogue"};
  }
  // The stored snapshot carries its hash; parsing checks the content still matches it.
  return dataset::parse_dataset_json(stored->content_json, stored->name);
}

namespace {

/// The centre of every row, or "" when the rows span several.
std::string only_centre(const dataset::Dataset& data) {
  std::string centre;
  for (const auto& row : data.rows()) {
    if (!centre.empty() && row.centre != centre) return "";
    centre = row.centre;
  }
  return centre;
}

}  // namespace

int run_dataset_import(const Config& config, const std::string& file, const std::string& name) {
  auto audit = CommandAudit::open(config);
  if (!audit.ok()) return fail(audit.error());
  const auto refused = [&](const Error& error) {
    const std::string what = name.empty() ? std::filesystem::path(file).filename().string() : name;
    (void)audit->record(audit::Action::dataset_imported, "dataset:" + what, "", audit::Outcome::failed,
                        std::string(error_name(error.code)));
    return fail(error);
  };
  auto loaded = dataset::load_dataset(file);
  if (!loaded.ok()) return refused(loaded.error());
  dataset::Dataset data = std::move(loaded).value();
  if (!name.empty()) {
    auto renamed = dataset::Dataset::from_rows(name, data.rows());
    if (!renamed.ok()) return refused(renamed.error());
    data = std::move(renamed).value();
  }
  auto catalog = open_store(config);
  if (!catalog.ok()) return refused(catalog.error());
  const catalog::StoredDataset stored{data.name(), data.sha256(), static_cast<std::int64_t>(data.size()),
                                      std::filesystem::path(file).filename().string(), utc_now_iso8601(),
                                      dataset::dataset_to_json(data)};
  auto saved = (*catalog)->save_dataset(stored);
  if (!saved.ok()) return refused(saved.error());
  std::printf("%s dataset '%s': %zu slides, sha256 %s\n", *saved ? "imported" : "already present:", data.name().c_str(),
              data.size(), data.sha256().c_str());
  if (*saved) {
    auto written = audit->record(audit::Action::dataset_imported, "dataset:" + data.name() + "@" + data.sha256().substr(0, 16),
                                 only_centre(data), audit::Outcome::allowed);
    if (!written.ok()) return fail(written.error());
  }
  return 0;
}

int run_dataset_list(const Config& config) {
  auto catalog = open_store(config);
  if (!catalog.ok()) return fail(catalog.error());
  auto datasets = (*catalog)->list_datasets();
  if (!datasets.ok()) return fail(datasets.error());
  std::printf("%-24s  %8s  %-20s  %-16s  %s\n", "NAME", "SLIDES", "IMPORTED", "SHA256", "SOURCE");
  for (const auto& d : *datasets) {
    std::printf("%-24s  %8lld  %-20.19s  %-16.16s  %s\n", d.name.c_str(), static_cast<long long>(d.rows),
                d.imported_at.c_str(), d.sha256.c_str(), d.source.c_str());
  }
  std::printf("%zu datasets\n", datasets->size());
  return 0;
}

int run_dataset_show(const Config& config, const std::string& name) {
  auto data = resolve_dataset(config, name);
  if (!data.ok()) return fail(data.error());
  std::map<std::string, std::array<std::size_t, 3>> per_centre;  // slides, positive, excluded
  for (const auto& r : data->rows()) {
    auto& c = per_centre[r.centre];
    c[0] += 1;
    c[1] += r.label == 1 ? 1 : 0;
    c[2] += r.excluded() ? 1 : 0;
  }
  nlohmann::json centres = nlohmann::json::object();
  for (const auto& [centre, c] : per_centre) centres[centre] = {{"slides", c[0]}, {"positive", c[1]}, {"excluded", c[2]}};
  const nlohmann::json summary = {{"name", data->name()}, {"sha256", data->sha256()}, {"slides", data->size()},
                                  {"centres", centres}};
  std::printf("%s\n", summary.dump(2).c_str());
  return 0;
}

}  // namespace mcval::app
