#!/usr/bin/env python3
"""The reference pipeline of the inference benchmark: what a model developer would write in
Python with Debian's python3-openslide and python3-torch. It scores exactly the tiles mcval
scored on the same slide (read from mcval's stored result: the grid geometry and which tiles
were scored), with the same model (the PyTorch weights the ONNX file was exported from), one
read_region per tile at the best pyramid level, Pillow's box resize, and batches through torch
on all cores. Prints a JSON object: tiles/s and where the time went, and the agreement of its
tile probabilities with mcval's.

  /usr/bin/python3 bench/inference/reference_pipeline.py --slide S --result DIR --model-dir M
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import openslide
import torch
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../scripts"))
from train_demo_model import LesionNet, preprocess  # noqa: E402  the model's own definition


def load_heatmap(folder):
    with open(os.path.join(folder, "result.json")) as f:
        record = json.load(f)
    with open(os.path.join(folder, "heatmap.bin"), "rb") as f:
        data = f.read()
    magic, version, classes, cols, rows = struct.unpack_from("<4sHHII", data)
    assert magic == b"MCVH" and version == 1
    values = np.frombuffer(data, dtype="<u2", offset=16).reshape(rows, cols, classes)
    return record, values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--slide", required=True)
    parser.add_argument("--result", required=True, help="mcval's result folder of this slide and model")
    parser.add_argument("--model-dir", required=True, help="folder with model.pt and card.json")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--max-tiles", type=int, default=0, help="score only the first N tiles (0: all)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    with open(os.path.join(args.model_dir, "card.json")) as f:
        card = json.load(f)
    model = LesionNet()
    model.load_state_dict(torch.load(os.path.join(args.model_dir, "model.pt")))
    model.eval()
    mean, std = card["normalization"]["mean"], card["normalization"]["std"]
    input_px = card["input_px"]

    record, values = load_heatmap(args.result)
    geometry = record["geometry"]
    tile_level0 = geometry["tile_level0"]
    scored = [(c, r) for r in range(geometry["rows"]) for c in range(geometry["cols"]) if values[r, c, 0] != 0xFFFF]
    if args.max_tiles:
        scored = scored[:args.max_tiles]

    started = time.perf_counter()
    slide = openslide.OpenSlide(args.slide)
    level = slide.get_best_level_for_downsample(tile_level0 / input_px)
    read_px = int(math.ceil(tile_level0 / slide.level_downsamples[level]))
    read_s = resize_s = model_s = 0.0
    probabilities = []
    for start in range(0, len(scored), args.batch_size):
        batch = []
        for c, r in scored[start:start + args.batch_size]:
            t0 = time.perf_counter()
            region = slide.read_region((int(math.floor(c * tile_level0 + 0.5)), int(math.floor(r * tile_level0 + 0.5))), level,
                                       (read_px, read_px)).convert("RGB")
            t1 = time.perf_counter()
            if read_px != input_px:
                region = region.resize((input_px, input_px), Image.BILINEAR)
            batch.append(np.asarray(region, dtype=np.uint8))
            t2 = time.perf_counter()
            read_s += t1 - t0
            resize_s += t2 - t1
        t0 = time.perf_counter()
        with torch.no_grad():
            logits = model(preprocess(np.stack(batch), mean, std))
            probabilities.append(torch.softmax(logits, dim=1)[:, card["class_names"].index(card["positive_class"])
                                                               if isinstance(card["positive_class"], str)
                                                               else card["positive_class"]].numpy())
        model_s += time.perf_counter() - t0
    seconds = time.perf_counter() - started
    ours = np.concatenate(probabilities)
    positive = card["class_names"].index(card["positive_class"]) if isinstance(card["positive_class"], str) \
        else card["positive_class"]
    theirs = np.array([values[r, c, positive] / 65534.0 for c, r in scored])
    print(json.dumps({
        "pipeline": "python (openslide read_region per tile, Pillow bilinear resize, torch)",
        "tiles": len(scored),
        "seconds": seconds,
        "tiles_per_second": len(scored) / seconds,
        "time_s": {"read": read_s, "resize": resize_s, "model": model_s},
        "threads": args.threads,
        "agreement_with_mcval": {
            "max_abs_diff": float(np.max(np.abs(ours - theirs))),
            "mean_abs_diff": float(np.mean(np.abs(ours - theirs))),
            "pearson_r": float(np.corrcoef(ours, theirs)[0, 1]) if len(scored) > 1 else None,
        },
    }))


if __name__ == "__main__":
    main()
