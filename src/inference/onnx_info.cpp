#include "onnx_info.h"

#include <set>

namespace mcval::inference {
namespace {

// Field numbers of onnx.proto (ONNX 1.x; stable across versions).
namespace field {
constexpr std::uint32_t model_ir_version = 1;
constexpr std::uint32_t model_producer_name = 2;
constexpr std::uint32_t model_graph = 7;
constexpr std::uint32_t model_opset_import = 8;
constexpr std::uint32_t opset_domain = 1;
constexpr std::uint32_t opset_version = 2;
constexpr std::uint32_t graph_node = 1;
constexpr std::uint32_t graph_initializer = 5;
constexpr std::uint32_t graph_input = 11;
constexpr std::uint32_t graph_output = 12;
constexpr std::uint32_t graph_sparse_initializer = 15;
constexpr std::uint32_t sparse_values = 1;
constexpr std::uint32_t tensor_name = 8;
constexpr std::uint32_t tensor_data_location = 14;
constexpr std::uint32_t value_info_name = 1;
constexpr std::uint32_t value_info_type = 2;
constexpr std::uint32_t type_tensor_type = 1;
constexpr std::uint32_t tensor_type_elem_type = 1;
constexpr std::uint32_t tensor_type_shape = 2;
constexpr std::uint32_t shape_dim = 1;
constexpr std::uint32_t dim_value = 1;
constexpr std::uint32_t dim_param = 2;
}  // namespace field

enum WireType : std::uint32_t { varint = 0, fixed64 = 1, length_delimited = 2, fixed32 = 5 };

struct FieldValue {
  std::uint32_t number = 0;
  WireType wire = varint;
  std::uint64_t integer = 0;  // varint / fixed values
  std::string_view bytes;     // length-delimited payload
};

// Reads one protobuf message's fields in order; every read is bounds-checked.
class WireReader {
 public:
  explicit WireReader(std::string_view bytes) : bytes_(bytes) {}

  bool done() const { return pos_ >= bytes_.size(); }

  Result<FieldValue> next() {
    MCVAL_TRY_ASSIGN(key, read_varint());
    FieldValue value;
    value.number = static_cast<std::uint32_t>(key >> 3);
    const auto wire = static_cast<std::uint32_t>(key & 7);
    if (value.number == 0 || key >> 3 > 0x1FFFFFFF) return malformed("bad field number");
    switch (wire) {
      case varint: {
        value.wire = varint;
        MCVAL_TRY_ASSIGN(integer, read_varint());
        value.integer = integer;
        break;
      }
      case fixed64:
      case fixed32: {
        value.wire = static_cast<WireType>(wire);
        const std::size_t size = wire == fixed64 ? 8 : 4;
        if (bytes_.size() - pos_ < size) return malformed("truncated fixed-size field");
        for (std::size_t i = 0; i < size; ++i) {
          value.integer |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes_[pos_ + i])) << (8 * i);
        }
        pos_ += size;
        break;
      }
      case length_delimited: {
        value.wire = length_delimited;
        MCVAL_TRY_ASSIGN(length, read_varint());
        if (length > bytes_.size() - pos_) return malformed("a field runs past the end of the file");
        value.bytes = bytes_.substr(pos_, static_cast<std::size_t>(length));
        pos_ += static_cast<std::size_t>(length);
        break;
      }
      default:
        return malformed("unsupported wire type " + std::to_string(wire));
    }
    return value;
  }

  static Error malformed(const std::string& why) {
    return Error{ErrorCode::model_invalid, "not an ONNX model: " + why};
  }

 private:
  Result<std::uint64_t> read_varint() {
    std::uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= bytes_.size()) return malformed("truncated varint");
      const auto byte = static_cast<unsigned char>(bytes_[pos_++]);
      result |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return result;
    }
    return malformed("varint longer than 10 bytes");
  }

  std::string_view bytes_;
  std::size_t pos_ = 0;
};

Status expect_wire(const FieldValue& value, WireType wire, std::string_view what) {
  if (value.wire != wire) return WireReader::malformed(std::string(what) + " has the wrong wire type");
  return {};
}

