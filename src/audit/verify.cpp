#include "mcval/audit/verify.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "line_check.h"
#include "mcval/audit/chain.h"
#include "mcval/audit/record.h"

namespace mcval::audit {

namespace {

constexpr std::size_t kMaxLineBytes = 1 << 20;  // a record is at most ~16 KiB; longer lines are garbage

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

// Reads lines of any length with bounded memory: a line longer than kMaxLineBytes is returned
// cut, flagged `overlong`.
class LineReader {
 public:
  /// Reads at most `limit` bytes of `file` (-1: to its end).
  LineReader(std::FILE* file, long long limit) : file_(file), remaining_(limit) {}

  struct Line {
    std::string text;
    bool terminated = false;  // ended by '\n'
    bool overlong = false;
  };

  /// False at the end of the file (or on a read error, see failed()).
  bool next(Line& line) {
    line.text.clear();
    line.terminated = false;
    line.overlong = false;
    bool any = false;
    for (;;) {
      if (pos_ == end_) {
        const std::size_t want = remaining_ < 0 ? sizeof buffer_
                                                : static_cast<std::size_t>(std::min<long long>(remaining_, sizeof buffer_));
        end_ = want == 0 ? 0 : std::fread(buffer_, 1, want, file_);
        if (remaining_ >= 0) remaining_ -= static_cast<long long>(end_);
        pos_ = 0;
        if (end_ == 0) {
          failed_ = std::ferror(file_) != 0;
          return any;
        }
      }
      any = true;
      const char* start = buffer_ + pos_;
      const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
      const std::size_t take = newline ? static_cast<std::size_t>(newline - start) : end_ - pos_;
      const std::size_t room = kMaxLineBytes - std::min(kMaxLineBytes, line.text.size());
      if (take > room) line.overlong = true;
      line.text.append(start, std::min(take, room));
      pos_ += take;
      offset_ += take;
      if (newline) {
        ++pos_;
        ++offset_;
        line.terminated = true;
        return true;
      }
    }
  }

  bool failed() const noexcept { return failed_; }
  long long offset() const noexcept { return offset_; }

 private:
  std::FILE* file_;
  char buffer_[1 << 16];
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  long long remaining_;
  long long offset_ = 0;
  bool failed_ = false;
};

// The 1-based line (counted from `first_line` at byte `offset`) holding the record with `seq`,
// or 0 when there is none.
std::uint64_t find_seq(const std::filesystem::path& path, long long offset, std::uint64_t first_line,
                       std::uint64_t seq) {
  File file(std::fopen(path.c_str(), "rb"));
  if (!file || std::fseek(file.get(), offset, SEEK_SET) != 0) return 0;
  auto reader = std::make_unique<LineReader>(file.get(), -1);
  LineReader::Line line;
  for (std::uint64_t number = first_line; reader->next(line); ++number) {
    const auto j = nlohmann::json::parse(line.text, nullptr, false);
    if (j.is_object()) {
      const auto it = j.find("seq");
      if (it != j.end() && it->is_number_unsigned() && it->get<std::uint64_t>() == seq) return number;
    }
  }
  return 0;
}

struct Verified {
  std::uint64_t seq = 0;
  std::string hash;
  std::string time;
};

std::string range(std::uint64_t first, std::uint64_t last) {
  return first == last ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(last);
}

}  // namespace

std::string_view problem_name(ProblemKind kind) noexcept {
  switch (kind) {
    case ProblemKind::edited: return "edited";
    case ProblemKind::removed: return "removed";
    case ProblemKind::reordered: return "reordered";
    case ProblemKind::duplicated: return "duplicated";
    case ProblemKind::foreign: return "foreign";
    case ProblemKind::truncated: return "truncated";
    case ProblemKind::checkpoint_mismatch: return "checkpoint_mismatch";
    case ProblemKind::partial_line: return "partial_line";
    case ProblemKind::garbage: return "garbage";
  }
  return "garbage";
}

Result<VerifyReport> verify_log(const std::filesystem::path& path, const std::optional<Checkpoint>& checkpoint) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Error{ErrorCode::not_found, "no audit log at " + path.string()};
  File file(std::fopen(path.c_str(), "rb"));
  if (!file) return Error{ErrorCode::io_error, "cannot open " + path.string() + ": " + std::strerror(errno)};

