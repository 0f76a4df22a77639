"""`mcval serve --auth oidc` against real OpenID Connect providers (npm `oidc-provider`, started
here on 127.0.0.1 by tests/oidc/provider.mjs): two trusted issuers at once issuing RS256 `at+jwt`
access tokens by client credentials, plus a configured issuer that is down.

- Every kind of bad token is refused with 401 (503 when the issuer's keys cannot be fetched), a
  WWW-Authenticate challenge naming the reason, and a token_rejected record with that reason in
  the audit log, which never holds a token.
- Centre scoping across every slide-bearing route (route x role x centre, table-driven): a slide
  of a centre outside the caller's scope answers exactly like an unknown id; label and macro
  images need data_steward; reports are whole, aggregate or invisible; rescan and metrics are admin.
- The audit log verifies with `mcval audit verify` after the server stopped, tile reads included.
"""
import http.cookiejar
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import unittest
import uuid

from harness import Server, Workspace, run_cli
from oidc_providers import (API_RESOURCE, AUDIENCE, OTHER_RESOURCE, SHORT_RESOURCE, Providers, available, b64url,
                            b64url_json, claims_of, header_of)
from validation_data import write_demo_validation

TINY_MODEL = os.path.join(os.path.dirname(__file__), "../data/models/tiny-cnn")

# Clients of issuer idp-a and idp-b and the groups their tokens carry; the rules below map them.
CLIENTS_A = {
    "viewer-a": ["mcval/centre-a/viewers"],
    "validator-a": ["mcval/centre-a/validators"],
    "steward-a": ["mcval/centre-a/stewards"],
    "admin": ["mcval-admin"],
    "nobody": [],
}
CLIENTS_B = {
    "viewer-b": ["urn:mcval:centre-b:viewer"],
    "validator-b": ["urn:mcval:centre-b:validator"],
}
# (issuer, client) -> the centre it may see (None: none, "*": all) and its role there
PRINCIPALS = {
    "viewer-a": ("idp-a", "centre-a", "viewer"),
    "validator-a": ("idp-a", "centre-a", "validator"),
    "steward-a": ("idp-a", "centre-a", "data_steward"),
    "admin": ("idp-a", "*", "admin"),
    "nobody": ("idp-a", None, None),
    "viewer-b": ("idp-b", "centre-b", "viewer"),
    "validator-b": ("idp-b", "centre-b", "validator"),
}
ROLE_ORDER = ["viewer", "validator", "data_steward", "admin"]


def auth_config(providers, down_port):
    a, b = providers["idp-a"], providers["idp-b"]
    return {"issuers": [
        {"name": "idp-a", "issuer": a.issuer, "audiences": [AUDIENCE], "algorithms": ["RS256"],
         "require_typ_at_jwt": True, "clock_skew_s": 0, "jwks_refetch_interval_s": 1,
         "allow_insecure_http_for_tests": True, "group_claims": ["groups"],
         "rules": [
             {"value": "mcval/centre-a/viewers", "role": "viewer", "centre": "centre-a"},
             {"value": "mcval/centre-a/validators", "role": "validator", "centre": "centre-a"},
             {"value": "mcval/centre-a/stewards", "role": "data_steward", "centre": "centre-a"},
             {"value": "mcval-admin", "role": "admin", "centre": "*"},
         ]},
        {"name": "idp-b", "issuer": b.issuer, "audiences": [AUDIENCE], "algorithms": ["RS256"],
         "require_typ_at_jwt": False, "jwks_refetch_interval_s": 1,
         "allow_insecure_http_for_tests": True, "group_claims": ["groups"],
         "rules": [
             {"value": "urn:mcval:centre-b:viewer", "role": "viewer", "centre": "centre-b"},
             {"value": "urn:mcval:centre-b:validator", "role": "validator", "centre": "centre-b"},
         ]},
        # Configured, but nothing listens there: its tokens cannot be checked (503).
        {"name": "idp-down", "issuer": "http://127.0.0.1:%d" % down_port, "audiences": [AUDIENCE],
         "allow_insecure_http_for_tests": True},
    ]}


