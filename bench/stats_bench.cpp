// stats_bench: times mcval::stats on generated data, the figures that bench/README.md explains.
//
// - auc() and delong_auc() (AUC with DeLong variance) at several n, with the time per n log2 n,
//   to show the O(n log n) growth;
// - bootstrap_auc() at one n (default 100,000 cases, 2,000 replicates), percentile only and with
//   BCa, on one thread and on all cores;
// - bootstrap_decision_curve() and bootstrap_smoothed_calibration() at that n and B on all cores
//   (the curve bands).
//
// Prints Markdown tables; --out writes the figures as JSON, --write-data writes each data set as
// CSV (label,score) so that bench/stats_peers.py times scikit-learn and pROC on the same cases.
// Data: case i of a set of n is positive with probability 0.3; its latent score is N(0, 1), plus
// kSeparation for a positive; the score is expit(latent) rounded to 4 decimals (so large sets
// have many ties). The generator (splitmix64, Box-Muller) is written out here so that a seed gives
// the same data on every platform.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numbers>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "mcval/stats/bootstrap.h"
#include "mcval/stats/decision_curve.h"
#include "mcval/stats/smoothed_calibration.h"
#include "mcval/stats/roc.h"

namespace {

using nlohmann::json;
namespace st = mcval::stats;

constexpr double kPositiveRate = 0.3;
constexpr double kSeparation = 1.0;  // difference of the latent means: AUC about Phi(1 / sqrt 2) = 0.76
constexpr double kScoreScale = 1e4;  // scores rounded to 4 decimals

struct DataSet {
  std::vector<int> labels;
  std::vector<double> scores;
  std::size_t n_positive = 0;
  std::size_t distinct_scores = 0;
};

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double normal() {  // Box-Muller, one value per call
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  std::uint64_t state_;
};

DataSet make_data(std::size_t n, std::uint64_t seed) {
  SplitMix64 rng(seed ^ (static_cast<std::uint64_t>(n) * 0xD1B54A32D192ED03ull));
  DataSet d;
  d.labels.resize(n);
  d.scores.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int label = rng.uniform() < kPositiveRate ? 1 : 0;
    const double latent = rng.normal() + kSeparation * label;
    d.labels[i] = label;
    d.scores[i] = std::round(kScoreScale / (1.0 + std::exp(-latent))) / kScoreScale;
    d.n_positive += static_cast<std::size_t>(label);
  }
  std::vector<double> sorted = d.scores;
  std::sort(sorted.begin(), sorted.end());
  d.distinct_scores = static_cast<std::size_t>(std::unique(sorted.begin(), sorted.end()) - sorted.begin());
  return d;
}

// Scores are k / 10^4 for an integer k, so "%.4f" writes them exactly and a correctly rounding
// parser reads back the same double.
void write_csv(const DataSet& d, const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("cannot write " + path.string());
  std::fputs("label,score\n", f);
  for (std::size_t i = 0; i < d.labels.size(); ++i) std::fprintf(f, "%d,%.4f\n", d.labels[i], d.scores[i]);
  if (std::fclose(f) != 0) throw std::runtime_error("cannot write " + path.string());
}

struct Timing {
  double median_s = 0;
  double min_s = 0;
  int repeats = 0;
};

json timing_json(const Timing& t) { return {{"median_s", t.median_s}, {"min_s", t.min_s}, {"repeats", t.repeats}}; }

// Runs `f` `warmups` times untimed, then `repeats` times timed (wall clock).
template <class F>
Timing time_it(int repeats, int warmups, F&& f) {
  for (int i = 0; i < warmups; ++i) f();
  std::vector<double> seconds;
  for (int i = 0; i < repeats; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  const std::size_t m = seconds.size();
  const double median = m % 2 == 1 ? seconds[m / 2] : 0.5 * (seconds[m / 2 - 1] + seconds[m / 2]);
  return {median, seconds.front(), repeats};
}

template <class T>
const T& checked(const mcval::Result<T>& r, const char* what) {
  if (!r.ok()) throw std::runtime_error(std::string(what) + ": " + r.error().detail);
  return r.value();
}

std::string fixed(double v, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  return buffer;
}

std::string grouped(std::size_t v) {  // 100000 -> 100,000
  std::string digits = std::to_string(v);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<std::size_t>(i), ",");
  return digits;
}

json interval_json(const st::Interval& i) { return json::array({i.low, i.high}); }

std::string interval_text(const st::Interval& i) { return "[" + fixed(i.low, 4) + ", " + fixed(i.high, 4) + "]"; }

struct Options {
  std::vector<std::size_t> sizes{10'000, 100'000, 1'000'000};
  std::size_t bootstrap_n = 100'000;
  std::size_t replicates = 2000;
  std::uint64_t seed = 20240601;
  int repeats = 5;
  int bootstrap_repeats = 3;
  unsigned threads = 0;
  std::string out;
  std::string write_data;
};

