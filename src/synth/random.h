#pragma once
// Deterministic pseudo-randomness for the generator: SplitMix64 hashing and a small generator
// whose sequence is fixed by this file alone (no standard-library distributions, whose
// output may differ between library versions).
#include <cstdint>

namespace mcval::synth::detail {

constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// Hash of a seed and up to three coordinates.
constexpr std::uint64_t hash_mix(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0) {
  return splitmix64(splitmix64(splitmix64(seed ^ 0x5851f42d4c957f2dULL) ^ a) ^ (b * 0x2545f4914f6cdd1dULL)) ^
         splitmix64(c + 0x14057b7ef767814fULL);
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() { return splitmix64(state_++); }
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) {
    const double unit = static_cast<double>(next() >> 11) * 0x1.0p-53;
    return lo + (hi - lo) * unit;
  }
  /// Uniform integer in [0, n); n > 0.
  std::uint64_t below(std::uint64_t n) { return next() % n; }

 private:
  std::uint64_t state_;
};

}  // namespace mcval::synth::detail