  // A writer appends each line under an exclusive flock(2): the size seen under a shared lock
  // ends on a line boundary, and lines appended while the walk runs are left for the next one.
  long long size = -1;
  if (::flock(::fileno(file.get()), LOCK_SH) == 0) {
    struct stat st {};
    if (::fstat(::fileno(file.get()), &st) == 0) size = static_cast<long long>(st.st_size);
    ::flock(::fileno(file.get()), LOCK_UN);
  }

  VerifyReport report;
  report.path = path;
  report.checkpoint = checkpoint;
  auto reader = std::make_unique<LineReader>(file.get(), size);
  LineReader::Line line;
  std::uint64_t number = 0;
  Verified last, before_last;  // the two last verified records (a broken link blames the earlier)
  const auto problem = [&](ProblemKind kind, std::uint64_t at, std::string detail) {
    report.problem = Problem{kind, at, std::move(detail)};
  };

  while (!report.problem && reader->next(line)) {
    ++number;
    if (!line.terminated) {
      problem(ProblemKind::partial_line, number,
              "the last line has no newline (" + std::to_string(line.text.size()) +
                  " bytes): a write was interrupted or the file was cut or appended to");
      break;
    }
    if (line.overlong) {
      problem(ProblemKind::garbage, number, "not an audit record: a line of more than 1 MiB");
      break;
    }
    const auto c = detail::check_line(line.text);
    if (c.fault == detail::LineFault::garbage) {
      problem(ProblemKind::garbage, number, c.detail);
      break;
    }
    if (c.fault == detail::LineFault::edited) {
      problem(ProblemKind::edited, number, c.detail);
      break;
    }
    if (number == 1) {
      report.log_id = c.log;
      report.first_time = c.time;
      if (checkpoint && checkpoint->log_id != c.log) {
        problem(ProblemKind::checkpoint_mismatch, 1,
                "the checkpoint is of log " + checkpoint->log_id + ", this file is log " + c.log);
        break;
      }
    } else if (c.log != report.log_id) {
      problem(ProblemKind::foreign, number,
              "record seq " + std::to_string(c.seq) + " belongs to log " + c.log + ", not " + report.log_id);
      break;
    }
    const std::uint64_t expected = last.seq + 1;
    if (c.seq < expected) {
      problem(ProblemKind::duplicated, number,
              "record seq " + std::to_string(c.seq) + " appears again (first at line " + std::to_string(c.seq) +
                  "); expected seq " + std::to_string(expected));
      break;
    }
    if (c.seq > expected) {
      if (const auto at = find_seq(path, reader->offset(), number + 1, expected); at != 0) {
        problem(ProblemKind::reordered, number,
                "expected seq " + std::to_string(expected) + ", found seq " + std::to_string(c.seq) + "; seq " +
                    std::to_string(expected) + " is at line " + std::to_string(at));
      } else {
        const auto missing = c.seq - expected;
        problem(ProblemKind::removed, number,
                "expected seq " + std::to_string(expected) + ", found seq " + std::to_string(c.seq) + ": " +
                    std::to_string(missing) + (missing == 1 ? " record" : " records") + " (seq " +
                    range(expected, c.seq - 1) + ") removed before this line");
      }
      break;
    }
    if (expected == 1) {
      if (c.prev != genesis_hash(c.log)) {
        problem(ProblemKind::edited, number, "record seq 1 does not start the chain of log " + c.log +
                                                 " (its prev was changed and its hash recomputed)");
        break;
      }
    } else if (c.prev != last.hash) {
      // Line `number - 1` passed its own hash check, so it was rewritten with a recomputed hash
      // (or this line was replaced by one chaining elsewhere): the earlier line is blamed.
      problem(ProblemKind::edited, number - 1,
              "record seq " + std::to_string(last.seq) + " was changed and its hash recomputed: line " +
                  std::to_string(number) + " (seq " + std::to_string(c.seq) + ") chains to a different hash");
      report.records -= 1;
      last = before_last;
      break;
    }
    if (checkpoint && c.seq == checkpoint->seq && c.hash != checkpoint->hash) {
      problem(ProblemKind::checkpoint_mismatch, number,
              "record seq " + std::to_string(c.seq) + " has hash " + c.hash + ", the checkpoint of " +
                  checkpoint->time + " has " + checkpoint->hash + ": the log was rewritten from here or earlier");
      break;
    }
    before_last = last;
    last = Verified{c.seq, c.hash, c.time};
    ++report.records;
  }
  if (reader->failed()) return Error{ErrorCode::io_error, "cannot read " + path.string()};

