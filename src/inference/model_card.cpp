#include "mcval/inference/model_card.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "mcval/common/files.h"

namespace mcval::inference {
namespace {

using nlohmann::json;

constexpr int kMinInputPx = 8;
constexpr int kMaxInputPx = 1024;
constexpr std::size_t kMaxClasses = 1000;
constexpr std::size_t kMaxText = 4096;

Error field_error(std::string_view field, const std::string& why) {
  return Error{ErrorCode::model_invalid, "model card: field '" + std::string(field) + "': " + why};
}

std::string shown(const json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

Status check_keys(const json& object, std::string_view where, const std::set<std::string>& known) {
  for (const auto& [key, value] : object.items()) {
    if (known.count(key) == 0) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      const std::string prefix = where.empty() ? "" : std::string(where) + ".";
      return Error{ErrorCode::model_invalid, "model card: unknown field '" + prefix + key + "' (known: " + list + ")"};
    }
  }
  return {};
}

Result<std::string> text_field(const json& card, std::string_view field, bool required) {
  const auto it = card.find(field);
  if (it == card.end()) {
    if (required) return field_error(field, "missing");
    return std::string();
  }
  if (!it->is_string()) return field_error(field, "must be a string (got " + shown(*it) + ")");
  auto text = it->get<std::string>();
  if (required && text.empty()) return field_error(field, "must not be empty");
  if (text.size() > kMaxText) return field_error(field, "longer than " + std::to_string(kMaxText) + " characters");
  return text;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

Result<double> finite_number(const json& value, std::string_view field) {
  if (!value.is_number()) return field_error(field, "must be a number (got " + shown(value) + ")");
  const double number = value.get<double>();
  if (!std::isfinite(number)) return field_error(field, "must be finite");
  return number;
}

Result<std::vector<double>> three_numbers(const json& value, std::string_view field) {
  if (!value.is_array() || value.size() != 3) {
    return field_error(field, "must be an array of 3 numbers, one per channel (got " + shown(value) + ")");
  }
  std::vector<double> numbers;
  for (const auto& v : value) {
    MCVAL_TRY_ASSIGN(number, finite_number(v, field));
    numbers.push_back(number);
  }
  return numbers;
}

Status parse_normalization(const json& value, ModelCard& card) {
  if (!value.is_object()) return field_error("normalization", "must be an object {\"mean\": [3], \"std\": [3]}");
  MCVAL_TRY(check_keys(value, "normalization", {"mean", "std"}));
  if (!value.contains("mean")) return field_error("normalization.mean", "missing");
  if (!value.contains("std")) return field_error("normalization.std", "missing");
  MCVAL_TRY_ASSIGN(mean, three_numbers(value["mean"], "normalization.mean"));
  MCVAL_TRY_ASSIGN(std_dev, three_numbers(value["std"], "normalization.std"));
  for (double s : std_dev) {
    if (!(s > 0)) return field_error("normalization.std", "every value must be > 0");
  }
  card.mean = std::move(mean);
  card.std = std::move(std_dev);
  return {};
}

Status parse_aggregation(const json& value, ModelCard& card) {
  if (!value.is_object()) {
    return field_error("aggregation", "must be an object such as {\"method\": \"max\"} (got " + shown(value) + ")");
  }
  MCVAL_TRY(check_keys(value, "aggregation", {"method", "k", "percentile"}));
  const auto method = value.find("method");
  if (method == value.end()) return field_error("aggregation.method", "missing");
  const std::string name = method->is_string() ? method->get<std::string>() : "";
  if (name == "max") {
    card.aggregation = Aggregation::max;
  } else if (name == "mean") {
    card.aggregation = Aggregation::mean;
  } else if (name == "top_k_mean") {
    card.aggregation = Aggregation::top_k_mean;
  } else if (name == "percentile") {
    card.aggregation = Aggregation::percentile;
  } else {
    return field_error("aggregation.method",
                       "must be one of max, mean, top_k_mean, percentile (got " + shown(*method) + ")");
  }
  const bool top_k = card.aggregation == Aggregation::top_k_mean;
  const bool percentile = card.aggregation == Aggregation::percentile;
  if (value.contains("k") != top_k) {
    return field_error("aggregation.k", top_k ? "missing (top_k_mean needs k)" : "only top_k_mean takes k");
  }
  if (value.contains("percentile") != percentile) {
    return field_error("aggregation.percentile",
                       percentile ? "missing (percentile needs a percentile)" : "only percentile takes a percentile");
  }
  if (top_k) {
    const auto& k = value["k"];
    if (!k.is_number_integer() || k.get<long long>() < 1 || k.get<long long>() > 1'000'000) {
      return field_error("aggregation.k", "must be an integer from 1 to 1000000 (got " + shown(k) + ")");
    }
    card.aggregation_k = k.get<int>();
  }
  if (percentile) {
    MCVAL_TRY_ASSIGN(p, finite_number(value["percentile"], "aggregation.percentile"));
    if (p < 0 || p > 100) return field_error("aggregation.percentile", "must be from 0 to 100");
    card.aggregation_percentile = p;
  }
  return {};
}

bool is_lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

Result<ModelCard> parse_model_card(const json& document) {
  if (!document.is_object()) return Error{ErrorCode::model_invalid, "model card: must be a JSON object"};
  MCVAL_TRY(check_keys(
      document, "",
      {"name", "version", "description", "intended_use", "input_px", "mpp", "channel_order", "normalization",
       "class_names", "output", "positive_class", "aggregation", "min_tissue_fraction", "onnx", "onnx_sha256"}));
  ModelCard card;

  MCVAL_TRY_ASSIGN(name, text_field(document, "name", true));
  if (name.size() > 64 || !std::all_of(name.begin(), name.end(), is_name_char)) {
    return field_error("name", "must be 1-64 characters of a-z, 0-9, '.', '_', '-' (got " + shown(name) + ")");
  }
  card.name = std::move(name);
  MCVAL_TRY_ASSIGN(version, text_field(document, "version", true));
  const bool bad_version = version.size() > 64 || std::any_of(version.begin(), version.end(), [](char c) {
                             return c == '/' || c == '\\' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
                           });
  if (bad_version) {
    return field_error("version",
                       "must be 1-64 characters without '/', '\\' or whitespace (got " + shown(version) + ")");
  }
  card.version = std::move(version);
  MCVAL_TRY_ASSIGN(description, text_field(document, "description", false));
  card.description = std::move(description);
  MCVAL_TRY_ASSIGN(intended_use, text_field(document, "intended_use", true));
  card.intended_use = std::move(intended_use);

  if (!document.contains("input_px")) return field_error("input_px", "missing");
  const auto& input_px = document["input_px"];
  if (!input_px.is_number_integer() || input_px.get<long long>() < kMinInputPx ||
      input_px.get<long long>() > kMaxInputPx) {
    return field_error("input_px", "must be an integer from " + std::to_string(kMinInputPx) + " to " +
                                       std::to_string(kMaxInputPx) + " (got " + shown(input_px) + ")");
  }
  card.input_px = input_px.get<int>();

  if (!document.contains("mpp")) return field_error("mpp", "missing");
  MCVAL_TRY_ASSIGN(mpp, finite_number(document["mpp"], "mpp"));
  if (mpp <= 0 || mpp > 1000) return field_error("mpp", "must be > 0 and at most 1000 microns per pixel");
  card.mpp = mpp;

  if (!document.contains("channel_order")) return field_error("channel_order", "missing");
  const auto& order = document["channel_order"];
  if (order == "RGB") {
    card.channel_order = ChannelOrder::rgb;
  } else if (order == "BGR") {
    card.channel_order = ChannelOrder::bgr;
  } else {
    return field_error("channel_order", "must be \"RGB\" or \"BGR\" (got " + shown(order) + ")");
  }

  if (!document.contains("normalization")) return field_error("normalization", "missing");
  MCVAL_TRY(parse_normalization(document["normalization"], card));

  if (!document.contains("class_names")) return field_error("class_names", "missing");
  const auto& classes = document["class_names"];
  if (!classes.is_array() || classes.empty() || classes.size() > kMaxClasses) {
    return field_error("class_names", "must be an array of 1 to " + std::to_string(kMaxClasses) + " names");
  }
  std::set<std::string> seen;
  for (const auto& c : classes) {
    if (!c.is_string() || c.get<std::string>().empty() || c.get<std::string>().size() > 256) {
      return field_error("class_names", "every name must be a string of 1-256 characters (got " + shown(c) + ")");
    }
    if (!seen.insert(c.get<std::string>()).second) {
      return field_error("class_names", "'" + c.get<std::string>() + "' appears twice");
    }
    card.class_names.push_back(c.get<std::string>());
  }

  if (!document.contains("output")) return field_error("output", "missing");
  const auto& output = document["output"];
  if (output == "softmax") {
    card.activation = OutputActivation::softmax;
  } else if (output == "sigmoid") {
    card.activation = OutputActivation::sigmoid;
  } else if (output == "probabilities") {
    card.activation = OutputActivation::identity;
  } else {
    return field_error("output", "must be \"softmax\", \"sigmoid\" or \"probabilities\" (got " + shown(output) + ")");
  }
  if (card.activation == OutputActivation::softmax && card.class_names.size() < 2) {
    return field_error("output", "softmax needs at least 2 classes (use sigmoid for one output)");
  }

  const auto positive = document.find("positive_class");
  if (positive == document.end()) {
    if (card.class_names.size() > 1) {
      return field_error("positive_class",
                         "missing (required with more than one class: the class the slide score is of)");
    }
    card.positive_class = 0;
  } else if (positive->is_string()) {
    const auto at = std::find(card.class_names.begin(), card.class_names.end(), positive->get<std::string>());
    if (at == card.class_names.end()) {
      return field_error("positive_class", shown(*positive) + " is not one of class_names");
    }
    card.positive_class = static_cast<int>(at - card.class_names.begin());
  } else if (positive->is_number_integer()) {
    const long long index = positive->get<long long>();
    if (index < 0 || index >= static_cast<long long>(card.class_names.size())) {
      return field_error("positive_class", "index " + std::to_string(index) + " is outside class_names (0-" +
                                               std::to_string(card.class_names.size() - 1) + ")");
    }
    card.positive_class = static_cast<int>(index);
  } else {
    return field_error("positive_class",
                       "must be a class name or an index into class_names (got " + shown(*positive) + ")");
  }

  if (!document.contains("aggregation")) return field_error("aggregation", "missing");
  MCVAL_TRY(parse_aggregation(document["aggregation"], card));

  if (document.contains("min_tissue_fraction")) {
    MCVAL_TRY_ASSIGN(fraction, finite_number(document["min_tissue_fraction"], "min_tissue_fraction"));
    if (fraction < 0 || fraction > 1) return field_error("min_tissue_fraction", "must be from 0 to 1");
    card.min_tissue_fraction = fraction;
  }

  MCVAL_TRY_ASSIGN(onnx, text_field(document, "onnx", false));
  if (document.contains("onnx")) {
    const bool plain = !onnx.empty() && onnx != "." && onnx != ".." && onnx.find('/') == std::string::npos &&
                       onnx.find('\\') == std::string::npos && onnx.find('\0') == std::string::npos;
    if (!plain)
      return field_error("onnx", "must be a file name beside the card, without folders (got " + shown(onnx) + ")");
  }
  card.onnx = std::move(onnx);

  MCVAL_TRY_ASSIGN(onnx_sha256, text_field(document, "onnx_sha256", false));
  std::transform(onnx_sha256.begin(), onnx_sha256.end(), onnx_sha256.begin(),
                 [](char c) { return (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c; });
  if (document.contains("onnx_sha256") && (onnx_sha256.size() != 64 || !is_lower_hex(onnx_sha256))) {
    return field_error("onnx_sha256", "must be 64 hexadecimal digits");
  }
  card.onnx_sha256 = std::move(onnx_sha256);
  return card;
}

Result<ModelCard> read_model_card(const std::filesystem::path& path) {
  MCVAL_TRY_ASSIGN(text, read_file(path));
  const json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) {
    return Error{ErrorCode::model_invalid, path.filename().string() + ": not valid JSON"};
  }
  auto card = parse_model_card(document);
  if (!card.ok()) return Error{card.error().code, path.filename().string() + ": " + card.error().detail};
  return card;
}

json to_json(const ModelCard& card) {
  json aggregation = {{"method", std::string(to_string(card.aggregation))}};
  if (card.aggregation == Aggregation::top_k_mean) aggregation["k"] = card.aggregation_k;
  if (card.aggregation == Aggregation::percentile) aggregation["percentile"] = card.aggregation_percentile;
  json out = {
      {"name", card.name},
      {"version", card.version},
      {"description", card.description},
      {"intended_use", card.intended_use},
      {"input_px", card.input_px},
      {"mpp", card.mpp},
      {"channel_order", std::string(to_string(card.channel_order))},
      {"normalization", {{"mean", card.mean}, {"std", card.std}}},
      {"class_names", card.class_names},
      {"output", std::string(to_string(card.activation))},
      {"aggregation", aggregation},
      {"min_tissue_fraction", card.min_tissue_fraction},
  };
  if (card.positive_class >= 0 && card.positive_class < static_cast<int>(card.class_names.size())) {
    out["positive_class"] = card.class_names[static_cast<std::size_t>(card.positive_class)];
  }
  if (!card.onnx.empty()) out["onnx"] = card.onnx;
  if (!card.onnx_sha256.empty()) out["onnx_sha256"] = card.onnx_sha256;
  return out;
}

std::string_view to_string(Aggregation aggregation) {
  switch (aggregation) {
    case Aggregation::max:
      return "max";
    case Aggregation::mean:
      return "mean";
    case Aggregation::top_k_mean:
      return "top_k_mean";
    case Aggregation::percentile:
      return "percentile";
  }
  return "max";
}

std::string_view to_string(OutputActivation activation) {
  switch (activation) {
    case OutputActivation::softmax:
      return "softmax";
    case OutputActivation::sigmoid:
      return "sigmoid";
    case OutputActivation::identity:
      return "probabilities";
  }
  return "softmax";
}

std::string_view to_string(ChannelOrder order) { return order == ChannelOrder::bgr ? "BGR" : "RGB"; }

std::optional<double> aggregate_scores(const ModelCard& card, std::vector<float> tile_scores) {
  std::erase_if(tile_scores, [](float s) { return !std::isfinite(s); });
  if (tile_scores.empty()) return std::nullopt;
  const std::size_t n = tile_scores.size();
  auto mean_of = [](auto first, auto last) {
    double sum = 0;
    for (auto it = first; it != last; ++it) sum += static_cast<double>(*it);
    return sum / static_cast<double>(last - first);
  };
  switch (card.aggregation) {
    case Aggregation::max:
      return static_cast<double>(*std::max_element(tile_scores.begin(), tile_scores.end()));
    case Aggregation::mean:
      return mean_of(tile_scores.begin(), tile_scores.end());
    case Aggregation::top_k_mean: {
      const std::size_t k = std::min(n, static_cast<std::size_t>(std::max(1, card.aggregation_k)));
      std::partial_sort(tile_scores.begin(), tile_scores.begin() + static_cast<std::ptrdiff_t>(k), tile_scores.end(),
                        std::greater<>());
      return mean_of(tile_scores.begin(), tile_scores.begin() + static_cast<std::ptrdiff_t>(k));
    }
    case Aggregation::percentile: {
      // numpy.percentile's default ("linear"): rank p/100 * (n - 1) between the sorted values.
      std::sort(tile_scores.begin(), tile_scores.end());
      const double rank = std::clamp(card.aggregation_percentile, 0.0, 100.0) / 100.0 * static_cast<double>(n - 1);
      const auto lower = static_cast<std::size_t>(std::floor(rank));
      const std::size_t upper = std::min(lower + 1, n - 1);
      const double weight = rank - static_cast<double>(lower);
      return static_cast<double>(tile_scores[lower]) +
             weight * (static_cast<double>(tile_scores[upper]) - static_cast<double>(tile_scores[lower]));
    }
  }
  return std::nullopt;
}

}  // namespace mcval::inference
