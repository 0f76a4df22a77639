// Batched log lines: every line written once and whole, from many threads, without a flush
// call too (the flusher thread), and nothing left behind after flush_batched_lines().
#include "mcval/common/logging.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace mcval::log {
namespace {

/// Sends the process's stdout to a file while it lives (the log stream of the server).
class StdoutToFile {
 public:
  explicit StdoutToFile(const std::filesystem::path& path) : saved_(::dup(1)) {
    std::fflush(stdout);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
    ::dup2(fd, 1);
    ::close(fd);
  }
  ~StdoutToFile() {
    ::dup2(saved_, 1);
    ::close(saved_);
  }

 private:
  int saved_;
};

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(BatchedLines, EveryLineOnceAndWholeFromManyThreads) {
  init("info", "json");
  const auto path = std::filesystem::temp_directory_path() / ("mcval-batched-" + std::to_string(::getpid()));
  std::vector<std::string> got;
  {
    StdoutToFile redirect(path);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([t] {
        for (int i = 0; i < 3000; ++i) {
          write_line_batched("{\"thread\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) + ",\"pad\":\"" +
                             std::string(static_cast<std::size_t>(i % 97), 'x') + "\"}");
        }
      });
    }
    for (auto& t : threads) t.join();
    flush_batched_lines();
    got = lines_of(path);
  }
  std::set<std::string> unique(got.begin(), got.end());
  EXPECT_EQ(got.size(), 4u * 3000u);
  EXPECT_EQ(unique.size(), got.size());
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 3000; i += 499) {
      const std::string want = "{\"thread\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) + ",\"pad\":\"" +
                               std::string(static_cast<std::size_t>(i % 97), 'x') + "\"}";
      EXPECT_EQ(unique.count(want), 1u) << want;
    }
  }
  std::filesystem::remove(path);
}

TEST(BatchedLines, AQuietServersLastLinesAreWrittenWithoutAFlush) {
  init("info", "json");
  const auto path = std::filesystem::temp_directory_path() / ("mcval-quiet-" + std::to_string(::getpid()));
  bool seen = false;
  {
    StdoutToFile redirect(path);
    write_line_batched("{\"msg\":\"the last request\"}");
    for (int i = 0; i < 50 && !seen; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const auto lines = lines_of(path);
      seen = !lines.empty() && lines.back() == "{\"msg\":\"the last request\"}";
    }
  }
  EXPECT_TRUE(seen);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace mcval::log

namespace mcval::log {
namespace {

// Was logged whole: `?access_token=<token>` and the browser sign-in's `code` and `state` went to
// the access log on stdout, the log that is shipped to a log store.
TEST(RedactedTarget, CredentialsInTheQueryAreRedacted) {
  EXPECT_EQ(redacted_target("/api/v1/me?access_token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"),
            "/api/v1/me?access_token=REDACTED");
  EXPECT_EQ(redacted_target("/auth/callback?code=abc123&state=s-456&iss=https%3A%2F%2Fidp"),
            "/auth/callback?code=REDACTED&state=REDACTED&iss=https%3A%2F%2Fidp");
  for (const char* name : {"id_token", "refresh_token", "client_secret", "token", "session_state", "password",
                           "code_verifier", "client_assertion", "api_key", "x_auth_token", "my_secret"}) {
    EXPECT_EQ(redacted_target(std::string("/x?a=1&") + name + "=value&b=2"),
              std::string("/x?a=1&") + name + "=REDACTED&b=2")
        << name;
  }
}

TEST(RedactedTarget, NamesAreComparedCaseInsensitivelyAndPercentDecoded) {
  EXPECT_EQ(redacted_target("/x?Access_Token=v"), "/x?Access_Token=REDACTED");
  EXPECT_EQ(redacted_target("/x?ACCESS_TOKEN=v"), "/x?ACCESS_TOKEN=REDACTED");
  EXPECT_EQ(redacted_target("/x?access%5Ftoken=v"), "/x?access%5Ftoken=REDACTED");
  EXPECT_EQ(redacted_target("/x?%63ode=v"), "/x?%63ode=REDACTED");
  EXPECT_EQ(redacted_target("/x?%43%4F%44%45=v"), "/x?%43%4F%44%45=REDACTED");
  EXPECT_EQ(redacted_target("/x?access+token=v"), "/x?access+token=REDACTED");  // '+' is a space, still a token
  EXPECT_EQ(redacted_target("/x?%zz=v"), "/x?%zz=REDACTED");  // a name that cannot be read keeps nothing
  // Repeated, empty and bare parameters.
  EXPECT_EQ(redacted_target("/x?code=1&code=2"), "/x?code=REDACTED&code=REDACTED");
  EXPECT_EQ(redacted_target("/x?code=&state"), "/x?code=&state");
  EXPECT_EQ(redacted_target("/x?&&code=1&"), "/x?&&code=REDACTED&");
}

TEST(RedactedTarget, JwtLookingValuesAndFragmentsAreRedactedWhateverTheirName) {
  const std::string jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
  EXPECT_EQ(redacted_target("/x?q=" + jwt), "/x?q=REDACTED");
  EXPECT_EQ(redacted_target("/x?" + jwt), "/x?REDACTED");
  EXPECT_EQ(redacted_target("/x?a=1#access_token=" + jwt), "/x?a=1#REDACTED");
  EXPECT_EQ(redacted_target("/x#" + jwt), "/x#REDACTED");
}

TEST(RedactedTarget, OtherTargetsAreKeptAsSent) {
  for (const char* target : {"/", "/dzi/abc.dzi", "/dzi/abc_files/12/3_4.jpeg",
                             "/iiif/3/abc/0,0,512,512/max/0/default.jpg", "/api/v1/slides?centre=centre-a&limit=10",
                             "/auth/login?return_to=%2Fviewer", "/x?", "/x?a", "/x?encode=1&decode=2&statement=3"}) {
    EXPECT_EQ(redacted_target(target), target);
  }
}

}  // namespace
}  // namespace mcval::log
