#include "svg_figures.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "html_text.h"

namespace mcval::report {
namespace {

// Okabe-Ito, in an order that keeps neighbours apart; yellow last (weak on white).
constexpr std::array<const char*, 7> kPalette = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                                 "#E69F00", "#56B4E9", "#B8A600"};
constexpr std::array<const char*, 3> kDashes = {"7 4", "2 3", "10 3 2 3"};
constexpr const char* kPooledColour = "#000000";

std::string coord(double value) { return fixed(value, 1); }

double clamp01(double value) { return std::clamp(value, 0.0, 1.0); }

std::string text_element(double x, double y, const std::string& escaped, const std::string& attributes = {}) {
  return "<text x=\"" + coord(x) + "\" y=\"" + coord(y) + "\"" + (attributes.empty() ? "" : " " + attributes) + ">" +
         escaped + "</text>";
}

std::string line_element(double x1, double y1, double x2, double y2, const std::string& attributes) {
  return "<line x1=\"" + coord(x1) + "\" y1=\"" + coord(y1) + "\" x2=\"" + coord(x2) + "\" y2=\"" + coord(y2) + "\" " +
         attributes + "/>";
}

std::string dash_attribute(const SeriesStyle& style) {
  return style.dash.empty() ? std::string() : " stroke-dasharray=\"" + style.dash + "\"";
}

struct Series {
  std::string name;
  const CentreStats* stats;
  SeriesStyle style;
  bool pooled;
};

std::vector<Series> all_series(const ReportData& report) {
  std::vector<Series> series;
  for (std::size_t i = 0; i < report.centres.size(); ++i) {
    series.push_back(Series{report.centres[i].centre, &report.centres[i].stats, centre_style(i), false});
  }
  series.push_back(Series{"All centres (pooled)", &report.pooled, SeriesStyle{kPooledColour, ""}, true});
  return series;
}

std::string svg_open(const std::string& id, double width, double height, std::size_t points, const std::string& title,
                     const std::string& description) {
  return "<svg id=\"" + id + "\" class=\"figure\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + coord(width) +
         " " + coord(height) + "\" width=\"" + coord(width) + "\" height=\"" + coord(height) +
         "\" role=\"img\" aria-labelledby=\"" + id + "-title " + id + "-desc\" data-points=\"" +
         std::to_string(points) + "\" font-size=\"12\">" + "<title id=\"" + id + "-title\">" + escape(title) +
         "</title><desc id=\"" + id + "-desc\">" + escape(description) + "</desc>";
}

}  // namespace

SeriesStyle centre_style(std::size_t index) {
  SeriesStyle style;
  style.colour = kPalette[index % kPalette.size()];
  const std::size_t round = index / kPalette.size();
  if (round > 0) style.dash = kDashes[(round - 1) % kDashes.size()];
  return style;
}

