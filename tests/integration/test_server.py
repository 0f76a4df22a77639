"""The real binary serving the real CMU slide: API, Deep Zoom, IIIF, caching, metrics."""
import io
import json
import os
import time
import unittest

from PIL import Image

from harness import Server, Workspace, slide_ids


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.ws.add_slide("centre-a", "cmu.svs")
        cls.ws.add_slide("centre-b", "nested/folder/cmu-copy.svs")
        cls.server = Server(cls.ws)
        cls.slides = slide_ids(cls.server)
        cls.cmu = cls.slides["cmu.svs"]
        cls.id = cls.cmu["id"]

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.ws.cleanup()

    def image(self, path, fmt="JPEG"):
        res = self.server.get(path)
        self.assertEqual(res.status, 200, path + ": " + res.body[:300].decode(errors="replace"))
        img = Image.open(io.BytesIO(res.body))
        self.assertEqual(img.format, fmt)
        return img

    def test_health_and_readiness(self):
        self.assertEqual(self.server.get("/healthz").status, 200)
        self.assertEqual(self.server.get("/readyz").json()["status"], "ready")

    def test_catalogue_api(self):
        centres = {c["name"]: c for c in self.server.get("/api/v1/centres").json()["centres"]}
        self.assertEqual(set(centres), {"centre-a", "centre-b"})
        self.assertEqual(centres["centre-a"]["slide_count"], 1)
        self.assertEqual(self.cmu["vendor"], "aperio")
        self.assertEqual((self.cmu["width"], self.cmu["height"]), (2220, 2967))
        self.assertAlmostEqual(self.cmu["mpp_x"], 0.499, places=3)
        self.assertEqual(self.cmu["objective_power"], 20)
        self.assertEqual(self.cmu["sha256"], "ed92d5a9f2e86df67640d6f92ce3e231419ce127131697fbbce42ad5e002c8a7")
        self.assertEqual(self.cmu["status"], "ok")
        self.assertNotIn("/", self.id)
        self.assertNotIn("cmu", self.id)
        only_b = slide_ids(self.server, "centre-b")
        self.assertEqual(list(only_b), ["cmu-copy.svs"])
        self.assertEqual(only_b["cmu-copy.svs"]["relative_path"], "centre-b/nested/folder/cmu-copy.svs")
        one = self.server.get("/api/v1/slides/" + self.id).json()
        self.assertEqual(one["id"], self.id)
        thumb = self.image("/api/v1/slides/%s/thumbnail?max=200" % self.id)
        self.assertEqual(max(thumb.size), 200)

    def test_the_catalogue_pages_by_cursor(self):
        seen, cursor, pages = [], "", 0
        while True:
            page = self.server.get("/api/v1/slides?limit=1" + ("&cursor=" + cursor if cursor else "")).json()
            self.assertEqual(page["limit"], 1)
            seen += [s["relative_path"] for s in page["slides"]]
            pages += 1
            cursor = page.get("next_cursor", "")
            if not cursor:
                break
        self.assertEqual(pages, 2)
        self.assertEqual(seen, ["centre-a/cmu.svs", "centre-b/nested/folder/cmu-copy.svs"])
        desc = self.server.get("/api/v1/slides?order=desc&limit=1").json()["slides"]
        self.assertEqual(desc[0]["relative_path"], "centre-b/nested/folder/cmu-copy.svs")
        found = self.server.get("/api/v1/slides?q=FOLDER").json()["slides"]
        self.assertEqual([s["name"] for s in found], ["cmu-copy.svs"])
        self.assertEqual(self.server.get("/api/v1/slides?status=unreadable").json()["slides"], [])
        for bad in ("limit=0", "limit=1001", "limit=x", "cursor=%25%25", "order=up", "status=gone"):
            answer = self.server.get("/api/v1/slides?" + bad)
            self.assertEqual(answer.status, 400, bad)
            self.assertEqual(answer.json()["error"]["code"], "invalid_argument")

    def test_deep_zoom_descriptor_and_tiles(self):
        res = self.server.get("/dzi/%s.dzi" % self.id)
        self.assertEqual(res.status, 200)
        self.assertIn(b'TileSize="254"', res.body)
        self.assertIn(b'Overlap="1"', res.body)
        self.assertIn(b'Width="2220"', res.body)
        # 2967 -> 12 halvings to 1 px: 13 levels, the last is full resolution.
        top = self.image("/dzi/%s_files/12/0_0.jpeg" % self.id)
        self.assertEqual(top.size, (255, 255))
        inner = self.image("/dzi/%s_files/12/1_1.jpeg" % self.id)
        self.assertEqual(inner.size, (256, 256))
        edge = self.image("/dzi/%s_files/12/8_11.jpeg" % self.id)
        self.assertEqual(edge.size, (2220 - 8 * 254 + 1, 2967 - 11 * 254 + 1))
        tiny = self.image("/dzi/%s_files/0/0_0.jpeg" % self.id)
        self.assertEqual(tiny.size, (1, 1))
        png = self.image("/dzi/%s_files/10/0_0.png" % self.id, "PNG")
        self.assertEqual(png.size, (255, 255))

    def test_iiif_info_and_images(self):
        res = self.server.get("/iiif/3/%s/info.json" % self.id)
        self.assertEqual(res.status, 200)
        self.assertEqual(res.header("Access-Control-Allow-Origin"), "*")
        info = res.json()
        self.assertEqual(info["@context"], "http://iiif.io/api/image/3/context.json")
        self.assertEqual(info["type"], "ImageService3")
        self.assertEqual(info["profile"], "level2")
        self.assertTrue(info["id"].endswith("/iiif/3/" + self.id))
        self.assertEqual((info["width"], info["height"]), (2220, 2967))
        self.assertIn(1, info["tiles"][0]["scaleFactors"])
        ld = self.server.get("/iiif/3/%s/info.json" % self.id, {"Accept": "application/ld+json"})
        self.assertTrue(ld.header("Content-Type").startswith("application/ld+json"))
        base = self.server.get("/iiif/3/%s" % self.id)
        self.assertEqual(base.status, 303)
        self.assertTrue(base.header("Location").endswith("/iiif/3/%s/info.json" % self.id))

        base_path = "/iiif/3/%s/" % self.id
        self.assertEqual(self.image(base_path + "full/max/0/default.jpg").size, (2220, 2967))
        self.assertEqual(self.image(base_path + "0,0,512,512/256,/0/default.jpg").size, (256, 256))
        self.assertEqual(self.image(base_path + "full/!300,300/0/default.jpg").size, (224, 300))
        self.assertEqual(self.image(base_path + "square/100,100/90/color.png", "PNG").size, (100, 100))
        rotated = self.image(base_path + "0,0,400,200/max/90/default.jpg")
        self.assertEqual(rotated.size, (200, 400))
        gray = self.image(base_path + "pct:25,25,10,10/max/!180/gray.png", "PNG").convert("RGB")
        r, g, b = gray.getpixel((5, 5))
        self.assertTrue(r == g == b)
        bitonal = self.image(base_path + "full/,100/0/bitonal.png", "PNG").convert("L")
        self.assertTrue(set(bitonal.getdata()) <= {0, 255})
        self.assertEqual(self.image(base_path + "0,0,100,100/^200,/0/default.jpg").size, (200, 200))

    def test_region_matches_tiles(self):
        # The IIIF region and the full-resolution DZI tile show the same pixels.
        region = self.image("/iiif/3/%s/254,254,254,254/max/0/default.png" % self.id, "PNG").convert("RGB")
        tile = self.image("/dzi/%s_files/12/1_1.png" % self.id, "PNG").convert("RGB").crop((1, 1, 255, 255))
        diff = sum(abs(a - b) for p, q in zip(region.getdata(), tile.getdata()) for a, b in zip(p, q))
        self.assertEqual(diff, 0)

    def test_etag_and_not_modified(self):
        path = "/dzi/%s_files/11/1_1.jpeg" % self.id
        first = self.server.get(path)
        etag = first.header("ETag")
        self.assertTrue(etag and etag.startswith('"'))
        self.assertIn("max-age", first.header("Cache-Control"))
        again = self.server.get(path, {"If-None-Match": etag})
        self.assertEqual(again.status, 304)
        self.assertEqual(again.body, b"")
        other = self.server.get(path, {"If-None-Match": '"something-else"'})
        self.assertEqual(other.status, 200)
        self.assertEqual(other.body, first.body)
        iiif = "/iiif/3/%s/0,0,256,256/max/0/default.jpg" % self.id
        iiif_etag = self.server.get(iiif).header("ETag")
        self.assertEqual(self.server.get(iiif, {"If-None-Match": iiif_etag}).status, 304)

    def test_head_has_length_without_body(self):
        res = self.server.request("HEAD", "/dzi/%s_files/12/0_0.jpeg" % self.id)
        self.assertEqual(res.status, 200)
        self.assertEqual(res.body, b"")
        self.assertGreater(int(res.header("Content-Length")), 0)

    def test_security_headers_and_request_id(self):
        res = self.server.get("/api/v1/centres", {"X-Request-Id": "abc-123"})
        self.assertEqual(res.header("X-Request-Id"), "abc-123")
        self.assertEqual(res.header("X-Content-Type-Options"), "nosniff")
        self.assertIn("frame-ancestors 'none'", res.header("Content-Security-Policy"))
        forged = self.server.get("/api/v1/centres", {"X-Request-Id": "bad id\twith space"})
        self.assertNotEqual(forged.header("X-Request-Id"), "bad id\twith space")

    def test_viewer_is_served(self):
        res = self.server.get("/")
        self.assertEqual(res.status, 200)
        self.assertTrue(res.header("Content-Type").startswith("text/html"))
        self.assertIn(b"openseadragon", res.body.lower())

    def test_metrics(self):
        self.server.get("/dzi/%s_files/12/2_2.jpeg" % self.id)
        self.server.get("/dzi/%s_files/12/2_2.jpeg" % self.id)
        text = self.server.get("/metrics").body.decode()
        self.assertIn('mcval_http_requests_total{route="dzi.tile",status="200"}', text)
        self.assertIn("mcval_http_request_duration_seconds_bucket", text)
        self.assertIn("mcval_tile_cache_hits_total", text)
        self.assertIn("mcval_open_slides", text)
        hits = [l for l in text.splitlines() if l.startswith("mcval_tile_cache_hits_total ")]
        self.assertGreaterEqual(float(hits[0].split()[1]), 1)

    def test_metrics_report_process_and_allocator_memory(self):
        # Resident memory from /proc, and with jemalloc the allocator's own figures, so a
        # growing RSS can be told apart: live allocations or memory the allocator keeps.
        values = {}
        for line in self.server.get("/metrics").body.decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        rss = values["process_resident_memory_bytes"]
        self.assertGreater(rss, 4 * 2**20)
        self.assertLess(rss, 64 * 2**30)
        allocator = {k: v for k, v in values.items() if k.startswith("mcval_allocator_")}
        if os.environ.get("MCVAL_WITH_JEMALLOC") != "1":
            self.assertEqual(allocator, {})
            return
        self.assertEqual(set(allocator), {"mcval_allocator_%s_bytes" % s for s in
                                          ("allocated", "active", "resident", "mapped", "retained", "metadata",
                                           "dirty", "muzzy")})
        self.assertGreater(allocator["mcval_allocator_allocated_bytes"], 0)
        self.assertLessEqual(allocator["mcval_allocator_allocated_bytes"], allocator["mcval_allocator_active_bytes"])
        self.assertLessEqual(allocator["mcval_allocator_active_bytes"], allocator["mcval_allocator_resident_bytes"])
        self.assertLessEqual(allocator["mcval_allocator_active_bytes"], allocator["mcval_allocator_mapped_bytes"])
        # Free pages held: dirty ones are part of what the allocator holds resident.
        self.assertGreaterEqual(allocator["mcval_allocator_dirty_bytes"], 0)
        self.assertGreaterEqual(allocator["mcval_allocator_muzzy_bytes"], 0)
        self.assertLessEqual(allocator["mcval_allocator_active_bytes"] + allocator["mcval_allocator_dirty_bytes"],
                             allocator["mcval_allocator_resident_bytes"])
        # The allocator's resident pages are part of the process's.
        self.assertLessEqual(allocator["mcval_allocator_resident_bytes"], rss)
        # The statistics are refreshed at each scrape: a burst of tiles moves them.
        before = allocator["mcval_allocator_allocated_bytes"]
        for level, x, y in ((12, 5, 7), (12, 6, 7), (12, 7, 8), (11, 3, 4), (10, 1, 2)):
            self.assertEqual(self.server.get("/dzi/%s_files/%d/%d_%d.jpeg" % (self.id, level, x, y)).status, 200)
        after = [l for l in self.server.get("/metrics").body.decode().splitlines()
                 if l.startswith("mcval_allocator_allocated_bytes ")]
        self.assertNotEqual(float(after[0].split()[1]), before)

    def test_access_log_is_json_with_request_id(self):
        self.server.get("/healthz", {"X-Request-Id": "log-check-1"})
        # The harness reads the server's stdout on its own thread: wait for the line to arrive.
        deadline = time.time() + 10
        while time.time() < deadline:
            for line in list(self.server.log_lines):
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("request_id") == "log-check-1":
                    self.assertEqual(event["status"], 200)
                    self.assertEqual(event["route"], "healthz")
                    self.assertIn("ts", event)
                    return
            time.sleep(0.05)
        self.fail("no access log line for the request")

    def test_rescan_on_request(self):
        job = self.server.rescan()
        self.assertEqual(job["state"], "succeeded")
        self.assertEqual(job["result"]["seen"], 2)
        self.assertEqual(job["result"]["unchanged"], 2)


if __name__ == "__main__":
    unittest.main()
