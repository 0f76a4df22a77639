"""The Kubernetes manifests (deploy/kubernetes/): every overlay renders with `kubectl kustomize`,
validates against the Kubernetes schemas and passes Pod Security "restricted", the best-practice
rules and mcval's own rules (deploy/kubernetes/check/check.mjs, offline); a deliberately broken
manifest fails with the rules it breaks named; the settings the manifests give are settings of
the binary."""
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
BROKEN = os.path.join(KUBERNETES, "check/fixtures/broken")


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


def render(overlay):
    out = subprocess.run([KUBECTL, "kustomize", overlay], capture_output=True, text=True, timeout=120, check=True)
    return out.stdout


class ManifestTest(unittest.TestCase):
    def test_every_overlay_passes(self):
        self.assertGreaterEqual(len(OVERLAYS), 2)
        result = check(*OVERLAYS)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        for overlay in OVERLAYS:
            self.assertRegex(result.stdout, re.escape(os.path.relpath(overlay, KUBERNETES)) + r": ok: \d+ objects")

    def test_the_broken_manifest_fails_with_the_rules_it_breaks(self):
        result = check(BROKEN)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        for rule in ("[schema] /spec/replicas must be integer",
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
                     "mcval/claim-binds"):
            self.assertIn(rule, result.stdout)
        self.assertRegex(result.stdout, r"FAIL: \d+ failures")

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
