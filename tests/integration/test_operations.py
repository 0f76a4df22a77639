"""Operating mcval serve on a cluster: the separate metrics listener (no authentication, every
metric family Prometheus is told to expect), and the graceful shutdown on SIGTERM: /readyz
turns 503 while requests are still served for --shutdown-delay-s, then new connections are
refused, idle keep-alive connections closed, a request on its way is still answered, the
process exits 0 and the audit log verifies, ending with the service's stop."""
import json
import os
import socket
import sqlite3
import time
import unittest
import urllib.error
import urllib.request

from harness import Server, Workspace, run_cli, slide_ids


def scrape(address):
    with urllib.request.urlopen("http://" + address + "/metrics", timeout=30) as res:
        return res.status, res.headers.get("Content-Type"), res.read().decode()


def metrics_address(server, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for line in list(server.log_lines):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("msg") == "metrics listening":
                return event["address"]
        time.sleep(0.05)
    raise AssertionError("no 'metrics listening' line")


def read_response(sock):
    """Reads until the server closes the connection."""
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


class MetricsListenerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.ws.add_slide("centre-a", "cmu.svs")
        cls.server = Server(cls.ws, extra_args=("--metrics-listen", "127.0.0.1:0"))
        cls.metrics = metrics_address(cls.server)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.ws.cleanup()

    def test_metrics_listener_serves_every_family(self):
        slide = next(iter(slide_ids(self.server).values()))["id"]
        for _ in range(2):  # a miss, then a hit
            self.assertEqual(self.server.get(f"/dzi/{slide}_files/8/0_0.jpeg").status, 200)
        self.assertEqual(self.server.get("/api/v1/slides/nope").status, 404)
        status, content_type, text = scrape(self.metrics)
        self.assertEqual(status, 200)
        self.assertTrue(content_type.startswith("text/plain; version=0.0.4"), content_type)
        for family in ("mcval_http_requests_total", "mcval_http_request_duration_seconds",
                       "mcval_tile_cache_hits_total", "mcval_tile_cache_misses_total", "mcval_open_slides",
                       "mcval_ready", "mcval_validation_runs", "mcval_auth_decisions_total",
                       "mcval_audit_records_total"):
            self.assertIn("# TYPE " + family + " ", text)
        self.assertIn('mcval_http_request_duration_seconds_bucket{route="dzi.tile",le="+Inf"} 2', text)
        self.assertIn("mcval_tile_cache_hits_total 1\n", text)
        self.assertIn('mcval_auth_decisions_total{decision="authenticated"}', text)
        self.assertIn("mcval_open_slides 1\n", text)
        self.assertIn("mcval_validation_runs 0\n", text)
        self.assertIn('mcval_audit_records_total{action="service_started",outcome="allowed"} 1', text)

    def test_metrics_listener_answers_nothing_else(self):
        for path in ("/", "/healthz", "/api/v1/slides"):
            req = urllib.request.Request("http://" + self.metrics + path)
            with self.assertRaises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(req, timeout=30)
            self.assertEqual(caught.exception.code, 404)

    def test_bad_metrics_address_is_refused(self):
        bad = run_cli("serve", "--slides", self.ws.slides, "--data", self.ws.data, "--listen", "127.0.0.1:0",
                      "--metrics-listen", "nowhere")
        self.assertEqual(bad.returncode, 2, bad.stderr)
        self.assertIn("metrics_listen", bad.stderr)


class GracefulShutdownTest(unittest.TestCase):
    def setUp(self):
        self.ws = Workspace()
        self.ws.add_slide("centre-a", "cmu.svs")

    def tearDown(self):
        self.ws.cleanup()

    def test_sigterm_drains_and_loses_nothing(self):
        server = Server(self.ws, extra_args=("--shutdown-delay-s", "4", "--shutdown-grace-s", "60"))
        host, port = server.address.rsplit(":", 1)
        port = int(port)
        # A request on its way (headers not complete yet) and an idle keep-alive connection.
        on_its_way = socket.create_connection((host, port), timeout=60)
        on_its_way.sendall(b"GET /api/v1/slides HTTP/1.1\r\nHost: mcval\r\n")
        idle = socket.create_connection((host, port), timeout=60)
        idle.sendall(b"GET /healthz HTTP/1.1\r\nHost: mcval\r\n\r\n")
        first = idle.recv(65536)
        self.assertIn(b"200 OK", first)
        server.process.send_signal(15)

        # During the delay: still serving, but no longer ready.
        deadline = time.time() + 30
        readiness = None
        while time.time() < deadline:
            readiness = server.get("/readyz").status
            if readiness == 503:
                break
            time.sleep(0.02)
        self.assertEqual(readiness, 503)
        self.assertEqual(server.get("/healthz").status, 200)

        # Then new connections are refused and the idle connection is closed.
        deadline = time.time() + 60
        refused = False
        while time.time() < deadline and not refused:
            try:
                socket.create_connection((host, port), timeout=5).close()
                time.sleep(0.05)
            except ConnectionRefusedError:
                refused = True
        self.assertTrue(refused, "new connections are still accepted")
        self.assertEqual(read_response(idle), b"")
        self.assertTrue(server.alive(), "the server ended with a request on its way")

        # The request on its way is answered, and the connection closed after it.
        on_its_way.sendall(b"Accept: application/json\r\n\r\n")
        answer = read_response(on_its_way)
        head, _, body = answer.partition(b"\r\n\r\n")
        self.assertIn(b"HTTP/1.1 200 OK", head)
        self.assertIn(b"Connection: close", head)
        self.assertEqual(len(json.loads(body)["slides"]), 1)

        self.assertEqual(server.process.wait(60), 0)
        server.stop()
        on_its_way.close()
        idle.close()
        messages = []
        for line in server.log_lines:
            try:
                messages.append(json.loads(line)["msg"])
            except ValueError:
                pass
        self.assertLess(messages.index("stopping"), messages.index("server stopped"))
        verified = run_cli("audit", "verify", "--data", self.ws.data, "--json")
        self.assertEqual(verified.returncode, 0, verified.stdout + verified.stderr)
        with open(os.path.join(self.ws.data, "audit", "audit.log")) as f:
            records = [json.loads(line) for line in f if line.strip()]
        self.assertEqual(records[-1]["action"], "service_stopped")

    def test_audit_verify_of_a_folder_checks_every_log(self):
        for name in ("pod-a", "pod-b"):
            server = Server(self.ws, extra_args=("--audit-log", os.path.join(self.ws.data, "audit", name + ".log")))
            self.assertEqual(server.stop(), 0)
        folder = os.path.join(self.ws.data, "audit")
        verified = run_cli("audit", "verify", "--log", folder)
        self.assertEqual(verified.returncode, 0, verified.stderr)
        self.assertIn("pod-a.log", verified.stdout)
        self.assertIn("pod-b.log", verified.stdout)
        # One damaged log fails the whole folder.
        with open(os.path.join(folder, "pod-b.log"), "r+") as f:
            text = f.read()
            f.seek(0)
            f.write(text.replace("service_started", "service_stopped", 1))
        damaged = run_cli("audit", "verify", "--log", folder)
        self.assertEqual(damaged.returncode, 11, damaged.stdout + damaged.stderr)


class IdleTimeoutTest(unittest.TestCase):
    """--idle-timeout-s: a connection without progress is closed, a busy one never is."""

    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.ws.add_slide("centre-a", "cmu.svs")
        cls.server = Server(cls.ws, extra_args=("--idle-timeout-s", "1"))
        host, port = cls.server.address.rsplit(":", 1)
        cls.endpoint = (host, int(port))

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.ws.cleanup()

    def closed_after(self, sock):
        """Seconds until the server closed `sock` (read to its end)."""
        started = time.monotonic()
        read_response(sock)
        return time.monotonic() - started

    def test_silent_and_trickling_connections_are_closed(self):
        silent = socket.create_connection(self.endpoint, timeout=30)
        # Headers that never end, one byte every 0.3 s: the timeout counts from the request's start.
        trickling = socket.create_connection(self.endpoint, timeout=30)
        started = time.monotonic()
        closed = False
        for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 40:
            try:
                trickling.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.3)
            if time.monotonic() - started > 6:
                break
        if not closed:
            self.assertEqual(read_response(trickling), b"")
        self.assertLess(time.monotonic() - started, 6, "a trickling request outlived the idle timeout")
        self.assertLess(self.closed_after(silent), 3)
        silent.close()
        trickling.close()
        self.assertEqual(self.server.get("/healthz").status, 200)

    def test_a_connection_in_use_stays_open_past_the_timeout(self):
        sock = socket.create_connection(self.endpoint, timeout=30)
        reader = sock.makefile("rb")
        started = time.monotonic()
        answers = 0
        while time.monotonic() - started < 3.5:  # three and a half timeouts, one connection
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: mcval\r\n\r\n")
            status = reader.readline()
            self.assertIn(b"200 OK", status, "answer %d" % answers)
            length = 0
            while True:
                line = reader.readline()
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                if line in (b"\r\n", b""):
                    break
            reader.read(length)
            answers += 1
            time.sleep(0.25)
        self.assertGreater(answers, 10)
        # Once silent, it is closed within about a timeout.
        self.assertLess(self.closed_after(sock), 3)
        reader.close()
        sock.close()


