"""Real OpenID Connect providers for the tests: tests/oidc/provider.mjs (npm `oidc-provider`,
installed by scripts/install-deps.sh with `npm ci` in tests/oidc/) started on 127.0.0.1, one
issuer per entry of the spec, and small clients for their token and test endpoints.
Standard library only."""
import base64
import json
import os
import shutil
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PROVIDER_DIR = os.path.join(HERE, "..", "oidc")
PROVIDER_SCRIPT = os.path.join(PROVIDER_DIR, "provider.mjs")
NODE = os.environ.get("MCVAL_NODE") or shutil.which("node") or "node"

API_RESOURCE = "https://mcval.test/api"        # aud "mcval-api", 300 s
SHORT_RESOURCE = "https://mcval.test/short"    # aud "mcval-api", 3 s
OTHER_RESOURCE = "https://other.test/api"      # aud "other-api"
AUDIENCE = "mcval-api"


def available():
    """Why the providers cannot run here, or None. In CI (CI=true) they must run: nothing is
    skipped there, a missing provider fails the tests that need it."""
    if os.environ.get("CI") == "true":
        return None
    if not shutil.which(NODE) and not os.path.exists(NODE):
        return "node not found"
    if not os.path.isdir(os.path.join(PROVIDER_DIR, "node_modules", "oidc-provider")):
        return "tests/oidc/node_modules missing: run scripts/install-deps.sh"
    return None


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(obj):
    return b64url(json.dumps(obj, separators=(",", ":")))


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claims_of(token):
    return json.loads(unb64url(token.split(".")[1]))


def header_of(token):
    return json.loads(unb64url(token.split(".")[0]))


def _post(url, data=b"", headers=None):
    req = urllib.request.Request(url, data=data, method="POST", headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.loads(res.read())


class Issuer:
    def __init__(self, info):
        self.name = info["name"]
        self.issuer = info["issuer"]
        self.token_endpoint = info["token_endpoint"]
        self.test_endpoint = info["test_endpoint"]

    def token(self, client, resource=API_RESOURCE):
        """A real access token by the client-credentials grant (secret: "secret-" + client)."""
        basic = base64.b64encode(("%s:secret-%s" % (client, client)).encode()).decode()
        form = {"grant_type": "client_credentials", "scope": "api"}
        if resource:
            form["resource"] = resource
        answer = _post(self.token_endpoint, urllib.parse.urlencode(form).encode(),
                       {"Authorization": "Basic " + basic, "Content-Type": "application/x-www-form-urlencoded"})
        return answer["access_token"]

    def sign(self, payload, header=None, key="current"):
        """A JWS over `payload` signed (RS256) by this issuer's current key, its not yet published
        next key, or a stranger key that was never published."""
        body = json.dumps({"payload": payload, "header": header or {}, "key": key}).encode()
        return _post(self.test_endpoint + "/sign", body, {"Content-Type": "application/json"})["token"]

    def rotate(self):
        return _post(self.test_endpoint + "/rotate")

    def keys(self):
        with urllib.request.urlopen(self.test_endpoint + "/keys", timeout=30) as res:
            return json.loads(res.read())


class Providers:
    """`node provider.mjs SPEC`: every issuer listens once its description is printed."""

    def __init__(self, spec):
        self.process = subprocess.Popen([NODE, PROVIDER_SCRIPT, json.dumps(spec)], cwd=PROVIDER_DIR,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True)
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the OIDC provider did not start: " + self.process.stderr.read())
        self.stderr_lines = []
        threading.Thread(target=self._drain, daemon=True).start()
        self.issuers = {info["name"]: Issuer(info) for info in json.loads(line)["issuers"]}

    def _drain(self):
        for line in self.process.stderr:
            self.stderr_lines.append(line)

    def __getitem__(self, name):
        return self.issuers[name]

    def stop(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
