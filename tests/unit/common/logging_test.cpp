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
