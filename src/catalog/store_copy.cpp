#include "mcval/catalog/store_copy.h"

#include <algorithm>

#include "mcval/common/sha256.h"
#include "store_support.h"

namespace mcval::catalog {

namespace {

/// Canonical form of a row: its fields separated by unit separators, rows by record separators.
class Digest {
 public:
  explicit Digest(std::string table) : table_(std::move(table)) {}
  void row(const std::vector<std::optional<std::string>>& fields) {
    for (const auto& field : fields) {
      text_ += field ? "v" + *field : std::string("n");
      text_ += '\x1f';
    }
    text_ += '\x1e';
    ++rows_;
  }
  TableDigest finish() const { return {table_, rows_, sha256_hex(text_)}; }

 private:
  std::string table_;
  std::string text_;
  std::int64_t rows_ = 0;
};

std::vector<std::optional<std::string>> session_fields(const StoredSession& s) {
  return {s.key, s.user_id, s.display_name, s.principal_json, s.csrf_token, s.refresh_token,
          std::to_string(s.access_expires_unix), std::to_string(s.ends_unix), std::to_string(s.created_unix)};
}

Result<std::vector<StoredDataset>> full_datasets(const CatalogStore& store) {
  MCVAL_TRY_ASSIGN(listed, store.list_datasets());
  std::vector<StoredDataset> datasets;
  for (const auto& entry : listed) {
    MCVAL_TRY_ASSIGN(full, store.find_dataset(entry.name));
    datasets.push_back(std::move(full));
  }
  return datasets;
}

}  // namespace

Result<std::vector<TableDigest>> digest_store(CatalogStore& store) {
  MCVAL_TRY_ASSIGN(slides, store.list_slides(std::nullopt, /*include_removed=*/true));
  std::sort(slides.begin(), slides.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  Digest slide_digest("slides");
  for (const auto& slide : slides) slide_digest.row(slide_values(slide));

  MCVAL_TRY_ASSIGN(datasets, full_datasets(store));
  Digest dataset_digest("datasets");
  for (const auto& d : datasets) {
    dataset_digest.row({d.name, d.sha256, std::to_string(d.rows), d.source, d.imported_at, d.content_json});
  }

  MCVAL_TRY_ASSIGN(sessions, store.list_sessions(0));
  std::sort(sessions.begin(), sessions.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  Digest session_digest("sessions");
  for (const auto& s : sessions) session_digest.row(session_fields(s));

  return std::vector<TableDigest>{slide_digest.finish(), dataset_digest.finish(), session_digest.finish()};
}

Result<std::vector<TableDigest>> copy_store(CatalogStore& from, CatalogStore& to,
                                            const std::function<void(const std::string&, std::int64_t)>& on_progress) {
  MCVAL_TRY_ASSIGN(target, digest_store(to));
  for (const auto& table : target) {
    if (table.rows != 0) {
      return Error{ErrorCode::invalid_argument, "the target " + to.describe() + " is not empty: its " + table.table +
                                                    " table holds " + std::to_string(table.rows) +
                                                    " rows (copy only into an empty database)"};
    }
  }
  auto progress = [&](const std::string& table, std::int64_t rows) {
    if (on_progress) on_progress(table, rows);
  };

  MCVAL_TRY_ASSIGN(slides, from.list_slides(std::nullopt, /*include_removed=*/true));
  constexpr std::size_t kBatch = 1000;
  for (std::size_t start = 0; start < slides.size(); start += kBatch) {
    const auto end = std::min(slides.size(), start + kBatch);
    MCVAL_TRY(to.upsert_slides(std::vector<SlideRecord>(slides.begin() + static_cast<std::ptrdiff_t>(start),
                                                        slides.begin() + static_cast<std::ptrdiff_t>(end))));
    progress("slides", static_cast<std::int64_t>(end));
  }
  MCVAL_TRY_ASSIGN(datasets, full_datasets(from));
  for (const auto& dataset : datasets) MCVAL_TRY(to.save_dataset(dataset));
  progress("datasets", static_cast<std::int64_t>(datasets.size()));
  MCVAL_TRY_ASSIGN(sessions, from.list_sessions(0));
  for (const auto& session : sessions) MCVAL_TRY(to.put_session(session));
  progress("sessions", static_cast<std::int64_t>(sessions.size()));

  MCVAL_TRY_ASSIGN(source_digests, digest_store(from));
  MCVAL_TRY_ASSIGN(target_digests, digest_store(to));
  for (std::size_t i = 0; i < source_digests.size(); ++i) {
    if (!(source_digests[i] == target_digests[i])) {
      return Error{ErrorCode::database_error,
                   "the copy of table " + source_digests[i].table + " differs from its source: " +
                       std::to_string(source_digests[i].rows) + " rows (" + source_digests[i].sha256.substr(0, 16) +
                       ") copied as " + std::to_string(target_digests[i].rows) + " rows (" +
                       target_digests[i].sha256.substr(0, 16) + ")"};
    }
  }
  return source_digests;
}

}  // namespace mcval::catalog
