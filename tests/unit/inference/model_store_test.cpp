#include "mcval/inference/model_store.h"

#include <sys/stat.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mcval/common/sha256.h"
#include "test_support.h"

namespace mcval::inference {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::copy_model;
using testing::model_dir;
using testing::read_json;
using testing::TempDir;

std::string tiny_sha256() {
  auto sha = sha256_file_hex(model_dir("tiny-cnn") / "tiny-cnn.onnx");
  EXPECT_TRUE(sha.ok());
  return sha.ok() ? *sha : std::string();
}

/// Entries of the store folder other than the lock file.
std::vector<std::string> store_entries(const ModelStore& store) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(store.root(), ec)) {
    if (entry.path().filename() != ".lock") names.push_back(entry.path().filename().string());
  }
  return names;
}

TEST(ModelStore, AddsAPackageFolderUnderItsHash) {
  TempDir data;
  const ModelStore store(data.path());
  auto added = store.add(model_dir("tiny-cnn"));
  ASSERT_TRUE(added.ok()) << added.error().to_string();
  EXPECT_TRUE(added->newly_added);
  const ModelRecord& record = added->record;
  EXPECT_EQ(record.sha256, tiny_sha256());
  EXPECT_EQ(record.onnx_path, data.path() / "models" / record.sha256 / "model.onnx");
  EXPECT_EQ(record.card_path, data.path() / "models" / record.sha256 / "card.json");
  EXPECT_EQ(record.onnx_bytes, static_cast<std::int64_t>(fs::file_size(model_dir("tiny-cnn") / "tiny-cnn.onnx")));
  EXPECT_EQ(record.card.name, "tiny-cnn");
  EXPECT_FALSE(record.added_at.empty());
  EXPECT_EQ(*sha256_file_hex(record.onnx_path), record.sha256);
  // The stored card names the stored file; the files are read-only.
  const json card = read_json(record.card_path);
  EXPECT_EQ(card["onnx"], "model.onnx");
  EXPECT_EQ(card["onnx_sha256"], record.sha256);
  EXPECT_EQ(fs::status(record.onnx_path).permissions() & fs::perms::owner_write, fs::perms::none);
  EXPECT_EQ(store_entries(store), std::vector<std::string>{record.sha256});
  EXPECT_TRUE(store.verify(record).ok());

  const json shown = to_json(record);
  EXPECT_EQ(shown["sha256"], record.sha256);
  EXPECT_EQ(shown["name"], "tiny-cnn");
  EXPECT_EQ(shown["version"], "1.0.0");
  EXPECT_EQ(shown["card"]["input_px"], 32);
  EXPECT_EQ(shown["onnx_path"], record.onnx_path.string());
}

TEST(ModelStore, AddingTheSamePackageAgainReturnsTheStoredRecord) {
  TempDir data;
  const ModelStore store(data.path());
  auto first = store.add(model_dir("tiny-cnn"));
  ASSERT_TRUE(first.ok());
  // As a folder, as the card, as the ONNX file: the same model.
  for (const auto& path :
       {model_dir("tiny-cnn"), model_dir("tiny-cnn") / "card.json", model_dir("tiny-cnn") / "tiny-cnn.onnx"}) {
    auto again = store.add(path);
    ASSERT_TRUE(again.ok()) << path << ": " << again.error().to_string();
    EXPECT_FALSE(again->newly_added);
    EXPECT_EQ(again->record.sha256, first->record.sha256);
    EXPECT_EQ(again->record.added_at, first->record.added_at);
  }
  auto list = store.list();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

TEST(ModelStore, AddsByCardOrOnnxFileWithoutAnOnnxKey) {
  TempDir dir;
  const auto package = copy_model("tiny-cnn", dir.path(), "pkg", [](json& card) { card.erase("onnx"); });
  fs::rename(package / "card.json", package / "tiny-cnn.card.json");
  TempDir data1;
  auto by_card = ModelStore(data1.path()).add(package / "tiny-cnn.card.json");
  ASSERT_TRUE(by_card.ok()) << by_card.error().to_string();
  TempDir data2;
  auto by_onnx = ModelStore(data2.path()).add(package / "tiny-cnn.onnx");
  ASSERT_TRUE(by_onnx.ok()) << by_onnx.error().to_string();
  TempDir data3;
  auto by_folder = ModelStore(data3.path()).add(package);
  ASSERT_TRUE(by_folder.ok()) << by_folder.error().to_string();
  EXPECT_EQ(by_card->record.sha256, by_folder->record.sha256);
}

TEST(ModelStore, FindsByHashPrefixNameAtVersionAndName) {
  TempDir data;
  TempDir dir;
  const ModelStore store(data.path());
  ASSERT_TRUE(store.add(model_dir("tiny-cnn")).ok());
  const std::string sha = tiny_sha256();
  for (const std::string& reference : std::vector<std::string>{sha, sha.substr(0, 8), "tiny-cnn@1.0.0", "tiny-cnn"}) {
    auto found = store.find(reference);
    ASSERT_TRUE(found.ok()) << reference << ": " << found.error().to_string();
    EXPECT_EQ(found->sha256, sha);
  }
  std::string upper = sha.substr(0, 12);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(store.find(upper).ok());
  for (const std::string& reference : std::vector<std::string>{sha.substr(0, 7), "tiny", "tiny-cnn@2", "other", ""}) {
    auto found = store.find(reference);
    ASSERT_FALSE(found.ok()) << reference;
    EXPECT_EQ(found.error().code, ErrorCode::model_not_found);
  }

  // A second version (other bytes): the bare name is ambiguous, name@version is not.
  const auto v2 = copy_model("tiny-cnn-batch1", dir.path(), "v2", [](json& card) {
    card["name"] = "tiny-cnn";
    card["version"] = "2.0.0";
  });
  auto added = store.add(v2);
  ASSERT_TRUE(added.ok()) << added.error().to_string();
  auto ambiguous = store.find("tiny-cnn");
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_EQ(ambiguous.error().code, ErrorCode::model_not_found);
  EXPECT_NE(ambiguous.error().detail.find("tiny-cnn@1.0.0"), std::string::npos) << ambiguous.error().detail;
  EXPECT_NE(ambiguous.error().detail.find("tiny-cnn@2.0.0"), std::string::npos);
  auto second = store.find("tiny-cnn@2.0.0");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->sha256, added->record.sha256);

  auto list = store.list();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].card.version, "1.0.0");
  EXPECT_EQ((*list)[1].card.version, "2.0.0");
}

