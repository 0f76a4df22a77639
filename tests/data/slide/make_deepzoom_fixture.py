#!/usr/bin/python3
"""Writes deepzoom_geometry.json: the Deep Zoom geometry that OpenSlide Python computes.

The expected values come from openslide-python's own DeepZoomGenerator (Debian bookworm's
python3-openslide 1.2.0 over OpenSlide 3.4.1), run once over the real CMU-1-Small-Region
slide and over fake slides that only expose a level structure. mcval's DeepZoomGeometry
must reproduce every number. Run from anywhere with the system Python:

    /usr/bin/python3 tests/data/slide/make_deepzoom_fixture.py [path/to/CMU-1-Small-Region.svs]
"""

import json
import math
import os
import random
import sys

import openslide
from openslide.deepzoom import DeepZoomGenerator

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CMU = os.path.join(HERE, '..', '..', '..', '..', 'shared', 'data', 'slides',
                           'CMU-1-Small-Region.svs')


class FakeSlide:
    """The parts of an OpenSlide object that DeepZoomGenerator reads (limit_bounds=False)."""

    def __init__(self, levels):
        self.level_dimensions = tuple((w, h) for w, h, _ in levels)
        self.level_downsamples = tuple(d for _, _, d in levels)
        self.level_count = len(levels)
        self.dimensions = self.level_dimensions[0]
        self.properties = {}

    def get_best_level_for_downsample(self, downsample):
        # openslide_get_best_level_for_downsample, OpenSlide 3.4.1.
        if downsample < self.level_downsamples[0]:
            return 0
        for i in range(1, self.level_count):
            if downsample < self.level_downsamples[i]:
                return i - 1
        return self.level_count - 1


def openslide_levels(w0, h0, dims):
    """Levels with downsamples computed the way OpenSlide derives them from dimensions."""
    levels = [(w0, h0, 1.0)]
    for w, h in dims:
        levels.append((w, h, ((w0 / w) + (h0 / h)) / 2.0))
    return levels


def halving_levels(w0, h0, count):
    levels = [(w0, h0, 1.0)]
    w, h = w0, h0
    for _ in range(1, count):
        w, h = (w + 1) // 2, (h + 1) // 2
        levels.append((w, h, ((w0 / w) + (h0 / h)) / 2.0))
    return levels


def sample_addresses(cols, rows, rng):
    if cols * rows <= 9:
        return [(c, r) for r in range(rows) for c in range(cols)]
    picks = [(0, 0), (cols - 1, 0), (0, rows - 1), (cols - 1, rows - 1),
             (min(1, cols - 1), min(1, rows - 1)), (max(0, cols - 2), max(0, rows - 2)),
             (cols // 2, rows // 2), (cols - 1, rows // 2), (cols // 2, rows - 1)]
    for _ in range(3):
        picks.append((rng.randrange(cols), rng.randrange(rows)))
    seen = []
    for p in picks:
        if p not in seen:
            seen.append(p)
    return seen


def describe(name, osr, levels, tile_size, overlap, rng):
    dz = DeepZoomGenerator(osr, tile_size=tile_size, overlap=overlap, limit_bounds=False)
    case = {
        'name': name,
        'tile_size': tile_size,
        'overlap': overlap,
        'levels': [[w, h, d] for w, h, d in levels],
        'dz_level_count': dz.level_count,
        'dz_level_dimensions': [list(d) for d in dz.level_dimensions],
        'dz_level_tiles': [list(t) for t in dz.level_tiles],
        'dzi_jpeg': dz.get_dzi('jpeg'),
        'dzi_png': dz.get_dzi('png'),
        # [dz_level, col, row, l0_x, l0_y, slide_level, read_w, read_h, tile_w, tile_h]
        'tiles': [],
    }
    for level in range(dz.level_count):
        cols, rows = dz.level_tiles[level]
        for col, row in sample_addresses(cols, rows, rng):
            (l0, slide_level, l_size) = dz.get_tile_coordinates(level, (col, row))
            z_size = dz.get_tile_dimensions(level, (col, row))
            case['tiles'].append([level, col, row, l0[0], l0[1], slide_level,
                                  l_size[0], l_size[1], z_size[0], z_size[1]])
    return case


def main():
    cmu = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_CMU
    rng = random.Random(20240601)
    cases = []

    slide = openslide.OpenSlide(cmu)
    levels = [(w, h, d) for (w, h), d in zip(slide.level_dimensions, slide.level_downsamples)]
    cases.append(describe('cmu_small_region', slide, levels, 254, 1, rng))

    synthetic = [
        ('three_levels_exact_downsamples',
         [(50001, 40003, 1.0), (12500, 10000, 4.0), (3125, 2500, 16.0)], 254, 1),
        ('three_levels_openslide_downsamples',
         openslide_levels(50001, 40003, [(12500, 10000), (3125, 2500)]), 254, 1),
        ('aperio_cmu1_structure',
         openslide_levels(46000, 32914, [(11500, 8228), (2875, 2057)]), 254, 1),
        ('halving_pyramid_ten_levels', halving_levels(98304 + 17, 75776 + 5, 10), 254, 1),
        ('tile_256_no_overlap',
         openslide_levels(50001, 40003, [(12500, 10000), (3125, 2500)]), 256, 0),
        ('tile_510_overlap_2',
         openslide_levels(50001, 40003, [(12500, 10000), (3125, 2500)]), 510, 2),
        ('single_pixel', [(1, 1, 1.0)], 254, 1),
        ('one_pixel_wide_column', [(1, 300001, 1.0)], 254, 1),
        ('exactly_one_tile', [(254, 254, 1.0)], 254, 1),
        ('one_tile_plus_one_pixel', [(255, 509, 1.0)], 254, 1),
        ('level_beyond_level_zero_ratio',
         [(20000, 15000, 1.0), (10001, 7501, 1.9998), (2501, 1876, 7.9968)], 254, 1),
    ]
    for name, lv, tile_size, overlap in synthetic:
        cases.append(describe(name, FakeSlide(lv), lv, tile_size, overlap, rng))

    out = os.path.join(HERE, 'deepzoom_geometry.json')
    with open(out, 'w') as f:
        json.dump({'generator': 'openslide-python %s, OpenSlide %s' % (
            openslide.__version__, openslide.__library_version__), 'cases': cases}, f,
            separators=(',', ':'))
        f.write('\n')
    print('wrote', out, sum(len(c['tiles']) for c in cases), 'tiles')


if __name__ == '__main__':
    main()
