#pragma once
// Running a model on tiles. TileModel is the small interface every runtime implements; the
// OpenCV DNN implementation loads the ONNX file.
#include <filesystem>
#include <memory>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/inference/model_card.h"
#include "mcval/slide/image.h"

namespace mcval::inference {

/// One model, loaded. Not thread-safe: one thread runs it (the runtime itself may use several
/// threads inside one call).
class TileModel {
 public:
  virtual ~TileModel() = default;
  virtual const ModelCard& card() const = 0;
  /// Probabilities (after the card's activation), one vector of class_names.size() values per
  /// tile, in order; any number of tiles. Every tile must be input_px x input_px RGB
  /// (invalid_argument otherwise); preprocessing is the card's (channel order, mean, std).
  virtual Result<std::vector<std::vector<float>>> run(const std::vector<const slide::RgbImage*>& tiles) = 0;
};

/// Loads an ONNX model with OpenCV's DNN module and checks it against the card: the declared
/// input is one float32 [N, 3, input_px, input_px] tensor and the declared output has one value
/// per class, it loads, and test tiles of the card's shape give one output per class
/// (model_invalid with the reason otherwise; not_found / io_error for the file). A dynamic batch
/// dimension is used for whole batches when a batch of two gives what the two tiles give alone;
/// otherwise, and for a fixed batch size, tiles go in batches of that size (padded).
/// `threads`: OpenCV's thread count (cv::setNumThreads, process-wide; 0: leave it). OpenCV's
/// own log output is silenced: its errors come back as Results.
Result<std::unique_ptr<TileModel>> load_opencv_model(const std::filesystem::path& onnx, const ModelCard& card,
                                                      int threads = 0);

}  // namespace mcval::inference
