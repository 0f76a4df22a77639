// Replays a fuzz target's seed corpus, then feeds it seeded random mutations of the corpus
// entries (byte flips, insertions, deletions, splices). Not a coverage-guided fuzzer: a
// regression harness that runs everywhere, so a crash found once stays fixed.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <csignal>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {
// The input being run, printed (escaped) if the target crashes so the case can be reproduced.
std::string g_current;

void report_crash(int signal_number) {
  static const char kHeader[] = "\nfuzz target crashed on input: ";
  (void)!write(STDERR_FILENO, kHeader, sizeof kHeader - 1);
  for (unsigned char c : g_current) {
    char buf[5];
    const int n = (c >= 32 && c < 127 && c != '\\') ? std::snprintf(buf, sizeof buf, "%c", c)
                                                     : std::snprintf(buf, sizeof buf, "\\x%02x", c);
    (void)!write(STDERR_FILENO, buf, static_cast<std::size_t>(n));
  }
  (void)!write(STDERR_FILENO, "\n", 1);
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

void run(const std::string& input) {
  g_current = input;
  LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [--iterations N] [--seed S]\n", argv[0]);
    return 2;
  }
  long iterations = 10000;
  unsigned long seed = 1;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--iterations") == 0) iterations = std::atol(argv[i + 1]);
    if (std::strcmp(argv[i], "--seed") == 0) seed = std::strtoul(argv[i + 1], nullptr, 10);
  }
  std::vector<std::string> corpus;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    corpus.push_back(bytes.str());
  }
  if (corpus.empty()) corpus.emplace_back();
  for (int s : {SIGILL, SIGSEGV, SIGABRT, SIGFPE, SIGBUS}) std::signal(s, report_crash);
  for (const auto& input : corpus) run(input);
  std::mt19937_64 rng(seed);
  const std::string interesting = "/%.,:!^{}_0123456789-?&=\0\xff";
  for (long i = 0; i < iterations; ++i) {
    std::string input = corpus[rng() % corpus.size()];
    const int edits = 1 + static_cast<int>(rng() % 6);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = input.empty() ? 0 : rng() % (input.size() + 1);
      switch (rng() % 5) {
        case 0:
          if (!input.empty() && pos < input.size()) input[pos] = static_cast<char>(rng());
          break;
        case 1:
          input.insert(pos, 1, interesting[rng() % interesting.size()]);
          break;
        case 2:
          if (pos < input.size()) input.erase(pos, 1 + rng() % 4);
          break;
        case 3: {
          const std::string& other = corpus[rng() % corpus.size()];
          if (!other.empty()) input.insert(pos, other.substr(rng() % other.size()));
          break;
        }
        default:
          input.insert(pos, std::string(1 + rng() % 12, interesting[rng() % interesting.size()]));
      }
    }
    run(input);
  }
  std::printf("%zu corpus inputs and %ld mutations ran without a crash\n", corpus.size(), iterations);
  return 0;
}
