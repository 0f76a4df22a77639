#include "mcval/inference/model_store.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

#include "mcval/common/clock.h"
#include "mcval/common/files.h"
#include "mcval/common/logging.h"
#include "mcval/common/sha256.h"
#include "mcval/common/strings.h"
#include "mcval/inference/model_runtime.h"

namespace mcval::inference {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kOnnxFile = "model.onnx";
constexpr const char* kCardFile = "card.json";
constexpr const char* kMetadataFile = "metadata.json";

bool is_sha256(std::string_view text) {
  return text.size() == 64 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_hex_prefix(std::string_view text) {
  return text.size() >= 8 && text.size() <= 64 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool ends_with(const std::string& text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string label(const ModelCard& card) { return card.name + "@" + card.version; }

struct Package {
  fs::path card;
  fs::path onnx;
};

std::vector<fs::path> files_ending(const fs::path& folder, std::string_view suffix) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    const auto name = entry.path().filename().string();
    if (entry.is_regular_file(ec) && ends_with(name, suffix)) found.push_back(entry.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::string names_of(const std::vector<fs::path>& paths) {
  std::string names;
  for (const auto& p : paths) names += (names.empty() ? "" : ", ") + p.filename().string();
  return names;
}

Result<fs::path> onnx_beside_card(const fs::path& card_path, const ModelCard& card) {
  const fs::path folder = card_path.parent_path();
  if (!card.onnx.empty()) return folder / card.onnx;
  std::string stem = card_path.filename().string();
  for (std::string_view suffix : {".card.json", ".json"}) {
    if (ends_with(stem, suffix)) {
      stem.resize(stem.size() - suffix.size());
      break;
    }
  }
  std::error_code ec;
  if (stem != "card" && fs::is_regular_file(folder / (stem + ".onnx"), ec)) return folder / (stem + ".onnx");
  const auto onnx = files_ending(folder, ".onnx");
  if (onnx.size() == 1) return onnx.front();
  if (onnx.empty()) return Error{ErrorCode::model_invalid, "no .onnx file beside " + card_path.filename().string()};
  return Error{ErrorCode::model_invalid, "several .onnx files beside " + card_path.filename().string() + " (" +
                                             names_of(onnx) + "): name one in the card's \"onnx\" field"};
}

/// Finds the card and the ONNX of a package given as a folder, a card or an ONNX file.
Result<std::pair<Package, ModelCard>> locate_package(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return Error{ErrorCode::not_found, "no such file or folder: " + path.string()};
  Package package;
  const std::string name = path.filename().string();
  if (fs::is_directory(path, ec)) {
    const auto cards = files_ending(path, ".card.json");
    const auto onnx = files_ending(path, ".onnx");
    if (fs::is_regular_file(path / kCardFile, ec)) {
      package.card = path / kCardFile;
    } else if (cards.size() == 1) {
      package.card = cards.front();
    } else if (cards.size() > 1) {
      return Error{ErrorCode::model_invalid,
                   "several cards in " + path.string() + " (" + names_of(cards) + "): give the card file"};
    } else if (onnx.size() == 1 && fs::is_regular_file(fs::path(onnx.front()).replace_extension(".json"), ec)) {
      package.card = fs::path(onnx.front()).replace_extension(".json");
    } else {
      return Error{ErrorCode::model_invalid, "no model card in " + path.string() +
                                                 " (card.json, <name>.card.json, or <name>.json beside <name>.onnx)"};
    }
  } else if (ends_with(name, ".onnx")) {
    const fs::path folder = path.parent_path();
    const std::string stem = path.stem().string();
    for (const std::string& candidate : {stem + ".card.json", stem + ".json", std::string(kCardFile)}) {
      if (fs::is_regular_file(folder / candidate, ec)) {
        package.card = folder / candidate;
        break;
      }
    }
    if (package.card.empty()) {
      return Error{ErrorCode::model_invalid,
                   "no model card beside " + name + " (" + stem + ".card.json, " + stem + ".json or card.json)"};
    }
    package.onnx = path;
  } else {
    package.card = path;
  }
  MCVAL_TRY_ASSIGN(card, read_model_card(package.card));
  if (package.onnx.empty()) {
    MCVAL_TRY_ASSIGN(onnx, onnx_beside_card(package.card, card));
    package.onnx = std::move(onnx);
  } else if (!card.onnx.empty() && card.onnx != package.onnx.filename().string()) {
    return Error{ErrorCode::model_invalid, package.card.filename().string() + " names \"" + card.onnx + "\", not " +
                                               package.onnx.filename().string()};
  }
  if (!fs::is_regular_file(package.onnx, ec)) {
    return Error{ErrorCode::model_invalid,
                 "no ONNX file " + package.onnx.string() + " (named by " + package.card.filename().string() + ")"};
  }
  return std::pair{package, card};
}

/// The card as the store keeps it: the ONNX beside it is model.onnx, with its hash.
ModelCard stored_card(ModelCard card, const std::string& sha256) {
  card.onnx = kOnnxFile;
  card.onnx_sha256 = sha256;
  return card;
}

Status copy_read_only(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) return Error{ErrorCode::io_error, "cannot copy " + from.string() + ": " + ec.message()};
  fs::permissions(to, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read, ec);
  return {};
}

Status write_read_only(const fs::path& path, const std::string& content) {
  MCVAL_TRY(write_file(path, content));
  std::error_code ec;
  fs::permissions(path, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read, ec);
  return {};
}

Result<ModelRecord> read_record(const fs::path& folder) {
  ModelRecord record;
  record.sha256 = folder.filename().string();
  record.onnx_path = folder / kOnnxFile;
  record.card_path = folder / kCardFile;
  MCVAL_TRY_ASSIGN(card, read_model_card(record.card_path));
  record.card = std::move(card);
  MCVAL_TRY_ASSIGN(metadata_text, read_file(folder / kMetadataFile));
  const json metadata = json::parse(metadata_text, nullptr, /*allow_exceptions=*/false);
  if (!metadata.is_object() || metadata.value("sha256", "") != record.sha256) {
    return Error{ErrorCode::io_error, "damaged model entry " + folder.string() + " (" + kMetadataFile + ")"};
  }
  record.onnx_bytes = metadata.value("onnx_bytes", std::int64_t{0});
  record.added_at = metadata.value("added_at", "");
  std::error_code ec;
  if (!fs::is_regular_file(record.onnx_path, ec)) {
    return Error{ErrorCode::io_error, "damaged model entry " + folder.string() + ": no " + kOnnxFile};
  }
  return record;
}

}  // namespace

ModelStore::ModelStore(const fs::path& data_dir) : root_(data_dir / "models") {}

Result<AddedModel> ModelStore::add(const fs::path& path) const {
  MCVAL_TRY_ASSIGN(located, locate_package(path));
  const Package package = located.first;
  const ModelCard card = located.second;
  MCVAL_TRY_ASSIGN(sha256, sha256_file_hex(package.onnx));
  if (!card.onnx_sha256.empty() && card.onnx_sha256 != sha256) {
    return Error{ErrorCode::model_invalid, package.card.filename().string() + ": onnx_sha256 is " + card.onnx_sha256 +
                                               " but " + package.onnx.filename().string() + " hashes to " + sha256};
  }
  // Loads and runs before anything is written.
  MCVAL_TRY(load_opencv_model(package.onnx, card));
  const ModelCard to_store = stored_card(card, sha256);

  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) return Error{ErrorCode::io_error, "cannot create " + root_.string() + ": " + ec.message()};
  MCVAL_TRY_ASSIGN(lock, FileLock::acquire(root_ / ".lock"));
  for (const auto& entry : fs::directory_iterator(root_, ec)) {
    const auto name = entry.path().filename().string();
    if (is_stale_staging_name(name)) fs::remove_all(entry.path(), ec);
  }

  const fs::path final_dir = root_ / sha256;
  if (fs::exists(final_dir, ec)) {
    MCVAL_TRY_ASSIGN(existing, read_record(final_dir));
    if (to_json(existing.card) != to_json(to_store)) {
      return Error{ErrorCode::model_invalid, "this ONNX file is already stored as " + label(existing.card) +
                                                 " with a different card (sha256 " + sha256.substr(0, 16) +
                                                 "); models are immutable"};
    }
    return AddedModel{std::move(existing), false};
  }
  MCVAL_TRY_ASSIGN(records, list());
  for (const auto& other : records) {
    if (other.card.name == card.name && other.card.version == card.version) {
      return Error{ErrorCode::model_invalid, label(card) + " is already stored with other content (sha256 " +
                                                 other.sha256.substr(0, 16) +
                                                 "); models are immutable: give the new model another version"};
    }
  }

  const fs::path staging = root_ / staging_name(sha256.substr(0, 16));
  fs::create_directory(staging, ec);
  if (ec) return Error{ErrorCode::io_error, "cannot create " + staging.string() + ": " + ec.message()};
  auto written = [&]() -> Status {
    MCVAL_TRY(copy_read_only(package.onnx, staging / kOnnxFile));
    // The copy is what gets stored: hash it again in case the source changed meanwhile.
    MCVAL_TRY_ASSIGN(copied_sha256, sha256_file_hex(staging / kOnnxFile));
    if (copied_sha256 != sha256) {
      return Error{ErrorCode::io_error, package.onnx.string() + " changed while it was being added"};
    }
    MCVAL_TRY(write_read_only(staging / kCardFile, to_json(to_store).dump(2) + "\n"));
    const auto onnx_bytes = fs::file_size(staging / kOnnxFile, ec);
    if (ec) return Error{ErrorCode::io_error, "cannot stat the copied ONNX: " + ec.message()};
    const json metadata = {{"sha256", sha256},
                           {"onnx_bytes", static_cast<std::int64_t>(onnx_bytes)},
                           {"added_at", utc_now_iso8601()},
                           {"source", fs::absolute(package.onnx, ec).string()}};
    MCVAL_TRY(write_read_only(staging / kMetadataFile, metadata.dump(2) + "\n"));
    fs::rename(staging, final_dir, ec);
    if (ec) return Error{ErrorCode::io_error, "cannot move the model into " + final_dir.string() + ": " + ec.message()};
    return {};
  }();
  if (!written.ok()) {
    fs::remove_all(staging, ec);
    return written.error();
  }
  MCVAL_TRY_ASSIGN(record, read_record(final_dir));
  log::info("model added", {{"model", label(card)}, {"sha256", sha256}});
  return AddedModel{std::move(record), true};
}

Result<std::vector<ModelRecord>> ModelStore::list() const {
  std::vector<ModelRecord> records;
  std::error_code ec;
  if (!fs::exists(root_, ec)) return records;
  fs::directory_iterator it(root_, ec);
  if (ec) return Error{ErrorCode::io_error, "cannot list " + root_.string() + ": " + ec.message()};
  for (const auto& entry : it) {
    const auto name = entry.path().filename().string();
    if (!is_sha256(name) || !entry.is_directory(ec)) continue;
    auto record = read_record(entry.path());
    if (!record.ok()) {
      log::warn("skipping a damaged model entry",
                {{"path", entry.path().string()}, {"error", record.error().to_string()}});
      continue;
    }
    records.push_back(std::move(record).value());
  }
  std::sort(records.begin(), records.end(), [](const ModelRecord& a, const ModelRecord& b) {
    return std::tie(a.card.name, a.card.version, a.sha256) < std::tie(b.card.name, b.card.version, b.sha256);
  });
  return records;
}

Result<ModelRecord> ModelStore::find(const std::string& reference) const {
  MCVAL_TRY_ASSIGN(records, list());
  auto candidates = [](const std::vector<const ModelRecord*>& matches) {
    std::string text;
    for (const auto* m : matches)
      text += (text.empty() ? "" : ", ") + label(m->card) + " (" + m->sha256.substr(0, 12) + ")";
    return text;
  };
  if (const auto at = reference.find('@'); at != std::string::npos) {
    const std::string name = reference.substr(0, at);
    const std::string version = reference.substr(at + 1);
    for (const auto& r : records) {
      if (r.card.name == name && r.card.version == version) return r;
    }
    return Error{ErrorCode::model_not_found, "no model " + reference};
  }
  const std::string lowered = to_lower(reference);
  if (is_hex_prefix(lowered)) {
    std::vector<const ModelRecord*> matches;
    for (const auto& r : records) {
      if (r.sha256.compare(0, lowered.size(), lowered) == 0) matches.push_back(&r);
    }
    if (matches.size() == 1) return *matches.front();
    if (matches.size() > 1) {
      return Error{ErrorCode::model_not_found, "'" + reference + "' matches several models: " + candidates(matches)};
    }
  }
  std::vector<const ModelRecord*> named;
  for (const auto& r : records) {
    if (r.card.name == reference) named.push_back(&r);
  }
  if (named.size() == 1) return *named.front();
  if (named.size() > 1) {
    return Error{ErrorCode::model_not_found,
                 "model '" + reference + "' has several versions: " + candidates(named) + "; give name@version"};
  }
  return Error{ErrorCode::model_not_found,
               "no model '" + reference + "' (give a hash prefix of 8+ digits, name@version or name)"};
}

Status ModelStore::verify(const ModelRecord& record) const {
  MCVAL_TRY_ASSIGN(sha256, sha256_file_hex(record.onnx_path));
  if (sha256 != record.sha256) {
    return Error{ErrorCode::model_invalid, "the stored ONNX of " + label(record.card) + " no longer matches its hash " +
                                               record.sha256 + " (now " + sha256 + ")"};
  }
  return {};
}

json to_json(const ModelRecord& record) {
  return {{"sha256", record.sha256},
          {"name", record.card.name},
          {"version", record.card.version},
          {"card", to_json(record.card)},
          {"onnx_path", record.onnx_path.string()},
          {"card_path", record.card_path.string()},
          {"onnx_bytes", record.onnx_bytes},
          {"added_at", record.added_at}};
}

}  // namespace mcval::inference
