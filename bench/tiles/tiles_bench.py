#!/usr/bin/python3
"""Tile-server benchmark: mcval against OpenSlide's Deep Zoom server, IIPImage and orthanc-wsi.

Started by bench/tiles/run_tiles_bench.sh (see bench/README.md). Standard library only, plus
python3-openslide for the slide geometry and python3-matplotlib for the plot. Every server runs
on 127.0.0.1 over the same slides and is driven by wrk with bench/tiles/replay.lua, replaying
request lists built from one logical tile list, so every server is asked for the same tiles.
"""
import argparse
import datetime
import json
import math
import os
import platform
import random
import statistics
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPLAY = os.path.join(HERE, "replay.lua")
DEEPZOOM_SERVER = "/usr/share/doc/python-openslide-examples/examples/deepzoom/deepzoom_server.py"
IIPSRV = "/usr/lib/iipimage-server/iipsrv.fcgi"
ORTHANC_PLUGINS = "/usr/share/orthanc/plugins"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

TARGETS = ["mcval-iiif", "mcval-dzi", "mcval-dzi-native", "deepzoom", "iipsrv-iiif", "orthanc-wsi", "orthanc-raw"]
DESCRIPTIONS = {
    "mcval-iiif": "mcval, IIIF Image API 3 at the slide's tile size",
    "mcval-dzi": "mcval, Deep Zoom 254 px + 1 overlap (default)",
    "mcval-dzi-native": "mcval, Deep Zoom at the slide's tile size, no overlap (--dzi-native-tiles)",
    "deepzoom": "OpenSlide Deep Zoom example server (Flask, threaded), 254 px + 1",
    "iipsrv-iiif": "IIPImage iipsrv (lighttpd FastCGI), IIIF on the vips pyramidal TIFF",
    "orthanc-wsi": "Orthanc + orthanc-wsi, /wsi/tiles on the DICOMized TIFF",
    "orthanc-raw": "Orthanc, /instances/{id}/frames/{n}/raw (stored frame bytes)",
}


def log(msg):
    print("tiles-bench: " + msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, socket.timeout, OSError):
        return 0, b""


# ---------------------------------------------------------------- process accounting (/proc)

