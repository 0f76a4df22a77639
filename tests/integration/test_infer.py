"""mcval infer end to end: results per slide, a corrupt slide recorded and skipped, resume,
shards that together equal one run, a killed run that leaves no half result, and a stop on
SIGTERM. Runs the tiny test model (tests/data/models/tiny-cnn) on the real CMU slide and on
generated slides."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

from harness import CMU_SLIDE, MCVAL_BIN, Workspace, run_cli

TINY_MODEL = os.path.join(os.path.dirname(__file__), "../data/models/tiny-cnn")


def results(data):
    """{slide id: (result.json as dict, heatmap.bin bytes or None)} of the one model in `data`."""
    root = os.path.join(data, "inference")
    models = [m for m in os.listdir(root) if not m.startswith(".")]
    assert len(models) == 1, models
    out = {}
    for slide in os.listdir(os.path.join(root, models[0])):
        folder = os.path.join(root, models[0], slide)
        if slide.startswith("."):
            continue
        with open(os.path.join(folder, "result.json")) as f:
            record = json.load(f)
        heatmap = None
        if os.path.exists(os.path.join(folder, "heatmap.bin")):
            with open(os.path.join(folder, "heatmap.bin"), "rb") as f:
                heatmap = f.read()
        out[slide] = (record, heatmap)
    return out


def comparable(record):
    """A result without what differs between runs (times)."""
    return {k: v for k, v in record.items() if k not in ("timings_s", "finished_at")}


class InferTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.ws.add_slide("centre-a", "cmu.svs")
        cls.ws.add_truncated_slide("centre-b", "corrupt.svs")
        made = run_cli("synth", "--source", CMU_SLIDE, "--out", cls.ws.slides, "--centres", "centre-a,centre-b",
                       "--slides-per-centre", "3", "--width", "6000", "--height", "5000", "--seed", "3",
                       timeout=300)
        assert made.returncode == 0, made.stderr
        run = lambda *a: run_cli(*a, "--slides", cls.ws.slides, "--data", cls.ws.data)
        assert run_cli("ingest", "--slides", cls.ws.slides, "--data", cls.ws.data).returncode == 0
        added = run_cli("model", "add", TINY_MODEL, "--data", cls.ws.data)
        assert added.returncode == 0, added.stderr
        # A pristine copy of the data folder (catalogue and model, no results) for the other runs.
        cls.pristine = os.path.join(cls.ws.dir, "pristine")
        shutil.copytree(cls.ws.data, cls.pristine)
        cls.whole = run("infer", "--model", "tiny-cnn", "--json")
        cls.reference = results(cls.ws.data)

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def fresh_data(self):
        data = tempfile.mkdtemp(prefix="mcval-infer-", dir=self.ws.dir)
        shutil.rmtree(data)
        shutil.copytree(self.pristine, data)
        return data

    def infer(self, data, *args, **kw):
        return run_cli("infer", "--model", "tiny-cnn", "--slides", self.ws.slides, "--data", data, *args, **kw)

    def test_every_slide_has_a_result_and_the_corrupt_one_is_recorded(self):
        self.assertEqual(self.whole.returncode, 9, self.whole.stderr)  # some slides failed
        summary = json.loads(self.whole.stdout)
        self.assertEqual(summary["selected"], 8)
        self.assertEqual(summary["succeeded"], 7)
        self.assertEqual(summary["failed"], 1)
        self.assertEqual(len(self.reference), 8)
        failed = [r for r, _ in self.reference.values() if r["status"] == "failed"]
        self.assertEqual(len(failed), 1)
        self.assertEqual(failed[0]["relative_path"], "centre-b/corrupt.svs")
        self.assertEqual(failed[0]["error_code"], "slide_unreadable")
        self.assertTrue(failed[0]["reason"])
        for record, heatmap in self.reference.values():
            if record["status"] != "ok":
                continue
            g = record["geometry"]
            self.assertEqual(len(heatmap), 16 + g["cols"] * g["rows"] * 2 * 2)
            self.assertGreater(record["tiles_scored"], 0)
            self.assertLessEqual(record["tiles_scored"], record["grid_tiles"])
            self.assertTrue(0 <= record["score"] <= 1)
            self.assertEqual(len(record["slide_sha256"]), 64)
            # Tiles of 32 px at 2 mpp on slides of about 0.5 mpp: 128 level-0 pixels.
            self.assertAlmostEqual(g["tile_level0"], 32 * 2.0 / g["slide_mpp"], places=6)

    def test_a_second_run_skips_what_is_done_and_retries_failures(self):
        data = self.fresh_data()
        first = self.infer(data, "--json")
        second = self.infer(data, "--json")
        summary = json.loads(second.stdout)
        self.assertEqual(summary["skipped"], 7)
        self.assertEqual(summary["failed"], 1)
        self.assertEqual(summary["succeeded"], 0)
        self.assertEqual(json.loads(first.stdout)["succeeded"], 7)

    def test_shards_together_equal_one_run(self):
        # Three processes at once on one data folder, as the pods of the Indexed Job run.
        data = self.fresh_data()
        seen = []
        shards = [subprocess.Popen([MCVAL_BIN, "infer", "--model", "tiny-cnn", "--slides", self.ws.slides, "--data", data,
                                    "--shard", f"{i}/3", "--json", "--threads", "1"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
                  for i in range(3)]
        for shard in shards:
            out, err = shard.communicate(timeout=300)
            self.assertIn(shard.returncode, (0, 9), err)
            summary = json.loads(out)
            self.assertEqual(summary["skipped"], 0)  # no shard touches another's slides
            seen += [s["slide_id"] for s in summary["slides"]]
        self.assertEqual(sorted(seen), sorted(self.reference))
        sharded = results(data)
        self.assertEqual(sorted(sharded), sorted(self.reference))
        for slide, (record, heatmap) in self.reference.items():
            self.assertEqual(comparable(sharded[slide][0]), comparable(record), slide)
            self.assertEqual(sharded[slide][1], heatmap, slide)

    def test_failed_slides_ok_ends_a_finished_run_with_0(self):
        # The Job's pods use it: the corrupt slide is recorded as failed, the pod succeeds.
        data = self.fresh_data()
        run = self.infer(data, "--failed-slides-ok", "--json")
        self.assertEqual(run.returncode, 0, run.stderr)
        summary = json.loads(run.stdout)
        self.assertEqual((summary["succeeded"], summary["failed"]), (7, 1))

    def test_bad_shard_is_refused(self):
        for bad in ("3/3", "-1/2", "a/b", "1", "0/0"):
            self.assertEqual(self.infer(self.pristine, "--shard", bad).returncode, 2, bad)

    def test_a_killed_run_leaves_no_half_result_and_resumes(self):
        data = self.fresh_data()
        model_dir = None
        proc = subprocess.Popen([MCVAL_BIN, "infer", "--model", "tiny-cnn", "--slides", self.ws.slides, "--data", data,
                                 "--batch-size", "1", "--threads", "1"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        deadline = time.time() + 120
        done = []
        while time.time() < deadline and proc.poll() is None:
            root = os.path.join(data, "inference")
            if os.path.isdir(root):
                model_dir = os.path.join(root, os.listdir(root)[0])
                done = [d for d in os.listdir(model_dir) if not d.startswith(".")]
                if len(done) >= 2:
                    break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.assertGreaterEqual(len(done), 2, "the run ended before it could be killed")
        # Whatever is in a result's place is complete.
        finished = [d for d in os.listdir(model_dir) if not d.startswith(".")]
        self.assertLess(len(finished), 8, "the run finished before it was killed")
        for slide in finished:
            self.assertTrue(os.path.exists(os.path.join(model_dir, slide, "result.json")), slide)
        resumed = self.infer(data, "--json")
        summary = json.loads(resumed.stdout)
        ok_before = 0
        for slide in finished:
            with open(os.path.join(model_dir, slide, "result.json")) as f:
                ok_before += json.load(f)["status"] == "ok"
        self.assertEqual(summary["skipped"], ok_before)
        self.assertEqual(summary["succeeded"] + summary["skipped"], 7)
        # Staging folders of the killed process are gone, and the results equal an unbroken run's.
        self.assertEqual([d for d in os.listdir(model_dir) if d.startswith(".")], [])
        after = results(data)
        for slide, (record, heatmap) in self.reference.items():
            self.assertEqual(comparable(after[slide][0]), comparable(record), slide)
            self.assertEqual(after[slide][1], heatmap, slide)

    def test_sigterm_stops_cleanly(self):
        data = self.fresh_data()
        proc = subprocess.Popen([MCVAL_BIN, "infer", "--model", "tiny-cnn", "--slides", self.ws.slides, "--data", data,
                                 "--batch-size", "1", "--threads", "1", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        root = os.path.join(data, "inference")
        deadline = time.time() + 60
        while time.time() < deadline and not os.path.isdir(root):
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        if proc.returncode == 9:
            self.skipTest("the run finished before SIGTERM arrived")
        self.assertEqual(proc.returncode, 8, err)
        summary = json.loads(out)
        self.assertTrue(summary["stopped"])
        self.assertIn("stopping", err)

    def test_sigterm_loses_nothing_and_a_rerun_equals_one_run(self):
        # What a Kubernetes eviction does to a pod of the inference Job: SIGTERM mid-run. The run
        # shows its progress on --metrics-listen meanwhile; it exits 8 with every finished slide
        # complete and nothing half-written, and a rerun finishes the rest exactly as one run would.
        data = self.fresh_data()
        proc = subprocess.Popen([MCVAL_BIN, "infer", "--model", "tiny-cnn", "--slides", self.ws.slides, "--data", data,
                                 "--batch-size", "1", "--threads", "1", "--json", "--log-level", "debug",
                                 "--metrics-listen", "127.0.0.1:0"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        err_lines = []
        metrics_address = threading.Event()
        address = []

        def read_stderr():
            for line in proc.stderr:
                err_lines.append(line)
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("msg") == "metrics listening":
                    address.append(event["address"])
                    metrics_address.set()
            metrics_address.set()

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        self.assertTrue(metrics_address.wait(60) and address, "".join(err_lines))
        with urllib.request.urlopen("http://" + address[0] + "/metrics", timeout=30) as res:
            exposition = res.read().decode()
        self.assertIn("mcval_inference_slides_selected 8\n", exposition)
        for name in ("mcval_inference_slides_queued", "mcval_inference_tiles_total", "mcval_inference_tiles_per_second",
                     "mcval_inference_slides_succeeded_total", "mcval_inference_slides_failed_total"):
            self.assertIn("# TYPE " + name + " ", exposition)
        model_dir = None
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            root = os.path.join(data, "inference")
            if os.path.isdir(root) and os.listdir(root):
                model_dir = os.path.join(root, os.listdir(root)[0])
                if [d for d in os.listdir(model_dir) if not d.startswith(".")]:
                    break
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        out = proc.stdout.read()
        proc.wait(120)
        reader.join(10)
        proc.stdout.close()
        proc.stderr.close()
        if proc.returncode == 9:
            self.skipTest("the run finished before SIGTERM arrived")
        self.assertEqual(proc.returncode, 8, "".join(err_lines))
        summary = json.loads(out)
        self.assertTrue(summary["stopped"])
        self.assertLess(summary["succeeded"] + summary["failed"], 8)
        # Nothing half-written: no staging folder, every result folder holds a whole result.
        self.assertEqual([d for d in os.listdir(model_dir) if d.startswith(".")], [])
        before = results(data)
        for slide, (record, heatmap) in before.items():
            self.assertEqual(comparable(record), comparable(self.reference[slide][0]), slide)
            self.assertEqual(heatmap, self.reference[slide][1], slide)
        rerun = self.infer(data, "--json")
        self.assertEqual(rerun.returncode, 9, rerun.stderr)  # the corrupt slide fails again
        again = json.loads(rerun.stdout)
        self.assertEqual(again["skipped"], sum(r["status"] == "ok" for r, _ in before.values()))
        after = results(data)
        self.assertEqual(sorted(after), sorted(self.reference))
        for slide, (record, heatmap) in self.reference.items():
            self.assertEqual(comparable(after[slide][0]), comparable(record), slide)
            self.assertEqual(after[slide][1], heatmap, slide)

    def test_dataset_selection_and_unknown_model(self):
        missing = self.infer(self.pristine, "--model", "no-such-model")
        self.assertNotEqual(missing.returncode, 0)
        unknown = run_cli("infer", "--model", "0000000000", "--data", self.pristine)
        self.assertEqual(unknown.returncode, 3, unknown.stderr)
        self.assertIn("model", unknown.stderr)


if __name__ == "__main__":
    unittest.main()
