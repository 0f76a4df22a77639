"""Oracle tests of mcval::stats: every statistic of stats_probe against an independent
implementation on generated data sets.

Oracles: R pROC (AUC, DeLong variance and CI, paired DeLong test), R metafor (meta-analysis), scikit-learn (AUC, ROC curve,
confusion matrices, Brier score, quadratic weighted kappa, reliability curve), statsmodels (Wilson
intervals, logistic calibration fits, kappa standard error, DerSimonian-Laird meta-analysis),
SciPy (normal, t and chi-square distributions) and plain numpy for definitions the libraries
do not provide (ECE, the resampling scheme of the bootstrap). Exact methods must agree to 1e-9;
the bootstrap within its Monte-Carlo error.

Run: STATS_PROBE=/path/to/stats_probe /usr/bin/python3 -m unittest -v test_stats_oracle
"""
import csv
import json
import math
import os
import subprocess
import tempfile
import unittest
import warnings

import numpy as np
from scipy import stats as sps
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
import statsmodels.api as sm
from statsmodels.stats.inter_rater import cohens_kappa
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.proportion import proportion_confint

PROBE = os.environ.get("STATS_PROBE", "")
EXACT = 1e-9  # agreement required where the method is exact


def probe(request):
    """Runs stats_probe on one request and returns its JSON answer."""
    done = subprocess.run([PROBE], input=json.dumps(request), capture_output=True, text=True, timeout=60)
    if done.returncode != 0 or done.stderr:
        # Any output on stderr (e.g. a sanitizer report in the ASan/UBSan build) is a failure.
        raise AssertionError(f"stats_probe failed ({done.returncode}): {done.stderr}")
    return json.loads(done.stdout)


def expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def make_dataset(rng, n_pos, n_neg, separation, decimals=None, patients=True):
    """Labels, two correlated probability scores, patient groups and ISUP-like grades."""
    labels = np.r_[np.ones(n_pos, int), np.zeros(n_neg, int)]
    rng.shuffle(labels)
    shared = rng.normal(size=labels.size)
    score = expit(separation * (labels - 0.5) + 0.8 * shared + 0.6 * rng.normal(size=labels.size))
    score2 = expit(0.8 * separation * (labels - 0.5) + 0.8 * shared + 0.9 * rng.normal(size=labels.size))
    if decimals is not None:
        score = np.round(score, decimals)
        score2 = np.round(score2, decimals)
    # Patients of 1 to 3 consecutive slides; a patient's slides need not share the label.
    groups = np.repeat(np.arange(labels.size), rng.integers(1, 4, size=labels.size))[: labels.size]
    if not patients:
        groups = np.arange(labels.size)
    latent = 2.5 * labels + 2.0 * score + rng.normal(scale=0.9, size=labels.size)
    truth = np.clip(np.floor(latent).astype(int), 0, 5)
    pred = np.clip(truth + rng.choice([-2, -1, 0, 0, 0, 1, 1], size=labels.size), 0, 5)
    return {"labels": labels, "scores": score, "scores2": score2, "groups": groups, "truth": truth, "pred": pred}


def make_datasets():
    rng = np.random.default_rng(20240601)
    sets = {
        "small_ties": make_dataset(rng, 9, 11, 1.5, decimals=1),
        "continuous_500": make_dataset(rng, 200, 300, 1.8),
        "ties_2000": make_dataset(rng, 800, 1200, 1.2, decimals=2),
        "unbalanced_1_20": make_dataset(rng, 50, 1000, 2.5),
    }
    # Perfect separation: every positive scores above every negative.
    perfect = make_dataset(rng, 25, 35, 1.0)
    perfect["scores"] = np.where(perfect["labels"] == 1, 0.55 + 0.4 * rng.random(60), 0.05 + 0.4 * rng.random(60))
    sets["perfect"] = perfect
    return sets


def make_centres():
    """Five centres whose AUCs differ clearly (heterogeneous on the logit scale)."""
    rng = np.random.default_rng(77)
    centres = []
    for n_pos, n_neg, separation in [(60, 140, 1.0), (90, 110, 2.2), (40, 260, 3.5), (120, 180, 1.6), (70, 70, 4.5)]:
        d = make_dataset(rng, n_pos, n_neg, separation, patients=False)
        centres.append({"labels": d["labels"], "scores": d["scores"]})
    return centres


# Student t quantile grid: (p, df) pairs, checked against SciPy and R's qt.
T_GRID = [(p, df) for df in [1, 2, 3, 4.5, 7, 10, 30, 100, 1000]
          for p in [1e-12, 1e-6, 0.001, 0.025, 0.3, 0.5, 0.7, 0.975, 0.9999]]

R_SCRIPT = r"""
suppressMessages(library(pROC))
out <- function(name, key, v) cat(name, key, sprintf("%.17g", as.numeric(v)), "\n")
out("distributions", "qt", qt(c(GRID_P), c(GRID_DF)))
for (path in commandArgs(trailingOnly = TRUE)) {
  d <- read.csv(path)
  name <- sub("\\.csv$", "", basename(path))
  r1 <- roc(d$label, d$score, levels = c(0, 1), direction = "<", quiet = TRUE)
  out(name, "auc1", auc(r1))
  out(name, "var1", var(r1, method = "delong"))
  out(name, "ci1", ci.auc(r1, method = "delong", conf.level = 0.95))
  out(name, "ci1_90", ci.auc(r1, method = "delong", conf.level = 0.90))
  if ("score2" %in% names(d)) {
    r2 <- roc(d$label, d$score2, levels = c(0, 1), direction = "<", quiet = TRUE)
    out(name, "auc2", auc(r2))
    out(name, "var2", var(r2, method = "delong"))
    out(name, "cov", cov(r1, r2, method = "delong"))
    t <- suppressWarnings(roc.test(r1, r2, method = "delong", paired = TRUE))
    out(name, "z", t$statistic)
    out(name, "p", t$p.value)
    out(name, "ci_diff", t$conf.int)
  }
}
"""


