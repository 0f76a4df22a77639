#include "mcval/stats/kappa.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "mcval/stats/distributions.h"
#include "validate.h"

namespace mcval::stats {
namespace {

Status check_grades(std::span<const int> truth, std::span<const int> predicted, int classes) {
  if (truth.empty()) return Error{ErrorCode::invalid_argument, "no cases"};
  if (truth.size() != predicted.size()) {
    return Error{ErrorCode::invalid_argument, "reference and predicted grades differ in length (" +
                                                  std::to_string(truth.size()) + " vs " +
                                                  std::to_string(predicted.size()) + ")"};
  }
  if (classes < 2) return Error{ErrorCode::invalid_argument, "at least 2 grade classes are needed"};
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] < 0 || truth[i] >= classes || predicted[i] < 0 || predicted[i] >= classes) {
      return Error{ErrorCode::invalid_argument,
                   "grade of case " + std::to_string(i) + " is outside 0.." + std::to_string(classes - 1)};
    }
  }
  return {};
}

// Kappa and its Fleiss-Cohen-Everitt variance from a K x K table; NaN kappa when the expected
// disagreement is 0.
struct KappaValue {
  double kappa = 0;
  double variance = 0;
};

KappaValue kappa_of(const std::vector<double>& table, int classes, bool with_variance) {
  const auto k = static_cast<std::size_t>(classes);
  double total = 0;
  std::vector<double> rows(k, 0.0);
  std::vector<double> cols(k, 0.0);
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = 0; j < k; ++j) {
      rows[i] += table[i * k + j];
      cols[j] += table[i * k + j];
    }
  }
  for (double r : rows) total += r;
  for (double& r : rows) r /= total;
  for (double& c : cols) c /= total;
  const double scale = static_cast<double>((classes - 1) * (classes - 1));
  auto disagreement = [&](std::size_t i, std::size_t j) {
    const double d = static_cast<double>(i) - static_cast<double>(j);
    return d * d / scale;
  };
  double observed = 0;  // sum w O, with O as proportions
  double expected = 0;  // sum w E
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = 0; j < k; ++j) {
      observed += disagreement(i, j) * table[i * k + j] / total;
      expected += disagreement(i, j) * rows[i] * cols[j];
    }
  }
  KappaValue value;
  if (!(expected > 0.0)) {
    value.kappa = std::numeric_limits<double>::quiet_NaN();
    value.variance = std::numeric_limits<double>::quiet_NaN();
    return value;
  }
  value.kappa = 1.0 - observed / expected;
  if (with_variance) {
    // Agreement weights w = 1 - disagreement; p_e = sum w p_i. p_.j = 1 - expected.
    const double kappa = value.kappa;
    const double agree_expected = 1.0 - expected;
    std::vector<double> w_row(k, 0.0);  // sum_j p_.j w_ij
    std::vector<double> w_col(k, 0.0);  // sum_i p_i. w_ij
    for (std::size_t i = 0; i < k; ++i) {
      for (std::size_t j = 0; j < k; ++j) {
        const double w = 1.0 - disagreement(i, j);
        w_row[i] += cols[j] * w;
        w_col[j] += rows[i] * w;
      }
    }
    double term = 0;
    for (std::size_t i = 0; i < k; ++i) {
      for (std::size_t j = 0; j < k; ++j) {
        const double w = 1.0 - disagreement(i, j);
        const double d = w - (w_row[i] + w_col[j]) * (1.0 - kappa);
        term += table[i * k + j] / total * d * d;
      }
    }
    const double correction = kappa - agree_expected * (1.0 - kappa);
    value.variance = (term - correction * correction) / ((1.0 - agree_expected) * (1.0 - agree_expected) * total);
  }
  return value;
}

}  // namespace

Result<GradeConfusion> grade_confusion(std::span<const int> truth, std::span<const int> predicted, int classes) {
  MCVAL_TRY(check_grades(truth, predicted, classes));
  GradeConfusion confusion;
  confusion.classes = classes;
  confusion.counts.assign(static_cast<std::size_t>(classes) * static_cast<std::size_t>(classes), 0);
  for (std::size_t i = 0; i < truth.size(); ++i) {
    ++confusion.counts[static_cast<std::size_t>(truth[i]) * static_cast<std::size_t>(classes) +
                       static_cast<std::size_t>(predicted[i])];
  }
  return confusion;
}

Result<WeightedKappa> quadratic_weighted_kappa(std::span<const int> truth, std::span<const int> predicted, int classes,
                                               double confidence) {
  MCVAL_TRY(detail::check_confidence(confidence));
  MCVAL_TRY_ASSIGN(confusion, grade_confusion(truth, predicted, classes));
  const std::vector<double> table(confusion.counts.begin(), confusion.counts.end());
  const KappaValue value = kappa_of(table, classes, true);
  if (std::isnan(value.kappa)) {
    return Error{ErrorCode::invalid_argument,
                 "weighted kappa is undefined: the expected disagreement is 0 (one grade for every case)"};
  }
  WeightedKappa result;
  result.estimate = value.kappa;
  result.se = std::sqrt(std::max(0.0, value.variance));
  const double z = normal_critical_value(confidence);
  result.ci = {result.estimate - z * result.se, result.estimate + z * result.se};
  result.confusion = std::move(confusion);
  return result;
}

Result<BootstrapResult> bootstrap_quadratic_weighted_kappa(std::span<const int> truth, std::span<const int> predicted,
                                                           int classes, std::span<const std::int64_t> clusters,
                                                           const BootstrapOptions& options) {
  MCVAL_TRY(quadratic_weighted_kappa(truth, predicted, classes, options.confidence));
  const auto k = static_cast<std::size_t>(classes);
  auto statistic = [&](std::span<const std::size_t> indices) {
    std::vector<double> table(k * k, 0.0);
    for (std::size_t i : indices) {
      table[static_cast<std::size_t>(truth[i]) * k + static_cast<std::size_t>(predicted[i])] += 1.0;
    }
    if (indices.empty()) return std::numeric_limits<double>::quiet_NaN();
    return kappa_of(table, classes, false).kappa;
  };
  return bootstrap(truth.size(), {}, clusters, statistic, options);
}

}  // namespace mcval::stats
