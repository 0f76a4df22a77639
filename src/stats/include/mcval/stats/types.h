#pragma once
// Shared conventions of mcval::stats.
//
// Binary data: `labels[i]` is 1 for a positive case (disease present) and 0 for a negative one;
// any other value is an invalid_argument. `scores[i]` is the model's score for case i, higher
// meaning more likely positive; scores must be finite (NaN or infinity is an invalid_argument).
// Where probabilities are required (calibration) they must lie in [0, 1].
// Every function is pure (no I/O, no global state) and safe to call from several threads.
// Invalid input is reported as a Result carrying ErrorCode::invalid_argument with a detail that
// names the problem; no function aborts on bad input.
#include <limits>

namespace mcval::stats {

/// A two-sided interval [low, high]; both NaN when not computed.
struct Interval {
  double low = std::numeric_limits<double>::quiet_NaN();
  double high = std::numeric_limits<double>::quiet_NaN();
};

/// The default confidence level of every interval: 0.95.
inline constexpr double kDefaultConfidence = 0.95;

}  // namespace mcval::stats