def run_proc(tables):
    """Runs pROC once over {name: {label, score[, score2]}} and returns {name: {key: [values]}}."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, columns in tables.items():
            path = os.path.join(tmp, name + ".csv")
            keys = list(columns)
            with open(path, "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(keys)
                for row in zip(*(columns[k] for k in keys)):
                    writer.writerow([repr(float(v)) if isinstance(v, float) else int(v) for v in row])
            paths.append(path)
        script = R_SCRIPT.replace("GRID_P", ", ".join(repr(float(p)) for p, _ in T_GRID)).replace(
            "GRID_DF", ", ".join(repr(float(df)) for _, df in T_GRID))
        done = subprocess.run(["Rscript", "-e", script] + paths, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise AssertionError("Rscript failed: " + done.stderr)
    results = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            results.setdefault(parts[0], {})[parts[1]] = [float(v) for v in parts[2:]]
    return results


def request_for(d, **extra):
    req = {
        "labels": d["labels"].tolist(),
        "scores": d["scores"].tolist(),
        "scores2": d["scores2"].tolist(),
        "groups": d["groups"].tolist(),
        "grades_true": d["truth"].tolist(),
        "grades_pred": d["pred"].tolist(),
        "classes": 6,
        "seed": 7,
        "replicates": 200,
        "target_sensitivity": 0.9,
    }
    req.update(extra)
    return req


DATASETS = {}
CENTRES = []
PROC = {}
ANSWERS = {}


def setUpModule():
    if not PROBE or not os.path.exists(PROBE):
        raise RuntimeError("STATS_PROBE must name the stats_probe executable")
    DATASETS.update(make_datasets())
    CENTRES.extend(make_centres())
    tables = {}
    for name, d in DATASETS.items():
        tables[name] = {"label": d["labels"].tolist(), "score": [float(v) for v in d["scores"]],
                        "score2": [float(v) for v in d["scores2"]]}
    for i, c in enumerate(CENTRES):
        tables[f"centre{i}"] = {"label": c["labels"].tolist(), "score": [float(v) for v in c["scores"]]}
    PROC.update(run_proc(tables))
    for name, d in DATASETS.items():
        ANSWERS[name] = probe(request_for(d))


AGREEMENT = {}  # "test: quantity" -> (largest error seen, kind of error)


def tearDownModule():
    lines = [f"  {key:<70} {err:9.2e} {kind}" for key, (err, kind) in sorted(AGREEMENT.items())]
    print("\nlargest differences from the oracles:\n" + "\n".join(lines), flush=True)


class Helpers(unittest.TestCase):
    def assertClose(self, actual, expected, tol=EXACT, rel=False, mixed=False, msg=""):
        """Absolute difference (default), relative (rel) or relative to max(1, |expected|) (mixed)."""
        actual = np.asarray(actual, float)
        expected = np.asarray(expected, float)
        self.assertEqual(actual.shape, expected.shape, msg)
        if rel or mixed:
            scale = np.maximum(np.abs(expected), 1.0 if mixed else 1e-300)
            err = float(np.max(np.abs(actual - expected) / scale)) if actual.size else 0.0
        else:
            err = float(np.max(np.abs(actual - expected))) if actual.size else 0.0
        key = f"{self.id().split('.')[-1]}: {msg or 'value'}"
        kind = "relative" if rel else ("relative to max(1, |x|)" if mixed else "absolute")
        AGREEMENT[key] = (max(err, AGREEMENT.get(key, (0.0, kind))[0]), kind)
        self.assertLessEqual(err, tol, f"{msg}: {actual} vs {expected} (max error {err:.3g})")


class TestAucDeLongAgainstPROC(Helpers):
    def test_auc_variance_and_ci(self):
        for name in DATASETS:
            with self.subTest(name=name):
                mine = ANSWERS[name]["delong"]
                ref = PROC[name]
                self.assertClose(mine["auc"], ref["auc1"][0], msg="auc")
                self.assertClose(mine["variance"], ref["var1"][0], tol=1e-12, msg="variance")
                self.assertClose(mine["se"], math.sqrt(ref["var1"][0]), tol=1e-12, msg="se")
                self.assertClose(mine["ci"], [ref["ci1"][0], ref["ci1"][2]], msg="ci")

    def test_ci_at_other_confidence(self):
        for name in ["small_ties", "continuous_500"]:
            with self.subTest(name=name):
                d = DATASETS[name]
                mine = probe({"labels": d["labels"].tolist(), "scores": d["scores"].tolist(), "confidence": 0.9,
                              "bootstrap": False})["delong"]
                ref = PROC[name]["ci1_90"]
                self.assertClose(mine["ci"], [ref[0], ref[2]], msg="90% ci")

    def test_logit_ci_by_formula_on_pROC_values(self):
        z = sps.norm.ppf(0.975)
        for name in DATASETS:
            with self.subTest(name=name):
                a, v = PROC[name]["auc1"][0], PROC[name]["var1"][0]
                if a in (0.0, 1.0):
                    expected = [a, a]
                else:
                    lg, s = math.log(a / (1 - a)), math.sqrt(v) / (a * (1 - a))
                    expected = [expit(lg - z * s), expit(lg + z * s)]
                self.assertClose(ANSWERS[name]["delong"]["ci_logit"], expected, msg="logit ci")

    def test_paired_delong_test(self):
        for name in DATASETS:
            with self.subTest(name=name):
                mine = ANSWERS[name]["paired"]
                ref = PROC[name]
                self.assertClose(mine["auc1"], ref["auc1"][0], msg="auc1")
                self.assertClose(mine["auc2"], ref["auc2"][0], msg="auc2")
                self.assertClose(mine["variance2"], ref["var2"][0], tol=1e-12, msg="var2")
                self.assertClose(mine["covariance"], ref["cov"][0], tol=1e-12, msg="cov")
                self.assertClose(mine["z"], ref["z"][0], rel=True, msg="z")
                self.assertClose(mine["p_value"], ref["p"][0], msg="p")
                self.assertClose(mine["ci_difference"], ref["ci_diff"], msg="ci of the difference")

    def test_centre_aucs(self):
        answer = probe({"centres": [{"labels": c["labels"].tolist(), "scores": c["scores"].tolist()} for c in CENTRES]})
        for i, centre in enumerate(answer["centres"]):
            ref = PROC[f"centre{i}"]
            self.assertClose(centre["auc"], ref["auc1"][0], msg=f"centre {i} auc")
            self.assertClose(centre["variance"], ref["var1"][0], tol=1e-12, msg=f"centre {i} variance")


class TestAgainstScikitLearn(Helpers):
    def test_auc(self):
        for name, d in DATASETS.items():
            with self.subTest(name=name):
                self.assertClose(ANSWERS[name]["auc"], skm.roc_auc_score(d["labels"], d["scores"]), msg="auc")

    def test_roc_curve_points(self):
        for name, d in DATASETS.items():
            with self.subTest(name=name):
                fpr, tpr, thr = skm.roc_curve(d["labels"], d["scores"], drop_intermediate=False)
                mine = ANSWERS[name]["roc_curve"]
                self.assertClose(mine["fpr"], fpr, tol=1e-15, msg="fpr")
                self.assertClose(mine["tpr"], tpr, tol=1e-15, msg="tpr")
                self.assertClose(mine["thresholds"], thr, tol=0.0, msg="thresholds")

    def test_confusion_at_thresholds(self):
        for name, d in DATASETS.items():
            for t in [0.2, 0.5, 0.77]:
                with self.subTest(name=name, threshold=t):
                    mine = probe({"labels": d["labels"].tolist(), "scores": d["scores"].tolist(), "threshold": t,
                                  "bootstrap": False})["binary"]["confusion"]
                    tn, fp, fn, tp = skm.confusion_matrix(d["labels"], (d["scores"] >= t).astype(int),
                                                          labels=[0, 1]).ravel()
                    self.assertEqual((mine["tp"], mine["fp"], mine["tn"], mine["fn"]), (tp, fp, tn, fn))

    def test_brier(self):
        for name, d in DATASETS.items():
            with self.subTest(name=name):
                self.assertClose(ANSWERS[name]["brier"], skm.brier_score_loss(d["labels"], d["scores"]), tol=1e-14)

    def test_reliability_curve(self):
        for name, d in DATASETS.items():
            for bins in [10, 7]:
                with self.subTest(name=name, bins=bins):
                    mine = probe({"labels": d["labels"].tolist(), "scores": d["scores"].tolist(), "bins": bins,
                                  "bootstrap": False})["reliability"]
                    prob_true, prob_pred = calibration_curve(d["labels"], d["scores"], n_bins=bins,
                                                             strategy="uniform")
                    filled = [b for b in mine["bins"] if b["count"] > 0]
                    self.assertClose([b["observed_fraction"] for b in filled], prob_true, tol=1e-14)
                    self.assertClose([b["mean_predicted"] for b in filled], prob_pred, tol=1e-14)
                    self.assertEqual(sum(b["count"] for b in mine["bins"]), d["labels"].size)

    def test_reliability_on_bin_edges(self):
        # Probabilities exactly on the edges k/10 fall in the bin they close, as scikit-learn's.
        p = np.repeat(np.arange(11) / 10, 3)
        y = (np.arange(p.size) % 2).astype(int)
        mine = probe({"labels": y.tolist(), "scores": p.tolist(), "bootstrap": False})["reliability"]
        prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
        filled = [b for b in mine["bins"] if b["count"] > 0]
        self.assertClose([b["observed_fraction"] for b in filled], prob_true, tol=1e-14)
        self.assertClose([b["mean_predicted"] for b in filled], prob_pred, tol=1e-14)

    def test_quadratic_weighted_kappa_and_confusion(self):
        for name, d in DATASETS.items():
            with self.subTest(name=name):
                mine = ANSWERS[name]["kappa"]
                ref = skm.cohen_kappa_score(d["truth"], d["pred"], weights="quadratic", labels=list(range(6)))
                self.assertClose(mine["estimate"], ref, msg="kappa")
                cm = skm.confusion_matrix(d["truth"], d["pred"], labels=list(range(6)))
                self.assertEqual(mine["confusion"], cm.ravel().tolist())


class TestAgainstStatsmodels(Helpers):
    def test_wilson_intervals(self):
        for name, d in DATASETS.items():
            for t in [0.3, 0.5, 0.9]:
                with self.subTest(name=name, threshold=t):
                    mine = probe({"labels": d["labels"].tolist(), "scores": d["scores"].tolist(), "threshold": t,
                                  "bootstrap": False})["binary"]
                    c = mine["confusion"]
                    pairs = {"sensitivity": (c["tp"], c["tp"] + c["fn"]), "specificity": (c["tn"], c["tn"] + c["fp"]),
                             "ppv": (c["tp"], c["tp"] + c["fp"]), "npv": (c["tn"], c["tn"] + c["fn"])}
                    for key, (k, n) in pairs.items():
                        if n == 0:
                            self.assertIsNone(mine[key]["estimate"])
                            self.assertEqual(mine[key]["ci"], [0.0, 1.0])
                            continue
                        low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
                        self.assertClose(mine[key]["estimate"], k / n, tol=1e-15, msg=key)
                        self.assertClose(mine[key]["ci"], [low, high], msg=key)

    def test_wilson_extremes_and_zero_trials(self):
        labels = [1] * 7 + [0] * 5
        scores = [0.9] * 7 + [0.1] * 5
        mine = probe({"labels": labels, "scores": scores, "threshold": 0.5, "confidence": 0.9, "bootstrap": False})
        b = mine["binary"]
        for key, (k, n) in {"sensitivity": (7, 7), "specificity": (5, 5), "ppv": (7, 7), "npv": (5, 5)}.items():
            low, high = proportion_confint(k, n, alpha=0.1, method="wilson")
            self.assertClose(b[key]["ci"], [max(0.0, low), min(1.0, high)], msg=key)
        none_called = probe({"labels": labels, "scores": scores, "threshold": 2.0, "bootstrap": False})["binary"]
        self.assertIsNone(none_called["ppv"]["estimate"])
        self.assertEqual(none_called["ppv"]["ci"], [0.0, 1.0])
        low, high = proportion_confint(0, 7, alpha=0.05, method="wilson")
        self.assertClose(none_called["sensitivity"]["ci"], [max(0.0, low), high])

    def test_calibration_slope_and_in_the_large(self):
        for name, d in DATASETS.items():
            with self.subTest(name=name):
                mine = ANSWERS[name]
                if name == "perfect":
                    self.assertEqual(mine["calibration_slope"]["error"], "invalid_argument")
                p = np.clip(d["scores"], 1e-12, 1 - 1e-12)
                x = np.log(p / (1 - p))
                y = d["labels"]
                citl = sm.GLM(y, np.ones((y.size, 1)), family=sm.families.Binomial(), offset=x).fit(tol=1e-15,
                                                                                                      maxiter=200)
                self.assertClose(mine["calibration_in_the_large"]["intercept"], citl.params[0], msg="citl")
                self.assertClose(mine["calibration_in_the_large"]["intercept_se"], citl.bse[0], msg="citl se")
                if name == "perfect":
                    continue
                fit = sm.GLM(y, sm.add_constant(x), family=sm.families.Binomial()).fit(tol=1e-15, maxiter=200)
                self.assertClose(mine["calibration_slope"]["slope"], fit.params[1], msg="slope")
                self.assertClose(mine["calibration_slope"]["intercept"], fit.params[0], msg="intercept")
                self.assertClose(mine["calibration_slope"]["slope_se"], fit.bse[1], msg="slope se")
                self.assertClose(mine["calibration_slope"]["intercept_se"], fit.bse[0], msg="intercept se")

    def test_kappa_standard_error(self):
        z = sps.norm.ppf(0.975)
        for name, d in DATASETS.items():
            with self.subTest(name=name):
                table = skm.confusion_matrix(d["truth"], d["pred"], labels=list(range(6)))
                ref = cohens_kappa(table, wt="quadratic")
                mine = ANSWERS[name]["kappa"]
                self.assertClose(mine["estimate"], ref.kappa, msg="kappa")
                self.assertClose(mine["se"], ref.std_kappa, msg="se")
                self.assertClose(mine["ci"], [ref.kappa - z * ref.std_kappa, ref.kappa + z * ref.std_kappa])

    def test_meta_analysis_of_centres(self):
        answer = probe({"centres": [{"labels": c["labels"].tolist(), "scores": c["scores"].tolist()} for c in CENTRES]})
        pooled = answer["pooled"]
        # Inputs from pROC, not from the probe: logit AUC and delta-method variance per centre.
        aucs = np.array([PROC[f"centre{i}"]["auc1"][0] for i in range(len(CENTRES))])
        variances = np.array([PROC[f"centre{i}"]["var1"][0] for i in range(len(CENTRES))])
        y = np.log(aucs / (1 - aucs))
        v = variances / (aucs * (1 - aucs)) ** 2
        self.assertClose(pooled["logit_auc"], y, msg="logit auc")
        self.assertClose(pooled["logit_variance"], v, rel=True, tol=1e-10, msg="logit variance")
        res = combine_effects(y, v, method_re="dl")
        df = len(y) - 1
        self.assertGreater(res.q, df, "the centres must be heterogeneous for this comparison")
        m = pooled["logit"]
        self.assertClose(m["q"], res.q, rel=True, msg="Q")
        self.assertClose(m["i2"], res.i2, msg="I2")
        self.assertClose(m["tau2"], res.tau2, rel=True, msg="tau2")
        self.assertClose(m["q_p_value"], sps.chi2.sf(res.q, df), rel=True, msg="Q p-value")
        self.assertClose(m["fixed_estimate"], res.mean_effect_fe, msg="fixed estimate")
        self.assertClose(m["fixed_se"], res.sd_eff_w_fe, msg="fixed se")
        self.assertClose(m["random_estimate"], res.mean_effect_re, msg="random estimate")
        self.assertClose(m["random_se"], res.sd_eff_w_re, msg="random se")
        ci_fe, ci_re = res.conf_int(alpha=0.05)[:2]
        self.assertClose(m["fixed_ci"], ci_fe, msg="fixed ci")
        self.assertClose(m["random_ci"], ci_re, msg="random ci")
        t = sps.t.ppf(0.975, len(y) - 2)
        half = t * math.sqrt(res.tau2 + res.sd_eff_w_re ** 2)
        pi = [res.mean_effect_re - half, res.mean_effect_re + half]
        self.assertClose(m["prediction_interval"], pi, msg="prediction interval")
        self.assertClose(pooled["random_auc"], expit(res.mean_effect_re), msg="pooled AUC")
        self.assertClose(pooled["random_ci"], expit(np.array(ci_re)), msg="pooled AUC ci")
        self.assertClose(pooled["fixed_auc"], expit(res.mean_effect_fe), msg="fixed AUC")
        self.assertClose(pooled["prediction_interval"], expit(np.array(pi)), msg="AUC prediction interval")

    def test_meta_analysis_homogeneous_truncates_tau2(self):
        y = np.array([0.81, 0.80, 0.82, 0.805])
        v = np.array([0.01, 0.02, 0.015, 0.012])
        res = combine_effects(y, v, method_re="dl")
        self.assertLess(res.q, len(y) - 1)
        m = probe({"meta": {"estimates": y.tolist(), "variances": v.tolist()}})["meta"]
        self.assertClose(m["q"], res.q, rel=True)
        self.assertEqual(m["tau2"], 0.0)
        self.assertEqual(m["i2"], 0.0)
        # With tau2 = 0 the random-effects model is the fixed-effect one.
        self.assertClose(m["random_estimate"], res.mean_effect_fe)
        self.assertClose(m["random_se"], res.sd_eff_w_fe)
        t = sps.t.ppf(0.975, len(y) - 2)
        self.assertClose(m["prediction_interval"],
                         [res.mean_effect_fe - t * res.sd_eff_w_fe, res.mean_effect_fe + t * res.sd_eff_w_fe])

    def test_meta_analysis_two_centres_has_no_prediction_interval(self):
        m = probe({"meta": {"estimates": [1.0, 2.0], "variances": [0.1, 0.2]}})["meta"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # statsmodels takes sqrt of a negative variance here
            res = combine_effects(np.array([1.0, 2.0]), np.array([0.1, 0.2]), method_re="dl")
        self.assertClose(m["tau2"], max(0.0, res.tau2), rel=True)
        self.assertIsNone(m["prediction_interval"])


UNPAIRED_SCRIPT = r"""
suppressMessages(library(pROC))
a <- read.csv(commandArgs(trailingOnly = TRUE)[1]); b <- read.csv(commandArgs(trailingOnly = TRUE)[2])
r1 <- roc(a$label, a$score, levels = c(0, 1), direction = "<", quiet = TRUE)
r2 <- roc(b$label, b$score, levels = c(0, 1), direction = "<", quiet = TRUE)
t <- roc.test(r1, r2, method = "delong", paired = FALSE)
cat(sprintf("%.17g", c(t$statistic, t$p.value)), "\n")
"""


class TestUnpairedDeLongAgainstPROC(Helpers):
    """The subgroup test: DeLong for two independent AUCs, against pROC's roc.test(paired = FALSE)."""

    def test_two_independent_subgroups(self):
        for first, second in [("continuous_500", "small_ties"), ("ties_2000", "unbalanced_1_20"),
                              ("perfect", "continuous_500")]:
            with self.subTest(pair=(first, second)):
                a, b = DATASETS[first], DATASETS[second]
                with tempfile.TemporaryDirectory() as tmp:
                    paths = []
                    for name, d in ((first, a), (second, b)):
                        path = os.path.join(tmp, name + ".csv")
                        with open(path, "w", newline="") as f:
                            writer = csv.writer(f)
                            writer.writerow(["label", "score"])
                            for label, score in zip(d["labels"], d["scores"]):
                                writer.writerow([int(label), repr(float(score))])
                        paths.append(path)
                    done = subprocess.run(["Rscript", "-e", UNPAIRED_SCRIPT] + paths, capture_output=True, text=True,
                                          timeout=120)
                    self.assertEqual(done.returncode, 0, done.stderr)
                z, p = (float(v) for v in done.stdout.split())
                mine = probe({"labels": a["labels"].tolist(), "scores": a["scores"].tolist(), "bootstrap": False,
                              "independent": {"labels": b["labels"].tolist(), "scores": b["scores"].tolist()}})
                self.assertClose(mine["unpaired"]["z"], z, mixed=True, tol=1e-12, msg="z")
                self.assertClose(mine["unpaired"]["p_value"], p, mixed=True, tol=1e-12, msg="p")


