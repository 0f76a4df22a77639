#include "example_report.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <numbers>
#include <string>
#include <vector>

namespace mcval::report::testing {
namespace {

using nlohmann::json;

constexpr double kZ = 1.959963984540054;

double phi(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }
double density(double x) { return std::exp(-0.5 * x * x) / std::sqrt(2.0 * std::numbers::pi); }
double phi_inverse(double p) {
  double lo = -10, hi = 10;
  for (int i = 0; i < 100; ++i) {
    const double mid = (lo + hi) / 2;
    (phi(mid) < p ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}
double expit(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double logit(double p) { return std::log(p / (1.0 - p)); }
double r4(double x) { return std::round(x * 1e4) / 1e4; }

json wilson(std::int64_t successes, std::int64_t total) {
  const double n = static_cast<double>(total);
  const double p = static_cast<double>(successes) / n;
  const double centre = (p + kZ * kZ / (2 * n)) / (1 + kZ * kZ / n);
  const double half = kZ / (1 + kZ * kZ / n) * std::sqrt(p * (1 - p) / n + kZ * kZ / (4 * n * n));
  return {
      {"estimate", r4(p)}, {"ci_low", r4(std::max(0.0, centre - half))}, {"ci_high", r4(std::min(1.0, centre + half))}};
}

double hanley_mcneil_se(double auc, std::int64_t positives, std::int64_t negatives) {
  const double q1 = auc / (2 - auc), q2 = 2 * auc * auc / (1 + auc);
  const double np = static_cast<double>(positives), nn = static_cast<double>(negatives);
  return std::sqrt((auc * (1 - auc) + (np - 1) * (q1 - auc * auc) + (nn - 1) * (q2 - auc * auc)) / (np * nn));
}

// Rounds shares of `total` to whole counts that add up to `total` (largest remainder).
std::vector<std::int64_t> apportion(const std::vector<double>& weights, std::int64_t total) {
  double sum = 0;
  for (const double w : weights) sum += w;
  std::vector<std::int64_t> counts(weights.size());
  std::vector<std::pair<double, std::size_t>> remainders;
  std::int64_t assigned = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const double exact = weights[i] / sum * static_cast<double>(total);
    counts[i] = static_cast<std::int64_t>(std::floor(exact));
    assigned += counts[i];
    remainders.emplace_back(exact - std::floor(exact), i);
  }
  std::sort(remainders.begin(), remainders.end(), std::greater<>());
  for (std::size_t i = 0; assigned < total; ++i, ++assigned) ++counts[remainders[i % remainders.size()].second];
  return counts;
}

double quadratic_weighted_kappa(const std::vector<std::vector<std::int64_t>>& m) {
  const std::size_t k = m.size();
  std::vector<double> rows(k, 0), cols(k, 0);
  double total = 0;
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = 0; j < k; ++j) {
      rows[i] += static_cast<double>(m[i][j]);
      cols[j] += static_cast<double>(m[i][j]);
      total += static_cast<double>(m[i][j]);
    }
  }
  double observed = 0, expected = 0;
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = 0; j < k; ++j) {
      const double w = std::pow(static_cast<double>(i) - static_cast<double>(j), 2) / std::pow(k - 1.0, 2);
      observed += w * static_cast<double>(m[i][j]);
      expected += w * rows[i] * cols[j] / total;
    }
  }
  return 1.0 - observed / expected;
}

struct Counts {
  std::int64_t tp = 0, fp = 0, tn = 0, fn = 0;
};

struct CentreSpec {
  std::string name;
  std::int64_t n;
  std::int64_t positives;
  double auc;
  double cut_shift;  // operating point relative to the midpoint of the two score distributions
  double steepness;  // slope of the score on the latent scale (miscalibration)
  std::int64_t failed;
  std::vector<std::pair<std::string, std::int64_t>> excluded;
};

struct Built {
  json stats;
  double auc = 0, se = 0;
  std::vector<std::vector<std::int64_t>> isup;
  std::vector<double> bin_count, bin_predicted, bin_positive;
  double brier_sum = 0;
};

