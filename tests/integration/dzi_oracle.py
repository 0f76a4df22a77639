"""Compares mcval's Deep Zoom tiles with OpenSlide Python's DeepZoomGenerator (the reference
behind OpenSlide's deepzoom example server) tile by tile, on decoded pixels.

The bounds, stated once:
- PNG tiles (lossless) must equal the reference exactly: max abs difference <= MAX_PNG_DIFF
  (we read the same level and region and resample as Pillow does).
- JPEG tiles: mean abs error against the reference's raw pixels may exceed the error of
  Pillow's own JPEG encoding of the reference tile at the same quality by at most
  MAX_JPEG_EXCESS (0-255 scale, all channels), i.e. "equal within JPEG tolerance".
- Our tiles always have the Deep Zoom size (the .dzi geometry viewers rely on). The reference
  is sometimes 1-2 px smaller: Pillow's thumbnail() keeps the aspect ratio of the region read
  and never enlarges, so on tiles a few pixels wide, and on right/bottom edge tiles of levels
  whose size OpenSlide rounded down (read 1 px short), it leaves a gap. Those tiles are
  checked for size only (ours exact, the reference smaller, on an edge or tiny) and counted.
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


def deep_zoom_size(generator, level, col, row):
    """The tile size the Deep Zoom geometry defines (tile 254, overlap 1)."""
    size = []
    for t, t_count, z in zip((col, row), generator.level_tiles[level], generator.level_dimensions[level]):
        size.append(min(254, z - 254 * t) + (1 if t > 0 else 0) + (1 if t < t_count - 1 else 0))
    return tuple(size)


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
            result["deep_zoom_size"] = deep_zoom_size(generator, level, col, row)
            cols, rows = generator.level_tiles[level]
            result["edge"] = col == cols - 1 or row == rows - 1
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
        test.assertEqual(r["size"], r["deep_zoom_size"], r)
        if "png_max_diff" not in r:
            reference_smaller = all(a <= b for a, b in zip(r["reference_size"], r["size"]))
            test.assertTrue(reference_smaller and (r["edge"] or min(r["size"]) < TINY_TILE_PX),
                            "sizes differ on a tile that is neither an edge nor tiny: %s" % r)
            continue
        test.assertLessEqual(r["png_max_diff"], MAX_PNG_DIFF, r)
        test.assertLessEqual(r["jpeg_mae"], r["pillow_jpeg_mae"] + MAX_JPEG_EXCESS, r)
    worst_png = max(r["png_max_diff"] for r in compared)
    worst_excess = max(r["jpeg_mae"] - r["pillow_jpeg_mae"] for r in compared)
    print("\n  %d of %d tiles compared with DeepZoomGenerator pixel by pixel: PNG max abs diff %.0f; JPEG mean abs "
          "error exceeds Pillow's own q%d encoding by at most %.3f; %d edge/tiny tiles where the reference is "
          "smaller were checked for size only" % (len(compared), len(results), worst_png, JPEG_QUALITY, worst_excess,
                                                  len(results) - len(compared)))