def tree_pids(root):
    """root and all its descendants."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            children.setdefault(ppid, []).append(int(name))
        except (OSError, ValueError):
            pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def tree_cpu_seconds(root):
    total = 0.0
    for pid in tree_pids(root):
        try:
            with open("/proc/%d/stat" % pid) as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2:].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
        except (OSError, ValueError, IndexError):
            pass
    return total


def tree_memory(root):
    """(sum of VmHWM, sum of VmRSS) over the tree, bytes."""
    hwm = rss = 0
    for pid in tree_pids(root):
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm += int(line.split()[1]) * 1024
                    elif line.startswith("VmRSS:"):
                        rss += int(line.split()[1]) * 1024
        except OSError:
            pass
    return hwm, rss


# ---------------------------------------------------------------- logical tiles

class SlideGeometry:
    """A slide's size, stored tile size and stored levels (through python3-openslide)."""

    def __init__(self, name, path):
        import openslide
        s = openslide.OpenSlide(path)
        self.name, self.path = name, path
        self.width, self.height = s.dimensions
        self.tile = int(s.properties.get("openslide.level[0].tile-width", 256))
        self.level_downsamples = [float(d) for d in s.level_downsamples]
        s.close()
        self.max_dz = int(math.ceil(math.log2(max(self.width, self.height))))

    def scale_factors(self):
        f, out = 1, []
        while True:
            out.append(f)
            if self.width / f <= self.tile and self.height / f <= self.tile:
                return out
            f *= 2

    def grid(self, f):
        """Columns and rows of the tile grid at scale factor f (IIIF tiles, vips TIFF levels)."""
        w, h = math.ceil(self.width / f), math.ceil(self.height / f)
        return math.ceil(w / self.tile), math.ceil(h / self.tile)

    def all_tiles(self):
        out = []
        for f in self.scale_factors():
            cols, rows = self.grid(f)
            out += [(f, c, r) for r in range(rows) for c in range(cols)]
        return out

    def session(self, seed, viewport=(1600, 1000), pans=24):
        """A recorded pathologist session: overview, zoom in to a point in steps, pan around at
        full resolution, zoom out and in again elsewhere. Tiles of each viewport, in order."""
        rng = random.Random(seed)
        out = []

        def view(f, cx, cy):
            x0, y0 = cx / f - viewport[0] / 2, cy / f - viewport[1] / 2
            cols, rows = self.grid(f)
            c0, c1 = max(0, int(x0 // self.tile)), min(cols - 1, int((x0 + viewport[0]) // self.tile))
            r0, r1 = max(0, int(y0 // self.tile)), min(rows - 1, int((y0 + viewport[1]) // self.tile))
            out.extend((f, c, r) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1))

        factors = self.scale_factors()
        for visit in range(3):
            cx = rng.uniform(0.25, 0.75) * self.width
            cy = rng.uniform(0.25, 0.75) * self.height
            for f in reversed(factors):  # zoom in
                view(f, cx, cy)
            for _ in range(pans // (visit + 1)):  # pan at full resolution, half a viewport a step
                cx = min(max(cx + rng.choice([-1, 1]) * viewport[0] / 2, 0), self.width)
                cy = min(max(cy + rng.choice([-1, 0, 1]) * viewport[1] / 2, 0), self.height)
                view(1, cx, cy)
            for f in factors[1:4]:  # zoom out a little and look around
                view(f, cx, cy)
        return out


def dz_tile(geo, f, col, row, tile_px=254):
    """The 254-px Deep Zoom tile (limit_bounds off) holding the centre of logical tile (f, col, row)."""
    level = geo.max_dz - int(round(math.log2(f)))
    w = math.ceil(geo.width / 2 ** (geo.max_dz - level))
    h = math.ceil(geo.height / 2 ** (geo.max_dz - level))
    cx = min((col + 0.5) * geo.tile, w - 1)
    cy = min((row + 0.5) * geo.tile, h - 1)
    return level, int(cx // tile_px), int(cy // tile_px)


class PathMaker:
    """Turns logical tiles (scale factor, col, row on the slide's tile grid) into each server's
    request path."""

    def __init__(self, geo, mcval_id, tiff_name, orthanc):
        self.geo, self.id, self.tiff, self.orthanc = geo, mcval_id, tiff_name, orthanc

    def path(self, target, t):
        g = self.geo
        f, col, row = t
        T = g.tile
        x, y = col * T * f, row * T * f
        w, h = min(T * f, g.width - x), min(T * f, g.height - y)
        out_w = max(1, math.ceil(w / f))
        if target == "mcval-iiif":
            return "/iiif/3/%s/%d,%d,%d,%d/%d,/0/default.jpg" % (self.id, x, y, w, h, out_w)
        if target == "iipsrv-iiif":
            return "/fcgi-bin/iipsrv.fcgi?IIIF=%s/%d,%d,%d,%d/%d,/0/default.jpg" % (self.tiff, x, y, w, h, out_w)
        if target == "mcval-dzi-native":
            return "/dzi/%s_files/%d/%d_%d.jpeg" % (self.id, g.max_dz - int(round(math.log2(f))), col, row)
        if target in ("mcval-dzi", "deepzoom"):
            level, c, r = dz_tile(g, f, col, row)
            prefix = "/dzi/%s_files" % self.id if target == "mcval-dzi" else "/slide_files"
            return "%s/%d/%d_%d.jpeg" % (prefix, level, c, r)
        if target in ("orthanc-wsi", "orthanc-raw"):
            if self.orthanc is None:
                return None
            level = int(round(math.log2(f)))
            levels = self.orthanc["levels"]
            if level >= len(levels):
                return None
            lv = levels[level]
            if col >= lv["cols"] or row >= lv["rows"]:
                return None
            if target == "orthanc-wsi":
                return "/wsi/tiles/%s/%d/%d/%d" % (self.orthanc["series"], level, col, row)
            frame = lv["frames"].get("%d,%d" % (col, row))
            return None if frame is None else "/instances/%s/frames/%d/raw" % (frame[0], frame[1])
        raise ValueError(target)

    def paths(self, target, tiles):
        seen, out = set(), []
        for t in tiles:
            p = self.path(target, t)
            if p is not None and p not in seen:
                seen.add(p)
                out.append(p)
        return out

    def paths_with_repeats(self, target, tiles):
        return [p for p in (self.path(target, t) for t in tiles) if p is not None]


# ---------------------------------------------------------------- servers

class Server:
    def __init__(self, name, argv, port, ready_path, work, env=None, cwd=None):
        self.name, self.argv, self.port, self.ready_path, self.work = name, argv, port, ready_path, work
        self.env, self.cwd, self.proc = env, cwd, None

    def url(self, path=""):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def start(self, timeout=120):
        logf = open(os.path.join(self.work, "%s.log" % self.name), "ab")
        env = dict(os.environ)
        env.update(self.env or {})
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env, cwd=self.cwd, start_new_session=True)
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at start (see %s/%s.log)" % (self.name, self.work, self.name))
            status, _ = http_get(self.url(self.ready_path), timeout=5)
            if status == 200:
                return time.monotonic() - t0
            time.sleep(0.02)
        raise RuntimeError("%s did not answer %s within %d s" % (self.name, self.ready_path, timeout))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def cpu(self):
        return tree_cpu_seconds(self.proc.pid)

    def memory(self):
        return tree_memory(self.proc.pid)


def mcval_server(args, native, cache_bytes=None):
    port = free_port()
    argv = [args.mcval, "serve", "--slides", args.slide_root, "--data", args.mcval_data,
            "--listen", "127.0.0.1:%d" % port, "--scan-on-start=false", "--audit-stdout=false",
            "--access-log", args.mcval_access_log]
    if native:
        argv.append("--dzi-native-tiles")
    if cache_bytes:
        argv += ["--tile-cache-bytes", str(cache_bytes)]
    return Server("mcval-native" if native else "mcval", argv, port, "/readyz", args.work)


def deepzoom_server(args, slide_path):
    port = free_port()
    argv = ["/usr/bin/python3", DEEPZOOM_SERVER, "-B", "-Q", str(args.jpeg_quality), "-l", "127.0.0.1",
            "-p", str(port), slide_path]
    return Server("deepzoom", argv, port, "/slide.dzi", args.work)


def iipsrv_server(args, ready_path):
    port = free_port()
    conf = os.path.join(args.work, "lighttpd.conf")
    procs = args.server_workers
    cache_mb = max(1, args.cache_mib // procs)  # one cache per iipsrv process: same total as mcval
    with open(conf, "w") as f:
        f.write("""server.modules = ("mod_fastcgi")
server.document-root = "%(work)s"
server.bind = "127.0.0.1"
server.port = %(port)d
server.pid-file = "%(work)s/lighttpd.pid"
server.errorlog = "%(work)s/lighttpd-error.log"
server.max-fds = 4096
server.max-connections = 2048
fastcgi.server = ( "/fcgi-bin/iipsrv.fcgi" => ((
  "socket" => "%(work)s/iipsrv.socket",
  "check-local" => "disable",
  "min-procs" => %(procs)d,
  "max-procs" => %(procs)d,
  "bin-path" => "%(iipsrv)s",
  "bin-environment" => (
    "LOGFILE" => "%(work)s/iipsrv.log",
    "VERBOSITY" => "0",
    "FILESYSTEM_PREFIX" => "%(tiff)s/",
    "JPEG_QUALITY" => "%(quality)d",
    "MAX_IMAGE_CACHE_SIZE" => "%(cache)d",
    "MAX_CVT" => "5000",
    "CORS" => "*"
  )
)))
""" % {"work": args.work, "port": port, "procs": procs, "iipsrv": IIPSRV, "tiff": args.tiff_root,
       "quality": args.jpeg_quality, "cache": cache_mb})
    return Server("iipsrv", ["/usr/sbin/lighttpd", "-D", "-f", conf], port, ready_path, args.work)


def orthanc_config(args, port):
    conf = os.path.join(args.work, "orthanc.json")
    with open(conf, "w") as f:
        json.dump({
            "Name": "mcval-bench", "HttpPort": port, "DicomPort": 0, "DicomServerEnabled": False,
            "RemoteAccessAllowed": False, "AuthenticationEnabled": False, "HttpServerEnabled": True,
            "StorageDirectory": os.path.join(args.bench_data, "orthanc", "storage"),
            "IndexDirectory": os.path.join(args.bench_data, "orthanc", "index"),
            "Plugins": [os.path.join(ORTHANC_PLUGINS, "libOrthancWSI.so")],
            # One Orthanc thread serves one connection at a time: with fewer threads than the load's
            # connections, the rest wait behind idle keep-alive connections (a 1 s tail at c=64).
            "HttpThreadsCount": max(50, max(args.concurrency) + 8), "KeepAlive": True, "HttpCompressionEnabled": False,
            "StorageCompression": False, "HttpDescribeErrors": False,
        }, f, indent=1)
    return conf


def orthanc_server(args):
    port = free_port()
    conf = orthanc_config(args, port)
    return Server("orthanc", ["/usr/sbin/Orthanc", conf], port, "/system", args.work)


# ---------------------------------------------------------------- load

def run_wrk(server, paths, mode, concurrency, duration, work, label):
    list_file = os.path.join(work, "paths-%s.txt" % label)
    with open(list_file, "w") as f:
        f.write("\n".join(paths) + "\n")
    threads = 1 if concurrency == 1 else 2
    env = dict(os.environ, REPLAY_PATHS=list_file, REPLAY_MODE=mode, REPLAY_THREADS=str(threads))
    wrk_duration = duration if mode == "loop" else max(duration, 1)
    cpu0 = server.cpu()
    t0 = time.monotonic()
    out = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % concurrency, "-d%ds" % wrk_duration, "--timeout", "60s",
                          "-s", REPLAY, server.url("/")], capture_output=True, text=True, env=env)
    wall = time.monotonic() - t0
    cpu1 = server.cpu()
    hwm, rss = server.memory()
    line = [l for l in out.stdout.splitlines() if l.startswith("WRKJSON ")]
    if not line:
        raise RuntimeError("wrk gave no result: %s %s" % (out.stdout[-2000:], out.stderr[-2000:]))
    r = json.loads(line[0][len("WRKJSON "):])
    if mode == "once":
        responses = r["ok_once"] + r["bad_once"]
        errors = r["bad_once"] + r["errors"]["connect"] + r["errors"]["timeout"]
    else:
        responses = r["requests"]
        errors = sum(r["errors"].values())
    seconds = r["duration_s"]
    cpu = cpu1 - cpu0
    return {
        "mode": mode, "concurrency": concurrency, "requests": responses, "errors": errors,
        "error_detail": r["errors"], "seconds": round(seconds, 3),
        "requests_per_s": round(responses / seconds, 1) if seconds > 0 else 0,
        "p50_ms": r["latency_us"]["p50"] / 1000, "p99_ms": r["latency_us"]["p99"] / 1000,
        "max_ms": r["latency_us"]["max"] / 1000,
        "cpu_s": round(cpu, 3), "cpu_s_per_1000": round(1000 * cpu / responses, 3) if responses else None,
        "mean_bytes": round(r["bytes"] / max(1, r["requests"])),
        "peak_rss_mib": round(hwm / 2**20, 1), "rss_mib": round(rss / 2**20, 1), "wall_s": round(wall, 1),
        "list_length": len(paths),
    }


def check_paths(server, paths, n=3):
    for p in paths[:n]:
        status, body = http_get(server.url(p), timeout=60)
        if status != 200:
            raise RuntimeError("%s answered %d to %s: %r" % (server.name, status, p, body[:200]))


def metrics(server):
    status, body = http_get(server.url("/metrics"))
    out = {}
    if status == 200:
        for line in body.decode().splitlines():
            if (line.startswith("mcval_") or line.startswith("process_")) and " " in line:
                k, v = line.split(" ", 1)
                out[k] = float(v)
    return out


# ---------------------------------------------------------------- preparation

def read_files_once(paths):
    """Reads every file once so that 'cold' means the servers' caches, not the OS page cache."""
    total = 0
    for root in paths:
        for dirpath, _, files in os.walk(root) if os.path.isdir(root) else [(os.path.dirname(root), [], [os.path.basename(root)])]:
            for name in files:
                with open(os.path.join(dirpath, name), "rb") as f:
                    while True:
                        b = f.read(1 << 22)
                        if not b:
                            break
                        total += len(b)
    return total


def orthanc_levels(server, series):
    """The series' pyramid levels (finest first): tile grid and, per tile, the instance and frame
    that hold it (from each frame's PlanePositionSlideSequence)."""
    _, body = http_get(server.url("/series/%s/instances" % series), timeout=120)
    by_size = {}
    for inst in json.loads(body):
        _, tags = http_get(server.url("/instances/%s/tags?simplify" % inst["ID"]), timeout=300)
        tags = json.loads(tags)
        w, h = int(tags["TotalPixelMatrixColumns"]), int(tags["TotalPixelMatrixRows"])
        tw, th = int(tags["Columns"]), int(tags["Rows"])
        level = by_size.setdefault((w, h), {"width": w, "height": h, "tile": tw, "cols": math.ceil(w / tw),
                                            "rows": math.ceil(h / th), "frames": {}})
        for n, item in enumerate(tags.get("PerFrameFunctionalGroupsSequence") or []):
            pos = (item.get("PlanePositionSlideSequence") or [{}])[0]
            x, y = pos.get("ColumnPositionInTotalImagePixelMatrix"), pos.get("RowPositionInTotalImagePixelMatrix")
            if x is not None and y is not None:
                level["frames"]["%d,%d" % ((int(x) - 1) // tw, (int(y) - 1) // th)] = [inst["ID"], n]
    return sorted(by_size.values(), key=lambda l: -l["width"])


def machine(args):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) * 1024

    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
        except Exception:  # noqa: BLE001 - a missing tool is reported as unknown
            return "unknown"

    def deb(pkg):
        return version(["dpkg-query", "-W", "-f=${Version}", pkg])

    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / 2**30, 1),
        "kernel": platform.release(), "os": version(["sh", "-c", ". /etc/os-release; echo $PRETTY_NAME"]),
        "load_before": os.getloadavg(),
        "versions": {"openslide": deb("libopenslide0"), "python3-openslide": deb("python3-openslide"),
                     "flask": deb("python3-flask"), "iipimage-server": deb("iipimage-server"),
                     "lighttpd": deb("lighttpd"), "libvips": deb("libvips-tools"), "orthanc": deb("orthanc"),
                     "orthanc-wsi": deb("orthanc-wsi"), "wrk": deb("wrk")},
    }


def prepare(args):
    """Slides, the mcval catalogue, the vips TIFFs and the Orthanc import (each done once and kept
    under --bench-data)."""
    os.makedirs(os.path.join(args.slide_root, "bench"), exist_ok=True)
    os.makedirs(args.tiff_root, exist_ok=True)
    slides = {}
    cmu = os.path.join(args.slide_root, "bench", "cmu-1-small-region.svs")
    if not os.path.exists(cmu):
        shutil.copyfile(args.cmu, cmu)
    slides["cmu"] = cmu
    if args.size > 0:
        big = os.path.join(args.slide_root, "bench", "synth-%d.svs" % args.size)
        if not os.path.exists(big):
            out = os.path.join(args.bench_data, "synth-tmp")
            shutil.rmtree(out, ignore_errors=True)
            log("generating a %d x %d slide with mcval synth (once; kept in %s)" % (args.size, args.size, big))
            t0 = time.monotonic()
            subprocess.run([args.mcval, "synth", "--source", args.cmu, "--out", out, "--centres", "bench",
                            "--slides-per-centre", "1", "--width", str(args.size), "--height", str(args.size),
                            "--seed", "11", "--no-lesions", "--log-format", "text"], check=True,
                           stdout=subprocess.DEVNULL)
            made = [os.path.join(dp, f) for dp, _, fs in os.walk(out) for f in fs if f.endswith(".svs")]
            os.rename(made[0], big)
            shutil.rmtree(out, ignore_errors=True)
            log("generated in %.0f s" % (time.monotonic() - t0))
        slides["synth"] = big
    subprocess.run([args.mcval, "ingest", "--slides", args.slide_root, "--data", args.mcval_data,
                    "--log-format", "text"], check=True, stdout=subprocess.DEVNULL)
    listing = json.loads(subprocess.run([args.mcval, "slides", "list", "--data", args.mcval_data, "--json"],
                                        check=True, capture_output=True, text=True).stdout)
    ids = {os.path.basename(s["relative_path"]): s["id"] for s in listing}

    info = {}
    for name, path in slides.items():
        geo = SlideGeometry(name, path)
        tiff = os.path.join(args.tiff_root, name + ".tif")
        if not os.path.exists(tiff):
            log("vips: pyramidal TIFF of %s (JPEG Q%d, %d px tiles)" % (name, args.jpeg_quality, geo.tile))
            subprocess.run(["vips", "tiffsave", path, tiff + ".part", "--tile", "--tile-width", str(geo.tile),
                            "--tile-height", str(geo.tile), "--pyramid", "--compression", "jpeg",
                            "--Q", str(args.jpeg_quality), "--bigtiff"], check=True)
            os.rename(tiff + ".part", tiff)
        info[name] = {"geo": geo, "id": ids[os.path.basename(path)], "tiff": os.path.basename(tiff),
                      "tiff_path": tiff, "svs_path": path}

    if "orthanc" in args.peers:
        os.makedirs(os.path.join(args.bench_data, "orthanc"), exist_ok=True)
        series_file = os.path.join(args.bench_data, "orthanc", "series.json")
        known = json.load(open(series_file)) if os.path.exists(series_file) else {}
        server = orthanc_server(args)
        server.start()
        try:
            for name, entry in info.items():
                if name not in known:
                    _, before = http_get(server.url("/series"))
                    log("OrthancWSIDicomizer: %s -> Orthanc" % entry["tiff"])
                    subprocess.run(["OrthancWSIDicomizer", "--orthanc", server.url("/"),
                                    "--threads", str(os.cpu_count()), entry["tiff_path"]], check=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    _, after = http_get(server.url("/series"))
                    new = set(json.loads(after)) - set(json.loads(before))
                    known[name] = sorted(new)[0]
                    json.dump(known, open(series_file, "w"))
                levels_file = os.path.join(args.bench_data, "orthanc", "levels-%s.json" % name)
                if not os.path.exists(levels_file):
                    json.dump(orthanc_levels(server, known[name]), open(levels_file, "w"))
                entry["orthanc"] = {"series": known[name], "levels": json.load(open(levels_file))}
        finally:
            server.stop()
    for entry in info.values():
        entry.setdefault("orthanc", None)
        entry["paths"] = PathMaker(entry["geo"], entry["id"], entry["tiff"], entry["orthanc"])
    return info


def make_server(args, target, entry):
    """The server for `target`, ready when it has answered its own first tile (full resolution,
    top left): every server has opened the slide before a measured run, none has more cached."""
    server = _make_server(args, target, entry)
    first = entry["paths"].path(target, (1, 0, 0))
    if first is not None:
        server.ready_path = first
    return server


def _make_server(args, target, entry):
    if target == "mcval-dzi-native":
        return mcval_server(args, native=True)
    if target.startswith("mcval"):
        return mcval_server(args, native=False)
    if target == "deepzoom":
        return deepzoom_server(args, entry["svs_path"])
    if target == "iipsrv-iiif":
        first = entry["paths"].path("iipsrv-iiif", (1, 0, 0))
        return iipsrv_server(args, first)
    if target.startswith("orthanc"):
        return orthanc_server(args)
    raise ValueError(target)


def measured_run(server, target, paths, mode, c, duration, label, args, quiet=False):
    before = metrics(server) if target.startswith("mcval") else {}
    r = run_wrk(server, paths, mode, c, duration, args.work, label)
    if target.startswith("mcval"):
        after = metrics(server)
        stored = after.get("mcval_tiles_stored_jpeg_total", 0) - before.get("mcval_tiles_stored_jpeg_total", 0)
        r["stored_jpeg_share"] = round(stored / r["requests"], 3) if r["requests"] else None
        r["cache_bytes"] = after.get("mcval_tile_cache_bytes")
    if not quiet:
        log_run(target, label.split("-")[-2] if label.count("-") >= 2 else mode, c, r)
    return r


def log_run(target, scenario, c, r):
    log("  %-17s %-8s c=%-3d %8.1f req/s  p50 %7.2f ms  p99 %8.2f ms  cpu/1000 %6.2f s  peak %6.0f MiB  errors %d%s%s" % (
        target, scenario, c, r["requests_per_s"], r["p50_ms"],
        r["p99_ms"], r["cpu_s_per_1000"] or 0, r["peak_rss_mib"], r["errors"],
        ("  stored %.0f%%" % (100 * r["stored_jpeg_share"])) if r.get("stored_jpeg_share") is not None else "",
        ("  (%d passes)" % r["passes"]) if r.get("passes") else ""))


def cold_run(args, target, entry, paths, c, label):
    """Every tile of the pyramid once, on a fresh server, in passes until the passes add up to
    --cold-seconds of measuring (at most 10 passes): a pass over a small slide's pyramid (182
    IIIF tiles of CMU) lasts a few hundredths of a second on a fast server, too short to take
    alone. A pass is cut at --duration (a slow server on a big pyramid: one pass). Requests/s,
    CPU and stored share are over all passes; p50/p99 the median of the passes'; peak memory the
    highest."""
    passes = []
    duration = args.duration
    while not passes or (len(passes) < 10 and sum(r["seconds"] for r in passes) < args.cold_seconds):
        server = make_server(args, target, entry)
        server.start()
        try:
            passes.append(measured_run(server, target, paths, "once", c, duration, label, args, quiet=True))
        finally:
            server.stop()
        # wrk lasts its whole -d however soon the list is done: later passes get what the first
        # needed, with room to spare
        duration = max(1, min(args.duration, math.ceil(3 * passes[0]["seconds"])))
    total = dict(passes[0])
    for key in ("requests", "errors", "seconds", "cpu_s", "wall_s"):
        total[key] = round(sum(r[key] for r in passes), 3)
    total["error_detail"] = {k: sum(r["error_detail"].get(k, 0) for r in passes) for k in passes[0]["error_detail"]}
    total["requests_per_s"] = round(total["requests"] / total["seconds"], 1) if total["seconds"] > 0 else 0
    total["cpu_s_per_1000"] = round(1000 * total["cpu_s"] / total["requests"], 3) if total["requests"] else None
    for key in ("p50_ms", "p99_ms"):
        total[key] = statistics.median(r[key] for r in passes)
    for key in ("max_ms", "peak_rss_mib", "rss_mib"):
        total[key] = max(r[key] for r in passes)
    if passes[0].get("stored_jpeg_share") is not None:
        stored = sum(r["stored_jpeg_share"] * r["requests"] for r in passes)
        total["stored_jpeg_share"] = round(stored / total["requests"], 3) if total["requests"] else None
    total["passes"] = len(passes)
    log_run(target, "cold", c, total)
    return total


def bench_slide(args, name, entry, results):
    geo = entry["geo"]
    rng = random.Random(7)
    logical = geo.all_tiles()
    rng.shuffle(logical)
    session = geo.session(seed=3)
    working_set = logical[:args.warm_tiles]
    log("slide %s: %d x %d, tile %d, %d tiles in the pyramid, session of %d tile views" % (
        name, geo.width, geo.height, geo.tile, len(logical), len(session)))
    slide_results = results.setdefault(name, {})
    slide_results.update({"width": geo.width, "height": geo.height, "tile_px": geo.tile,
                          "pyramid_tiles": len(logical), "session_tiles": len(session),
                          "warm_tiles": len(working_set)})
    slide_results.setdefault("runs", {})
    for target in args.targets:
        if target.startswith("orthanc") and entry["orthanc"] is None:
            continue
        pm = entry["paths"]
        runs = slide_results["runs"].setdefault(target, {})
        cold_paths = pm.paths(target, logical)
        warm_paths = pm.paths(target, working_set)
        session_paths = pm.paths_with_repeats(target, session)
        try:
            for scenario in args.scenarios:
                if scenario == "cold":
                    for c in args.concurrency:
                        runs.setdefault("cold", {})[str(c)] = cold_run(
                            args, target, entry, cold_paths, c, "%s-%s-cold-%d" % (name, target, c))
                elif scenario == "session":  # a fresh server for every concurrency
                    for c in args.concurrency:
                        server = make_server(args, target, entry)
                        server.start()
                        try:
                            runs.setdefault(scenario, {})[str(c)] = measured_run(
                                server, target, session_paths, "loop", c, args.duration,
                                "%s-%s-session-%d" % (name, target, c), args)
                        finally:
                            server.stop()
                elif scenario == "warm":
                    server = make_server(args, target, entry)
                    server.start()
                    try:
                        check_paths(server, warm_paths)
                        run_wrk(server, warm_paths, "once", 8, args.duration, args.work, "%s-%s-prime" % (name, target))
                        for c in args.concurrency:
                            runs.setdefault("warm", {})[str(c)] = measured_run(
                                server, target, warm_paths, "loop", c, args.duration, "%s-%s-warm-%d" % (name, target, c), args)
                    finally:
                        server.stop()
        except Exception as e:  # noqa: BLE001 - one failing peer must not end the run; the error is reported
            log("  %s failed: %s" % (target, e))
            runs["failed"] = str(e)[:2000]


def startup(args, info, results):
    """Process start to the first tile answered (median of 3), each server on the big slide."""
    name = "synth" if "synth" in info else "cmu"
    entry = info[name]
    out = {}
    for target in ["mcval-iiif", "deepzoom", "iipsrv-iiif", "orthanc-wsi"]:
        if target.startswith("orthanc") and entry["orthanc"] is None:
            continue
        if target.split("-")[0] not in ("mcval",) and target.split("-")[0] not in args.peers_short:
            continue
        path = entry["paths"].path(target, (1, 1, 1))
        times = []
        for _ in range(3):
            server = make_server(args, target, entry)
            server.ready_path = path
            try:
                times.append(server.start())
            finally:
                server.stop()
        out[target] = {"first_tile_s": round(sorted(times)[1], 3), "runs_s": [round(t, 3) for t in times]}
        log("  start-up to first tile %-14s %.3f s" % (target, out[target]["first_tile_s"]))
    results["startup"] = {"slide": name, "servers": out}


def catalogue_scan(args, results):
    """mcval only: a full scan of 10,000 small generated slides, then incremental rescans."""
    root = os.path.join(args.bench_data, "catalogue", "slides")
    data = os.path.join(args.work, "catalogue-data")
    shutil.rmtree(data, ignore_errors=True)
    small = os.path.join(args.bench_data, "catalogue", "small.svs")
    if not os.path.exists(small):
        out = os.path.join(args.bench_data, "catalogue", "tmp")
        subprocess.run([args.mcval, "synth", "--source", args.cmu, "--out", out, "--centres", "c",
                        "--slides-per-centre", "1", "--width", "512", "--height", "512", "--seed", "5",
                        "--no-lesions", "--log-format", "text"], check=True, stdout=subprocess.DEVNULL)
        made = [os.path.join(dp, f) for dp, _, fs in os.walk(out) for f in fs if f.endswith(".svs")]
        os.rename(made[0], small)
        shutil.rmtree(out, ignore_errors=True)
    n = args.catalogue_slides
    existing = sum(len(fs) for _, _, fs in os.walk(root)) if os.path.isdir(root) else 0
    if existing != n:
        shutil.rmtree(root, ignore_errors=True)
        for i in range(n):
            folder = os.path.join(root, "centre-%02d" % (i % 10))
            os.makedirs(folder, exist_ok=True)
            shutil.copyfile(small, os.path.join(folder, "slide-%05d.svs" % i))
    read_files_once([root])

    def ingest(label):
        t0 = time.monotonic()
        r = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", args.mcval, "ingest", "--slides", root, "--data", data,
                            "--log-format", "text"], capture_output=True, text=True)
        wall = time.monotonic() - t0
        if r.returncode != 0:
            raise RuntimeError("ingest failed: " + r.stderr[-1000:])
        user, system, max_kib = r.stderr.strip().splitlines()[-1].split()
        summary = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
        out = {"wall_s": round(wall, 2), "cpu_s": round(float(user) + float(system), 2),
               "peak_rss_mib": round(int(max_kib) / 1024, 1), "summary": summary}
        log("  catalogue %-32s %7.2f s wall, %6.2f s CPU" % (label, wall, out["cpu_s"]))
        return out

    res = {"slides": n, "slide_bytes": os.path.getsize(small)}
    res["full_scan"] = ingest("full scan of %d slides" % n)
    res["rescan_unchanged"] = ingest("rescan, nothing changed")
    rng = random.Random(1)
    files = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(root) for f in fs)
    touched = rng.sample(files, n // 100)
    for p in touched[: len(touched) // 2]:
        os.utime(p)  # changed: new mtime
    for p in touched[len(touched) // 2:]:
        os.remove(p)
    for i in range(n // 200):
        shutil.copyfile(small, os.path.join(root, "centre-00", "new-%05d.svs" % i))
    res["rescan_1pct_changed"] = ingest("rescan, 1% changed/removed/added")
    res["change"] = {"touched": len(touched) // 2, "removed": len(touched) - len(touched) // 2, "added": n // 200}
    # Restore the set for the next run.
    for i in range(n // 200):
        os.remove(os.path.join(root, "centre-00", "new-%05d.svs" % i))
    for p in touched[len(touched) // 2:]:
        shutil.copyfile(small, p)
    results["catalogue"] = res


def slope_per_minute(samples, key, after_s=60):
    """Least-squares slope of samples[key] in MiB per minute after the first minute (warm-up:
    the cache fills); None without enough samples."""
    points = [(s["t_s"] / 60, s[key]) for s in samples if s["t_s"] >= after_s and key in s]
    if len(points) < 3:
        return None
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return round(sum((x - mx) * (y - my) for x, y in points) / sxx, 3) if sxx else None


def soak(args, info, results):
    """mcval at concurrency 64 for --soak-seconds over a tile list larger than its cache: RSS sampled."""
    name = "synth" if "synth" in info else "cmu"
    entry = info[name]
    geo = entry["geo"]
    logical = geo.all_tiles()
    random.Random(11).shuffle(logical)
    paths = entry["paths"].paths("mcval-iiif", logical)
    server = mcval_server(args, native=False, cache_bytes=args.cache_mib * 2**20)
    server.start()
    samples = []
    try:
        list_file = os.path.join(args.work, "paths-soak.txt")
        with open(list_file, "w") as f:
            f.write("\n".join(paths) + "\n")
        env = dict(os.environ, REPLAY_PATHS=list_file, REPLAY_MODE="loop", REPLAY_THREADS="2")
        cpu0 = server.cpu()
        before = metrics(server)
        t0 = time.monotonic()
        wrk = subprocess.Popen(["wrk", "-t2", "-c64", "-d%ds" % args.soak_seconds, "--timeout", "60s", "-s", REPLAY,
                                server.url("/")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        while wrk.poll() is None:
            hwm, rss = server.memory()
            m = metrics(server)
            sample = {"t_s": round(time.monotonic() - t0, 1), "rss_mib": round(rss / 2**20, 1),
                      "cache_mib": round(m.get("mcval_tile_cache_bytes", 0) / 2**20, 1)}
            # jemalloc's own view (when linked): live bytes, and what it holds resident.
            for key, metric in (("allocated_mib", "mcval_allocator_allocated_bytes"),
                                ("active_mib", "mcval_allocator_active_bytes"),
                                ("allocator_resident_mib", "mcval_allocator_resident_bytes"),
                                ("metadata_mib", "mcval_allocator_metadata_bytes"),
                                ("dirty_mib", "mcval_allocator_dirty_bytes"),
                                ("muzzy_mib", "mcval_allocator_muzzy_bytes")):
                if metric in m:
                    sample[key] = round(m[metric] / 2**20, 2)
            samples.append(sample)
            time.sleep(5)
        out, err = wrk.communicate()
        cpu = server.cpu() - cpu0
        after = metrics(server)
        r = json.loads([l for l in out.splitlines() if l.startswith("WRKJSON ")][0][len("WRKJSON "):])
        hwm, rss = server.memory()
    finally:
        server.stop()
    first = [s["rss_mib"] for s in samples if s["t_s"] <= 60 + 5]
    last = [s["rss_mib"] for s in samples if s["t_s"] >= samples[-1]["t_s"] - 60]
    res = {"seconds": args.soak_seconds, "concurrency": 64, "slide": name, "list_length": len(paths),
           "cache_budget_mib": args.cache_mib, "requests": r["requests"], "errors": sum(r["errors"].values()),
           "requests_per_s": round(r["requests"] / r["duration_s"], 1), "p50_ms": r["latency_us"]["p50"] / 1000,
           "p99_ms": r["latency_us"]["p99"] / 1000, "cpu_s_per_1000": round(1000 * cpu / max(1, r["requests"]), 3),
           "peak_rss_mib": round(hwm / 2**20, 1), "rss_first_minute_max_mib": max(first) if first else None,
           "rss_last_minute_max_mib": max(last) if last else None,
           "stored_jpeg_share": round((after.get("mcval_tiles_stored_jpeg_total", 0) -
                                       before.get("mcval_tiles_stored_jpeg_total", 0)) / max(1, r["requests"]), 3),
           "cache_evictions": after.get("mcval_tile_cache_evictions_total"),
           "rss_slope_mib_per_min": slope_per_minute(samples, "rss_mib"),
           "allocated_slope_mib_per_min": slope_per_minute(samples, "allocated_mib"),
           "allocator_resident_slope_mib_per_min": slope_per_minute(samples, "allocator_resident_mib"),
           "active_slope_mib_per_min": slope_per_minute(samples, "active_mib"),
           "metadata_slope_mib_per_min": slope_per_minute(samples, "metadata_mib"),
           "dirty_slope_mib_per_min": slope_per_minute(samples, "dirty_mib"),
           "muzzy_slope_mib_per_min": slope_per_minute(samples, "muzzy_mib"),
           "samples": samples}
    log("  soak %d s c=64: %.0f req/s, p99 %.1f ms, errors %d, RSS first minute %s MiB, last minute %s MiB, peak %s MiB; "
        "slope after the first minute: RSS %s, allocated %s MiB/min" % (
            args.soak_seconds, res["requests_per_s"], res["p99_ms"], res["errors"], res["rss_first_minute_max_mib"],
            res["rss_last_minute_max_mib"], res["peak_rss_mib"], res["rss_slope_mib_per_min"],
            res["allocated_slope_mib_per_min"]))
    results["soak"] = res


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--mcval", required=True)
    p.add_argument("--cmu", required=True)
    p.add_argument("--bench-data", default="/work/bench-data/tiles")
    p.add_argument("--size", type=int, default=50000, help="side of the generated slide; 0: CMU only")
    p.add_argument("--duration", type=int, default=8, help="seconds per measured wrk run")
    p.add_argument("--concurrency", default="1,8,64")
    p.add_argument("--scenarios", default="cold,warm,session")
    p.add_argument("--cold-seconds", type=float, default=0.5,
                   help="measured seconds the cold passes (fresh server each) add up to, at most 10 passes")
    p.add_argument("--targets", default=",".join(TARGETS))
    p.add_argument("--slides", default="cmu,synth")
    p.add_argument("--warm-tiles", type=int, default=1000, help="working set of the warm scenario")
    p.add_argument("--jpeg-quality", type=int, default=80)
    p.add_argument("--cache-mib", type=int, default=256, help="tile cache of mcval (and iipsrv's, split per process)")
    p.add_argument("--server-workers", type=int, default=4, help="iipsrv FastCGI processes (mcval's default threads: 4 on 2 cores)")
    p.add_argument("--mcval-access-log", default="all")
    p.add_argument("--soak-seconds", type=int, default=600, help="0: no soak")
    p.add_argument("--catalogue-slides", type=int, default=10000, help="0: no catalogue scan")
    p.add_argument("--no-startup", action="store_true")
    p.add_argument("--results", default=os.path.join(HERE, "..", "results"))
    p.add_argument("--note", default="")
    p.add_argument("--resume", action="store_true",
                   help="keep the slide runs of today's results file and run only start-up, catalogue and soak")
    args = p.parse_args()
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    args.scenarios = args.scenarios.split(",")
    args.targets = [t for t in args.targets.split(",") if t]
    args.peers = {t.split("-")[0] for t in args.targets}
    args.peers_short = args.peers
    args.slide_root = os.path.join(args.bench_data, "slides")
    args.tiff_root = os.path.join(args.bench_data, "tiff")
    args.mcval_data = os.path.join(args.bench_data, "mcval-data")
    args.work = os.path.join(args.bench_data, "run")
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    args.mcval = os.path.abspath(args.mcval)

    started = datetime.datetime.now(datetime.timezone.utc)
    results = {"benchmark": "tiles", "date": started.strftime("%Y-%m-%d"), "started_utc": started.isoformat(timespec="seconds"),
               "machine": machine(args), "note": args.note,
               "settings": {"duration_s": args.duration, "concurrency": args.concurrency, "scenarios": args.scenarios,
                            "warm_tiles": args.warm_tiles, "jpeg_quality": args.jpeg_quality, "cache_mib": args.cache_mib,
                            "server_workers": args.server_workers, "mcval_access_log": args.mcval_access_log,
                            "soak_seconds": args.soak_seconds},
               "targets": {t: DESCRIPTIONS[t] for t in args.targets}, "slides": {}}
    info = prepare(args)
    info = {k: v for k, v in info.items() if k in args.slides.split(",")}
    if args.resume:
        with open(os.path.join(args.results, "tiles-%s.json" % results["date"])) as f:
            previous = json.load(f)
        previous["note"] = (previous.get("note", "") + " Start-up, catalogue and soak were run after the slide runs "
                            "(--resume), load average then %s." % " / ".join("%.2f" % x for x in os.getloadavg())).strip()
        results = previous
    for entry in info.values():
        results["slides"].setdefault(entry["geo"].name, {})["orthanc_levels"] = (
            len(entry["orthanc"]["levels"]) if entry["orthanc"] else None)
    files = [e["svs_path"] for e in info.values()] + [e["tiff_path"] for e in info.values()]
    if "orthanc" in args.peers:
        files.append(os.path.join(args.bench_data, "orthanc", "storage"))
    if not args.resume:
        log("reading every slide file once (%.1f GiB) so that the OS page cache is warm for all servers alike" % (
            read_files_once(files) / 2**30))
    for name, entry in info.items():
        if args.resume:
            break
        bench_slide(args, name, entry, results["slides"])
        write_results(args, results, partial=True)
    if not args.no_startup:
        startup(args, info, results)
    if args.catalogue_slides > 0:
        catalogue_scan(args, results)
    if args.soak_seconds > 0:
        soak(args, info, results)
    results["machine"]["load_after"] = os.getloadavg()
    results["finished_utc"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    write_results(args, results, partial=False)


def write_results(args, results, partial):
    import tiles_report
    os.makedirs(args.results, exist_ok=True)
    base = os.path.join(args.results, "tiles-%s" % results["date"])
    with open(base + ".json", "w") as f:
        json.dump(results, f, indent=1)
    with open(base + ".md", "w") as f:
        f.write(tiles_report.markdown(results, partial))
    if not partial:
        tiles_report.plot(results, base + ".png")
        tiles_report.plot_soak(results, base + "-soak.png")
    log("wrote %s.{json,md%s}" % (base, "" if partial else ",png"))


if __name__ == "__main__":
    main()
