"""Federated validation: each centre writes a summary of aggregates only; combining them gives
the centralised exact statistics, and the pooled AUC within its stated histogram bound."""
import csv
import hashlib
import json
import os
import shutil
import tempfile
import unittest

from harness import run_cli
from validation_data import write_demo_validation


def read_json(path):
    with open(path) as f:
        return json.load(f)


def split_by_centre(dataset, predictions, folder):
    """One (dataset, predictions) pair of files per centre, as each hospital would hold them."""
    with open(dataset, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(predictions, newline="") as f:
        scores = list(csv.DictReader(f))
    files = {}
    for centre in sorted({r["centre"] for r in rows}):
        mine = [r for r in rows if r["centre"] == centre]
        ids = {r["slide_id"] for r in mine}
        d = os.path.join(folder, centre + "-dataset.csv")
        p = os.path.join(folder, centre + "-predictions.csv")
        for path, table in ((d, mine), (p, [s for s in scores if s["slide_id"] in ids])):
            with open(path, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=list(table[0].keys()))
                writer.writeheader()
                writer.writerows(table)
        files[centre] = (d, p, mine)
    return files


class FederatedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="mcval-federated-")
        cls.data = os.path.join(cls.dir, "data")
        dataset, predictions = write_demo_validation(cls.dir)
        central = run_cli("validate", "--dataset", dataset, "--predictions", predictions, "--threshold", "0.5",
                          "--out", os.path.join(cls.dir, "central"), "--bootstrap", "0", "--data", cls.data)
        assert central.returncode == 0, central.stderr
        cls.central = read_json(os.path.join(cls.dir, "central", "report.json"))
        cls.files = split_by_centre(dataset, predictions, cls.dir)
        cls.summaries = []
        for centre, (d, p, _) in cls.files.items():
            out = os.path.join(cls.dir, "summary-" + centre)
            res = run_cli("validate", "--summary-only", "--dataset", d, "--predictions", p, "--threshold", "0.5",
                          "--out", out, "--data", cls.data)
            assert res.returncode == 0, res.stderr
            cls.summaries.append(os.path.join(out, "summary.json"))
        combined = run_cli("validate", "--combine", *cls.summaries, "--out", os.path.join(cls.dir, "combined"),
                           "--data", cls.data)
        assert combined.returncode == 0, combined.stderr
        cls.combined_stdout = combined.stdout
        cls.combined = read_json(os.path.join(cls.dir, "combined", "report.json"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_a_summary_holds_no_slide_or_patient_identifier_and_no_row(self):
        for path, (centre, (_, _, rows)) in zip(self.summaries, self.files.items()):
            with open(path) as f:
                text = f.read()
            for r in rows:
                self.assertNotIn(r["slide_id"], text)
                self.assertNotIn(r["patient_id"], text)
            summary = json.loads(text)
            self.assertEqual(list(summary["centres"]), [centre])
            c = summary["centres"][centre]
            for key, value in c.items():
                # Every list is a fixed-size aggregate (histogram grid, bins, 6x6 matrix), never one per slide.
                if isinstance(value, list):
                    self.assertIn(len(value), (summary["ece_bins"], 6), key)
            self.assertEqual(len(c["score_histogram"]["positive"]), summary["histogram_bins"])

    def test_exact_statistics_equal_the_centralised_ones(self):
        for name in [None, *self.central["centres"]]:
            a = self.central["pooled"] if name is None else self.central["centres"][name]
            b = self.combined["pooled"] if name is None else self.combined["centres"][name]
            self.assertEqual(a["n"], b["n"], name)
            self.assertEqual(a["confusion"], b["confusion"], name)
            for key in ("sensitivity", "specificity", "ppv", "npv"):
                for bound in ("estimate", "ci_low", "ci_high"):
                    self.assertEqual(a[key][bound], b[key][bound], (name, key, bound))
            self.assertAlmostEqual(a["brier"], b["brier"], delta=1e-12, msg=name)
            self.assertAlmostEqual(a["ece"], b["ece"], delta=1e-12, msg=name)
            self.assertEqual(a["isup_confusion"], b["isup_confusion"], name)
            for bound in ("estimate", "ci_low", "ci_high"):
                self.assertAlmostEqual(a["qwk"][bound], b["qwk"][bound], delta=1e-12, msg=name)
            if name is not None:
                self.assertAlmostEqual(a["auc"]["estimate"], b["auc"]["estimate"], delta=1e-12)
                self.assertAlmostEqual(a["auc"]["se_delong"], b["auc"]["se_delong"], delta=1e-12)
        for key in ("q", "i2", "tau2"):
            self.assertAlmostEqual(self.central["heterogeneity"][key], self.combined["heterogeneity"][key], delta=1e-12)
        self.assertEqual(self.central["flow"]["total"]["analysed"], self.combined["flow"]["total"]["analysed"])

    def test_decision_curves_from_counts_equal_the_centralised_ones(self):
        for name in [None, *self.central["centres"]]:
            a = self.central["pooled"] if name is None else self.central["centres"][name]
            b = self.combined["pooled"] if name is None else self.combined["centres"][name]
            da, db = a["decision_curve"], b["decision_curve"]
            self.assertEqual(da["thresholds"], db["thresholds"], name)
            for key in ("model", "treat_all"):
                for x, y in zip(da[key], db[key]):
                    self.assertAlmostEqual(x, y, delta=1e-12, msg=(name, key))
            self.assertAlmostEqual(da["at_threshold"]["model"], db["at_threshold"]["model"], delta=1e-12, msg=name)
            # The combining run bootstraps the counts (its default replicates); the band holds the curve.
            band = db["band"]
            self.assertGreaterEqual(band["replicates"], 2)
            k = db["thresholds"].index(0.5)
            self.assertLessEqual(band["model_low"][k], db["model"][k] + 1e-12)
            self.assertGreaterEqual(band["model_high"][k], db["model"][k] - 1e-12)
        self.assertEqual(self.central["heterogeneity"]["corrected_centres"],
                         self.combined["heterogeneity"]["corrected_centres"])
        self.assertEqual(self.central["heterogeneity"]["centres"], self.combined["heterogeneity"]["centres"])

    def test_pooled_auc_is_within_its_stated_bound(self):
        auc = self.combined["pooled"]["auc"]
        exact = self.central["pooled"]["auc"]["estimate"]
        self.assertLessEqual(abs(auc["estimate"] - exact), auc["histogram_error_bound"] + 1e-15)
        self.assertLess(auc["histogram_error_bound"], 0.01)
        self.assertIn("exact within", self.combined_stdout)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "combined", "report.html")))
        self.assertEqual(len(self.combined["federated"]["summaries"]), 3)

    def test_an_altered_summary_is_refused(self):
        summary = read_json(self.summaries[0])
        centre = next(iter(summary["centres"]))
        summary["centres"][centre]["confusion"]["tp"] += 1
        forged = os.path.join(self.dir, "forged.json")
        with open(forged, "w") as f:
            json.dump(summary, f)
        res = run_cli("validate", "--combine", forged, *self.summaries[1:], "--out", os.path.join(self.dir, "x"),
                      "--data", self.data)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("altered", res.stderr)

    def test_a_summary_with_a_number_that_is_not_a_count_is_refused(self):
        # A site can recompute content_sha256, so the combiner must check every number itself: a
        # float, a negative or an enormous value where a count belongs is refused with its name.
        for bad in (1e300, -3, 2**62, 0.5):
            summary = read_json(self.summaries[0])
            centre = next(iter(summary["centres"]))
            summary["centres"][centre]["score_histogram"]["positive"][0] = bad
            del summary["content_sha256"]
            body = json.dumps(summary, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            summary["content_sha256"] = hashlib.sha256(body.encode()).hexdigest()
            resealed = os.path.join(self.dir, "resealed.json")
            with open(resealed, "w") as f:
                json.dump(summary, f)
            res = run_cli("validate", "--combine", resealed, *self.summaries[1:], "--out",
                          os.path.join(self.dir, "w"), "--data", self.data)
            self.assertEqual(res.returncode, 2, (bad, res.stderr))
            self.assertIn("a score histogram bin is not a count", res.stderr)
            self.assertNotIn("altered", res.stderr)

    def test_a_centre_sent_twice_is_refused(self):
        res = run_cli("validate", "--combine", self.summaries[0], self.summaries[0], "--out",
                      os.path.join(self.dir, "y"), "--data", self.data)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("appears in two summaries", res.stderr)

    def test_a_summary_needs_a_pre_registered_threshold(self):
        d, p, _ = next(iter(self.files.values()))
        res = run_cli("validate", "--summary-only", "--dataset", d, "--predictions", p, "--development-centre",
                      "centre-a", "--out", os.path.join(self.dir, "z"), "--data", self.data)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("threshold", res.stderr)


if __name__ == "__main__":
    unittest.main()
