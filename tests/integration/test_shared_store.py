"""The shared store (issue 17): replicas on one real PostgreSQL act as one server, the SQLite
store refuses a second server, a store moves from SQLite to PostgreSQL and back from a backup.

Real parts only: PostgreSQL 15 started by postgres_server.py, the OIDC provider of tests/oidc,
the mcval binary."""
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import unittest
import urllib.parse

from harness import Server, Workspace, run_cli
from oidc_providers import API_RESOURCE, Providers, available
from postgres_server import PostgresServer
from test_auth import Browser, auth_config, closed_port


def wait_for(predicate, timeout, step=0.05):
    """Polls until predicate() is true; returns the seconds it took, or None on timeout."""
    started = time.time()
    while time.time() - started < timeout:
        if predicate():
            return time.time() - started
        time.sleep(step)
    return None


class SharedStoreBase(unittest.TestCase):
    @classmethod
    def start_postgres(cls):
        cls.pg = PostgresServer().start()
        cls.database = cls.pg.create_database("mcval_" + cls.__name__.lower())
        cls.db_args = ["--database", cls.database, "--database-password-file", cls.pg.password_file]


@unittest.skipIf(available(), available() or "")
class ReplicasTest(SharedStoreBase):
    """Two `mcval serve` on one PostgreSQL and one slide root, signed in through the real provider."""

    @classmethod
    def setUpClass(cls):
        cls.start_postgres()
        cls.ws = Workspace()
        cls.ws.add_slide("centre-a", "a1.svs")
        cls.ws.add_slide("centre-b", "b1.svs")
        cls.ports = [closed_port(), closed_port()]
        cls.base = ["http://127.0.0.1:%d" % p for p in cls.ports]
        cls.providers = Providers({"issuers": [
            {"name": "idp-a", "clients": {"admin": ["mcval-admin"]},
             "web_client": {"client_id": "mcval-web", "redirect_uris": [cls.base[0] + "/auth/callback"]},
             "users": {"alice": ["mcval/centre-a/viewers"]}},
            {"name": "idp-b"}]})
        config = auth_config(cls.providers, closed_port())
        config["issuers"] = config["issuers"][:1]
        cls.config_path = os.path.join(cls.ws.dir, "issuers.json")
        with open(cls.config_path, "w") as f:
            json.dump(config, f)
        cls.secret = os.path.join(cls.ws.dir, "client-secret")
        with open(cls.secret, "w") as f:
            f.write("secret-mcval-web\n")
        cls.servers = [cls.start_replica(i) for i in range(2)]

    @classmethod
    def start_replica(cls, i, wait_ready=True):
        # Each replica has its own data folder (its own audit log), as pods do; the state they
        # share is in PostgreSQL. Both name the same public URL (the load balancer's).
        return Server(cls.ws.with_data("data-%d" % i), ["--auth", "oidc", "--auth-config", cls.config_path, *cls.db_args,
                           "--login-issuer", "idp-a", "--login-client-id", "mcval-web",
                           "--login-client-secret-file", cls.secret, "--login-resource", API_RESOURCE,
                           "--public-url", cls.base[0], "--catalog-poll-ms", "200", "--session-cache-ms", "200"],
                      listen="127.0.0.1:%d" % cls.ports[i], wait_ready=wait_ready)

    @classmethod
    def tearDownClass(cls):
        for server in cls.servers:
            server.stop()
        cls.providers.stop()
        cls.pg.cleanup()
        cls.ws.cleanup()

    def signed_in(self, replica=0):
        browser = Browser()
        status, _, body, _ = browser.sign_in(self.base[replica] + "/auth/login", "alice")
        self.assertEqual(status, 200, body[:300])
        self.assertIsNotNone(browser.cookie("mcval_session"))
        return browser

    def me(self, browser, replica):
        return browser.open(self.base[replica] + "/api/v1/me")[0]

    def test_a_session_made_on_one_replica_is_valid_on_the_other(self):
        browser = self.signed_in(0)
        self.assertEqual(self.me(browser, 0), 200)
        self.assertEqual(self.me(browser, 1), 200)  # the cookie jar sends it to both ports
        status, _, body, _ = browser.open(self.base[1] + "/api/v1/slides")
        self.assertEqual({s["centre"] for s in json.loads(body)["slides"]}, {"centre-a"})

    def test_sign_out_on_one_replica_ends_the_session_on_all(self):
        browser = self.signed_in(0)
        session_value = browser.cookie("mcval_session").value
        self.assertEqual(self.me(browser, 0), 200)  # cached on replica 0 now
        _, _, body, _ = browser.open(self.base[1] + "/auth/session")
        csrf = json.loads(body)["csrf_token"]
        status, _, body, _ = browser.open(self.base[1] + "/auth/logout", data=b"", method="POST",
                                          headers={"X-CSRF-Token": csrf})
        self.assertEqual(status, 200, body)
        # The cookie itself, replayed after the browser dropped it: refused on both within the
        # session cache bound (200 ms here).
        cookie = "mcval_session=" + session_value
        replay = Browser()
        ended = wait_for(lambda: replay.open(self.base[0] + "/api/v1/me", headers={"Cookie": cookie})[0] == 401, 3)
        self.assertIsNotNone(ended, "replica 0 still accepts a session ended on replica 1")
        self.assertEqual(replay.open(self.base[1] + "/api/v1/me", headers={"Cookie": cookie})[0], 401)

    def test_a_sign_in_started_on_one_replica_finishes_on_the_other(self):
        browser = Browser(stop_at=self.base[0] + "/auth/callback")
        browser.sign_in(self.base[0] + "/auth/login", "alice")
        callback = browser.stopped_at
        self.assertIsNotNone(callback)
        browser.stop_at = None
        on_b = callback.replace(self.base[0], self.base[1], 1)
        status, url, body, _ = browser.open(on_b)
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(self.me(browser, 0), 200)
        # The state is used up on every replica: a replay on A is refused.
        status, _, body, _ = Browser().open(callback)
        self.assertEqual(status, 401)
        self.assertIn("state_unknown", body)

    def test_sessions_survive_a_restart(self):
        browser = self.signed_in(1)
        self.servers[1].stop()
        self.servers[1] = self.start_replica(1)
        self.assertEqual(self.me(browser, 1), 200)

    def test_a_new_slide_is_served_by_every_replica_within_the_poll_bound(self):
        token = self.providers["idp-a"].token("admin")
        shutil.copyfile(os.path.join(self.ws.slides, "centre-a", "a1.svs"), os.path.join(self.ws.slides, "centre-a", "a2.svs"))
        headers = {"Authorization": "Bearer " + token}
        answer = self.servers[0].request("POST", "/api/v1/rescan", headers=headers)
        self.assertIn(answer.status, (200, 202), answer.body)

        def listed(server):
            slides = server.get("/api/v1/slides?centre=centre-a", headers=headers).json()["slides"]
            return "a2.svs" in {s["name"] for s in slides}
        self.assertIsNotNone(wait_for(lambda: listed(self.servers[0]), 30))
        took = wait_for(lambda: listed(self.servers[1]), 5)  # bound: --catalog-poll-ms 200 + a refresh
        self.assertIsNotNone(took, "replica 1 never listed the slide replica 0 catalogued")
        slide = next(s for s in self.servers[1].get("/api/v1/slides?centre=centre-a", headers=headers).json()["slides"]
                     if s["name"] == "a2.svs")
        # Its tiles come from replica 1's own snapshot, refreshed by its watcher within the bound.
        tile = "/iiif/3/%s/0,0,256,256/256,/0/default.jpg" % slide["id"]
        self.assertIsNotNone(wait_for(lambda: self.servers[1].get(tile, headers=headers).status == 200, 5))

    def test_a_killed_replica_leaves_the_other_serving(self):
        token = self.providers["idp-a"].token("admin")
        headers = {"Authorization": "Bearer " + token}
        slide = self.servers[1].get("/api/v1/slides?centre=centre-b", headers=headers).json()["slides"][0]
        errors = []
        stop = threading.Event()

        def load():
            while not stop.is_set():
                answer = self.servers[1].get("/iiif/3/%s/info.json" % slide["id"], headers=headers)
                if answer.status != 200:
                    errors.append(answer.status)
                time.sleep(0.01)  # below the per-user rate limit
        worker = threading.Thread(target=load)
        worker.start()
        time.sleep(0.3)
        self.servers[0].process.send_signal(signal.SIGKILL)
        self.servers[0].process.wait(10)
        time.sleep(0.5)
        stop.set()
        worker.join()
        self.assertEqual(errors, [])
        self.servers[0].stop()
        self.servers[0] = self.start_replica(0)


