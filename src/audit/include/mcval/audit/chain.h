#pragma once
// The canonical form of a record and the hash chain that links the records of one log
// (docs/audit.md, "Canonical form" and "Chain").
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mcval/audit/record.h"

namespace mcval::audit {

/// The record format written in every record's "v".
inline constexpr int kFormatVersion = 1;

/// Canonical JSON: UTF-8, object keys sorted by byte value, no whitespace, integers only,
/// strings escaped as nlohmann::json and Python's json.dumps(ensure_ascii=False) both do.
/// `value` must hold valid UTF-8 (records are validated before they get here).
std::string canonical_json(const nlohmann::json& value);

/// The record's fields as a JSON object, without the chain fields (v, log, seq, prev, hash).
nlohmann::json record_fields(const AuditRecord& record);

/// The first record's prev: lower-case hex SHA-256 of "mcval-audit-v1:" + log_id.
std::string genesis_hash(std::string_view log_id);

/// A record placed in the chain: the object written, its hash and its line (with "\n").
struct ChainedRecord {
  nlohmann::json object;
  std::string hash;
  std::string line;
};

/// Adds v, log, seq and prev to the record's fields, computes
/// hash = SHA-256(canonical_json(object without "hash")) and the line
/// canonical_json(object with "hash") + "\n".
ChainedRecord chain_record(const AuditRecord& record, std::string_view log_id, std::uint64_t seq,
                           std::string_view prev);

}  // namespace mcval::audit