METAFOR_SCRIPT = r"""
suppressMessages({library(pROC); library(metafor)})
out <- function(name, key, v) cat(name, key, sprintf("%.17g", as.numeric(v)), "\n")
for (path in commandArgs(trailingOnly = TRUE)) {
  name <- sub("\\.csv$", "", basename(path))
  d <- read.csv(path)
  yi <- c(); vi <- c(); used <- c()
  for (centre in sort(unique(d$centre))) {
    x <- d[d$centre == centre, ]
    r <- roc(x$label, x$score, levels = c(0, 1), direction = "<", quiet = TRUE)
    a <- as.numeric(auc(r)); v <- var(r, method = "delong")
    n1 <- sum(x$label == 1); n0 <- sum(x$label == 0)
    if (a == 1 || a == 0 || v == 0) {
      # The stated method, written from its description: 1/2 pair added, Hanley-McNeil variance.
      if (a == 1) a <- (n1 * n0 - 0.5) / (n1 * n0)
      if (a == 0) a <- 0.5 / (n1 * n0)
      q1 <- a / (2 - a); q2 <- 2 * a^2 / (1 + a)
      v <- (a * (1 - a) + (n1 - 1) * (q1 - a^2) + (n0 - 1) * (q2 - a^2)) / (n1 * n0)
    }
    used <- c(used, a)
    yi <- c(yi, qlogis(a)); vi <- c(vi, v / (a * (1 - a))^2)
  }
  re <- rma(yi = yi, vi = vi, method = "DL")
  fe <- rma(yi = yi, vi = vi, method = "FE")
  out(name, "auc_used", used)
  out(name, "yi", yi); out(name, "vi", vi)
  out(name, "Q", re$QE); out(name, "Qp", re$QEp); out(name, "I2", re$I2 / 100); out(name, "tau2", re$tau2)
  out(name, "re", c(re$beta, re$se, re$ci.lb, re$ci.ub))
  out(name, "fe", c(fe$beta, fe$se, fe$ci.lb, fe$ci.ub))
}
"""


