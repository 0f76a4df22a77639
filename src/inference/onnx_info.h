#pragma once
// What an ONNX file declares about its graph's inputs and outputs, read straight from the
// protobuf wire format (no protobuf library): enough to check a model against its card and to
// say clearly what is wrong before any runtime sees the file.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mcval/common/result.h"

namespace mcval::inference {

struct OnnxTensorInfo {
  std::string name;
  int elem_type = 0;  ///< onnx.TensorProto.DataType: 1 float, 10 float16, 11 double, ...
  /// Dimensions; -1 where the dimension is symbolic (dim_param) or not given.
  std::vector<std::int64_t> dims;
  bool has_shape = false;
};

struct OnnxModelInfo {
  std::int64_t ir_version = 0;
  std::int64_t opset = 0;  ///< version of the default ("" or "ai.onnx") operator set
  std::string producer;
  /// Graph inputs that are not initializers (the tensors a caller feeds), and the outputs.
  std::vector<OnnxTensorInfo> inputs;
  std::vector<OnnxTensorInfo> outputs;
  std::int64_t nodes = 0;
  bool external_data = false;  ///< some initializer keeps its values in another file
};

/// Parses a serialized onnx.ModelProto. model_invalid ("not an ONNX model: ...") when the
/// bytes are not one. Pure function of the bytes; bounds-checked for untrusted input.
Result<OnnxModelInfo> parse_onnx_info(std::string_view bytes);

/// "float32[N,3,224,224]" (symbolic dimensions as N for the first, ? elsewhere).
std::string describe(const OnnxTensorInfo& tensor);

}  // namespace mcval::inference