class DatabaseOutageTest(SharedStoreBase):
    """PostgreSQL stopped and started under load: 503s with Retry-After while it is away, tiles of
    catalogued slides still served, full service after, nothing lost."""

    @classmethod
    def setUpClass(cls):
        cls.start_postgres()
        cls.ws = Workspace()
        cls.ws.add_slide("centre-a", "a1.svs")
        cls.server = Server(cls.ws, [*cls.db_args, "--catalog-poll-ms", "200"])

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.pg.cleanup()
        cls.ws.cleanup()

    def test_requests_that_need_the_database_answer_503_quickly_and_service_returns(self):
        slides = self.server.get("/api/v1/slides").json()["slides"]
        self.assertEqual(len(slides), 1)
        slide_id = slides[0]["id"]
        tile = "/iiif/3/%s/0,0,512,512/256,/0/default.jpg" % slide_id
        self.assertEqual(self.server.get(tile).status, 200)

        statuses = []
        stop = threading.Event()

        def load():  # clients keep asking all the while: nothing but 200 and 503 may come back
            while not stop.is_set():
                statuses.append(self.server.get("/api/v1/slides").status)
                statuses.append(self.server.get(tile).status)
        worker = threading.Thread(target=load)
        worker.start()
        self.addCleanup(worker.join)
        self.addCleanup(stop.set)
        time.sleep(0.3)
        self.pg.stop(mode="immediate")
        try:
            started = time.time()
            answer = self.server.get("/api/v1/slides")
            took = time.time() - started
            self.assertEqual(answer.status, 503, answer.body)
            self.assertEqual(answer.json()["error"]["code"], "database_unavailable")
            self.assertEqual(answer.header("Retry-After"), "2")
            self.assertLess(took, 5.0)  # the connect timeout (2 s) bounds it, not a hang
            # Tiles of catalogued slides come from memory.
            self.assertEqual(self.server.get(tile).status, 200)
            self.assertEqual(self.server.get("/iiif/3/%s/info.json" % slide_id).status, 200)
            # /readyz stays ready (pods are not taken out), and says why it is degraded.
            self.assertIsNotNone(wait_for(lambda: "degraded" in self.server.get("/readyz").body.decode(), 5))
            ready = self.server.get("/readyz")
            self.assertEqual(ready.status, 200)
            self.assertIn("database_unavailable", ready.json()["database"])
        finally:
            self.pg.start()
        came_back = wait_for(lambda: self.server.get("/api/v1/slides").status == 200, 20)
        self.assertIsNotNone(came_back, "service did not come back with the database")
        self.assertEqual(self.server.get("/api/v1/slides").json()["slides"][0]["id"], slide_id)
        self.assertIsNotNone(wait_for(lambda: self.server.get("/readyz").json()["status"] == "ready", 5))
        stop.set()
        worker.join()
        self.assertEqual(set(statuses) - {200, 503}, set())
        self.assertIn(503, statuses)
        self.assertEqual(statuses[-2:], [200, 200])


