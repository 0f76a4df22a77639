#include "mcval/inference/model_runtime.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>

#include "mcval/common/files.h"
#include "mcval/common/logging.h"
#include "onnx_info.h"

namespace mcval::inference {
namespace {

constexpr std::size_t kMaxBatch = 256;  // largest batch handed to OpenCV at once

std::string cv_reason(const cv::Exception& e) {
  std::string why = e.err.empty() ? std::string(e.what()) : e.err;
  for (char& c : why) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  if (why.size() > 300) why = why.substr(0, 297) + "...";
  return why;
}

std::string class_list(const ModelCard& card) {
  std::string list;
  for (std::size_t i = 0; i < card.class_names.size() && i < 8; ++i) list += (i ? ", " : "") + card.class_names[i];
  if (card.class_names.size() > 8) list += ", ...";
  return list;
}

class OpenCvTileModel final : public TileModel {
 public:
  OpenCvTileModel(cv::dnn::Net net, ModelCard card, std::size_t fixed_batch)
      : net_(std::move(net)), card_(std::move(card)), fixed_batch_(fixed_batch) {
    for (std::size_t c = 0; c < 3; ++c) {
      // The card's channel c (in its channel order) comes from this RGB channel.
      source_channel_[c] = card_.channel_order == ChannelOrder::rgb ? c : 2 - c;
      scale_[c] = 1.0 / (255.0 * card_.std[c]);
      offset_[c] = -card_.mean[c] / card_.std[c];
    }
  }

  const ModelCard& card() const override { return card_; }

  Result<std::vector<std::vector<float>>> run(const std::vector<const slide::RgbImage*>& tiles) override {
    for (const auto* tile : tiles) {
      if (tile == nullptr || tile->width != card_.input_px || tile->height != card_.input_px ||
          tile->pixels.size() != static_cast<std::size_t>(card_.input_px) * card_.input_px * 3) {
        return Error{ErrorCode::invalid_argument,
                     "every tile must be " + std::to_string(card_.input_px) + " x " + std::to_string(card_.input_px) +
                         " RGB" +
                         (tile ? " (got " + std::to_string(tile->width) + " x " + std::to_string(tile->height) + ")"
                               : std::string())};
      }
    }
    std::vector<std::vector<float>> probabilities;
    probabilities.reserve(tiles.size());
    const std::size_t chunk = fixed_batch_ > 0 ? fixed_batch_ : kMaxBatch;
    for (std::size_t first = 0; first < tiles.size(); first += chunk) {
      const std::size_t count = std::min(chunk, tiles.size() - first);
      MCVAL_TRY_ASSIGN(logits, forward(tiles.data() + first, count));
      for (auto& row : logits) probabilities.push_back(activate(std::move(row)));
    }
    return probabilities;
  }

  /// Raw outputs (before the activation) of `count` tiles, one row per tile.
  Result<std::vector<std::vector<float>>> forward(const slide::RgbImage* const* tiles, std::size_t count) {
    // A model with a fixed batch size gets exactly that many tiles, padded with zeros.
    const std::size_t batch = fixed_batch_ > 0 ? fixed_batch_ : count;
    const int px = card_.input_px;
    const int shape[] = {static_cast<int>(batch), 3, px, px};
    cv::Mat blob(4, shape, CV_32F, cv::Scalar(0));
    const std::size_t plane = static_cast<std::size_t>(px) * px;
    auto* data = blob.ptr<float>();
    for (std::size_t n = 0; n < count; ++n) {
      const std::uint8_t* pixels = tiles[n]->pixels.data();
      for (std::size_t c = 0; c < 3; ++c) {
        float* out = data + (n * 3 + c) * plane;
        const std::size_t source = source_channel_[c];
        const double scale = scale_[c];
        const double offset = offset_[c];
        for (std::size_t i = 0; i < plane; ++i) {
          out[i] = static_cast<float>(pixels[i * 3 + source] * scale + offset);
        }
      }
    }
    cv::Mat output;
    try {
      net_.setInput(blob);
      output = net_.forward();
    } catch (const cv::Exception& e) {
      return Error{ErrorCode::model_invalid, "the model failed on a " + std::to_string(batch) + "x3x" +
                                                 std::to_string(px) + "x" + std::to_string(px) +
                                                 " input: " + cv_reason(e)};
    }
    const std::size_t classes = card_.class_names.size();
    if (output.total() != batch * classes) {
      const std::size_t per_tile = batch > 0 ? output.total() / batch : 0;
      return Error{ErrorCode::model_invalid, "the model gives " + std::to_string(per_tile) + " value" +
                                                 (per_tile == 1 ? "" : "s") + " per tile, the card has " +
                                                 std::to_string(classes) + " class name" + (classes == 1 ? "" : "s") +
                                                 " (" + class_list(card_) + ")"};
    }
    if (output.depth() != CV_32F) output.convertTo(output, CV_32F);
    if (!output.isContinuous()) output = output.clone();
    const float* values = output.ptr<float>();
    std::vector<std::vector<float>> rows(count);
    for (std::size_t n = 0; n < count; ++n) rows[n].assign(values + n * classes, values + (n + 1) * classes);
    return rows;
  }

