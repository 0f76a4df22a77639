"""Merges stats_bench's and stats_peers.py's figures into one comparison, as Markdown and JSON,
with the description of the machine they were measured on.

Usage: /usr/bin/python3 stats_report.py --mcval MCVAL.json --peers PEERS.json --date YYYY-MM-DD
           --md OUT.md --json OUT.json [--load-before "1.0 0.9 0.8"]
"""
import argparse
import json
import math
import os
import platform

TARGET_BOOTSTRAP_S = 10.0


def machine(load_before):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    os_name = platform.system()
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu,
        "memory_gib": round(mem_kib / 1024 ** 2, 1),
        "os": os_name,
        "kernel": platform.release(),
        "load_average_before": load_before,
        "load_average_after": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }


def duration(seconds):
    if seconds is None:
        return "n/a"
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1e3:.2f} ms"


def ratio(peer, ours):
    if peer is None or ours is None or ours <= 0:
        return "n/a"
    return f"{peer / ours:.1f}x"


def grouped(n):
    return f"{n:,}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mcval", required=True)
    ap.add_argument("--peers", required=True)
    ap.add_argument("--date", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--load-before", default="")
    args = ap.parse_args()
    with open(args.mcval) as f:
        mc = json.load(f)
    with open(args.peers) as f:
        peers = json.load(f)
    m = machine(args.load_before)
    v = peers["versions"]
    has_r = "pROC" in v

    def med(t):
        return t["median_s"] if t else None

    rows = []  # (measure, mcval s, python s, python note, pROC s)
    for entry, p in zip(mc["delong"], peers["sizes"]):
        rows.append((f"AUC, n = {grouped(entry['n'])}", med(entry["auc_time"]), med(p["sklearn_auc_time"]),
                     med(p.get("proc_auc_time"))))
    for entry, p in zip(mc["delong"], peers["sizes"]):
        rows.append((f"AUC + DeLong variance, n = {grouped(entry['n'])}", med(entry["delong_time"]),
                     med(p["numpy_delong_time"]), med(p.get("proc_delong_time"))))
    sk = peers["bootstrap"]["sklearn"]
    pr = peers["bootstrap"].get("proc")
    boot_label = f"{grouped(sk['replicates_target'])} x {grouped(sk['n'])}"
    mc_boot = {(b["bca"], b["threads"]): b for b in mc["bootstrap"]}
    for (bca, threads), b in sorted(mc_boot.items()):
        what = "percentile + BCa" if bca else "percentile"
        rows.append((f"Bootstrap AUC {boot_label}, {what}, mcval on {threads} thread{'s' if threads > 1 else ''}",
                     med(b["time"]), sk["time_s"], pr["time_s"] if pr else None))

    extrapolated = sk["extrapolated"] or (pr is not None and pr["extrapolated"])
    worst = max(b["time"]["median_s"] for b in mc["bootstrap"])
    worst_b = max(mc["bootstrap"], key=lambda b: b["time"]["median_s"])
    target_met = worst < TARGET_BOOTSTRAP_S

    dl = mc["delong"]
    exponents = []
    for a, b in zip(dl, dl[1:]):
        exponents.append(math.log(b["delong_time"]["median_s"] / a["delong_time"]["median_s"]) /
                         math.log(b["n"] / a["n"]))
    per = [e["delong_ns_per_n_log2_n"] for e in dl]
    agreement = peers["agreement"]
    worst_diff = max(c["abs_diff"] for c in agreement["checks"])

    md = []
    md.append(f"# mcval::stats benchmark, {args.date}\n")
    md.append(f"Machine: {m['cpu_model']}, {m['nproc']} cores, {m['memory_gib']} GiB, {m['os']} "
              f"(kernel {m['kernel']}); load average before {m['load_average_before'] or 'n/a'}, "
              f"after {m['load_average_after']}.  ")
    md.append(f"mcval {mc['mcval_version']} ({mc['compiler']}, {mc['build_type']}); Python {v['python']}, "
              f"NumPy {v['numpy']}, SciPy {v['scipy']}, scikit-learn {v['scikit-learn']}"
              + (f"; R {v['R']}, pROC {v['pROC']}" if has_r else "; pROC not run") + ".  ")
    md.append(f"Data: seed {mc['seed']}, about {mc['data']['positive_rate']:.0%} positives, scores "
              f"expit(N(0,1) + {mc['data']['separation']:g} x label) rounded to {mc['data']['score_decimals']} "
              "decimals (ties). Wall-clock times, medians of repeated runs; every peer on the same CSV.\n")
    md.append("| measure | mcval | scikit-learn / NumPy | pROC | speed-up vs Python | speed-up vs pROC |")
    md.append("|---|---:|---:|---:|---:|---:|")
    for what, ours, py, r in rows:
        md.append(f"| {what} | {duration(ours)} | {duration(py)} | {duration(r)} | {ratio(py, ours)} | "
                  f"{ratio(r, ours)} |")
    md.append("")
    md.append("Peers: AUC = scikit-learn `roc_auc_score`, pROC `auc(roc(...))`; DeLong = NumPy/SciPy fast "
              "DeLong (Sun and Xu 2014; scikit-learn has none), pROC `var(roc(...), method = \"delong\")`; "
              "bootstrap = a NumPy loop of stratified resamples calling `roc_auc_score` (percentile interval), "
              "pROC `ci.auc(method = \"bootstrap\", boot.stratified = TRUE)`. Both peers run on one thread, "
              "percentile only; the BCa rows compare mcval's BCa with the peers' percentile bootstrap.")
    if extrapolated:
        md.append(f"\n**The peers' bootstrap times are extrapolated**: they ran {sk['replicates_run']} replicates "
                  f"(scikit-learn {sk['measured_s']:.2f} s"
                  + (f", pROC {pr['measured_s']:.2f} s" if pr else "")
                  + f"), multiplied by {sk['replicates_target'] / sk['replicates_run']:g}.")
    else:
        md.append(f"\nThe peers ran all {grouped(sk['replicates_target'])} bootstrap replicates (no extrapolation).")
    md.append("\n## Targets\n")
    md.append(f"- Bootstrap of the AUC, {boot_label}, under {TARGET_BOOTSTRAP_S:g} s: slowest mcval configuration "
              f"({'BCa' if worst_b['bca'] else 'percentile'}, {worst_b['threads']} thread{'s' if worst_b['threads'] > 1 else ''}) "
              f"{worst:.2f} s: **{'met' if target_met else 'NOT met'}**.")
    md.append(f"- DeLong in O(n log n): time per n log2 n {', '.join(f'{x:.1f}' for x in per)} ns at n = "
              f"{', '.join(grouped(e['n']) for e in dl)}; growth exponent of the time between successive sizes "
              f"{', '.join(f'{x:.2f}' for x in exponents)} (n log n: about 1.1; quadratic: 2).")
    md.append(f"- Agreement: {len(agreement['checks'])} checks of AUC and DeLong SE against scikit-learn, NumPy and "
              f"pROC, largest difference {worst_diff:.2g}: **{'all within' if agreement['ok'] else 'NOT within'} "
              f"{agreement['tolerance']:g}**.")
    md.append("\n## Bootstrap intervals (95 %, for the record; they agree within Monte-Carlo error)\n")
    p0 = mc_boot[(True, 1)] if (True, 1) in mc_boot else mc["bootstrap"][0]
    md.append(f"- mcval percentile [{p0['percentile'][0]:.4f}, {p0['percentile'][1]:.4f}]"
              + (f", BCa [{p0['bca_interval'][0]:.4f}, {p0['bca_interval'][1]:.4f}]" if p0.get("bca_interval") else "")
              + f", bootstrap SE {p0['se']:.6f} (B = {grouped(p0['replicates'])})")
    md.append(f"- scikit-learn loop percentile [{sk['percentile'][0]:.4f}, {sk['percentile'][1]:.4f}] "
              f"(B = {grouped(sk['replicates_run'])})")
    if pr:
        md.append(f"- pROC percentile [{pr['percentile'][0]:.4f}, {pr['percentile'][1]:.4f}] "
                  f"(B = {grouped(pr['replicates_run'])})")
    text = "\n".join(md) + "\n"

    report = {
        "date": args.date,
        "machine": m,
        "targets": {
            "bootstrap_seconds_limit": TARGET_BOOTSTRAP_S,
            "bootstrap_slowest_mcval_s": worst,
            "bootstrap_met": target_met,
            "delong_ns_per_n_log2_n": per,
            "delong_growth_exponents": exponents,
        },
        "comparison": [{"measure": w, "mcval_s": o, "python_s": p, "proc_s": r} for w, o, p, r in rows],
        "peers_bootstrap_extrapolated": extrapolated,
        "mcval": mc,
        "peers": peers,
    }
    with open(args.md, "w") as f:
        f.write(text)
    with open(args.json, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(text)


if __name__ == "__main__":
    main()