// Centre statistics under a binormal model: negatives ~ N(0,1), positives ~ N(d,1) on a latent
// scale, score = expit(steepness * (x - cut)), so that the threshold 0.5 sits at x = cut.
Built build_stats(std::int64_t n, std::int64_t positives, double auc, double cut_shift, double steepness) {
  Built b;
  const std::int64_t negatives = n - positives;
  const double d = std::sqrt(2.0) * phi_inverse(auc);
  const double cut = d / 2 + cut_shift;
  const auto score = [&](double x) { return expit(steepness * (x - cut)); };

  b.auc = auc;
  b.se = hanley_mcneil_se(auc, positives, negatives);
  const std::int64_t tp = std::llround((1 - phi(cut - d)) * static_cast<double>(positives));
  const std::int64_t tn = std::llround(phi(cut) * static_cast<double>(negatives));
  const std::int64_t fn = positives - tp, fp = negatives - tn;

  json roc = json::array();
  roc.push_back({{"fpr", 0.0}, {"tpr", 0.0}, {"threshold", 1.0}});
  for (int i = 0; i <= 48; ++i) {
    const double x = d + 3.2 - i * (6.4 + d) / 48.0;
    roc.push_back({{"fpr", r4(1 - phi(x))}, {"tpr", r4(1 - phi(x - d))}, {"threshold", r4(score(x))}});
  }
  roc.push_back({{"fpr", 1.0}, {"tpr", 1.0}, {"threshold", 0.0}});

  // Reliability bins by numerical integration over the latent scale.
  b.bin_count.assign(10, 0);
  b.bin_predicted.assign(10, 0);
  b.bin_positive.assign(10, 0);
  const double step = 0.002;
  const int steps = static_cast<int>((d + 14) / step);
  for (int i = 0; i < steps; ++i) {
    const double x = -7 + i * step;
    const double wn = density(x) * static_cast<double>(negatives) * step;
    const double wp = density(x - d) * static_cast<double>(positives) * step;
    const double s = score(x);
    const auto bin = static_cast<std::size_t>(std::min(9.0, std::floor(s * 10)));
    b.bin_count[bin] += wn + wp;
    b.bin_predicted[bin] += (wn + wp) * s;
    b.bin_positive[bin] += wp;
    b.brier_sum += wn * s * s + wp * (1 - s) * (1 - s);
  }
  const std::vector<std::int64_t> counts = apportion(b.bin_count, n);
  json reliability = json::array();
  double ece = 0, sxx = 0, sxy = 0, sx = 0, sy = 0, sw = 0, predicted_all = 0, observed_all = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    json bin = {{"bin_low", i / 10.0}, {"bin_high", (i + 1) / 10.0}, {"count", counts[i]}};
    if (counts[i] > 0) {
      const double mean_predicted = b.bin_predicted[i] / b.bin_count[i];
      const double observed = b.bin_positive[i] / b.bin_count[i];
      bin["mean_predicted"] = r4(mean_predicted);
      bin["observed"] = r4(observed);
      const double w = static_cast<double>(counts[i]);
      ece += w / static_cast<double>(n) * std::abs(observed - mean_predicted);
      const double lx = logit(std::clamp(mean_predicted, 0.01, 0.99)), ly = logit(std::clamp(observed, 0.01, 0.99));
      sw += w, sx += w * lx, sy += w * ly, sxx += w * lx * lx, sxy += w * lx * ly;
      predicted_all += w * mean_predicted;
      observed_all += w * observed;
    } else {
      bin["mean_predicted"] = nullptr;
      bin["observed"] = nullptr;
    }
    reliability.push_back(bin);
  }
  const double slope = (sw * sxy - sx * sy) / (sw * sxx - sx * sx);
  const double intercept = logit(observed_all / sw) - logit(predicted_all / sw);

  const double boot_shift = 0.002;
  b.stats = {
      {"n", n},
      {"n_positive", positives},
      {"auc",
       {{"estimate", r4(auc)},
        {"ci_low", r4(auc - kZ * b.se)},
        {"ci_high", r4(std::min(1.0, auc + kZ * b.se))},
        {"se_delong", r4(b.se)}}},
      {"auc_bootstrap",
       {{"ci_low", r4(auc - kZ * b.se * 1.04 - boot_shift)},
        {"ci_high", r4(std::min(1.0, auc + kZ * b.se * 0.97 - boot_shift))},
        {"replicates", 2000},
        {"method", "percentile"}}},
      {"sensitivity", wilson(tp, positives)},
      {"specificity", wilson(tn, negatives)},
      {"ppv", wilson(tp, tp + fp)},
      {"npv", wilson(tn, tn + fn)},
      {"confusion", {{"tp", tp}, {"fp", fp}, {"tn", tn}, {"fn", fn}}},
      {"threshold_for_target_sensitivity", {{"target", 0.9}, {"threshold", r4(score(d + phi_inverse(0.1)))}}},
      {"brier", r4(b.brier_sum / static_cast<double>(n))},
      {"ece", r4(ece)},
      {"ece_bins", 10},
      {"calibration", {{"slope", r4(slope)}, {"intercept", r4(intercept)}}},
      {"reliability", reliability},
      {"roc", roc},
  };

  // Smoothed calibration: the true P(positive | score) under the binormal model, errors weighted
  // by the density of the scores, and a band that widens where scores are rare.
  {
    json predicted = json::array(), observed = json::array(), band_low = json::array(), band_high = json::array();
    const auto prob = [&](double x) {
      const double wp = density(x - d) * static_cast<double>(positives);
      const double wn = density(x) * static_cast<double>(negatives);
      return wp / (wp + wn);
    };
    const double x_low = -2.5, x_high = d + 2.5;
    for (int k = 0; k < 50; ++k) {
      const double x = x_low + (x_high - x_low) * k / 49.0;
      const double mass = density(x) * static_cast<double>(negatives) + density(x - d) * static_cast<double>(positives);
      const double half = std::min(0.3, 1.2 / std::sqrt(std::max(1.0, mass)));
      predicted.push_back(r4(score(x)));
      observed.push_back(r4(prob(x)));
      band_low.push_back(r4(std::max(0.0, prob(x) - half)));
      band_high.push_back(r4(std::min(1.0, prob(x) + half)));
    }
    std::vector<std::pair<double, double>> errors;  // (error, weight)
    double total = 0;
    for (int i = 0; i < steps; ++i) {
      const double x = -7 + i * step;
      const double w = density(x) * static_cast<double>(negatives) + density(x - d) * static_cast<double>(positives);
      errors.emplace_back(std::abs(score(x) - prob(x)), w);
      total += w;
    }
    double mean = 0;
    for (const auto& [e, w] : errors) mean += e * w / total;
    std::sort(errors.begin(), errors.end());
    const auto quantile = [&](double q) {
      double acc = 0;
      for (const auto& [e, w] : errors) {
        acc += w / total;
        if (acc >= q) return e;
      }
      return errors.back().first;
    };
    b.stats["calibration"]["smoothed"] = {
        {"method", "lowess(p, y, f = 2/3, iter = 0) as rms::val.prob"}, {"ici", r4(mean)}, {"e50", r4(quantile(0.5))},
        {"e90", r4(quantile(0.9))}, {"emax", r4(quantile(0.999))},
        {"curve", {{"predicted", predicted}, {"observed", observed}, {"band_low", band_low}, {"band_high", band_high}}}};
  }

  // Decision curve: net benefit under the same binormal model, with a normal-approximation band.
  json thresholds = json::array(), model = json::array(), treat_all = json::array(), low = json::array(),
       high = json::array();
  const double dn = static_cast<double>(n);
  json at_threshold;
  for (int k = 1; k <= 99; ++k) {
    const double pt = k / 100.0, odds = pt / (1 - pt);
    const double x = cut + logit(pt) / steepness;  // score >= pt above x
    const double tpr = (1 - phi(x - d)) * static_cast<double>(positives) / dn;
    const double fpr = (1 - phi(x)) * static_cast<double>(negatives) / dn;
    const double nb = tpr - fpr * odds;
    const double all = static_cast<double>(positives) / dn - static_cast<double>(negatives) / dn * odds;
    const double se_nb = std::sqrt((tpr * (1 - tpr) + odds * odds * fpr * (1 - fpr) + 2 * odds * tpr * fpr) / dn);
    thresholds.push_back(pt);
    model.push_back(r4(nb));
    treat_all.push_back(r4(all));
    low.push_back(r4(nb - kZ * se_nb));
    high.push_back(r4(nb + kZ * se_nb));
    if (k == 50) {
      at_threshold = {{"threshold", 0.5}, {"model", r4(nb)}, {"treat_all", r4(all)}, {"treat_none", 0.0},
                      {"ci_low", r4(nb - kZ * se_nb)}, {"ci_high", r4(nb + kZ * se_nb)}};
    }
  }
  b.stats["decision_curve"] = {
      {"thresholds", thresholds}, {"model", model}, {"treat_all", treat_all}, {"treat_none", 0.0},
      {"band", {{"model_low", low}, {"model_high", high}, {"replicates", 2000}, {"method", "pointwise percentile"}}},
      {"at_threshold", at_threshold}};

  // ISUP grade groups: negatives are grade 0, positives spread over 1-5; predictions near the
  // diagonal.
  const std::vector<std::int64_t> grades = apportion({0.32, 0.27, 0.17, 0.12, 0.12}, positives);
  std::vector<std::int64_t> row_totals = {negatives};
  row_totals.insert(row_totals.end(), grades.begin(), grades.end());
  for (std::size_t r = 0; r < 6; ++r) {
    std::vector<double> weights;
    for (std::size_t c = 0; c < 6; ++c) {
      const double distance = std::abs(static_cast<double>(r) - static_cast<double>(c));
      weights.push_back(std::exp(-(r == 0 ? 2.2 : 1.25) * distance));
    }
    b.isup.push_back(apportion(weights, row_totals[r]));
  }
  return b;
}

