#include "line_check.h"

#include <iterator>

#include "mcval/audit/chain.h"
#include "mcval/audit/record.h"
#include "mcval/common/sha256.h"

namespace mcval::audit::detail {

namespace {

// The schema is closed: exactly these keys (plus "reads" for read_slide, and "repeats" for
// counted refusals), nothing else.
constexpr std::string_view kStringKeys[] = {"action",     "centre",   "hash", "log",    "outcome", "prev",   "reason",
                                            "request_id", "resource", "role", "source", "time",    "version"};
constexpr std::string_view kActorKeys[] = {"client_id", "iss", "sub"};
constexpr std::string_view kReadCounts[] = {"bytes", "regions", "requests", "thumbnails", "tiles"};

CheckedLine fault(LineFault kind, std::string detail) {
  CheckedLine c;
  c.fault = kind;
  c.detail = std::move(detail);
  return c;
}

bool is_string(const nlohmann::json& object, std::string_view key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string();
}

// Empty when `j` is a record of the schema, otherwise what is wrong.
std::string schema_problem(const nlohmann::json& j) {
  if (!j.is_object()) return "not a JSON object";
  std::size_t expected_keys = 3;  // v, seq, actor
  for (auto key : kStringKeys) {
    ++expected_keys;
    if (!is_string(j, key)) return "no string \"" + std::string(key) + "\"";
  }
  const auto v = j.find("v");
  if (v == j.end() || !v->is_number_unsigned()) return "no format version \"v\"";
  if (v->get<std::uint64_t>() != static_cast<std::uint64_t>(kFormatVersion)) {
    return "unsupported format version " + v->dump();
  }
  const auto seq = j.find("seq");
  if (seq == j.end() || !seq->is_number_unsigned() || seq->get<std::uint64_t>() == 0) return "no positive \"seq\"";
  const auto actor = j.find("actor");
  if (actor == j.end() || !actor->is_object() || actor->size() != std::size(kActorKeys)) return "malformed \"actor\"";
  for (auto key : kActorKeys) {
    if (!is_string(*actor, key)) return "malformed \"actor\"";
  }
  const auto action = parse_action(j["action"].get<std::string>());
  if (!action) return "unknown action \"" + j["action"].get<std::string>() + "\"";
  if (!parse_outcome(j["outcome"].get<std::string>())) return "unknown outcome";
  if (!is_utc_timestamp(j["time"].get<std::string>())) return "malformed \"time\"";
  if (!is_lower_hex(j["log"].get<std::string>(), 32)) return "malformed \"log\"";
  if (!is_lower_hex(j["prev"].get<std::string>(), 64)) return "malformed \"prev\"";
  if (!is_lower_hex(j["hash"].get<std::string>(), 64)) return "malformed \"hash\"";
  if (*action == Action::read_slide) {
    ++expected_keys;
    const auto reads = j.find("reads");
    if (reads == j.end() || !reads->is_object() || reads->size() != 9) return "malformed \"reads\"";
    for (auto key : kReadCounts) {
      const auto it = reads->find(key);
      if (it == reads->end() || !it->is_number_unsigned()) return "malformed \"reads\"";
    }
    if (!is_string(*reads, "first") || !is_string(*reads, "last") || !is_string(*reads, "closed_by")) {
      return "malformed \"reads\"";
    }
    const auto levels = reads->find("levels");
    if (levels == reads->end() || !levels->is_array()) return "malformed \"reads\"";
    for (const auto& level : *levels) {
      if (!level.is_number_integer()) return "malformed \"reads\"";
    }
  }
  if (const auto repeats = j.find("repeats"); repeats != j.end()) {
    if (*action != Action::token_rejected && *action != Action::denied) return "\"repeats\" on another action";
    ++expected_keys;
    if (!repeats->is_object() || repeats->size() != 3) return "malformed \"repeats\"";
    const auto count = repeats->find("count");
    if (count == repeats->end() || !count->is_number_unsigned() || count->get<std::uint64_t>() == 0 ||
        !is_string(*repeats, "first") || !is_string(*repeats, "last")) {
      return "malformed \"repeats\"";
    }
  }
  if (j.size() != expected_keys) return "keys outside the audit schema";
  return {};
}

}  // namespace

bool is_lower_hex(std::string_view text, std::size_t length) noexcept {
  if (text.size() != length) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

CheckedLine check_line(std::string_view line) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return fault(LineFault::garbage, line.empty() ? "empty line" : "not JSON");
  if (auto problem = schema_problem(j); !problem.empty()) {
    return fault(LineFault::garbage, "not an audit record: " + problem);
  }
  CheckedLine c;
  c.seq = j["seq"].get<std::uint64_t>();
  c.log = j["log"].get<std::string>();
  c.prev = j["prev"].get<std::string>();
  c.hash = j["hash"].get<std::string>();
  c.time = j["time"].get<std::string>();
  std::string canonical;
  try {
    canonical = canonical_json(j);
  } catch (const nlohmann::json::exception&) {
    return fault(LineFault::garbage, "not an audit record: invalid UTF-8");
  }
  if (canonical != line) {
    c.fault = LineFault::edited;
    c.detail = "record seq " + std::to_string(c.seq) + " is not in canonical form (it was rewritten)";
    return c;
  }
  nlohmann::json body = j;
  body.erase("hash");
  if (sha256_hex(canonical_json(body)) != c.hash) {
    c.fault = LineFault::edited;
    c.detail = "record seq " + std::to_string(c.seq) + " does not match its hash (its content was changed)";
    return c;
  }
  c.object = std::move(j);
  return c;
}

}  // namespace mcval::audit::detail
