"""The Kubernetes manifests (deploy/kubernetes/): every overlay (and the cluster-wide Kueue
example) renders with `kubectl kustomize`, validates against the Kubernetes schemas and passes Pod
Security "restricted", the best-practice rules and mcval's own rules
(deploy/kubernetes/check/check.mjs, offline); deliberately broken manifests fail with the rules
they break named; the settings the manifests give are settings of the binary."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
KUBERNETES = os.path.join(ROOT, "deploy/kubernetes")
CHECK = os.path.join(KUBERNETES, "check/check.mjs")
OVERLAYS = sorted(os.path.join(KUBERNETES, "overlays", name) for name in os.listdir(os.path.join(KUBERNETES, "overlays")))
CLUSTER = sorted(os.path.join(KUBERNETES, "cluster", name) for name in os.listdir(os.path.join(KUBERNETES, "cluster")))
BROKEN = os.path.join(KUBERNETES, "check/fixtures/broken")
BROKEN_PRODUCTION = os.path.join(KUBERNETES, "check/fixtures/broken-production")


def tool(variable, name):
    """The program CMake found (MCVAL_NODE, MCVAL_KUBECTL), else the one on PATH."""
    found = os.environ.get(variable, "")
    return found if found and not found.endswith("NOTFOUND") else shutil.which(name) or name


NODE = tool("MCVAL_NODE", "node")
KUBECTL = tool("MCVAL_KUBECTL", "kubectl")
MCVAL_BIN = os.environ.get("MCVAL_BIN", os.path.join(ROOT, "build/bin/mcval"))


def check(*args):
    env = dict(os.environ, KUBECTL=KUBECTL)
    return subprocess.run([NODE, CHECK, "--kubectl", KUBECTL, *args], capture_output=True, text=True, timeout=300,
                          env=env, stdin=subprocess.DEVNULL, cwd=KUBERNETES)


def yaml_documents(text):
    """The objects of kustomize's output, read by the check's own YAML parser (npm yaml)."""
    out = subprocess.run([NODE, "-e", "const Y = require('yaml'); const fs = require('fs');"
                          "console.log(JSON.stringify(Y.parseAllDocuments(fs.readFileSync(0, 'utf8'))"
                          ".map((d) => d.toJSON()).filter((o) => o)))"],
                         input=text, capture_output=True, text=True, timeout=60, check=True,
                         cwd=os.path.dirname(CHECK))
    return json.loads(out.stdout)


def render(overlay):
    out = subprocess.run([KUBECTL, "kustomize", overlay], capture_output=True, text=True, timeout=120, check=True)
    return out.stdout


class ManifestTest(unittest.TestCase):
    def assert_check_fails_with(self, lines, *args):
        """The check over `args` fails, and its output has each of `lines`; returns the output."""
        result = check(*args)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        for line in lines:
            self.assertIn(line, result.stdout)
        return result.stdout

    def test_every_overlay_passes(self):
        self.assertGreaterEqual(len(OVERLAYS), 2)
        self.assertIn(os.path.join(KUBERNETES, "cluster/kueue"), CLUSTER)
        result = check(*OVERLAYS, *CLUSTER)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for overlay in OVERLAYS + CLUSTER:
            self.assertRegex(result.stdout, re.escape(os.path.relpath(overlay, KUBERNETES)) + r": ok: \d+ objects")

    def test_the_broken_manifest_fails_with_the_rules_it_breaks(self):
        output = self.assert_check_fails_with(("[schema] /spec/replicas must be integer",
                                               "pod-security-standards/privileged-containers",
                                               "pod-security-standards/volume-types",
                                               "pod-security-standards/privilege-escalation",
                                               "pod-security-standards/capabilities-strict",
                                               "pod-security-standards/seccomp-strict",
                                               "practices/no-latest-image",
                                               "practices/cpu-limit",
                                               "practices/memory-limit",
                                               "practices/no-writable-fs",
                                               "practices/no-sys-admin",
                                               "mcval/namespace-restricted",
                                               "mcval/network-default-deny",
                                               "mcval/no-inline-nfs",
                                               "mcval/no-fsgroup",
                                               "mcval/emptydir-size-limit",
                                               "mcval/resources",
                                               "mcval/probes",
                                               "mcval/shards-match-completions",
                                               "mcval/claim-binds"), BROKEN)
        self.assertRegex(output, r"FAIL: \d+ failures")

    def test_the_broken_database_and_queue_fail_with_the_rules_they_break(self):
        # Each line is a rule the fixture breaks on purpose (fixtures/broken-production/broken.yaml
        # says where); a rule that stopped firing fails here.
        lines = ("Cluster/broken-db: [schema] /spec/bootstrap/initDb is not a field of this object",
                 "Pooler/broken-pooler: [schema] /spec/pgbouncer/poolMode must be one of session, transaction",
                 "Cluster/broken-db: [mcval/image-digest] imageName ghcr.io/cloudnative-pg/postgresql:15 is not pinned",
                 "Deployment/sqlite-server: [mcval/sqlite-single-server] 3 replicas",
                 "HorizontalPodAutoscaler/sqlite-server: [mcval/sqlite-single-server] maxReplicas 4",
                 "Deployment/sqlite-server: [mcval/sqlite-single-server] strategy RollingUpdate",
                 "Deployment/pg-server: [mcval/database-password] container mcval env MCVAL_DATABASE_PASSWORD: a password",
                 "[mcval/database-password] container mcval env MCVAL_DATABASE_PASSWORD is Secret broken-db-app",
                 "Deployment/pg-server: [mcval/database-password] container mcval has a password in a URL",
                 "[mcval/database-password-file] container mcval --database-password-file /etc/mcval/password must be on",
                 "Deployment/pg-server: [mcval/database-tls] container mcval connects with sslmode=require",
                 "[mcval/database-network] the NetworkPolicies do not let Deployment/pg-server reach Pooler/broken-pooler",
                 "[mcval/database-network] the NetworkPolicies do not let Pooler/broken-pooler reach Cluster/broken-db primary",
                 "Deployment/pg-server: [mcval/secret-files-readable] volume secrets: mode 0440",
                 "Job/unqueued: [mcval/kueue-queue] no label kueue.x-k8s.io/queue-name",
                 "Job/misqueued: [mcval/kueue-queue] not created suspended",
                 "Job/misqueued: [mcval/kueue-queue] queue no-such-queue is no LocalQueue",
                 "Job/misqueued: [mcval/kueue-queue] kueue.x-k8s.io/job-min-parallelism 4 is not between 0 and parallelism - 1",
                 "Job/inadmissible: [mcval/kueue-admissible] requests ephemeral-storage, which ClusterQueue small does not cover",
                 "Job/inadmissible: [mcval/kueue-admissible] 4 pods at once need cpu 0.4, more than ClusterQueue small's quota")
        self.assert_check_fails_with(lines, "--production", BROKEN_PRODUCTION)
        # Without --production (and outside a folder named production) TLS and queueing are the
        # operator's choice; the rest still fails.
        relaxed = check(BROKEN_PRODUCTION)
        self.assertNotIn("[mcval/database-tls]", relaxed.stdout)
        self.assertNotIn("Job/unqueued", relaxed.stdout)
        self.assertIn("[mcval/sqlite-single-server]", relaxed.stdout)

    def test_production_keeps_its_state_in_postgresql_behind_the_pooler(self):
        objects = yaml_documents(render(os.path.join(KUBERNETES, "overlays/production")))
        by_kind = {}
        for o in objects:
            by_kind.setdefault(o["kind"], {})[o["metadata"]["name"]] = o
        cluster = by_kind["Cluster"]["mcval-db"]
        self.assertEqual(cluster["spec"]["instances"], 3)
        initdb = cluster["spec"]["bootstrap"]["initdb"]
        self.assertEqual((initdb["database"], initdb["owner"]), ("mcval", "mcval"))
        # Through transaction pooling only the role's default reaches every server connection.
        self.assertIn("ALTER ROLE mcval SET statement_timeout = '5s'", initdb["postInitApplicationSQL"])
        self.assertIn("mcval-db-pooler", cluster["spec"]["certificates"]["serverAltDNSNames"])
        pooler = by_kind["Pooler"]["mcval-db-pooler"]
        self.assertEqual(pooler["spec"]["cluster"]["name"], "mcval-db")
        self.assertEqual(pooler["spec"]["pgbouncer"]["poolMode"], "transaction")
        # mcval's prepared statements through transaction pooling need PgBouncer to track them.
        self.assertGreater(int(pooler["spec"]["pgbouncer"]["parameters"]["max_prepared_statements"]), 0)
        url = "postgresql://mcval@mcval-db-pooler:5432/mcval?sslmode=verify-full&sslrootcert=/var/run/secrets/mcval-db/ca.crt"
        pods = [by_kind["Deployment"]["mcval-server"]["spec"]["template"]["spec"],
                by_kind["Job"]["mcval-infer"]["spec"]["template"]["spec"],
                by_kind["CronJob"]["mcval-maintenance"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
        for pod in pods:
            container = pod["containers"][0]
            # Variables, not flags: a command run in the pod (kubectl exec) uses the same store.
            env = {e["name"]: e.get("value") for e in container["env"]}
            self.assertEqual(env["MCVAL_DATABASE"], url)
            self.assertEqual(env["MCVAL_DATABASE_PASSWORD_FILE"], "/var/run/secrets/mcval-db/password")
            self.assertNotIn("--database", container["args"])
            volume = next(v for v in pod["volumes"] if v["name"] == "database")
            self.assertEqual([s["secret"]["name"] for s in volume["projected"]["sources"]], ["mcval-db-app", "mcval-db-ca"])
            mount = next(m for m in container["volumeMounts"] if m["name"] == "database")
            self.assertEqual((mount["mountPath"], mount["readOnly"]), ("/var/run/secrets/mcval-db", True))
        hpa = by_kind["HorizontalPodAutoscaler"]["mcval-server"]
        self.assertEqual((hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]), (2, 6))
        job = by_kind["Job"]["mcval-infer"]
        self.assertEqual(job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"], "mcval-infer")
        self.assertTrue(job["spec"]["suspend"])
        self.assertEqual(by_kind["LocalQueue"]["mcval-infer"]["spec"]["clusterQueue"], "mcval-batch")

    def test_dev_runs_one_server_on_sqlite(self):
        objects = yaml_documents(render(os.path.join(KUBERNETES, "overlays/dev")))
        kinds = {o["kind"] for o in objects}
        self.assertNotIn("HorizontalPodAutoscaler", kinds)
        self.assertNotIn("Cluster", kinds)
        server = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "mcval-server")
        self.assertEqual(server["spec"]["replicas"], 1)
        self.assertEqual(server["spec"]["strategy"], {"type": "Recreate"})
        container = server["spec"]["template"]["spec"]["containers"][0]
        self.assertNotIn("--database", container["args"])
        self.assertNotIn("MCVAL_DATABASE", [e["name"] for e in container["env"]])

    def test_production_images_are_pinned_by_digest(self):
        images = re.findall(r"image: (\S+)", render(os.path.join(KUBERNETES, "overlays/production")))
        self.assertTrue(images)
        for image in images:
            self.assertRegex(image, r"@sha256:[0-9a-f]{64}$")
        # and the rule that says so fails a tag
        result = check("--require-digest", os.path.join(KUBERNETES, "overlays/dev"))
        self.assertEqual(result.returncode, 1)
        self.assertIn("mcval/image-digest", result.stdout)

    def test_the_check_reaches_no_network(self):
        # The check replaces fetch with one that fails; no plugin of another origin is loaded.
        with open(CHECK) as f:
            source = f.read()
        self.assertIn("globalThis.fetch = refuseNetwork", source)
        self.assertIn("new DefaultPluginLoader()", source)
        self.assertNotIn("RemotePluginLoader", source)

    def test_the_settings_in_the_manifests_are_settings_of_the_binary(self):
        docs = subprocess.run([MCVAL_BIN, "config", "docs"], capture_output=True, text=True, check=True).stdout
        settings = set(re.findall(r"^\| `([a-z0-9_]+)` \|", docs, re.M))
        self.assertIn("metrics_listen", settings)
        files = [os.path.join(KUBERNETES, "base/config/mcval.conf")]
        files += [os.path.join(o, "mcval.conf") for o in OVERLAYS if os.path.exists(os.path.join(o, "mcval.conf"))]
        for path in files:
            with open(path) as f:
                for line in f:
                    line = line.split("#", 1)[0].strip()
                    if line:
                        key = line.split("=", 1)[0].strip().replace("-", "_")
                        self.assertIn(key, settings, f"{path}: {key}")
        for overlay in OVERLAYS:
            for name in re.findall(r"name: MCVAL_([A-Z0-9_]+)", render(overlay)):
                if name != "CONFIG":
                    self.assertIn(name.lower(), settings, f"{overlay}: MCVAL_{name}")

    def test_the_config_file_is_accepted_by_the_binary(self):
        # `mcval serve` with the overlay's config file stops only where the cluster is missing
        # (the slide folder), not at a setting.
        base_conf = os.path.join(KUBERNETES, "base/config/mcval.conf")
        result = subprocess.run([MCVAL_BIN, "serve", "--config", base_conf], capture_output=True, text=True, timeout=60,
                                stdin=subprocess.DEVNULL)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("slide root '/srv/slides' is not a folder", result.stderr)
        # With folders that exist, the issuers file of the ConfigMap is read and accepted; the
        # server stops at the client secret, which only the cluster's Secret holds.
        for overlay_conf in [os.path.join(KUBERNETES, "base/config")] + [o for o in OVERLAYS if os.path.exists(os.path.join(o, "issuers.json"))]:
            with tempfile.TemporaryDirectory() as tmp:
                os.makedirs(os.path.join(tmp, "slides"))
                result = subprocess.run(
                    [MCVAL_BIN, "serve", "--config", base_conf, "--slides", os.path.join(tmp, "slides"),
                     "--data", os.path.join(tmp, "data"), "--listen", "127.0.0.1:0", "--metrics-listen", "",
                     "--auth-config", os.path.join(overlay_conf, "issuers.json")],
                    capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
                self.assertNotEqual(result.returncode, 0)
                self.assertIn("login_client_secret_file '/run/secrets/mcval/login-client-secret' cannot be read",
                              result.stderr, overlay_conf)


if __name__ == "__main__":
    unittest.main()
