#include "mcval/audit/record.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <functional>

namespace mcval::audit {

namespace {

constexpr std::array<std::string_view, 15> kActionNames = {
#define MCVAL_AUDIT_NAME(name) #name,
    MCVAL_AUDIT_ACTIONS(MCVAL_AUDIT_NAME)
#undef MCVAL_AUDIT_NAME
};
static_assert(kActionNames.size() == static_cast<std::size_t>(Action::service_stopped) + 1,
              "kActionNames must list every action");

constexpr std::array<std::string_view, 3> kOutcomeNames = {"allowed", "denied", "failed"};

bool valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    char32_t code = 0;
    if ((c & 0xE0) == 0xC0) {
      length = 2;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + length > s.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      code = (code << 6) | (cc & 0x3F);
    }
    const char32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < smallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

bool is_base64url(char c) noexcept {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
}

// A segment with upper- and lower-case letters and digits: what random base64 looks like.
bool mixed_alphanumeric(std::string_view segment) noexcept {
  bool upper = false, lower = false, digit = false;
  for (char c : segment) {
    upper |= std::isupper(static_cast<unsigned char>(c)) != 0;
    lower |= std::islower(static_cast<unsigned char>(c)) != 0;
    digit |= std::isdigit(static_cast<unsigned char>(c)) != 0;
  }
  return upper && lower && digit;
}

// A run of base64url characters and dots: a compact JWS/JWE has three or five segments.
bool token_run(std::string_view run) noexcept {
  std::size_t segments = 1, long_random = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= run.size(); ++i) {
    if (i == run.size() || run[i] == '.') {
      const auto segment = run.substr(start, i - start);
      if (segment.size() >= 20 && mixed_alphanumeric(segment)) ++long_random;
      if (i < run.size()) ++segments;
      start = i + 1;
    }
  }
  if (segments < 3) return false;
  const auto first = run.substr(0, run.find('.'));
  return (first.size() >= 10 && first.starts_with("ey")) || long_random >= 2;
}

std::string withheld(std::string_view reason) { return "[withheld: " + std::string(reason) + "]"; }

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

}  // namespace

std::string_view action_name(Action action) noexcept { return kActionNames[static_cast<std::size_t>(action)]; }

std::optional<Action> parse_action(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kActionNames.size(); ++i) {
    if (kActionNames[i] == name) return static_cast<Action>(i);
  }
  return std::nullopt;
}

std::string_view outcome_name(Outcome outcome) noexcept { return kOutcomeNames[static_cast<std::size_t>(outcome)]; }

std::optional<Outcome> parse_outcome(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kOutcomeNames.size(); ++i) {
    if (kOutcomeNames[i] == name) return static_cast<Outcome>(i);
  }
  return std::nullopt;
}

bool looks_like_token(std::string_view value) noexcept {
  // "Bearer " in any case, e.g. a whole Authorization header passed by mistake.
  static constexpr std::string_view kBearer = "bearer ";
  for (std::size_t i = 0; i + kBearer.size() <= value.size(); ++i) {
    std::size_t k = 0;
    while (k < kBearer.size() && std::tolower(static_cast<unsigned char>(value[i + k])) == kBearer[k]) ++k;
    if (k == kBearer.size()) return true;
  }
  std::size_t start = 0;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    if (i < value.size() && (is_base64url(value[i]) || value[i] == '.')) continue;
    if (i > start && token_run(value.substr(start, i - start))) return true;
    start = i + 1;
  }
  return false;
}

std::string_view refusal_reason(std::string_view value) {
  if (value.size() > AuditRecord::kMaxFieldBytes) return "longer than 1024 bytes";
  if (!valid_utf8(value)) return "not valid UTF-8";
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return "control characters";
  }
  if (looks_like_token(value)) return "looks like a token";
  return {};
}

std::string format_utc(std::chrono::system_clock::time_point time) {
  const auto since_epoch = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  auto seconds = static_cast<std::time_t>(since_epoch / 1000);
  auto ms = static_cast<int>(since_epoch % 1000);
  if (ms < 0) {
    ms += 1000;
    --seconds;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buffer;
}

bool is_utc_timestamp(std::string_view t) noexcept {
  static constexpr std::string_view kPattern = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (t.size() != kPattern.size()) return false;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (kPattern[i] == 'd' ? !is_digit(t[i]) : t[i] != kPattern[i]) return false;
  }
  return true;
}

