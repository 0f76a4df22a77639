"""Times the peers of mcval::stats on the data sets stats_bench wrote, and checks that they agree.

Peers, each doing what mcval does, the way its users usually do it:
- scikit-learn: roc_auc_score for the AUC; for the bootstrap a NumPy loop of stratified resamples
  (positives and negatives each drawn with replacement) calling roc_auc_score, percentile interval.
- NumPy/SciPy "fast DeLong" (Sun and Xu 2014, with scipy.stats.rankdata, as in the widely copied
  roc_comparison code) for the DeLong variance: scikit-learn has no DeLong.
- R pROC (stats_peers.R): roc() + auc(), roc() + var(method = "delong"), and
  ci.auc(method = "bootstrap", boot.stratified = TRUE), timed with system.time.

The AUC of every peer and the DeLong standard errors must equal mcval's to 1e-9; the exit status
is 1 otherwise. With --peer-replicates below mcval's B the peers' bootstrap is timed on fewer
replicates and extrapolated linearly (each replicate costs the same); the output says so.

Usage: /usr/bin/python3 stats_peers.py --mcval MCVAL.json --data DIR --out PEERS.json
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import scipy
from scipy.stats import rankdata
import sklearn
from sklearn.metrics import roc_auc_score

EXACT = 1e-9
HERE = os.path.dirname(os.path.abspath(__file__))


def load(path):
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return data[:, 0].astype(np.int64), data[:, 1]


def timed(fn, repeats):
    """Median and minimum wall time of fn over `repeats` runs after one untimed run."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "min_s": min(times), "repeats": repeats}


def fast_delong(labels, scores):
    """AUC and DeLong variance by midranks (Sun and Xu 2014), O(n log n)."""
    pos = scores[labels == 1]
    neg = scores[labels == 0]
    m, n = pos.size, neg.size
    ranks_all = rankdata(np.concatenate([pos, neg]))
    ranks_pos = rankdata(pos)
    ranks_neg = rankdata(neg)
    auc = (ranks_all[:m].sum() - m * (m + 1) / 2.0) / (m * n)
    v10 = (ranks_all[:m] - ranks_pos) / n          # positive placements
    v01 = 1.0 - (ranks_all[m:] - ranks_neg) / m    # negative placements
    variance = v10.var(ddof=1) / m + v01.var(ddof=1) / n
    return auc, variance


def sklearn_bootstrap(labels, scores, replicates, seed):
    """The usual Python bootstrap: stratified resamples, roc_auc_score on each, percentiles."""
    rng = np.random.default_rng(seed)
    pos = np.flatnonzero(labels == 1)
    neg = np.flatnonzero(labels == 0)
    values = np.empty(replicates)
    for b in range(replicates):
        idx = np.concatenate([rng.choice(pos, pos.size, replace=True), rng.choice(neg, neg.size, replace=True)])
        values[b] = roc_auc_score(labels[idx], scores[idx])
    return values


