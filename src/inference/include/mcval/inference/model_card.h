#pragma once
// A model package: an ONNX file plus its model card, which says how to feed the model and
// what its output means. Cards are JSON (see docs/model-card.md).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mcval/common/result.h"

namespace mcval::inference {

enum class ChannelOrder { rgb, bgr };
enum class OutputActivation {
  softmax,   ///< the model outputs logits; probabilities are their softmax over classes
  sigmoid,   ///< the model outputs logits; probabilities are their sigmoid, per class
  identity,  ///< the model outputs probabilities already
};
enum class Aggregation {
  max,           ///< slide score = the highest tile probability
  mean,          ///< the mean over tissue tiles
  top_k_mean,    ///< the mean of the k highest (k = aggregation_k)
  percentile,    ///< the given percentile (aggregation_percentile, 0-100, linear interpolation)
};

struct ModelCard {
  std::string name;      ///< [a-z0-9._-]+, 1-64 characters
  std::string version;   ///< free text, 1-64 characters without '/' or whitespace
  std::string description;   ///< optional
  std::string intended_use;  ///< required, non-empty
  int input_px = 0;      ///< square input side in pixels, 8 .. 1024
  double mpp = 0;        ///< target microns per pixel of the input, > 0
  ChannelOrder channel_order = ChannelOrder::rgb;
  /// Input value = (pixel / 255 - mean[c]) / std[c], per channel in channel_order.
  std::vector<double> mean{0, 0, 0};
  std::vector<double> std{1, 1, 1};
  std::vector<std::string> class_names;  ///< at least 1; output has one value per class
  OutputActivation activation = OutputActivation::softmax;
  /// The class whose probability is the slide's score (index into class_names).
  int positive_class = 0;
  Aggregation aggregation = Aggregation::max;
  int aggregation_k = 1;
  double aggregation_percentile = 100;
  /// Fraction of a tile's area that must be tissue for it to be scored, 0 .. 1.
  double min_tissue_fraction = 0.5;
  /// File name of the ONNX beside the card (optional; no folders).
  std::string onnx;
  /// SHA-256 of the ONNX file as the card states it, lower-case hex (optional in the card;
  /// checked when given).
  std::string onnx_sha256;
};

/// Parses and validates a card: model_invalid naming the offending field ("model card: field
/// 'input_px': ..."); unknown keys are refused too.
Result<ModelCard> parse_model_card(const nlohmann::json& card);
/// Reads and parses a card file: not_found when it does not exist, io_error when unreadable,
/// model_invalid (with the file name) when it is not valid JSON or not a valid card.
Result<ModelCard> read_model_card(const std::filesystem::path& path);
/// The card in its file form (parse_model_card(to_json(card)) gives the card back).
nlohmann::json to_json(const ModelCard& card);

/// The card's words: "max", "mean", "top_k_mean", "percentile"; "softmax", "sigmoid",
/// "probabilities"; "RGB", "BGR".
std::string_view to_string(Aggregation aggregation);
std::string_view to_string(OutputActivation activation);
std::string_view to_string(ChannelOrder order);

/// Slide score from the tile probabilities of the positive class, by the card's aggregation;
/// nullopt for an empty list. Non-finite scores are ignored; top_k_mean with fewer than k
/// tiles is the mean of all.
std::optional<double> aggregate_scores(const ModelCard& card, std::vector<float> tile_scores);

}  // namespace mcval::inference