std::string roc_svg(const ReportData& report) {
  const std::vector<Series> series = all_series(report);
  constexpr double left = 64, top = 20, size = 400, legend_x = 508, entry_height = 38;
  const double legend_height = static_cast<double>(series.size()) * entry_height + 30;
  const double width = 800;
  const double height = std::max(top + size + 62, top + 10 + legend_height);
  const auto x_of = [&](double fpr) { return left + clamp01(fpr) * size; };
  const auto y_of = [&](double tpr) { return top + (1.0 - clamp01(tpr)) * size; };

  std::size_t total_points = 0;
  for (const Series& s : series) total_points += s.stats->roc.size();

  std::string svg = svg_open("roc-plot", width, height, total_points, "ROC curves by centre",
                             "Sensitivity against 1 - specificity for each centre and for all centres pooled, "
                             "with the chance diagonal and the operating point at the report's threshold.");

  // Grid, ticks and frame.
  for (int t = 0; t <= 5; ++t) {
    const double v = t * 0.2;
    svg += line_element(x_of(v), top, x_of(v), top + size, "stroke=\"#e6e6e6\"");
    svg += line_element(left, y_of(v), left + size, y_of(v), "stroke=\"#e6e6e6\"");
    svg += text_element(x_of(v), top + size + 16, fixed(v, 1), "text-anchor=\"middle\" fill=\"#444\"");
    svg += text_element(left - 7, y_of(v) + 4, fixed(v, 1), "text-anchor=\"end\" fill=\"#444\"");
  }
  svg += "<rect x=\"" + coord(left) + "\" y=\"" + coord(top) + "\" width=\"" + coord(size) + "\" height=\"" +
         coord(size) + "\" fill=\"none\" stroke=\"#888\"/>";
  svg += line_element(x_of(0), y_of(0), x_of(1), y_of(1),
                      "class=\"chance-diagonal\" stroke=\"#999\" stroke-dasharray=\"5 4\"");
  svg += text_element(left + size / 2, top + size + 40, "1 &#8722; specificity (false positive rate)",
                      "text-anchor=\"middle\" font-size=\"13\"");
  svg += text_element(
      0, 0, "Sensitivity (true positive rate)",
      "text-anchor=\"middle\" font-size=\"13\" transform=\"translate(18 " + coord(top + size / 2) + ") rotate(-90)\"");

  // Curves: centres first, pooled last so that it is drawn on top.
  for (const Series& s : series) {
    if (s.stats->roc.empty()) continue;
    std::vector<RocPoint> points = s.stats->roc;
    std::stable_sort(points.begin(), points.end(), [](const RocPoint& a, const RocPoint& b) {
      return a.fpr < b.fpr || (a.fpr == b.fpr && a.tpr < b.tpr);
    });
    std::string coordinates;
    for (const RocPoint& p : points) {
      if (!coordinates.empty()) coordinates += ' ';
      coordinates += coord(x_of(p.fpr)) + "," + coord(y_of(p.tpr));
    }
    svg += "<polyline class=\"roc-curve" + std::string(s.pooled ? " pooled" : "") + "\" data-centre=\"" +
           escape(s.name) + "\" data-points=\"" + std::to_string(points.size()) + "\" points=\"" + coordinates +
           "\" fill=\"none\" stroke=\"" + s.style.colour + "\" stroke-width=\"" + (s.pooled ? "2.6" : "1.8") +
           "\" stroke-linejoin=\"round\"" + dash_attribute(s.style) + "><title>" + escape(s.name) + ": AUC " +
           escape(estimate_text(s.stats->auc)) + "</title></polyline>";
  }
  // Operating points at the threshold.
  for (const Series& s : series) {
    const auto& sens = s.stats->sensitivity.estimate;
    const auto& spec = s.stats->specificity.estimate;
    if (!sens || !spec) continue;
    svg += "<circle class=\"operating-point\" data-centre=\"" + escape(s.name) + "\" cx=\"" + coord(x_of(1.0 - *spec)) +
           "\" cy=\"" + coord(y_of(*sens)) + "\" r=\"4.5\" fill=\"" + s.style.colour +
           "\" stroke=\"#fff\" stroke-width=\"1.5\"><title>" + escape(s.name) + ": sensitivity " + fixed(*sens, 2) +
           ", specificity " + fixed(*spec, 2) + " at threshold " + trimmed(report.threshold) + "</title></circle>";
  }

  // Legend.
  double y = top + 12;
  for (const Series& s : series) {
    svg += line_element(legend_x, y, legend_x + 28, y,
                        "stroke=\"" + s.style.colour + "\" stroke-width=\"" + (s.pooled ? "2.6" : "2") + "\"" +
                            dash_attribute(s.style));
    svg += text_element(legend_x + 36, y + 4, escape(truncate(s.name, 34)), "font-weight=\"600\" font-size=\"12.5\"");
    std::string auc = "AUC " + estimate_text(s.stats->auc);
    if (s.stats->roc.empty()) auc += " (no ROC points)";
    svg += text_element(legend_x + 36, y + 19, escape(auc), "fill=\"#444\"");
    y += entry_height;
  }
  svg += "<circle cx=\"" + coord(legend_x + 14) + "\" cy=\"" + coord(y) + "\" r=\"4.5\" fill=\"#666\"/>";
  svg += text_element(legend_x + 36, y + 4, escape("operating point at threshold " + trimmed(report.threshold)),
                      "fill=\"#444\"");
  svg += "</svg>";
  return svg;
}