Result<std::int64_t> parse_dimension(std::string_view bytes) {
  std::int64_t dim = -1;
  WireReader reader(bytes);
  while (!reader.done()) {
    MCVAL_TRY_ASSIGN(d, reader.next());
    if (d.number == field::dim_value && d.wire == varint) {
      const auto v = static_cast<std::int64_t>(d.integer);
      dim = v > 0 ? v : -1;  // 0 is how some exporters write a dynamic dimension
    } else if (d.number == field::dim_param) {
      dim = -1;
    }
  }
  return dim;
}

Result<std::vector<std::int64_t>> parse_shape(std::string_view bytes) {
  std::vector<std::int64_t> dims;
  WireReader reader(bytes);
  while (!reader.done()) {
    MCVAL_TRY_ASSIGN(f, reader.next());
    if (f.number != field::shape_dim) continue;
    MCVAL_TRY(expect_wire(f, length_delimited, "a shape dimension"));
    MCVAL_TRY_ASSIGN(dim, parse_dimension(f.bytes));
    if (dims.size() >= 64) return WireReader::malformed("a tensor with more than 64 dimensions");
    dims.push_back(dim);
  }
  return dims;
}

Status parse_tensor_type(std::string_view bytes, OnnxTensorInfo& info) {
  WireReader reader(bytes);
  while (!reader.done()) {
    MCVAL_TRY_ASSIGN(f, reader.next());
    if (f.number == field::tensor_type_elem_type && f.wire == varint) {
      info.elem_type = static_cast<int>(f.integer);
    } else if (f.number == field::tensor_type_shape) {
      MCVAL_TRY(expect_wire(f, length_delimited, "a tensor shape"));
      MCVAL_TRY_ASSIGN(dims, parse_shape(f.bytes));
      info.dims = std::move(dims);
      info.has_shape = true;
    }
  }
  return {};
}

Result<OnnxTensorInfo> parse_value_info(std::string_view bytes) {
  OnnxTensorInfo info;
  WireReader reader(bytes);
  while (!reader.done()) {
    MCVAL_TRY_ASSIGN(f, reader.next());
    if (f.number == field::value_info_name) {
      MCVAL_TRY(expect_wire(f, length_delimited, "a value name"));
      info.name = std::string(f.bytes);
    } else if (f.number == field::value_info_type) {
      MCVAL_TRY(expect_wire(f, length_delimited, "a value type"));
      WireReader type_reader(f.bytes);
      while (!type_reader.done()) {
        MCVAL_TRY_ASSIGN(t, type_reader.next());
        if (t.number != field::type_tensor_type) continue;
        MCVAL_TRY(expect_wire(t, length_delimited, "a tensor type"));
        MCVAL_TRY(parse_tensor_type(t.bytes, info));
      }
    }
  }
  return info;
}

/// Name of an initializer (TensorProto), and whether its data lives in an external file.
Status parse_initializer(std::string_view bytes, std::set<std::string>& names, bool& external) {
  WireReader reader(bytes);
  while (!reader.done()) {
    MCVAL_TRY_ASSIGN(f, reader.next());
    if (f.number == field::tensor_name && f.wire == length_delimited) names.insert(std::string(f.bytes));
    if (f.number == field::tensor_data_location && f.wire == varint && f.integer == 1) external = true;
  }
  return {};
}

Status parse_sparse_initializer(std::string_view bytes, std::set<std::string>& names, bool& external) {
  WireReader reader(bytes);
  while (!reader.done()) {
    MCVAL_TRY_ASSIGN(f, reader.next());
    if (f.number == field::sparse_values && f.wire == length_delimited) {
      MCVAL_TRY(parse_initializer(f.bytes, names, external));
    }
  }
  return {};
}

Status parse_opset(std::string_view bytes, OnnxModelInfo& info) {
  std::string_view domain;
  std::int64_t version = 0;
  WireReader reader(bytes);
  while (!reader.done()) {
    MCVAL_TRY_ASSIGN(f, reader.next());
    if (f.number == field::opset_domain && f.wire == length_delimited) domain = f.bytes;
    if (f.number == field::opset_version && f.wire == varint) version = static_cast<std::int64_t>(f.integer);
  }
  if (domain.empty() || domain == "ai.onnx") info.opset = version;
  return {};
}

