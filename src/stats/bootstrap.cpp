#include "mcval/stats/bootstrap.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

#include "mcval/stats/distributions.h"
#include "tie_groups.h"
#include "validate.h"

namespace mcval::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The output function of splitmix64 (Steele, Lea and Flood 2014).
std::uint64_t splitmix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t replicate_seed(std::uint64_t seed, std::size_t replicate) {
  return splitmix64(seed + (static_cast<std::uint64_t>(replicate) + 1) * 0x9E3779B97F4A7C15ull);
}

// Uniform integer in [0, range) from the upper 32 bits of the generator's outputs, by Lemire's
// multiply-and-reject method (unbiased; specified here so that results do not depend on the
// standard library's distributions).
std::uint32_t bounded(std::mt19937_64& rng, std::uint32_t range) {
  std::uint64_t m = (rng() >> 32) * static_cast<std::uint64_t>(range);
  auto low = static_cast<std::uint32_t>(m);
  if (low < range) {
    const std::uint32_t threshold = (0u - range) % range;
    while (low < threshold) {
      m = (rng() >> 32) * static_cast<std::uint64_t>(range);
      low = static_cast<std::uint32_t>(m);
    }
  }
  return static_cast<std::uint32_t>(m >> 32);
}

// The resampling design: units (cases, or clusters of cases) grouped into strata.
class Resampler {
 public:
  static Result<Resampler> make(std::size_t n, std::span<const int> strata, std::span<const std::int64_t> clusters) {
    if (n == 0) return Error{ErrorCode::invalid_argument, "no cases"};
    if (n > detail::kMaxCases) return Error{ErrorCode::invalid_argument, "more than 2^32 - 1 cases"};
    if (!strata.empty() && strata.size() != n) {
      return Error{ErrorCode::invalid_argument, "strata length differs from the number of cases"};
    }
    if (!clusters.empty() && clusters.size() != n) {
      return Error{ErrorCode::invalid_argument, "clusters length differs from the number of cases"};
    }
    Resampler r;
    std::vector<int> unit_stratum;
    if (clusters.empty()) {
      r.singletons_ = true;
      r.unit_offsets_.resize(n + 1);
      std::iota(r.unit_offsets_.begin(), r.unit_offsets_.end(), 0u);
      r.members_.resize(n);
      std::iota(r.members_.begin(), r.members_.end(), 0u);
      unit_stratum.assign(n, 0);
      if (!strata.empty()) unit_stratum.assign(strata.begin(), strata.end());
    } else {
      std::unordered_map<std::int64_t, std::uint32_t> unit_of;
      std::vector<std::uint32_t> case_unit(n);
      std::vector<std::uint32_t> sizes;
      for (std::size_t i = 0; i < n; ++i) {
        auto [it, inserted] = unit_of.try_emplace(clusters[i], static_cast<std::uint32_t>(sizes.size()));
        if (inserted) {
          sizes.push_back(0);
          unit_stratum.push_back(std::numeric_limits<int>::min());
        }
        case_unit[i] = it->second;
        ++sizes[it->second];
        const int s = strata.empty() ? 0 : strata[i];
        unit_stratum[it->second] = std::max(unit_stratum[it->second], s);
      }
      r.unit_offsets_.assign(sizes.size() + 1, 0);
      for (std::size_t u = 0; u < sizes.size(); ++u) r.unit_offsets_[u + 1] = r.unit_offsets_[u] + sizes[u];
      r.members_.resize(n);
      std::vector<std::uint32_t> fill(r.unit_offsets_.begin(), r.unit_offsets_.end() - 1);
      for (std::size_t i = 0; i < n; ++i) r.members_[fill[case_unit[i]]++] = static_cast<std::uint32_t>(i);
    }
    std::map<int, std::vector<std::uint32_t>> by_stratum;
    for (std::size_t u = 0; u < unit_stratum.size(); ++u) {
      by_stratum[unit_stratum[u]].push_back(static_cast<std::uint32_t>(u));
    }
    for (auto& entry : by_stratum) r.strata_units_.push_back(std::move(entry.second));
    return r;
  }

  std::size_t unit_count() const { return unit_offsets_.size() - 1; }

  std::span<const std::uint32_t> members(std::size_t unit) const {
    return std::span<const std::uint32_t>(members_).subspan(unit_offsets_[unit],
                                                            unit_offsets_[unit + 1] - unit_offsets_[unit]);
  }

  bool singletons() const { return singletons_; }
  const std::vector<std::vector<std::uint32_t>>& strata_units() const { return strata_units_; }

