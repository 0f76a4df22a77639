"""`mcval audit verify` and `mcval audit checkpoint` on an untouched log and on each kind of
tampering. The logs are written here, in Python, from docs/audit.md alone (an independent
implementation of the canonical form and the chain), then tampered with like an intruder would."""
import hashlib
import json
import os
import shutil
import tempfile
import unittest

from harness import run_cli

LOG_ID = "0123456789abcdef0123456789abcdef"
TAMPERED_EXIT = 11


def canonical(obj):
    """docs/audit.md, "Canonical form"."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def with_hash(record):
    body = {k: v for k, v in record.items() if k != "hash"}
    return dict(body, hash=sha256(canonical(body)))


def make_records(count, log_id=LOG_ID):
    prev = sha256("mcval-audit-v1:" + log_id)
    records = []
    for seq in range(1, count + 1):
        record = {
            "v": 1, "log": log_id, "seq": seq, "prev": prev,
            "time": "2026-01-02T03:04:%02d.%03dZ" % (seq % 60, seq),
            "actor": {"iss": "https://idp.example.org/realms/mcval", "sub": "user-%d" % (seq % 3),
                      "client_id": "mcval-viewer"},
            "role": "viewer", "action": "denied", "resource": "slide:%016x" % seq,
            "centre": "centre-a" if seq % 2 else "centre-z\u00fcrich", "outcome": "denied",
            "reason": "role_missing", "request_id": "req-%d" % seq, "source": "10.0.0.4", "version": "0.1.0",
        }
        if seq % 5 == 0:
            record.update(action="read_slide", outcome="allowed", reason="")
            record["reads"] = {"tiles": 40 + seq, "regions": 1, "thumbnails": 0, "bytes": 123456,
                               "requests": 41 + seq, "first": "2026-01-02T03:00:00.000Z",
                               "last": "2026-01-02T03:04:05.000Z", "levels": [11, 12], "closed_by": "window"}
        record = with_hash(record)
        prev = record["hash"]
        records.append(record)
    return records


def lines_of(records):
    return [canonical(r) for r in records]


class AuditCliTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mcval-audit-")
        self.records = make_records(20)
        self.lines = lines_of(self.records)
        self.log = self.write("audit.log", self.lines)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, lines, raw_tail=""):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write("".join(line + "\n" for line in lines) + raw_tail)
        return path

    def verify(self, path, *extra):
        return run_cli("audit", "verify", "--log", path, *extra)

    def assert_tampered(self, result, kind, line):
        self.assertEqual(result.returncode, TAMPERED_EXIT, result.stdout + result.stderr)
        report = json.loads(result.stdout)
        self.assertFalse(report["ok"])
        self.assertEqual(report["problem"]["kind"], kind, report)
        self.assertEqual(report["problem"]["line"], line, report)
        errors = [l for l in result.stderr.splitlines() if l.strip()]
        self.assertEqual(len(errors), 1, result.stderr)
        self.assertTrue(errors[0].startswith("mcval: error: audit_tampered: "), errors[0])
        self.assertIn("line %d: %s" % (line, kind), errors[0])
        return report

    def test_untouched_log_verifies(self):
        text = self.verify(self.log)
        self.assertEqual(text.returncode, 0, text.stderr)
        self.assertIn("OK, 20 records (seq 1-20) of log " + LOG_ID, text.stdout)
        self.assertEqual(text.stderr, "")
        report = json.loads(self.verify(self.log, "--json").stdout)
        self.assertTrue(report["ok"])
        self.assertEqual(report["records"], 20)
        self.assertEqual(report["last_seq"], 20)
        self.assertEqual(report["last_hash"], self.records[-1]["hash"])
        self.assertEqual(report["log"], LOG_ID)
        self.assertIsNone(report["problem"])

    def test_default_log_is_in_the_data_folder(self):
        data = os.path.join(self.dir, "data")
        os.makedirs(os.path.join(data, "audit"))
        shutil.copyfile(self.log, os.path.join(data, "audit", "audit.log"))
        self.assertEqual(run_cli("audit", "verify", "--data", data).returncode, 0)
        by_env = run_cli("audit", "verify", env={"MCVAL_AUDIT_LOG": self.log})
        self.assertEqual(by_env.returncode, 0, by_env.stderr)
        missing = run_cli("audit", "verify", "--data", os.path.join(self.dir, "nowhere"))
        self.assertEqual(missing.returncode, 3)
        self.assertTrue(missing.stderr.startswith("mcval: error: not_found"), missing.stderr)

    def test_checkpoint_detects_truncation(self):
        checkpoint_file = os.path.join(self.dir, "checkpoint.json")
        taken = run_cli("audit", "checkpoint", "--log", self.log, "--out", checkpoint_file)
        self.assertEqual(taken.returncode, 0, taken.stderr)
        with open(checkpoint_file) as f:
            checkpoint = json.load(f)
        self.assertEqual(checkpoint["log"], LOG_ID)
        self.assertEqual(checkpoint["seq"], 20)
        self.assertEqual(checkpoint["hash"], self.records[-1]["hash"])
        self.assertRegex(checkpoint["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # To stdout without --out.
        self.assertEqual(json.loads(run_cli("audit", "checkpoint", "--log", self.log).stdout)["seq"], 20)

        ok = self.verify(self.log, "--checkpoint", checkpoint_file)
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        self.assertIn("checkpoint    seq 20", ok.stdout)
        # Appending keeps the checkpoint valid.
        longer = self.write("longer.log", lines_of(make_records(25)))
        self.assertEqual(self.verify(longer, "--checkpoint", checkpoint_file).returncode, 0)

        cut = self.write("cut.log", self.lines[:15])
        self.assertEqual(self.verify(cut).returncode, 0, "a clean cut needs the checkpoint to be seen")
        report = self.assert_tampered(self.verify(cut, "--checkpoint", checkpoint_file, "--json"), "truncated", 16)
        self.assertIn("5 records removed from the end", report["problem"]["detail"])

        # The tail rewritten with a consistent chain of its own still differs from the checkpoint.
        forged = [dict(r) for r in self.records]
        forged[17]["outcome"] = "allowed"
        for i in range(17, 20):
            forged[i]["prev"] = forged[i - 1]["hash"]
            forged[i] = with_hash(forged[i])
        rebuilt = self.write("rebuilt.log", lines_of(forged))
        self.assertEqual(self.verify(rebuilt).returncode, 0)
        self.assert_tampered(self.verify(rebuilt, "--checkpoint", checkpoint_file, "--json"),
                             "checkpoint_mismatch", 20)

        other = os.path.join(self.dir, "other-checkpoint.json")
        with open(other, "w") as f:
            json.dump(dict(checkpoint, log="f" * 32), f)
        self.assert_tampered(self.verify(self.log, "--checkpoint", other, "--json"), "checkpoint_mismatch", 1)

    def test_each_kind_of_tampering_is_found_on_its_line(self):
        edited_byte = list(self.lines)
        edited_byte[6] = edited_byte[6].replace("role_missing", "role_mizzing")
        rehashed = [dict(r) for r in self.records]
        rehashed[9] = with_hash(dict(rehashed[9], role="steward"))
        swapped = list(self.lines)
        swapped[11], swapped[12] = swapped[12], swapped[11]
        moved = list(self.lines)
        moved.insert(14, moved.pop(3))
        foreign = list(self.lines)
        foreign[8] = lines_of(make_records(20, log_id="f" * 32))[8]
        patient = [dict(r) for r in self.records]
        patient[4] = with_hash(dict(patient[4], patient_id="P-0001"))
        cases = [
            ("edited byte", edited_byte, "", "edited", 7),
            ("removed line", self.lines[:4] + self.lines[5:], "", "removed", 5),
            ("removed first line", self.lines[1:], "", "removed", 1),
            ("swapped lines", swapped, "", "reordered", 12),
            ("moved line", moved, "", "reordered", 4),
            ("replayed line", self.lines + [self.lines[2]], "", "duplicated", 21),
            ("appended garbage", self.lines, "this is not a record\n", "garbage", 21),
            ("appended partial line", self.lines, self.lines[0][:30], "partial_line", 21),
            ("edited and rehashed", lines_of(rehashed), "", "edited", 10),
            ("reformatted", self.lines[:2] + [json.dumps(self.records[2], sort_keys=True)] + self.lines[3:], "",
             "edited", 3),
            ("record of another log", foreign, "", "foreign", 9),
            ("field outside the schema", lines_of(patient), "", "garbage", 5),
        ]
        for name, lines, tail, kind, line in cases:
            with self.subTest(name):
                path = self.write(name.replace(" ", "_") + ".log", lines, tail)
                self.assert_tampered(self.verify(path, "--json"), kind, line)
                text = self.verify(path)
                self.assertIn("TAMPERED at line %d: %s" % (line, kind), text.stdout)
                refused = run_cli("audit", "checkpoint", "--log", path)
                self.assertEqual(refused.returncode, TAMPERED_EXIT, name)
                self.assertEqual(refused.stdout, "")

    def test_bad_checkpoint_file_is_an_argument_error(self):
        bad = os.path.join(self.dir, "bad.json")
        with open(bad, "w") as f:
            f.write('{"log": "x"}')
        result = self.verify(self.log, "--checkpoint", bad)
        self.assertEqual(result.returncode, 2)
        self.assertIn("checkpoint", result.stderr)

    def test_help_lists_the_subcommands(self):
        result = run_cli("audit", "--help")
        self.assertEqual(result.returncode, 0)
        self.assertIn("verify", result.stdout)
        self.assertIn("checkpoint", result.stdout)


class ServerAuditTest(unittest.TestCase):
    """What `mcval serve` writes to its audit log when it is killed, flooded, or run in a terminal."""

    @classmethod
    def setUpClass(cls):
        from harness import Workspace
        cls.ws = Workspace()
        cls.ws.add_slide("centre-a", "a1.svs")
        cls.ws.add_slide("centre-b", "b1.svs")
        assert run_cli("ingest", "--slides", cls.ws.slides, "--data", cls.ws.data).returncode == 0

    @classmethod
    def tearDownClass(cls):
        cls.ws.cleanup()

    def setUp(self):
        self.log = os.path.join(self.ws.dir, "audit-%s.log" % self._testMethodName)

    def records(self):
        with open(self.log, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def reads_by_slide(self):
        tiles = {}
        for r in self.records():
            if r["action"] == "read_slide":
                tiles[r["resource"]] = tiles.get(r["resource"], 0) + r["reads"]["tiles"]
        return tiles

    def kill_9(self, server):
        import signal
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
        server.stop()

    def serve(self, *extra):
        from harness import Server
        server = Server(self.ws, ["--scan-on-start=false", "--audit-log", self.log, *extra])
        self.addCleanup(server.stop)  # a failed test leaves no server holding the catalogue
        return server

    def read_tiles(self, server, slide_id, count):
        for level in range(8, 8 + count):
            self.assertEqual(server.get("/dzi/%s_files/%d/0_0.jpeg" % (slide_id, level)).status, 200)

    def test_reads_survive_kill_9(self):
        """Reads were counted in memory for 300 s: after a kill -9 about 2,200 tile reads had no
        read_slide record and the chain still verified. Now each slide read has a record at once."""
        from harness import slide_ids
        server = self.serve()
        ids = slide_ids(server)
        self.read_tiles(server, ids["a1.svs"]["id"], 3)
        self.read_tiles(server, ids["b1.svs"]["id"], 1)
        self.kill_9(server)
        tiles = self.reads_by_slide()
        self.assertIn("slide:" + ids["a1.svs"]["id"], tiles, [r["action"] for r in self.records()])
        self.assertIn("slide:" + ids["b1.svs"]["id"], tiles)
        self.assertEqual(run_cli("audit", "verify", "--log", self.log).returncode, 0)

    def test_read_counts_survive_kill_9_but_the_last_flush_interval(self):
        from harness import slide_ids
        import time
        server = self.serve("--audit-read-flush-s", "1")
        slide = "slide:" + slide_ids(server)["a1.svs"]["id"]
        self.read_tiles(server, slide[len("slide:"):], 4)
        deadline = time.time() + 15  # the bound (1 s) plus the tick, with room for a slow machine
        while self.reads_by_slide().get(slide) != 4 and time.time() < deadline:
            time.sleep(0.2)
        self.kill_9(server)
        self.assertEqual(self.reads_by_slide().get(slide), 4, [r.get("reads") for r in self.records()])
        self.assertEqual([r["reads"]["closed_by"] for r in self.records() if r["resource"] == slide],
                         ["opened", "flush"])

    def test_a_flood_of_refused_tokens_is_counted_not_written_one_by_one(self):
        """A 15 s flood of refused tokens from one client wrote about 100 MB of audit log, one
        record per request; repeats of a refusal are now counted in one record per window."""
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            down = s.getsockname()[1]
        config = os.path.join(self.ws.dir, "issuers.json")
        with open(config, "w") as f:
            json.dump({"issuers": [{"name": "idp", "issuer": "http://127.0.0.1:%d" % down, "audiences": ["mcval"],
                                    "allow_insecure_http_for_tests": True}]}, f)
        # Without the per-address limit (which answers a flood 429 before the token is even looked
        # at, tested in test_auth): here every refusal reaches the audit log's aggregation.
        server = self.serve("--auth", "oidc", "--auth-config", config, "--rate-limit-per-user", "0",
                            "--rate-limit-per-address-unauthenticated", "0")
        self.addCleanup(server.stop)
        for _ in range(200):
            self.assertEqual(server.get("/api/v1/slides").status, 401)
            self.assertEqual(server.get("/api/v1/slides", {"Authorization": "Bearer not-a-token"}).status, 401)
        self.assertEqual(server.stop(), 0)
        refusals = [r for r in self.records() if r["action"] in ("denied", "token_rejected")]
        kinds = sorted((r["action"], r["reason"], r.get("repeats", {}).get("count", 1)) for r in refusals)
        self.assertEqual(kinds, [("denied", "token_missing", 1), ("denied", "token_missing", 199),
                                 ("token_rejected", "malformed", 1), ("token_rejected", "malformed", 199)])
        self.assertEqual(run_cli("audit", "verify", "--log", self.log).returncode, 0)

    def test_a_sealed_log_detects_forged_appended_rewritten_and_cut_records(self):
        """The chain was unkeyed: a record appended with a correct hash, or records cut off the end,
        still verified, and a server started on a cut log reused its sequence numbers. Checkpoints
        signed with the server's key (stored apart from the log) now catch both."""
        keys = os.path.join(self.ws.dir, "keys-" + self._testMethodName)
        created = run_cli("audit", "keygen", "--out", keys)
        self.assertEqual(created.returncode, 0, created.stderr)
        private_key = os.path.join(keys, "audit-signing-key.pem")
        public_key = os.path.join(keys, "audit-signing-key.pub.pem")
        checkpoints = os.path.join(self.ws.dir, "checkpoints-" + self._testMethodName)
        sealed = ("--audit-signing-key-file", private_key, "--audit-checkpoint-dir", checkpoints)
        self.serve(*sealed).stop()
        verify = lambda *extra: run_cli("audit", "verify", "--log", self.log, "--public-key", public_key,
                                        "--audit-checkpoint-dir", checkpoints, *extra)
        clean = verify()
        self.assertEqual(clean.returncode, 0, clean.stdout + clean.stderr)
        self.assertIn("unsealed tail: 0 records", clean.stdout)

        with open(self.log, encoding="utf-8") as f:
            lines = f.read().splitlines()
        last = json.loads(lines[-1])
        forged = with_hash(dict(last, seq=last["seq"] + 1, prev=last["hash"], action="logout"))
        with open(self.log, "a", encoding="utf-8") as f:
            f.write(canonical(forged) + "\n")
        self.assertEqual(run_cli("audit", "verify", "--log", self.log).returncode, 0, "the chain alone cannot tell")
        appended = verify("--json")
        self.assertEqual(appended.returncode, 0)
        self.assertEqual(json.loads(appended.stdout)["unsealed_records"], 1)
        self.assertEqual(verify("--require-sealed").returncode, TAMPERED_EXIT)

        # Rewritten from record 2 on, every hash recomputed: a consistent chain, but not the sealed one.
        rewritten, prev = [lines[0]], json.loads(lines[0])["hash"]
        for line in lines[1:]:
            record = with_hash(dict(json.loads(line), prev=prev, reason="rewritten"))
            rewritten.append(canonical(record))
            prev = record["hash"]
        with open(self.log, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in rewritten))
        self.assertEqual(run_cli("audit", "verify", "--log", self.log).returncode, 0, "the chain alone cannot tell")
        changed = verify("--json")
        self.assertEqual(changed.returncode, TAMPERED_EXIT)
        self.assertEqual(json.loads(changed.stdout)["problem"]["kind"], "checkpoint_mismatch")

        with open(self.log, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines[:-2]))
        cut = verify("--json")
        self.assertEqual(cut.returncode, TAMPERED_EXIT)
        self.assertEqual(json.loads(cut.stdout)["problem"]["kind"], "truncated")
        refused = run_cli("serve", "--slides", self.ws.slides, "--data", self.ws.data, "--listen", "127.0.0.1:0",
                          "--scan-on-start=false", "--audit-log", self.log, *sealed, timeout=60)
        self.assertEqual(refused.returncode, TAMPERED_EXIT, refused.stderr)
        self.assertIn("was cut", refused.stderr)
        self.assertEqual(len(open(self.log, encoding="utf-8").read().splitlines()), len(lines) - 2,
                         "the refused server wrote nothing: no sequence number reused")

    def start_in_a_terminal(self, *extra):
        """`mcval serve --log-format text`, as a person runs it; returns (process, address, lines so far)."""
        import subprocess
        from harness import MCVAL_BIN
        process = subprocess.Popen(
            [MCVAL_BIN, "serve", "--slides", self.ws.slides, "--data", self.ws.data, "--listen", "127.0.0.1:0",
             "--scan-on-start=false", "--audit-log", self.log, "--log-format", "text", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        lines = []
        for line in iter(process.stdout.readline, ""):
            lines.append(line)
            if " listening " in line:
                return process, json.loads(line[line.index("{"):])["address"], lines
        self.fail("no listening line: " + process.stderr.read())

    def terminal_output(self, *extra):
        import signal
        import urllib.request
        process, address, lines = self.start_in_a_terminal(*extra)
        with urllib.request.urlopen("http://%s/api/v1/slides" % address, timeout=30) as res:
            self.assertEqual(res.status, 200)
        process.send_signal(signal.SIGTERM)
        out = "".join(lines) + process.stdout.read()
        process.stdout.close()
        process.stderr.close()
        self.assertEqual(process.wait(30), 0)
        return out

    def test_text_logs_do_not_mirror_audit_records(self):
        """`mcval serve --log-format text` printed every audit record as a JSON line: the demo's
        terminal filled with them. They are mirrored with text logs only when asked for."""
        out = self.terminal_output()
        self.assertIn("service_started", [r["action"] for r in self.records()])
        self.assertNotIn('"audit":true', out)
        self.assertNotIn("service_started", out)
        asked = self.terminal_output("--audit-stdout", "true")
        self.assertIn('"audit":true', asked)
        self.assertIn("service_started", asked)


if __name__ == "__main__":
    unittest.main()


class CommandAuditTest(unittest.TestCase):
    """What commands run from a shell record in the data folder's audit log (docs/audit.md,
    "What commands record"), and that the log they write verifies."""

    def setUp(self):
        from harness import Workspace
        from validation_data import write_demo_validation
        self.ws = Workspace()
        self.ws.add_slide("centre-a", "a1.svs")
        self.log = os.path.join(self.ws.data, "audit", "audit.log")
        self.assertEqual(self.cli("ingest", "--slides", self.ws.slides).returncode, 0)
        self.dataset, self.predictions = write_demo_validation(
            self.ws.dir, centres=(("centre-a", 30, 0.4, 2.0), ("centre-b", 30, 0.4, 1.2)))

    def tearDown(self):
        self.ws.cleanup()

    def cli(self, *args):
        return run_cli(*args, "--data", self.ws.data, timeout=600)

    def records(self):
        with open(self.log, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    def test_imports_models_jobs_and_reports_are_recorded(self):
        tiny_model = os.path.join(os.path.dirname(__file__), "../data/models/tiny-cnn")
        self.assertEqual(self.cli("model", "add", tiny_model).returncode, 0)
        self.assertEqual(self.cli("model", "add", tiny_model).returncode, 0)  # already there: nothing new
        self.assertNotEqual(self.cli("model", "add", os.path.join(self.ws.dir, "no-such-model")).returncode, 0)
        self.assertEqual(self.cli("infer", "--model", "tiny-cnn", "--centre", "centre-a",
                                  "--slides", self.ws.slides).returncode, 0)
        self.assertEqual(self.cli("dataset", "import", self.dataset, "--name", "demo").returncode, 0)
        broken = os.path.join(self.ws.dir, "broken.csv")
        with open(broken, "w") as f:
            f.write("slide_id,centre,label\ns1,centre-a,maybe\n")
        self.assertEqual(self.cli("dataset", "import", broken).returncode, 2)
        res = self.cli("validate", "--dataset", "demo", "--predictions", self.predictions, "--threshold", "0.5",
                       "--bootstrap", "0", "--out", os.path.join(self.ws.dir, "report"))
        self.assertEqual(res.returncode, 0, res.stderr)

        records = self.records()
        for r in records:
            self.assertEqual(r["actor"]["iss"], "local")
            self.assertEqual(r["actor"]["client_id"], "mcval-cli")
            self.assertTrue(r["actor"]["sub"])
            self.assertEqual(r["source"], "cli")
        kinds = [(r["action"], r["outcome"]) for r in records]
        self.assertEqual(kinds, [
            ("model_added", "allowed"), ("model_added", "failed"),
            ("job_started", "allowed"), ("job_finished", "allowed"),
            ("dataset_imported", "allowed"), ("dataset_imported", "failed"),
            ("job_started", "allowed"), ("report_created", "allowed"), ("job_finished", "allowed")])
        self.assertRegex(records[0]["resource"], r"^model:tiny-cnn@[0-9a-f]{16}$")
        self.assertEqual(records[1]["reason"], "not_found")
        self.assertEqual(records[2]["resource"], "job:infer/tiny-cnn")
        self.assertEqual(records[2]["centre"], "centre-a")
        self.assertEqual(records[2]["request_id"], records[3]["request_id"])  # one run, one id
        self.assertRegex(records[4]["resource"], r"^dataset:demo@[0-9a-f]{16}$")
        self.assertEqual((records[5]["resource"], records[5]["reason"]), ("dataset:broken.csv", "dataset_invalid"))
        self.assertEqual(records[4]["centre"], "")  # two centres
        self.assertEqual(records[6]["resource"], "job:validate/demo")
        self.assertRegex(records[7]["resource"], r"^report:[0-9a-f]+$")
        self.assertEqual(len({r["request_id"] for r in records[6:9]}), 1)
        self.assertEqual(len({r["request_id"] for r in records}), 6)  # six commands wrote records
        verified = run_cli("audit", "verify", "--data", self.ws.data)
        self.assertEqual(verified.returncode, 0, verified.stderr)
        self.assertIn("OK, 9 records", verified.stdout)

    def test_a_damaged_log_stops_a_command_before_it_changes_anything(self):
        os.makedirs(os.path.dirname(self.log), exist_ok=True)
        with open(self.log, "w") as f:
            f.write('{"v":1,"seq":1}\n')
        res = self.cli("dataset", "import", self.dataset, "--name", "demo")
        self.assertEqual(res.returncode, TAMPERED_EXIT, res.stderr)
        self.assertIn("audit_tampered", res.stderr)
        listed = self.cli("dataset", "list")
        self.assertIn("0 datasets", listed.stdout)

    def test_permission_relevant_settings_are_recorded_when_they_change(self):
        from harness import Server
        config_changes = lambda: [r["resource"].split("@")[0] for r in self.records() if r["action"] == "config_changed"]
        Server(self.ws, ["--scan-on-start=false"]).stop()
        first = config_changes()
        self.assertIn("config:auth", first)
        self.assertIn("config:cors_origins", first)
        Server(self.ws, ["--scan-on-start=false"]).stop()
        self.assertEqual(config_changes(), first, "an unchanged restart records nothing")
        Server(self.ws, ["--scan-on-start=false", "--cors-origins", "https://viewer.example.org",
                         "--associated-images"]).stop()
        self.assertEqual(config_changes()[len(first):], ["config:cors_origins", "config:associated_images"])
        verified = run_cli("audit", "verify", "--data", self.ws.data)
        self.assertEqual(verified.returncode, 0, verified.stderr)
