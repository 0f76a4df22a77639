"""Markdown table and plot of the tile benchmark's JSON (written by tiles_bench.py)."""

SCENARIO_TEXT = {
    "cold": "cold (server just started: every tile asked once, none twice)",
    "warm": "warm (a working set asked once, then replayed round and round)",
    "session": "pathologist session (recorded zoom and pan path, replayed from a fresh start)",
}


def fmt(v, digits=1):
    if v is None:
        return "-"
    if isinstance(v, float):
        return ("%." + str(digits) + "f") % v
    return str(v)


def fmt_slope(v):
    return "-" if v is None else "%+.2f" % v


def run(results, slide, target, scenario, c):
    return results["slides"].get(slide, {}).get("runs", {}).get(target, {}).get(scenario, {}).get(str(c))


def ratio(a, b):
    if not a or not b or not b.get("requests_per_s"):
        return None
    return a["requests_per_s"] / b["requests_per_s"]


def targets_section(results):
    """The issue's targets, judged on this run."""
    lines = ["## Targets (issue 7), judged on this run", ""]
    lines.append("| Slide | Target | mcval | peer | ratio | met |")
    lines.append("|---|---|---|---|---|---|")
    for slide in results["slides"]:
        checks = []
        mw = run(results, slide, "mcval-iiif", "warm", 8)
        raw = run(results, slide, "orthanc-raw", "warm", 8)
        iip = run(results, slide, "iipsrv-iiif", "warm", 8)
        checks.append(("warm c=8 req/s >= orthanc raw frames", mw, raw, 1.0))
        checks.append(("warm c=8 req/s >= 3x iipsrv", mw, iip, 3.0))
        mc = run(results, slide, "mcval-iiif", "cold", 8)
        mdc = run(results, slide, "mcval-dzi", "cold", 8)
        dz = run(results, slide, "deepzoom", "cold", 8)
        iipc = run(results, slide, "iipsrv-iiif", "cold", 8)
        mnc = run(results, slide, "mcval-dzi-native", "cold", 8)
        checks.append(("cold c=8 req/s >= 5x Deep Zoom server: mcval DZI 254+1 (same grid)", mdc, dz, 5.0))
        checks.append(("cold c=8 req/s >= 5x Deep Zoom server: mcval DZI native tiles", mnc, dz, 5.0))
        checks.append(("cold c=8 req/s >= 5x Deep Zoom server: mcval IIIF", mc, dz, 5.0))
        checks.append(("cold c=8 req/s >= 1.5x iipsrv (both IIIF)", mc, iipc, 1.5))
        for text, a, b, need in checks:
            r = ratio(a, b)
            lines.append("| %s | %s | %s | %s | %s | %s |" % (
                slide, text, fmt(a and a["requests_per_s"]), fmt(b and b["requests_per_s"]),
                fmt(r, 2) + "x" if r else "-", "-" if r is None else ("yes" if r >= need else "**no**")))
        if mw:
            lines.append("| %s | warm c=8 p99 < 10 ms (mcval IIIF) | %s ms | | | %s |" % (
                slide, fmt(mw["p99_ms"], 2), "yes" if mw["p99_ms"] < 10 else "**no**"))
    lines.append("")
    return lines


