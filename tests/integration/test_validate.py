"""`mcval validate` end to end on seeded multi-centre data: the report's numbers agree with
scikit-learn and statsmodels, reruns are identical, bad input is rejected with row-level
errors and writes nothing."""
import csv
import json
import os
import shutil
import tempfile
import unittest

import numpy
from sklearn.metrics import brier_score_loss, cohen_kappa_score, roc_auc_score
from statsmodels.stats.proportion import proportion_confint

from harness import Server, Workspace, run_cli
from validation_data import write_demo_validation


def read_json(path):
    with open(path) as f:
        return json.load(f)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def load_joined(dataset, predictions):
    scores = {r["slide_id"]: r for r in read_csv(predictions)}
    rows = []
    for r in read_csv(dataset):
        if r["exclude_reason"] or r["slide_id"] not in scores:
            continue
        p = scores[r["slide_id"]]
        rows.append((r["centre"], int(r["label"]), float(p["score"]), int(r["isup_grade"]), int(p["isup_pred"])))
    return rows


class ValidateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="mcval-validate-")
        cls.dataset, cls.predictions = write_demo_validation(cls.dir)
        cls.out = os.path.join(cls.dir, "out")
        cls.data = os.path.join(cls.dir, "data")
        res = run_cli("validate", "--dataset", cls.dataset, "--predictions", cls.predictions, "--threshold", "0.5",
                      "--out", cls.out, "--seed", "3", "--bootstrap", "500", "--data", cls.data)
        if res.returncode != 0:
            raise RuntimeError(res.stderr)
        cls.stdout = res.stdout
        cls.report = read_json(os.path.join(cls.out, "report.json"))
        cls.rows = load_joined(cls.dataset, cls.predictions)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_report_has_the_contracted_keys(self):
        r = self.report
        for key in ("threshold", "dataset_sha256", "seed", "version", "pooled", "centres", "heterogeneity", "flow"):
            self.assertIn(key, r)
        self.assertEqual(set(r["centres"]), {"centre-a", "centre-b", "centre-c"})
        for stats in [r["pooled"], *r["centres"].values()]:
            for key in ("n", "n_positive", "brier", "ece"):
                self.assertIn(key, stats)
            self.assertEqual(set(stats["auc"]) >= {"estimate", "ci_low", "ci_high", "se_delong"}, True)
            for key in ("sensitivity", "specificity", "ppv", "npv", "qwk"):
                self.assertTrue(set(stats[key]) >= {"estimate", "ci_low", "ci_high"}, key)
            self.assertEqual(set(stats["confusion"]), {"tp", "fp", "tn", "fn"})
            self.assertEqual(set(stats["calibration"]) >= {"slope", "intercept"}, True)
        h = r["heterogeneity"]
        for key in ("q", "i2", "tau2", "pooled_auc_random_effects", "prediction_interval"):
            self.assertIsNotNone(h[key], key)
        self.assertTrue(os.path.exists(os.path.join(self.out, "report.html")))
        self.assertTrue(os.path.exists(os.path.join(self.out, "per_slide.csv")))
        self.assertIn("pooled AUC", self.stdout)

    def test_numbers_agree_with_scikit_learn_and_statsmodels(self):
        for centre in (None, "centre-a", "centre-b", "centre-c"):
            rows = [r for r in self.rows if centre is None or r[0] == centre]
            labels = numpy.array([r[1] for r in rows])
            scores = numpy.array([r[2] for r in rows])
            stats = self.report["pooled"] if centre is None else self.report["centres"][centre]
            self.assertEqual(stats["n"], len(rows))
            self.assertAlmostEqual(stats["auc"]["estimate"], roc_auc_score(labels, scores), delta=1e-12)
            self.assertAlmostEqual(stats["brier"], brier_score_loss(labels, scores), delta=1e-12)
            predicted = scores >= 0.5
            tp = int(numpy.sum(predicted & (labels == 1)))
            fn = int(numpy.sum(~predicted & (labels == 1)))
            self.assertEqual(stats["confusion"]["tp"], tp)
            self.assertEqual(stats["confusion"]["fn"], fn)
            low, high = proportion_confint(tp, tp + fn, alpha=0.05, method="wilson")
            self.assertAlmostEqual(stats["sensitivity"]["ci_low"], low, delta=1e-12)
            self.assertAlmostEqual(stats["sensitivity"]["ci_high"], high, delta=1e-12)
            qwk = cohen_kappa_score([r[3] for r in rows], [r[4] for r in rows], weights="quadratic", labels=range(6))
            self.assertAlmostEqual(stats["qwk"]["estimate"], qwk, delta=1e-12)

    def test_subgroups_by_scanner_and_specimen(self):
        sub = self.report["subgroups"]
        self.assertEqual(sub["variables"], ["scanner", "specimen"])
        levels = sub["scanner"]["pooled"]["levels"]
        # The demo's scanner is one per centre: scanner-a is centre-a's, and so on.
        self.assertEqual(set(levels), {"scanner-a", "scanner-b", "scanner-c"})
        for centre in ("centre-a", "centre-b", "centre-c"):
            rows = [r for r in self.rows if r[0] == centre]
            cell = levels["scanner-" + centre[-1]]
            self.assertEqual(cell["n"], len(rows))
            self.assertAlmostEqual(cell["auc"]["estimate"], roc_auc_score([r[1] for r in rows], [r[2] for r in rows]),
                                   delta=1e-12)
            self.assertEqual(set(sub["scanner"]["centres"][centre]["levels"]), {"scanner-" + centre[-1]})
        test = sub["scanner"]["pooled"]["test"]
        self.assertIn("Cochran", test["method"])
        self.assertEqual(test["df"], 2)
        # One specimen type only: no test, and it says why.
        specimen = sub["specimen"]["pooled"]
        self.assertEqual(list(specimen["levels"]), ["biopsy"])
        self.assertIsNone(specimen["test"]["p"])
        self.assertIn("fewer than two levels", specimen["test"]["note"])

    def test_flow_counts_add_up(self):
        total = self.report["flow"]["total"]
        self.assertEqual(total["received"], total["excluded_total"] + total["failed_inference"] + total["analysed"])
        self.assertEqual(total["analysed"], len(self.rows))
        self.assertGreater(total["excluded_total"], 0)
        self.assertGreater(total["failed_inference"], 0)

    def test_rerun_gives_identical_numbers(self):
        out2 = os.path.join(self.dir, "out2")
        res = run_cli("validate", "--dataset", self.dataset, "--predictions", self.predictions, "--threshold", "0.5",
                      "--out", out2, "--seed", "3", "--bootstrap", "500", "--threads", "1", "--data", self.data)
        self.assertEqual(res.returncode, 0, res.stderr)
        again = read_json(os.path.join(out2, "report.json"))
        for report in (again, self.report):
            report.pop("created_at")
        self.assertEqual(again, self.report)

    def test_threshold_derived_on_the_development_centre(self):
        out3 = os.path.join(self.dir, "out3")
        res = run_cli("validate", "--dataset", self.dataset, "--predictions", self.predictions,
                      "--development-centre", "centre-a", "--target-sensitivity", "0.9", "--out", out3,
                      "--bootstrap", "0", "--data", os.path.join(self.dir, "data3"))
        self.assertEqual(res.returncode, 0, res.stderr)
        report = read_json(os.path.join(out3, "report.json"))
        self.assertEqual(report["parameters"]["threshold_source"], "development-centre")
        self.assertGreaterEqual(report["centres"]["centre-a"]["sensitivity"]["estimate"], 0.9)
        self.assertTrue(report["centres"]["centre-a"]["development"])

    def test_broken_dataset_is_rejected_with_row_level_errors_and_writes_nothing(self):
        broken = os.path.join(self.dir, "broken.csv")
        with open(broken, "w") as f:
            f.write("slide_id,centre,patient_id,label\ns1,centre-a,p1,1\ns2,centre-a,p2,2\ns1,centre-b,p3,0\n")
        out4 = os.path.join(self.dir, "out4")
        res = run_cli("validate", "--dataset", broken, "--predictions", self.predictions, "--threshold", "0.5",
                      "--out", out4, "--data", os.path.join(self.dir, "data4"))
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("line 3, column label", res.stderr)
        self.assertFalse(os.path.exists(os.path.join(out4, "report.json")))

    def test_a_named_dataset_from_the_catalogue_gives_the_same_report(self):
        data = os.path.join(self.dir, "named-data")
        imported = run_cli("dataset", "import", self.dataset, "--name", "study-1", "--data", data)
        self.assertEqual(imported.returncode, 0, imported.stderr)
        self.assertIn(self.report["dataset_sha256"], imported.stdout)
        listing = run_cli("dataset", "list", "--data", data)
        self.assertIn("study-1", listing.stdout)
        out = os.path.join(self.dir, "named-out")
        res = run_cli("validate", "--dataset", "study-1", "--predictions", self.predictions, "--threshold", "0.5",
                      "--out", out, "--seed", "3", "--bootstrap", "500", "--data", data)
        self.assertEqual(res.returncode, 0, res.stderr)
        named = read_json(os.path.join(out, "report.json"))
        self.assertEqual(named["dataset_sha256"], self.report["dataset_sha256"])
        self.assertEqual(named["pooled"], self.report["pooled"])
        # A frozen name never takes other content.
        changed = os.path.join(self.dir, "changed.csv")
        with open(self.dataset) as src, open(changed, "w") as dst:
            dst.write(src.read().replace("poor staining", "poor fixation"))
        refused = run_cli("dataset", "import", changed, "--name", "study-1", "--data", data)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("frozen", refused.stderr)
        missing = run_cli("validate", "--dataset", "no-such-dataset", "--predictions", self.predictions,
                          "--threshold", "0.5", "--out", out, "--data", data)
        self.assertNotEqual(missing.returncode, 0)

    def test_reports_are_listed_and_served_by_the_server(self):
        ws = Workspace()
        try:
            ws.add_slide("centre-a", "cmu.svs")
            ws.data = self.data
            server = Server(ws)
            try:
                reports = server.get("/api/v1/reports").json()["reports"]
                self.assertGreaterEqual(len(reports), 1)
                run = reports[0]
                self.assertEqual(run["dataset_sha256"], self.report["dataset_sha256"])
                self.assertAlmostEqual(run["pooled_auc"], self.report["pooled"]["auc"]["estimate"])
                html = server.get(run["urls"]["html"])
                self.assertEqual(html.status, 200)
                self.assertTrue(html.header("Content-Type").startswith("text/html"))
                self.assertIn("style-src 'unsafe-inline'", html.header("Content-Security-Policy"))
                self.assertIn("script-src", html.header("Content-Security-Policy") + "script-src")
                self.assertIn(b"<svg", html.body)
                served = server.get(run["urls"]["json"]).json()
                self.assertEqual(served["pooled"]["n"], self.report["pooled"]["n"])
                self.assertEqual(server.get(run["urls"]["per_slide_csv"]).status, 200)
                for bad in ("/reports/%s/secret.txt" % run["id"], "/reports/..%2f..%2fdata/report.json",
                            "/reports/0000000000000000/report.html", "/reports/" + run["id"] + "/..%2freport.json"):
                    self.assertEqual(server.get(bad).status, 404, bad)
            finally:
                server.stop()
        finally:
            ws.data = os.path.join(ws.dir, "data")
            ws.cleanup()


if __name__ == "__main__":
    unittest.main()
