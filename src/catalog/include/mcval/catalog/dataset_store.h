#pragma once
// DatasetStore: named, frozen dataset snapshots kept in the catalogue, so that
// `mcval validate --dataset NAME` and every result can name the same ground truth.
#include <cstdint>
#include <string>
#include <vector>

#include "mcval/common/result.h"

namespace mcval::catalog {

/// A dataset as stored: its canonical JSON content and what identifies it.
struct StoredDataset {
  std::string name;
  std::string sha256;        ///< the dataset's snapshot hash
  std::int64_t rows = 0;
  std::string source;        ///< file it was imported from
  std::string imported_at;   ///< UTC ISO 8601
  std::string content_json;  ///< {"name":..., "rows":[...]}; empty in listings
};

/// Thread-safe. A name is bound to one snapshot for ever (datasets are frozen).
class DatasetStore {
 public:
  virtual ~DatasetStore() = default;
  /// Stores a new dataset. Saving the same name with the same hash again changes nothing;
  /// with another hash it is invalid_argument (a frozen dataset is never replaced).
  /// Returns true when it was stored now, false when it was already there.
  virtual Result<bool> save_dataset(const StoredDataset& dataset) = 0;
  /// not_found when no dataset has this name.
  virtual Result<StoredDataset> find_dataset(const std::string& name) const = 0;
  /// All datasets by name, without content_json.
  virtual Result<std::vector<StoredDataset>> list_datasets() const = 0;
};

}  // namespace mcval::catalog
