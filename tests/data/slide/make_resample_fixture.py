#!/usr/bin/python3
"""Writes the resampling references: Pillow's own output for mcval's resample.cpp to match.

resample_source.png is a 300x200 crop of CMU-1-Small-Region (tissue) with a strip of hard
black/white edges (Lanczos overshoot, clipping). The outputs come from Debian bookworm's
Pillow 9.4 (python3-pil): Image.resize(LANCZOS), Image.resize(LANCZOS, reducing_gap=2.0)
(what Image.thumbnail does), Image.reduce, and whole Deep Zoom tiles from openslide-python's
DeepZoomGenerator.get_tile. resample_fixture.json lists them. Run with the system Python:

    /usr/bin/python3 tests/data/slide/make_resample_fixture.py [path/to/CMU-1-Small-Region.svs]
"""

import json
import os
import sys

import openslide
from openslide.deepzoom import DeepZoomGenerator
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CMU = os.path.join(HERE, '..', '..', '..', '..', 'shared', 'data', 'slides',
                           'CMU-1-Small-Region.svs')
LANCZOS = Image.Resampling.LANCZOS


def save(image, name):
    image.save(os.path.join(HERE, name), optimize=True)
    return name


def main():
    cmu = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_CMU
    slide = openslide.OpenSlide(cmu)
    region = slide.read_region((1150, 900), 0, (300, 200))
    source = Image.new('RGB', region.size, '#ffffff')
    source.paste(region, None, region)
    stripes = Image.new('RGB', (40, 200), '#000000')
    for x in range(0, 40, 6):
        stripes.paste((255, 255, 255), (x, 0, x + 3, 200))
    stripes.paste((255, 0, 0), (0, 150, 40, 153))
    source.paste(stripes, (250, 0))
    fixture = {'source': save(source, 'resample_source.png'), 'cases': []}

    def case(kind, size, image):
        name = 'resample_%s_%dx%d.png' % (kind, image.size[0], image.size[1])
        fixture['cases'].append({'kind': kind, 'width': size[0], 'height': size[1],
                                 'reference': save(image, name)})

    # (331, 187) enlarges horizontally and shrinks vertically.
    for size in [(131, 89), (150, 100), (331, 187)]:
        case('lanczos', size, source.resize(size, LANCZOS))
    # reducing_gap=2.0: box reduce by int(ratio / 2) per axis first; (37, 26) gives factors 4 and 3.
    for size in [(37, 26), (75, 50), (60, 45), (9, 7)]:
        case('tile', size, source.resize(size, LANCZOS, reducing_gap=2.0))
    for factor in [(3, 3), (4, 3), (2, 5)]:
        image = source.reduce(factor)
        fixture['cases'].append({'kind': 'reduce', 'factor_x': factor[0], 'factor_y': factor[1],
                                 'reference': save(image, 'resample_reduce_%dx%d.png' % factor)})

    # Whole Deep Zoom tiles, kept only where thumbnail() reaches the exact tile size.
    dz = DeepZoomGenerator(slide, tile_size=254, overlap=1, limit_bounds=False)
    fixture['deepzoom_tiles'] = []
    for level, col, row in [(8, 0, 0), (9, 0, 0), (10, 0, 1), (11, 4, 5), (12, 8, 11)]:
        tile = dz.get_tile(level, (col, row))
        if tile.size != dz.get_tile_dimensions(level, (col, row)):
            continue
        name = 'deepzoom_tile_%d_%d_%d.png' % (level, col, row)
        fixture['deepzoom_tiles'].append({'level': level, 'col': col, 'row': row,
                                          'reference': save(tile, name)})

    with open(os.path.join(HERE, 'resample_fixture.json'), 'w') as f:
        json.dump(fixture, f, indent=1)
        f.write('\n')
    print(json.dumps(fixture, indent=1))


if __name__ == '__main__':
    main()