  // Calls emit(stratum, position) for every unit drawn in replicate `replicate`: the unit is
  // strata_units()[stratum][position]. This is the one definition of the random draws.
  template <class Emit>
  void draw_units(std::uint64_t seed, std::size_t replicate, Emit&& emit) const {
    std::mt19937_64 rng(replicate_seed(seed, replicate));
    for (std::size_t s = 0; s < strata_units_.size(); ++s) {
      const auto m = static_cast<std::uint32_t>(strata_units_[s].size());
      for (std::uint32_t k = 0; k < m; ++k) emit(s, bounded(rng, m));
    }
  }

  // Calls emit(case index) for every case of replicate `replicate`, with repetitions.
  template <class Emit>
  void draw(std::uint64_t seed, std::size_t replicate, Emit&& emit) const {
    draw_units(seed, replicate, [&](std::size_t s, std::uint32_t position) {
      for (std::uint32_t i : members(strata_units_[s][position])) emit(i);
    });
  }

 private:
  bool singletons_ = false;
  std::vector<std::uint32_t> unit_offsets_;  // CSR: members of unit u are members_[offsets[u]..offsets[u+1])
  std::vector<std::uint32_t> members_;
  std::vector<std::vector<std::uint32_t>> strata_units_;  // in increasing stratum value
};

unsigned thread_count(const BootstrapOptions& options, std::size_t work_items) {
  unsigned threads = options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  return static_cast<unsigned>(std::min<std::size_t>(threads, std::max<std::size_t>(1, work_items)));
}

