#pragma once
// Metrics: counters and latency histograms in Prometheus text exposition format.
// Thread-safe; cheap on the hot path (one mutex per observation, short critical section).
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace mcval::http {

class Metrics {
 public:
  /// Records one finished request.
  void observe_request(const std::string& route, int status, double seconds);
  /// Gauges and counters owned elsewhere, sampled at scrape time (name, help, type, value).
  struct Sample {
    std::string name;
    std::string help;
    std::string type;  ///< "gauge" or "counter"
    double value;
  };
  void add_collector(std::function<std::vector<Sample>()> collector);
  using Labels = std::vector<std::pair<std::string, std::string>>;
  /// Adds `by` to the counter `name` with these labels (label values are escaped); `help` is
  /// taken from the first call for a name.
  void increment(const std::string& name, const std::string& help, const Labels& labels, double by = 1);
  /// The full exposition text.
  std::string render() const;

  static constexpr std::array<double, 12> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                             0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

 private:
  struct Histogram {
    std::array<std::uint64_t, kLatencyBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
  std::vector<std::function<std::vector<Sample>()>> collectors_;
  struct Counter {
    std::string help;
    std::map<std::string, double> by_labels;  ///< rendered label set -> value
  };
  std::map<std::string, Counter> counters_;
};

}  // namespace mcval::http