def markdown(results, partial=False):
    m = results["machine"]
    out = ["# Tile servers: mcval and its peers, %s%s" % (results["date"], " (partial: run in progress)" if partial else ""), ""]
    if results.get("note"):
        out += [results["note"], ""]
    out.append("Machine: %s, %d cores, %.1f GiB, %s, kernel %s; load average before %s, after %s." % (
        m["cpu"], m["cores"], m["memory_gib"], m["os"], m["kernel"],
        " / ".join("%.2f" % x for x in m["load_before"]),
        " / ".join("%.2f" % x for x in m.get("load_after", [])) or "-"))
    out.append("Versions: " + ", ".join("%s %s" % kv for kv in m["versions"].items()) + ".")
    s = results["settings"]
    out.append("Each measured run: wrk for %d s (cold: until every tile was asked once, at most that long), "
               "wrk and the server share the machine's cores. JPEG quality %d everywhere; caches: mcval %d MiB, "
               "iipsrv the same in total over its %d FastCGI processes; mcval's access log: %s." % (
                   s["duration_s"], s["jpeg_quality"], s["cache_mib"], s["server_workers"],
                   s["mcval_access_log"]))
    out.append("")
    out.append("| Server | What is asked |")
    out.append("|---|---|")
    for t, d in results["targets"].items():
        out.append("| %s | %s |" % (t, d))
    out.append("")
    if not partial:
        out += targets_section(results)
    for slide, sr in results["slides"].items():
        if "runs" not in sr:
            continue
        out.append("## Slide `%s`: %d x %d, %d px tiles, %d tiles in the pyramid" % (
            slide, sr["width"], sr["height"], sr["tile_px"], sr["pyramid_tiles"]))
        out.append("")
        for scenario in ["cold", "warm", "session"]:
            rows = []
            for target, runs in sr["runs"].items():
                for c, r in sorted(runs.get(scenario, {}).items(), key=lambda kv: int(kv[0])):
                    rows.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |%s" % (
                        target, c, fmt(r["requests_per_s"]), fmt(r["p50_ms"], 2), fmt(r["p99_ms"], 2),
                        fmt(r["cpu_s_per_1000"], 2), fmt(r["peak_rss_mib"], 0), r["errors"],
                        "-" if r.get("stored_jpeg_share") is None else "%.0f%%" % (100 * r["stored_jpeg_share"]),
                        (" %s |" % r.get("passes", 1)) if scenario == "cold" else ""))
            if not rows:
                continue
            out.append("### %s" % SCENARIO_TEXT[scenario])
            out.append("")
            passes = (" passes |", "---|") if scenario == "cold" else ("", "")
            out.append("| Server | conc. | req/s | p50 ms | p99 ms | CPU s / 1,000 tiles | peak RSS MiB | errors | stored JPEG sent |"
                       + passes[0])
            out.append("|---|---|---|---|---|---|---|---|---|" + passes[1])
            out += rows
            out.append("")
        failed = {t: r["failed"] for t, r in sr["runs"].items() if "failed" in r}
        for t, why in failed.items():
            out.append("- %s failed on this slide: `%s`" % (t, why.replace("\n", " ")[:300]))
        if failed:
            out.append("")
    if "startup" in results:
        out.append("## Start-up: process start to the first tile answered (slide `%s`, median of 3)" % results["startup"]["slide"])
        out.append("")
        out.append("| Server | seconds | runs |")
        out.append("|---|---|---|")
        for t, r in results["startup"]["servers"].items():
            out.append("| %s | %.3f | %s |" % (t, r["first_tile_s"], ", ".join("%.3f" % x for x in r["runs_s"])))
        out.append("")
    if "catalogue" in results:
        c = results["catalogue"]
        out.append("## Catalogue scan (mcval only: none of the peers keeps a catalogue of a slide folder)")
        out.append("")
        out.append("%d generated slides of %d bytes each, 10 centre folders; `mcval ingest` (opens every new or changed "
                   "file with OpenSlide and hashes it with SHA-256; an unchanged size and mtime is not reopened)." % (
                       c["slides"], c["slide_bytes"]))
        out.append("")
        out.append("| Scan | wall s | CPU s | peak RSS MiB |")
        out.append("|---|---|---|---|")
        ch = c.get("change", {})
        for key, text in [("full_scan", "first scan, %d slides" % c["slides"]),
                          ("rescan_unchanged", "rescan, nothing changed"),
                          ("rescan_1pct_changed", "rescan: %s touched, %s removed, %s added" % (
                              ch.get("touched"), ch.get("removed"), ch.get("added")))]:
            r = c[key]
            out.append("| %s | %.2f | %.2f | %.0f |" % (text, r["wall_s"], r["cpu_s"], r["peak_rss_mib"]))
        out.append("")
    if "soak" in results:
        s = results["soak"]
        out.append("## Soak: mcval IIIF, concurrency 64, %d s, slide `%s`, %d distinct tiles looped (more bytes than the %d MiB cache)" % (
            s["seconds"], s["slide"], s["list_length"], s["cache_budget_mib"]))
        out.append("")
        out.append("%d requests, %d errors, %.0f req/s, p50 %.2f ms, p99 %.2f ms, %.2f CPU s per 1,000 tiles, "
                   "stored JPEG sent for %.0f%%; %s cache evictions. RSS: at most %s MiB in the first minute, %s MiB in "
                   "the last minute, peak %s MiB." % (
                       s["requests"], s["errors"], s["requests_per_s"], s["p50_ms"], s["p99_ms"], s["cpu_s_per_1000"],
                       100 * s["stored_jpeg_share"], fmt(s["cache_evictions"], 0), s["rss_first_minute_max_mib"],
                       s["rss_last_minute_max_mib"], s["peak_rss_mib"]))
        if s.get("rss_slope_mib_per_min") is not None:
            out.append("")
            out.append("Least-squares slope after the first minute (the cache fills in it): RSS %+.2f MiB/min; "
                       "allocator (jemalloc): live bytes %s MiB/min, resident %s MiB/min." % (
                           s["rss_slope_mib_per_min"], fmt_slope(s.get("allocated_slope_mib_per_min")),
                           fmt_slope(s.get("allocator_resident_slope_mib_per_min"))))
        out.append("")
    out += [
        "## How to read it",
        "",
        "- Every server gets the same logical tiles: the slide's tile grid (its stored tile size) at scale factors "
        "1, 2, 4, ... For IIIF servers (mcval, iipsrv) the IIIF region of that tile; for Orthanc the tile or frame "
        "of the same level of the DICOMized pyramid; for the Deep Zoom servers with 254 px tiles (mcval's default "
        "DZI and OpenSlide's example) the 254 px tile holding the tile's centre at the same scale.",
        "- Cold: each server is restarted before each cold pass, so its own caches are empty (it counts as started once "
        "it has answered its first tile, full resolution top left, untimed: every server has opened the slide); the slide files (SVS, "
        "TIFF, Orthanc's storage) were all read once before the benchmark so the OS page cache is equally warm for "
        "everybody. The tile list is shuffled (seeded) over the whole pyramid; no tile is asked twice in a pass. Passes "
        "(a fresh server each) are repeated until they add up to 0.5 s of measuring, at most 10 (column passes): "
        "req/s and CPU over all passes, p50/p99 the median of the passes'.",
        "- Warm: the first tiles of that list are asked once (untimed), then replayed for the run's duration.",
        "- CPU s / 1,000 tiles: user + system time of the server's whole process tree (lighttpd and its iipsrv "
        "processes; Flask; Orthanc) over the run, from /proc. Peak RSS: sum of VmHWM over that tree since it started.",
        "- Stored JPEG sent: share of mcval's answers that were the slide file's own JPEG tile bytes (counter "
        "mcval_tiles_stored_jpeg_total). The vips TIFF that iipsrv and Orthanc serve was re-encoded at the same quality "
        "as mcval's rendered tiles; orthanc-raw sends the stored DICOM frames as they are.",
        "- Ratios are only meaningful within one run: the machine is shared, its load is given above.",
        "",
    ]
    return "\n".join(out)


