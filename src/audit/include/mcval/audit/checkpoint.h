#pragma once
// A checkpoint: the state of a log at one moment, exported and kept elsewhere by the data
// steward so that removing records from the log's end can be detected (docs/audit.md).
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "mcval/common/result.h"

namespace mcval::audit {

struct Checkpoint {
  std::string log_id;      ///< the log's id (32 hex digits)
  std::uint64_t seq = 0;   ///< seq of the last record
  std::string hash;        ///< hash of that record
  std::string time;        ///< when the checkpoint was taken, UTC ISO 8601 ms

  /// {"hash":..., "log":..., "seq":..., "time":..., "v":1}
  nlohmann::json to_json() const;
  /// Strict: every field present and well formed (invalid_argument otherwise).
  static Result<Checkpoint> from_json(const nlohmann::json& json);
  /// Parses a checkpoint file's text.
  static Result<Checkpoint> parse(std::string_view text);
};

}  // namespace mcval::audit