int run(const Options& options) {
  const unsigned all_threads = options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  json out = {{"tool", "stats_bench"},
              {"mcval_version", MCVAL_VERSION},
              {"compiler", "g++ " __VERSION__},
              {"build_type", MCVAL_BUILD_TYPE},
              {"hardware_concurrency", std::thread::hardware_concurrency()},
              {"seed", options.seed},
              {"data", {{"positive_rate", kPositiveRate}, {"separation", kSeparation}, {"score_decimals", 4}}},
              {"delong", json::array()},
              {"bootstrap", json::array()}};
  if (!options.write_data.empty()) std::filesystem::create_directories(options.write_data);

  auto data_file = [&](std::size_t n) { return "data-" + std::to_string(n) + ".csv"; };
  auto write_if_asked = [&](const DataSet& d, std::size_t n) {
    if (!options.write_data.empty()) write_csv(d, std::filesystem::path(options.write_data) / data_file(n));
  };

  std::cout << "## mcval::stats: AUC and DeLong (median of " << options.repeats << " runs)\n\n"
            << "| n | positives | distinct scores | AUC | DeLong SE | auc() ms | delong_auc() ms | "
               "delong_auc() ns per n log2 n |\n"
            << "|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  double sink = 0;
  for (std::size_t n : options.sizes) {
    const DataSet d = make_data(n, options.seed);
    write_if_asked(d, n);
    const double auc = checked(st::auc(d.labels, d.scores), "auc");
    const st::DeLongAuc delong = checked(st::delong_auc(d.labels, d.scores), "delong_auc");
    const Timing auc_time = time_it(options.repeats, 1, [&] { sink += checked(st::auc(d.labels, d.scores), "auc"); });
    const Timing delong_time =
        time_it(options.repeats, 1, [&] { sink += checked(st::delong_auc(d.labels, d.scores), "delong_auc").se; });
    const double n_log_n = static_cast<double>(n) * std::log2(static_cast<double>(n));
    const double ns_per_n_log_n = delong_time.median_s * 1e9 / n_log_n;
    out["delong"].push_back({{"n", n},
                             {"n_positive", d.n_positive},
                             {"distinct_scores", d.distinct_scores},
                             {"file", data_file(n)},
                             {"auc", auc},
                             {"se_delong", delong.se},
                             {"variance_delong", delong.variance},
                             {"ci_delong", interval_json(delong.ci)},
                             {"auc_time", timing_json(auc_time)},
                             {"delong_time", timing_json(delong_time)},
                             {"delong_ns_per_n_log2_n", ns_per_n_log_n}});
    std::cout << "| " << grouped(n) << " | " << grouped(d.n_positive) << " | " << grouped(d.distinct_scores) << " | "
              << fixed(auc, 6) << " | " << fixed(delong.se, 6) << " | " << fixed(auc_time.median_s * 1e3, 2) << " | "
              << fixed(delong_time.median_s * 1e3, 2) << " | " << fixed(ns_per_n_log_n, 2) << " |\n";
  }

  const std::size_t n = options.bootstrap_n;
  const DataSet d = make_data(n, options.seed);
  if (std::find(options.sizes.begin(), options.sizes.end(), n) == options.sizes.end()) write_if_asked(d, n);
  out["bootstrap_data"] = {{"n", n}, {"n_positive", d.n_positive}, {"distinct_scores", d.distinct_scores},
                           {"file", data_file(n)}};
  std::cout << "\n## mcval::stats: bootstrap_auc(), n = " << grouped(n) << ", B = " << grouped(options.replicates)
            << ", stratified (median of " << options.bootstrap_repeats << " runs)\n\n"
            << "| interval | threads | time s | us per replicate | estimate | bootstrap SE | percentile 95% CI | "
               "BCa 95% CI |\n"
            << "|---|---:|---:|---:|---:|---:|---|---|\n";
  std::vector<unsigned> thread_counts{1};
  if (all_threads > 1) thread_counts.push_back(all_threads);
  for (bool bca : {false, true}) {
    std::vector<st::BootstrapResult> results;
    for (unsigned threads : thread_counts) {
      st::BootstrapOptions bo;
      bo.replicates = options.replicates;
      bo.seed = options.seed;
      bo.threads = threads;
      bo.bca = bca;
      st::BootstrapResult result;
      const Timing t = time_it(options.bootstrap_repeats, 0, [&] {
        result = checked(st::bootstrap_auc(d.labels, d.scores, {}, bo), "bootstrap_auc");
      });
      const st::Interval bca_ci = result.bca.value_or(st::Interval{});
      out["bootstrap"].push_back({{"n", n},
                                  {"replicates", options.replicates},
                                  {"threads", threads},
                                  {"bca", bca},
                                  {"time", timing_json(t)},
                                  {"estimate", result.estimate},
                                  {"se", result.se},
                                  {"percentile", interval_json(result.percentile)},
                                  {"bca_interval", bca ? interval_json(bca_ci) : json(nullptr)}});
      std::cout << "| " << (bca ? "percentile + BCa" : "percentile") << " | " << threads << " | "
                << fixed(t.median_s, 3) << " | " << fixed(t.median_s * 1e6 / static_cast<double>(options.replicates), 1)
                << " | " << fixed(result.estimate, 6) << " | " << fixed(result.se, 6) << " | "
                << interval_text(result.percentile) << " | " << (bca ? interval_text(bca_ci) : std::string("-"))
                << " |\n";
      results.push_back(std::move(result));
    }
    // The replicates depend only on data, seed and B, never on the thread count.
    for (const auto& r : results) {
      if (r.percentile.low != results.front().percentile.low || r.percentile.high != results.front().percentile.high) {
        std::cerr << "stats_bench: the bootstrap interval depends on the thread count\n";
        return 1;
      }
    }
  }

  // Curve bands: decision curve (99 thresholds and treat all) and smoothed calibration (lowess as
  // rms::val.prob, 50 points), each on the same data with the same B, all threads.
  out["curve_bands"] = json::array();
  std::cout << "\n## mcval::stats: curve bands, n = " << grouped(n) << ", B = " << grouped(options.replicates)
            << ", " << all_threads << " threads (median of " << options.bootstrap_repeats << " runs)\n\n"
            << "| band | points | time s | us per replicate | band at the middle point |\n"
            << "|---|---:|---:|---:|---|\n";
  st::BootstrapOptions curve_options;
  curve_options.replicates = options.replicates;
  curve_options.seed = options.seed;
  curve_options.threads = all_threads;
  const std::vector<double> grid = st::default_decision_thresholds();
  st::DecisionCurveBand dca;
  const Timing dca_time = time_it(options.bootstrap_repeats, 0, [&] {
    dca = checked(st::bootstrap_decision_curve(d.labels, d.scores, {}, grid, curve_options), "bootstrap_decision_curve");
  });
  const st::SmoothedCalibration smooth = checked(st::smoothed_calibration(d.labels, d.scores), "smoothed_calibration");
  std::vector<st::Interval> calibration_band;
  const Timing calibration_time = time_it(options.bootstrap_repeats, 0, [&] {
    calibration_band = checked(st::bootstrap_smoothed_calibration(d.labels, d.scores, {}, smooth.curve_predicted,
                                                                   curve_options),
                               "bootstrap_smoothed_calibration");
  });
  const auto curve_row = [&](const char* name, std::size_t points, const Timing& t, const st::Interval& middle) {
    out["curve_bands"].push_back({{"band", name}, {"n", n}, {"replicates", options.replicates},
                                  {"threads", all_threads}, {"points", points}, {"time", timing_json(t)},
                                  {"middle", interval_json(middle)}});
    std::cout << "| " << name << " | " << points << " | " << fixed(t.median_s, 3) << " | "
              << fixed(t.median_s * 1e6 / static_cast<double>(options.replicates), 1) << " | "
              << interval_text(middle) << " |\n";
  };
  curve_row("decision curve (model net benefit)", grid.size(), dca_time, dca.model[grid.size() / 2]);
  curve_row("smoothed calibration (lowess)", calibration_band.size(), calibration_time,
            calibration_band[calibration_band.size() / 2]);
  std::cout << "\n";
  if (sink == 12345.678) std::cout << "";  // keeps the timed calls observable

  if (!options.out.empty()) {
    const std::filesystem::path path(options.out);
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    std::ofstream file(path);
    file << out.dump(2) << "\n";
    if (!file) throw std::runtime_error("cannot write " + options.out);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Times mcval::stats (AUC, DeLong, AUC bootstrap) on generated data; see bench/README.md."};
  app.add_option("--sizes", options.sizes, "case counts for auc() and delong_auc()")->delimiter(',');
  app.add_option("--bootstrap-n", options.bootstrap_n, "case count for the bootstrap");
  app.add_option("--replicates", options.replicates, "bootstrap replicates");
  app.add_option("--seed", options.seed, "seed of the data and of the bootstrap");
  app.add_option("--repeats", options.repeats, "timed runs of auc() and delong_auc() per size (median)")
      ->check(CLI::PositiveNumber);
  app.add_option("--bootstrap-repeats", options.bootstrap_repeats, "timed runs of each bootstrap (median)")
      ->check(CLI::PositiveNumber);
  app.add_option("--threads", options.threads, "'all cores' thread count; 0: hardware concurrency");
  app.add_option("--out", options.out, "write the figures as JSON to this file");
  app.add_option("--write-data", options.write_data, "write each data set as DIR/data-<n>.csv (label,score)");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::cerr << "stats_bench: " << e.what() << "\n";
    return 1;
  }
}