def plot(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    slides = [s for s in results["slides"] if "runs" in results["slides"][s]]
    scenarios = ["cold", "warm", "session"]
    fig, axes = plt.subplots(len(slides), len(scenarios), figsize=(5 * len(scenarios), 3.6 * len(slides)), squeeze=False)
    for i, slide in enumerate(slides):
        runs = results["slides"][slide]["runs"]
        targets = [t for t in runs if "failed" not in runs[t] or runs[t].get("cold")]
        for j, scenario in enumerate(scenarios):
            ax = axes[i][j]
            concs = sorted({int(c) for t in targets for c in runs[t].get(scenario, {})})
            width = 0.8 / max(1, len(targets))
            for k, t in enumerate(targets):
                ys = [runs[t].get(scenario, {}).get(str(c), {}).get("requests_per_s", 0) for c in concs]
                ax.bar([x + k * width for x in range(len(concs))], ys, width, label=t)
            ax.set_xticks([x + 0.4 - width / 2 for x in range(len(concs))])
            ax.set_xticklabels(["c=%d" % c for c in concs])
            ax.set_yscale("log")
            ax.set_title("%s: %s" % (slide, scenario))
            ax.set_ylabel("requests/s")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def plot_soak(results, path):
    """Memory over the soak: process RSS, jemalloc's resident and live bytes, the tile cache."""
    soak = results.get("soak")
    if not soak or not soak.get("samples"):
        return
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    samples = soak["samples"]
    minutes = [s["t_s"] / 60 for s in samples]
    fig, ax = plt.subplots(figsize=(8, 4))
    for key, label in (("rss_mib", "process RSS"), ("allocator_resident_mib", "allocator resident"),
                       ("allocated_mib", "allocator live bytes"), ("cache_mib", "tile cache (budget %d MiB)" %
                                                                    soak["cache_budget_mib"])):
        points = [(m, s[key]) for m, s in zip(minutes, samples) if key in s]
        if points:
            ax.plot([m for m, _ in points], [v for _, v in points], label=label)
    ax.set_xlabel("minutes at concurrency 64 (%d requests, %d errors)" % (soak["requests"], soak["errors"]))
    ax.set_ylabel("MiB")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("mcval memory during the soak")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
