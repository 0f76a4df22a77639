"""What broke when mcval was run as an operator would (issue 19), one regression test each: a
rescan that held a server I/O thread, an accept loop that spun when out of file descriptors, an
ingest killed before its first batch that kept nothing, a validation on a full disk that left
staging files and mixed runs in --out, two forced inference runs that raced on a slide, and a
full disk reported as "disk I/O error".

The full-disk tests mount small tmpfs file systems where the machine allows it (root with
CAP_SYS_ADMIN); otherwise the validation test makes writes fail with a file size limit
(RLIMIT_FSIZE, EFBIG) instead, and the catalogue's message test is skipped."""
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

from harness import CMU_SLIDE, MCVAL_BIN, Server, Workspace, run_cli
from validation_data import write_demo_validation

TINY_MODEL = os.path.join(os.path.dirname(__file__), "../data/models/tiny-cnn")


def read_audit(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def cpu_seconds(pid):
    """User + system CPU time the process has used so far (/proc/<pid>/stat, fields 14 and 15)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def mount_tmpfs(folder, size):
    """Mounts a tmpfs of `size` (e.g. "1m") on `folder`; False where the machine does not allow it
    (or MCVAL_TEST_NO_MOUNT is set, to try the fallbacks)."""
    os.makedirs(folder, exist_ok=True)
    if os.environ.get("MCVAL_TEST_NO_MOUNT"):
        return False
    try:
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", folder],
                             capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0


def fill(folder, leave_bytes=0):
    """Fills the file system of `folder` with 4 KiB files, then frees `leave_bytes` of them."""
    fillers = []
    chunk = b"x" * 4096
    while True:
        path = os.path.join(folder, "filler-%06d" % len(fillers))
        try:
            with open(path, "wb") as f:
                f.write(chunk)
        except OSError:
            if os.path.exists(path):
                os.remove(path)
            break
        fillers.append(path)
    for path in fillers[:leave_bytes // 4096]:
        os.remove(path)


def folder_state(folder):
    """{name: bytes} of the files in `folder` other than the fillers, hidden ones included."""
    out = {}
    for name in os.listdir(folder):
        if name.startswith("filler-"):
            continue
        path = os.path.join(folder, name)
        if os.path.isdir(path):
            out[name + "/"] = None
        else:
            with open(path, "rb") as f:
                out[name] = f.read()
    return out


class RescanTest(unittest.TestCase):
    """POST /api/v1/rescan ran the scan on the server I/O thread that took the request: with one
    I/O thread (--threads 1) nothing else was answered until the scan had finished."""

    def setUp(self):
        self.ws = Workspace()
        self.ws.add_slide("centre-a", "first.svs")
        self.server = Server(self.ws, ["--threads", "1"])

    def tearDown(self):
        self.server.stop()
        self.ws.cleanup()

    def test_rescan_does_not_hold_the_io_thread_and_answers_at_once_with_a_job(self):
        self.ws.add_slide("centre-a", "second.svs")
        # A scan that cannot finish while the test holds the catalogue's write lock: it has found
        # and probed the new slide and waits to commit it (SQLite's busy timeout is 5 s).
        db = sqlite3.connect(os.path.join(self.ws.data, "catalog.sqlite"), isolation_level=None, timeout=0)
        db.execute("BEGIN IMMEDIATE")
        try:
            res = self.server.request("POST", "/api/v1/rescan", data=b"", timeout=30)
            self.assertEqual(res.status, 202, res.body)
            job = res.json()
            self.assertEqual(job["state"], "running")
            self.assertRegex(job["id"], r"^[0-9a-f]{16}$")
            self.assertEqual(res.header("Location"), "/api/v1/rescan/" + job["id"])
            # Other requests on the one I/O thread are answered while the scan runs...
            self.assertEqual(self.server.get("/healthz").status, 200)
            self.assertEqual(self.server.get("/api/v1/slides").status, 200)
            # ...before it has finished (it cannot, while the lock is held).
            self.assertEqual(self.server.get(job["url"]).json()["state"], "running")
            # A second POST while it runs answers the same job.
            again = self.server.request("POST", "/api/v1/rescan", data=b"", timeout=30)
            self.assertEqual((again.status, again.json()["id"]), (202, job["id"]))
        finally:
            db.execute("ROLLBACK")
            db.close()
        deadline = time.time() + 60
        while time.time() < deadline:
            done = self.server.get(job["url"]).json()
            if done["state"] != "running":
                break
            time.sleep(0.05)
        self.assertEqual(done["state"], "succeeded", done)
        self.assertEqual((done["result"]["added"], done["result"]["unchanged"]), (1, 1))
        self.assertEqual(done["progress"], {"done": 2, "total": 2})
        self.assertEqual(len(self.server.get("/api/v1/slides").json()["slides"]), 2)
        self.assertEqual(self.server.get("/api/v1/rescan/0123456789abcdef").status, 404)
        # Audited as before: one job_started for the one job, its job_finished once it finished.
        records = [r for r in read_audit(os.path.join(self.ws.data, "audit", "audit.log"))
                   if r["resource"] == "job:rescan"]
        self.assertEqual([(r["action"], r["outcome"]) for r in records],
                         [("job_started", "allowed"), ("job_finished", "allowed")])


class OutOfDescriptorsTest(unittest.TestCase):
    """With fewer file descriptors than connections, the accept loop re-armed at once on EMFILE
    and spun at a full core, logging nothing."""

    FILE_LIMIT = 128

    def setUp(self):
        self.ws = Workspace()
        self.ws.add_slide("centre-a", "cmu.svs")
        limit = self.FILE_LIMIT

        def low_file_limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        # More connections allowed than descriptors: accepting runs out of descriptors (EMFILE).
        self.server = Server(self.ws, ["--threads", "2"], env={"MCVAL_MAX_CONNECTIONS": "1000"},
                             preexec_fn=low_file_limit)
        self.flood = []

    def tearDown(self):
        for s in self.flood:
            s.close()
        self.server.stop()
        self.ws.cleanup()

    def test_out_of_file_descriptors_backs_off_instead_of_spinning(self):
        host, port = self.server.address.rsplit(":", 1)
        kept = http.client.HTTPConnection(host, int(port), timeout=10)  # opened before the flood
        kept.request("GET", "/healthz")
        first = kept.getresponse()
        self.assertEqual(first.status, 200)
        first.read()
        for _ in range(self.FILE_LIMIT + 100):
            self.flood.append(socket.create_connection((host, int(port)), timeout=10))
        time.sleep(0.5)  # the server has taken what it can and is out of descriptors
        before = cpu_seconds(self.server.process.pid)
        time.sleep(2.0)
        used = cpu_seconds(self.server.process.pid) - before
        self.assertLess(used, 0.5, "the server used %.2f s of CPU in 2 s while out of descriptors" % used)
        # The connection already open is still served.
        kept.request("GET", "/healthz")
        response = kept.getresponse()
        self.assertEqual(response.status, 200)
        response.read()
        kept.close()
        # Once descriptors are free again, new connections are accepted, and the errors are counted.
        for s in self.flood:
            s.close()
        self.flood = []
        deadline = time.time() + 30
        metrics = None
        while time.time() < deadline:
            res = self.server.request("GET", "/metrics", timeout=5) if self.server.alive() else None
            if res is not None and res.status == 200:
                metrics = res.body.decode()
                break
            time.sleep(0.2)
        self.assertIsNotNone(metrics, "no new connection was accepted after the flood ended")
        counted = [line for line in metrics.splitlines()
                   if line.startswith('mcval_accept_errors_total{reason="emfile"}')]
        self.assertTrue(counted and float(counted[0].split()[-1]) > 0, metrics)
        logged = [json.loads(line) for line in self.server.log_lines if line.startswith("{")]
        self.assertTrue(any(e.get("msg", "").startswith("cannot accept connections") for e in logged))
        self.assertTrue(any(e.get("msg", "").startswith("max_connections is more than the file limit")
                            and e.get("file_limit") == self.FILE_LIMIT for e in logged))


class KilledIngestTest(unittest.TestCase):
    """`mcval ingest` committed in batches of 256 slides only: killed before the first batch (a
    slow NFS export), it kept nothing, and repeated kills never made progress."""

    SLIDES = 200  # fewer than one batch of 256

    def test_killed_ingest_keeps_what_it_committed_and_a_rerun_completes_it(self):
        ws = Workspace()
        self.addCleanup(ws.cleanup)
        os.makedirs(os.path.join(ws.slides, "centre-a"))
        for i in range(self.SLIDES):  # hard links: real slides, probed and hashed one by one
            os.link(CMU_SLIDE, os.path.join(ws.slides, "centre-a", "s%03d.svs" % i))
        db_path = os.path.join(ws.data, "catalog.sqlite")
        env = dict(os.environ, MCVAL_SCAN_COMMIT_S="1")
        ingest = subprocess.Popen([MCVAL_BIN, "ingest", "--slides", ws.slides, "--data", ws.data, "--threads", "1"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
        # A slow slide store, whatever this machine's speed: the ingest runs a fifth of the time
        # (stopped and continued), as it would waiting on NFS.
        throttled = threading.Event()
        throttled.set()

        def throttle():
            while throttled.is_set() and ingest.poll() is None:
                ingest.send_signal(signal.SIGSTOP)
                time.sleep(0.08)
                ingest.send_signal(signal.SIGCONT)
                time.sleep(0.02)

        throttler = threading.Thread(target=throttle, daemon=True)
        throttler.start()
        committed = 0
        deadline = time.time() + 300
        while time.time() < deadline and ingest.poll() is None and committed == 0:
            committed = count_slides(db_path)
            time.sleep(0.05)
        ingest.send_signal(signal.SIGKILL)
        throttled.clear()
        throttler.join()
        ingest.communicate()
        self.assertEqual(ingest.returncode, -signal.SIGKILL, "the ingest ended before anything was committed")
        kept = count_slides(db_path)
        self.assertGreater(kept, 0)
        self.assertLess(kept, self.SLIDES, "nothing was committed before the end of the scan")
        rerun = run_cli("ingest", "--slides", ws.slides, "--data", ws.data, "--threads", "1", timeout=600)
        self.assertEqual(rerun.returncode, 0, rerun.stderr)
        self.assertIn("%d slides (%d added, 0 changed, %d unchanged" % (self.SLIDES, self.SLIDES - kept, kept),
                      rerun.stdout)
        self.assertEqual(count_slides(db_path), self.SLIDES)


def count_slides(db_path):
    if not os.path.exists(db_path):
        return 0
    try:
        db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=5)
        try:
            return db.execute("SELECT COUNT(*) FROM slides").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0  # not created yet


class FullDiskValidateTest(unittest.TestCase):
    """`mcval validate` on a full disk left hidden staging files in --out and <data>/reports, and
    --out then held the new per_slide.csv beside the previous report.json and report.html."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mcval-fulldisk-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.dataset, self.predictions = write_demo_validation(self.dir)
        self.data = os.path.join(self.dir, "data")

    def validate(self, out, threshold, preexec_fn=None):
        return subprocess.run([MCVAL_BIN, "validate", "--dataset", self.dataset, "--predictions", self.predictions,
                               "--threshold", threshold, "--bootstrap", "0", "--out", out, "--data", self.data],
                              capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                              preexec_fn=preexec_fn)

    def mount(self, folder, size):
        if not mount_tmpfs(folder, size):
            return False
        self.addCleanup(subprocess.run, ["umount", "-l", folder], capture_output=True)
        return True

    def test_validate_on_a_full_disk_leaves_out_and_the_store_as_they_were(self):
        out = os.path.join(self.dir, "out")
        on_tmpfs = self.mount(out, "4m")
        first = self.validate(out, "0.5")
        self.assertEqual(first.returncode, 0, first.stderr)
        before = folder_state(out)
        self.assertEqual(set(before), {"per_slide.csv", "report.json", "report.html"})

        # Room for per_slide.csv (about 23 KB) but not for report.json (about 160 KB).
        if on_tmpfs:
            fill(out, leave_bytes=32768)
            second = self.validate(out, "0.3")
        else:
            second = self.validate(out, "0.3", preexec_fn=file_size_limit(32768))
        self.assertEqual(second.returncode, 6, second.stderr)  # io_error
        after = folder_state(out)
        self.assertEqual(sorted(after), sorted(before), "--out holds other files after a failed run")
        for name in before:
            self.assertTrue(after[name] == before[name], name + " was replaced by a failed run")

        # The store in the data folder: a full disk there leaves no staging folder behind.
        reports = os.path.join(self.data, "reports")
        elsewhere = os.path.join(self.dir, "out-2")
        if on_tmpfs and self.mount(reports, "1m"):
            fill(reports)
            third = self.validate(elsewhere, "0.3")
        else:
            third = self.validate(elsewhere, "0.3", preexec_fn=file_size_limit(32768))
        self.assertEqual(third.returncode, 6, third.stderr)
        self.assertEqual([n for n in os.listdir(reports) if n.startswith(".")], [])


def file_size_limit(max_bytes):
    """A preexec_fn: writes beyond `max_bytes` in any file fail with EFBIG (SIGXFSZ ignored)."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return apply


class ConcurrentInferTest(unittest.TestCase):
    """Two `mcval infer --force` over the same slides at once: the result store's
    check-then-rename raced (ENOTEMPTY) and one run aborted with exit 6 and no --json summary."""

    RUNS = 3
    CORRUPT = 30
    EXTRA_FILES = 400

    def test_concurrent_forced_runs_both_finish_with_one_complete_result_per_slide(self):
        ws = Workspace()
        self.addCleanup(ws.cleanup)
        ws.add_slide("centre-a", "cmu.svs")
        ws.add_truncated_slide("centre-b", "corrupt-000.svs")
        corrupt = os.path.join(ws.slides, "centre-b", "corrupt-000.svs")
        for i in range(1, self.CORRUPT):  # slides that fail fast: the runs go through them in step
            os.link(corrupt, os.path.join(ws.slides, "centre-b", "corrupt-%03d.svs" % i))
        slides = self.CORRUPT + 1
        self.assertEqual(run_cli("ingest", "--slides", ws.slides, "--data", ws.data).returncode, 0)
        self.assertEqual(run_cli("model", "add", TINY_MODEL, "--data", ws.data).returncode, 0)
        args = [MCVAL_BIN, "infer", "--model", "tiny-cnn", "--slides", ws.slides, "--data", ws.data, "--force",
                "--json", "--failed-slides-ok", "--threads", "1"]
        # Every slide has a result already, so that each publication replaces one; a result folder
        # with many files takes a while to remove, which widens the time between a writer's check
        # and its rename that another writer could fall into.
        self.assertEqual(subprocess.run(args, capture_output=True, timeout=600).returncode, 0)
        models = os.path.join(ws.data, "inference")
        [model] = [m for m in os.listdir(models) if not m.startswith(".")]
        for slide in os.listdir(os.path.join(models, model)):
            if not slide.startswith("."):
                for i in range(self.EXTRA_FILES):
                    open(os.path.join(models, model, slide, "extra-%04d" % i), "w").close()
        runs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 stdin=subprocess.DEVNULL) for _ in range(self.RUNS)]
        for run in runs:
            stdout, stderr = run.communicate(timeout=600)
            self.assertEqual(run.returncode, 0, stderr)
            summary = json.loads(stdout)
            self.assertEqual((summary["selected"], summary["succeeded"], summary["failed"]), (slides, 1, slides - 1))
        entries = os.listdir(os.path.join(models, model))
        self.assertEqual([n for n in entries if n.startswith(".staging")], [])
        results = [n for n in entries if not n.startswith(".")]
        self.assertEqual(len(results), slides)
        for slide in results:
            folder = os.path.join(models, model, slide)
            with open(os.path.join(folder, "result.json")) as f:
                record = json.load(f)
            expected = {"result.json", "heatmap.bin", "tissue.png"} if record["status"] == "ok" else {"result.json"}
            self.assertEqual(set(os.listdir(folder)), expected, slide)

    def test_json_ends_with_a_summary_on_an_error(self):
        ws = Workspace()
        self.addCleanup(ws.cleanup)
        res = run_cli("infer", "--model", "no-such-model", "--data", ws.data, "--json")
        self.assertNotEqual(res.returncode, 0)
        self.assertEqual(json.loads(res.stdout)["error"]["code"], "model_not_found")


class FullDiskCatalogueTest(unittest.TestCase):
    """On a full disk SQLite's error reached the user as `database_error: ...: disk I/O error`."""

    def test_a_full_disk_is_reported_as_such_naming_the_folder(self):
        ws = Workspace()
        self.addCleanup(ws.cleanup)
        ws.add_slide("centre-a", "cmu.svs")
        if not mount_tmpfs(ws.data, "2m"):
            self.skipTest("mounting a tmpfs is not allowed here")
        self.addCleanup(subprocess.run, ["umount", "-l", ws.data], capture_output=True)
        self.assertEqual(run_cli("ingest", "--slides", ws.slides, "--data", ws.data).returncode, 0)
        fill(ws.data)
        res = run_cli("slides", "list", "--data", ws.data)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("no space left on the disk holding " + ws.data, res.stderr)


if __name__ == "__main__":
    unittest.main()
