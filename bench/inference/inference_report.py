#!/usr/bin/env python3
"""Writes the inference benchmark's results (JSON and a Markdown table) and prints the table."""
import argparse
import datetime
import json
import os
import platform
import subprocess

import openslide


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    parser = argparse.ArgumentParser()
    for name in ("mcval", "python", "mcval-rss", "python-rss", "slide", "results"):
        parser.add_argument("--" + name, required=True)
    args = parser.parse_args()
    with open(args.mcval) as f:
        mcval = json.load(f)
    with open(args.python) as f:
        python = json.load(f)
    rss = {k: int(open(p).read().split()[-1]) / 1024 for k, p in (("mcval", args.mcval_rss), ("python", args.python_rss))}
    slide = openslide.OpenSlide(args.slide)
    time_s = mcval["time_s"]
    mcval_tps = mcval["tiles"] / mcval["seconds"] if mcval["seconds"] else 0
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "kernel": platform.release()},
        "git": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip(),
        "slide": {"size": list(slide.dimensions), "levels": slide.level_count,
                  "mpp": float(slide.properties.get(openslide.PROPERTY_NAME_MPP_X, 0))},
        "model": mcval["model"],
        "mcval": {"tiles": mcval["tiles"], "seconds": mcval["seconds"], "tiles_per_second": mcval_tps,
                  "time_s": time_s, "peak_rss_mib": rss["mcval"]},
        "python": dict(python, peak_rss_mib=rss["python"]),
    }
    result["speedup"] = mcval_tps / python["tiles_per_second"] if python["tiles_per_second"] else None
    stem = os.path.join(args.results, f"inference-{result['date']}")
    with open(stem + ".json", "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    p = python["time_s"]
    md = [
        f"# Inference benchmark, {result['date']}",
        "",
        f"Machine: {result['machine']['cpu']}, {result['machine']['cores']} cores. Commit {result['git']}.",
        f"Slide: generated, {slide.dimensions[0]} x {slide.dimensions[1]} px, {slide.level_count} levels, "
        f"{result['slide']['mpp']:.3f} mpp. Model: {mcval['model']['name']} {mcval['model']['version']} "
        f"({mcval['model']['sha256'][:12]}).",
        "",
        "| Pipeline | Tiles | Seconds | Tiles/s | Read s | Resize s | Model s | Peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| mcval infer (C++, OpenCV DNN) | {mcval['tiles']} | {mcval['seconds']:.1f} | {mcval_tps:.0f} | "
        f"{time_s['read']:.1f} | {time_s['resize']:.1f} | {time_s['model']:.1f} | {rss['mcval']:.0f} |",
        f"| Python (openslide + Pillow + torch) | {python['tiles']} | {python['seconds']:.1f} | "
        f"{python['tiles_per_second']:.0f} | {p['read']:.1f} | {p['resize']:.1f} | {p['model']:.1f} | "
        f"{rss['python']:.0f} |",
        "",
        f"Speed-up: **{result['speedup']:.1f}x** (target: at least 3x). mcval's read/resize times are summed over "
        f"its reader threads (they overlap with the model); tissue detection took {time_s['tissue']:.1f} s.",
        f"Agreement of the tile probabilities (Pillow bilinear vs OpenCV area resize, float32 backends): max abs diff "
        f"{python['agreement_with_mcval']['max_abs_diff']:.4f}, mean {python['agreement_with_mcval']['mean_abs_diff']:.5f}, "
        f"Pearson r {python['agreement_with_mcval']['pearson_r']:.5f}.",
        "",
    ]
    with open(stem + ".md", "w") as f:
        f.write("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