std::string forest_svg(const ReportData& report, const std::string& ci_label) {
  const Heterogeneity& het = report.heterogeneity;
  constexpr double width = 960, name_x = 8, n_x = 300, plot_left = 336, plot_right = 746, text_x = 768;
  constexpr double header_y = 20, first_row = 46, row_height = 26;

  // Domain: always shows 0.5 (chance) and 1; extends left to the lowest bound drawn.
  double low = 0.5;
  const auto widen = [&](const std::optional<double>& v) {
    if (v) low = std::min(low, *v);
  };
  for (const NamedStats& c : report.centres) {
    widen(c.stats.auc.estimate);
    widen(c.stats.auc.ci_low);
  }
  widen(report.pooled.auc.ci_low);
  widen(het.fixed_effect.ci_low);
  widen(het.random_effects.ci_low);
  widen(het.prediction_low);
  low = std::max(0.0, std::floor(low * 10.0 + 1e-9) / 10.0);
  const double high = 1.0;
  const auto x_of = [&](double auc) {
    return plot_left + (std::clamp(auc, low, high) - low) / (high - low) * (plot_right - plot_left);
  };

  std::int64_t max_n = 1;
  for (const NamedStats& c : report.centres) max_n = std::max(max_n, c.stats.n);

  std::size_t marks = 0;
  for (const NamedStats& c : report.centres) marks += c.stats.auc.estimate ? 1 : 0;

  const std::size_t rows = report.centres.size() + 4;
  const double axis_y = first_row + static_cast<double>(rows) * row_height + 4;
  const double height = axis_y + 84;

  std::string svg = svg_open("forest-plot", width, height, marks, "Forest plot of AUC by centre",
                             "AUC with " + ci_label +
                                 " for each centre (square area proportional to the number of slides), the AUC "
                                 "of all slides pooled, fixed- and random-effects meta-analytic estimates, the "
                                 "prediction interval for a new centre and a reference line at 0.5.");

  svg += text_element(name_x, header_y, "Centre", "font-weight=\"600\"");
  svg += text_element(n_x, header_y, "n", "font-weight=\"600\" text-anchor=\"end\"");
  svg += text_element(text_x, header_y, escape("AUC (" + ci_label + ")"), "font-weight=\"600\"");
  svg += line_element(0, header_y + 8, width, header_y + 8, "stroke=\"#bbb\"");

  // Reference line at 0.5 and light grid.
  for (int t = static_cast<int>(std::lround(low * 10)); t <= 10; ++t) {
    const double v = t / 10.0;
    if (std::abs(v - 0.5) > 1e-9) {
      svg += line_element(x_of(v), first_row - 14, x_of(v), axis_y, "stroke=\"#f0f0f0\"");
    }
  }
  svg += line_element(x_of(0.5), first_row - 14, x_of(0.5), axis_y,
                      "class=\"reference-line\" stroke=\"#777\" stroke-dasharray=\"4 3\"");

  const auto interval_line = [&](double y, const std::optional<double>& lo, const std::optional<double>& hi,
                                 const std::string& stroke) {
    if (!lo || !hi) return std::string();
    return line_element(x_of(*lo), y, x_of(*hi), y, "stroke=\"" + stroke + "\" stroke-width=\"1.5\"") +
           line_element(x_of(*lo), y - 4, x_of(*lo), y + 4, "stroke=\"" + stroke + "\" stroke-width=\"1.5\"") +
           line_element(x_of(*hi), y - 4, x_of(*hi), y + 4, "stroke=\"" + stroke + "\" stroke-width=\"1.5\"");
  };
  const auto diamond = [&](double y, const Estimate& e, const std::string& model, const std::string& fill,
                           const std::string& label) {
    if (!e.estimate) return std::string();
    const double mid = x_of(*e.estimate);
    const double lo = e.ci_low ? x_of(*e.ci_low) : mid - 3;
    const double hi = e.ci_high ? x_of(*e.ci_high) : mid + 3;
    return "<polygon class=\"forest-diamond\" data-model=\"" + model + "\" points=\"" + coord(lo) + "," + coord(y) +
           " " + coord(mid) + "," + coord(y - 8) + " " + coord(hi) + "," + coord(y) + " " + coord(mid) + "," +
           coord(y + 8) + "\" fill=\"" + fill + "\"><title>" + escape(label + ": AUC " + estimate_text(e)) +
           "</title></polygon>";
  };

  double y = first_row;
  for (std::size_t i = 0; i < report.centres.size(); ++i) {
    const NamedStats& c = report.centres[i];
    const SeriesStyle style = centre_style(i);
    const bool corrected = std::find(het.corrected_centres.begin(), het.corrected_centres.end(), c.centre) !=
                           het.corrected_centres.end();
    svg += text_element(name_x, y + 4, escape(truncate(c.centre, 40)) + (corrected ? " \xE2\x80\xA0" : ""),
                        corrected ? "class=\"forest-corrected\"" : "");
    svg += text_element(n_x, y + 4, std::to_string(c.stats.n), "text-anchor=\"end\"");
    svg += text_element(text_x, y + 4, escape(estimate_text(c.stats.auc)));
    if (c.stats.auc.estimate) {
      svg += interval_line(y, c.stats.auc.ci_low, c.stats.auc.ci_high, "#333");
      const double side = 5.0 + 11.0 * std::sqrt(static_cast<double>(c.stats.n) / static_cast<double>(max_n));
      svg += "<rect class=\"forest-centre\" data-centre=\"" + escape(c.centre) + "\" data-n=\"" +
             std::to_string(c.stats.n) + "\" x=\"" + coord(x_of(*c.stats.auc.estimate) - side / 2) + "\" y=\"" +
             coord(y - side / 2) + "\" width=\"" + coord(side) + "\" height=\"" + coord(side) + "\" fill=\"" +
             style.colour + "\"><title>" +
             escape(c.centre + ": AUC " + estimate_text(c.stats.auc) + ", n = " + std::to_string(c.stats.n)) +
             "</title></rect>";
    }
    y += row_height;
  }
  svg += line_element(0, y - row_height / 2, width, y - row_height / 2, "stroke=\"#ddd\"");

  // All slides pooled (not a meta-analysis): hollow square.
  svg += text_element(name_x, y + 4, "All slides pooled", "font-style=\"italic\"");
  svg += text_element(n_x, y + 4, std::to_string(report.pooled.n), "text-anchor=\"end\"");
  svg += text_element(text_x, y + 4, escape(estimate_text(report.pooled.auc)));
  if (report.pooled.auc.estimate) {
    svg += interval_line(y, report.pooled.auc.ci_low, report.pooled.auc.ci_high, "#333");
    svg += "<rect class=\"forest-pooled\" x=\"" + coord(x_of(*report.pooled.auc.estimate) - 5) + "\" y=\"" +
           coord(y - 5) + "\" width=\"10\" height=\"10\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"1.5\"/>";
  }
  y += row_height;

  svg += text_element(name_x, y + 4, "Fixed effect (inverse variance)", "font-weight=\"600\"");
  svg += text_element(text_x, y + 4, escape(estimate_text(het.fixed_effect)));
  svg += diamond(y, het.fixed_effect, "fixed", "#7a7a7a", "Fixed effect");
  y += row_height;

  svg += text_element(name_x, y + 4, "Random effects (DerSimonian\xE2\x80\x93Laird)", "font-weight=\"600\"");
  svg += text_element(text_x, y + 4, escape(estimate_text(het.random_effects)));
  svg += diamond(y, het.random_effects, "random", "#000", "Random effects");
  y += row_height;

  svg += text_element(name_x, y + 4, "Prediction interval (a new centre)");
  const std::string pi = interval_text(het.prediction_low, het.prediction_high);
  svg += text_element(text_x, y + 4, pi.empty() ? "n/a" : escape(pi));
  if (!pi.empty()) {
    svg += "<g class=\"forest-prediction-interval\">" +
           interval_line(y, het.prediction_low, het.prediction_high, "#D55E00") + "</g>";
  }

  // Axis.
  svg += line_element(plot_left, axis_y, plot_right, axis_y, "stroke=\"#444\"");
  for (int t = static_cast<int>(std::lround(low * 10)); t <= 10; ++t) {
    const double v = t / 10.0;
    svg += line_element(x_of(v), axis_y, x_of(v), axis_y + 4, "stroke=\"#444\"");
    svg += text_element(x_of(v), axis_y + 16, fixed(v, 1), "text-anchor=\"middle\" fill=\"#444\"");
  }
  svg += text_element((plot_left + plot_right) / 2, axis_y + 34, "AUC", "text-anchor=\"middle\" font-size=\"13\"");

  std::string stats = "Heterogeneity: ";
  std::vector<std::string> parts;
  if (het.q) parts.push_back("Q = " + fixed(*het.q, 2));
  if (het.df) parts.push_back("df = " + std::to_string(*het.df));
  if (het.p) parts.push_back(p_text(*het.p));
  if (het.i2) parts.push_back("I\xC2\xB2 = " + percent(*het.i2));
  if (het.tau2) parts.push_back("\xCF\x84\xC2\xB2 = " + fixed(*het.tau2, 3) + " (logit scale)");
  if (parts.empty()) parts.push_back("not available");
  for (std::size_t i = 0; i < parts.size(); ++i) stats += (i > 0 ? ", " : "") + parts[i];
  svg += text_element(name_x, axis_y + 62, escape(stats), "class=\"heterogeneity\" font-size=\"12.5\"");
  if (!het.corrected_centres.empty()) {
    svg += text_element(name_x, axis_y + 78,
                        "\xE2\x80\xA0 AUC 0 or 1: enters the meta-analysis with a continuity correction "
                        "(1/2 pair, Hanley\xE2\x80\x93McNeil variance)",
                        "font-size=\"11.5\" fill=\"#555\"");
  }
  svg += "</svg>";
  return svg;
}