def closed_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_audit(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


@unittest.skipIf(available(), available() or "")
class OidcAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.ws.add_slide("centre-a", "a1.svs")
        cls.ws.add_slide("centre-b", "b1.svs")
        # Stored inference results and a validation report spanning both centres.
        for args in (("ingest", "--slides", cls.ws.slides), ("model", "add", TINY_MODEL),
                     ("infer", "--model", "tiny-cnn", "--slides", cls.ws.slides)):
            res = run_cli(*args, "--data", cls.ws.data, timeout=600)
            assert res.returncode == 0, (args, res.stderr)
        models = json.loads(run_cli("model", "list", "--json", "--data", cls.ws.data).stdout)
        cls.model = (models[0] if isinstance(models, list) else models["models"][0])["sha256"]
        dataset, predictions = write_demo_validation(
            cls.ws.dir, centres=(("centre-a", 40, 0.4, 2.0), ("centre-b", 40, 0.4, 1.2)))
        res = run_cli("validate", "--dataset", dataset, "--predictions", predictions, "--threshold", "0.5",
                      "--bootstrap", "0", "--out", os.path.join(cls.ws.dir, "report"), "--data", cls.ws.data)
        assert res.returncode == 0, res.stderr

        cls.providers = Providers({"issuers": [{"name": "idp-a", "clients": CLIENTS_A},
                                               {"name": "idp-b", "clients": CLIENTS_B}]})
        cls.config_path = os.path.join(cls.ws.dir, "issuers.json")
        with open(cls.config_path, "w") as f:
            json.dump(auth_config(cls.providers, closed_port()), f)
        cls.audit_path = os.path.join(cls.ws.dir, "audit.log")
        cls.server = Server(cls.ws, ["--auth", "oidc", "--auth-config", cls.config_path, "--associated-images",
                                     "--audit-log", cls.audit_path, "--scan-on-start=false",
                                     "--cors-origins", "https://viewer.example.org",
                                     # every refusal its own record: the tests look each one up by request id
                                     "--audit-refusal-window-s", "0"])
        cls.tokens_seen = []
        cls.tokens = {name: cls.token(name) for name in PRINCIPALS}
        slides = cls.call("/api/v1/slides", cls.tokens["admin"]).json()["slides"]
        cls.slide = {s["centre"]: s["id"] for s in slides}
        assert set(cls.slide) == {"centre-a", "centre-b"}, slides
        reports = cls.call("/api/v1/reports", cls.tokens["admin"]).json()["reports"]
        assert len(reports) == 1, reports
        cls.report = reports[0]["id"]

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.providers.stop()
        cls.ws.cleanup()

    @classmethod
    def token(cls, client, resource=None):
        issuer = PRINCIPALS[client][0] if client in PRINCIPALS else "idp-a"
        token = cls.providers[issuer].token(client, **({"resource": resource} if resource else {}))
        cls.tokens_seen.append(token)
        return token

    @classmethod
    def call(cls, path, token=None, method="GET", request_id=None):
        headers = {"X-Request-Id": request_id or uuid.uuid4().hex}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        return cls.server.request(method, path, headers=headers, data=b"" if method == "POST" else None)

    def audit_record(self, request_id):
        for record in read_audit(self.audit_path):
            if record["request_id"] == request_id:
                return record
        self.fail("no audit record for request " + request_id)

    def assert_refused(self, token, reason, status=401):
        request_id = uuid.uuid4().hex
        self.tokens_seen.append(token)
        res = self.call("/api/v1/me", token, request_id=request_id)
        self.assertEqual(res.status, status, res.body)
        self.assertEqual(res.json()["error"]["code"], "unauthenticated" if status == 401 else "auth_unavailable")
        if status == 401:
            self.assertEqual(res.header("WWW-Authenticate"),
                             'Bearer realm="mcval", error="invalid_token", error_description="%s"' % reason)
        record = self.audit_record(request_id)
        self.assertEqual(record["action"], "token_rejected")
        self.assertEqual(record["reason"], reason)
        self.assertEqual(record["outcome"], "denied" if status == 401 else "failed")
        self.assertEqual(record["actor"], {"iss": "", "sub": "", "client_id": ""})
        self.assertEqual(record["source"], "127.0.0.1")

    def valid_claims(self, issuer="idp-a", **changes):
        now = int(time.time())
        claims = {"iss": self.providers[issuer].issuer, "sub": "forged-user", "aud": AUDIENCE, "iat": now,
                  "exp": now + 300, "client_id": "viewer-a", "groups": ["mcval-admin"], "jti": uuid.uuid4().hex}
        claims.update(changes)
        return claims

    # ---- authentication ----

    def test_public_routes_need_no_token(self):
        for path in ("/healthz", "/readyz", "/", "/index.html"):
            self.assertEqual(self.call(path).status, 200, path)

    def test_a_missing_token_is_401_with_a_bare_challenge_and_audited(self):
        for path in ("/api/v1/slides", "/api/v1", "/dzi/%s.dzi" % self.slide["centre-a"], "/metrics",
                     "/iiif/3/%s/info.json" % self.slide["centre-a"], "/reports/%s/report.json" % self.report):
            request_id = uuid.uuid4().hex
            res = self.call(path, request_id=request_id)
            self.assertEqual(res.status, 401, path)
            self.assertEqual(res.header("WWW-Authenticate"), 'Bearer realm="mcval"')
            record = self.audit_record(request_id)
            self.assertEqual((record["action"], record["reason"]), ("denied", "token_missing"))
        res = self.server.request("GET", "/api/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        self.assertEqual(res.status, 401)
        self.assertIn('error_description="malformed"', res.header("WWW-Authenticate"))

    def test_valid_tokens_of_both_issuers_are_accepted(self):
        me = self.call("/api/v1/me", self.tokens["viewer-a"]).json()
        self.assertEqual(me["auth"], "oidc")
        self.assertEqual(me["issuer"], self.providers["idp-a"].issuer)
        self.assertEqual(me["subject"], "viewer-a")
        self.assertTrue(me["is_service"])
        self.assertEqual(me["grants"], [{"role": "viewer", "centre": "centre-a"}])
        me = self.call("/api/v1/me", self.tokens["validator-b"]).json()
        self.assertEqual(me["issuer"], self.providers["idp-b"].issuer)
        self.assertEqual(me["grants"], [{"role": "validator", "centre": "centre-b"}])
        token = self.tokens["viewer-a"]
        self.assertEqual(header_of(token)["typ"], "at+jwt")
        self.assertEqual(header_of(token)["alg"], "RS256")
        self.assertEqual(claims_of(token)["aud"], AUDIENCE)

    def test_expired_token(self):
        token = self.token("viewer-a", resource=SHORT_RESOURCE)  # a real token living 3 s
        self.assertEqual(self.call("/api/v1/me", token).status, 200)
        time.sleep(max(0.0, claims_of(token)["exp"] - time.time()) + 0.3)
        self.assert_refused(token, "expired")

    def test_not_yet_valid_token(self):
        now = int(time.time())
        self.assert_refused(self.providers["idp-a"].sign(self.valid_claims(nbf=now + 600), {"typ": "at+jwt"}),
                            "not_yet_valid")

    def test_wrong_issuer(self):
        a = self.providers["idp-a"]
        self.assert_refused(a.sign(self.valid_claims(iss="http://127.0.0.1:9/elsewhere"), {"typ": "at+jwt"}),
                            "unknown_issuer")
        self.assert_refused(a.sign(self.valid_claims(iss=a.issuer + "/"), {"typ": "at+jwt"}), "wrong_issuer")

    def test_wrong_audience(self):
        self.assert_refused(self.token("viewer-a", resource=OTHER_RESOURCE), "wrong_audience")

    def test_alg_none(self):
        unsigned = "%s.%s" % (b64url_json({"alg": "none", "typ": "at+jwt"}), b64url_json(self.valid_claims()))
        # The classic form, with an empty signature, is not even a JWS to mcval (docs/security.md);
        # with some signature bytes the algorithm itself is refused, before any key is looked at.
        self.assert_refused(unsigned + ".", "malformed")
        self.assert_refused(unsigned + "." + b64url(os.urandom(32)), "alg_not_allowed")

    def test_hs256_signed_with_the_issuers_public_key(self):
        import hashlib
        import hmac
        a = self.providers["idp-a"]
        keys = a.keys()
        signing_input = "%s.%s" % (b64url_json({"alg": "HS256", "typ": "at+jwt", "kid": keys["current"]}),
                                   b64url_json(self.valid_claims()))
        for secret in (keys["current_public_pem"], keys["current_public_pem"].strip()):
            mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
            self.assert_refused(signing_input + "." + b64url(mac), "alg_not_allowed")

    def test_tampered_payload(self):
        token = self.token("viewer-a")
        header, payload, signature = token.split(".")
        claims = claims_of(token)
        claims["groups"] = ["mcval-admin"]
        self.assert_refused("%s.%s.%s" % (header, b64url_json(claims), signature), "bad_signature")

    def test_foreign_key(self):
        a = self.providers["idp-a"]
        # A key that was never published, claiming the issuer's own kid.
        forged = a.sign(self.valid_claims(), {"typ": "at+jwt", "kid": a.keys()["current"]}, key="stranger")
        self.assert_refused(forged, "bad_signature")
        # A token of issuer B presented as issuer A's, with B's kid: A has no such key.
        b = self.providers["idp-b"]
        self.assert_refused(b.sign(self.valid_claims(), {"typ": "at+jwt"}), "unknown_kid")

    def test_unknown_kid_before_and_after_rotation(self):
        a = self.providers["idp-a"]
        before = a.keys()
        # Signed by the key the issuer will publish next: unknown now (after one refetch).
        early = a.sign(self.valid_claims(sub="early"), {"typ": "at+jwt"}, key="next")
        self.assert_refused(early, "unknown_kid")
        after = a.rotate()
        self.assertEqual(after["current"], before["next"])
        time.sleep(1.2)  # jwks_refetch_interval_s of idp-a
        # The real provider now signs with the new key: mcval refetches the JWKS and accepts it.
        token = self.token("viewer-a")
        self.assertEqual(header_of(token)["kid"], before["next"])
        self.assertEqual(self.call("/api/v1/me", token).status, 200)
        self.tokens["viewer-a"] = token
        # A kid the issuer still does not publish stays unknown.
        time.sleep(1.2)
        self.assert_refused(a.sign(self.valid_claims(sub="late"), {"typ": "at+jwt"}, key="next"), "unknown_kid")
        # A token of the key published before the rotation still verifies: it is still in the JWKS.
        self.assertEqual(header_of(self.tokens["admin"])["kid"], before["current"])
        self.assertEqual(self.call("/api/v1/me", self.tokens["admin"]).status, 200)

    def test_id_token_as_access_token(self):
        now = int(time.time())
        for issuer in ("idp-a", "idp-b"):
            claims = {"iss": self.providers[issuer].issuer, "sub": "user-1", "aud": "viewer-a", "azp": "viewer-a",
                      "iat": now, "exp": now + 300, "auth_time": now, "nonce": uuid.uuid4().hex,
                      "at_hash": b64url(os.urandom(16))}
            token = self.providers[issuer].sign(claims)  # an ID token: no typ, signed by the issuer's key
            # idp-a requires typ at+jwt (RFC 9068), so the header alone refuses it; idp-b does not.
            self.assert_refused(token, "typ_not_at_jwt" if issuer == "idp-a" else "id_token_as_access_token")

    def test_issuer_down_is_503(self):
        with open(self.config_path) as f:
            down = json.load(f)["issuers"][2]["issuer"]
        token = self.providers["idp-a"].sign(self.valid_claims(iss=down), {"typ": "at+jwt"})
        self.assert_refused(token, "jwks_unavailable", status=503)

    # ---- authorization: route x role x centre ----

    def slide_routes(self, slide_id):
        """(route, path, expected success status, role needed)."""
        m = self.model
        return [
            ("slide", "/api/v1/slides/%s" % slide_id, 200, "viewer"),
            ("thumbnail", "/api/v1/slides/%s/thumbnail?max=64" % slide_id, 200, "viewer"),
            ("label", "/api/v1/slides/%s/associated/label" % slide_id, 200, "data_steward"),
            ("macro", "/api/v1/slides/%s/associated/macro" % slide_id, 200, "data_steward"),
            ("dzi", "/dzi/%s.dzi" % slide_id, 200, "viewer"),
            ("dzi.tile", "/dzi/%s_files/8/0_0.jpeg" % slide_id, 200, "viewer"),
            ("iiif.base", "/iiif/3/%s" % slide_id, 303, "viewer"),
            ("iiif.info", "/iiif/3/%s/info.json" % slide_id, 200, "viewer"),
            ("iiif.image", "/iiif/3/%s/full/64,/0/default.jpg" % slide_id, 200, "viewer"),
            ("inference", "/api/v1/slides/%s/inference" % slide_id, 200, "viewer"),
            ("heatmap.json", "/api/v1/slides/%s/heatmaps/%s.json" % (slide_id, m), 200, "viewer"),
            ("heatmap.png", "/api/v1/slides/%s/heatmaps/%s.png" % (slide_id, m), 200, "viewer"),
            ("tissue.png", "/api/v1/slides/%s/tissue/%s.png" % (slide_id, m), 200, "viewer"),
        ]

    @staticmethod
    def comparable(body, slide_id):
        error = json.loads(body)["error"]
        return error["code"], error["message"].replace(slide_id, "<id>")

    def test_centre_scoping_of_every_slide_route(self):
        unknown = "00000000deadbeef"
        checked = 0
        for name, (issuer, scope, role) in PRINCIPALS.items():
            token = self.tokens[name]
            for centre, slide_id in self.slide.items():
                unknown_answers = {route: self.call(path.replace(slide_id, unknown), self.tokens["admin"])
                                   for route, path, _, _ in self.slide_routes(slide_id)}
                for route, path, ok_status, needed in self.slide_routes(slide_id):
                    with self.subTest(principal=name, centre=centre, route=route):
                        request_id = uuid.uuid4().hex
                        res = self.call(path, token, request_id=request_id)
                        visible = scope == "*" or scope == centre
                        if not visible:
                            # Exactly what an unknown id gets: existence does not leak.
                            self.assertEqual(res.status, 404, res.body)
                            self.assertEqual(self.comparable(res.body, slide_id),
                                             self.comparable(unknown_answers[route].body, unknown))
                            record = self.audit_record(request_id)
                            self.assertEqual((record["action"], record["reason"], record["centre"]),
                                             ("denied", "centre_not_allowed", centre))
                        elif ROLE_ORDER.index(role) < ROLE_ORDER.index(needed):
                            self.assertEqual(res.status, 403, res.body)
                            self.assertEqual(res.json()["error"]["code"], "forbidden")
                            record = self.audit_record(request_id)
                            self.assertEqual((record["action"], record["reason"]), ("denied", "role_missing"))
                        else:
                            self.assertEqual(res.status, ok_status, res.body)
                        checked += 1
        self.assertEqual(checked, len(PRINCIPALS) * 2 * 13)

    def test_listings_show_only_the_callers_centres(self):
        for name, (issuer, scope, role) in PRINCIPALS.items():
            with self.subTest(principal=name):
                token = self.tokens[name]
                expected = {"centre-a", "centre-b"} if scope == "*" else ({scope} if scope else set())
                slides = self.call("/api/v1/slides", token).json()["slides"]
                self.assertEqual({s["centre"] for s in slides}, expected)
                centres = self.call("/api/v1/centres", token).json()["centres"]
                self.assertEqual({c["name"] for c in centres}, expected)
                # Asking for another centre lists it as empty, like a centre that does not exist.
                for centre in ("centre-a", "centre-b", "centre-z"):
                    listed = self.call("/api/v1/slides?centre=" + centre, token).json()["slides"]
                    self.assertEqual(len(listed), 1 if centre in expected else 0)

    def test_reports_whole_aggregate_or_invisible(self):
        r = self.report
        expectations = {  # principal -> (listed access, json, html, csv)
            "admin": ("full", 200, 200, 200),
            "validator-a": ("aggregate", 200, 200, 403),
            "validator-b": ("aggregate", 200, 200, 403),
            "steward-a": ("aggregate", 200, 200, 403),
            "viewer-a": (None, 404, 404, 404),
            "viewer-b": (None, 404, 404, 404),
            "nobody": (None, 404, 404, 404),
        }
        full = self.call("/reports/%s/report.json" % r, self.tokens["admin"]).json()
        self.assertEqual({m["centre"] for m in full["misclassified"]}, {"centre-a", "centre-b"})
        for name, (listed, json_status, html_status, csv_status) in expectations.items():
            with self.subTest(principal=name):
                token = self.tokens[name]
                reports = self.call("/api/v1/reports", token).json()["reports"]
                self.assertEqual([x.get("access") for x in reports], [listed] if listed else [])
                res = self.call("/reports/%s/report.json" % r, token)
                self.assertEqual(res.status, json_status, res.body)
                if listed == "aggregate":
                    report = res.json()
                    own = PRINCIPALS[name][1]
                    self.assertEqual({m["centre"] for m in report["misclassified"]}, {own})
                    self.assertEqual(report["pooled"], full["pooled"])  # the aggregates are whole
                    self.assertEqual(report["centres"].keys(), full["centres"].keys())
                    self.assertIsNone(report["files"]["per_slide_csv"])
                    self.assertGreater(report["withheld"]["misclassified_rows"], 0)
                html = self.call("/reports/%s/report.html" % r, token)
                self.assertEqual(html.status, html_status)
                if listed == "aggregate":
                    other = "centre-b" if PRINCIPALS[name][1] == "centre-a" else "centre-a"
                    hidden = [m["slide_id"] for m in full["misclassified"] if m["centre"] == other]
                    self.assertTrue(hidden)
                    text = html.body.decode()
                    self.assertFalse([s for s in hidden if s in text], "per-slide rows of another centre leaked")
                self.assertEqual(self.call("/reports/%s/per_slide.csv" % r, token).status, csv_status)
                if listed is None:  # answered exactly like a report that does not exist
                    unknown = self.call("/reports/0123456789abcdef/report.json", token)
                    self.assertEqual(self.comparable(res.body, r), self.comparable(unknown.body, "0123456789abcdef"))

    def test_cross_origin_reads_only_from_listed_origins_and_never_with_cookies(self):
        info = "/iiif/3/%s/info.json" % self.slide["centre-a"]
        tile = "/dzi/%s_files/0/0_0.jpeg" % self.slide["centre-a"]
        for path in (info, tile):
            for origin, allowed in (("https://viewer.example.org", "https://viewer.example.org"),
                                    ("https://evil.example", None), ("https://viewer.example.org.evil.example", None)):
                res = self.server.request("GET", path, headers={
                    "Authorization": "Bearer " + self.tokens["viewer-a"], "Origin": origin})
                self.assertEqual(res.status, 200, (path, origin))
                self.assertEqual(res.header("Access-Control-Allow-Origin"), allowed, (path, origin))
                self.assertIn("Origin", res.header("Vary") or "", (path, origin))
                self.assertIsNone(res.header("Access-Control-Allow-Credentials"))
        # The preflight of a page that sends its bearer token.
        res = self.server.request("OPTIONS", info, headers={
            "Origin": "https://viewer.example.org", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization"})
        self.assertEqual(res.status, 204)
        self.assertEqual(res.header("Access-Control-Allow-Origin"), "https://viewer.example.org")
        self.assertIn("Authorization", res.header("Access-Control-Allow-Headers"))
        res = self.server.request("OPTIONS", info, headers={"Origin": "https://evil.example"})
        self.assertIsNone(res.header("Access-Control-Allow-Origin"))
        # The API itself is same-origin only.
        res = self.server.request("GET", "/api/v1/slides", headers={
            "Authorization": "Bearer " + self.tokens["viewer-a"], "Origin": "https://viewer.example.org"})
        self.assertIsNone(res.header("Access-Control-Allow-Origin"))

    def test_rescan_and_metrics_are_admin_only(self):
        for name in PRINCIPALS:
            with self.subTest(principal=name):
                admin = name == "admin"
                self.assertEqual(self.call("/api/v1/rescan", self.tokens[name], method="POST").status,
                                 202 if admin else 403)  # a job to follow
                self.assertEqual(self.call("/metrics", self.tokens[name]).status, 200 if admin else 403)

    def test_rate_limit_per_user(self):
        audit_path = os.path.join(self.ws.dir, "audit-limits.log")
        server = Server(self.ws.with_data("data-limits"), ["--auth", "oidc", "--auth-config", self.config_path,
                                                          "--audit-log", audit_path, "--rate-limit-per-user", "2"])
        try:
            hammer, other = self.tokens["viewer-b"], self.tokens["validator-b"]
            statuses = []
            for _ in range(12):
                res = server.request("GET", "/api/v1/me", headers={"Authorization": "Bearer " + hammer})
                statuses.append(res.status)
                if res.status == 429:
                    self.assertEqual(res.json()["error"]["code"], "rate_limited")
                    self.assertEqual(res.header("Retry-After"), "1")
            self.assertEqual(statuses[:4], [200] * 4)  # the burst: twice the rate
            self.assertIn(429, statuses)
            # Another user and the public routes are not slowed down.
            self.assertEqual(server.request("GET", "/api/v1/me", headers={"Authorization": "Bearer " + other}).status,
                             200)
            self.assertEqual(server.get("/healthz").status, 200)
            time.sleep(1.1)
            res = server.request("GET", "/api/v1/me", headers={"Authorization": "Bearer " + hammer})
            self.assertEqual(res.status, 200)
        finally:
            self.assertEqual(server.stop(), 0)
        limited = [r for r in read_audit(audit_path) if r["reason"] == "rate_limited"]
        self.assertEqual(len(limited), 1)  # one record per user and minute, not one per request
        self.assertEqual(limited[0]["actor"]["sub"], "viewer-b")

    def test_token_living_longer_than_the_issuers_maximum(self):
        # Was accepted: a token whose exp is in 2100 (max_token_lifetime_s, 24 h by default).
        a = self.providers["idp-a"]
        self.assert_refused(a.sign(self.valid_claims(exp=4102444800), {"typ": "at+jwt"}), "lifetime_too_long")
        self.assert_refused(a.sign(self.valid_claims(iat=int(time.time()) - 90000), {"typ": "at+jwt"}),
                            "lifetime_too_long")

    def test_two_authorization_headers_are_refused_in_either_order(self):
        # Was: the last header counted (garbage first and a valid token second: 200; the other
        # order: 401), so a gateway that checks the first header and mcval disagreed about who calls.
        valid = self.tokens["viewer-a"]
        for first, second, name in (("garbage", valid, "Authorization"), (valid, "garbage", "Authorization"),
                                    (valid, valid, "authorization")):
            request_id = uuid.uuid4().hex
            answer = self.server.raw(("GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Request-Id: %s\r\n"
                                      "Authorization: Bearer %s\r\n%s: Bearer %s\r\nConnection: close\r\n\r\n"
                                      % (request_id, first, name, second)).encode())
            self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), answer[:300])
            self.assertIn(b'"code":"bad_request"', answer)
            record = self.audit_record(request_id)
            self.assertEqual((record["action"], record["outcome"], record["reason"]),
                             ("token_rejected", "denied", "multiple_authorization_headers"))
        # One header is fine.
        self.assertEqual(self.call("/api/v1/me", valid).status, 200)

    def test_an_oversized_token_is_refused_401_and_audited(self):
        # Was: 413 from the header limit, and no audit record.
        for size in (20 * 1024, 300 * 1024):
            request_id = uuid.uuid4().hex
            header = ("GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Request-Id: %s\r\nAuthorization: Bearer %s\r\n"
                      "Connection: close\r\n\r\n" % (request_id, "eyJ" + "A" * size)).encode()
            answer = self.server.raw(header)
            self.assertTrue(answer.startswith(b"HTTP/1.1 401 "), (size, answer[:300]))
            self.assertIn(b'error_description="malformed"', answer)
            record = self.audit_record(request_id)
            self.assertEqual((record["action"], record["reason"], record["source"]),
                             ("token_rejected", "malformed", "127.0.0.1"))
        # Other fields over the limit are still a request too large.
        answer = self.server.raw(("GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n"
                                  % ("p" * 40 * 1024)).encode())
        self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer[:300])

    def access_log_line(self, server, request_id):
        deadline = time.time() + 5
        while time.time() < deadline:  # access-log lines are written in batches, every 100 ms
            for line in list(server.log_lines):
                if '"msg":"request"' in line and request_id in line:
                    return json.loads(line)
            time.sleep(0.05)
        self.fail("no access-log line for " + request_id)

    def test_a_token_in_the_query_never_reaches_the_log(self):
        # Was: ?access_token=<a valid token> was refused, but the whole target went to the access
        # log on stdout, the log that is shipped to a log store.
        token = self.token("viewer-a")
        request_id = uuid.uuid4().hex
        res = self.call("/api/v1/me?x=1&access_token=" + token + "&Id_Token=" + token, request_id=request_id)
        self.assertEqual(res.status, 401)
        line = self.access_log_line(self.server, request_id)
        self.assertEqual(line["target"], "/api/v1/me?x=1&access_token=REDACTED&Id_Token=REDACTED")
        log_text = "".join(self.server.log_lines)
        for part in token.split("."):
            self.assertNotIn(part, log_text)
        with open(self.audit_path) as f:
            audit_text = f.read()
        for part in token.split("."):
            self.assertNotIn(part, audit_text)

    def test_requests_without_a_valid_token_are_limited_per_address(self):
        # Was: no limit; a 15 s flood of refused tokens wrote 100 MB of audit log and 300 MB of stdout.
        ws = Workspace()  # a data folder of its own: one server per SQLite catalogue
        self.addCleanup(ws.cleanup)
        audit_path = os.path.join(ws.dir, "audit-address.log")
        server = Server(ws, ["--auth", "oidc", "--auth-config", self.config_path, "--audit-log", audit_path,
                             "--scan-on-start=false", "--rate-limit-per-address-unauthenticated", "2"])
        try:
            statuses = []
            for i in range(30):
                headers = {"Authorization": "Bearer garbage"} if i % 2 else {}
                res = server.request("GET", "/api/v1/me", headers=headers)
                statuses.append(res.status)
                if res.status == 429:
                    self.assertEqual(res.json()["error"]["code"], "rate_limited")
                    self.assertEqual(res.header("Retry-After"), "1")
            self.assertEqual(statuses[:4], [401] * 4)  # the burst: twice the rate
            self.assertGreaterEqual(statuses.count(429), 20)
            # A valid token from the same address still passes; public routes are not limited.
            self.assertEqual(server.request("GET", "/api/v1/me", headers={
                "Authorization": "Bearer " + self.tokens["viewer-a"]}).status, 200)
            self.assertEqual(server.get("/healthz").status, 200)
            time.sleep(1.1)
            self.assertEqual(server.request("GET", "/api/v1/me").status, 401)
        finally:
            self.assertEqual(server.stop(), 0)
        records = read_audit(audit_path)
        refused = [r for r in records if r["reason"] in ("token_missing", "malformed")]
        self.assertLessEqual(len(refused), 4 + 4)  # the burst, and what refilled meanwhile
        limited = [r for r in records if r["reason"] == "rate_limited_unauthenticated"]
        self.assertEqual(len(limited), 1)  # one record per address and minute, not one per request
        self.assertEqual(limited[0]["source"], "127.0.0.1")
        self.assertLessEqual(sum('"access token refused"' in line for line in server.log_lines), 8)

    # ---- the audit log, after the server stopped (runs last: "test_zz") ----

    def test_zz_audit_log_verifies_and_holds_no_token(self):
        viewer = self.tokens["viewer-a"]
        for col in range(2):
            self.assertEqual(self.call("/dzi/%s_files/9/%d_0.jpeg" % (self.slide["centre-a"], col), viewer).status, 200)
        self.assertEqual(self.server.stop(), 0)
        records = read_audit(self.audit_path)
        actions = {r["action"] for r in records}
        self.assertTrue({"service_started", "service_stopped", "token_rejected", "denied", "read_slide",
                         "read_report", "read_inference", "job_started", "job_finished"} <= actions, actions)
        reads = [r for r in records if r["action"] == "read_slide" and r["actor"]["sub"] == "viewer-a"
                 and r["resource"] == "slide:" + self.slide["centre-a"]]
        self.assertTrue(reads)
        self.assertGreaterEqual(sum(r["reads"]["tiles"] for r in reads), 2)
        self.assertEqual(reads[0]["actor"]["iss"], self.providers["idp-a"].issuer)
        self.assertEqual(reads[0]["role"], "viewer")
        labels = [r for r in records if r["action"] == "read_slide" and r["resource"].endswith("/associated/label")]
        self.assertTrue(labels)
        with open(self.audit_path) as f:
            text = f.read()
        log_text = "".join(self.server.log_lines)
        for token in self.tokens_seen:
            for part in token.split("."):
                if len(part) > 40:
                    self.assertNotIn(part, text)
                    self.assertNotIn(part, log_text)
        verify = run_cli("audit", "verify", "--log", self.audit_path, "--json")
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
        report = json.loads(verify.stdout)
        self.assertTrue(report["ok"])
        self.assertEqual(report["records"], len(records))


class Browser:
    """A cookie jar and redirects, like a browser: follows 303s, submits the provider's login form."""

    def __init__(self, stop_at=None):
        self.jar = http.cookiejar.CookieJar()
        self.stop_at = stop_at  # a URL prefix whose requests are returned, not followed
        browser = self

        class Redirects(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, req, fp, code, msg, headers, newurl):
                if browser.stop_at and newurl.startswith(browser.stop_at):
                    browser.stopped_at = newurl
                    return None
                return super().redirect_request(req, fp, code, msg, headers, newurl)

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), Redirects)
        self.stopped_at = None

    def open(self, url, data=None, headers=None, method=None):
        req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
        try:
            with self.opener.open(req, timeout=30) as res:
                return res.status, res.geturl(), res.read().decode(errors="replace"), res.headers
        except urllib.error.HTTPError as e:
            return e.code, e.geturl(), e.read().decode(errors="replace"), e.headers

    def sign_in(self, start_url, user):
        """Starts at mcval's /auth/login and submits the provider's development forms (login, and
        consent should it ask) with the user name; returns where the redirects end."""
        answer = self.open(start_url)
        for _ in range(4):
            status, url, body, _ = answer
            form = re.search(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', body, re.S)
            if status != 200 or not form or "/interaction/" not in url:
                return answer
            fields = dict(re.findall(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form.group(2)))
            if 'name="login"' in form.group(2):
                fields.update(login=user, password="any")
            answer = self.open(urllib.parse.urljoin(url, form.group(1)), data=urllib.parse.urlencode(fields).encode())
        raise AssertionError("the provider kept asking: %s" % answer[1])

    def cookie(self, name):
        return next((c for c in self.jar if c.name == name), None)


@unittest.skipIf(available(), available() or "")
class BrowserLoginTest(unittest.TestCase):
    """The viewer's sign-in: mcval as a confidential client of idp-a (authorization code + PKCE),
    a session cookie instead of tokens in the browser."""

    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.ws.add_slide("centre-a", "a1.svs")
        cls.ws.add_slide("centre-b", "b1.svs")
        cls.port = closed_port()
        cls.base = "http://127.0.0.1:%d" % cls.port
        cls.short_port = closed_port()
        cls.short_base = "http://127.0.0.1:%d" % cls.short_port
        cls.providers = Providers({"issuers": [
            {"name": "idp-a", "clients": {"admin": ["mcval-admin"]},
             "web_client": {"client_id": "mcval-web",
                            "redirect_uris": [cls.base + "/auth/callback", cls.short_base + "/auth/callback"]},
             "users": {"alice": ["mcval/centre-a/viewers"], "root": ["mcval-admin"]}},
            {"name": "idp-b"}]})
        config = auth_config(cls.providers, closed_port())
        config["issuers"] = config["issuers"][:1]
        cls.config_path = os.path.join(cls.ws.dir, "issuers.json")
        with open(cls.config_path, "w") as f:
            json.dump(config, f)
        cls.secret = secret = os.path.join(cls.ws.dir, "client-secret")
        with open(secret, "w") as f:
            f.write("secret-mcval-web\n")
        cls.audit_path = os.path.join(cls.ws.dir, "audit.log")
        cls.server = Server(cls.ws, ["--auth", "oidc", "--auth-config", cls.config_path, "--audit-log", cls.audit_path,
                                     "--login-issuer", "idp-a", "--login-client-id", "mcval-web",
                                     "--login-client-secret-file", secret, "--login-resource", API_RESOURCE,
                                     "--public-url", cls.base], listen="127.0.0.1:%d" % cls.port)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.providers.stop()
        cls.ws.cleanup()

    def login_records(self):
        return [r for r in read_audit(self.audit_path) if r["action"] in ("login", "logout")]

    def test_sign_in_gives_a_session_cookie_and_no_token(self):
        browser = Browser()
        status, url, body, _ = browser.sign_in(self.base + "/auth/login?return_to=/index.html%3Fx%3D1", "alice")
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(url, self.base + "/index.html?x=1")  # back where the viewer asked
        session = browser.cookie("mcval_session")
        self.assertIsNotNone(session)
        self.assertTrue(session.has_nonstandard_attr("HttpOnly"))
        self.assertEqual(session.get_nonstandard_attr("SameSite"), "Lax")
        self.assertEqual(session.path, "/")
        self.assertNotIn(".", session.value)  # an opaque id, not a token
        self.assertIsNone(browser.cookie("mcval_login"))  # the login's binding is used up
        status, _, body, _ = browser.open(self.base + "/api/v1/me")
        self.assertEqual(status, 200)
        me = json.loads(body)
        self.assertEqual((me["subject"], me["client_id"], me["is_service"]), ("alice", "mcval-web", False))
        self.assertEqual(me["grants"], [{"role": "viewer", "centre": "centre-a"}])
        status, _, body, _ = browser.open(self.base + "/api/v1/slides")
        self.assertEqual({s["centre"] for s in json.loads(body)["slides"]}, {"centre-a"})
        slide = json.loads(body)["slides"][0]["id"]
        status, _, _, headers = browser.open(self.base + "/dzi/%s_files/9/0_0.jpeg" % slide)
        self.assertEqual(status, 200)  # tiles go with the cookie, as OpenSeadragon loads them
        status, _, body, headers = browser.open(self.base + "/auth/session")
        info = json.loads(body)
        self.assertTrue(info["authenticated"])
        self.assertEqual(info["subject"], "alice")
        self.assertEqual(len(info["csrf_token"]), 43)
        self.assertEqual(headers["Cache-Control"], "no-store")
        login = [r for r in self.login_records() if r["actor"]["sub"] == "alice" and r["action"] == "login"]
        self.assertTrue(login)
        self.assertEqual((login[-1]["outcome"], login[-1]["actor"]["client_id"]), ("allowed", "mcval-web"))
        # Without the cookie, nothing.
        self.assertEqual(Browser().open(self.base + "/api/v1/me")[0], 401)

    def callback_url(self, browser, return_to="/"):
        """Runs a login up to the provider's answer, which is not delivered."""
        browser.stop_at = self.base + "/auth/callback"
        browser.sign_in(self.base + "/auth/login?return_to=" + urllib.parse.quote(return_to), "alice")
        url = browser.stopped_at
        browser.stop_at = None
        self.assertIsNotNone(url)
        return url

    def refused(self, browser, url, reason):
        request_id = uuid.uuid4().hex
        status, _, body, _ = browser.open(url, headers={"X-Request-Id": request_id})
        self.assertEqual(status, 401, body)
        self.assertIn("(%s)" % reason, json.loads(body)["error"]["message"])
        record = next(r for r in read_audit(self.audit_path) if r["request_id"] == request_id)
        self.assertEqual((record["action"], record["outcome"], record["reason"]), ("login", "denied", reason))
        self.assertIsNone(browser.cookie("mcval_session"))

    def test_the_answer_must_come_back_to_the_same_browser_once(self):
        started = Browser()
        url = self.callback_url(started)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        self.assertEqual(query["iss"], [self.providers["idp-a"].issuer])
        # Another browser (a login CSRF: the attacker's code in the victim's browser).
        self.refused(Browser(), url, "login_binding_mismatch")
        # The state was used up by that attempt: even the right browser cannot use it now.
        self.refused(started, url, "state_unknown")
        # A state nobody issued.
        self.refused(started, url.replace(query["state"][0], "forged-state"), "state_unknown")

    def test_the_answer_must_name_the_issuer(self):
        browser = Browser()
        url = self.callback_url(browser)
        other = urllib.parse.quote(self.providers["idp-b"].issuer, safe="")
        mixed = re.sub(r"iss=[^&]*", "iss=" + other, url)
        self.refused(browser, mixed, "iss_mismatch")
        browser = Browser()
        url = self.callback_url(browser)
        self.refused(browser, re.sub(r"&?iss=[^&]*", "", url), "iss_mismatch")

    def test_a_replayed_answer_is_refused(self):
        browser = Browser()
        url = self.callback_url(browser)
        status, _, _, _ = browser.open(url)
        self.assertEqual(status, 200)
        self.assertIsNotNone(browser.cookie("mcval_session"))
        self.refused(Browser(), url, "state_unknown")

    def test_return_to_stays_on_this_server(self):
        for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
            browser = Browser()
            status, url, _, _ = browser.sign_in(
                self.base + "/auth/login?return_to=" + urllib.parse.quote(target, safe=""), "alice")
            self.assertEqual((status, url), (200, self.base + "/"), target)

    def test_changes_need_the_csrf_token_and_logout_ends_the_session(self):
        browser = Browser()
        browser.sign_in(self.base + "/auth/login", "root")
        csrf = json.loads(browser.open(self.base + "/auth/session")[2])["csrf_token"]
        self.assertEqual(browser.open(self.base + "/api/v1/rescan", data=b"", method="POST")[0], 403)
        self.assertEqual(browser.open(self.base + "/api/v1/rescan", data=b"", method="POST",
                                      headers={"X-CSRF-Token": "x" * 43})[0], 403)
        self.assertEqual(browser.open(self.base + "/api/v1/rescan", data=b"", method="POST",
                                      headers={"X-CSRF-Token": csrf})[0], 202)
        self.assertEqual(browser.open(self.base + "/auth/logout", data=b"", method="POST")[0], 403)
        status, _, body, _ = browser.open(self.base + "/auth/logout", data=b"", method="POST",
                                          headers={"X-CSRF-Token": csrf})
        self.assertEqual(status, 200, body)
        self.assertTrue(json.loads(body)["end_session_url"].startswith(self.providers["idp-a"].issuer))
        self.assertIsNone(browser.cookie("mcval_session"))
        records = self.login_records()
        self.assertEqual((records[-1]["action"], records[-1]["actor"]["sub"]), ("logout", "root"))
        csrf_denials = [r for r in read_audit(self.audit_path) if r["reason"] == "csrf_token_mismatch"]
        self.assertGreaterEqual(len(csrf_denials), 3)

    def test_a_session_outlives_its_access_token_with_the_refresh_token(self):
        # Access tokens of the "short" resource live 3 s (1 s was too short for a sign-in under the
        # sanitizers: the token expired between the provider and mcval); the session renews them.
        server = Server(self.ws.with_data("data-short"), ["--auth", "oidc", "--auth-config", self.config_path,
                                  "--audit-log", os.path.join(self.ws.dir, "audit-short.log"),
                                  "--login-issuer", "idp-a", "--login-client-id", "mcval-web",
                                  "--login-client-secret-file", self.secret, "--login-resource", SHORT_RESOURCE,
                                  "--public-url", self.short_base], listen="127.0.0.1:%d" % self.short_port)
        try:
            browser = Browser()
            status, url, _, _ = browser.sign_in(self.short_base + "/auth/login", "alice")
            self.assertEqual((status, url), (200, self.short_base + "/"))
            first = json.loads(browser.open(self.short_base + "/auth/session")[2])
            self.assertTrue(first["renewable"])
            for _ in range(3):
                time.sleep(1.6)  # 4.8 s in all: past the first token's end
                status, _, body, _ = browser.open(self.short_base + "/api/v1/me")
                self.assertEqual(status, 200, body)
                self.assertEqual(json.loads(body)["subject"], "alice")
            later = json.loads(browser.open(self.short_base + "/auth/session")[2])
            self.assertGreater(later["access_expires_at"], first["access_expires_at"])
            self.assertEqual(later["ends_at"], first["ends_at"])
            self.assertTrue(any('"browser session renewed"' in line for line in server.log_lines))
        finally:
            self.assertEqual(server.stop(), 0)

    def test_no_code_state_or_token_reaches_any_log_after_a_sign_in(self):
        # Was: every sign-in wrote /auth/callback?code=...&state=... to the access log on stdout.
        ws = Workspace()  # a data folder of its own: one server per SQLite catalogue
        self.addCleanup(ws.cleanup)
        audit_path = os.path.join(ws.dir, "audit-redaction.log")
        server = Server(ws, ["--auth", "oidc", "--auth-config", self.config_path, "--scan-on-start=false",
                             "--audit-log", audit_path, "--log-level", "debug",
                             "--login-issuer", "idp-a", "--login-client-id", "mcval-web",
                             "--login-client-secret-file", self.secret, "--login-resource", API_RESOURCE,
                             "--public-url", self.short_base], listen="127.0.0.1:%d" % self.short_port)
        secrets = []
        try:
            browser = Browser(stop_at=self.short_base + "/auth/callback")
            browser.sign_in(self.short_base + "/auth/login", "alice")
            callback = browser.stopped_at
            self.assertIsNotNone(callback)
            browser.stop_at = None
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(callback).query)
            secrets += [query["code"][0], query["state"][0]]
            status, _, body, _ = browser.open(callback)
            self.assertEqual(status, 200, body[:300])
            self.assertEqual(browser.open(self.short_base + "/api/v1/me")[0], 200)
            # A bearer token in the query is refused, and not logged either.
            token = self.providers["idp-a"].token("admin")
            secrets += [part for part in token.split(".") if len(part) > 20]
            self.assertEqual(Browser().open(self.short_base + "/api/v1/me?access_token=" + token)[0], 401)
            time.sleep(0.3)  # access-log lines are written in batches, every 100 ms
        finally:
            self.assertEqual(server.stop(), 0)
        stdout = "".join(server.log_lines)
        self.assertIn("/auth/callback?code=REDACTED&state=REDACTED", stdout)
        self.assertIn("/api/v1/me?access_token=REDACTED", stdout)
        with open(audit_path) as f:
            audit_text = f.read()
        with open(self.secret) as f:
            secrets.append(f.read().strip())
        for secret in secrets:
            self.assertGreater(len(secret), 8)
            for where, text in (("stdout", stdout), ("stderr", server.stderr_text), ("audit log", audit_text)):
                self.assertNotIn(secret, text, where)

    def test_a_session_cookie_that_was_never_issued(self):
        browser = Browser()
        status, _, body, _ = browser.open(self.base + "/api/v1/me", headers={"Cookie": "mcval_session=" + "A" * 43})
        self.assertEqual(status, 401, body)
        info = json.loads(Browser().open(self.base + "/auth/session")[2])
        self.assertEqual((info["authenticated"], info["login_url"]), (False, "/auth/login"))


