#pragma once
// Registered models: content-addressed and immutable, under <data>/models/<sha256>/
// (model.onnx, card.json and metadata.json, read-only, written to a staging folder and
// renamed into place). The SHA-256 of the ONNX file is the model's identity.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mcval/common/result.h"
#include "mcval/inference/model_card.h"

namespace mcval::inference {

struct ModelRecord {
  std::string sha256;  ///< of the ONNX file: the model's identity
  ModelCard card;
  std::filesystem::path onnx_path;  ///< <store>/<sha256>/model.onnx
  std::filesystem::path card_path;  ///< <store>/<sha256>/card.json (onnx "model.onnx", onnx_sha256 set)
  std::int64_t onnx_bytes = 0;
  std::string added_at;  ///< UTC ISO 8601
};

struct AddedModel {
  ModelRecord record;
  bool newly_added = false;  ///< false: the same model (ONNX bytes and card) was already stored
};

/// Thread-safe and safe across processes: adds are serialised by a lock file in the store.
class ModelStore {
 public:
  /// The store lives in <data_dir>/models (created by the first add).
  explicit ModelStore(const std::filesystem::path& data_dir);

  /// Adds a package: `path` is a folder with a card (card.json, or one <stem>.card.json, or
  /// <stem>.json beside the only <stem>.onnx) and the ONNX its "onnx" key names or the only
  /// *.onnx there; or the card file itself (its "onnx" key or the same stem names the ONNX
  /// beside it); or the .onnx file with its card beside it. The card's onnx_sha256, when
  /// given, must match; the ONNX is loaded and checked against the card before anything is
  /// written. Adding the same package again returns the stored record (newly_added false).
  /// Refused with model_invalid, since models are immutable: another model with the same
  /// name and version, or the same ONNX bytes with a different card.
  /// not_found when `path` does not exist.
  Result<AddedModel> add(const std::filesystem::path& path) const;
  /// All models, by name then version.
  Result<std::vector<ModelRecord>> list() const;
  /// By full or unique prefix (>= 8 hex digits) of the hash, "name@version", or "name" when
  /// exactly one version exists; model_not_found otherwise (with the candidates when ambiguous).
  Result<ModelRecord> find(const std::string& reference) const;
  /// Hashes the stored ONNX again: model_invalid when it no longer matches the record's hash.
  Status verify(const ModelRecord& record) const;

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path root_;
};

/// {"sha256", "name", "version", "card", "onnx_path", "card_path", "onnx_bytes", "added_at"}.
nlohmann::json to_json(const ModelRecord& record);

}  // namespace mcval::inference