std::string calibration_svg(const ReportData& report) {
  const std::vector<Series> series = all_series(report);
  constexpr double panel_width = 260, panel_height = 282, plot_size = 170, plot_dx = 58, plot_dy = 74;
  constexpr std::size_t columns = 4;
  const std::size_t panel_rows = (series.size() + columns - 1) / columns;
  const double width = panel_width * columns + 10;
  const double height = static_cast<double>(panel_rows) * panel_height + 6;

  const std::string units = report.unit.value_or("slide") + "s";
  std::size_t total_points = 0;
  for (const Series& s : series) {
    for (const ReliabilityBin& bin : s.stats->reliability) {
      total_points += (bin.count > 0 && bin.mean_predicted && bin.observed) ? 1 : 0;
    }
  }
  std::string svg = svg_open("calibration-plot", width, height, total_points, "Reliability diagrams by centre",
                             "Observed proportion of positives against mean predicted probability in each score "
                             "bin, one panel per centre and one for all centres pooled; marker area is "
                             "proportional to the number of slides in the bin; the diagonal is perfect "
                             "calibration.");

  for (std::size_t index = 0; index < series.size(); ++index) {
    const Series& s = series[index];
    const std::size_t column = index % columns, row = index / columns;
    const double ox = 5 + static_cast<double>(column) * panel_width;
    const double oy = 4 + static_cast<double>(row) * panel_height;
    const double px = ox + plot_dx, py = oy + plot_dy;
    const auto x_of = [&](double v) { return px + clamp01(v) * plot_size; };
    const auto y_of = [&](double v) { return py + (1.0 - clamp01(v)) * plot_size; };

    std::vector<const ReliabilityBin*> bins;
    std::int64_t max_count = 1;
    for (const ReliabilityBin& bin : s.stats->reliability) {
      if (bin.count > 0 && bin.mean_predicted && bin.observed) {
        bins.push_back(&bin);
        max_count = std::max(max_count, bin.count);
      }
    }
    std::stable_sort(bins.begin(), bins.end(), [](const ReliabilityBin* a, const ReliabilityBin* b) {
      return *a->mean_predicted < *b->mean_predicted;
    });

    svg += "<g class=\"calibration-panel\" data-centre=\"" + escape(s.name) + "\" data-points=\"" +
           std::to_string(bins.size()) + "\">";
    svg += "<rect x=\"" + coord(ox + 10) + "\" y=\"" + coord(oy + 7) + "\" width=\"10\" height=\"10\" fill=\"" +
           s.style.colour + "\"/>";
    svg += text_element(ox + 26, oy + 16, escape(truncate(s.name, 30)), "font-weight=\"600\" font-size=\"13\"");
    std::string line1 = "Brier " + fixed_or_na(s.stats->brier, 3) + " \xC2\xB7 ECE " + fixed_or_na(s.stats->ece, 3);
    const auto bins_used = s.stats->ece_bins ? s.stats->ece_bins : report.ece_bins;
    if (s.stats->ece && bins_used) line1 += " (" + std::to_string(*bins_used) + " bins)";
    const std::string line2 = "Slope " + fixed_or_na(s.stats->calibration_slope, 2) + " \xC2\xB7 intercept " +
                              fixed_or_na(s.stats->calibration_intercept, 2);
    svg += text_element(ox + 10, oy + 33, escape(line1), "fill=\"#333\" font-size=\"11.5\"");
    svg += text_element(ox + 10, oy + 48, escape(line2), "fill=\"#333\" font-size=\"11.5\"");
    const SmoothedCalibrationData* smooth = s.stats->smoothed_calibration ? &*s.stats->smoothed_calibration : nullptr;
    if (smooth != nullptr) {
      const std::string line3 = "ICI " + fixed_or_na(smooth->ici, 3) + " \xC2\xB7 E50 " + fixed_or_na(smooth->e50, 3) +
                                " \xC2\xB7 E90 " + fixed_or_na(smooth->e90, 3);
      svg += text_element(ox + 10, oy + 63, escape(line3), "class=\"calibration-errors\" fill=\"#333\" font-size=\"11.5\"");
    }

    for (int t = 0; t <= 4; ++t) {
      const double v = t * 0.25;
      svg += line_element(x_of(v), py, x_of(v), py + plot_size, "stroke=\"#ececec\"");
      svg += line_element(px, y_of(v), px + plot_size, y_of(v), "stroke=\"#ececec\"");
    }
    for (int t = 0; t <= 2; ++t) {
      const double v = t * 0.5;
      svg += text_element(x_of(v), py + plot_size + 14, trimmed(v, 1),
                          "text-anchor=\"middle\" fill=\"#444\" font-size=\"11\"");
      svg += text_element(px - 6, y_of(v) + 4, trimmed(v, 1), "text-anchor=\"end\" fill=\"#444\" font-size=\"11\"");
    }
    svg += "<rect x=\"" + coord(px) + "\" y=\"" + coord(py) + "\" width=\"" + coord(plot_size) + "\" height=\"" +
           coord(plot_size) + "\" fill=\"none\" stroke=\"#888\"/>";
    svg += line_element(x_of(0), y_of(0), x_of(1), y_of(1), "stroke=\"#999\" stroke-dasharray=\"5 4\"");
    if (smooth != nullptr && !smooth->predicted.empty()) {
      std::string band;
      if (smooth->band_low.size() == smooth->predicted.size()) {
        for (std::size_t k = 0; k < smooth->predicted.size(); ++k) {
          if (smooth->band_low[k] && smooth->band_high[k]) {
            band += coord(x_of(smooth->predicted[k])) + "," + coord(y_of(*smooth->band_high[k])) + " ";
          }
        }
        for (std::size_t k = smooth->predicted.size(); k-- > 0;) {
          if (smooth->band_low[k] && smooth->band_high[k]) {
            band += coord(x_of(smooth->predicted[k])) + "," + coord(y_of(*smooth->band_low[k])) + " ";
          }
        }
      }
      if (!band.empty()) {
        band.pop_back();
        svg += "<polygon class=\"calibration-band\" points=\"" + band + "\" fill=\"" + s.style.colour +
               "\" fill-opacity=\"0.16\" stroke=\"none\"/>";
      }
      std::string curve;
      for (std::size_t k = 0; k < smooth->predicted.size(); ++k) {
        curve += (curve.empty() ? "" : " ") + coord(x_of(smooth->predicted[k])) + "," + coord(y_of(smooth->observed[k]));
      }
      svg += "<polyline class=\"calibration-smoothed\" points=\"" + curve + "\" fill=\"none\" stroke=\"" +
             s.style.colour + "\" stroke-width=\"2\"/>";
    }
    svg += text_element(px + plot_size / 2, py + plot_size + 30, "Mean predicted probability",
                        "text-anchor=\"middle\" font-size=\"11\"");
    svg += text_element(0, 0, "Observed proportion",
                        "text-anchor=\"middle\" font-size=\"11\" transform=\"translate(" + coord(ox + 24) + " " +
                            coord(py + plot_size / 2) + ") rotate(-90)\"");

    if (bins.empty()) {
      svg += text_element(px + plot_size / 2, py + plot_size / 2, "no reliability bins",
                          "text-anchor=\"middle\" fill=\"#777\" font-style=\"italic\"");
    } else {
      std::string coordinates;
      for (const ReliabilityBin* bin : bins) {
        if (!coordinates.empty()) coordinates += ' ';
        coordinates += coord(x_of(*bin->mean_predicted)) + "," + coord(y_of(*bin->observed));
      }
      svg += "<polyline points=\"" + coordinates + "\" fill=\"none\" stroke=\"" + s.style.colour +
             "\" stroke-width=\"1.4\" stroke-opacity=\"0.8\"/>";
      for (const ReliabilityBin* bin : bins) {
        const double radius = 2.5 + 4.5 * std::sqrt(static_cast<double>(bin->count) / static_cast<double>(max_count));
        svg += "<circle class=\"calibration-point\" data-count=\"" + std::to_string(bin->count) + "\" cx=\"" +
               coord(x_of(*bin->mean_predicted)) + "\" cy=\"" + coord(y_of(*bin->observed)) + "\" r=\"" +
               coord(radius) + "\" fill=\"" + s.style.colour + "\" fill-opacity=\"0.85\" stroke=\"#fff\"><title>" +
               escape("mean predicted " + fixed(*bin->mean_predicted, 2) + ", observed " + fixed(*bin->observed, 2) +
                      ", " + std::to_string(bin->count) + " " + units) +
               "</title></circle>";
      }
    }
    svg += "</g>";
  }
  svg += "</svg>";
  return svg;
}

