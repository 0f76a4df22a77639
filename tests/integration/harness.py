"""Test harness: runs the real mcval binary on port 0 in a temporary workspace.

Used by every integration test (Debian's /usr/bin/python3, standard library only, plus
python3-openslide / numpy / PIL where a test needs an oracle).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

MCVAL_BIN = os.environ.get("MCVAL_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin/mcval"))
CMU_SLIDE = os.environ.get(
    "MCVAL_TEST_CMU_SLIDE",
    os.path.join(os.path.dirname(__file__), "../../../shared/data/slides/CMU-1-Small-Region.svs"))


def run_cli(*args, env=None, timeout=120):
    """Runs `mcval ARGS`; returns CompletedProcess with text stdout/stderr."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([MCVAL_BIN, *args], capture_output=True, text=True, timeout=timeout,
                          env=full_env, stdin=subprocess.DEVNULL)


class Workspace:
    """A temporary slide root (<root>/<centre>/...) and data folder."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mcval-test-")
        self.slides = os.path.join(self.dir, "slides")
        self.data = os.path.join(self.dir, "data")
        os.makedirs(self.slides)

    def with_data(self, name):
        """The same slide root with another data folder: for a second server, since a SQLite
        catalogue serves one server process."""
        other = Workspace.__new__(Workspace)
        other.dir, other.slides, other.data = self.dir, self.slides, os.path.join(self.dir, name)
        return other

    def add_slide(self, centre, name, source=CMU_SLIDE):
        folder = os.path.join(self.slides, centre)
        os.makedirs(os.path.dirname(os.path.join(folder, name)), exist_ok=True)
        path = os.path.join(folder, name)
        shutil.copyfile(source, path)
        return path

    def add_truncated_slide(self, centre, name, keep_bytes=200_000):
        folder = os.path.join(self.slides, centre)
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, name)
        with open(CMU_SLIDE, "rb") as src, open(path, "wb") as dst:
            dst.write(src.read(keep_bytes))
        return path

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name)


class Server:
    """`mcval serve` on 127.0.0.1:0; the address is read from its 'listening' log line."""

    def __init__(self, workspace, extra_args=(), env=None, wait_ready=True, listen="127.0.0.1:0", preexec_fn=None):
        self.workspace = workspace
        self.log_lines = []
        self.stderr_text = ""  # read when the server has stopped
        args = [MCVAL_BIN, "serve", "--slides", workspace.slides, "--data", workspace.data,
                "--listen", listen, "--log-format", "json", *extra_args]
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        env=full_env, stdin=subprocess.DEVNULL, preexec_fn=preexec_fn)
        self.address = None
        self._listening = threading.Event()
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        if not self._listening.wait(30) or self.address is None:
            self.stop()
            raise RuntimeError("mcval did not log its address; stderr: " + self.stderr_text)
        if wait_ready:
            self.wait_ready()

    def _read_log(self):
        for line in self.process.stdout:
            self.log_lines.append(line)
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("msg") == "listening":
                self.address = event["address"]
                self._listening.set()
        self._listening.set()

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.get("/readyz").status == 200:
                return
            time.sleep(0.05)
        raise RuntimeError("mcval did not become ready")

    def url(self, path):
        return "http://" + self.address + path

    def request(self, method, path, headers=None, data=None, timeout=60):
        req = urllib.request.Request(self.url(path), method=method, headers=headers or {}, data=data)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(req, timeout=timeout) as res:
                return Response(res.status, res.headers, res.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, e.headers, e.read())

    def get(self, path, headers=None):
        return self.request("GET", path, headers)

    def post(self, path, data=b""):
        return self.request("POST", path, data=data)

    def rescan(self, timeout=120):
        """POST /api/v1/rescan (answered 202 at once with a job) and waits for the job; returns it."""
        res = self.post("/api/v1/rescan")
        if res.status != 202:
            raise RuntimeError("rescan answered %d: %r" % (res.status, res.body))
        url = res.json()["url"]
        deadline = time.time() + timeout
        while time.time() < deadline:
            job = self.get(url).json()
            if job["state"] != "running":
                return job
            time.sleep(0.05)
        raise RuntimeError("the rescan job did not finish")

    def raw(self, payload, timeout=10):
        """Sends raw bytes on a new connection; returns what came back."""
        host, port = self.address.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=timeout) as s:
            try:
                s.sendall(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered early (e.g. 413) and stopped reading; its answer is below
            chunks = []
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
            except (socket.timeout, ConnectionResetError):
                pass
            return b"".join(chunks)

    def alive(self):
        return self.process.poll() is None

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)
        if self.process.stderr and not self.process.stderr.closed:
            self.stderr_text = self.process.stderr.read()  # the process has ended: all of it
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()
        return self.process.returncode


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def slide_ids(server, centre=None):
    path = "/api/v1/slides" + ("?centre=" + centre if centre else "")
    return {s["name"]: s for s in server.get(path).json()["slides"]}
