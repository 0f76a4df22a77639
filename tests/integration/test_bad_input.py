"""Bad input gets a clear 4xx and nothing else breaks: unknown ids, out-of-range tiles,
malformed IIIF and DZI paths, path tricks, corrupt and vanished slides, broken HTTP."""
import os
import time
import unittest

from harness import Server, Workspace, slide_ids


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.ws.add_slide("centre-a", "good.svs")
        cls.ws.add_slide("centre-a", "doomed.svs")
        cls.ws.add_truncated_slide("centre-b", "truncated.svs")
        with open(os.path.join(cls.ws.slides, "centre-b", "not-a-slide.tif"), "wb") as f:
            f.write(b"this is not a TIFF file at all" * 100)
        # A secret outside the slide root that no request may read.
        with open(os.path.join(cls.ws.dir, "secret.txt"), "w") as f:
            f.write("TOP-SECRET")
        cls.server = Server(cls.ws)
        cls.slides = slide_ids(cls.server)
        cls.good = cls.slides["good.svs"]["id"]

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.ws.cleanup()

    def assert_error(self, path, status, code=None):
        res = self.server.get(path)
        self.assertEqual(res.status, status, "%s -> %d %s" % (path, res.status, res.body[:200]))
        body = res.json()
        self.assertIn("error", body)
        self.assertTrue(body["error"]["message"])
        if code:
            self.assertEqual(body["error"]["code"], code, path)
        return body

    def assert_still_serving(self):
        self.assertTrue(self.server.alive())
        res = self.server.get("/dzi/%s_files/12/0_0.jpeg" % self.good)
        self.assertEqual(res.status, 200)

    def test_unknown_slide(self):
        self.assert_error("/dzi/0123456789abcdef.dzi", 404, "slide_not_found")
        self.assert_error("/dzi/0123456789abcdef_files/0/0_0.jpeg", 404, "slide_not_found")
        self.assert_error("/iiif/3/0123456789abcdef/info.json", 404, "slide_not_found")
        self.assert_error("/iiif/3/0123456789abcdef/full/max/0/default.jpg", 404, "slide_not_found")
        self.assert_error("/api/v1/slides/0123456789abcdef", 404, "slide_not_found")
        self.assert_error("/api/v1/slides/nope/thumbnail", 404, "slide_not_found")

    def test_level_or_tile_out_of_range(self):
        self.assert_error("/dzi/%s_files/13/0_0.jpeg" % self.good, 404, "tile_out_of_range")
        self.assert_error("/dzi/%s_files/12/9_0.jpeg" % self.good, 404, "tile_out_of_range")
        self.assert_error("/dzi/%s_files/12/0_12.jpeg" % self.good, 404, "tile_out_of_range")
        self.assert_error("/dzi/%s_files/-1/0_0.jpeg" % self.good, 404, "tile_out_of_range")
        self.assert_error("/dzi/%s_files/99999999999999999999/0_0.jpeg" % self.good, 404, "tile_out_of_range")
        self.assert_error("/dzi/%s_files/12/0_0.gif" % self.good, 404)
        self.assert_error("/dzi/%s_files/x/0_0.jpeg" % self.good, 404)

    def test_malformed_iiif(self):
        base = "/iiif/3/%s/" % self.good
        self.assert_error(base + "nonsense/max/0/default.jpg", 400, "iiif_malformed")
        self.assert_error(base + "full/full/0/default.jpg", 400, "iiif_malformed")
        self.assert_error(base + "full/max/0/default", 400, "iiif_malformed")
        self.assert_error(base + "full/max/0/fancy.jpg", 400, "iiif_malformed")
        self.assert_error(base + "full/max/abc/default.jpg", 400, "iiif_malformed")
        self.assert_error(base + "9999,9999,10,10/max/0/default.jpg", 400, "region_out_of_bounds")
        self.assert_error(base + "full/5000,/0/default.jpg", 400, "invalid_argument")
        self.assert_error(base + "full/0,/0/default.jpg", 400)
        self.assert_error(base + "full/max/45/default.jpg", 501, "unsupported")
        self.assert_error(base + "full/max/0/default.webp", 501, "unsupported")
        self.assert_error(base + "full/max/0", 404)
        res = self.server.get(base + "nonsense/max/0/default.jpg")
        self.assertEqual(res.header("Access-Control-Allow-Origin"), "*")
        self.assert_still_serving()

    def test_malformed_dzi_paths(self):
        self.assert_error("/dzi/%s" % self.good, 404)
        self.assert_error("/dzi/%s_files/12/0-0.jpeg" % self.good, 404)
        self.assert_error("/dzi/%s_files/12/0_0" % self.good, 404)
        self.assert_error("/dzi/%s_files/12/0_0.jpeg/extra" % self.good, 404)
        self.assert_error("/dzi/.dzi", 404)
        self.assert_still_serving()

    def test_path_tricks_never_leave_the_slide_root(self):
        tricks = [
            "/dzi/..%2f..%2fsecret.txt.dzi",
            "/dzi/%2e%2e%2f%2e%2e%2fsecret.txt.dzi",
            "/dzi/../../secret.txt.dzi",
            "/iiif/3/%2e%2e%2f%2e%2e%2fsecret.txt/info.json",
            "/iiif/3/..%2F..%2Fsecret.txt/full/max/0/default.jpg",
            "/iiif/3/%2Fetc%2Fpasswd/info.json",
            "/iiif/3/centre-a%2Fgood.svs/info.json",
            "/api/v1/slides/%2Fetc%2Fpasswd",
            "/api/v1/slides/..%2F..%2Fsecret.txt/thumbnail",
            "/..%2f..%2fsecret.txt",
            "/../secret.txt",
            "/%2e%2e/secret.txt",
            "/index.html%00.txt",
            "/dzi/%00.dzi",
        ]
        for path in tricks:
            res = self.server.get(path)
            self.assertIn(res.status, (400, 404), path)
            self.assertNotIn(b"TOP-SECRET", res.body, path)
            self.assertNotIn(b"root:", res.body, path)
        raw = self.server.raw(b"GET /../../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertNotIn(b"TOP-SECRET", raw)
        raw = self.server.raw(b"GET /dzi/a\x00b.dzi HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertTrue(raw.startswith(b"HTTP/1.1 4"), raw[:100])
        self.assert_still_serving()

    def test_corrupt_slides_are_unreadable_and_answer_422(self):
        truncated = self.slides["truncated.svs"]
        self.assertEqual(truncated["status"], "unreadable")
        self.assertTrue(truncated["status_reason"])
        not_slide = self.slides["not-a-slide.tif"]
        self.assertEqual(not_slide["status"], "unreadable")
        for record in (truncated, not_slide):
            self.assert_error("/dzi/%s.dzi" % record["id"], 422, "slide_unreadable")
            self.assert_error("/dzi/%s_files/0/0_0.jpeg" % record["id"], 422, "slide_unreadable")
            self.assert_error("/iiif/3/%s/info.json" % record["id"], 422, "slide_unreadable")
            self.assert_error("/iiif/3/%s/full/max/0/default.jpg" % record["id"], 422, "slide_unreadable")
            self.assert_error("/api/v1/slides/%s/thumbnail" % record["id"], 422, "slide_unreadable")
        self.assert_still_serving()

    def test_slide_deleted_while_served(self):
        doomed = self.slides["doomed.svs"]["id"]
        self.assertEqual(self.server.get("/dzi/%s_files/12/0_0.jpeg" % doomed).status, 200)
        os.remove(os.path.join(self.ws.slides, "centre-a", "doomed.svs"))
        # Before a rescan: the file is gone -> 410 (or 404), never a crash.
        res = self.server.get("/dzi/%s_files/12/3_3.jpeg" % doomed)
        self.assertIn(res.status, (404, 410))
        res = self.server.get("/iiif/3/%s/0,0,300,300/max/0/default.jpg" % doomed)
        self.assertIn(res.status, (404, 410))
        # After a rescan the catalogue knows it was removed.
        self.assertEqual(self.server.rescan()["result"]["removed"], 1)
        self.assert_error("/dzi/%s.dzi" % doomed, 410, "slide_gone")
        self.assertNotIn("doomed.svs", slide_ids(self.server))
        self.assert_still_serving()

    def test_broken_http_gets_400_and_server_goes_on(self):
        self.assertTrue(self.server.raw(b"NOT HTTP AT ALL\r\n\r\n").startswith(b"HTTP/1.1 400"))
        huge_header = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
        self.assertTrue(self.server.raw(huge_header).startswith(b"HTTP/1.1 4"))
        body = b"x" * (2 << 20)
        big_post = b"POST /api/v1/rescan HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        self.assertTrue(self.server.raw(big_post).startswith(b"HTTP/1.1 413"))
        self.assertEqual(self.server.request("DELETE", "/api/v1/centres").status, 405)
        self.assert_still_serving()

    def test_huge_requests_are_refused_not_attempted(self):
        self.assert_error("/iiif/3/%s/full/^100000,100000/0/default.jpg" % self.good, 400)
        self.assert_error("/api/v1/slides/%s/thumbnail?max=100000" % self.good, 400)
        self.assert_error("/api/v1/slides/%s/thumbnail?max=abc" % self.good, 400)
        self.assert_still_serving()

    def test_associated_images_are_off_by_default(self):
        # CMU-1-Small-Region.svs has a label and a macro image; neither is served by default.
        self.assert_error("/api/v1/slides/%s/associated/label" % self.good, 404)
        self.assert_error("/api/v1/slides/%s/associated/macro" % self.good, 404)


class AssociatedImagesEnabledTest(unittest.TestCase):
    def test_setting_enables_them(self):
        ws = Workspace()
        try:
            ws.add_slide("centre-a", "good.svs")
            server = Server(ws, extra_args=["--associated-images"])
            try:
                slide = slide_ids(server)["good.svs"]
                self.assertEqual(sorted(slide["associated_images"]), ["label", "macro", "thumbnail"])
                for name in ("label", "macro"):
                    res = server.get("/api/v1/slides/%s/associated/%s" % (slide["id"], name))
                    self.assertEqual(res.status, 200, name)
                    self.assertEqual(res.header("Content-Type"), "image/jpeg")
                self.assertEqual(server.get("/api/v1/slides/%s/associated/other" % slide["id"]).status, 404)
            finally:
                server.stop()
        finally:
            ws.cleanup()


if __name__ == "__main__":
    unittest.main()
