"""Compares mcval's Deep Zoom tiles with OpenSlide Python's DeepZoomGenerator (the reference
behind OpenSlide's deepzoom example server) tile by tile, on decoded pixels.

The bounds, stated once:
- PNG tiles (lossless) must equal the reference exactly: max abs difference <= MAX_PNG_DIFF
  (we read the same level and region and resample as Pillow does).
- JPEG tiles: mean abs error against the reference's raw pixels may exceed the error of
  Pillow's own JPEG encoding of the reference tile at the same quality by at most
  MAX_JPEG_EXCESS (0-255 scale, all channels), i.e. "equal within JPEG tolerance".
- Sizes are equal, except where the reference's thumbnail() keeps the aspect ratio of a tile
  a few pixels wide (tiny levels); there ours keeps the Deep Zoom size, which viewers need.
"""
import io
import math

import numpy
import openslide
from openslide.deepzoom import DeepZoomGenerator
from PIL import Image

MAX_PNG_DIFF = 1
MAX_JPEG_EXCESS = 0.75
JPEG_QUALITY = 80  # mcval's default --jpeg-quality
TINY_TILE_PX = 8


def sample_addresses(generator, per_level=6):
    """Every tile of the small levels, and corners, edges and a diagonal of the large ones."""
    addresses = []
    for level in range(generator.level_count):
        cols, rows = generator.level_tiles[level]
        if cols * rows <= per_level * 2:
            addresses += [(level, c, r) for c in range(cols) for r in range(rows)]
            continue
        picks = {(0, 0), (cols - 1, 0), (0, rows - 1), (cols - 1, rows - 1), (cols // 2, rows // 2)}
        for i in range(per_level):
            picks.add((min(cols - 1, i * cols // per_level), min(rows - 1, i * rows // per_level)))
        addresses += [(level, c, r) for c, r in sorted(picks)]
    return addresses


def decode(body):
    return numpy.asarray(Image.open(io.BytesIO(body)).convert("RGB"), dtype=numpy.float64)


def compare(server, slide_id, slide_path, addresses=None):
    """One dict per tile: address, sizes, png_max_diff, jpeg_mae, pillow_jpeg_mae."""
    generator = DeepZoomGenerator(openslide.OpenSlide(slide_path), tile_size=254, overlap=1, limit_bounds=False)
    results = []
    for level, col, row in addresses or sample_addresses(generator):
        tile = generator.get_tile(level, (col, row)).convert("RGB")
        reference = numpy.asarray(tile, dtype=numpy.float64)
        result = {"address": (level, col, row), "reference_size": tile.size}
        base = "/dzi/%s_files/%d/%d_%d." % (slide_id, level, col, row)
        png_res = server.get(base + "png")
        jpeg_res = server.get(base + "jpeg")
        result["status"] = (png_res.status, jpeg_res.status)
        if png_res.status == 200 and jpeg_res.status == 200:
            png = decode(png_res.body)
            jpeg = decode(jpeg_res.body)
            result["size"] = (png.shape[1], png.shape[0])
            if png.shape == reference.shape:
                result["png_max_diff"] = float(numpy.abs(png - reference).max())
                result["jpeg_mae"] = float(numpy.abs(jpeg - reference).mean())
                encoded = io.BytesIO()
                tile.save(encoded, "JPEG", quality=JPEG_QUALITY)
                result["pillow_jpeg_mae"] = float(numpy.abs(decode(encoded.getvalue()) - reference).mean())
        results.append(result)
    return results


def check(test, results):
    compared = [r for r in results if "png_max_diff" in r]
    test.assertGreater(len(compared), 10)
    for r in results:
        test.assertEqual(r["status"], (200, 200), r)
        if "png_max_diff" not in r:
            test.assertLess(min(r["size"]), TINY_TILE_PX, "sizes differ on a non-tiny tile: %s" % r)
            continue
        test.assertLessEqual(r["png_max_diff"], MAX_PNG_DIFF, r)
        test.assertLessEqual(r["jpeg_mae"], r["pillow_jpeg_mae"] + MAX_JPEG_EXCESS, r)
    worst_png = max(r["png_max_diff"] for r in compared)
    worst_excess = max(r["jpeg_mae"] - r["pillow_jpeg_mae"] for r in compared)
    print("\n  %d tiles compared with DeepZoomGenerator: PNG max abs diff %.0f; JPEG mean abs error exceeds "
          "Pillow's own q%d encoding by at most %.3f" % (len(compared), worst_png, JPEG_QUALITY, worst_excess))