  std::size_t fixed_batch() const { return fixed_batch_; }
  void set_fixed_batch(std::size_t batch) { fixed_batch_ = batch; }

 private:
  std::vector<float> activate(std::vector<float> values) const {
    switch (card_.activation) {
      case OutputActivation::softmax: {
        const float top = *std::max_element(values.begin(), values.end());
        double sum = 0;
        std::vector<double> e(values.size());
        for (std::size_t i = 0; i < values.size(); ++i) {
          e[i] = std::exp(static_cast<double>(values[i]) - static_cast<double>(top));
          sum += e[i];
        }
        for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(e[i] / sum);
        break;
      }
      case OutputActivation::sigmoid:
        for (float& v : values) v = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(v))));
        break;
      case OutputActivation::identity:
        break;
    }
    return values;
  }

  cv::dnn::Net net_;
  ModelCard card_;
  std::size_t fixed_batch_;  // 0: any batch size
  std::size_t source_channel_[3] = {0, 1, 2};
  double scale_[3] = {1, 1, 1};
  double offset_[3] = {0, 0, 0};
};

/// A deterministic test tile: a smooth gradient with some texture, varied by `seed`.
slide::RgbImage probe_tile(int px, int seed) {
  slide::RgbImage tile(px, px);
  for (int y = 0; y < px; ++y) {
    for (int x = 0; x < px; ++x) {
      for (int c = 0; c < 3; ++c) {
        tile.row(y)[x * 3 + c] =
            static_cast<std::uint8_t>((x * 5 + y * 3 + c * 50 + seed * 97 + ((x * y) % 11) * 7) % 256);
      }
    }
  }
  return tile;
}

bool rows_close(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!(std::abs(a[i] - b[i]) <= 1e-4F * std::max(1.0F, std::abs(a[i])))) return false;
  }
  return true;
}

