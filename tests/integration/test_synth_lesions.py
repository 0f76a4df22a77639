"""`mcval synth` with lesions: the ground truth written beside the slide root (exact positive
counts per centre, slide ids that are the catalogue's, regions that agree with the labels), the
lesions really darker in haematoxylin than the other tissue at about 2 um/px when read back with
OpenSlide, in every centre's stain, and `mcval validate` / `mcval dataset import` taking the
dataset file."""
import csv
import filecmp
import json
import os
import unittest

import numpy
import openslide
from PIL import Image, ImageDraw

from harness import CMU_SLIDE, Workspace, run_cli

WIDTH, HEIGHT = 8000, 6000
CENTRES = ("centre-a", "centre-b", "centre-c")
SLIDES_PER_CENTRE = 4
HEADER = ["slide_id", "centre", "patient_id", "label", "isup_grade", "scanner", "specimen", "path"]

# Ruifrok & Johnston's H&E(-DAB) OD vectors; haematoxylin is the first row of the inverse.
RUIFROK = numpy.array([[0.650, 0.704, 0.286], [0.072, 0.990, 0.105], [0.268, 0.570, 0.776]])
HAEMATOXYLIN = numpy.linalg.inv(RUIFROK)[:, 0]


def synth(out, *extra, truth_out=None, centres=CENTRES, width=WIDTH, height=HEIGHT):
    args = ["synth", "--source", CMU_SLIDE, "--out", out, "--centres", ",".join(centres),
            "--slides-per-centre", str(SLIDES_PER_CENTRE), "--width", str(width), "--height", str(height),
            "--seed", "5", *extra]
    if truth_out:
        args += ["--truth-out", truth_out]
    return run_cli(*args, timeout=600)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def region_mask(features, size, downsample, kinds):
    """A level image mask (True inside) of the features of the given kinds."""
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(mask)
    for f in features:
        if f["properties"]["kind"] in kinds:
            ring = [(x / downsample, y / downsample) for x, y in f["geometry"]["coordinates"][0]]
            draw.polygon(ring, fill=255)
    return numpy.asarray(mask) > 0


class SynthLesionsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        res = synth(cls.ws.slides)
        if res.returncode != 0:
            raise RuntimeError("mcval synth failed: " + res.stderr)
        cls.stdout = res.stdout
        cls.truth = os.path.join(cls.ws.dir, "ground-truth")  # default: beside the slide root
        cls.rows = read_csv(os.path.join(cls.truth, "ground_truth.csv"))
        with open(os.path.join(cls.truth, "lesions.geojson")) as f:
            cls.geojson = json.load(f)
        cls.features = {}
        for feature in cls.geojson["features"]:
            cls.features.setdefault(feature["properties"]["slide_id"], []).append(feature)
        cls.slides = [dict(zip(HEADER, row)) for row in cls.rows[1:]]

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def test_truth_goes_beside_the_slide_root_which_holds_slides_only(self):
        self.assertEqual(sorted(os.listdir(self.truth)),
                         ["ground_truth.csv", "ground_truth_dataset.csv", "lesions.geojson"])
        self.assertEqual(sorted(os.listdir(self.ws.slides)), list(CENTRES))
        for centre in CENTRES:
            names = sorted(os.listdir(os.path.join(self.ws.slides, centre)))
            self.assertEqual(names, ["synth-%s-%03d.svs" % (centre, i) for i in range(SLIDES_PER_CENTRE)])

    def test_csv_has_the_header_and_exact_positive_counts_per_centre(self):
        self.assertEqual(self.rows[0], HEADER)
        self.assertEqual(len(self.slides), len(CENTRES) * SLIDES_PER_CENTRE)
        positives = {c: sum(s["label"] == "1" for s in self.slides if s["centre"] == c) for c in CENTRES}
        self.assertEqual(positives, {"centre-a": 2, "centre-b": 1, "centre-c": 1})  # round(0.5|0.35|0.25 * 4)
        for s in self.slides:
            grade = int(s["isup_grade"])
            self.assertTrue(1 <= grade <= 5 if s["label"] == "1" else grade == 0, s)
            self.assertTrue(s["patient_id"].startswith(s["centre"][-1] + "-P"), s)
            self.assertIn(s["specimen"], ("biopsy", "resection"))
            self.assertTrue(os.path.isfile(os.path.join(self.ws.slides, s["path"])), s)
        self.assertEqual({s["scanner"] for s in self.slides if s["centre"] == "centre-c"}, {"Hamamatsu S360"})
        for centre in CENTRES:
            self.assertRegex(self.stdout, r"(?m)^%s: 4 slides, %d positive" % (centre, positives[centre]))

    def test_slide_ids_are_the_catalogues(self):
        res = run_cli("ingest", "--slides", self.ws.slides, "--data", self.ws.data)
        self.assertEqual(res.returncode, 0, res.stderr)
        res = run_cli("slides", "list", "--json", "--data", self.ws.data)
        self.assertEqual(res.returncode, 0, res.stderr)
        catalogue = {s["relative_path"]: s["id"] for s in json.loads(res.stdout)}
        self.assertEqual(catalogue, {s["path"]: s["slide_id"] for s in self.slides})

    def test_regions_agree_with_the_labels_and_lie_on_the_slide(self):
        for s in self.slides:
            features = self.features.get(s["slide_id"], [])
            lesions = [f for f in features if f["properties"]["kind"] == "lesion"]
            if s["label"] == "1":
                self.assertGreaterEqual(len(lesions), 1, s)
                self.assertLessEqual(len(lesions), 4, s)
            else:
                self.assertEqual(lesions, [], s)
            for f in features:
                props = f["properties"]
                self.assertEqual((props["centre"], props["path"]), (s["centre"], s["path"]))
                self.assertEqual(props["isup_grade"], int(s["isup_grade"]) if props["kind"] == "lesion" else 0)
                ring = f["geometry"]["coordinates"][0]
                self.assertEqual(ring[0], ring[-1])
                for x, y in ring:
                    self.assertTrue(0 <= x < WIDTH and 0 <= y < HEIGHT, (x, y))

    def test_lesions_are_darker_in_haematoxylin_at_two_microns_per_pixel_in_every_centre(self):
        for s in self.slides:
            features = self.features.get(s["slide_id"], [])
            if s["label"] != "1":
                continue
            slide = openslide.OpenSlide(os.path.join(self.ws.slides, s["path"]))
            level = slide.get_best_level_for_downsample(4)
            downsample = slide.level_downsamples[level]
            mpp = float(slide.properties["openslide.mpp-x"]) * downsample
            self.assertTrue(1.0 <= mpp <= 2.5, mpp)
            size = slide.level_dimensions[level]
            rgb = numpy.asarray(slide.read_region((0, 0), level, size).convert("RGB"), dtype=numpy.float64)
            od = -numpy.log((rgb + 1) / 256)
            tissue = od.sum(axis=2) > 0.3
            haematoxylin = od @ HAEMATOXYLIN
            lesion = region_mask(features, size, downsample, ("lesion",)) & tissue
            other = ~region_mask(features, size, downsample, ("lesion", "mimic")) & tissue
            self.assertGreater(lesion.sum(), 1000, s)
            inside, outside = haematoxylin[lesion].mean(), haematoxylin[other].mean()
            self.assertGreater(inside, 1.25 * outside, "%s: lesion %.3f, other tissue %.3f" % (s["path"], inside, outside))
            # On tissue: most of each lesion's outline encloses tissue.
            for f in features:
                mask = region_mask([f], size, downsample, ("lesion", "mimic"))
                self.assertGreater((mask & tissue).sum() / mask.sum(), 0.85, s["path"])

    def test_validate_and_dataset_import_take_the_dataset_file(self):
        dataset = os.path.join(self.truth, "ground_truth_dataset.csv")
        self.assertEqual(read_csv(dataset)[0], HEADER[:-1])
        predictions = os.path.join(self.ws.dir, "scores.csv")
        with open(predictions, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["slide_id", "score"])
            for s in self.slides:
                writer.writerow([s["slide_id"], "0.9" if s["label"] == "1" else "0.1"])
        out = os.path.join(self.ws.dir, "report")
        res = run_cli("validate", "--dataset", dataset, "--predictions", predictions, "--threshold", "0.5",
                      "--bootstrap", "0", "--out", out, "--data", self.ws.data)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertTrue(os.path.isfile(os.path.join(out, "report.json")))
        res = run_cli("dataset", "import", dataset, "--name", "synth-truth", "--data", self.ws.data)
        self.assertEqual(res.returncode, 0, res.stderr)

    def test_same_seed_gives_the_same_slides_and_truth(self):
        again = Workspace()
        try:
            truth = os.path.join(again.dir, "truth-elsewhere")
            res = synth(again.slides, "--threads", "1", truth_out=truth)
            self.assertEqual(res.returncode, 0, res.stderr)
            for name in ("ground_truth.csv", "ground_truth_dataset.csv", "lesions.geojson"):
                self.assertTrue(filecmp.cmp(os.path.join(self.truth, name), os.path.join(truth, name), shallow=False),
                                name)
            for s in self.slides:
                self.assertTrue(filecmp.cmp(os.path.join(self.ws.slides, s["path"]),
                                            os.path.join(again.slides, s["path"]), shallow=False), s["path"])
        finally:
            again.cleanup()


class SynthLesionOptionsTest(unittest.TestCase):
    def setUp(self):
        self.ws = Workspace()

    def tearDown(self):
        self.ws.cleanup()

    def test_prevalence_per_centre(self):
        res = synth(self.ws.slides, "--prevalence", "1,0", centres=("x-1", "y-2"), width=2400, height=2000)
        self.assertEqual(res.returncode, 0, res.stderr)
        rows = read_csv(os.path.join(self.ws.dir, "ground-truth", "ground_truth.csv"))[1:]
        self.assertEqual([r[3] for r in rows], ["1"] * SLIDES_PER_CENTRE + ["0"] * SLIDES_PER_CENTRE)

    def test_no_lesions_writes_slides_only(self):
        res = synth(self.ws.slides, "--no-lesions", centres=("x",), width=2400, height=2000)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(sorted(os.listdir(self.ws.dir)), ["slides"])
        res = synth(self.ws.slides, "--no-lesions", "--prevalence", "0.5", centres=("x",), width=2400, height=2000)
        self.assertNotEqual(res.returncode, 0)

    def test_rejects_bad_prevalences_and_a_truth_folder_inside_the_slide_root(self):
        for extra in (["--prevalence", "1.5"], ["--prevalence", "0.5,0.5,0.5"]):
            res = synth(self.ws.slides, *extra, centres=("x", "y"), width=2400, height=2000)
            self.assertNotEqual(res.returncode, 0, extra)
        res = synth(self.ws.slides, truth_out=os.path.join(self.ws.slides, "truth"), centres=("x",),
                    width=2400, height=2000)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("outside the slide root", res.stderr)
        self.assertEqual(os.listdir(self.ws.slides), [])


if __name__ == "__main__":
    unittest.main()