TEST(ModelStore, ModelsAreImmutable) {
  TempDir data;
  TempDir dir;
  const ModelStore store(data.path());
  ASSERT_TRUE(store.add(model_dir("tiny-cnn")).ok());

  // The same name and version with other bytes.
  const auto other_bytes =
      copy_model("tiny-cnn-batch1", dir.path(), "other-bytes", [](json& card) { card["name"] = "tiny-cnn"; });
  auto refused = store.add(other_bytes);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::model_invalid);
  EXPECT_NE(refused.error().detail.find("tiny-cnn@1.0.0 is already stored with other content"), std::string::npos)
      << refused.error().detail;

  // The same bytes with another card.
  const auto other_card = copy_model("tiny-cnn", dir.path(), "other-card", [](json& card) {
    card["version"] = "1.0.1";
    card["aggregation"] = {{"method", "max"}};
  });
  refused = store.add(other_card);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::model_invalid);
  EXPECT_NE(refused.error().detail.find("already stored as tiny-cnn@1.0.0 with a different card"), std::string::npos)
      << refused.error().detail;
  auto list = store.list();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

TEST(ModelStore, RefusesBadPackagesAndWritesNothing) {
  TempDir data;
  TempDir dir;
  const ModelStore store(data.path());
  struct Case {
    const char* what;
    fs::path path;
    ErrorCode code;
    const char* message;
  };
  const auto text_onnx = copy_model("tiny-cnn", dir.path(), "text", [](json& card) { card.erase("onnx_sha256"); });
  std::ofstream(text_onnx / "tiny-cnn.onnx", std::ios::trunc) << "a text file renamed .onnx\n";
  const auto wrong_hash =
      copy_model("tiny-cnn", dir.path(), "hash", [](json& card) { card["onnx_sha256"] = std::string(64, '0'); });
  const auto no_card = dir.path() / "no-card";
  fs::create_directories(no_card);
  fs::copy_file(model_dir("tiny-cnn") / "tiny-cnn.onnx", no_card / "tiny-cnn.onnx");
  const auto missing_onnx = copy_model("tiny-cnn", dir.path(), "missing-onnx");
  fs::remove(missing_onnx / "tiny-cnn.onnx");
  const auto bad_card = copy_model("tiny-cnn", dir.path(), "bad-card", [](json& card) { card["input_px"] = 2; });
  const std::vector<Case> cases = {
      {"text file", text_onnx, ErrorCode::model_invalid, "tiny-cnn.onnx: not an ONNX model"},
      {"wrong input", model_dir("wrong-input"), ErrorCode::model_invalid, "expects 3x48x48 input"},
      {"hash mismatch", wrong_hash, ErrorCode::model_invalid, "card.json: onnx_sha256 is 0000"},
      {"no card", no_card, ErrorCode::model_invalid, "no model card in"},
      {"no onnx", missing_onnx, ErrorCode::model_invalid, "no ONNX file"},
      {"bad card", bad_card, ErrorCode::model_invalid, "card.json: model card: field 'input_px'"},
      {"missing path", dir.path() / "nowhere", ErrorCode::not_found, "no such file or folder"},
  };
  for (const auto& c : cases) {
    auto added = store.add(c.path);
    ASSERT_FALSE(added.ok()) << c.what;
    EXPECT_EQ(added.error().code, c.code) << c.what;
    EXPECT_NE(added.error().detail.find(c.message), std::string::npos) << c.what << ": " << added.error().detail;
  }
  EXPECT_TRUE(store_entries(store).empty());
  auto list = store.list();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

TEST(ModelStore, ListSkipsDamagedEntriesAndVerifyNoticesChangedBytes) {
  TempDir data;
  const ModelStore store(data.path());
  auto added = store.add(model_dir("tiny-cnn"));
  ASSERT_TRUE(added.ok());
  fs::create_directories(store.root() / std::string(64, 'a'));
  std::ofstream(store.root() / std::string(64, 'a') / "card.json") << "{}";
  auto list = store.list();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);

  const auto& onnx = added->record.onnx_path;
  fs::permissions(onnx, fs::perms::owner_write, fs::perm_options::add);
  std::ofstream(onnx, std::ios::app) << "x";
  auto verified = store.verify(added->record);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().code, ErrorCode::model_invalid);
}

TEST(ModelStore, AnEmptyStoreListsNothing) {
  TempDir data;
  auto list = ModelStore(data.path()).list();
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
  auto found = ModelStore(data.path()).find("tiny-cnn");
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code, ErrorCode::model_not_found);
}

}  // namespace
}  // namespace mcval::inference
