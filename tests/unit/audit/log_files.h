#pragma once
// Helpers of the audit tests: write a log through AuditLog, read and rewrite its lines the way
// someone tampering with it would.
#include <filesystem>
#include <atomic>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mcval/audit/audit_log.h"
#include "mcval/audit/chain.h"
#include "mcval/common/sha256.h"

namespace mcval::audit::testing {

inline Requester alice() {
  return Requester{{"https://idp.example.org/realms/mcval", "alice-0001", "mcval-viewer"}, "viewer", "req", "10.0.0.4"};
}

/// Record number `i` of a test log: a slide read denial, centre by parity.
inline AuditRecord numbered_record(int i) {
  Requester who = alice();
  who.request_id = "req-" + std::to_string(i);
  return AuditRecord::make(Action::denied, who, "slide:" + std::to_string(1000 + i), i % 2 ? "centre-a" : "centre-b",
                           Outcome::denied, "role_missing");
}

/// Keeps every record it is given, in order.
class CollectingRecorder : public AuditRecorder {
 public:
  Status record(AuditRecord record) override {
    std::lock_guard<std::mutex> lock(mutex_);
    records_.push_back(std::move(record));
    return {};
  }
  std::vector<AuditRecord> records() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return records_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<AuditRecord> records_;
};

/// A clock the test moves by hand.
class ManualClock {
 public:
  ManualClock() : now_(std::chrono::system_clock::time_point(std::chrono::milliseconds(1767323045000))) {}
  std::chrono::system_clock::time_point now() const { return now_.load(); }
  void advance(std::chrono::milliseconds by) { now_ = now_.load() + by; }
  SystemClock function() {
    return [this] { return now(); };
  }

 private:
  std::atomic<std::chrono::system_clock::time_point> now_;
};

inline AuditLogOptions options_for(const std::filesystem::path& path) {
  AuditLogOptions options;
  options.path = path;
  options.version = "0.1.0-test";
  options.fsync_interval = std::chrono::milliseconds(1000);
  return options;
}

/// Writes records 1..n to a new log at `path`.
inline void write_log(const std::filesystem::path& path, int n) {
  auto log = AuditLog::open(options_for(path));
  ASSERT_TRUE(log.ok()) << log.error().to_string();
  for (int i = 1; i <= n; ++i) ASSERT_TRUE((*log)->record(numbered_record(i)).ok());
}

inline std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The file's lines without their newlines (a last line without newline is kept as is).
inline std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::vector<std::string> lines;
  std::istringstream in(read_all(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline void write_raw(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

inline void write_lines(const std::filesystem::path& path, const std::vector<std::string>& lines) {
  std::string bytes;
  for (const auto& l : lines) bytes += l + "\n";
  write_raw(path, bytes);
}

/// The line with its own hash recomputed after `edit` changed its object (prev untouched).
template <typename Edit>
std::string edited_and_rehashed(const std::string& line, Edit&& edit) {
  auto j = nlohmann::json::parse(line);
  edit(j);
  j.erase("hash");
  const std::string hash = sha256_hex(canonical_json(j));
  j["hash"] = hash;
  return canonical_json(j);
}

}  // namespace mcval::audit::testing