class AuthSettingsTest(unittest.TestCase):
    def setUp(self):
        self.ws = Workspace()

    def tearDown(self):
        self.ws.cleanup()

    def serve(self, *args):
        return run_cli("serve", "--slides", self.ws.slides, "--data", self.ws.data, *args, timeout=30)

    def test_auth_none_is_refused_beyond_loopback(self):
        for listen in ("0.0.0.0:0", "[::]:0", "192.0.2.1:0"):
            res = self.serve("--listen", listen)
            self.assertEqual(res.returncode, 2, res.stderr)
            self.assertRegex(res.stderr, r"^mcval: error: config_invalid: --auth none .* loopback")
            self.assertIn(listen, res.stderr)
            res = self.serve("--listen", listen, "--auth", "none")
            self.assertEqual(res.returncode, 2, res.stderr)

    def test_auth_none_on_loopback_is_the_local_admin(self):
        server = Server(self.ws)
        try:
            me = server.get("/api/v1/me").json()
            self.assertEqual(me["auth"], "none")
            self.assertEqual(me["grants"], [{"role": "admin", "centre": "*"}])
            self.assertEqual(server.get("/metrics").status, 200)
        finally:
            self.assertEqual(server.stop(), 0)
        records = read_audit(os.path.join(self.ws.data, "audit", "audit.log"))
        actions = [r["action"] for r in records]
        self.assertEqual((actions[0], actions[-1]), ("service_started", "service_stopped"))
        self.assertEqual(set(actions[1:-1]), {"config_changed"})  # the first start records its settings

    def test_oidc_needs_a_valid_issuer_file(self):
        res = self.serve("--auth", "oidc")
        self.assertEqual(res.returncode, 2)
        self.assertIn("auth_config", res.stderr)
        missing = os.path.join(self.ws.dir, "missing.json")
        res = self.serve("--auth", "oidc", "--auth-config", missing)
        self.assertEqual(res.returncode, 2)
        self.assertIn(missing, res.stderr)
        typo = os.path.join(self.ws.dir, "typo.json")
        with open(typo, "w") as f:
            json.dump({"issuers": [{"issuer": "https://idp.example.org", "audience": ["x"]}]}, f)
        res = self.serve("--auth", "oidc", "--auth-config", typo)
        self.assertEqual(res.returncode, 2)
        self.assertIn("audience", res.stderr)
        res = self.serve("--auth", "saml")
        self.assertEqual(res.returncode, 2)
        self.assertIn("auth must be none or oidc", res.stderr)


if __name__ == "__main__":
    unittest.main()
