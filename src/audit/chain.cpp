#include "mcval/audit/chain.h"

#include "mcval/common/sha256.h"

namespace mcval::audit {

std::string canonical_json(const nlohmann::json& value) {
  // nlohmann::json keeps object members in a std::map (sorted by byte value), dumps without
  // whitespace when indent < 0, escapes only '"', '\\' and control characters, and writes
  // other UTF-8 as is (ensure_ascii = false).
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
}

nlohmann::json record_fields(const AuditRecord& r) {
  nlohmann::json j = {
      {"time", r.time},
      {"actor", {{"iss", r.actor.iss}, {"sub", r.actor.sub}, {"client_id", r.actor.client_id}}},
      {"role", r.role},
      {"action", action_name(r.action)},
      {"resource", r.resource},
      {"centre", r.centre},
      {"outcome", outcome_name(r.outcome)},
      {"reason", r.reason},
      {"request_id", r.request_id},
      {"source", r.source},
      {"version", r.version},
  };
  if (r.reads) {
    const auto& s = *r.reads;
    nlohmann::json levels = nlohmann::json::array();
    for (int level : s.levels) levels.push_back(level);
    j["reads"] = {{"tiles", s.tiles},   {"regions", s.regions},     {"thumbnails", s.thumbnails},
                  {"bytes", s.bytes},   {"requests", s.requests},   {"first", s.first},
                  {"last", s.last},     {"levels", std::move(levels)}, {"closed_by", s.closed_by}};
  }
  if (r.repeats) j["repeats"] = {{"count", r.repeats->count}, {"first", r.repeats->first}, {"last", r.repeats->last}};
  return j;
}

std::string genesis_hash(std::string_view log_id) {
  return sha256_hex("mcval-audit-v1:" + std::string(log_id));
}

ChainedRecord chain_record(const AuditRecord& record, std::string_view log_id, std::uint64_t seq,
                           std::string_view prev) {
  ChainedRecord out;
  out.object = record_fields(record);
  out.object["v"] = kFormatVersion;
  out.object["log"] = log_id;
  out.object["seq"] = seq;
  out.object["prev"] = prev;
  out.hash = sha256_hex(canonical_json(out.object));
  out.object["hash"] = out.hash;
  out.line = canonical_json(out.object);
  out.line += '\n';
  return out;
}

}  // namespace mcval::audit
