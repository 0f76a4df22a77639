#include "mcval/inference/model_runtime.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "onnx_info.h"
#include "test_support.h"

namespace mcval::inference {
namespace {

using testing::formula_tile;
using testing::model_dir;
using testing::read_json;
using testing::TempDir;

ModelCard card_of(const std::string& model) {
  auto card = read_model_card(model_dir(model) / "card.json");
  EXPECT_TRUE(card.ok()) << card.error().to_string();
  return card.ok() ? *card : ModelCard{};
}

std::unique_ptr<TileModel> load_or_fail(const std::string& model, const ModelCard& card) {
  auto loaded = load_opencv_model(model_dir(model) / (model + ".onnx"), card);
  if (!loaded.ok()) {
    ADD_FAILURE() << loaded.error().to_string();
    return nullptr;
  }
  return std::move(loaded).value();
}

std::vector<const slide::RgbImage*> pointers(const std::vector<slide::RgbImage>& tiles) {
  std::vector<const slide::RgbImage*> out;
  for (const auto& t : tiles) out.push_back(&t);
  return out;
}

/// The tiles of expected.json, and its values under `key` ("logits" or "probabilities").
struct Expected {
  std::vector<slide::RgbImage> tiles;
  std::vector<std::vector<double>> values;
};
Expected expected(const std::string& key) {
  Expected e;
  const auto document = read_json(model_dir("tiny-cnn") / "expected.json");
  for (const auto& tile : document["tiles"]) {
    e.tiles.push_back(formula_tile(tile["k"].get<int>()));
    e.values.push_back(tile[key].get<std::vector<double>>());
  }
  return e;
}

TEST(OpenCvModel, ProbabilitiesMatchNumpy) {
  const auto e = expected("probabilities");
  ASSERT_EQ(e.tiles.size(), 7u);
  auto model = load_or_fail("tiny-cnn", card_of("tiny-cnn"));
  ASSERT_TRUE(model);
  auto out = model->run(pointers(e.tiles));
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  ASSERT_EQ(out->size(), e.tiles.size());
  for (std::size_t i = 0; i < e.tiles.size(); ++i) {
    ASSERT_EQ((*out)[i].size(), 2u);
    for (std::size_t c = 0; c < 2; ++c)
      EXPECT_NEAR((*out)[i][c], e.values[i][c], 1e-5) << "tile " << i << " class " << c;
  }
}

TEST(OpenCvModel, LogitsMatchNumpyWhenTheCardSaysProbabilities) {
  const auto e = expected("logits");
  ModelCard card = card_of("tiny-cnn");
  card.activation = OutputActivation::identity;
  auto model = load_or_fail("tiny-cnn", card);
  ASSERT_TRUE(model);
  auto out = model->run(pointers(e.tiles));
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  for (std::size_t i = 0; i < e.tiles.size(); ++i) {
    for (std::size_t c = 0; c < 2; ++c) EXPECT_NEAR((*out)[i][c], e.values[i][c], 1e-5) << "tile " << i;
  }
}

TEST(OpenCvModel, SigmoidOfTheLogits) {
  const auto e = expected("logits");
  ModelCard card = card_of("tiny-cnn");
  card.activation = OutputActivation::sigmoid;
  auto model = load_or_fail("tiny-cnn", card);
  ASSERT_TRUE(model);
  auto out = model->run(pointers(e.tiles));
  ASSERT_TRUE(out.ok());
  for (std::size_t i = 0; i < e.tiles.size(); ++i) {
    for (std::size_t c = 0; c < 2; ++c) EXPECT_NEAR((*out)[i][c], 1 / (1 + std::exp(-e.values[i][c])), 1e-5);
  }
}

TEST(OpenCvModel, BatchOfOneEqualsBatchOfSeven) {
  const auto e = expected("probabilities");
  auto model = load_or_fail("tiny-cnn", card_of("tiny-cnn"));
  ASSERT_TRUE(model);
  auto together = model->run(pointers(e.tiles));
  ASSERT_TRUE(together.ok());
  for (std::size_t i = 0; i < e.tiles.size(); ++i) {
    auto alone = model->run({&e.tiles[i]});
    ASSERT_TRUE(alone.ok()) << alone.error().to_string();
    ASSERT_EQ(alone->size(), 1u);
    for (std::size_t c = 0; c < 2; ++c) EXPECT_NEAR((*alone)[0][c], (*together)[i][c], 1e-6);
  }
  auto none = model->run({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(OpenCvModel, AFixedBatchOfOneRunsTilesOneByOne) {
  const auto e = expected("probabilities");
  auto model = load_or_fail("tiny-cnn-batch1", card_of("tiny-cnn-batch1"));
  ASSERT_TRUE(model);
  auto out = model->run(pointers(e.tiles));
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  ASSERT_EQ(out->size(), 7u);
  for (std::size_t i = 0; i < e.tiles.size(); ++i) {
    for (std::size_t c = 0; c < 2; ++c) EXPECT_NEAR((*out)[i][c], e.values[i][c], 1e-5);
  }
}

TEST(OpenCvModel, BgrCardsGetTheChannelsSwapped) {
  const auto e = expected("probabilities");
  ModelCard card = card_of("tiny-cnn");
  card.channel_order = ChannelOrder::bgr;
  // The model's channel 0 is now the tile's blue, normalised by mean[0]/std[0]: a tile with R
  // and B exchanged must give what the original gives under the RGB card.
  std::vector<slide::RgbImage> swapped = e.tiles;
  for (auto& tile : swapped) {
    for (std::size_t i = 0; i < tile.pixels.size(); i += 3) std::swap(tile.pixels[i], tile.pixels[i + 2]);
  }
  auto model = load_or_fail("tiny-cnn", card);
  ASSERT_TRUE(model);
  auto out = model->run(pointers(swapped));
  ASSERT_TRUE(out.ok());
  for (std::size_t i = 0; i < e.tiles.size(); ++i) {
    for (std::size_t c = 0; c < 2; ++c) EXPECT_NEAR((*out)[i][c], e.values[i][c], 1e-5);
  }
}

TEST(OpenCvModel, TilesOfTheWrongSizeAreRefused) {
  auto model = load_or_fail("tiny-cnn", card_of("tiny-cnn"));
  ASSERT_TRUE(model);
  const slide::RgbImage tile(31, 32);
  auto out = model->run({&tile});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(out.error().detail.find("32 x 32"), std::string::npos) << out.error().detail;
}

TEST(OpenCvModel, AnInputSizeOtherThanTheCardsIsRefused) {
  auto loaded = load_opencv_model(model_dir("wrong-input") / "wrong-input.onnx", card_of("wrong-input"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, ErrorCode::model_invalid);
  EXPECT_EQ(loaded.error().detail,
            "wrong-input.onnx: the model expects 3x48x48 input, the card says 3x32x32 (input_px 32)");
}

TEST(OpenCvModel, MoreClassNamesThanOutputsAreRefused) {
  ModelCard card = card_of("tiny-cnn");
  card.class_names = {"a", "b", "c"};
  auto loaded = load_opencv_model(model_dir("tiny-cnn") / "tiny-cnn.onnx", card);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, ErrorCode::model_invalid);
  EXPECT_NE(loaded.error().detail.find("2 values per tile, the card has 3 class names (a, b, c)"), std::string::npos)
      << loaded.error().detail;
}

TEST(OpenCvModel, AFileThatIsNotOnnxIsRefused) {
  TempDir dir;
  const auto text = dir.write("model.onnx", "this is a text file, not a model\n");
  auto loaded = load_opencv_model(text, card_of("tiny-cnn"));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().code, ErrorCode::model_invalid);
  EXPECT_NE(loaded.error().detail.find("model.onnx: not an ONNX model"), std::string::npos) << loaded.error().detail;

  auto empty = load_opencv_model(dir.write("empty.onnx", ""), card_of("tiny-cnn"));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ErrorCode::model_invalid);

  auto missing = load_opencv_model(dir.path() / "missing.onnx", card_of("tiny-cnn"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);
}

TEST(OnnxInfo, ReadsTheDeclaredInputAndOutput) {
  auto bytes = read_file(model_dir("tiny-cnn") / "tiny-cnn.onnx");
  ASSERT_TRUE(bytes.ok());
  auto info = parse_onnx_info(*bytes);
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_EQ(info->ir_version, 6);
  EXPECT_EQ(info->opset, 11);
  EXPECT_EQ(info->nodes, 5);
  ASSERT_EQ(info->inputs.size(), 1u);
  EXPECT_EQ(info->inputs[0].name, "input");
  EXPECT_EQ(describe(info->inputs[0]), "float32[N,3,32,32]");
  ASSERT_EQ(info->outputs.size(), 1u);
  EXPECT_EQ(describe(info->outputs[0]), "float32[N,2]");
  EXPECT_FALSE(info->external_data);
}

// The parser reads untrusted files: every truncation and random corruption of a real model
// must end in a value (either result), never a crash or a hang.
TEST(OnnxInfo, SurvivesTruncatedAndCorruptedFiles) {
  auto bytes = read_file(model_dir("tiny-cnn") / "tiny-cnn.onnx");
  ASSERT_TRUE(bytes.ok());
  int refused = 0;
  for (std::size_t size = 0; size < bytes->size(); ++size) {
    refused += parse_onnx_info(std::string_view(*bytes).substr(0, size)).ok() ? 0 : 1;
  }
  EXPECT_GT(refused, static_cast<int>(bytes->size()) / 2);
  std::mt19937 random(42);
  for (int round = 0; round < 3000; ++round) {
    std::string corrupted = *bytes;
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int f = 0; f < flips; ++f) {
      corrupted[random() % corrupted.size()] = static_cast<char>(random() % 256);
    }
    (void)parse_onnx_info(corrupted);
  }
}

}  // namespace
}  // namespace mcval::inference