def run_proc(files, boot_file, boot_replicates, repeats, seed):
    cmd = ["Rscript", os.path.join(HERE, "stats_peers.R"), str(repeats), str(seed), boot_file,
           str(boot_replicates)] + files
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit("stats_peers: Rscript failed:\n" + done.stderr)
    out = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        if parts[0] == "versions":
            out.setdefault("versions", {})[parts[1]] = parts[2]
        else:
            out.setdefault(parts[0], {})[parts[1]] = [float(v) for v in parts[2:]]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mcval", required=True, help="stats_bench --out JSON")
    ap.add_argument("--data", required=True, help="stats_bench --write-data directory")
    ap.add_argument("--out", required=True, help="write the peers' figures here (JSON)")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs of each AUC/DeLong call (median)")
    ap.add_argument("--peer-replicates", type=int, default=0,
                    help="bootstrap replicates the peers run (0: as many as mcval; fewer: extrapolated)")
    ap.add_argument("--no-r", action="store_true", help="skip pROC")
    args = ap.parse_args()

    with open(args.mcval) as f:
        mc = json.load(f)
    seed = int(mc["seed"]) % (2 ** 31 - 1)
    target_replicates = mc["bootstrap"][0]["replicates"]
    peer_replicates = args.peer_replicates or target_replicates
    scale = target_replicates / peer_replicates

    result = {
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
                     "scikit-learn": sklearn.__version__},
        "sizes": [],
        "bootstrap": {},
        "agreement": {"tolerance": EXACT, "checks": []},
    }
    checks = result["agreement"]["checks"]

    def check(what, n, ours, theirs):
        ours, theirs = float(ours), float(theirs)
        diff = abs(ours - theirs)
        checks.append({"what": what, "n": n, "mcval": ours, "peer": theirs, "abs_diff": diff, "ok": bool(diff <= EXACT)})

    files = []
    for entry in mc["delong"]:
        n = entry["n"]
        path = os.path.join(args.data, entry["file"])
        files.append(path)
        labels, scores = load(path)
        auc = roc_auc_score(labels, scores)
        dl_auc, dl_var = fast_delong(labels, scores)
        row = {
            "n": n,
            "sklearn_auc": float(auc),
            "sklearn_auc_time": timed(lambda: roc_auc_score(labels, scores), args.repeats),
            "numpy_delong_auc": float(dl_auc),
            "numpy_delong_se": float(np.sqrt(dl_var)),
            "numpy_delong_time": timed(lambda: fast_delong(labels, scores), args.repeats),
        }
        result["sizes"].append(row)
        check("AUC scikit-learn roc_auc_score", n, entry["auc"], auc)
        check("AUC NumPy/SciPy fast DeLong", n, entry["auc"], dl_auc)
        check("DeLong SE NumPy/SciPy fast DeLong", n, entry["se_delong"], row["numpy_delong_se"])
        print(f"stats_peers: n={n}: scikit-learn AUC {row['sklearn_auc_time']['median_s'] * 1e3:.2f} ms, "
              f"NumPy DeLong {row['numpy_delong_time']['median_s'] * 1e3:.2f} ms", file=sys.stderr)

    boot = mc["bootstrap_data"]
    boot_path = os.path.join(args.data, boot["file"])
    labels, scores = load(boot_path)
    print(f"stats_peers: scikit-learn bootstrap, {peer_replicates} replicates of n={boot['n']} ...", file=sys.stderr)
    start = time.perf_counter()
    values = sklearn_bootstrap(labels, scores, peer_replicates, seed)
    measured = time.perf_counter() - start
    result["bootstrap"]["sklearn"] = {
        "n": boot["n"], "replicates_run": peer_replicates, "replicates_target": target_replicates,
        "measured_s": measured, "time_s": measured * scale, "extrapolated": scale != 1,
        "percentile": [float(v) for v in np.percentile(values, [2.5, 97.5])],
    }

    if not args.no_r:
        print(f"stats_peers: pROC, {peer_replicates} bootstrap replicates ...", file=sys.stderr)
        proc = run_proc(files, boot_path, peer_replicates, args.repeats, seed)
        result["versions"].update({"R": proc["versions"]["R"], "pROC": proc["versions"]["pROC"]})
        for entry, row in zip(mc["delong"], result["sizes"]):
            p = proc[entry["file"]]
            row["proc_auc"] = p["auc"][0]
            row["proc_se"] = p["se_delong"][0]
            row["proc_auc_time"] = {"median_s": p["auc_time"][0], "min_s": p["auc_time"][1], "repeats": args.repeats}
            row["proc_delong_time"] = {"median_s": p["delong_time"][0], "min_s": p["delong_time"][1],
                                       "repeats": args.repeats}
            check("AUC pROC", entry["n"], entry["auc"], row["proc_auc"])
            check("DeLong SE pROC var(method='delong')", entry["n"], entry["se_delong"], row["proc_se"])
        measured = proc["bootstrap"]["time"][0]
        result["bootstrap"]["proc"] = {
            "n": boot["n"], "replicates_run": peer_replicates, "replicates_target": target_replicates,
            "measured_s": measured, "time_s": measured * scale, "extrapolated": scale != 1,
            "percentile": proc["bootstrap"]["percentile"],
        }

    result["agreement"]["ok"] = all(c["ok"] for c in checks)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    for c in checks:
        if not c["ok"]:
            print(f"stats_peers: DISAGREEMENT {c['what']} n={c['n']}: mcval {c['mcval']!r} vs {c['peer']!r}",
                  file=sys.stderr)
    worst = max(c["abs_diff"] for c in checks)
    print(f"stats_peers: {len(checks)} agreement checks, largest difference {worst:.3g} "
          f"({'all within' if result['agreement']['ok'] else 'NOT within'} {EXACT:g})", file=sys.stderr)
    return 0 if result["agreement"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