std::string decision_curve_svg(const ReportData& report) {
  std::vector<Series> series;
  for (const Series& s : all_series(report)) {
    if (s.stats->decision_curve && !s.stats->decision_curve->points.empty()) series.push_back(s);
  }
  constexpr double panel_width = 260, panel_height = 262, plot_width = 180, plot_height = 160, plot_dx = 58,
                   plot_dy = 52;
  constexpr std::size_t columns = 4;
  const std::size_t panel_rows = std::max<std::size_t>(1, (series.size() + columns - 1) / columns);
  const double width = panel_width * columns + 10;
  const double height = static_cast<double>(panel_rows) * panel_height + 40;
  std::size_t total_points = 0;
  for (const Series& s : series) total_points += s.stats->decision_curve->points.size();
  std::string svg = svg_open("decision-curve-plot", width, height, total_points, "Decision curves by centre",
                             "Net benefit against threshold probability for the model (coloured, with its bootstrap "
                             "band shaded), treating every case as positive (grey) and treating none (black line "
                             "at 0), one panel per centre and one for all centres pooled; the dotted line marks the "
                             "decision threshold.");
  for (std::size_t index = 0; index < series.size(); ++index) {
    const Series& s = series[index];
    const DecisionCurveData& d = *s.stats->decision_curve;
    const std::size_t column = index % columns, row = index / columns;
    const double ox = 5 + static_cast<double>(column) * panel_width;
    const double oy = 4 + static_cast<double>(row) * panel_height;
    const double px = ox + plot_dx, py = oy + plot_dy;
    // y from a little below 0 to the prevalence (the largest net benefit possible).
    double y_high = 0.05;
    for (const DecisionCurvePoint& p : d.points) {
      for (const auto& v : {p.model, p.treat_all, p.model_high}) {
        if (v) y_high = std::max(y_high, *v);
      }
    }
    y_high = std::ceil(y_high * 20.0 - 1e-9) / 20.0;
    const double y_low = -0.25 * y_high;
    const auto x_of = [&](double v) { return px + clamp01(v) * plot_width; };
    const auto y_of = [&](double v) { return py + (y_high - std::clamp(v, y_low, y_high)) / (y_high - y_low) * plot_height; };

    svg += "<g class=\"decision-panel\" data-centre=\"" + escape(s.name) + "\" data-points=\"" +
           std::to_string(d.points.size()) + "\">";
    svg += "<rect x=\"" + coord(ox + 10) + "\" y=\"" + coord(oy + 7) + "\" width=\"10\" height=\"10\" fill=\"" +
           s.style.colour + "\"/>";
    svg += text_element(ox + 26, oy + 16, escape(truncate(s.name, 30)), "font-weight=\"600\" font-size=\"13\"");
    std::string line = "Net benefit at " + trimmed(report.threshold) + ": " + fixed_or_na(d.at_threshold_model, 3);
    if (d.at_threshold_low && d.at_threshold_high) {
      line += " (" + fixed(*d.at_threshold_low, 3) + "\xE2\x80\x93" + fixed(*d.at_threshold_high, 3) + ")";
    }
    svg += text_element(ox + 10, oy + 33, escape(line), "fill=\"#333\" font-size=\"11.5\"");
    svg += text_element(ox + 10, oy + 46, escape("treat all " + fixed_or_na(d.at_threshold_treat_all, 3)),
                        "fill=\"#333\" font-size=\"11.5\"");
    for (int t = 0; t <= 4; ++t) {
      const double v = t * 0.25;
      svg += line_element(x_of(v), py, x_of(v), py + plot_height, "stroke=\"#ececec\"");
      svg += text_element(x_of(v), py + plot_height + 14, trimmed(v, 2),
                          "text-anchor=\"middle\" fill=\"#444\" font-size=\"10.5\"");
    }
    for (double v = 0; v <= y_high + 1e-9; v += y_high / 2) {
      svg += line_element(px, y_of(v), px + plot_width, y_of(v), "stroke=\"#ececec\"");
      svg += text_element(px - 6, y_of(v) + 4, fixed(v, 2), "text-anchor=\"end\" fill=\"#444\" font-size=\"10.5\"");
    }
    svg += "<rect x=\"" + coord(px) + "\" y=\"" + coord(py) + "\" width=\"" + coord(plot_width) + "\" height=\"" +
           coord(plot_height) + "\" fill=\"none\" stroke=\"#888\"/>";
    // Band: upper edge left to right, lower edge back.
    std::string band;
    for (const DecisionCurvePoint& p : d.points) {
      if (p.model_low && p.model_high) band += coord(x_of(p.threshold)) + "," + coord(y_of(*p.model_high)) + " ";
    }
    for (auto it = d.points.rbegin(); it != d.points.rend(); ++it) {
      if (it->model_low && it->model_high) band += coord(x_of(it->threshold)) + "," + coord(y_of(*it->model_low)) + " ";
    }
    if (!band.empty()) {
      band.pop_back();
      svg += "<polygon class=\"decision-band\" points=\"" + band + "\" fill=\"" + s.style.colour +
             "\" fill-opacity=\"0.18\" stroke=\"none\"/>";
    }
    const auto polyline = [&](auto value, const std::string& cls, const std::string& attributes) {
      std::string points;
      for (const DecisionCurvePoint& p : d.points) {
        const std::optional<double> v = value(p);
        if (!v || *v < y_low) continue;  // treat-all falls far below 0: leave the plot there
        points += (points.empty() ? "" : " ") + coord(x_of(p.threshold)) + "," + coord(y_of(*v));
      }
      return points.empty() ? std::string()
                            : "<polyline class=\"" + cls + "\" points=\"" + points + "\" fill=\"none\" " + attributes + "/>";
    };
    svg += line_element(px, y_of(0), px + plot_width, y_of(0), "class=\"decision-treat-none\" stroke=\"#000\"");
    svg += polyline([](const DecisionCurvePoint& p) { return p.treat_all; }, "decision-treat-all",
                    "stroke=\"#8a8a8a\" stroke-width=\"1.3\"");
    svg += polyline([](const DecisionCurvePoint& p) { return p.model; }, "decision-model",
                    "stroke=\"" + s.style.colour + "\" stroke-width=\"1.8\"" + dash_attribute(s.style));
    if (report.threshold > 0 && report.threshold < 1) {
      svg += line_element(x_of(report.threshold), py, x_of(report.threshold), py + plot_height,
                          "class=\"decision-threshold\" stroke=\"#555\" stroke-dasharray=\"2 3\"");
    }
    svg += text_element(px + plot_width / 2, py + plot_height + 30, "Threshold probability",
                        "text-anchor=\"middle\" font-size=\"11\"");
    svg += text_element(0, 0, "Net benefit",
                        "text-anchor=\"middle\" font-size=\"11\" transform=\"translate(" + coord(ox + 20) + " " +
                            coord(py + plot_height / 2) + ") rotate(-90)\"");
    svg += "</g>";
  }
  const double legend_y = height - 14;
  svg += line_element(10, legend_y - 4, 34, legend_y - 4, "stroke=\"#0072B2\" stroke-width=\"1.8\"");
  svg += text_element(40, legend_y, "model (band: bootstrap percentile interval)");
  svg += line_element(330, legend_y - 4, 354, legend_y - 4, "stroke=\"#8a8a8a\" stroke-width=\"1.3\"");
  svg += text_element(360, legend_y, "treat all");
  svg += line_element(440, legend_y - 4, 464, legend_y - 4, "stroke=\"#000\"");
  svg += text_element(470, legend_y, "treat none");
  svg += line_element(560, legend_y - 8, 560, legend_y + 2, "stroke=\"#555\" stroke-dasharray=\"2 3\"");
  svg += text_element(566, legend_y, "decision threshold");
  svg += "</svg>";
  return svg;
}

