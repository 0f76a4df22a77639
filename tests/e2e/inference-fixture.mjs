// Writes inference results the way `mcval infer` stores them, for the viewer's end-to-end test:
//   <data>/inference/<model sha256>/<slide id>/result.json   (InferenceStore's to_json)
//                                             /heatmap.bin   ("MCVH", see heatmap.h)
//                                             /tissue.png    (the mask: 255 tissue, 0 background)
// A result folder is written beside its place and renamed into it, as the store does.

import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { deflateSync } from 'node:zlib';

const NO_VALUE = 0xffff;
const SCALE = 65534;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(buffer) {
  let c = 0xffffffff;
  for (const byte of buffer) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** An 8-bit greyscale PNG of width x height bytes (rows top to bottom). */
export function encodeGreyPng(width, height, pixels) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;  // bit depth
  header[9] = 0;  // greyscale
  const raw = Buffer.alloc(height * (width + 1));
  for (let y = 0; y < height; y += 1) {
    raw[y * (width + 1)] = 0;  // filter: none
    pixels.copy(raw, y * (width + 1) + 1, y * width, (y + 1) * width);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * heatmap.bin: "MCVH", version (u16 = 1), classes (u16), cols (u32), rows (u32), then the
 * values (u16, little-endian, row-major, class fastest): round(p * 65534), 65535 = not scored.
 * @param {(col: number, row: number) => number[]|null} probabilities per tile, null: not scored
 */
export function encodeHeatmap(cols, rows, classes, probabilities) {
  const out = Buffer.alloc(16 + cols * rows * classes * 2);
  out.write('MCVH', 0, 'latin1');
  out.writeUInt16LE(1, 4);
  out.writeUInt16LE(classes, 6);
  out.writeUInt32LE(cols, 8);
  out.writeUInt32LE(rows, 12);
  let offset = 16;
  for (let row = 0; row < rows; row += 1) {
    for (let col = 0; col < cols; col += 1) {
      const p = probabilities(col, row);
      for (let k = 0; k < classes; k += 1) {
        out.writeUInt16LE(p ? Math.round(Math.min(1, Math.max(0, p[k])) * SCALE) : NO_VALUE, offset);
        offset += 2;
      }
    }
  }
  return out;
}

/**
 * Stores one model's result on one slide.
 * @param {string} data the --data folder
 * @param {object} options
 * @param {object} options.slide the slide as /api/v1/slides describes it
 * @param {{sha256: string, name: string, version: string, mpp: number, inputPx: number, classes: number}} options.model
 * @param {(col: number, row: number) => number[]|null} [options.probabilities] ok results
 * @param {(x: number, y: number) => boolean} [options.tissue] ok results: mask pixel -> tissue?
 * @param {number} [options.maskDownsample] level-0 pixels per mask pixel
 * @param {{code: string, reason: string}} [options.failure] a failed result instead
 * @returns {Promise<object>} the result.json written, with its geometry
 */
export async function writeInferenceResult(data, {
  slide, model, probabilities, tissue, maskDownsample = 32, failure = null,
}) {
  const modelDir = path.join(data, 'inference', model.sha256);
  const staging = path.join(modelDir, `.staging-e2e-${process.pid}-${slide.id}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const record = {
    status: failure ? 'failed' : 'ok',
    slide_id: slide.id,
    centre: slide.centre,
    relative_path: slide.relative_path,
    slide_sha256: slide.sha256 || '',
    model_sha256: model.sha256,
    model_name: model.name,
    model_version: model.version,
    finished_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    mcval_version: 'e2e-fixture',
    timings_s: { total: 0, tissue: 0, read: 0, resize: 0, model: 0 },
  };
  if (failure) {
    record.error_code = failure.code;
    record.reason = failure.reason;
  } else {
    const tileLevel0 = (model.inputPx * model.mpp) / slide.mpp_x;
    const cols = Math.floor(slide.width / tileLevel0);
    const rows = Math.floor(slide.height / tileLevel0);
    const sums = new Array(model.classes).fill(0);
    let scored = 0;
    for (let row = 0; row < rows; row += 1) {
      for (let col = 0; col < cols; col += 1) {
        const p = probabilities(col, row);
        if (!p) continue;
        scored += 1;
        p.forEach((value, k) => { sums[k] += value; });
      }
    }
    const classScores = sums.map((sum) => (scored > 0 ? sum / scored : 0));  // the mean aggregation
    const maskWidth = Math.ceil(slide.width / maskDownsample);
    const maskHeight = Math.ceil(slide.height / maskDownsample);
    const mask = Buffer.alloc(maskWidth * maskHeight);
    let tissuePixels = 0;
    for (let y = 0; y < maskHeight; y += 1) {
      for (let x = 0; x < maskWidth; x += 1) {
        if (tissue(x, y)) {
          mask[y * maskWidth + x] = 255;
          tissuePixels += 1;
        }
      }
    }
    Object.assign(record, {
      score: classScores[model.classes - 1],
      class_scores: classScores,
      tiles_scored: scored,
      grid_tiles: cols * rows,
      tissue_fraction: tissuePixels / (maskWidth * maskHeight),
      geometry: {
        cols,
        rows,
        tile_level0: tileLevel0,
        slide_width: slide.width,
        slide_height: slide.height,
        slide_mpp: slide.mpp_x,
        model_mpp: model.mpp,
        input_px: model.inputPx,
      },
      mask_downsample: maskDownsample,
    });
    await writeFile(path.join(staging, 'heatmap.bin'), encodeHeatmap(cols, rows, model.classes, probabilities));
    await writeFile(path.join(staging, 'tissue.png'), encodeGreyPng(maskWidth, maskHeight, mask));
  }
  await writeFile(path.join(staging, 'result.json'), `${JSON.stringify(record, null, 2)}\n`);
  const final = path.join(modelDir, slide.id);
  await rm(final, { recursive: true, force: true });
  await rename(staging, final);
  return record;
}