def run_metafor(cases):
    """Runs R metafor (rma, DerSimonian-Laird and fixed effect) on {case: [centre dicts]}."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, centres in cases.items():
            path = os.path.join(tmp, name + ".csv")
            with open(path, "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["centre", "label", "score"])
                for i, c in enumerate(centres):
                    for label, score in zip(c["labels"], c["scores"]):
                        writer.writerow([f"c{i:02d}", int(label), repr(float(score))])
            paths.append(path)
        done = subprocess.run(["Rscript", "-e", METAFOR_SCRIPT] + paths, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise AssertionError("Rscript (metafor) failed: " + done.stderr)
    results = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            results.setdefault(parts[0], {})[parts[1]] = [float(v) for v in parts[2:]]
    return results


class TestMetaAnalysisAgainstMetafor(Helpers):
    """Every centre in the meta-analysis, against R metafor's rma on inputs R computed itself."""

    @classmethod
    def setUpClass(cls):
        rng = np.random.default_rng(4242)
        perfect = make_dataset(rng, 30, 45, 1.0, patients=False)
        perfect["scores"] = np.where(perfect["labels"] == 1, 0.6 + 0.3 * rng.random(75), 0.1 + 0.4 * rng.random(75))
        inverted = make_dataset(rng, 12, 20, 1.0, patients=False)
        inverted["scores"] = np.where(inverted["labels"] == 1, 0.1 + 0.3 * rng.random(32), 0.5 + 0.4 * rng.random(32))
        tied = {"labels": np.array([1, 1, 1, 0, 0, 0, 0]), "scores": np.full(7, 0.5)}
        cls.cases = {
            "heterogeneous": CENTRES,
            "with_auc_1": CENTRES[:3] + [perfect],
            "with_auc_0_and_1": CENTRES[:2] + [perfect, inverted],
            "auc_0_and_1_only": [perfect, {"labels": 1 - perfect["labels"], "scores": perfect["scores"]}],
            "all_tied": CENTRES[:2] + [tied],
        }
        cls.ref = run_metafor(cls.cases)

    def test_every_centre_enters_and_equals_metafor(self):
        for name, centres in self.cases.items():
            with self.subTest(case=name):
                answer = probe({"centres": [{"labels": c["labels"].tolist(), "scores": np.asarray(c["scores"]).tolist()}
                                            for c in centres]})
                pooled = answer["pooled"]
                ref = self.ref[name]
                self.assertEqual(len(pooled["logit_auc"]), len(centres), "every centre enters")
                self.assertClose(pooled["auc_used"], ref["auc_used"], msg="AUC entered")
                self.assertClose(pooled["logit_auc"], ref["yi"], msg="logit AUC")
                self.assertClose(pooled["logit_variance"], ref["vi"], rel=True, tol=1e-10, msg="logit variance")
                m = pooled["logit"]
                self.assertClose(m["q"], ref["Q"][0], rel=True, msg="Q")
                self.assertClose(m["q_p_value"], ref["Qp"][0], rel=True, tol=1e-8, msg="Q p-value")
                self.assertClose(m["i2"], ref["I2"][0], msg="I2")
                self.assertClose(m["tau2"], ref["tau2"][0], mixed=True, msg="tau2")
                re, fe = ref["re"], ref["fe"]
                self.assertClose([m["random_estimate"], m["random_se"]], re[:2], msg="random effects")
                self.assertClose(m["random_ci"], re[2:], msg="random ci")
                self.assertClose([m["fixed_estimate"], m["fixed_se"]], fe[:2], msg="fixed effect")
                self.assertClose(m["fixed_ci"], fe[2:], msg="fixed ci")
                self.assertClose(pooled["random_auc"], expit(re[0]), msg="pooled AUC")
                if len(centres) >= 3:
                    t = sps.t.ppf(0.975, len(centres) - 2)
                    half = t * math.sqrt(ref["tau2"][0] + re[1] ** 2)
                    self.assertClose(m["prediction_interval"], [re[0] - half, re[0] + half], msg="prediction interval")

    def test_only_boundary_centres_are_corrected(self):
        for name, centres in self.cases.items():
            with self.subTest(case=name):
                answer = probe({"centres": [{"labels": c["labels"].tolist(), "scores": np.asarray(c["scores"]).tolist()}
                                            for c in centres]})
                expected = [a["auc"] in (0.0, 1.0) or a["variance"] == 0.0 for a in answer["centres"]]
                self.assertEqual(answer["pooled"]["corrected"], expected)