class BackupTest(unittest.TestCase):
    def test_backup_is_a_consistent_copy_and_old_ones_go(self):
        ws = Workspace()
        try:
            ws.add_slide("centre-a", "cmu.svs")
            self.assertEqual(run_cli("ingest", "--slides", ws.slides, "--data", ws.data).returncode, 0)
            out = os.path.join(ws.dir, "backups")
            for stale in ("catalog-20200101T000000Z.sqlite", "catalog-20200102T000000Z.sqlite"):
                os.makedirs(out, exist_ok=True)
                open(os.path.join(out, stale), "w").close()
            done = run_cli("backup", "--data", ws.data, "--out", out, "--keep", "2")
            self.assertEqual(done.returncode, 0, done.stderr)
            kept = sorted(os.listdir(out))
            self.assertEqual(len(kept), 2, kept)
            self.assertEqual(kept[0], "catalog-20200102T000000Z.sqlite")
            with sqlite3.connect(os.path.join(out, kept[1])) as db:
                self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
                self.assertEqual(db.execute("SELECT count(*) FROM slides").fetchone()[0], 1)
            missing = run_cli("backup", "--data", os.path.join(ws.dir, "nothing"), "--out", out)
            self.assertEqual(missing.returncode, 3, missing.stderr)
        finally:
            ws.cleanup()


if __name__ == "__main__":
    unittest.main()
