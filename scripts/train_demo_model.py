#!/usr/bin/env python3
"""Trains mcval's demo model: a small CNN that tells synthetic lesions (dense, hyperchromatic
nuclei) from the rest of the tissue, on tiles of ONE development centre only, and exports it as
an ONNX model package (model.onnx, card.json) plus the PyTorch weights (model.pt) that the
ONNX-vs-PyTorch test uses.

Only mild colour augmentation on purpose (stain amounts jittered by a few percent in optical
density, as one laboratory varies from day to day): the model learns the development centre's
stain, so it degrades on the stain-shifted centres. That is what a multi-centre validation has
to show.

Run with Debian's Python (python3-torch, python3-onnx, python3-openslide, python3-pil):
  /usr/bin/python3 scripts/train_demo_model.py --slides S --truth T --centre centre-a --out models/demo-lesion-cnn
"""
import argparse
import csv
import hashlib
import json
import math
import os
import random
import sys
import time

import numpy as np
import openslide
from PIL import Image, ImageDraw
import torch
import torch.nn as nn

INPUT_PX = 64
MODEL_MPP = 2.0


class LesionNet(nn.Module):
    """Four conv blocks and a linear head: about 60k parameters, a few MFLOP per 64 px tile."""

    def __init__(self):
        super().__init__()
        def block(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(
            *block(3, 16), nn.MaxPool2d(2),
            *block(16, 32), nn.MaxPool2d(2),
            *block(32, 64), nn.MaxPool2d(2),
            *block(64, 64),
            nn.AdaptiveAvgPool2d(1),
        )
        self.head = nn.Linear(64, 2)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


def preprocess(tiles_uint8, mean, std):
    """N x H x W x 3 uint8 RGB -> N x 3 x H x W float32, (x / 255 - mean) / std: the card's rule."""
    x = torch.from_numpy(tiles_uint8).float().div_(255.0).permute(0, 3, 1, 2)
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    return ((x - m) / s).contiguous()


def jitter_stain(x_uint8, generator, amount):
    """Day-to-day variation of one laboratory: each tile's optical density scaled per channel by
    1 +- amount and shifted by +- amount / 10. N x H x W x 3 uint8 in and out."""
    x = torch.from_numpy(x_uint8).float()
    od = -torch.log((x + 1) / 256)
    n = x.shape[0]
    scale = 1 + (torch.rand(n, 1, 1, 3, generator=generator) * 2 - 1) * amount
    shift = (torch.rand(n, 1, 1, 3, generator=generator) * 2 - 1) * amount / 10
    out = torch.exp(-(od * scale + shift)) * 256 - 1
    return out.clamp(0, 255).round().to(torch.uint8).numpy()


def read_truth(truth_dir, centre):
    slides = []
    with open(os.path.join(truth_dir, "ground_truth.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if row["centre"] == centre:
                slides.append(row)
    with open(os.path.join(truth_dir, "lesions.geojson")) as f:
        features = json.load(f)["features"]
    regions = {}
    for feature in features:
        props = feature["properties"]
        regions.setdefault(props["slide_id"], []).append((props["kind"], feature["geometry"]["coordinates"][0]))
    return slides, regions


def tissue_mask(thumb):
    """Saturation above Otsu's threshold (floor 0.05) and not near-black: the slide's tissue."""
    rgb = np.asarray(thumb, dtype=np.float32) / 255.0
    mx, mn = rgb.max(axis=2), rgb.min(axis=2)
    sat = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-6), 0)
    hist, edges = np.histogram(sat, bins=256, range=(0, 1))
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres) / np.maximum(w0, 1)
    m1 = ((hist * centres).sum() - np.cumsum(hist * centres)) / np.maximum(w1, 1)
    otsu = centres[np.argmax(w0 * w1 * (m0 - m1) ** 2)]
    return (sat > max(otsu, 0.05)) & (mx > 0.15)


def region_masks(size, scale, regions):
    """Lesion and mimic masks at thumbnail scale from level-0 polygons."""
    masks = {}
    for kind in ("lesion", "mimic"):
        img = Image.new("L", size, 0)
        draw = ImageDraw.Draw(img)
        for k, ring in regions:
            if k == kind:
                draw.polygon([(x / scale, y / scale) for x, y in ring], fill=255)
        masks[kind] = np.asarray(img) > 0
    return masks