def numpy_net_benefit(labels, scores, thresholds):
    """Net benefit by its definition (Vickers and Elkin 2006), one threshold at a time."""
    labels = np.asarray(labels)
    scores = np.asarray(scores)
    n = labels.size
    model, treat_all = [], []
    for pt in thresholds:
        called = scores >= pt
        tp = np.sum(called & (labels == 1))
        fp = np.sum(called & (labels == 0))
        odds = pt / (1 - pt)
        model.append(tp / n - fp / n * odds)
        treat_all.append(np.sum(labels == 1) / n - np.sum(labels == 0) / n * odds)
    return np.array(model), np.array(treat_all)


class TestDecisionCurveAgainstDefinition(Helpers):
    GRID = [round(0.01 * k, 2) for k in range(1, 100)]

    def test_net_benefit_equals_the_formula(self):
        for name, d in DATASETS.items():
            with self.subTest(name=name):
                # Tied scores (one or two decimals) fall exactly on grid thresholds: ">=" is tested.
                answer = probe({"labels": d["labels"].tolist(), "scores": d["scores"].tolist(),
                                "decision_thresholds": self.GRID, "bootstrap": False})
                model, treat_all = numpy_net_benefit(d["labels"], d["scores"], self.GRID)
                self.assertClose(answer["decision_curve"]["model"], model, tol=1e-12, msg="model net benefit")
                self.assertClose(answer["decision_curve"]["treat_all"], treat_all, tol=1e-12, msg="treat all")
                from_counts = answer["decision_curve_from_counts"]
                self.assertEqual(from_counts["model"], answer["decision_curve"]["model"])
                self.assertEqual(from_counts["treat_all"], answer["decision_curve"]["treat_all"])

    def test_bootstrap_band_within_monte_carlo_error(self):
        d = DATASETS["continuous_500"]
        labels, scores = d["labels"], d["scores"]
        grid = [round(0.05 * k, 2) for k in range(1, 20)]
        replicates = 4000
        answer = probe({"labels": labels.tolist(), "scores": scores.tolist(), "decision_thresholds": grid,
                        "replicates": replicates, "seed": 21})
        rng = np.random.default_rng(17)
        idx = rng.integers(0, labels.size, size=(replicates, labels.size))  # cases, not stratified
        reps = np.array([numpy_net_benefit(labels[i], scores[i], grid)[0] for i in idx])
        for key in ("decision_band", "decision_band_from_counts"):
            mine = np.array(answer[key]["model"])
            for k in range(len(grid)):
                se = reps[:, k].std(ddof=1)
                tol = percentile_mc_tolerance(se, replicates, replicates, k=4.0)
                self.assertClose(mine[k], np.percentile(reps[:, k], [2.5, 97.5]), tol=tol,
                                 msg=f"{key} at {grid[k]}")

    def test_clustered_band_within_monte_carlo_error(self):
        d = DATASETS["ties_2000"]
        labels, scores, groups = d["labels"], d["scores"], d["groups"]
        grid = [0.1, 0.3, 0.5, 0.7]
        replicates = 2000
        answer = probe({"labels": labels.tolist(), "scores": scores.tolist(), "groups": groups.tolist(),
                        "decision_thresholds": grid, "replicates": replicates, "seed": 8})
        cluster_ids = np.unique(groups)
        members = {g: np.flatnonzero(groups == g) for g in cluster_ids}
        rng = np.random.default_rng(23)
        drawn = cluster_ids[rng.integers(0, cluster_ids.size, size=(replicates, cluster_ids.size))]
        reps = np.array([numpy_net_benefit(labels[i], scores[i], grid)[0]
                         for i in (np.concatenate([members[g] for g in row]) for row in drawn)])
        mine = np.array(answer["decision_band"]["model"])
        for k in range(len(grid)):
            se = reps[:, k].std(ddof=1)
            self.assertClose(mine[k], np.percentile(reps[:, k], [2.5, 97.5]),
                             tol=percentile_mc_tolerance(se, replicates, replicates, k=4.0), msg=f"clustered at {grid[k]}")


