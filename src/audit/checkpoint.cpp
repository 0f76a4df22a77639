#include "mcval/audit/checkpoint.h"

#include "line_check.h"
#include "mcval/audit/chain.h"
#include "mcval/audit/record.h"

namespace mcval::audit {

nlohmann::json Checkpoint::to_json() const {
  return {{"v", kFormatVersion}, {"log", log_id}, {"seq", seq}, {"hash", hash}, {"time", time}};
}

Result<Checkpoint> Checkpoint::from_json(const nlohmann::json& j) {
  const auto bad = [](std::string what) { return Error{ErrorCode::invalid_argument, "checkpoint: " + what}; };
  if (!j.is_object()) return bad("not a JSON object");
  const auto v = j.find("v");
  if (v == j.end() || !v->is_number_integer() || v->get<std::int64_t>() != kFormatVersion) {
    return bad("no supported format version \"v\"");
  }
  Checkpoint c;
  const auto log = j.find("log");
  if (log == j.end() || !log->is_string() || !detail::is_lower_hex(log->get<std::string>(), 32)) {
    return bad("\"log\" must be the log id (32 hex digits)");
  }
  c.log_id = log->get<std::string>();
  const auto seq = j.find("seq");
  if (seq == j.end() || !seq->is_number_unsigned() || seq->get<std::uint64_t>() == 0) {
    return bad("\"seq\" must be a positive integer");
  }
  c.seq = seq->get<std::uint64_t>();
  const auto hash = j.find("hash");
  if (hash == j.end() || !hash->is_string() || !detail::is_lower_hex(hash->get<std::string>(), 64)) {
    return bad("\"hash\" must be a SHA-256 (64 hex digits)");
  }
  c.hash = hash->get<std::string>();
  const auto time = j.find("time");
  if (time == j.end() || !time->is_string() || !is_utc_timestamp(time->get<std::string>())) {
    return bad("\"time\" must be UTC ISO 8601 with milliseconds");
  }
  c.time = time->get<std::string>();
  return c;
}

Result<Checkpoint> Checkpoint::parse(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error{ErrorCode::invalid_argument, "checkpoint: not JSON"};
  return from_json(j);
}

}  // namespace mcval::audit