class SqliteSingleServerTest(unittest.TestCase):
    def test_a_second_server_on_one_sqlite_catalogue_is_refused(self):
        ws = Workspace()
        try:
            ws.add_slide("centre-a", "a1.svs")
            first = Server(ws)
            try:
                done = subprocess.run([os.environ.get("MCVAL_BIN", "../../build/bin/mcval"), "serve", "--slides", ws.slides,
                                       "--data", ws.data, "--listen", "127.0.0.1:0"],
                                      capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
                self.assertNotEqual(done.returncode, 0)
                self.assertIn("another mcval server already uses this SQLite catalogue", done.stderr)
                self.assertEqual(first.get("/healthz").status, 200)
            finally:
                first.stop()
            # Released with the process: a new server starts.
            second = Server(ws)
            second.stop()
        finally:
            ws.cleanup()


class MigrateAndBackupTest(SharedStoreBase):
    @classmethod
    def setUpClass(cls):
        cls.start_postgres()

    @classmethod
    def tearDownClass(cls):
        cls.pg.cleanup()

    def test_a_sqlite_store_moves_to_postgresql_verified_and_a_backup_restores(self):
        ws = Workspace()
        try:
            for i in range(3):
                ws.add_slide("centre-a", "a%d.svs" % i)
            ws.add_truncated_slide("centre-b", "broken.svs")
            self.assertEqual(run_cli("ingest", "--slides", ws.slides, "--data", ws.data).returncode, 0)
            before = json.loads(run_cli("slides", "list", "--data", ws.data, "--json", "--all").stdout)
            sqlite_url = "sqlite://" + os.path.join(ws.data, "catalog.sqlite")

            target = self.pg.create_database("moved")
            done = run_cli("db", "migrate", "--from", sqlite_url, "--to", target, "--json",
                           "--database-password-file", self.pg.password_file)
            self.assertEqual(done.returncode, 0, done.stderr)
            report = json.loads(done.stdout)
            self.assertTrue(report["verified"])
            self.assertEqual({t["table"]: t["rows"] for t in report["tables"]}["slides"], 4)
            self.assertNotIn(self.pg.PASSWORD, done.stdout + done.stderr)
            db = ["--database", target, "--database-password-file", self.pg.password_file]
            moved = json.loads(run_cli("slides", "list", "--json", "--all", *db).stdout)
            self.assertEqual(moved, before)

            again = run_cli("db", "migrate", "--from", sqlite_url, "--to", target, "--database-password-file",
                            self.pg.password_file)
            self.assertNotEqual(again.returncode, 0)
            self.assertIn("not empty", again.stderr)

            backups = os.path.join(ws.dir, "backups")
            done = run_cli("backup", "--out", backups, *db)
            self.assertEqual(done.returncode, 0, done.stderr)
            files = sorted(f for f in os.listdir(backups) if f.endswith(".sqlite"))
            self.assertEqual(len(files), 1)
            restored = self.pg.create_database("restored")
            done = run_cli("db", "migrate", "--from", "sqlite://" + os.path.join(backups, files[0]), "--to", restored,
                           "--database-password-file", self.pg.password_file)
            self.assertEqual(done.returncode, 0, done.stderr)
            again = json.loads(run_cli("slides", "list", "--json", "--all", "--database", restored,
                                       "--database-password-file", self.pg.password_file).stdout)
            self.assertEqual(again, before)
        finally:
            ws.cleanup()

    def test_tls_verify_full_is_honoured(self):
        pg = PostgresServer(tls=True).start()
        try:
            url = pg.create_database("tls")
            ok = run_cli("slides", "list", "--database", url + "?sslmode=verify-full&sslrootcert=" + pg.ca_file,
                         "--database-password-file", pg.password_file)
            self.assertEqual(ok.returncode, 0, ok.stderr)
            # Another CA: the server's certificate is not trusted, nothing is sent.
            other_ca = os.path.join(pg.folder, "other-ca.crt")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                            "/CN=another CA", "-keyout", os.path.join(pg.folder, "other-ca.key"), "-out", other_ca],
                           check=True, capture_output=True, stdin=subprocess.DEVNULL)
            refused = run_cli("slides", "list", "--database", url + "?sslmode=verify-full&sslrootcert=" + other_ca,
                              "--database-password-file", pg.password_file)
            self.assertNotEqual(refused.returncode, 0)
            self.assertIn("certificate verify failed", refused.stderr)
        finally:
            pg.cleanup()


if __name__ == "__main__":
    unittest.main()