AuditRecord AuditRecord::make(Action action, const Requester& who, std::string resource, std::string centre,
                              Outcome outcome, std::string reason) {
  AuditRecord r;
  r.actor = who.actor;
  r.role = who.role;
  r.action = action;
  r.resource = std::move(resource);
  r.centre = std::move(centre);
  r.outcome = outcome;
  r.reason = std::move(reason);
  r.request_id = who.request_id;
  r.source = who.source;
  return r;
}

namespace {

// Calls `visit(name, field)` for every free-text string of the record.
template <typename Record, typename Visit>
void for_each_string(Record& r, Visit&& visit) {
  visit("actor.iss", r.actor.iss);
  visit("actor.sub", r.actor.sub);
  visit("actor.client_id", r.actor.client_id);
  visit("role", r.role);
  visit("resource", r.resource);
  visit("centre", r.centre);
  visit("reason", r.reason);
  visit("request_id", r.request_id);
  visit("source", r.source);
  visit("version", r.version);
}

bool closed_by_ok(std::string_view closed_by) {
  return closed_by == "opened" || closed_by == "flush" || closed_by == "window" || closed_by == "cap" ||
         closed_by == "evicted" || closed_by == "shutdown";
}

bool reads_ok(const AuditRecord& r) {
  if (r.action != Action::read_slide) return !r.reads.has_value();
  if (!r.reads) return false;
  const auto& s = *r.reads;
  return is_utc_timestamp(s.first) && is_utc_timestamp(s.last) && s.levels.size() <= ReadSummary::kMaxLevels &&
         closed_by_ok(s.closed_by);
}

bool repeats_ok(const AuditRecord& r) {
  if (!r.repeats) return true;
  return (r.action == Action::token_rejected || r.action == Action::denied) && r.repeats->count > 0 &&
         is_utc_timestamp(r.repeats->first) && is_utc_timestamp(r.repeats->last);
}

}  // namespace

Status AuditRecord::validate() const {
  std::string problems;
  auto add = [&](std::string_view field, std::string_view why) {
    if (!problems.empty()) problems += ", ";
    problems += std::string(field) + " (" + std::string(why) + ")";
  };
  for_each_string(*this, [&](std::string_view name, const std::string& value) {
    if (auto why = refusal_reason(value); !why.empty()) add(name, why);
  });
  if (!time.empty() && !is_utc_timestamp(time)) add("time", "not UTC ISO 8601 with milliseconds");
  if (!reads_ok(*this)) add("reads", "present exactly for read_slide, with valid times");
  if (!repeats_ok(*this)) add("repeats", "only for token_rejected and denied, with a count and valid times");
  if (problems.empty()) return {};
  return Error{ErrorCode::invalid_argument, "audit record refused: " + problems};
}

AuditRecord AuditRecord::sanitized(std::vector<std::string>* withheld_fields) const {
  AuditRecord copy = *this;
  for_each_string(copy, [&](std::string_view name, std::string& value) {
    if (auto why = refusal_reason(value); !why.empty()) {
      value = withheld(why);
      if (withheld_fields) withheld_fields->emplace_back(name);
    }
  });
  if (!copy.time.empty() && !is_utc_timestamp(copy.time)) {
    copy.time.clear();  // the log fills in now
    if (withheld_fields) withheld_fields->emplace_back("time");
  }
  if (!reads_ok(copy)) {
    if (copy.action != Action::read_slide) {
      copy.reads.reset();
    } else {
      ReadSummary fixed = copy.reads.value_or(ReadSummary{});
      if (!is_utc_timestamp(fixed.first)) fixed.first = format_utc(std::chrono::system_clock::now());
      if (!is_utc_timestamp(fixed.last)) fixed.last = fixed.first;
      while (fixed.levels.size() > ReadSummary::kMaxLevels) fixed.levels.erase(std::prev(fixed.levels.end()));
      if (!closed_by_ok(fixed.closed_by)) fixed.closed_by = "window";
      copy.reads = std::move(fixed);
    }
    if (withheld_fields) withheld_fields->emplace_back("reads");
  }
  if (!repeats_ok(copy)) {
    if (copy.action != Action::token_rejected && copy.action != Action::denied) {
      copy.repeats.reset();
    } else {
      RepeatSummary& fixed = *copy.repeats;
      if (fixed.count == 0) fixed.count = 1;
      if (!is_utc_timestamp(fixed.first)) fixed.first = format_utc(std::chrono::system_clock::now());
      if (!is_utc_timestamp(fixed.last)) fixed.last = fixed.first;
    }
    if (withheld_fields) withheld_fields->emplace_back("repeats");
  }
  return copy;
}

}  // namespace mcval::audit