VALPROB_SCRIPT = r"""
suppressMessages(library(rms))
out <- function(name, key, v) cat(name, key, sprintf("%.17g", as.numeric(v)), "\n")
for (path in commandArgs(trailingOnly = TRUE)) {
  name <- sub("\\.csv$", "", basename(path))
  d <- read.csv(path)
  v <- val.prob(d$score, d$label, pl = FALSE)
  out(name, "Eavg", v["Eavg"]); out(name, "E90", v["E90"]); out(name, "Emax", v["Emax"])
  # The curve and E50 from the smoother val.prob uses, as it uses it.
  Sm <- lowess(d$score, d$label, iter = 0)
  er <- abs(d$score - approx(Sm, xout = d$score, ties = mean)$y)
  out(name, "E50", median(er))
  grid <- seq(min(d$score), max(d$score), length.out = 50)
  grid[50] <- max(d$score)
  out(name, "curve", approx(Sm, xout = grid, ties = mean)$y)
}
"""


class TestSmoothedCalibrationAgainstRms(Helpers):
    """ICI (val.prob's Eavg), E50, E90, Emax and the lowess curve against R rms::val.prob."""

    @classmethod
    def setUpClass(cls):
        rng = np.random.default_rng(99)
        cls.sets = {}
        for name in ("small_ties", "continuous_500", "ties_2000", "unbalanced_1_20"):
            cls.sets[name] = DATASETS[name]
        miscalibrated = make_dataset(rng, 150, 250, 2.0, patients=False)
        miscalibrated["scores"] = expit(2.5 * np.log(miscalibrated["scores"] / (1 - miscalibrated["scores"])) + 0.7)
        cls.sets["miscalibrated"] = miscalibrated
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for name, d in cls.sets.items():
                path = os.path.join(tmp, name + ".csv")
                with open(path, "w", newline="") as f:
                    writer = csv.writer(f)
                    writer.writerow(["label", "score"])
                    for label, score in zip(d["labels"], d["scores"]):
                        writer.writerow([int(label), repr(float(score))])
                paths.append(path)
            done = subprocess.run(["Rscript", "-e", VALPROB_SCRIPT] + paths, capture_output=True, text=True,
                                  timeout=120)
            if done.returncode != 0:
                raise AssertionError("Rscript (rms) failed: " + done.stderr)
        cls.ref = {}
        for line in done.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 3:
                cls.ref.setdefault(parts[0], {})[parts[1]] = [float(v) for v in parts[2:]]

    def test_errors_and_curve_equal_val_prob(self):
        for name, d in self.sets.items():
            with self.subTest(name=name):
                mine = probe({"labels": d["labels"].tolist(), "scores": d["scores"].tolist(),
                              "smoothed_calibration": True, "bootstrap": False})["smoothed_calibration"]
                ref = self.ref[name]
                self.assertClose(mine["ici"], ref["Eavg"][0], msg="ICI (Eavg)")
                self.assertClose(mine["e50"], ref["E50"][0], msg="E50")
                self.assertClose(mine["e90"], ref["E90"][0], msg="E90")
                self.assertClose(mine["emax"], ref["Emax"][0], msg="Emax")
                self.assertClose(mine["curve_observed"], ref["curve"], msg="lowess curve")

    def test_band_within_monte_carlo_error(self):
        d = self.sets["miscalibrated"]
        labels, scores = d["labels"], d["scores"]
        replicates = 1000
        answer = probe({"labels": labels.tolist(), "scores": scores.tolist(), "smoothed_calibration": True,
                        "replicates": replicates, "seed": 4})
        grid = np.array(answer["smoothed_calibration"]["curve_predicted"])
        mine = np.array(answer["smoothed_calibration_band"], dtype=float)
        # Independent: statsmodels' lowess (same f, it = 0, delta) refitted on numpy resamples.
        from statsmodels.nonparametric.smoothers_lowess import lowess as sm_lowess
        rng = np.random.default_rng(31)
        reps = np.full((replicates, grid.size), np.nan)
        for r in range(replicates):
            i = rng.integers(0, labels.size, size=labels.size)
            x, y = scores[i], labels[i].astype(float)
            fit = sm_lowess(y, x, frac=2 / 3, it=0, delta=0.01 * (x.max() - x.min()), return_sorted=True)
            inside = (grid >= fit[0, 0]) & (grid <= fit[-1, 0])
            reps[r, inside] = np.interp(grid[inside], fit[:, 0], fit[:, 1])
        for k in range(5, grid.size - 5, 4):  # interior points, where almost every replicate reaches
            col = reps[:, k][np.isfinite(reps[:, k])]
            se = col.std(ddof=1)
            tol = percentile_mc_tolerance(se, replicates, col.size, k=4.0)
            self.assertClose(mine[k], np.percentile(col, [2.5, 97.5]), tol=tol, msg=f"band at {grid[k]:.3f}")


