"""Tiles that are exactly a stored JPEG tile of the slide file are sent as those bytes (no decode,
no re-encode): their pixels equal OpenSlide's read_region within JPEG decoding tolerance, other
requests are rendered as before, and /metrics counts both."""
import io
import re
import unittest

import numpy as np
import openslide
from PIL import Image

from harness import CMU_SLIDE, Server, Workspace, slide_ids

TILE = 240  # CMU-1-Small-Region.svs: 2220 x 2967, 240 x 240 JPEG tiles (Photometric RGB)


def metric(server, name):
    text = server.get("/metrics").body.decode()
    match = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(match.group(1)) if match else None


def decoded(body):
    return np.asarray(Image.open(io.BytesIO(body)).convert("RGB"), dtype=np.int16)


class StoredTilesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = Workspace()
        cls.path = cls.ws.add_slide("centre-a", "cmu.svs")
        cls.server = Server(cls.ws, extra_args=["--dzi-native-tiles"])
        cls.id = slide_ids(cls.server)["cmu.svs"]["id"]
        cls.slide = openslide.OpenSlide(cls.path)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.ws.cleanup()

    def reference(self, x, y, w, h):
        return np.asarray(self.slide.read_region((x, y), 0, (w, h)).convert("RGB"), dtype=np.int16)

    def assert_close(self, body, x, y, w, h):
        got, want = decoded(body), self.reference(x, y, w, h)
        self.assertEqual(got.shape, want.shape)
        diff = np.abs(got - want)
        self.assertLessEqual(int(diff.max()), 4)
        self.assertLess(float(diff.mean()), 0.5)

    def test_iiif_tiles_at_native_size_are_the_stored_jpeg(self):
        before = metric(self.server, "mcval_tiles_stored_jpeg_total")
        rendered_before = metric(self.server, "mcval_tiles_rendered_total")
        for col, row in [(0, 0), (3, 5), (8, 11)]:
            x, y = col * TILE, row * TILE
            res = self.server.get("/iiif/3/%s/%d,%d,%d,%d/%d,/0/default.jpg" % (self.id, x, y, TILE, TILE, TILE))
            self.assertEqual(res.status, 200)
            self.assertEqual(res.header("Content-Type"), "image/jpeg")
            # Photometric RGB: the Adobe marker (transform 0) tells decoders the samples are RGB.
            self.assertEqual(res.body[:4], b"\xff\xd8\xff\xee")
            self.assert_close(res.body, x, y, TILE, TILE)
        self.assertEqual(metric(self.server, "mcval_tiles_stored_jpeg_total") - before, 3)
        self.assertEqual(metric(self.server, "mcval_tiles_rendered_total"), rendered_before)
        # Asked again: a cache hit, still counted as stored bytes served, and the same ETag.
        first = self.server.get("/iiif/3/%s/0,0,240,240/240,/0/default.jpg" % self.id)
        again = self.server.get("/iiif/3/%s/0,0,240,240/240,/0/default.jpg" % self.id)
        self.assertEqual(first.body, again.body)
        self.assertEqual(first.header("ETag"), again.header("ETag"))

    def test_other_requests_are_rendered(self):
        rendered_before = metric(self.server, "mcval_tiles_rendered_total")
        stored_before = metric(self.server, "mcval_tiles_stored_jpeg_total")
        for path in [
                "480,480,240,240/240,/90/default.jpg",   # rotated
                "480,480,240,240/240,/0/gray.jpg",       # grey
                "480,480,240,240/240,/0/default.png",    # PNG
                "481,480,240,240/240,/0/default.jpg",    # not on the tile grid
                "480,480,480,480/240,/0/default.jpg",    # scaled
                "2160,0,60,200/60,/0/default.jpg"]:      # a part of an edge tile that is not all of it
            res = self.server.get("/iiif/3/%s/%s" % (self.id, path))
            self.assertEqual(res.status, 200, path)
        self.assertEqual(metric(self.server, "mcval_tiles_rendered_total") - rendered_before, 6)
        self.assertEqual(metric(self.server, "mcval_tiles_stored_jpeg_total"), stored_before)
        # The right edge's tile is padded in the file: its part inside the slide is the stored
        # stream cut without decoding (CMU's tiles have no chroma subsampling: the same pixels).
        res = self.server.get("/iiif/3/%s/2160,240,60,240/60,/0/default.jpg" % self.id)
        self.assertEqual(decoded(res.body).shape, (240, 60, 3))
        self.assertEqual(int(np.abs(decoded(res.body) - self.reference(2160, 240, 60, 240)).max()), 0)
        self.assertEqual(metric(self.server, "mcval_tiles_stored_jpeg_total") - stored_before, 1)
        res = self.server.get("/iiif/3/%s/2160,0,60,240/60,/0/default.png" % self.id)
        self.assertEqual(int(np.abs(decoded(res.body) - self.reference(2160, 0, 60, 240)).max()), 0)

    def test_regions_decoded_from_stored_tiles_equal_openslide_exactly(self):
        # Lossless output of regions that straddle stored tiles and the slide's edges: mcval
        # decodes the stored tiles itself, with the decoder and settings OpenSlide uses.
        for x, y, w, h in [(0, 0, 240, 240), (100, 130, 300, 200), (1000, 2800, 700, 167), (2100, 2900, 120, 67),
                           (239, 239, 2, 2)]:
            res = self.server.get("/iiif/3/%s/%d,%d,%d,%d/max/0/default.png" % (self.id, x, y, w, h))
            self.assertEqual(res.status, 200)
            got = decoded(res.body)
            want = self.reference(x, y, w, h)
            self.assertEqual(got.shape, want.shape)
            self.assertEqual(int(np.abs(got - want).max()), 0, (x, y, w, h))

    def test_zoomed_out_tiles_are_the_level_below_averaged_two_by_two(self):
        # CMU is stored at full resolution only. Each zoomed-out level is made from the one below,
        # every pixel the rounded mean of a 2 x 2 block (edge blocks: of what they cover), as
        # pyramid builders (vips) make levels; so a 4x tile is full resolution averaged twice.
        def halve(a):
            h, w = a.shape[:2]
            hh, ww = (h + 1) // 2, (w + 1) // 2
            sums = np.zeros((2 * hh, 2 * ww, 3), dtype=np.int64)
            sums[:h, :w] = a
            counts = np.zeros((2 * hh, 2 * ww, 1), dtype=np.int64)
            counts[:h, :w] = 1
            s = sums.reshape(hh, 2, ww, 2, 3).sum(axis=(1, 3))
            c = counts.reshape(hh, 2, ww, 2, 1).sum(axis=(1, 3))
            return ((s + c // 2) // c).astype(np.int16)

        levels = [self.reference(0, 0, 2220, 2967)]
        for _ in range(4):
            levels.append(halve(levels[-1]))
        for k, (x, y, w, h, out_w) in [(1, (480, 960, 480, 480, 240)), (2, (960, 960, 960, 960, 240)),
                                       (3, (1920, 0, 300, 1920, 38)), (3, (0, 1920, 1920, 1047, 240)),
                                       (4, (0, 0, 2220, 2967, 139))]:
            f = 2 ** k
            res = self.server.get("/iiif/3/%s/%d,%d,%d,%d/%d,%d/0/default.png" % (self.id, x, y, w, h, out_w, -(-h // f)))
            self.assertEqual(res.status, 200)
            want = levels[k][y // f:y // f + -(-h // f), x // f:x // f + out_w]
            got = decoded(res.body)
            self.assertEqual(got.shape, want.shape, (k, x, y, w, h))
            self.assertEqual(int(np.abs(got - want).max()), 0, (k, x, y, w, h))
        # Native Deep Zoom tiles of a zoomed-out level are the same pixels.
        res = self.server.get("/dzi/%s_files/%d/1_1.png" % (self.id, 12 - 2))
        self.assertEqual(res.status, 200)
        self.assertEqual(int(np.abs(decoded(res.body) - levels[2][240:480, 240:480]).max()), 0)

    def test_native_deep_zoom_uses_the_slides_tiles(self):
        dzi = self.server.get("/dzi/%s.dzi" % self.id).body.decode()
        self.assertIn('TileSize="240"', dzi)
        self.assertIn('Overlap="0"', dzi)
        top = 12  # ceil(log2(2967)) : full resolution
        before = metric(self.server, "mcval_tiles_stored_jpeg_total")
        res = self.server.get("/dzi/%s_files/%d/2_3.jpeg" % (self.id, top))
        self.assertEqual(res.status, 200)
        self.assert_close(res.body, 2 * TILE, 3 * TILE, TILE, TILE)
        self.assertEqual(metric(self.server, "mcval_tiles_stored_jpeg_total") - before, 1)
        # The last column is narrower (60 px): the stored tile cut to the slide, the right size.
        res = self.server.get("/dzi/%s_files/%d/9_0.jpeg" % (self.id, top))
        self.assertEqual(decoded(res.body).shape, (240, 60, 3))
        self.assertEqual(metric(self.server, "mcval_tiles_stored_jpeg_total") - before, 2)


class DefaultDeepZoomTest(unittest.TestCase):
    def test_default_deep_zoom_grid_is_unchanged(self):
        ws = Workspace()
        try:
            ws.add_slide("centre-a", "cmu.svs")
            server = Server(ws)
            try:
                slide_id = slide_ids(server)["cmu.svs"]["id"]
                dzi = server.get("/dzi/%s.dzi" % slide_id).body.decode()
                self.assertIn('TileSize="254"', dzi)
                self.assertIn('Overlap="1"', dzi)
            finally:
                server.stop()
        finally:
            ws.cleanup()


if __name__ == "__main__":
    unittest.main()