/// Checks the declared input and output against the card; returns the fixed batch size (0 if
/// the batch dimension is dynamic).
Result<std::size_t> check_declared_shapes(const OnnxModelInfo& info, const ModelCard& card) {
  const std::string px = std::to_string(card.input_px);
  if (info.external_data) {
    return Error{ErrorCode::model_invalid, "the model keeps weights in external data files; save it as one .onnx file"};
  }
  if (info.inputs.size() != 1) {
    std::string names;
    for (const auto& input : info.inputs) names += (names.empty() ? "" : ", ") + input.name;
    return Error{ErrorCode::model_invalid, "the model has " + std::to_string(info.inputs.size()) + " inputs" +
                                               (names.empty() ? "" : " (" + names + ")") +
                                               "; mcval feeds one image tensor [N, 3, H, W]"};
  }
  const auto& input = info.inputs.front();
  if (input.elem_type != 1) {
    return Error{ErrorCode::model_invalid,
                 "the model's input '" + input.name + "' is " + describe(input) + "; mcval feeds float32"};
  }
  std::size_t fixed_batch = 0;
  if (input.has_shape) {
    const auto& d = input.dims;
    if (d.size() != 4) {
      return Error{ErrorCode::model_invalid, "the model's input '" + input.name + "' is " + describe(input) +
                                                 "; mcval feeds [N, 3, " + px + ", " + px + "] (NCHW)"};
    }
    const bool channels_ok = d[1] < 0 || d[1] == 3;
    const bool size_ok = (d[2] < 0 || d[2] == card.input_px) && (d[3] < 0 || d[3] == card.input_px);
    if (!channels_ok || !size_ok) {
      auto dim = [](std::int64_t v) { return v < 0 ? std::string("?") : std::to_string(v); };
      std::string why = "the model expects " + dim(d[1]) + "x" + dim(d[2]) + "x" + dim(d[3]) + " input";
      if (!channels_ok && d[3] == 3 && d[1] > 3) why += " (channels last?)";
      why += ", the card says 3x" + px + "x" + px + " (input_px " + px + ")";
      return Error{ErrorCode::model_invalid, why};
    }
    if (d[0] > 0) fixed_batch = static_cast<std::size_t>(d[0]);
    if (fixed_batch > kMaxBatch) {
      return Error{ErrorCode::model_invalid, "the model's batch size is fixed at " + std::to_string(fixed_batch) +
                                                 "; at most " + std::to_string(kMaxBatch) + " is supported"};
    }
  }
  if (info.outputs.size() != 1) {
    return Error{ErrorCode::model_invalid, "the model has " + std::to_string(info.outputs.size()) +
                                               " outputs; mcval reads one output of class scores [N, classes]"};
  }
  const auto& output = info.outputs.front();
  if (output.has_shape && output.dims.size() >= 2) {
    std::int64_t per_tile = 1;
    for (std::size_t i = 1; i < output.dims.size() && per_tile > 0; ++i) {
      per_tile = output.dims[i] < 0 ? -1 : per_tile * output.dims[i];
    }
    const auto classes = static_cast<std::int64_t>(card.class_names.size());
    if (per_tile > 0 && per_tile != classes) {
      return Error{ErrorCode::model_invalid, "the model's output '" + output.name + "' is " + describe(output) + ": " +
                                                 std::to_string(per_tile) + " values per tile, the card has " +
                                                 std::to_string(classes) + " class names (" + class_list(card) + ")"};
    }
  }
  return fixed_batch;
}

}  // namespace

Result<std::unique_ptr<TileModel>> load_opencv_model(const std::filesystem::path& onnx, const ModelCard& card,
                                                     int threads) {
  MCVAL_TRY_ASSIGN(bytes, read_file(onnx));
  auto info = parse_onnx_info(bytes);
  if (!info.ok()) return Error{info.error().code, onnx.filename().string() + ": " + info.error().detail};
  auto declared_batch = check_declared_shapes(*info, card);
  if (!declared_batch.ok()) {
    return Error{declared_batch.error().code, onnx.filename().string() + ": " + declared_batch.error().detail};
  }
  auto invalid = [&](const std::string& why) {
    return Error{ErrorCode::model_invalid, onnx.filename().string() + ": " + why};
  };

  // Failures come back as exceptions turned into Results; OpenCV's own log lines would only
  // repeat them on stderr.
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
  if (threads > 0) cv::setNumThreads(threads);
  cv::dnn::Net net;
  try {
    net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  } catch (const cv::Exception& e) {
    return invalid("OpenCV cannot load the model: " + cv_reason(e));
  }
  if (net.empty()) return invalid("OpenCV cannot load the model: the network is empty");

  const std::size_t fixed = *declared_batch;
  auto model = std::make_unique<OpenCvTileModel>(std::move(net), card, fixed == 0 ? 1 : fixed);
  const auto a = probe_tile(card.input_px, 1);
  const auto b = probe_tile(card.input_px, 2);
  const slide::RgbImage* probes[] = {&a, &b};
  auto alone_a = model->forward(probes, 1);
  if (!alone_a.ok()) return invalid(alone_a.error().detail);
  if (fixed == 0) {
    // A dynamic batch dimension: check that a batch gives what the tiles give one by one
    // (graphs with a batch size baked into a Reshape do not); otherwise run tiles one by one.
    auto alone_b = model->forward(probes + 1, 1);
    if (!alone_b.ok()) return invalid(alone_b.error().detail);
    model->set_fixed_batch(0);
    auto together = model->forward(probes, 2);
    if (together.ok() && rows_close((*together)[0], (*alone_a)[0]) && rows_close((*together)[1], (*alone_b)[0])) {
      log::debug("model runs batches", {{"model", card.name}});
    } else {
      log::debug("model runs tiles one by one",
                 {{"model", card.name}, {"reason", together.ok() ? "batch differs" : together.error().detail}});
      model->set_fixed_batch(1);
    }
  }
  return std::unique_ptr<TileModel>(std::move(model));
}

}  // namespace mcval::inference
