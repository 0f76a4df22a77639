#include "mcval/inference/model_card.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace mcval::inference {
namespace {

using nlohmann::json;
using testing::model_dir;
using testing::read_json;
using testing::TempDir;

json tiny_card() { return read_json(model_dir("tiny-cnn") / "card.json"); }

TEST(ModelCard, ParsesTheTinyCnnCard) {
  auto card = parse_model_card(tiny_card());
  ASSERT_TRUE(card.ok()) << card.error().to_string();
  EXPECT_EQ(card->name, "tiny-cnn");
  EXPECT_EQ(card->version, "1.0.0");
  EXPECT_EQ(card->input_px, 32);
  EXPECT_DOUBLE_EQ(card->mpp, 2.0);
  EXPECT_EQ(card->channel_order, ChannelOrder::rgb);
  EXPECT_EQ(card->mean, (std::vector<double>{0.485, 0.456, 0.406}));
  EXPECT_EQ(card->std, (std::vector<double>{0.229, 0.224, 0.225}));
  EXPECT_EQ(card->class_names, (std::vector<std::string>{"benign", "tumour"}));
  EXPECT_EQ(card->activation, OutputActivation::softmax);
  EXPECT_EQ(card->positive_class, 1);
  EXPECT_EQ(card->aggregation, Aggregation::top_k_mean);
  EXPECT_EQ(card->aggregation_k, 3);
  EXPECT_DOUBLE_EQ(card->min_tissue_fraction, 0.5);
  EXPECT_EQ(card->onnx, "tiny-cnn.onnx");
  EXPECT_EQ(card->onnx_sha256.size(), 64u);
}

TEST(ModelCard, RoundTripsThroughJson) {
  auto card = parse_model_card(tiny_card());
  ASSERT_TRUE(card.ok());
  const json written = to_json(*card);
  EXPECT_EQ(written, tiny_card());
  auto again = parse_model_card(written);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(to_json(*again), written);
}

TEST(ModelCard, OptionalFieldsTakeTheirDefaults) {
  json j = tiny_card();
  for (const char* key : {"description", "min_tissue_fraction", "onnx", "onnx_sha256"}) j.erase(key);
  j["class_names"] = {"tumour"};
  j["output"] = "sigmoid";
  j.erase("positive_class");  // one class: it is the positive one
  j["aggregation"] = {{"method", "percentile"}, {"percentile", 90}};
  auto card = parse_model_card(j);
  ASSERT_TRUE(card.ok()) << card.error().to_string();
  EXPECT_EQ(card->positive_class, 0);
  EXPECT_EQ(card->activation, OutputActivation::sigmoid);
  EXPECT_DOUBLE_EQ(card->aggregation_percentile, 90);
  EXPECT_DOUBLE_EQ(card->min_tissue_fraction, 0.5);
  EXPECT_TRUE(card->onnx.empty());
  EXPECT_TRUE(card->onnx_sha256.empty());
}

TEST(ModelCard, PositiveClassByIndexAndUpperCaseHash) {
  json j = tiny_card();
  j["positive_class"] = 0;
  j["channel_order"] = "BGR";
  j["output"] = "probabilities";
  std::string upper = j["onnx_sha256"];
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  j["onnx_sha256"] = upper;
  auto card = parse_model_card(j);
  ASSERT_TRUE(card.ok()) << card.error().to_string();
  EXPECT_EQ(card->positive_class, 0);
  EXPECT_EQ(card->channel_order, ChannelOrder::bgr);
  EXPECT_EQ(card->activation, OutputActivation::identity);
  EXPECT_EQ(card->onnx_sha256, tiny_card()["onnx_sha256"]);
}

struct BadCard {
  const char* what;
  std::function<void(json&)> edit;
  const char* message;  // must appear in the error
};

TEST(ModelCard, ErrorsNameTheField) {
  const std::vector<BadCard> cases = {
      {"not an object", [](json& j) { j = json::array(); }, "must be a JSON object"},
      {"unknown key", [](json& j) { j["labels"] = 1; }, "unknown field 'labels'"},
      {"unknown nested key", [](json& j) { j["normalization"]["scale"] = 1; }, "unknown field 'normalization.scale'"},
      {"no name", [](json& j) { j.erase("name"); }, "field 'name': missing"},
      {"bad name", [](json& j) { j["name"] = "Tiny CNN"; }, "field 'name'"},
      {"name too long", [](json& j) { j["name"] = std::string(65, 'a'); }, "field 'name'"},
      {"version with slash", [](json& j) { j["version"] = "1/2"; }, "field 'version'"},
      {"version with space", [](json& j) { j["version"] = "1 2"; }, "field 'version'"},
      {"empty version", [](json& j) { j["version"] = ""; }, "field 'version': must not be empty"},
      {"no intended use", [](json& j) { j.erase("intended_use"); }, "field 'intended_use': missing"},
      {"description not text", [](json& j) { j["description"] = 3; }, "field 'description': must be a string"},
      {"input too small", [](json& j) { j["input_px"] = 4; },
       "field 'input_px': must be an integer from 8 to 1024 (got 4)"},
      {"input as text", [](json& j) { j["input_px"] = "32"; }, "field 'input_px'"},
      {"input fractional", [](json& j) { j["input_px"] = 32.5; }, "field 'input_px'"},
      {"no mpp", [](json& j) { j.erase("mpp"); }, "field 'mpp': missing"},
      {"zero mpp", [](json& j) { j["mpp"] = 0; }, "field 'mpp'"},
      {"channel order", [](json& j) { j["channel_order"] = "rgb"; }, "field 'channel_order'"},
      {"no normalization", [](json& j) { j.erase("normalization"); }, "field 'normalization': missing"},
      {"two means",
       [](json& j) {
         j["normalization"]["mean"] = {0.5, 0.5};
       },
       "field 'normalization.mean'"},
      {"zero std",
       [](json& j) {
         j["normalization"]["std"] = {1, 0, 1};
       },
       "field 'normalization.std'"},
      {"no std", [](json& j) { j["normalization"].erase("std"); }, "field 'normalization.std': missing"},
      {"no classes", [](json& j) { j["class_names"] = json::array(); }, "field 'class_names'"},
      {"duplicate class",
       [](json& j) {
         j["class_names"] = {"a", "a"};
       },
       "'a' appears twice"},
      {"bad output", [](json& j) { j["output"] = "logits"; }, "field 'output'"},
      {"softmax of one",
       [](json& j) {
         j["class_names"] = {"tumour"};
         j["positive_class"] = 0;
       },
       "softmax needs at least 2 classes"},
      {"unknown positive", [](json& j) { j["positive_class"] = "cancer"; },
       "field 'positive_class': \"cancer\" is not one of"},
      {"positive index", [](json& j) { j["positive_class"] = 2; }, "field 'positive_class': index 2 is outside"},
      {"no positive", [](json& j) { j.erase("positive_class"); }, "field 'positive_class': missing"},
      {"aggregation text", [](json& j) { j["aggregation"] = "max"; }, "field 'aggregation'"},
      {"bad method",
       [](json& j) {
         j["aggregation"] = {{"method", "median"}};
       },
       "field 'aggregation.method'"},
      {"top k without k",
       [](json& j) {
         j["aggregation"] = {{"method", "top_k_mean"}};
       },
       "field 'aggregation.k': missing"},
      {"k for max",
       [](json& j) {
         j["aggregation"] = {{"method", "max"}, {"k", 2}};
       },
       "only top_k_mean takes k"},
      {"k zero", [](json& j) { j["aggregation"]["k"] = 0; }, "field 'aggregation.k'"},
      {"percentile out of range",
       [](json& j) {
         j["aggregation"] = {{"method", "percentile"}, {"percentile", 120}};
       },
       "field 'aggregation.percentile'"},
      {"tissue fraction", [](json& j) { j["min_tissue_fraction"] = 1.5; }, "field 'min_tissue_fraction'"},
      {"onnx with folder", [](json& j) { j["onnx"] = "../x.onnx"; }, "field 'onnx'"},
      {"short hash", [](json& j) { j["onnx_sha256"] = "abc"; }, "field 'onnx_sha256'"},
  };
  for (const auto& bad : cases) {
    json j = tiny_card();
    bad.edit(j);
    auto card = parse_model_card(j);
    ASSERT_FALSE(card.ok()) << bad.what;
    EXPECT_EQ(card.error().code, ErrorCode::model_invalid) << bad.what;
    EXPECT_NE(card.error().detail.find(bad.message), std::string::npos) << bad.what << ": " << card.error().detail;
  }
}

TEST(ModelCard, ReadingAFileNamesItInErrors) {
  TempDir dir;
  auto missing = read_model_card(dir.path() / "card.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::not_found);

  auto broken = read_model_card(dir.write("broken.json", "{\"name\": "));
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, ErrorCode::model_invalid);
  EXPECT_EQ(broken.error().detail, "broken.json: not valid JSON");

  auto invalid = read_model_card(dir.write("invalid.json", "{\"name\": \"x\"}"));
  ASSERT_FALSE(invalid.ok());
  EXPECT_NE(invalid.error().detail.find("invalid.json: model card: field 'version': missing"), std::string::npos)
      << invalid.error().detail;
}

ModelCard card_with(Aggregation aggregation, int k = 1, double percentile = 100) {
  ModelCard card;
  card.aggregation = aggregation;
  card.aggregation_k = k;
  card.aggregation_percentile = percentile;
  return card;
}

TEST(AggregateScores, EachMethod) {
  const std::vector<float> scores{0.1F, 0.4F, 0.2F, 0.9F, 0.5F};
  EXPECT_NEAR(*aggregate_scores(card_with(Aggregation::max), scores), 0.9, 1e-7);
  EXPECT_NEAR(*aggregate_scores(card_with(Aggregation::mean), scores), 0.42, 1e-7);
  EXPECT_NEAR(*aggregate_scores(card_with(Aggregation::top_k_mean, 2), scores), 0.7, 1e-7);
  EXPECT_NEAR(*aggregate_scores(card_with(Aggregation::top_k_mean, 3), scores), 0.6, 1e-7);
  EXPECT_NEAR(*aggregate_scores(card_with(Aggregation::top_k_mean, 50), scores), 0.42, 1e-7);
  // numpy.percentile([0.1, 0.4, 0.2, 0.9, 0.5], p) for p = 0, 50, 90, 100, 37.5
  EXPECT_NEAR(*aggregate_scores(card_with(Aggregation::percentile, 1, 0), scores), 0.1, 1e-7);
  EXPECT_NEAR(*aggregate_scores(card_with(Aggregation::percentile, 1, 50), scores), 0.4, 1e-7);
  EXPECT_NEAR(*aggregate_scores(card_with(Aggregation::percentile, 1, 90), scores), 0.74, 1e-7);
  EXPECT_NEAR(*aggregate_scores(card_with(Aggregation::percentile, 1, 100), scores), 0.9, 1e-7);
  EXPECT_NEAR(*aggregate_scores(card_with(Aggregation::percentile, 1, 37.5), scores), 0.3, 1e-7);
}

TEST(AggregateScores, EmptyAndNonFinite) {
  EXPECT_FALSE(aggregate_scores(card_with(Aggregation::max), {}).has_value());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(aggregate_scores(card_with(Aggregation::mean), {nan}).has_value());
  EXPECT_NEAR(*aggregate_scores(card_with(Aggregation::mean), {0.2F, nan, 0.4F}), 0.3, 1e-7);
  EXPECT_NEAR(*aggregate_scores(card_with(Aggregation::percentile, 1, 50), {0.7F}), 0.7, 1e-7);
}

}  // namespace
}  // namespace mcval::inference