// Runs work(item, state) for item in [0, count) on `threads` threads, each with its own state from
// make_state(). Items are handed out in chunks; which thread runs an item does not matter to the
// result. An exception from the work is rethrown here after all threads have stopped.
template <class MakeState, class Work>
void parallel_for(std::size_t count, unsigned threads, const MakeState& make_state, const Work& work) {
  constexpr std::size_t kChunk = 4;
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto body = [&] {
    try {
      auto state = make_state();
      for (;;) {
        const std::size_t begin = next.fetch_add(kChunk);
        if (begin >= count) break;
        const std::size_t end = std::min(count, begin + kChunk);
        for (std::size_t item = begin; item < end; ++item) work(item, state);
      }
    } catch (...) {
      std::lock_guard lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next.store(count);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) {
    try {
      pool.emplace_back(body);
    } catch (const std::system_error&) {
      break;  // fewer threads; the result is the same
    }
  }
  body();
  for (auto& thread : pool) thread.join();
  if (failure) std::rethrow_exception(failure);
}

Status check_options(const BootstrapOptions& options) {
  if (options.replicates < 2) return Error{ErrorCode::invalid_argument, "at least 2 bootstrap replicates are needed"};
  return detail::check_confidence(options.confidence);
}

// Quantile of sorted values with linear interpolation (type 7).
double quantile_sorted(const std::vector<double>& sorted, double q) {
  const double h = static_cast<double>(sorted.size() - 1) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

// Intervals from the replicate values and (for BCa) the jackknife values.
Result<BootstrapResult> summarize(double estimate, std::vector<double> values, const std::vector<double>& jackknife,
                                  const BootstrapOptions& options) {
  BootstrapResult result;
  result.estimate = estimate;
  std::vector<double> sorted;
  sorted.reserve(values.size());
  for (double v : values) {
    if (std::isfinite(v)) sorted.push_back(v);
  }
  if (sorted.empty()) return Error{ErrorCode::invalid_argument, "the statistic was undefined on every replicate"};
  std::sort(sorted.begin(), sorted.end());
  result.replicates_used = sorted.size();
  const auto used = static_cast<double>(sorted.size());
  if (sorted.size() >= 2) {
    const double mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / used;
    double squares = 0;
    for (double v : sorted) squares += (v - mean) * (v - mean);
    result.se = std::sqrt(squares / (used - 1.0));
  } else {
    result.se = kNaN;
  }
  const double alpha = 1.0 - options.confidence;
  result.percentile = {quantile_sorted(sorted, 0.5 * alpha), quantile_sorted(sorted, 1.0 - 0.5 * alpha)};
  result.bias_correction = kNaN;
  result.acceleration = kNaN;
  if (options.bca) {
    const auto below = static_cast<double>(std::lower_bound(sorted.begin(), sorted.end(), estimate) - sorted.begin());
    const auto equal = static_cast<double>(std::upper_bound(sorted.begin(), sorted.end(), estimate) -
                                           std::lower_bound(sorted.begin(), sorted.end(), estimate));
    const double z0 = normal_quantile((below + 0.5 * equal) / used);
    const bool jackknife_finite = !jackknife.empty() && std::all_of(jackknife.begin(), jackknife.end(),
                                                                    [](double v) { return std::isfinite(v); });
    double a = kNaN;
    if (jackknife_finite) {
      const double mean =
          std::accumulate(jackknife.begin(), jackknife.end(), 0.0) / static_cast<double>(jackknife.size());
      double sum2 = 0;
      double sum3 = 0;
      for (double v : jackknife) {
        const double d = mean - v;
        sum2 += d * d;
        sum3 += d * d * d;
      }
      a = sum2 > 0.0 ? sum3 / (6.0 * std::pow(sum2, 1.5)) : 0.0;
    }
    if (std::isfinite(z0)) result.bias_correction = z0;
    result.acceleration = a;
    if (std::isfinite(z0) && std::isfinite(a)) {
      const double z_low = normal_quantile(0.5 * alpha);
      const double z_high = -z_low;
      const double d_low = 1.0 - a * (z0 + z_low);
      const double d_high = 1.0 - a * (z0 + z_high);
      if (d_low > 0.0 && d_high > 0.0) {
        const double level_low = normal_cdf(z0 + (z0 + z_low) / d_low);
        const double level_high = normal_cdf(z0 + (z0 + z_high) / d_high);
        result.bca = Interval{quantile_sorted(sorted, level_low), quantile_sorted(sorted, level_high)};
      }
    }
  }
  if (options.keep_replicates) result.replicates = std::move(values);
  return result;
}

}  // namespace

Result<BootstrapResult> bootstrap(std::size_t n, std::span<const int> strata, std::span<const std::int64_t> clusters,
                                  const BootstrapStatistic& statistic, const BootstrapOptions& options) {
  MCVAL_TRY(check_options(options));
  MCVAL_TRY_ASSIGN(resampler, Resampler::make(n, strata, clusters));
  std::vector<std::size_t> all(n);
  std::iota(all.begin(), all.end(), std::size_t{0});
  const double estimate = statistic(all);
  if (!std::isfinite(estimate)) {
    return Error{ErrorCode::invalid_argument, "the statistic is not finite on the original sample"};
  }
  std::vector<double> values(options.replicates);
  parallel_for(
      options.replicates, thread_count(options, options.replicates), [] { return std::vector<std::size_t>(); },
      [&](std::size_t r, std::vector<std::size_t>& indices) {
        indices.clear();
        resampler.draw(options.seed, r, [&](std::uint32_t i) { indices.push_back(i); });
        values[r] = statistic(indices);
      });
  std::vector<double> jackknife;
  if (options.bca) {
    const std::size_t units = resampler.unit_count();
    jackknife.resize(units);
    if (units >= 2) {
      parallel_for(
          units, thread_count(options, units), [] { return std::pair<std::vector<std::size_t>, std::vector<char>>(); },
          [&](std::size_t u, std::pair<std::vector<std::size_t>, std::vector<char>>& state) {
            auto& [indices, left_out] = state;
            left_out.assign(n, 0);
            for (std::uint32_t i : resampler.members(u)) left_out[i] = 1;
            indices.clear();
            for (std::size_t i = 0; i < n; ++i) {
              if (!left_out[i]) indices.push_back(i);
            }
            jackknife[u] = statistic(indices);
          });
    } else {
      jackknife.assign(units, kNaN);
    }
  }
  return summarize(estimate, std::move(values), jackknife, options);
}

Result<BootstrapBand> bootstrap_band(std::size_t n, std::span<const int> strata, std::span<const std::int64_t> clusters,
                                     std::size_t dimension, const BootstrapVectorStatistic& statistic,
                                     const BootstrapOptions& options) {
  MCVAL_TRY(check_options(options));
  if (dimension == 0) return Error{ErrorCode::invalid_argument, "the statistic has no component"};
  MCVAL_TRY_ASSIGN(resampler, Resampler::make(n, strata, clusters));
  const std::size_t replicates = options.replicates;
  std::vector<double> values(replicates * dimension);  // replicate-major
  parallel_for(
      replicates, thread_count(options, replicates), [] { return std::vector<std::size_t>(); },
      [&](std::size_t r, std::vector<std::size_t>& indices) {
        indices.clear();
        resampler.draw(options.seed, r, [&](std::uint32_t i) { indices.push_back(i); });
        statistic(indices, std::span<double>(values).subspan(r * dimension, dimension));
      });
  BootstrapBand band;
  band.percentile.resize(dimension);
  band.replicates_used.resize(dimension);
  const double alpha = 1.0 - options.confidence;
  std::vector<double> column;
  for (std::size_t d = 0; d < dimension; ++d) {
    column.clear();
    for (std::size_t r = 0; r < replicates; ++r) {
      const double v = values[r * dimension + d];
      if (std::isfinite(v)) column.push_back(v);
    }
    band.replicates_used[d] = column.size();
    if (column.empty()) continue;
    std::sort(column.begin(), column.end());
    band.percentile[d] = {quantile_sorted(column, 0.5 * alpha), quantile_sorted(column, 1.0 - 0.5 * alpha)};
  }
  return band;
}

Result<BootstrapResult> bootstrap_auc(std::span<const int> labels, std::span<const double> scores,
                                      std::span<const std::int64_t> clusters, const BootstrapOptions& options) {
  MCVAL_TRY(check_options(options));
  MCVAL_TRY(detail::check_binary(labels, scores, true));
  MCVAL_TRY_ASSIGN(resampler, Resampler::make(labels.size(), labels, clusters));
  const auto groups = detail::make_tie_groups(labels, scores);
  const std::size_t g_count = groups.values.size();
  const std::uint64_t twice_pairs = detail::twice_pair_count(groups);
  const double estimate = detail::auc_from_counts(twice_pairs, groups.n_positive, groups.n_negative);
  // Counter slot of each case: 2 * tie group + label, so that one array holds negatives (even)
  // and positives (odd) in increasing score order.
  std::vector<std::uint32_t> slot(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i)
    slot[i] = 2 * groups.group_of[i] + static_cast<std::uint32_t>(labels[i]);

  // The slots of the cases of each drawn unit, indexed by (stratum, position) as the draws are, so
  // that a draw costs one table lookup and one increment.
  std::vector<std::vector<std::uint32_t>> unit_slot_offsets;
  std::vector<std::vector<std::uint32_t>> drawn_slots;
  for (const auto& units : resampler.strata_units()) {
    auto& offsets = unit_slot_offsets.emplace_back(1, 0u);
    auto& slots = drawn_slots.emplace_back();
    for (std::uint32_t u : units) {
      for (std::uint32_t i : resampler.members(u)) slots.push_back(slot[i]);
      offsets.push_back(static_cast<std::uint32_t>(slots.size()));
    }
  }
  const bool singletons = resampler.singletons();

  std::vector<double> values(options.replicates);
  parallel_for(
      options.replicates, thread_count(options, options.replicates),
      [&] { return std::vector<std::uint32_t>(2 * g_count, 0); },
      [&](std::size_t r, std::vector<std::uint32_t>& counts) {
        if (singletons) {
          resampler.draw_units(options.seed, r,
                               [&](std::size_t s, std::uint32_t position) { ++counts[drawn_slots[s][position]]; });
        } else {
          resampler.draw_units(options.seed, r, [&](std::size_t s, std::uint32_t position) {
            const auto& offsets = unit_slot_offsets[s];
            for (std::uint32_t k = offsets[position]; k < offsets[position + 1]; ++k) ++counts[drawn_slots[s][k]];
          });
        }
        std::uint64_t twice = 0;
        std::uint64_t negatives_below = 0;
        std::uint64_t positives = 0;
        for (std::size_t g = 0; g < g_count; ++g) {
          const std::uint64_t neg = counts[2 * g];
          const std::uint64_t pos = counts[2 * g + 1];
          twice += pos * (2 * negatives_below + neg);
          negatives_below += neg;
          positives += pos;
          counts[2 * g] = 0;
          counts[2 * g + 1] = 0;
        }
        values[r] = detail::auc_from_counts(twice, positives, negatives_below);
      });

  std::vector<double> jackknife;
  if (options.bca) {
    // Leaving out unit u removes the pairs that involve its cases: twice the count of those is
    // sum over its positives of (2 negatives below + negatives tied) + sum over its negatives of
    // (2 positives above + positives tied), minus twice the pairs inside the unit (counted twice).
    const auto [twice_v10, twice_v01] = detail::twice_placements(groups);
    const std::size_t units = resampler.unit_count();
    jackknife.resize(units);
    std::vector<std::uint32_t> unit_slots;
    for (std::size_t u = 0; u < units; ++u) {
      std::uint64_t removed = 0;
      std::uint64_t pos = 0;
      std::uint64_t neg = 0;
      unit_slots.clear();
      for (std::uint32_t i : resampler.members(u)) {
        const std::uint32_t g = groups.group_of[i];
        if (labels[i] == 1) {
          removed += twice_v10[g];
          ++pos;
        } else {
          removed += twice_v01[g];
          ++neg;
        }
        unit_slots.push_back(slot[i]);
      }
      if (pos > 0 && neg > 0) {
        std::sort(unit_slots.begin(), unit_slots.end());
        std::uint64_t within = 0;
        std::uint64_t neg_below = 0;
        for (std::size_t k = 0; k < unit_slots.size();) {
          const std::uint32_t g = unit_slots[k] / 2;
          std::uint64_t run_neg = 0;
          std::uint64_t run_pos = 0;
          for (; k < unit_slots.size() && unit_slots[k] / 2 == g; ++k) ++((unit_slots[k] & 1u) ? run_pos : run_neg);
          within += run_pos * (2 * neg_below + run_neg);
          neg_below += run_neg;
        }
        removed -= within;
      }
      jackknife[u] = detail::auc_from_counts(twice_pairs - removed, groups.n_positive - pos, groups.n_negative - neg);
    }
  }
  return summarize(estimate, std::move(values), jackknife, options);
}

}  // namespace mcval::stats