json isup_json(const std::vector<std::vector<std::int64_t>>& m) {
  json rows = json::array();
  for (const auto& row : m) rows.push_back(row);
  return rows;
}

json qwk_json(const std::vector<std::vector<std::int64_t>>& m, double se) {
  const double kappa = quadratic_weighted_kappa(m);
  return {{"estimate", r4(kappa)}, {"ci_low", r4(kappa - kZ * se)}, {"ci_high", r4(std::min(1.0, kappa + kZ * se))}};
}

std::string hex_id(std::uint64_t& state, std::size_t length) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < length; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    out += kHex[(state >> 59) & 0xF];
  }
  return out;
}

double uniform(std::uint64_t& state) {
  state = state * 6364136223846793005ULL + 1442695040888963407ULL;
  return static_cast<double>(state >> 11) / 9007199254740992.0;
}

}  // namespace

json make_example_report() {
  const std::vector<CentreSpec> specs = {
      {"centre-a", 196, 61, 0.88, 0.05, 1.7, 1, {{"poor staining", 3}, {"out of focus", 2}}},
      {"centre-b <script>alert(\"xss\")</script>",
       214,
       82,
       0.77,
       -0.15,
       1.2,
       4,
       {{"poor staining", 6}, {"wrong tissue type", 2}}},
      {"centre-c", 178, 49, 0.85, 0.2, 2.1, 0, {{"out of focus", 1}}},
  };
  std::uint64_t rng = 20261123;

  json centres = json::object(), patient_centres = json::object(), flow = json::object();
  json misclassified = json::array();
  std::vector<Built> built;
  std::int64_t total_n = 0, total_pos = 0, total_received = 0, total_failed = 0;
  std::map<std::string, std::int64_t> total_excluded;
  Counts sum;
  std::vector<std::vector<std::int64_t>> isup_sum(6, std::vector<std::int64_t>(6, 0));
  double auc_weighted = 0;
  std::vector<double> bin_count(10, 0), bin_predicted(10, 0), bin_positive(10, 0);
  double brier_sum = 0;

  char letter = 'A';
  for (const CentreSpec& spec : specs) {
    Built b = build_stats(spec.n, spec.positives, spec.auc, spec.cut_shift, spec.steepness);
    b.stats["qwk"] = qwk_json(b.isup, 0.034);
    b.stats["isup_confusion"] = isup_json(b.isup);
    centres[spec.name] = b.stats;

    const std::int64_t patients = spec.n * 11 / 20;
    const std::int64_t patient_positives = spec.positives * 11 / 20 + 2;
    Built p = build_stats(patients, patient_positives, std::min(0.97, spec.auc + 0.012), spec.cut_shift - 0.1,
                          spec.steepness);
    p.stats["qwk"] = qwk_json(p.isup, 0.045);
    p.stats["isup_confusion"] = isup_json(p.isup);
    patient_centres[spec.name] = p.stats;

    std::int64_t excluded_all = 0;
    json excluded = json::object();
    for (const auto& [reason, count] : spec.excluded) {
      excluded[reason] = count;
      excluded_all += count;
      total_excluded[reason] += count;
    }
    const std::int64_t received = spec.n + excluded_all + spec.failed;
    flow[spec.name] = {
        {"received", received}, {"excluded", excluded}, {"failed_inference", spec.failed}, {"analysed", spec.n}};
    total_received += received;
    total_failed += spec.failed;

    const auto& confusion = b.stats["confusion"];
    const std::int64_t fp = confusion["fp"], fn = confusion["fn"];
    for (std::int64_t i = 0; i < fp + fn; ++i) {
      const bool false_negative = i < fn;
      const std::string slide = std::string(1, letter) + "-2024-" + std::to_string(10317 + i * 37 % 9000);
      const std::string patient = "P" + std::string(1, letter) + "-" + std::to_string(3100 + i * 13 % 2000);
      const double score = false_negative ? 0.04 + 0.45 * uniform(rng) : 0.5 + 0.47 * uniform(rng);
      misclassified.push_back({{"slide_id", slide},
                               {"centre", spec.name},
                               {"patient_id", patient},
                               {"label", false_negative ? 1 : 0},
                               {"score", r4(score)},
                               {"predicted", false_negative ? 0 : 1},
                               {"kind", false_negative ? "false negative" : "false positive"},
                               {"viewer_url", "/#bg=" + hex_id(rng, 16)}});
    }
    ++letter;

    total_n += spec.n;
    total_pos += spec.positives;
    sum.tp += confusion["tp"].get<std::int64_t>();
    sum.fp += fp;
    sum.tn += confusion["tn"].get<std::int64_t>();
    sum.fn += fn;
    for (std::size_t r = 0; r < 6; ++r) {
      for (std::size_t c = 0; c < 6; ++c) isup_sum[r][c] += b.isup[r][c];
    }
    auc_weighted += spec.auc * static_cast<double>(spec.n);
    for (std::size_t i = 0; i < 10; ++i) {
      bin_count[i] += b.bin_count[i];
      bin_predicted[i] += b.bin_predicted[i];
      bin_positive[i] += b.bin_positive[i];
    }
    brier_sum += b.brier_sum;
    built.push_back(std::move(b));
  }
  // A slide id that tries HTML injection, with a viewer link that tries a javascript: URL.
  misclassified.push_back({{"slide_id", "<img src=x onerror=alert(1)>"},
                           {"centre", "centre-c"},
                           {"patient_id", "PC-9999"},
                           {"label", 1},
                           {"score", 0.2113},
                           {"predicted", 0},
                           {"kind", "false negative"},
                           {"viewer_url", "javascript:alert(1)"}});

  // Pooled over all slides: the binormal model at the slide-weighted AUC, minus a little for the
  // centres' different score scales; the 2x2 table, ISUP matrix and bins are the sums.
  const double pooled_auc = auc_weighted / static_cast<double>(total_n) - 0.012;
  Built pooled = build_stats(total_n, total_pos, pooled_auc, 0.0, 1.6);
  pooled.stats["sensitivity"] = wilson(sum.tp, sum.tp + sum.fn);
  pooled.stats["specificity"] = wilson(sum.tn, sum.tn + sum.fp);
  pooled.stats["ppv"] = wilson(sum.tp, sum.tp + sum.fp);
  pooled.stats["npv"] = wilson(sum.tn, sum.tn + sum.fn);
  pooled.stats["confusion"] = {{"tp", sum.tp}, {"fp", sum.fp}, {"tn", sum.tn}, {"fn", sum.fn}};
  pooled.stats["brier"] = r4(brier_sum / static_cast<double>(total_n));
  const std::vector<std::int64_t> counts = apportion(bin_count, total_n);
  json reliability = json::array();
  double ece = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    const double mean_predicted = bin_predicted[i] / bin_count[i];
    const double observed = bin_positive[i] / bin_count[i];
    ece += static_cast<double>(counts[i]) / static_cast<double>(total_n) * std::abs(observed - mean_predicted);
    reliability.push_back({{"bin_low", i / 10.0},
                           {"bin_high", (i + 1) / 10.0},
                           {"count", counts[i]},
                           {"mean_predicted", r4(mean_predicted)},
                           {"observed", r4(observed)}});
  }
  pooled.stats["reliability"] = reliability;
  pooled.stats["ece"] = r4(ece);
  pooled.stats["qwk"] = qwk_json(isup_sum, 0.021);
  pooled.stats["isup_confusion"] = isup_json(isup_sum);

  Built patient_pooled = build_stats(total_n * 11 / 20, total_pos * 11 / 20 + 6, pooled_auc + 0.012, -0.1, 1.6);
  patient_pooled.stats["qwk"] = qwk_json(patient_pooled.isup, 0.03);
  patient_pooled.stats["isup_confusion"] = isup_json(patient_pooled.isup);

  // Meta-analysis of logit(AUC) with delta-method variances (DerSimonian-Laird).
  double sw = 0, swy = 0, sww = 0;
  std::vector<double> y, v;
  for (const Built& b : built) {
    y.push_back(logit(b.auc));
    v.push_back(std::pow(b.se / (b.auc * (1 - b.auc)), 2));
    sw += 1 / v.back();
    swy += y.back() / v.back();
    sww += 1 / (v.back() * v.back());
  }
  const double fixed_mean = swy / sw;
  double q = 0;
  for (std::size_t i = 0; i < y.size(); ++i) q += std::pow(y[i] - fixed_mean, 2) / v[i];
  const double df = static_cast<double>(y.size()) - 1;
  const double tau2 = std::max(0.0, (q - df) / (sw - sww / sw));
  double sw_re = 0, swy_re = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    sw_re += 1 / (v[i] + tau2);
    swy_re += y[i] / (v[i] + tau2);
  }
  const double re_mean = swy_re / sw_re, re_se = std::sqrt(1 / sw_re), fe_se = std::sqrt(1 / sw);
  const double t_975_df1 = 12.706204736174707;  // Student t, k - 2 = 1 degree of freedom
  const double pi_half = t_975_df1 * std::sqrt(tau2 + re_se * re_se);

  json report = {
      {"format", "mcval-validation-report/1"},
      {"version", "0.1.0"},
      {"created_at", "2026-11-23T23:00:00Z"},
      {"seed", 7},
      {"model_sha256", "9b1f0c2e7d4a5b6c8e3f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d"},
      {"model",
       {{"name", "prostate-cancer-detector"},
        {"version", "2.1.0"},
        {"sha256", "9b1f0c2e7d4a5b6c8e3f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d"}}},
      {"dataset",
       {{"name", "pca-biopsies-2026"},
        {"sha256", "4e8a1d3c5b7f9e2a4c6b8d0f1e3a5c7b9d2f4e6a8c0b1d3f5a7c9e2b4d6f8a0c"},
        {"rows", total_received}}},
      {"dataset_sha256", "4e8a1d3c5b7f9e2a4c6b8d0f1e3a5c7b9d2f4e6a8c0b1d3f5a7c9e2b4d6f8a0c"},
      {"predictions",
       {{"source", "predictions.csv"},
        {"sha256", "c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3a5b7c9d1e3f5a7b9c1d3e5f7a9b1c3d5"},
        {"rows", total_received - total_failed}}},
      {"parameters",
       {{"threshold_source", "fixed"},
        {"development_centre", nullptr},
        {"target_sensitivity", 0.9},
        {"bootstrap_replicates", 2000},
        {"ci_level", 0.95},
        {"ece_bins", 10},
        {"unit", "slide"},
        {"patient_aggregation", "max"}}},
      {"threshold", 0.5},
      {"flow", flow},
      {"pooled", pooled.stats},
      {"centres", centres},
      {"heterogeneity",
       {{"k", static_cast<std::int64_t>(y.size())},
        {"q", r4(q)},
        {"df", static_cast<std::int64_t>(df)},
        {"p", r4(std::exp(-q / 2))},  // chi-square survival function for 2 degrees of freedom
        {"i2", r4(std::max(0.0, (q - df) / q))},
        {"tau2", r4(tau2)},
        {"pooled_auc_fixed_effect",
         {{"estimate", r4(expit(fixed_mean))},
          {"ci_low", r4(expit(fixed_mean - kZ * fe_se))},
          {"ci_high", r4(expit(fixed_mean + kZ * fe_se))}}},
        {"pooled_auc_random_effects",
         {{"estimate", r4(expit(re_mean))},
          {"ci_low", r4(expit(re_mean - kZ * re_se))},
          {"ci_high", r4(expit(re_mean + kZ * re_se))}}},
        {"prediction_interval", {{"low", r4(expit(re_mean - pi_half))}, {"high", r4(expit(re_mean + pi_half))}}}}},
      {"patient_level", {{"pooled", patient_pooled.stats}, {"centres", patient_centres}}},
      {"misclassified", misclassified},
      {"files", {{"per_slide_csv", "per_slide.csv"}, {"html", "report.html"}}},
  };
  json total_flow_excluded = json::object();
  for (const auto& [reason, count] : total_excluded) total_flow_excluded[reason] = count;
  report["flow"]["total"] = {{"received", total_received},
                             {"excluded", total_flow_excluded},
                             {"failed_inference", total_failed},
                             {"analysed", total_n}};

  // Subgroups: each centre has its own scanner, so across centres the scanners differ as the
  // centres do; within a centre there is one level and no test.
  const auto cell = [](const json& stats, bool small) {
    json c = {{"n", stats["n"]}, {"n_positive", stats["n_positive"]}, {"small", small}, {"auc", stats["auc"]},
              {"sensitivity", stats["sensitivity"]}, {"specificity", stats["specificity"]}};
    if (small) c["note"] = "small subgroup";
    return c;
  };
  const std::vector<std::string> scanners = {"Aperio GT450", "Hamamatsu S360", "Philips UFS"};
  json levels = json::object(), within = json::object();
  std::vector<std::pair<double, double>> auc_se;
  std::size_t index = 0;
  for (const auto& [name, stats] : centres.items()) {
    const std::string scanner = scanners[index++ % scanners.size()];
    levels[scanner] = cell(stats, false);
    auc_se.emplace_back(stats["auc"]["estimate"].get<double>(), stats["auc"]["se_delong"].get<double>());
    within[name] = {{"levels", {{scanner, cell(stats, false)}}},
                    {"test", {{"levels", {scanner}}, {"method", nullptr}, {"statistic", nullptr}, {"df", nullptr},
                              {"p", nullptr}, {"note", "fewer than two levels with an AUC and a positive variance"}}}};
  }
  double sum_w = 0, sum_wy = 0;
  for (const auto& [a, se] : auc_se) sum_w += 1 / (se * se), sum_wy += a / (se * se);
  double scanner_q = 0;
  for (const auto& [a, se] : auc_se) scanner_q += (a - sum_wy / sum_w) * (a - sum_wy / sum_w) / (se * se);
  report["subgroups"] = {
      {"variables", {"scanner"}},
      {"small_below", {{"slides", 30}, {"per_class", 5}}},
      {"scanner",
       {{"not_given", 0},
        {"pooled", {{"levels", levels},
                    {"test", {{"levels", scanners}, {"method", "Cochran's Q on the DeLong variances (chi-square, k - 1 df)"},
                              {"statistic", r4(scanner_q)}, {"df", 2}, {"p", r4(std::exp(-scanner_q / 2))}}}}},
        {"centres", within}}}};
  return report;
}

}  // namespace mcval::report::testing