std::string_view type_name(int elem_type) {
  switch (elem_type) {
    case 1:
      return "float32";
    case 2:
      return "uint8";
    case 3:
      return "int8";
    case 6:
      return "int32";
    case 7:
      return "int64";
    case 10:
      return "float16";
    case 11:
      return "float64";
    case 16:
      return "bfloat16";
    default:
      return "type";
  }
}

}  // namespace

Result<OnnxModelInfo> parse_onnx_info(std::string_view bytes) {
  if (bytes.empty()) return WireReader::malformed("the file is empty");
  OnnxModelInfo info;
  std::string_view graph;
  bool has_graph = false;
  WireReader reader(bytes);
  while (!reader.done()) {
    MCVAL_TRY_ASSIGN(f, reader.next());
    if (f.number == field::model_ir_version) {
      MCVAL_TRY(expect_wire(f, varint, "ir_version"));
      info.ir_version = static_cast<std::int64_t>(f.integer);
    } else if (f.number == field::model_producer_name) {
      MCVAL_TRY(expect_wire(f, length_delimited, "producer_name"));
      info.producer = std::string(f.bytes.substr(0, 256));
    } else if (f.number == field::model_graph) {
      MCVAL_TRY(expect_wire(f, length_delimited, "the graph"));
      graph = f.bytes;
      has_graph = true;
    } else if (f.number == field::model_opset_import) {
      MCVAL_TRY(expect_wire(f, length_delimited, "opset_import"));
      MCVAL_TRY(parse_opset(f.bytes, info));
    }
  }
  if (info.ir_version <= 0 || info.ir_version > 100) {
    return WireReader::malformed("no valid ir_version (got " + std::to_string(info.ir_version) + ")");
  }
  if (!has_graph) return WireReader::malformed("no graph");

  std::set<std::string> initializers;
  std::vector<OnnxTensorInfo> declared_inputs;
  WireReader graph_reader(graph);
  while (!graph_reader.done()) {
    MCVAL_TRY_ASSIGN(f, graph_reader.next());
    if (f.number == field::graph_node) {
      ++info.nodes;
    } else if (f.number == field::graph_initializer) {
      MCVAL_TRY(expect_wire(f, length_delimited, "an initializer"));
      MCVAL_TRY(parse_initializer(f.bytes, initializers, info.external_data));
    } else if (f.number == field::graph_sparse_initializer) {
      MCVAL_TRY(expect_wire(f, length_delimited, "a sparse initializer"));
      MCVAL_TRY(parse_sparse_initializer(f.bytes, initializers, info.external_data));
    } else if (f.number == field::graph_input) {
      MCVAL_TRY(expect_wire(f, length_delimited, "a graph input"));
      MCVAL_TRY_ASSIGN(input, parse_value_info(f.bytes));
      declared_inputs.push_back(std::move(input));
    } else if (f.number == field::graph_output) {
      MCVAL_TRY(expect_wire(f, length_delimited, "a graph output"));
      MCVAL_TRY_ASSIGN(output, parse_value_info(f.bytes));
      info.outputs.push_back(std::move(output));
    }
  }
  // Before IR version 4, initializers were listed among the inputs too.
  for (auto& input : declared_inputs) {
    if (initializers.count(input.name) == 0) info.inputs.push_back(std::move(input));
  }
  if (info.nodes == 0) return WireReader::malformed("the graph has no nodes");
  return info;
}

std::string describe(const OnnxTensorInfo& tensor) {
  std::string text(type_name(tensor.elem_type));
  if (!tensor.has_shape) return text + "[?]";
  text += "[";
  for (std::size_t i = 0; i < tensor.dims.size(); ++i) {
    if (i > 0) text += ",";
    text += tensor.dims[i] >= 0 ? std::to_string(tensor.dims[i]) : (i == 0 ? "N" : "?");
  }
  return text + "]";
}

}  // namespace mcval::inference