class TestDistributionsAgainstSciPy(Helpers):
    def test_normal_quantile(self):
        ps = [1e-300, 1e-100, 1e-20, 1e-10, 1e-5, 0.001, 0.025, 0.05, 0.2, 0.3, 0.425, 0.5, 0.6, 0.9, 0.975,
              0.999, 1 - 1e-10]
        mine = probe({"quantiles": {"normal": ps}})["quantiles"]["normal"]
        ref = sps.norm.ppf(ps)
        self.assertClose(mine, ref, rel=True, tol=1e-13, msg="normal quantile")

    def test_student_t(self):
        pairs = T_GRID
        xs = [(x, df) for df in [1, 2, 3, 4.5, 10, 100, 1000] for x in [-30.0, -2.5, -0.1, 0.0, 0.7, 1.96, 12.0]]
        q = probe({"quantiles": {"t": pairs, "t_cdf": xs, "t_sf": xs}})["quantiles"]
        ref = np.array([sps.t.ppf(p, df) for p, df in pairs])
        # SciPy's ppf (cdflib's search) is itself only good to about 1e-9; R's qt to about 1e-15.
        self.assertClose(q["t"], ref, mixed=True, tol=1e-8, msg="t quantile vs scipy ppf")
        self.assertClose(q["t"], PROC["distributions"]["qt"], mixed=True, tol=1e-12, msg="t quantile vs R qt")
        # Round trip through SciPy's CDF (cephes stdtr), which is more accurate than its inverse.
        back = np.array([sps.t.cdf(x, df) for x, (_, df) in zip(q["t"], pairs)])
        self.assertClose(back, [p for p, _ in pairs], rel=True, tol=1e-12, msg="t quantile round trip")
        self.assertClose(q["t_cdf"], [sps.t.cdf(x, df) for x, df in xs], rel=True, tol=1e-12, msg="t cdf")
        self.assertClose(q["t_sf"], [sps.t.sf(x, df) for x, df in xs], rel=True, tol=1e-12, msg="t sf")

    def test_chi_square_sf(self):
        pairs = [(x, df) for df in [1, 2, 3, 4, 9, 30] for x in [0.01, 0.5, 1.0, 3.84, 10.0, 40.0, 150.0]]
        mine = probe({"quantiles": {"chi2_sf": pairs}})["quantiles"]["chi2_sf"]
        self.assertClose(mine, [sps.chi2.sf(x, df) for x, df in pairs], rel=True, tol=1e-12, msg="chi2 sf")


def numpy_auc(labels, scores):
    """Mann-Whitney AUC of each row of (labels, scores) matrices, ties 1/2."""
    ranks = sps.rankdata(scores, axis=-1)
    n_pos = labels.sum(axis=-1)
    n_neg = labels.shape[-1] - n_pos
    return ((ranks * labels).sum(axis=-1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def numpy_stratified_indices(rng, strata_units, replicates):
    """Index matrix (replicates x cases): units drawn with replacement within each stratum."""
    parts = [units[rng.integers(0, len(units), size=(replicates, len(units)))] for units in strata_units]
    return np.concatenate(parts, axis=1)


def percentile_mc_tolerance(se, replicates_a, replicates_b, confidence=0.95, k=3.0):
    """k Monte-Carlo standard errors of the difference of two independent bootstrap quantile
    estimates, approximating the bootstrap distribution as normal with sd `se`."""
    q = (1 - confidence) / 2
    density = sps.norm.pdf(sps.norm.ppf(q)) / se
    var_one = lambda b: q * (1 - q) / b / density ** 2
    return k * math.sqrt(var_one(replicates_a) + var_one(replicates_b))


def bca_interval(replicates, estimate, jackknife, confidence=0.95):
    replicates = np.sort(replicates)
    prop = (np.sum(replicates < estimate) + 0.5 * np.sum(replicates == estimate)) / replicates.size
    z0 = sps.norm.ppf(prop)
    d = jackknife.mean() - jackknife
    a = np.sum(d ** 3) / (6 * np.sum(d ** 2) ** 1.5)
    z = sps.norm.ppf([(1 - confidence) / 2, (1 + confidence) / 2])
    levels = sps.norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))
    return np.percentile(replicates, 100 * levels)


class TestBootstrapWithinMonteCarloError(Helpers):
    REPLICATES = 4000

    def test_stratified_auc_percentile_and_bca(self):
        d = DATASETS["continuous_500"]
        labels, scores = d["labels"], d["scores"]
        mine = probe({"labels": labels.tolist(), "scores": scores.tolist(), "replicates": self.REPLICATES,
                      "seed": 11})["bootstrap_auc"]
        rng = np.random.default_rng(5)
        idx = numpy_stratified_indices(rng, [np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)],
                                       self.REPLICATES)
        reps = numpy_auc(labels[idx], scores[idx])
        se = reps.std(ddof=1)
        tol = percentile_mc_tolerance(se, self.REPLICATES, self.REPLICATES)
        self.assertClose(mine["percentile"], np.percentile(reps, [2.5, 97.5]), tol=tol, msg="percentile")
        self.assertClose(mine["se"], se, rel=True, tol=0.1, msg="bootstrap se")
        delong_se = ANSWERS["continuous_500"]["delong"]["se"]
        self.assertClose(mine["se"], delong_se, rel=True, tol=0.1, msg="bootstrap se vs DeLong se")
        # BCa: the jackknife is exact, so the acceleration must agree to rounding.
        n = labels.size
        keep = ~np.eye(n, dtype=bool)
        jack = numpy_auc(np.broadcast_to(labels, (n, n))[keep].reshape(n, n - 1),
                         np.broadcast_to(scores, (n, n))[keep].reshape(n, n - 1))
        dj = jack.mean() - jack
        self.assertClose(mine["acceleration"], np.sum(dj ** 3) / (6 * np.sum(dj ** 2) ** 1.5), tol=1e-12,
                         msg="acceleration")
        estimate = skm.roc_auc_score(labels, scores)
        self.assertClose(mine["bca"], bca_interval(reps, estimate, jack), tol=1.5 * tol, msg="bca")

    def test_clustered_auc_percentile(self):
        d = DATASETS["ties_2000"]
        labels, scores, groups = d["labels"], d["scores"], d["groups"]
        mine = probe({"labels": labels.tolist(), "scores": scores.tolist(), "groups": groups.tolist(),
                      "replicates": self.REPLICATES, "seed": 3, "bca": False})["bootstrap_auc_clustered"]
        # Clusters stratified by whether they contain a positive; a drawn cluster brings all its cases.
        cluster_ids = np.unique(groups)
        has_pos = np.array([labels[groups == g].max() for g in cluster_ids])
        rng = np.random.default_rng(9)
        strata = [cluster_ids[has_pos == 0], cluster_ids[has_pos == 1]]
        members = {g: np.flatnonzero(groups == g) for g in cluster_ids}
        reps = np.empty(self.REPLICATES)
        drawn = numpy_stratified_indices(rng, strata, self.REPLICATES)
        for r in range(self.REPLICATES):
            idx = np.concatenate([members[g] for g in drawn[r]])
            reps[r] = numpy_auc(labels[idx], scores[idx])
        se = reps.std(ddof=1)
        tol = percentile_mc_tolerance(se, self.REPLICATES, self.REPLICATES)
        self.assertClose(mine["percentile"], np.percentile(reps, [2.5, 97.5]), tol=tol, msg="percentile")
        self.assertClose(mine["se"], se, rel=True, tol=0.1, msg="clustered se")

    def test_kappa_bootstrap(self):
        d = DATASETS["continuous_500"]
        truth, pred = d["truth"], d["pred"]
        replicates = 2000
        mine = probe({"grades_true": truth.tolist(), "grades_pred": pred.tolist(), "replicates": replicates,
                      "seed": 5, "bca": False})["kappa_bootstrap"]
        rng = np.random.default_rng(13)
        idx = rng.integers(0, truth.size, size=(replicates, truth.size))
        reps = np.array([skm.cohen_kappa_score(truth[i], pred[i], weights="quadratic", labels=list(range(6)))
                         for i in idx])
        se = reps.std(ddof=1)
        tol = percentile_mc_tolerance(se, replicates, replicates)
        self.assertClose(mine["percentile"], np.percentile(reps, [2.5, 97.5]), tol=tol, msg="kappa percentile")
        self.assertClose(mine["se"], se, rel=True, tol=0.1, msg="kappa bootstrap se")
        self.assertClose(mine["se"], ANSWERS["continuous_500"]["kappa"]["se"], rel=True, tol=0.15,
                         msg="bootstrap se vs Fleiss-Cohen-Everitt se")

    def test_seeded_and_independent_of_threads(self):
        d = DATASETS["small_ties"]
        base = {"labels": d["labels"].tolist(), "scores": d["scores"].tolist(), "groups": d["groups"].tolist(),
                "replicates": 300, "seed": 42, "keep_replicates": True}
        one = probe(dict(base, threads=1))
        four = probe(dict(base, threads=4))
        self.assertEqual(one["bootstrap_auc"], four["bootstrap_auc"])
        self.assertEqual(one["bootstrap_auc_clustered"], four["bootstrap_auc_clustered"])
        other = probe(dict(base, seed=43))
        self.assertNotEqual(one["bootstrap_auc"]["replicates"], other["bootstrap_auc"]["replicates"])


