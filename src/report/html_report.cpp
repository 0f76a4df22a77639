#include "mcval/report/html_report.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "html_text.h"
#include "report_data.h"
#include "svg_figures.h"

namespace mcval::report {
namespace {

constexpr std::size_t kMaxMisclassifiedRows = 500;
constexpr const char* kPooledName = "All centres (pooled)";

// What every section needs besides the data: labels derived once from the parameters.
struct Context {
  std::string ci_label;  // "95 % CI"
  std::string unit;      // "slide"
  std::string units;     // "slides"
};

Context make_context(const ReportData& r) {
  Context ctx;
  const double level = r.ci_level.value_or(0.95);
  ctx.ci_label = trimmed(level * 100.0, 1) + "\xC2\xA0% CI";
  ctx.unit = r.unit.value_or("slide");
  ctx.units = ctx.unit + "s";
  return ctx;
}

const char* kStyle = R"CSS(
:root { --ink: #1b1f24; --muted: #5b6470; --rule: #d9dde3; --soft: #f4f6f9; --accent: #0072B2; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; color: var(--ink); background: #fff; font-size: 14px; line-height: 1.5;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans", sans-serif; }
.report-header { background: #0b3a5b; color: #fff; padding: 26px 0 20px; }
.wrap { max-width: 1120px; margin: 0 auto; padding: 0 32px; }
.kicker { text-transform: uppercase; letter-spacing: .09em; font-size: 12px; opacity: .8; }
h1 { font-size: 26px; line-height: 1.25; margin: 6px 0 8px; font-weight: 650; }
.report-header .sub { margin: 0; opacity: .92; }
nav.toc { background: var(--soft); border-bottom: 1px solid var(--rule); font-size: 13px; }
nav.toc ol { list-style: none; margin: 0 auto; padding: 8px 32px; max-width: 1120px; display: flex; flex-wrap: wrap; gap: 4px 18px; }
nav.toc a { color: var(--accent); text-decoration: none; }
main { padding-bottom: 40px; }
section { margin-top: 30px; }
h2 { font-size: 20px; margin: 0 0 12px; padding-bottom: 4px; border-bottom: 2px solid var(--ink); }
h3 { font-size: 15px; margin: 20px 0 8px; }
p { margin: 8px 0; max-width: 920px; }
a { color: var(--accent); }
code, .hash { font-family: "DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace; font-size: 12.5px; word-break: break-all; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
.meta-grid { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 32px; align-items: start; }
table.meta { width: 100%; font-size: 13px; }
table.meta caption { text-align: left; font-weight: 600; font-size: 14px; padding-bottom: 4px; }
table.meta th { text-align: left; font-weight: 500; color: var(--muted); padding: 4px 12px 4px 0; vertical-align: top; width: 38%; border-bottom: 1px solid var(--rule); }
table.meta td { padding: 4px 0; vertical-align: top; border-bottom: 1px solid var(--rule); }
table.data { width: 100%; font-size: 12.5px; margin: 6px 0 4px; }
table.data caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
table.data th, table.data td { padding: 5px 7px; border-bottom: 1px solid var(--rule); text-align: right; white-space: nowrap; }
table.data th:first-child, table.data td:first-child { text-align: left; white-space: normal; }
table.data thead th { border-bottom: 2px solid var(--ink); font-weight: 600; vertical-align: bottom; white-space: normal; }
table.data th.text { text-align: left; }
table.data.auto { width: auto; min-width: 66%; }
table.data tbody tr:nth-child(even) { background: var(--soft); }
table.data tr.total td { font-weight: 650; border-top: 2px solid var(--ink); background: #fff; }
table.data td.text { text-align: left; white-space: normal; }
.iv { white-space: nowrap; }
.swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; border-radius: 2px; vertical-align: baseline; }
.note { font-size: 12.5px; color: var(--muted); }
.na { color: var(--muted); font-style: italic; background: var(--soft); border-left: 3px solid #aab2bd; padding: 8px 12px; max-width: 920px; }
.tiles { display: grid; grid-template-columns: repeat(5, 1fr); gap: 12px; margin: 10px 0 14px; }
.tile { border: 1px solid var(--rule); border-top: 3px solid var(--accent); border-radius: 4px; padding: 8px 12px; }
.tile .label { font-size: 11.5px; color: var(--muted); text-transform: uppercase; letter-spacing: .05em; }
.tile .value { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; }
.tile .ci { font-size: 12.5px; color: var(--muted); }
.summary p { font-size: 15px; }
figure { margin: 10px 0 6px; }
figcaption { font-size: 12.5px; color: var(--muted); max-width: 860px; margin-top: 4px; }
svg.figure { max-width: 100%; height: auto; display: block; }
.matrices { display: flex; flex-wrap: wrap; gap: 16px 22px; }
table.matrix { font-size: 12.5px; }
table.matrix caption { text-align: left; font-weight: 600; padding-bottom: 4px; max-width: 340px; }
table.matrix th { font-weight: 500; color: var(--muted); padding: 3px 6px; font-size: 11.5px; }
table.matrix td { text-align: center; border: 2px solid #fff; padding: 4px 6px; }
table.two td { width: 76px; height: 52px; }
table.two td b { font-size: 17px; display: block; }
table.two th[scope=row] { max-width: 92px; text-align: right; }
table.isup td { width: 44px; height: 32px; }
table.isup td.rowtotal { color: var(--muted); background: #fff; }
.status { font-weight: 600; white-space: nowrap; }
#checklist-table td:nth-child(2) { white-space: nowrap; }
.status.answered { color: #00704f; }
.status.partial { color: #8a5a00; }
.status.external { color: #6b6f76; }
footer { margin-top: 36px; padding-top: 10px; border-top: 1px solid var(--rule); font-size: 12px; color: var(--muted); }
@page { size: A4; margin: 14mm; }
@media print {
  body { font-size: 11px; }
  .report-header { background: #fff; color: #000; border-bottom: 2px solid #000; padding: 0 0 8px; }
  .wrap { padding: 0; max-width: none; }
  nav.toc { display: none; }
  h2 { break-after: avoid; }
  figure, table.meta, table.matrix, .tiles { break-inside: avoid; }
  .summary p { font-size: 12px; }
  .tile .value { font-size: 18px; }
  table.data { font-size: 9.5px; }
  table.data th, table.data td { padding: 3px 4px; white-space: normal; }
  table.data tr { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
)CSS";

std::string na_note(const std::string& what) { return "<p class=\"na\">" + what + ": not available.</p>"; }

std::string th(const std::string& escaped) { return "<th>" + escaped + "</th>"; }
std::string th_text(const std::string& escaped) { return "<th class=\"text\">" + escaped + "</th>"; }
std::string td(const std::string& escaped) { return "<td>" + escaped + "</td>"; }

std::string swatch(std::size_t index) {
  return "<span class=\"swatch\" style=\"background:" + centre_style(index).colour + "\"></span>";
}

std::string count_text(std::int64_t n) { return std::to_string(n); }

// A table cell's estimate: the interval kept on one line, so that a narrow (printed) table may
// break between the estimate and its interval but never inside the interval.
std::string estimate_cell(const Estimate& value) {
  const std::string range = interval_text(value.ci_low, value.ci_high);
  if (!value.estimate || range.empty()) return td(escape(estimate_text(value)));
  return td(escape(fixed(*value.estimate, 2)) + " <span class=\"iv\">(" + escape(range) + ")</span>");
}

std::string model_description(const ReportData& r) {
  if (r.has_model && (r.model_name || r.model_version)) {
    std::string text = r.model_name.value_or("model");
    if (r.model_version) text += " " + *r.model_version;
    return text;
  }
  return "imported predictions";
}

std::string threshold_how(const ReportData& r) {
  if (!r.threshold_source) return "how it was chosen is not recorded";
  if (*r.threshold_source == "fixed") return "fixed before the analysis";
  if (*r.threshold_source == "development-centre") {
    std::string text = "derived on the development centre";
    if (r.development_centre) text += " " + *r.development_centre;
    if (r.target_sensitivity) text += " for a target sensitivity of " + fixed(*r.target_sensitivity, 2);
    return text;
  }
  return "source: " + *r.threshold_source;
}

// --- 1. Header and study record -------------------------------------------------------------

void write_header(const ReportData& r, const Context& ctx, std::string& out) {
  out += "<header class=\"report-header\"><div class=\"wrap\">";
  out += "<div class=\"kicker\">mcval &middot; multi-centre validation report</div>";
  out += "<h1>Validation of " + escape(model_description(r));
  if (r.dataset_name) out += " on " + escape(*r.dataset_name);
  out += "</h1><p class=\"sub\">" + std::to_string(r.centres.size()) +
         (r.centres.size() == 1 ? " centre" : " centres") + " &middot; " + count_text(r.pooled.n) + " " +
         escape(ctx.units) + " analysed, " + count_text(r.pooled.n_positive) + " positive";
  if (r.created_at) out += " &middot; created " + escape(*r.created_at);
  out += " &middot; mcval " + escape(r.version) + "</p></div></header>";

  out += "<nav class=\"toc\" aria-label=\"Contents\"><ol>";
  const std::pair<const char*, const char*> entries[] = {{"study", "1 Study record"},
                                                         {"summary", "2 Summary"},
                                                         {"centres", "3 Results by centre"},
                                                         {"roc", "4 ROC curves"},
                                                         {"forest", "5 Forest plot"},
                                                         {"calibration", "6 Calibration"},
                                                         {"utility", "7 Clinical utility"},
                                                         {"confusion", "8 Confusion matrices"},
                                                         {"flow", "9 Flow"},
                                                         {"patient-level", "10 Patient level"},
                                                         {"misclassified", "11 Misclassified"},
                                                         {"checklist", "12 Reporting checklist"}};
  for (const auto& [id, label] : entries) out += std::string("<li><a href=\"#") + id + "\">" + label + "</a></li>";
  out += "</ol></nav>";
}

void meta_row(std::string& out, const std::string& label, const std::string& escaped_value) {
  out += "<tr><th scope=\"row\">" + label + "</th><td>" + escaped_value + "</td></tr>";
}

std::string hash_or_na(const std::optional<std::string>& hash) {
  return hash && !hash->empty() ? "<span class=\"hash\">" + escape(*hash) + "</span>"
                                : "<span class=\"note\">not available</span>";
}

void write_federated(const ReportData& r, std::string& out) {
  const Federated& f = r.federated;
  out += "<h3>Federated combination</h3><p>";
  out += "This report was combined from " + std::to_string(f.sources.size()) + " centre summaries" +
         (f.note ? " (" + escape(*f.note) + ")." : std::string(" of aggregates."));
  if (f.histogram_auc) {
    out += " The pooled AUC from the shared score histograms";
    if (f.histogram_bins) out += " (" + std::to_string(*f.histogram_bins) + " bins)";
    out += " is " + escape(fixed(*f.histogram_auc, 4));
    if (f.histogram_auc_error_bound) {
      out += ", within &plusmn;" + escape(trimmed(*f.histogram_auc_error_bound, 6)) +
             " of the AUC computed from the individual scores";
    }
    out += ".";
  }
  out += "</p>";
  if (f.sources.empty()) return;
  out +=
      "<table class=\"data\" id=\"federated-sources\"><caption>Which centre sent which summary</caption><thead><tr>"
      "<th>Centres</th><th class=\"text\">Summary SHA-256</th><th class=\"text\">Dataset SHA-256</th>"
      "<th class=\"text\">Predictions SHA-256</th><th class=\"text\">Created</th><th class=\"text\">mcval</th>"
      "</tr></thead><tbody>";
  for (const FederatedSource& source : f.sources) {
    std::string centres;
    for (std::size_t i = 0; i < source.centres.size(); ++i) centres += (i > 0 ? ", " : "") + escape(source.centres[i]);
    out += "<tr><td>" + centres + "</td><td class=\"text hash\">" + escape(source.content_sha256) +
           "</td><td class=\"text hash\">" + escape(source.dataset_sha256) + "</td><td class=\"text hash\">" +
           escape(source.predictions_sha256) + "</td><td class=\"text\">" + escape(source.created_at) +
           "</td><td class=\"text\">" + escape(source.version) + "</td></tr>";
  }
  out += "</tbody></table>";
}

void write_study_record(const ReportData& r, const Context& ctx, std::string& out) {
  out += "<section id=\"study\"><h2>1. Study record</h2><div class=\"meta-grid\">";

  out += "<table class=\"meta\" id=\"provenance\"><caption>What was validated</caption><tbody>";
  if (r.has_model) {
    std::string model = r.model_name ? escape(*r.model_name) : "unnamed model";
    if (r.model_version) model += ", version " + escape(*r.model_version);
    meta_row(out, "Model", model);
  } else {
    meta_row(out, "Model", "predictions imported (the model was run outside mcval)");
  }
  meta_row(out, "Model SHA-256", hash_or_na(r.model_sha256));
  std::string dataset = r.dataset_name ? escape(*r.dataset_name) : "<span class=\"note\">name not available</span>";
  if (r.dataset_rows) dataset += " (" + std::to_string(*r.dataset_rows) + " rows)";
  meta_row(out, "Dataset", dataset);
  meta_row(out, "Dataset SHA-256", hash_or_na(r.dataset_sha256));
  if (r.has_predictions) {
    std::string predictions = r.predictions_source ? escape(*r.predictions_source) : "source not recorded";
    if (r.predictions_rows) predictions += " (" + std::to_string(*r.predictions_rows) + " rows)";
    meta_row(out, "Predictions", predictions);
    meta_row(out, "Predictions SHA-256", hash_or_na(r.predictions_sha256));
  } else {
    meta_row(out, "Predictions", "<span class=\"note\">not available</span>");
  }
  meta_row(out, "mcval version", escape(r.version));
  meta_row(out, "Report format", "<code>" + escape(r.format) + "</code>");
  meta_row(out, "Created", r.created_at ? escape(*r.created_at) : "<span class=\"note\">not available</span>");
  meta_row(out, "Bootstrap seed", r.seed ? escape(*r.seed) : "<span class=\"note\">not available</span>");
  out += "</tbody></table>";

  out += "<table class=\"meta\" id=\"parameters\"><caption>Parameters</caption><tbody>";
  meta_row(out, "Decision threshold",
           "score &ge; <b>" + escape(trimmed(r.threshold)) + "</b> is positive; " + escape(threshold_how(r)));
  if (r.has_parameters) {
    meta_row(out, "Unit of analysis", escape(ctx.unit));
    meta_row(out, "Patient aggregation",
             r.patient_aggregation ? "patient score = " + escape(*r.patient_aggregation) + " of its slide scores"
                                   : "<span class=\"note\">not available</span>");
    meta_row(out, "Confidence level", escape(ctx.ci_label.substr(0, ctx.ci_label.size() - 3)));
    meta_row(out, "Bootstrap replicates",
             r.bootstrap_replicates && *r.bootstrap_replicates == 0 ? "none (no bootstrap)"
                                                                    : escape(count_or_na(r.bootstrap_replicates)));
    meta_row(out, "ECE bins", escape(count_or_na(r.ece_bins)));
    std::string target = "<span class=\"note\">none set</span>";
    if (r.target_sensitivity) {
      target = escape(fixed(*r.target_sensitivity, 2)) + " (the threshold was derived for it)";
    } else if (r.reported_target_sensitivity) {
      target = escape(fixed(*r.reported_target_sensitivity, 2)) +
               " (reported only: the threshold each centre would need for it)";
    }
    meta_row(out, "Target sensitivity", target);
  } else {
    meta_row(out, "Other parameters", "<span class=\"note\">not available in report.json</span>");
  }
  out += "</tbody></table></div>";

  if (r.has_federated) write_federated(r, out);

  std::string boot_method;
  for (const NamedStats& c : r.centres) {
    if (!c.stats.auc_bootstrap_method.empty()) boot_method = c.stats.auc_bootstrap_method;
  }
  if (!r.pooled.auc_bootstrap_method.empty()) boot_method = r.pooled.auc_bootstrap_method;

  out += "<h3>Statistical methods</h3><p class=\"methods\">";
  out += "Discrimination is the area under the ROC curve (AUC, Mann&ndash;Whitney) with DeLong " +
         escape(ctx.ci_label) + "s";
  const bool bootstrapped = r.bootstrap_replicates ? *r.bootstrap_replicates > 0 : !boot_method.empty();
  if (bootstrapped) {
    out += " and bootstrap intervals (" + escape(boot_method.empty() ? "bootstrap" : boot_method);
    if (r.bootstrap_replicates) out += ", " + std::to_string(*r.bootstrap_replicates) + " replicates";
    if (r.seed) out += ", seed " + escape(*r.seed);
    out += ")";
  }
  out += ". Sensitivity, specificity, PPV and NPV are computed at the decision threshold (a " + escape(ctx.unit) +
         " is called positive when its score is &ge; " + escape(trimmed(r.threshold)) +
         ") with Wilson score intervals. Calibration is described by the Brier score, the expected calibration "
         "error (ECE";
  if (r.ece_bins) out += ", " + std::to_string(*r.ece_bins) + " bins";
  out +=
      "), the calibration slope and the calibration intercept (calibration-in-the-large). Between-centre "
      "heterogeneity is summarised by Cochran&rsquo;s Q, I&sup2; and the DerSimonian&ndash;Laird &tau;&sup2;; "
      "fixed- and random-effects pooled AUCs are estimated on the logit scale, with a prediction interval "
      "for the AUC at a new centre. The plain pooled AUC treats all analysed " +
      escape(ctx.units) + " as one sample; both are reported.</p></section>";
}

// --- 2. Summary -----------------------------------------------------------------------------

void tile(std::string& out, const std::string& label, const std::string& value, const std::string& detail) {
  out += "<div class=\"tile\"><div class=\"label\">" + label + "</div><div class=\"value\">" + value +
         "</div><div class=\"ci\">" + detail + "</div></div>";
}

void write_summary(const ReportData& r, const Context& ctx, std::string& out) {
  const CentreStats& p = r.pooled;
  const Heterogeneity& het = r.heterogeneity;
  out += "<section id=\"summary\" class=\"summary\"><h2>2. Summary</h2><div class=\"tiles\">";
  const auto ci_of = [&](const Estimate& e) {
    const std::string range = interval_text(e.ci_low, e.ci_high);
    return range.empty() ? std::string("&nbsp;") : escape(ctx.ci_label + " " + range);
  };
  tile(out, "Pooled AUC", escape(fixed_or_na(p.auc.estimate, 2)), ci_of(p.auc));
  tile(out, "Sensitivity", escape(fixed_or_na(p.sensitivity.estimate, 2)), ci_of(p.sensitivity));
  tile(out, "Specificity", escape(fixed_or_na(p.specificity.estimate, 2)), ci_of(p.specificity));
  const std::string pi = interval_text(het.prediction_low, het.prediction_high);
  tile(out, "Random-effects AUC", escape(fixed_or_na(het.random_effects.estimate, 2)),
       pi.empty() ? ci_of(het.random_effects) : escape("prediction interval " + pi));
  tile(out, "Heterogeneity I&sup2;", het.i2 ? escape(percent(*het.i2)) : "n/a",
       het.i2 ? (*het.i2 > 0.5 ? "substantial (&gt; 50&nbsp;%)" : "not substantial (&le; 50&nbsp;%)") : "&nbsp;");
  if (p.decision_curve && p.decision_curve->at_threshold_model) {
    const DecisionCurveData& d = *p.decision_curve;
    std::string detail = "treat all " + fixed_or_na(d.at_threshold_treat_all, 3);
    if (d.at_threshold_low && d.at_threshold_high) {
      detail = ctx.ci_label + " " + fixed(*d.at_threshold_low, 3) + "\xE2\x80\x93" + fixed(*d.at_threshold_high, 3) +
               "; " + detail;
    }
    tile(out, "Net benefit at " + escape(trimmed(r.threshold)), escape(fixed(*d.at_threshold_model, 3)), escape(detail));
  }
  out += "</div>";

  std::string text = "<p>This report validates " + escape(model_description(r)) + " on " + count_text(p.n) + " " +
                     escape(ctx.units) + " (" + count_text(p.n_positive) + " positive) from " +
                     std::to_string(r.centres.size()) + (r.centres.size() == 1 ? " centre" : " centres");
  if (r.dataset_name) text += " of the dataset " + escape(*r.dataset_name);
  text += ". ";
  if (p.auc.estimate) {
    text += "Over all analysed " + escape(ctx.units) + " together, the AUC was <b>" +
            escape(fixed(*p.auc.estimate, 2)) + "</b>";
    const std::string range = interval_text(p.auc.ci_low, p.auc.ci_high);
    if (!range.empty()) text += " (" + escape(ctx.ci_label + " " + range) + ")";
    text += ". ";
  } else {
    text += "The pooled AUC is not available. ";
  }
  if (p.sensitivity.estimate && p.specificity.estimate) {
    text += "At the decision threshold of " + escape(trimmed(r.threshold)) + " (" + escape(threshold_how(r)) +
            "), sensitivity was <b>" + escape(estimate_text(p.sensitivity)) + "</b> and specificity <b>" +
            escape(estimate_text(p.specificity)) + "</b>: the model called " +
            escape(percent(*p.sensitivity.estimate)) + " of positive " + escape(ctx.units) + " positive and " +
            escape(percent(*p.specificity.estimate)) + " of negative " + escape(ctx.units) + " negative. ";
  }
  text += "</p>";

  // Centres.
  const NamedStats* lowest = nullptr;
  const NamedStats* highest = nullptr;
  for (const NamedStats& c : r.centres) {
    if (!c.stats.auc.estimate) continue;
    if (lowest == nullptr || *c.stats.auc.estimate < *lowest->stats.auc.estimate) lowest = &c;
    if (highest == nullptr || *c.stats.auc.estimate > *highest->stats.auc.estimate) highest = &c;
  }
  text += "<p>";
  if (lowest != nullptr && highest != nullptr && lowest != highest) {
    text += "By centre, the AUC ranged from <b>" + escape(estimate_text(lowest->stats.auc)) + "</b> at " +
            escape(lowest->centre) + " (the lowest) to " + escape(estimate_text(highest->stats.auc)) + " at " +
            escape(highest->centre) + ". ";
  } else if (lowest != nullptr) {
    text += "The AUC at " + escape(lowest->centre) + " was " + escape(estimate_text(lowest->stats.auc)) + ". ";
  }
  if (het.i2) {
    if (*het.i2 > 0.5) {
      text += "Between-centre heterogeneity is <b>substantial</b> (I&sup2; = " + escape(percent(*het.i2));
      if (het.p) text += ", Cochran&rsquo;s Q test " + escape(p_text(*het.p));
      text += "): the model&rsquo;s discrimination differs between centres by more than chance alone explains. ";
    } else {
      text += "Between-centre heterogeneity is <b>not substantial</b> (I&sup2; = " + escape(percent(*het.i2));
      if (het.p) text += ", Cochran&rsquo;s Q test " + escape(p_text(*het.p));
      text += ", at or below 50&nbsp;%). ";
    }
  } else {
    text += "Between-centre heterogeneity (I&sup2;) is not available. ";
  }
  if (het.random_effects.estimate) {
    text += "The random-effects pooled AUC is <b>" + escape(estimate_text(het.random_effects)) + "</b>";
    if (!pi.empty()) {
      text += "; at a new centre like these, the AUC is expected to lie between " +
              escape(fixed(*het.prediction_low, 2)) + " and " + escape(fixed(*het.prediction_high, 2)) +
              " (prediction interval";
      if (het.k && *het.k < 5) {
        text += "; with only " + std::to_string(*het.k) + " centres this interval is necessarily wide";
      }
      text += ")";
    } else {
      text += "; a prediction interval is not available";
    }
    text += ". ";
  }
  if (r.has_federated && r.federated.histogram_auc && r.federated.histogram_auc_error_bound) {
    text += "Computed from the centres&rsquo; shared histograms alone, the pooled AUC is " +
            escape(fixed(*r.federated.histogram_auc, 3)) + " (error bound &plusmn;" +
            escape(trimmed(*r.federated.histogram_auc_error_bound, 6)) + "). ";
  }
  if (p.qwk.estimate) {
    text += "For ISUP grade groups, the quadratic weighted kappa was " + escape(estimate_text(p.qwk)) + ". ";
  }
  if (p.brier || p.calibration_slope) {
    text += "Calibration over all " + escape(ctx.units) + ":";
    if (p.brier) text += " Brier score " + escape(fixed(*p.brier, 3));
    if (p.ece) text += ", ECE " + escape(fixed(*p.ece, 3));
    if (p.calibration_slope) text += ", slope " + escape(fixed(*p.calibration_slope, 2)) + " (ideal 1)";
    if (p.calibration_intercept) text += ", intercept " + escape(fixed(*p.calibration_intercept, 2)) + " (ideal 0)";
    text += ". ";
  }
  text += "</p>";
  if (r.threshold_source && *r.threshold_source == "development-centre" && r.development_centre) {
    text += "<p class=\"note\">The threshold was derived on " + escape(*r.development_centre) +
            "; results at the threshold for that centre are not an independent validation.</p>";
  }
  out += text + "</section>";
}

// --- 3. and 9. Tables of statistics -----------------------------------------------------------

struct Row {
  std::string name;
  const CentreStats* stats;
  std::optional<std::size_t> colour;  // centre index; none for the pooled row
};

std::vector<Row> table_rows(const std::vector<NamedStats>& centres, const CentreStats& pooled) {
  std::vector<Row> rows;
  for (std::size_t i = 0; i < centres.size(); ++i) rows.push_back(Row{centres[i].centre, &centres[i].stats, i});
  rows.push_back(Row{kPooledName, &pooled, std::nullopt});
  return rows;
}

std::string row_open(const Row& row) {
  std::string html = row.colour ? "<tr data-centre=\"" + escape(row.name) + "\">" : "<tr class=\"total\">";
  html += "<td>" + (row.colour ? swatch(*row.colour) : std::string()) + escape(row.name) + "</td>";
  return html;
}

void write_stats_tables(const std::vector<NamedStats>& centres, const CentreStats& pooled, const Context& ctx,
                        const std::string& id, std::string& out) {
  const std::vector<Row> rows = table_rows(centres, pooled);
  bool any_qwk = false;
  for (const Row& row : rows) any_qwk = any_qwk || row.stats->qwk.estimate.has_value();
  // One target for every row (the usual case) goes into the column header.
  std::optional<double> common_target;
  bool one_target = true;
  for (const Row& row : rows) {
    const auto& target = row.stats->target_sensitivity;
    if (!target) continue;
    if (common_target && *common_target != *target) one_target = false;
    common_target = target;
  }
  one_target = one_target && common_target.has_value();
  const std::string target_header =
      one_target ? "Threshold for sensitivity " + fixed(*common_target, 2) : "Threshold for target sensitivity";

  out += "<table class=\"data\" id=\"" + id +
         "-discrimination\"><caption>Discrimination and accuracy at the "
         "threshold (" +
         escape(ctx.ci_label) + ")</caption><thead><tr>" + th("Centre") + th("n") + th("Positive") + th("AUC") +
         th("Sensitivity") + th("Specificity") + th("PPV") + th("NPV") + th(escape(target_header)) +
         "</tr></thead><tbody>";
  for (const Row& row : rows) {
    const CentreStats& s = *row.stats;
    std::string target = "n/a";
    if (s.threshold_for_target) {
      target = fixed(*s.threshold_for_target, 3);
      if (s.target_sensitivity && !one_target) target += " (for " + fixed(*s.target_sensitivity, 2) + ")";
    }
    out += row_open(row) + td(count_text(s.n)) + td(count_text(s.n_positive)) + estimate_cell(s.auc) +
           estimate_cell(s.sensitivity) + estimate_cell(s.specificity) + estimate_cell(s.ppv) + estimate_cell(s.npv) +
           td(escape(target)) + "</tr>";
  }
  out += "</tbody></table>";

  out += "<table class=\"data\" id=\"" + id + "-calibration\"><caption>Bootstrap interval, calibration" +
         std::string(any_qwk ? " and grade agreement" : "") + "</caption><thead><tr>" + th("Centre") +
         th("AUC bootstrap interval") + th("Brier") + th("ECE") + th("Calibration slope") +
         th("Calibration intercept") + (any_qwk ? th("QWK (ISUP)") : "") + "</tr></thead><tbody>";
  for (const Row& row : rows) {
    const CentreStats& s = *row.stats;
    const std::string boot = interval_text(s.auc_bootstrap_low, s.auc_bootstrap_high);
    out += row_open(row) + td(boot.empty() ? "n/a" : escape(boot)) + td(escape(fixed_or_na(s.brier, 3))) +
           td(escape(fixed_or_na(s.ece, 3))) + td(escape(fixed_or_na(s.calibration_slope, 2))) +
           td(escape(fixed_or_na(s.calibration_intercept, 2))) + (any_qwk ? estimate_cell(s.qwk) : "") + "</tr>";
  }
  out += "</tbody></table>";
  if (!any_qwk) out += "<p class=\"note\">Quadratic weighted kappa: not available (no ISUP grades given).</p>";
}

void write_centre_results(const ReportData& r, const Context& ctx, std::string& out) {
  out += "<section id=\"centres\"><h2>3. Results by centre</h2>";
  write_stats_tables(r.centres, r.pooled, ctx, "centre", out);
  out += "<p class=\"note\">Intervals are " + escape(ctx.ci_label) +
         "s: DeLong for the AUC, Wilson for proportions. PPV and NPV depend on the prevalence at each "
         "centre. The last column is the threshold each centre would have needed to reach the target "
         "sensitivity, for comparison with the threshold applied. The pooled row treats all analysed " +
         escape(ctx.units) + " as one sample.</p></section>";
}

// --- 4.-6. Figures ----------------------------------------------------------------------------

void write_roc(const ReportData& r, std::string& out) {
  out += "<section id=\"roc\"><h2>4. ROC curves</h2>";
  bool any = !r.pooled.roc.empty();
  for (const NamedStats& c : r.centres) any = any || !c.stats.roc.empty();
  if (!any) {
    out += na_note("ROC curve points") + "</section>";
    return;
  }
  out += "<figure>" + roc_svg(r) +
         "<figcaption>ROC curve of each centre and of all centres pooled (black). The dashed diagonal is "
         "chance; dots mark the operating point at the decision threshold " +
         escape(trimmed(r.threshold)) + ".</figcaption></figure></section>";
}

void write_subgroups(const ReportData& r, const Context& ctx, std::string& out) {
  out += "<div id=\"subgroups\"><h3>Subgroups</h3>";
  if (r.subgroups.empty()) {
    out += na_note("Subgroup results") + "</div>";
    return;
  }
  for (const SubgroupVariable& v : r.subgroups) {
    out += "<figure>" + subgroup_forest_svg(v, ctx.ci_label) + "<figcaption>AUC by " + escape(v.name) + " with its " +
           escape(ctx.ci_label) + " (DeLong), across all centres and within each centre. Hollow squares: small "
           "subgroups, too imprecise to read.";
    if (v.not_given > 0) out += " " + std::to_string(v.not_given) + " " + escape(ctx.units) + " without a value are left out.";
    out += "</figcaption></figure>";
    out += "<table class=\"subgroup-table\" id=\"subgroup-" + escape(v.name) + "\"><thead><tr><th>Centre</th><th>" +
           escape(v.name) + "</th><th>n (positive)</th><th>AUC</th><th>Sensitivity</th><th>Specificity</th></tr>"
           "</thead><tbody>";
    for (const SubgroupRow& row : v.rows) {
      out += "<tr" + std::string(row.small ? " class=\"small\"" : "") + "><td>" +
             escape(row.scope.empty() ? "All centres" : row.scope) + "</td><td>" + escape(row.level) +
             (row.small ? " <span class=\"note\">(small)</span>" : "") + "</td><td>" + std::to_string(row.n) + " (" +
             std::to_string(row.n_positive) + ")</td><td>" + escape(estimate_text(row.auc)) + "</td><td>" +
             escape(estimate_text(row.sensitivity)) + "</td><td>" + escape(estimate_text(row.specificity)) + "</td></tr>";
    }
    out += "</tbody></table><ul class=\"subgroup-tests\">";
    for (const SubgroupTest& t : v.tests) {
      out += "<li>" + escape(t.scope.empty() ? "All centres" : t.scope) + ": ";
      if (t.method && t.p) {
        out += escape(*t.method) + ", statistic " + escape(fixed_or_na(t.statistic, 2)) +
               (t.df ? ", df " + escape(fixed(*t.df, 1)) : std::string()) + ", " + escape(p_text(*t.p));
      } else {
        out += "no test (fewer than two " + escape(v.name) + " levels with an AUC)";
      }
      out += "</li>";
    }
    out += "</ul>";
  }
  out += "</div>";
}

void write_forest(const ReportData& r, const Context& ctx, std::string& out) {
  out += "<section id=\"forest\"><h2>5. Forest plot and heterogeneity</h2>";
  bool any = r.heterogeneity.random_effects.estimate.has_value();
  for (const NamedStats& c : r.centres) any = any || c.stats.auc.estimate.has_value();
  if (!any) {
    out += na_note("Per-centre AUCs and meta-analysis") + "</section>";
    return;
  }
  const Heterogeneity& het = r.heterogeneity;
  out += "<figure>" + forest_svg(r, ctx.ci_label) + "<figcaption>AUC per centre with its " + escape(ctx.ci_label) +
         " (square area proportional to n). Diamonds: fixed- and random-effects pooled AUC (logit-scale "
         "meta-analysis); their width is the interval. The orange line is the prediction interval for the AUC "
         "at a new centre. The dashed line marks 0.5 (chance).</figcaption></figure>";
  out +=
      "<table class=\"meta\" id=\"heterogeneity\" style=\"max-width:560px\"><caption>Heterogeneity between "
      "centres</caption><tbody>";
  meta_row(out, "Centres (k)", escape(count_or_na(het.k)));
  meta_row(out, "Cochran&rsquo;s Q",
           escape(fixed_or_na(het.q, 2)) + (het.df ? " on " + std::to_string(*het.df) + " df" : std::string()) +
               (het.p ? ", " + escape(p_text(*het.p)) : std::string()));
  meta_row(out, "I&sup2;", het.i2 ? escape(percent(*het.i2)) : "n/a");
  meta_row(out, "&tau;&sup2; (logit scale)", escape(fixed_or_na(het.tau2, 4)));
  meta_row(out, "Fixed-effect AUC", escape(estimate_text(het.fixed_effect)));
  meta_row(out, "Random-effects AUC", escape(estimate_text(het.random_effects)));
  const std::string pi = interval_text(het.prediction_low, het.prediction_high);
  meta_row(out, "Prediction interval", pi.empty() ? "n/a" : escape(pi));
  out += "</tbody></table>";
  if (het.note) out += "<p class=\"note\">Meta-analysis not available: " + escape(*het.note) + ".</p>";
  if (!het.corrected_centres.empty()) {
    std::string names;
    for (const std::string& c : het.corrected_centres) names += (names.empty() ? "" : ", ") + escape(c);
    out += "<p class=\"note\" id=\"boundary-correction\">Centres at AUC 0 or 1 (" + names +
           ") have no logit and a DeLong variance of 0; they enter the meta-analysis by a " +
           escape(het.boundary_method.value_or("continuity correction")) + ".</p>";
  }
  write_subgroups(r, ctx, out);
  out += "</section>";
}

void write_calibration(const ReportData& r, std::string& out) {
  out += "<section id=\"calibration\"><h2>6. Calibration</h2>";
  bool any = false;
  for (const ReliabilityBin& bin : r.pooled.reliability) any = any || bin.count > 0;
  for (const NamedStats& c : r.centres) {
    for (const ReliabilityBin& bin : c.stats.reliability) any = any || bin.count > 0;
  }
  if (!any) {
    out += na_note("Reliability bins") + "</section>";
    return;
  }
  out += "<figure>" + calibration_svg(r) +
         "<figcaption>Reliability diagrams: observed proportion of positives against the mean predicted "
         "probability per score bin (marker area proportional to the bin&rsquo;s count); points on the dashed "
         "diagonal are perfectly calibrated. A slope below 1 means predictions are too extreme; an intercept "
         "below 0 means predicted probabilities are too high on average. The thick line is the smoothed "
         "calibration curve (lowess, as R rms::val.prob draws it) with its pointwise bootstrap band; ICI, E50 and "
         "E90 are the mean, median and 90th percentile of |predicted &minus; smoothed| over the slides (Austin "
         "and Steyerberg 2019).</figcaption></figure></section>";
}

// --- 7. Confusion matrices ------------------------------------------------------------------

// Inline style of a matrix cell: white mixed with `rgb` by `fraction`, with readable text.
std::string shade(const int (&rgb)[3], double fraction) {
  const double f = std::clamp(fraction, 0.0, 1.0) * 0.88;
  const auto mix = [&](int channel) { return static_cast<int>(std::lround(255.0 + (channel - 255.0) * f)); };
  const int red = mix(rgb[0]), green = mix(rgb[1]), blue = mix(rgb[2]);
  // WCAG relative luminance decides between dark and white text.
  const auto linear = [](int channel) {
    const double c = channel / 255.0;
    return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
  };
  const double luminance = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue);
  char colour[8];
  std::snprintf(colour, sizeof colour, "#%02x%02x%02x", red, green, blue);
  return std::string(" style=\"background:") + colour + ";color:" + (luminance < 0.18 ? "#fff" : "#1b1f24") + "\"";
}

constexpr int kCorrectRgb[3] = {0, 114, 178};
constexpr int kErrorRgb[3] = {213, 94, 0};

double ratio(std::int64_t part, std::int64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

std::string two_by_two(const Row& row, double threshold) {
  const CentreStats& s = *row.stats;
  std::string html = "<table class=\"matrix two\" data-centre=\"" + escape(row.name) + "\"><caption>" +
                     (row.colour ? swatch(*row.colour) : std::string()) + escape(row.name) + "</caption>";
  if (!s.confusion) return html + "<tbody><tr><td class=\"na\">not available</td></tr></tbody></table>";
  const Confusion& c = *s.confusion;
  const std::int64_t positives = c.tp + c.fn;
  const std::int64_t negatives = c.fp + c.tn;
  const auto cell = [&](std::int64_t count, std::int64_t whole, const int(&rgb)[3], const char* name,
                        const std::string& of) {
    return "<td" + shade(rgb, ratio(count, whole)) + " title=\"" + name + ": " +
           (whole > 0 ? escape(percent(ratio(count, whole))) : std::string("n/a")) + " of reference " + of + "\"><b>" +
           std::to_string(count) + "</b>" + name + " &middot; " +
           (whole > 0 ? escape(percent(ratio(count, whole))) : std::string("n/a")) + "</td>";
  };
  html += "<thead><tr><th></th><th>Reference positive</th><th>Reference negative</th></tr></thead><tbody>";
  html += "<tr><th scope=\"row\">Model positive<br>(score &ge; " + escape(trimmed(threshold)) + ")</th>" +
          cell(c.tp, positives, kCorrectRgb, "TP", "positives") + cell(c.fp, negatives, kErrorRgb, "FP", "negatives") +
          "</tr>";
  html += "<tr><th scope=\"row\">Model negative</th>" + cell(c.fn, positives, kErrorRgb, "FN", "positives") +
          cell(c.tn, negatives, kCorrectRgb, "TN", "negatives") + "</tr>";
  html += "</tbody></table>";
  return html;
}

std::string isup_matrix(const Row& row) {
  const auto& m = row.stats->isup_confusion;
  std::string html = "<table class=\"matrix isup\" data-centre=\"" + escape(row.name) + "\"><caption>" +
                     (row.colour ? swatch(*row.colour) : std::string()) + escape(row.name);
  if (row.stats->qwk.estimate) html += " &middot; QWK " + escape(estimate_text(row.stats->qwk));
  html += "</caption><thead><tr><th>Reference \\ predicted</th>";
  for (std::size_t c = 0; c < m.size(); ++c) html += "<th>" + std::to_string(c) + "</th>";
  html += "<th>Total</th></tr></thead><tbody>";
  for (std::size_t r = 0; r < m.size(); ++r) {
    std::int64_t total = 0;
    for (const std::int64_t v : m[r]) total += v;
    html += "<tr><th scope=\"row\">" + std::to_string(r) + (r == 0 ? " (benign)" : "") + "</th>";
    for (std::size_t c = 0; c < m[r].size(); ++c) {
      html += "<td" + shade(r == c ? kCorrectRgb : kErrorRgb, ratio(m[r][c], total)) + ">" + std::to_string(m[r][c]) +
              "</td>";
    }
    html += "<td class=\"rowtotal\">" + std::to_string(total) + "</td></tr>";
  }
  return html + "</tbody></table>";
}

void write_utility(const ReportData& r, std::string& out) {
  out += "<section id=\"utility\"><h2>7. Clinical utility (decision curves)</h2>";
  bool any = r.pooled.decision_curve && !r.pooled.decision_curve->points.empty();
  for (const NamedStats& c : r.centres) any = any || (c.stats.decision_curve && !c.stats.decision_curve->points.empty());
  if (!any) {
    out += na_note("Decision curves") + "</section>";
    return;
  }
  out += "<figure>" + decision_curve_svg(r) +
         "<figcaption>Net benefit (Vickers and Elkin 2006) = TP/n &minus; FP/n &middot; p<sub>t</sub>/(1 &minus; "
         "p<sub>t</sub>): true positives gained per case, with false positives weighed by the odds of the threshold "
         "probability p<sub>t</sub>. The model is worth using at a threshold where its curve lies above both "
         "treat all (grey) and treat none (0). Bands: pointwise bootstrap percentile intervals.</figcaption></figure>";
  out += "<table id=\"net-benefit\"><caption>Net benefit at the decision threshold " + escape(trimmed(r.threshold)) +
         "</caption><thead><tr><th>Centre</th><th>Model</th><th>Treat all</th><th>Treat none</th></tr></thead><tbody>";
  const auto row = [&](const std::string& name, const CentreStats& st, bool pooled) {
    out += std::string(pooled ? "<tr class=\"pooled\">" : "<tr>") + "<th scope=\"row\">" + escape(name) + "</th>";
    if (!st.decision_curve || !st.decision_curve->at_threshold_model) {
      out += "<td class=\"na\">n/a</td><td class=\"na\">n/a</td><td>0</td></tr>";
      return;
    }
    const DecisionCurveData& d = *st.decision_curve;
    std::string model = fixed(*d.at_threshold_model, 3);
    if (d.at_threshold_low && d.at_threshold_high) {
      model += " <span class=\"iv\">(" + fixed(*d.at_threshold_low, 3) + "\xE2\x80\x93" + fixed(*d.at_threshold_high, 3) +
               ")</span>";
    }
    out += "<td>" + model + "</td><td>" + escape(fixed_or_na(d.at_threshold_treat_all, 3)) + "</td><td>0</td></tr>";
  };
  for (const NamedStats& c : r.centres) row(c.centre, c.stats, false);
  row("All centres (pooled)", r.pooled, true);
  out += "</tbody></table></section>";
}

void write_confusion(const ReportData& r, const Context& ctx, std::string& out) {
  out += "<section id=\"confusion\"><h2>8. Confusion matrices</h2>";
  const std::vector<Row> rows = table_rows(r.centres, r.pooled);
  out += "<h3>At the decision threshold " + escape(trimmed(r.threshold)) + " (counts of " + escape(ctx.units) +
         ")</h3><div class=\"matrices\">";
  for (const Row& row : rows) out += two_by_two(row, r.threshold);
  out +=
      "</div><p class=\"note\">Blue cells are correct calls, orange cells errors. The percentage (and the "
      "shade) is the share of the reference column: TP and FN of the positives, FP and TN of the negatives.</p>";
  out += "<h3>ISUP grade groups</h3>";
  bool any = false;
  for (const Row& row : rows) any = any || !row.stats->isup_confusion.empty();
  if (!any) {
    out += na_note("ISUP grade confusion matrices (no grades given)");
  } else {
    out += "<div class=\"matrices\">";
    for (const Row& row : rows) {
      if (!row.stats->isup_confusion.empty()) out += isup_matrix(row);
    }
    out +=
        "</div><p class=\"note\">Rows: reference grade group; columns: predicted grade group (0 = benign). "
        "The shade is the share of the row.</p>";
  }
  out += "</section>";
}

// --- 8. Flow --------------------------------------------------------------------------------

void write_flow(const ReportData& r, const Context& ctx, std::string& out) {
  out += "<section id=\"flow\"><h2>9. Flow of " + escape(ctx.units) + "</h2>";
  if (r.flow.empty() && !r.flow_total) {
    out += na_note("Flow") + "</section>";
    return;
  }
  std::vector<std::string> reasons;
  const auto add_reasons = [&](const FlowRow& row) {
    for (const auto& [reason, count] : row.excluded) {
      if (std::find(reasons.begin(), reasons.end(), reason) == reasons.end()) reasons.push_back(reason);
    }
  };
  for (const FlowRow& row : r.flow) add_reasons(row);
  if (r.flow_total) add_reasons(*r.flow_total);
  std::sort(reasons.begin(), reasons.end());

  // The total row: as written, or summed when the report has none.
  FlowRow total;
  if (r.flow_total) {
    total = *r.flow_total;
  } else {
    total.centre = "total";
    std::map<std::string, std::int64_t> excluded;
    std::int64_t received = 0, failed = 0, analysed = 0;
    bool complete = true;
    for (const FlowRow& row : r.flow) {
      complete = complete && row.received && row.failed_inference && row.analysed;
      received += row.received.value_or(0);
      failed += row.failed_inference.value_or(0);
      analysed += row.analysed.value_or(0);
      for (const auto& [reason, count] : row.excluded) excluded[reason] += count;
    }
    if (complete) {
      total.received = received;
      total.failed_inference = failed;
      total.analysed = analysed;
    }
    total.excluded.assign(excluded.begin(), excluded.end());
  }

  bool inconsistent = false;
  out += "<table class=\"data\" id=\"flow-table\"><caption>Received, excluded, failed and analysed " +
         escape(ctx.units) + " per centre</caption><thead><tr>" + th("Centre") + th("Received");
  for (const std::string& reason : reasons) out += th("Excluded: " + escape(reason));
  out += th("Excluded (all)") + th("Failed inference") + th("Analysed") + "</tr></thead><tbody>";
  const auto write_row = [&](const FlowRow& row, bool is_total) {
    std::int64_t excluded_all = 0;
    out += is_total ? "<tr class=\"total\"><td>Total</td>"
                    : "<tr data-centre=\"" + escape(row.centre) + "\"><td>" + escape(row.centre) + "</td>";
    out += td(count_or_na(row.received));
    for (const std::string& reason : reasons) {
      std::int64_t count = 0;
      for (const auto& [name, n] : row.excluded) {
        if (name == reason) count = n;
      }
      excluded_all += count;
      out += td(std::to_string(count));
    }
    out += td(std::to_string(excluded_all)) + td(count_or_na(row.failed_inference));
    std::string analysed = count_or_na(row.analysed);
    if (row.received && row.failed_inference && row.analysed &&
        *row.received - excluded_all - *row.failed_inference != *row.analysed) {
      analysed += " &dagger;";
      inconsistent = true;
    }
    out += td(analysed) + "</tr>";
  };
  for (const FlowRow& row : r.flow) write_row(row, false);
  write_row(total, true);
  out += "</tbody></table>";
  std::string failed_reasons;
  for (const FlowRow& row : r.flow) {
    if (row.failed.empty()) continue;
    failed_reasons += (failed_reasons.empty() ? "" : "; ") + escape(row.centre) + ": ";
    for (std::size_t i = 0; i < row.failed.size(); ++i) {
      failed_reasons += (i > 0 ? ", " : "") + escape(row.failed[i].first) + " " + std::to_string(row.failed[i].second);
    }
  }
  if (!failed_reasons.empty()) {
    out += "<p class=\"note\" id=\"failed-reasons\">Failed inference by reason: " + failed_reasons + ".</p>";
  }
  if (inconsistent) {
    out +=
        "<p class=\"note\">&dagger; received &minus; excluded &minus; failed inference does not equal analysed "
        "for this row; check the dataset and the inference run.</p>";
  }
  // Flow against the numbers analysed in the results.
  std::vector<std::string> mismatches;
  for (const FlowRow& row : r.flow) {
    for (const NamedStats& c : r.centres) {
      if (c.centre == row.centre && row.analysed && *row.analysed != c.stats.n) {
        mismatches.push_back(escape(row.centre) + " (flow " + std::to_string(*row.analysed) + ", results " +
                             std::to_string(c.stats.n) + ")");
      }
    }
  }
  if (!mismatches.empty()) {
    std::string list;
    for (std::size_t i = 0; i < mismatches.size(); ++i) list += (i > 0 ? "; " : "") + mismatches[i];
    out += "<p class=\"note\">The number analysed in the flow differs from n in the results for: " + list + ".</p>";
  }
  out +=
      "<p class=\"note\">Exclusions are those recorded in the dataset with their reasons; failed inference "
      "counts " +
      escape(ctx.units) + " for which no score was produced. Only analysed " + escape(ctx.units) +
      " enter the results.</p></section>";
}

// --- 9. Patient level -----------------------------------------------------------------------

void write_patient_level(const ReportData& r, const Context& ctx, std::string& out) {
  out += "<section id=\"patient-level\"><h2>10. Patient-level results</h2>";
  if (!r.has_patient_level) {
    out += na_note("Patient-level results") + "</section>";
    return;
  }
  out += "<p>Each patient counts once: the patient&rsquo;s score is the " +
         escape(r.patient_aggregation.value_or("(aggregation not recorded)")) +
         " of the scores of the patient&rsquo;s slides, and the same threshold applies.</p>";
  write_stats_tables(r.patient_centres, r.patient_pooled, ctx, "patient", out);
  out += "</section>";
}

// --- 10. Misclassified ----------------------------------------------------------------------

void write_misclassified(const ReportData& r, std::string& out) {
  out += "<section id=\"misclassified\"><h2>11. Misclassified slides</h2>";
  if (!r.has_misclassified) {
    out += na_note("The list of misclassified slides") + "</section>";
    return;
  }
  if (r.misclassified.empty()) {
    out += "<p>No slide was misclassified at the threshold.</p></section>";
    return;
  }
  const std::size_t shown = std::min(r.misclassified.size(), kMaxMisclassifiedRows);
  std::size_t linked = 0;
  for (std::size_t i = 0; i < shown; ++i) linked += is_site_relative_url(r.misclassified[i].viewer_url) ? 1 : 0;
  out += "<p>Slides on the wrong side of the threshold " + escape(trimmed(r.threshold)) + ". ";
  if (linked == shown) {
    out += "Each slide id opens the slide in the viewer with the model&rsquo;s heatmap.";
  } else if (linked > 0) {
    out +=
        "Linked slide ids open the slide in the viewer with the model&rsquo;s heatmap; the others have no "
        "viewer link.";
  } else {
    out += "Viewer links: not available for these slides.";
  }
  if (shown < r.misclassified.size()) {
    out += " <b>Showing the first " + std::to_string(shown) + " of " + std::to_string(r.misclassified.size()) +
           " misclassified slides</b>";
    if (r.per_slide_csv) out += "; all are listed in <code>" + escape(*r.per_slide_csv) + "</code>";
    out += ".";
  }
  out += "</p><table class=\"data auto\" id=\"misclassified-table\" data-rows=\"" + std::to_string(shown) +
         "\" data-total=\"" + std::to_string(r.misclassified.size()) + "\"><thead><tr>" + th("Centre") +
         th_text("Slide") + th_text("Patient") + th("Label") + th("Score") + th_text("Kind") + "</tr></thead><tbody>";
  for (std::size_t i = 0; i < shown; ++i) {
    const MisclassifiedSlide& m = r.misclassified[i];
    std::string slide;
    if (is_site_relative_url(m.viewer_url)) {
      slide += "<a href=\"";
      slide += escape(m.viewer_url);
      slide += "\">";
      slide += escape(m.slide_id);
      slide += "</a>";
    } else {
      slide = escape(m.slide_id);
    }
    std::string label = "n/a";
    if (m.label)
      label = std::to_string(*m.label) + (*m.label == 1 ? " (positive)" : *m.label == 0 ? " (negative)" : "");
    out += "<tr class=\"misclassified\"><td>" + escape(m.centre) + "</td><td class=\"text\">" + slide +
           "</td><td class=\"text\">" + escape(m.patient_id) + "</td>" + td(escape(label)) +
           td(escape(m.score ? fixed(*m.score, 3) : "n/a")) + "<td class=\"text\">" + escape(m.kind) + "</td></tr>";
  }
  out += "</tbody></table></section>";
}

// --- 11. Reporting checklist ----------------------------------------------------------------

enum class Coverage { answered, partial, external };

struct ChecklistItem {
  const char* guideline;
  const char* item;
  const char* topic;
  Coverage coverage;
  const char* where;  // trusted HTML
};

constexpr ChecklistItem kChecklist[] = {
    {"TRIPOD+AI", "5a", "Sources of data", Coverage::partial,
     "Dataset name and SHA-256: <a href=\"#study\">&sect;1</a>; centres: <a href=\"#centres\">&sect;3</a>, "
     "<a href=\"#flow\">&sect;9</a>. Representativeness: study protocol."},
    {"TRIPOD+AI", "5b", "Dates of data collection", Coverage::external, "Study protocol."},
    {"TRIPOD+AI", "6a", "Setting; number and location of centres", Coverage::partial,
     "Number of centres and cases per centre: <a href=\"#centres\">&sect;3</a>, <a href=\"#flow\">&sect;9</a>. "
     "Setting and location: study protocol."},
    {"TRIPOD+AI", "6b", "Eligibility criteria", Coverage::partial,
     "Exclusions by reason: <a href=\"#flow\">&sect;9</a>. The criteria themselves: study protocol."},
    {"TRIPOD+AI", "7", "Data preparation and quality checking", Coverage::partial,
     "Exclusions and failed inference per centre: <a href=\"#flow\">&sect;9</a>. Quality-control procedure: "
     "study protocol."},
    {"TRIPOD+AI", "8a", "Outcome: definition and assessment", Coverage::external,
     "Reference standard: study protocol. The outcome as analysed (binary label, ISUP grade group): "
     "<a href=\"#centres\">&sect;3</a>, <a href=\"#confusion\">&sect;8</a>."},
    {"TRIPOD+AI", "10", "Study size", Coverage::partial,
     "Cases and events per centre: <a href=\"#centres\">&sect;3</a>, <a href=\"#flow\">&sect;9</a>. "
     "Justification of the size: study protocol."},
    {"TRIPOD+AI", "11", "Missing data", Coverage::partial,
     "Failed inference and exclusions by reason: <a href=\"#flow\">&sect;9</a>; cases without a score are not "
     "analysed."},
    {"TRIPOD+AI", "12a", "How the data were used in the analysis", Coverage::answered,
     "Threshold source (fixed, or derived on a development centre) and unit of analysis: "
     "<a href=\"#study\">&sect;1</a>. The model is frozen; every analysed case is used for evaluation."},
    {"TRIPOD+AI", "12d", "Heterogeneity across clusters (centres)", Coverage::answered,
     "Cochran&rsquo;s Q, I&sup2;, &tau;&sup2;, random-effects AUC and prediction interval: "
     "<a href=\"#forest\">&sect;5</a>; methods: <a href=\"#study\">&sect;1</a>."},
    {"TRIPOD+AI", "12e", "Performance measures and plots", Coverage::answered,
     "Methods: <a href=\"#study\">&sect;1</a>; discrimination, accuracy and calibration: "
     "<a href=\"#centres\">&sect;3</a>, <a href=\"#roc\">&sect;4</a>, <a href=\"#calibration\">&sect;6</a>; "
     "clinical utility (decision curves): <a href=\"#utility\">&sect;7</a>."},
    {"TRIPOD+AI", "12g", "How predictions were calculated", Coverage::partial,
     "Model name, version and SHA-256, or the SHA-256 of the imported predictions: <a href=\"#study\">&sect;1</a>."},
    {"TRIPOD+AI", "14", "Fairness", Coverage::partial,
     "AUC, sensitivity and specificity by scanner and by specimen type, across and within centres, with a "
     "test of difference: <a href=\"#subgroups\">&sect;5</a>; other characteristics (age, sex, ethnicity): "
     "study protocol."},
    {"TRIPOD+AI", "15", "Model output and thresholds", Coverage::answered,
     "Threshold and how it was chosen: <a href=\"#study\">&sect;1</a>; the threshold each centre would need "
     "for the target sensitivity: <a href=\"#centres\">&sect;3</a>."},
    {"TRIPOD+AI", "18e", "Data availability", Coverage::external,
     "Study protocol; the dataset SHA-256 in <a href=\"#study\">&sect;1</a> identifies the data analysed."},
    {"TRIPOD+AI", "18f", "Analytical code availability", Coverage::partial,
     "mcval version and bootstrap seed: <a href=\"#study\">&sect;1</a>."},
    {"TRIPOD+AI", "20a", "Flow of participants; numbers with and without the outcome", Coverage::answered,
     "<a href=\"#flow\">&sect;9</a>; positives and negatives per centre: <a href=\"#centres\">&sect;3</a>."},
    {"TRIPOD+AI", "20b", "Characteristics per data source", Coverage::partial,
     "Cases and positives per centre: <a href=\"#centres\">&sect;3</a>; reference grade distribution: "
     "<a href=\"#confusion\">&sect;8</a>. Other characteristics: study protocol."},
    {"TRIPOD+AI", "21", "Participants and outcome events in each analysis", Coverage::answered,
     "<a href=\"#centres\">&sect;3</a> (unit of analysis), <a href=\"#patient-level\">&sect;10</a> (patients)."},
    {"TRIPOD+AI", "22", "Full model specification", Coverage::partial,
     "The model is identified by its SHA-256 in <a href=\"#study\">&sect;1</a>; the model itself is supplied "
     "separately."},
    {"TRIPOD+AI", "23a", "Performance estimates with confidence intervals", Coverage::answered,
     "<a href=\"#centres\">&sect;3</a>, <a href=\"#roc\">&sect;4</a>, <a href=\"#calibration\">&sect;6</a>, "
     "<a href=\"#patient-level\">&sect;10</a>."},
    {"TRIPOD+AI", "23b", "Heterogeneity of performance across clusters", Coverage::answered,
     "<a href=\"#forest\">&sect;5</a>."},
    {"TRIPOD+AI", "24", "Model updating", Coverage::answered,
     "Not applicable: the model is evaluated frozen, without recalibration."},
    {"TRIPOD+AI", "25&ndash;27", "Interpretation, limitations, usability", Coverage::external,
     "Written by the study authors."},
    {"STARD", "6", "Eligibility criteria", Coverage::partial,
     "Exclusions by reason: <a href=\"#flow\">&sect;9</a>; the criteria: study protocol."},
    {"STARD", "8", "Setting, location and dates", Coverage::partial,
     "Centres: <a href=\"#centres\">&sect;3</a>, <a href=\"#flow\">&sect;9</a>; location and dates: study protocol."},
    {"STARD", "10a", "Index test in detail", Coverage::partial,
     "Model identity and hash, threshold: <a href=\"#study\">&sect;1</a>; description of the AI system: study "
     "protocol."},
    {"STARD", "10b", "Reference standard in detail", Coverage::external, "Study protocol."},
    {"STARD", "12a", "Positivity cut-off of the index test, pre-specified or not", Coverage::answered,
     "<a href=\"#study\">&sect;1</a> (fixed before the analysis, or derived on a development centre)."},
    {"STARD", "14", "Methods for estimating diagnostic accuracy", Coverage::answered,
     "<a href=\"#study\">&sect;1</a>, statistical methods."},
    {"STARD", "15", "Indeterminate index test results", Coverage::answered,
     "Failed inference per centre, not analysed: <a href=\"#flow\">&sect;9</a>."},
    {"STARD", "16", "Missing data", Coverage::partial, "<a href=\"#flow\">&sect;9</a>."},
    {"STARD", "17", "Analyses of variability in accuracy", Coverage::answered,
     "Per centre: <a href=\"#centres\">&sect;3</a>; heterogeneity: <a href=\"#forest\">&sect;5</a>; patient "
     "level: <a href=\"#patient-level\">&sect;10</a>."},
    {"STARD", "19", "Flow of participants", Coverage::answered,
     "<a href=\"#flow\">&sect;9</a> (as a table, not a diagram)."},
    {"STARD", "20", "Baseline characteristics", Coverage::external, "Study protocol."},
    {"STARD", "21a", "Distribution of disease severity", Coverage::partial,
     "Reference ISUP grade groups per centre (row totals), when grades are given: "
     "<a href=\"#confusion\">&sect;8</a>."},
    {"STARD", "23", "Cross-tabulation of index test by reference standard", Coverage::answered,
     "2&times;2 table per centre: <a href=\"#confusion\">&sect;8</a>."},
    {"STARD", "24", "Estimates of diagnostic accuracy and their precision", Coverage::answered,
     "<a href=\"#centres\">&sect;3</a>."},
    {"STARD", "28&ndash;30", "Registration, protocol, funding", Coverage::external, "Study protocol."},
    {"STARD-AI", "AI", "Identity of data set and algorithm version", Coverage::answered,
     "Dataset, model and predictions SHA-256, mcval version, seed: <a href=\"#study\">&sect;1</a>."},
    {"STARD-AI", "AI", "Performance across sites (external validation)", Coverage::answered,
     "<a href=\"#centres\">&sect;3</a>, <a href=\"#forest\">&sect;5</a>."},
    {"STARD-AI", "AI", "Error analysis: failure cases", Coverage::answered,
     "Misclassified slides, each linked to the viewer: <a href=\"#misclassified\">&sect;11</a>."},
};

void write_checklist(std::string& out) {
  out +=
      "<section id=\"checklist\"><h2>12. Reporting checklist</h2>"
      "<p>Where this report answers items of TRIPOD+AI (2024) and STARD 2015 / STARD-AI. Items that depend on "
      "the study design (eligibility, reference standard, dates, ethics) are answered by the study protocol, "
      "not by this report.</p><table class=\"data\" id=\"checklist-table\"><thead><tr>" +
      th("Guideline") + th_text("Item") + th_text("Topic") + th_text("Status") + th_text("Where in this report") +
      "</tr></thead><tbody>";
  for (const ChecklistItem& item : kChecklist) {
    const char* status = item.coverage == Coverage::answered  ? "<span class=\"status answered\">Answered</span>"
                         : item.coverage == Coverage::partial ? "<span class=\"status partial\">Partly</span>"
                                                              : "<span class=\"status external\">Not in report</span>";
    out += std::string("<tr><td>") + item.guideline + "</td><td class=\"text\">" + item.item +
           "</td><td class=\"text\">" + item.topic + "</td><td class=\"text\">" + status + "</td><td class=\"text\">" +
           item.where + "</td></tr>";
  }
  out +=
      "</tbody></table><p class=\"note\">STARD item numbers are those of STARD 2015, which STARD-AI extends; "
      "STARD-AI&rsquo;s AI-specific items are listed by topic. Check the numbering against the published "
      "checklists before submission.</p></section>";
}

}  // namespace

Result<std::string> render_html_report(const nlohmann::json& report) {
  MCVAL_TRY_ASSIGN(data, read_report(report));
  const Context ctx = make_context(data);

  std::string out;
  out.reserve(std::size_t{256} * 1024);
  out +=
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<meta name=\"generator\" content=\"mcval " +
      escape(data.version) + "\"><title>Validation report: " + escape(model_description(data));
  if (data.dataset_name) out += " on " + escape(*data.dataset_name);
  out += "</title><style>";
  out += kStyle;
  out += "</style></head><body>";
  write_header(data, ctx, out);
  out += "<main class=\"wrap\">";
  write_study_record(data, ctx, out);
  write_summary(data, ctx, out);
  write_centre_results(data, ctx, out);
  write_roc(data, out);
  write_forest(data, ctx, out);
  write_calibration(data, out);
  write_utility(data, out);
  write_confusion(data, ctx, out);
  write_flow(data, ctx, out);
  write_patient_level(data, ctx, out);
  write_misclassified(data, out);
  write_checklist(out);
  out += "<footer>Generated by mcval " + escape(data.version) + " from <code>report.json</code> (" +
         escape(data.format) + "), which holds every number in this report";
  if (data.per_slide_csv) out += "; per-slide results are in <code>" + escape(*data.per_slide_csv) + "</code>";
  out += ".</footer></main></body></html>\n";
  return out;
}

}  // namespace mcval::report