  report.last_seq = last.seq;
  report.last_hash = last.hash;
  report.last_time = last.time;
  if (report.records == 0) report.first_time.clear();
  if (!report.problem && checkpoint && last.seq < checkpoint->seq) {
    const auto missing = checkpoint->seq - last.seq;
    problem(ProblemKind::truncated, number + 1,
            "the log ends at seq " + std::to_string(last.seq) + " but the checkpoint of " + checkpoint->time +
                " covers seq " + std::to_string(checkpoint->seq) + ": " + std::to_string(missing) +
                (missing == 1 ? " record" : " records") + " removed from the end");
  }
  return report;
}

nlohmann::json VerifyReport::to_json() const {
  nlohmann::json j = {{"ok", ok()},
                      {"path", path.string()},
                      {"log", log_id},
                      {"records", records},
                      {"last_seq", last_seq},
                      {"last_hash", last_hash},
                      {"first_time", first_time},
                      {"last_time", last_time},
                      {"checkpoint", nullptr},
                      {"problem", nullptr}};
  if (checkpoint) j["checkpoint"] = checkpoint->to_json();
  if (problem) {
    j["problem"] = {{"kind", problem_name(problem->kind)}, {"line", problem->line}, {"detail", problem->detail}};
  }
  return j;
}

std::string VerifyReport::to_text() const {
  std::string out = path.string();
  const std::string seqs = records == 0 ? "" : " (seq " + range(last_seq - records + 1, last_seq) + ")";
  if (ok()) {
    out += ": OK, " + std::to_string(records) + (records == 1 ? " record" : " records") + seqs;
    if (!log_id.empty()) out += " of log " + log_id;
    out += "\n";
    if (records > 0) {
      out += "  first record  " + first_time + "\n";
      out += "  last record   seq " + std::to_string(last_seq) + ", " + last_time + ", hash " + last_hash + "\n";
    }
    if (checkpoint) {
      out += "  checkpoint    seq " + std::to_string(checkpoint->seq) + " of " + checkpoint->time + ": matches (" +
             std::to_string(last_seq - checkpoint->seq) + " records since)\n";
    } else {
      out += "  no checkpoint given: records removed from the end cannot be detected (see --checkpoint)\n";
    }
    return out;
  }
  out += ": TAMPERED at line " + std::to_string(problem->line) + ": " + std::string(problem_name(problem->kind)) +
         ": " + problem->detail + "\n";
  out += "  verified before the problem: " + std::to_string(records) + (records == 1 ? " record" : " records") + seqs;
  if (!log_id.empty()) out += " of log " + log_id;
  out += "\n";
  return out;
}

Error VerifyReport::to_error() const {
  if (ok()) return Error{ErrorCode::internal, "the audit log verified"};
  return Error{ErrorCode::audit_tampered, path.string() + ": line " + std::to_string(problem->line) + ": " +
                                              std::string(problem_name(problem->kind)) + ": " + problem->detail};
}

Result<Checkpoint> take_checkpoint(const std::filesystem::path& path) {
  MCVAL_TRY_ASSIGN(report, verify_log(path));
  if (!report.ok()) return report.to_error();
  if (report.records == 0) return Error{ErrorCode::invalid_argument, "the audit log " + path.string() + " is empty"};
  return Checkpoint{report.log_id, report.last_seq, report.last_hash,
                    format_utc(std::chrono::system_clock::now())};
}

}  // namespace mcval::audit
