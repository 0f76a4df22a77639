"""OpenCV DNN (mcval's runtime) against PyTorch on the same tiles: the demo model's ONNX file
scored by `mcval model score` must give the probabilities its PyTorch weights give, for real
tissue tiles of the CMU slide at the model's resolution, tiles of a generated slide with a
lesion, and random-noise tiles. Tolerance: 1e-5 absolute on each probability (both run float32;
observed differences are about 1e-7)."""
import json
import math
import os
import sys
import tempfile
import unittest

import numpy as np
import openslide
import torch
from PIL import Image

from harness import CMU_SLIDE, Workspace, run_cli

ROOT = os.path.join(os.path.dirname(__file__), "../..")
MODEL_DIR = os.path.join(ROOT, "models/demo-lesion-cnn")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from train_demo_model import LesionNet, preprocess  # noqa: E402

TOLERANCE = 1e-5


def tiles_of(path, card, count, rng, inside=None):
    """`count` tiles at the card's resolution from a slide, read and resized as the model sees
    them; with `inside` (x0, y0, x1, y1 in level-0 pixels), tiles from that box only."""
    slide = openslide.OpenSlide(path)
    mpp = float(slide.properties[openslide.PROPERTY_NAME_MPP_X])
    side = card["input_px"] * card["mpp"] / mpp
    level = slide.get_best_level_for_downsample(side / card["input_px"])
    read_px = int(math.ceil(side / slide.level_downsamples[level]))
    w, h = slide.dimensions
    out = []
    x0, y0, x1, y1 = inside or (0, 0, w, h)
    while len(out) < count:
        x = rng.integers(int(x0), max(int(x0) + 1, int(x1 - side)))
        y = rng.integers(int(y0), max(int(y0) + 1, int(y1 - side)))
        tile = slide.read_region((int(x), int(y)), level, (read_px, read_px)).convert("RGB")
        out.append(np.asarray(tile.resize((card["input_px"], card["input_px"]), Image.BILINEAR), dtype=np.uint8))
    return out


class ModelOracleTest(unittest.TestCase):
    def test_opencv_dnn_equals_pytorch(self):
        with open(os.path.join(MODEL_DIR, "card.json")) as f:
            card = json.load(f)
        rng = np.random.default_rng(5)
        ws = Workspace()
        self.addCleanup(ws.cleanup)
        made = run_cli("synth", "--source", CMU_SLIDE, "--out", ws.slides, "--centres", "x", "--slides-per-centre", "1",
                       "--width", "6000", "--height", "6000", "--prevalence", "1", "--seed", "2", timeout=300)
        self.assertEqual(made.returncode, 0, made.stderr)
        generated = os.path.join(ws.slides, "x", os.listdir(os.path.join(ws.slides, "x"))[0])
        with open(os.path.join(ws.dir, "ground-truth", "lesions.geojson")) as f:
            lesion = [g for g in json.load(f)["features"] if g["properties"]["kind"] == "lesion"][0]
        ring = lesion["geometry"]["coordinates"][0]
        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
        cx, cy, r = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2, (max(xs) - min(xs)) / 6
        tiles = tiles_of(CMU_SLIDE, card, 12, rng) + tiles_of(generated, card, 8, rng)
        tiles += tiles_of(generated, card, 8, rng, inside=(cx - r, cy - r, cx + r, cy + r))
        tiles += [rng.integers(0, 256, (card["input_px"], card["input_px"], 3), dtype=np.uint8) for _ in range(4)]
        folder = tempfile.mkdtemp(dir=ws.dir)
        paths = []
        for i, tile in enumerate(tiles):
            paths.append(os.path.join(folder, f"tile-{i:02d}.png"))
            Image.fromarray(tile).save(paths[-1])

        added = run_cli("model", "add", MODEL_DIR, "--data", ws.data)
        self.assertEqual(added.returncode, 0, added.stderr)
        scored = run_cli("model", "score", card["name"], *paths, "--data", ws.data)
        self.assertEqual(scored.returncode, 0, scored.stderr)
        ours = np.array([t["probabilities"] for t in json.loads(scored.stdout)["tiles"]])

        model = LesionNet()
        model.load_state_dict(torch.load(os.path.join(MODEL_DIR, "model.pt")))
        model.eval()
        with torch.no_grad():
            reference = torch.softmax(model(preprocess(np.stack(tiles), card["normalization"]["mean"],
                                                       card["normalization"]["std"])), dim=1).numpy()
        difference = np.abs(ours - reference).max()
        print(f"\n[ figures ] {len(tiles)} tiles: max |OpenCV DNN - PyTorch| = {difference:.2e} "
              f"(tolerance {TOLERANCE:g}); lesion probabilities span {reference[:, 1].min():.3f}..{reference[:, 1].max():.3f}")
        self.assertEqual(ours.shape, reference.shape)
        self.assertLess(difference, TOLERANCE)
        # The tiles are not all alike to the model, so the comparison means something.
        self.assertGreater(reference[:, 1].max() - reference[:, 1].min(), 0.3)


if __name__ == "__main__":
    unittest.main()