class TestThresholdsAndAggregation(Helpers):
    def test_threshold_for_sensitivity(self):
        for name, d in DATASETS.items():
            for target in [0.5, 0.85, 0.9, 1.0]:
                with self.subTest(name=name, target=target):
                    mine = probe({"labels": d["labels"].tolist(), "scores": d["scores"].tolist(),
                                  "target_sensitivity": target, "bootstrap": False})["threshold_for_sensitivity"]
                    pos = d["scores"][d["labels"] == 1]
                    neg = d["scores"][d["labels"] == 0]
                    candidates = np.unique(d["scores"])
                    sens = np.array([np.mean(pos >= t) for t in candidates])
                    best = candidates[sens >= target].max()
                    self.assertEqual(mine["threshold"], best)
                    self.assertClose(mine["sensitivity"], np.mean(pos >= best), tol=1e-15)
                    self.assertClose(mine["specificity"], np.mean(neg < best), tol=1e-15)

    def test_youden_threshold(self):
        for name, d in DATASETS.items():
            with self.subTest(name=name):
                fpr, tpr, thr = skm.roc_curve(d["labels"], d["scores"], drop_intermediate=False)
                n_pos = int(d["labels"].sum())
                n_neg = d["labels"].size - n_pos
                tp = np.rint(tpr * n_pos).astype(np.int64)
                fp = np.rint(fpr * n_neg).astype(np.int64)
                j = tp * n_neg - fp * n_pos
                best = int(np.argmax(j[1:])) + 1  # first maximum in decreasing threshold order
                mine = ANSWERS[name]["youden"]
                self.assertEqual(mine["threshold"], thr[best])
                self.assertClose(mine["youden"], tpr[best] - fpr[best], tol=1e-15)

    def test_patient_aggregation(self):
        d = DATASETS["continuous_500"]
        ids = [f"P{g:04d}" for g in d["groups"]]
        for how in ["max", "mean"]:
            with self.subTest(aggregation=how):
                mine = probe({"patients": {"ids": ids, "labels": d["labels"].tolist(),
                                           "scores": d["scores"].tolist(), "aggregation": how}})["patients"]
                order = list(dict.fromkeys(ids))
                self.assertEqual(mine["ids"], order)
                ids_arr = np.array(ids)
                for k, pid in enumerate(order):
                    rows = ids_arr == pid
                    self.assertEqual(mine["labels"][k], int(d["labels"][rows].max()))
                    expected = d["scores"][rows].max() if how == "max" else d["scores"][rows].mean()
                    self.assertClose(mine["scores"][k], expected, tol=1e-15)
                    self.assertEqual(mine["slides"][k], int(rows.sum()))


class TestInvalidInput(Helpers):
    def assertInvalid(self, section):
        self.assertEqual(section.get("error"), "invalid_argument", section)

    def test_nan_score_one_class_mismatch_empty(self):
        nan = probe({"labels": [0, 1, 1], "scores": [0.1, None, 0.3]})
        for key in ["auc", "delong", "roc_curve", "binary", "bootstrap_auc", "brier", "calibration_slope"]:
            self.assertInvalid(nan[key])
        one_class = probe({"labels": [1, 1, 1], "scores": [0.1, 0.2, 0.3]})
        for key in ["auc", "delong", "roc_curve", "youden", "bootstrap_auc", "calibration_slope",
                    "calibration_in_the_large"]:
            self.assertInvalid(one_class[key])
        self.assertEqual(one_class["binary"]["confusion"], {"tp": 0, "fp": 0, "tn": 0, "fn": 3})
        self.assertIsNone(one_class["binary"]["specificity"]["estimate"])
        mismatch = probe({"labels": [0, 1], "scores": [0.1, 0.2, 0.3], "scores2": [0.1, 0.2]})
        for key in ["auc", "delong", "paired", "binary", "brier"]:
            self.assertInvalid(mismatch[key])
        empty = probe({"labels": [], "scores": [], "grades_true": [], "grades_pred": []})
        for key in ["auc", "binary", "brier", "kappa", "kappa_bootstrap"]:
            self.assertInvalid(empty[key])

    def test_bad_grades_probabilities_and_centres(self):
        grades = probe({"grades_true": [0, 1, 7], "grades_pred": [0, 1, 2]})
        self.assertInvalid(grades["kappa"])
        constant = probe({"grades_true": [2, 2, 2], "grades_pred": [2, 2, 2]})
        self.assertInvalid(constant["kappa"])
        probs = probe({"labels": [0, 1, 0, 1], "scores": [0.1, 1.5, 0.2, 0.8], "bootstrap": False})
        self.assertInvalid(probs["brier"])
        self.assertInvalid(probs["reliability"])
        self.assertAlmostEqual(probs["auc"], 1.0)
        perfect = DATASETS["perfect"]
        answer = probe({"centres": [{"labels": perfect["labels"].tolist(), "scores": perfect["scores"].tolist()},
                                    {"labels": CENTRES[0]["labels"].tolist(),
                                     "scores": CENTRES[0]["scores"].tolist()}]})
        # A perfectly separating centre used to make the pooling fail; it now enters corrected
        # (checked against metafor in TestMetaAnalysisAgainstMetafor).
        self.assertEqual(answer["pooled"]["corrected"], [True, False])


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    unittest.main()