std::string subgroup_forest_svg(const SubgroupVariable& variable, const std::string& ci_label) {
  constexpr double width = 960, name_x = 8, n_x = 330, plot_left = 360, plot_right = 746, text_x = 768;
  constexpr double header_y = 20, first_row = 46, row_height = 22;
  double low = 0.5;
  for (const SubgroupRow& r : variable.rows) {
    if (r.auc.ci_low) low = std::min(low, *r.auc.ci_low);
    if (r.auc.estimate) low = std::min(low, *r.auc.estimate);
  }
  low = std::max(0.0, std::floor(low * 10.0 + 1e-9) / 10.0);
  const auto x_of = [&](double auc) { return plot_left + (std::clamp(auc, low, 1.0) - low) / (1.0 - low) * (plot_right - plot_left); };
  std::int64_t max_n = 1;
  std::size_t marks = 0, scopes = 0;
  std::string previous = "\x01";
  for (const SubgroupRow& r : variable.rows) {
    max_n = std::max(max_n, r.n);
    marks += r.auc.estimate ? 1 : 0;
    if (r.scope != previous) ++scopes;
    previous = r.scope;
  }
  const double rows = static_cast<double>(variable.rows.size() + scopes);
  const double axis_y = first_row + rows * row_height;
  const double height = axis_y + 46;
  std::string svg = svg_open("subgroup-forest-" + variable.name, width, height, marks,
                             "Forest plot of AUC by " + variable.name,
                             "AUC with " + ci_label + " for each " + variable.name +
                                 ", across all centres and within each centre; hollow squares mark small subgroups.");
  svg += text_element(name_x, header_y, escape(variable.name), "font-weight=\"600\"");
  svg += text_element(n_x, header_y, "n", "font-weight=\"600\" text-anchor=\"end\"");
  svg += text_element(text_x, header_y, escape("AUC (" + ci_label + ")"), "font-weight=\"600\"");
  svg += line_element(0, header_y + 8, width, header_y + 8, "stroke=\"#bbb\"");
  svg += line_element(x_of(0.5), first_row - 14, x_of(0.5), axis_y, "stroke=\"#777\" stroke-dasharray=\"4 3\"");
  double y = first_row;
  previous = "\x01";
  for (const SubgroupRow& r : variable.rows) {
    if (r.scope != previous) {
      svg += text_element(name_x, y + 4, escape(r.scope.empty() ? "All centres" : truncate(r.scope, 40)),
                          "font-weight=\"600\" font-style=\"italic\"");
      previous = r.scope;
      y += row_height;
    }
    svg += text_element(name_x + 16, y + 4, escape(truncate(r.level, 38) + (r.small ? " (small)" : "")));
    svg += text_element(n_x, y + 4, std::to_string(r.n), "text-anchor=\"end\"");
    svg += text_element(text_x, y + 4, escape(estimate_text(r.auc)));
    if (r.auc.estimate) {
      if (r.auc.ci_low && r.auc.ci_high) {
        svg += line_element(x_of(*r.auc.ci_low), y, x_of(*r.auc.ci_high), y, "stroke=\"#333\" stroke-width=\"1.5\"");
      }
      const double side = 5.0 + 9.0 * std::sqrt(static_cast<double>(r.n) / static_cast<double>(max_n));
      svg += "<rect class=\"subgroup-mark\" data-level=\"" + escape(r.level) + "\" data-small=\"" +
             (r.small ? "true" : "false") + "\" x=\"" + coord(x_of(*r.auc.estimate) - side / 2) + "\" y=\"" +
             coord(y - side / 2) + "\" width=\"" + coord(side) + "\" height=\"" + coord(side) + "\" fill=\"" +
             (r.small ? "#fff" : "#0072B2") + "\" stroke=\"#0072B2\" stroke-width=\"1.5\"><title>" +
             escape(r.level + ": AUC " + estimate_text(r.auc) + ", n = " + std::to_string(r.n)) + "</title></rect>";
    }
    y += row_height;
  }
  svg += line_element(plot_left, axis_y, plot_right, axis_y, "stroke=\"#444\"");
  for (int t = static_cast<int>(std::lround(low * 10)); t <= 10; ++t) {
    const double v = t / 10.0;
    svg += line_element(x_of(v), axis_y, x_of(v), axis_y + 4, "stroke=\"#444\"");
    svg += text_element(x_of(v), axis_y + 16, fixed(v, 1), "text-anchor=\"middle\" fill=\"#444\"");
  }
  svg += text_element((plot_left + plot_right) / 2, axis_y + 34, "AUC", "text-anchor=\"middle\" font-size=\"13\"");
  svg += "</svg>";
  return svg;
}

}  // namespace mcval::report
