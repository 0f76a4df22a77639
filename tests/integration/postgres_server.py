"""A real PostgreSQL server for the tests: initdb on a temporary folder, a free port on
127.0.0.1, password authentication (SCRAM) for the user `mcval`, optionally TLS with a test CA.

Debian's PostgreSQL (package `postgresql`, installed by scripts/install-deps.sh); Debian's own
cluster is not touched. initdb refuses to run as root, so as root the server runs as the
`postgres` user the package creates.

As a module: `PostgresServer().start()` (integration tests). As a program, for the CTest fixture
that the store's unit tests share:
  postgres_server.py start STATE_DIR   # writes STATE_DIR/url and STATE_DIR/password
  postgres_server.py stop STATE_DIR
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def _bin_dir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (scripts/install-deps.sh installs Debian's postgresql)")
    return os.path.dirname(found[-1])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    PASSWORD = "mcval-test-password"

    def __init__(self, folder=None, tls=False):
        self.bin = _bin_dir()
        self.folder = folder or tempfile.mkdtemp(prefix="mcval-pg-")
        os.makedirs(self.folder, exist_ok=True)
        self.data = os.path.join(self.folder, "data")
        self.port = None
        self.tls = tls
        self.as_root = os.geteuid() == 0
        self.password_file = os.path.join(self.folder, "password")
        with open(self.password_file, "w") as f:
            f.write(self.PASSWORD + "\n")
        os.chmod(self.password_file, 0o644)

    # Runs a PostgreSQL program, as `postgres` when we are root.
    def _run(self, *args, check=True):
        command = [os.path.join(self.bin, args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, stdin=subprocess.DEVNULL)

    def _chown(self, path):
        if self.as_root:
            entry = pwd.getpwnam("postgres")
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def start(self):
        self._chown(self.folder)
        if not os.path.isdir(self.data):
            pwfile = os.path.join(self.folder, "initdb-password")
            with open(pwfile, "w") as f:
                f.write(self.PASSWORD + "\n")
            self._chown(pwfile)
            self._run("initdb", "-D", self.data, "-U", "mcval", "--auth=scram-sha-256", "--pwfile", pwfile,
                      "-E", "UTF8", "--locale=C.UTF-8")
            os.unlink(pwfile)
            if self.tls:
                self._make_tls()
        self.port = self.port or free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off"
        if self.tls:
            options += " -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
        self._run("pg_ctl", "-D", self.data, "-o", options, "-l", os.path.join(self.folder, "server.log"),
                  "-w", "-t", "30", "start")
        return self

    def _make_tls(self):
        """A test CA and a server certificate for 127.0.0.1 and localhost."""
        d = self.data
        def openssl(*args):
            subprocess.run(["openssl", *args], check=True, capture_output=True, stdin=subprocess.DEVNULL)
        self.ca_file = os.path.join(self.folder, "ca.crt")
        ca_key = os.path.join(self.folder, "ca.key")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mcval test CA",
                "-keyout", ca_key, "-out", self.ca_file)
        ext = os.path.join(self.folder, "server.ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        csr = os.path.join(self.folder, "server.csr")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                "-keyout", os.path.join(d, "server.key"), "-out", csr)
        openssl("x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey", ca_key, "-CAcreateserial", "-days", "2",
                "-extfile", ext, "-out", os.path.join(d, "server.crt"))
        for name in ("server.key", "server.crt"):
            path = os.path.join(d, name)
            os.chmod(path, 0o600)
            self._chown(path)

    def stop(self, mode="fast"):
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "30", "stop", check=False)

    def restart(self):
        self.stop()
        return self.start()

    def url(self, database="mcval", **params):
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"postgresql://mcval@127.0.0.1:{self.port}/{database}" + ("?" + query if query else "")

    def create_database(self, name):
        env = dict(os.environ, PGPASSWORD=self.PASSWORD)
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "mcval", "-d", "postgres",
                        "-v", "ON_ERROR_STOP=1", "-c", f'CREATE DATABASE "{name}"'],
                       check=True, capture_output=True, env=env, stdin=subprocess.DEVNULL)
        return self.url(name)

    def psql(self, database, sql):
        env = dict(os.environ, PGPASSWORD=self.PASSWORD)
        done = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "mcval", "-d", database,
                               "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                              check=True, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
        return done.stdout.strip()

    def cleanup(self):
        self.stop(mode="immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


def main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        print(__doc__, file=sys.stderr)
        return 2
    state = os.path.abspath(argv[2])
    if argv[1] == "start":
        if os.path.isdir(state):
            # A fixture left by an interrupted run: stop it and start afresh.
            old = PostgresServer(folder=state)
            old.stop(mode="immediate")
            shutil.rmtree(state, ignore_errors=True)
        server = PostgresServer(folder=state).start()
        server.create_database("mcval")
        with open(os.path.join(state, "url"), "w") as f:
            f.write(server.url() + "\n")
        print(server.url())
        return 0
    server = PostgresServer(folder=state)
    server.stop(mode="immediate")
    shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