def read_tile(slide, x0, y0, tile_level0):
    level = slide.get_best_level_for_downsample(tile_level0 / INPUT_PX + 1e-9)
    ds = slide.level_downsamples[level]
    read_px = int(math.ceil(tile_level0 / ds))
    region = slide.read_region((x0, y0), level, (read_px, read_px)).convert("RGB")
    if read_px != INPUT_PX:
        # Pillow's antialiased bilinear: what mcval's OpenCV INTER_AREA gives at these
        # near-1 scales (checked: tile probabilities agree to about 0.01), so the model is
        # trained on the tiles it will be run on.
        region = region.resize((INPUT_PX, INPUT_PX), Image.BILINEAR)
    return np.asarray(region, dtype=np.uint8)


def sample_tiles(slides_dir, slides, regions, per_slide, rng):
    """Tiles of each slide: from inside lesions (label 1) and from the other tissue, mimics
    included (label 0). A tile is a lesion tile when its centre area is mostly lesion."""
    tiles, labels, groups = [], [], []
    for index, row in enumerate(slides):
        slide = openslide.OpenSlide(os.path.join(slides_dir, row["path"]))
        mpp = float(slide.properties[openslide.PROPERTY_NAME_MPP_X])
        tile_level0 = INPUT_PX * MODEL_MPP / mpp
        thumb_scale = tile_level0 / 4  # 4 x 4 thumbnail pixels per tile
        w, h = slide.dimensions
        size = (int(w / thumb_scale), int(h / thumb_scale))
        thumb = slide.get_thumbnail(size).resize(size)
        tissue = tissue_mask(thumb)
        masks = region_masks(size, thumb_scale, regions.get(row["slide_id"], []))
        cols, rows = int(w // tile_level0), int(h // tile_level0)
        lesion_cells, other_cells = [], []
        for r in range(rows):
            for c in range(cols):
                window = (slice(r * 4, r * 4 + 4), slice(c * 4, c * 4 + 4))
                if tissue[window].mean() < 0.5:
                    continue
                lesion_share = masks["lesion"][window].mean()
                if lesion_share >= 0.75:
                    lesion_cells.append((c, r))
                elif lesion_share == 0:
                    other_cells.append((c, r))
        rng.shuffle(lesion_cells)
        rng.shuffle(other_cells)
        chosen = [(cell, 1) for cell in lesion_cells[:per_slide]] + [(cell, 0) for cell in other_cells[:per_slide]]
        for (c, r), label in chosen:
            x0, y0 = int(round(c * tile_level0)), int(round(r * tile_level0))
            tiles.append(read_tile(slide, x0, y0, tile_level0))
            labels.append(label)
            groups.append(index)
        print(f"  {row['path']}: label {row['label']}, {len(lesion_cells)} lesion and {len(other_cells)} other "
              f"tissue tiles, {sum(1 for _, l in chosen if l)} + {sum(1 for _, l in chosen if not l)} sampled",
              flush=True)
        slide.close()
    return np.stack(tiles), np.array(labels, dtype=np.int64), np.array(groups)


def auc(scores, labels):
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = labels == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return (ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0) if n1 and n0 else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slides", required=True, help="slide root written by mcval synth")
    parser.add_argument("--truth", required=True, help="its ground-truth folder (ground_truth.csv, lesions.geojson)")
    parser.add_argument("--centre", default="centre-a", help="the development centre: the only one trained on")
    parser.add_argument("--out", required=True, help="folder for model.onnx, card.json, model.pt")
    parser.add_argument("--tiles-per-slide", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--stain-jitter", type=float, default=0.12,
                        help="per-channel optical-density scale jitter of the training tiles (0: none)")
    parser.add_argument("--tiles-cache", help="an .npz of sampled tiles: read when present, else written")
    args = parser.parse_args()

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    rng = random.Random(args.seed)
    started = time.time()

    slides, regions = read_truth(args.truth, args.centre)
    if len(slides) < 4:
        sys.exit(f"train_demo_model: need at least 4 slides of {args.centre}, found {len(slides)}")
    print(f"sampling tiles of {len(slides)} slides of {args.centre} at {MODEL_MPP} mpp, {INPUT_PX} px", flush=True)
    if args.tiles_cache and os.path.exists(args.tiles_cache):
        cached = np.load(args.tiles_cache)
        tiles, labels, groups = cached["tiles"], cached["labels"], cached["groups"]
    else:
        tiles, labels, groups = sample_tiles(args.slides, slides, regions, args.tiles_per_slide, rng)
        if args.tiles_cache:
            np.savez(args.tiles_cache, tiles=tiles, labels=labels, groups=groups)
    # Hold out every fourth slide to see that the model generalises within its own centre.
    held_out = groups % 4 == 3
    train_x, train_y = tiles[~held_out], labels[~held_out]
    test_x, test_y = tiles[held_out], labels[held_out]
    mean = (train_x.reshape(-1, 3).mean(axis=0) / 255.0).round(4).tolist()
    std = (train_x.reshape(-1, 3).std(axis=0) / 255.0).round(4).tolist()
    print(f"{len(train_y)} training tiles ({int(train_y.sum())} lesion), {len(test_y)} held out; "
          f"mean {mean} std {std}", flush=True)

    model = LesionNet()
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps_per_epoch = math.ceil(len(train_y) / 64)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=3e-3, total_steps=args.epochs * steps_per_epoch)
    # Lesion tiles are rarer than other tissue: weight the classes to count alike.
    counts = np.bincount(train_y, minlength=2).astype(np.float64)
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(counts.sum() / (2 * np.maximum(counts, 1)), dtype=torch.float32))
    y_all = torch.from_numpy(train_y)
    generator = torch.Generator().manual_seed(args.seed)
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(y_all), generator=generator)
        total = 0.0
        for start in range(0, len(order), 64):
            batch = order[start:start + 64]
            raw = train_x[batch.numpy()]
            if args.stain_jitter > 0:
                raw = jitter_stain(raw, generator, args.stain_jitter)
            x = preprocess(raw, mean, std)
            # Flips and quarter turns only: geometry, never colour.
            if torch.rand(1, generator=generator).item() < 0.5:
                x = torch.flip(x, dims=[3])
            x = torch.rot90(x, int(torch.randint(0, 4, (1,), generator=generator)), dims=[2, 3])
            optimiser.zero_grad()
            loss = loss_fn(model(x), y_all[batch])
            loss.backward()
            optimiser.step()
            scheduler.step()
            total += loss.item() * len(batch)
        model.eval()
        with torch.no_grad():
            held = torch.softmax(model(preprocess(test_x, mean, std)), dim=1)[:, 1].numpy()
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / len(y_all):.4f}, held-out tile AUC "
              f"{auc(held, test_y):.4f}", flush=True)

    os.makedirs(args.out, exist_ok=True)
    model.eval()
    torch.save(model.state_dict(), os.path.join(args.out, "model.pt"))
    onnx_path = os.path.join(args.out, "model.onnx")
    torch.onnx.export(model, torch.zeros(1, 3, INPUT_PX, INPUT_PX), onnx_path, opset_version=11,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True)
    with open(onnx_path, "rb") as f:
        onnx_sha256 = hashlib.sha256(f.read()).hexdigest()
    card = {
        "name": "demo-lesion-cnn",
        "version": "1.0.0",
        "description": "Small CNN (4 conv blocks, ~60k parameters) telling synthetic lesions (dense, "
                       "hyperchromatic nuclei) from other tissue, trained by scripts/train_demo_model.py on "
                       f"{len(slides)} slides of {args.centre} only, with mild stain jitter ({args.stain_jitter:g} in OD).",
        "intended_use": "Demonstration of mcval's multi-centre validation on generated slides. Not for any "
                        "clinical or research use on real tissue.",
        "input_px": INPUT_PX,
        "mpp": MODEL_MPP,
        "channel_order": "RGB",
        "normalization": {"mean": mean, "std": std},
        "class_names": ["other", "lesion"],
        "output": "softmax",
        "positive_class": "lesion",
        "aggregation": {"method": "top_k_mean", "k": 8},
        "min_tissue_fraction": 0.5,
        "onnx": "model.onnx",
        "onnx_sha256": onnx_sha256,
    }
    with open(os.path.join(args.out, "card.json"), "w") as f:
        json.dump(card, f, indent=2)
        f.write("\n")
    print(f"wrote {args.out}/model.onnx ({os.path.getsize(onnx_path)} bytes, sha256 {onnx_sha256[:12]}), "
          f"card.json, model.pt in {time.time() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
