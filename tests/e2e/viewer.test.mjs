// End-to-end test of the web viewer: starts the real `mcval serve` on port 0 over a temp slide
// folder with two centres, drives Debian's Chromium through playwright-core, opens a slide as
// the background, adds another centre's slide as a layer, and checks that tiles were painted,
// that the URL carries the view and restores it, and that the layer controls drive OpenSeadragon.
// The slide also has stored inference results (a checkerboard heatmap, a tissue mask and a
// failed run): their layers must be painted exactly over the grid tiles they score, as crisp
// squares, redrawn by the colormap, threshold and opacity controls, and restored from the URL.
//
// Environment:
//   MCVAL_BIN              the mcval binary (required)
//   MCVAL_TEST_CMU_SLIDE   CMU-1-Small-Region.svs (required)
//   MCVAL_TEST_ARTIFACTS   where viewer.png and friends are written (default <repo>/build/test-artifacts)
//   MCVAL_CHROMIUM         the browser (default /usr/bin/chromium)
//
// Run: MCVAL_BIN=build/bin/mcval MCVAL_TEST_CMU_SLIDE=../shared/data/slides/CMU-1-Small-Region.svs \
//        node --test tests/e2e/viewer.test.mjs

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';

import { writeInferenceResult } from './inference-fixture.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const require = createRequire(path.join(repo, 'web', 'package.json'));
const { chromium } = require('playwright-core');

const MCVAL_BIN = process.env.MCVAL_BIN;
const CMU_SLIDE = process.env.MCVAL_TEST_CMU_SLIDE;
const ARTIFACTS = process.env.MCVAL_TEST_ARTIFACTS || path.join(repo, 'build', 'test-artifacts');
const CHROMIUM = process.env.MCVAL_CHROMIUM || '/usr/bin/chromium';
const STARTUP_TIMEOUT_MS = 30_000;
const TILES_TIMEOUT_MS = 60_000;

// ---- PNG decoding (8-bit RGB/RGBA, non-interlaced: what Chromium writes), no extra packages ----

function decodePng(buffer) {
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.ok(buffer.subarray(0, 8).equals(signature), 'screenshot is not a PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat = [];
  while (offset < buffer.length) {
    const length = buffer.readUInt32BE(offset);
    const type = buffer.toString('latin1', offset + 4, offset + 8);
    const data = buffer.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const bitDepth = data[8];
      const colorType = data[9];
      const interlace = data[12];
      assert.equal(bitDepth, 8, 'PNG bit depth');
      assert.equal(interlace, 0, 'PNG interlace');
      channels = { 2: 3, 6: 4 }[colorType];
      assert.ok(channels, `PNG color type ${colorType}`);
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    }
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y += 1) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : null;
    for (let x = 0; x < stride; x += 1) {
      const a = x >= channels ? out[x - channels] : 0;
      const b = prev ? prev[x] : 0;
      const c = prev && x >= channels ? prev[x - channels] : 0;
      let value = line[x];
      if (filter === 1) value += a;
      else if (filter === 2) value += b;
      else if (filter === 3) value += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        value += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else assert.equal(filter, 0, `PNG filter ${filter}`);
      out[x] = value & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

/** Luminance statistics of a rectangle of a decoded PNG, skipping the `excluded` rectangles. */
function luminanceStats(png, rect, excluded = []) {
  const x0 = Math.max(0, Math.floor(rect.x));
  const y0 = Math.max(0, Math.floor(rect.y));
  const x1 = Math.min(png.width, Math.ceil(rect.x + rect.width));
  const y1 = Math.min(png.height, Math.ceil(rect.y + rect.height));
  let n = 0;
  let sum = 0;
  let sumSquares = 0;
  let nearWhite = 0;
  for (let y = y0; y < y1; y += 1) {
    for (let x = x0; x < x1; x += 1) {
      if (excluded.some((r) => x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height)) continue;
      const i = (y * png.width + x) * png.channels;
      const luminance = 0.2126 * png.pixels[i] + 0.7152 * png.pixels[i + 1] + 0.0722 * png.pixels[i + 2];
      n += 1;
      sum += luminance;
      sumSquares += luminance * luminance;
      if (luminance > 235) nearWhite += 1;
    }
  }
  assert.ok(n > 0, 'empty region');
  const mean = sum / n;
  return { pixels: n, mean, stddev: Math.sqrt(Math.max(0, sumSquares / n - mean * mean)), nearWhite: nearWhite / n };
}

// ---- the server ----

const ctx = { workspace: null, server: null, serverLog: [], baseUrl: null, browser: null, inference: null };

async function startServer() {
  ctx.workspace = await mkdtemp(path.join(tmpdir(), 'mcval-e2e-'));
  const slides = path.join(ctx.workspace, 'slides');
  await mkdir(path.join(slides, 'centre-a'), { recursive: true });
  await mkdir(path.join(slides, 'centre-b'), { recursive: true });
  await copyFile(CMU_SLIDE, path.join(slides, 'centre-a', 'cmu.svs'));
  await copyFile(CMU_SLIDE, path.join(slides, 'centre-b', 'cmu-copy.svs'));
  await storeValidationRun(path.join(ctx.workspace, 'data'));

  const server = spawn(MCVAL_BIN, ['serve', '--slides', slides, '--data', path.join(ctx.workspace, 'data'),
                                   '--listen', '127.0.0.1:0', '--log-format', 'json'],
                       { stdio: ['ignore', 'pipe', 'pipe'] });
  ctx.server = server;
  const remember = (line) => {
    ctx.serverLog.push(line);
    if (ctx.serverLog.length > 2000) ctx.serverLog.shift();
  };
  createInterface({ input: server.stderr }).on('line', remember);

  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server logged no "listening" line in time')),
                             STARTUP_TIMEOUT_MS);
    server.once('error', (err) => { clearTimeout(timer); reject(err); });
    server.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited early (code ${code}, signal ${signal}):\n${ctx.serverLog.join('\n')}`));
    });
    createInterface({ input: server.stdout }).on('line', (line) => {
      remember(line);
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        return;
      }
      if (event && event.msg === 'listening' && typeof event.address === 'string') {
        clearTimeout(timer);
        resolve(event.address);
      }
    });
  });
  server.removeAllListeners('exit');
  ctx.baseUrl = `http://${address}`;

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    try {
      const response = await fetch(`${ctx.baseUrl}/readyz`);
      if (response.status === 200) break;
    } catch {
      // not accepting connections yet
    }
    if (Date.now() > deadline) throw new Error(`${ctx.baseUrl}/readyz did not answer 200 within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await storeInferenceResults(path.join(ctx.workspace, 'data'));
  runInference(slides, path.join(ctx.workspace, 'data'));
}

/** Registers the tiny test model and runs it over centre-b, as a user would. */
function runInference(slides, data) {
  const run = (args) => {
    const result = spawnSync(MCVAL_BIN, [...args, '--data', data], { encoding: 'utf8' });
    assert.equal(result.status, 0, `mcval ${args.join(' ')} failed: ${result.stderr}`);
    return result.stdout;
  };
  run(['model', 'add', path.join(repo, 'tests', 'data', 'models', 'tiny-cnn')]);
  const summary = JSON.parse(run(['infer', '--model', 'tiny-cnn', '--centre', 'centre-b', '--slides', slides, '--json']));
  assert.equal(summary.succeeded, 1, `mcval infer: ${JSON.stringify(summary)}`);
}

// Two models' results on centre-a's slide, written as `mcval infer` stores them (the server reads
// them at each request): a checkerboard heatmap (P = 0.9 and 0.1 alternating, the first row not
// scored) with a mask whose left half is tissue, a failed run, and a 3-class model.
const CHECKER_MODEL = {
  sha256: 'e2e0c4ec0000000000000000000000000000000000000000000000000000c4ec',
  name: 'e2e-checker', version: '1.0', mpp: 2.0, inputPx: 32, classes: 2,
};
const FAILING_MODEL = {
  sha256: 'e2e0fa11000000000000000000000000000000000000000000000000000fa11e',
  name: 'e2e-failing', version: '0.1', mpp: 2.0, inputPx: 32, classes: 2,
};
const THREE_CLASS_MODEL = {
  sha256: 'e2e03c1a000000000000000000000000000000000000000000000000000003c1',
  name: 'e2e-three', version: '2.0', mpp: 4.0, inputPx: 32, classes: 3,
};
const HIGH = 0.9;
const LOW = 0.1;

async function storeInferenceResults(data) {
  const response = await fetch(`${ctx.baseUrl}/api/v1/slides?centre=centre-a`);
  const { slides } = await response.json();
  const slide = slides.find((candidate) => candidate.name === 'cmu.svs');
  assert.ok(slide, 'centre-a/cmu.svs is catalogued');
  const maskDownsample = 32;
  const record = await writeInferenceResult(data, {
    slide,
    model: CHECKER_MODEL,
    probabilities: (col, row) => {
      if (row === 0) return null;
      const p = (col + row) % 2 === 0 ? HIGH : LOW;
      return [(1 - p) / 2, p];
    },
    tissue: (x) => (x + 0.5) * maskDownsample < slide.width / 2,
    maskDownsample,
  });
  await writeInferenceResult(data, {
    slide, model: FAILING_MODEL, failure: { code: 'no_tissue', reason: 'No tissue was found on the slide.' },
  });
  await writeInferenceResult(data, {
    slide, model: THREE_CLASS_MODEL, probabilities: () => [0.2, 0.3, 0.5], tissue: () => true,
  });
  ctx.inference = { slide, record };
}

/**
 * Runs `mcval validate` on seeded three-centre data so the server has a stored report to list.
 * Scores are drawn with a small LCG: positives higher on average, each centre a little noisier.
 */
async function storeValidationRun(data) {
  let state = 12345;
  const random = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const dataset = ['slide_id,centre,patient_id,label,isup_grade,scanner'];
  const predictions = ['slide_id,score,isup_pred'];
  ['centre-a', 'centre-b', 'centre-c'].forEach((centre, c) => {
    for (let i = 0; i < 60; i += 1) {
      const label = random() < 0.4 ? 1 : 0;
      const grade = label ? 1 + Math.floor(random() * 5) : 0;
      const id = `${centre}-${i}`;
      dataset.push(`${id},${centre},${centre}-p${i >> 1},${label},${grade},${i % 3 ? 'scanner-x' : 'scanner-y'}`);
      const score = Math.min(1, Math.max(0, (label ? 0.65 : 0.35) + (random() - 0.5) * (0.6 + 0.3 * c)));
      predictions.push(`${id},${score.toFixed(4)},${label ? Math.max(0, grade - (random() < 0.3 ? 1 : 0)) : 0}`);
    }
  });
  const folder = path.join(ctx.workspace, 'validation');
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, 'dataset.csv'), `${dataset.join('\n')}\n`);
  await writeFile(path.join(folder, 'predictions.csv'), `${predictions.join('\n')}\n`);
  const run = spawnSync(MCVAL_BIN, ['validate', '--dataset', path.join(folder, 'dataset.csv'), '--predictions',
                                    path.join(folder, 'predictions.csv'), '--threshold', '0.5', '--bootstrap', '200',
                                    '--out', path.join(folder, 'out'), '--data', data], { encoding: 'utf8' });
  assert.equal(run.status, 0, `mcval validate failed: ${run.stderr}`);
}

async function stopServer() {
  const server = ctx.server;
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  const exited = once(server, 'exit');
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

// Kill the server even when the test runner is interrupted.
process.on('exit', () => {
  if (ctx.server && ctx.server.exitCode === null && ctx.server.signalCode === null) ctx.server.kill('SIGKILL');
});

before(async () => {
  assert.ok(MCVAL_BIN, 'MCVAL_BIN must name the mcval binary');
  assert.ok(CMU_SLIDE, 'MCVAL_TEST_CMU_SLIDE must name CMU-1-Small-Region.svs');
  await mkdir(ARTIFACTS, { recursive: true });
  await startServer();
  ctx.browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  try {
    if (ctx.browser) await ctx.browser.close();
  } finally {
    await stopServer();
    if (ctx.serverLog.length > 0) {
      await writeFile(path.join(ARTIFACTS, 'viewer-server.log'), `${ctx.serverLog.join('\n')}\n`);
    }
    if (ctx.workspace) await rm(ctx.workspace, { recursive: true, force: true });
  }
});

// ---- helpers in the page ----

/** Waits until the viewer holds `count` items whose visible tiles are all drawn. */
async function waitForTiles(page, count) {
  await page.waitForFunction((n) => {
    const hook = window.mcvalViewer;
    return hook && hook.state().items.length === n && hook.tilesLoaded();
  }, count, { timeout: TILES_TIMEOUT_MS, polling: 100 });
  // Let OpenSeadragon paint the last tiles (it draws on animation frames).
  await page.evaluate(() => new Promise((resolve) => {
    requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(resolve, 50)));
  }));
}

/** The background slide's rectangle in viewer-element CSS pixels, clipped to the viewer and inset. */
function backgroundRect(page) {
  return page.evaluate(() => {
    const osd = window.mcvalViewer.osd;
    const bounds = osd.world.getItemAt(0).getBounds(true);
    const rect = osd.viewport.viewportToViewerElementRectangle(bounds);
    const size = osd.viewport.getContainerSize();
    // 2 px inside the edges, so that no pixel of the stage around the slide is counted.
    const x = Math.max(0, rect.x) + 2;
    const y = Math.max(0, rect.y) + 2;
    const right = Math.min(size.x, rect.x + rect.width) - 2;
    const bottom = Math.min(size.y, rect.y + rect.height) - 2;
    return { x, y, width: right - x, height: bottom - y };
  });
}

/** Rectangles (viewer-element CSS pixels) of what is drawn over the slide: cards, HUD, navigator, buttons. */
function overlayRects(page) {
  return page.evaluate(() => {
    const origin = document.getElementById('viewer').getBoundingClientRect();
    const selectors = ['#layers-card', '#hud', '#toasts', '#viewer .navigator', '#viewer div[title]'];
    return [...document.querySelectorAll(selectors.join(','))]
      .map((node) => node.getBoundingClientRect())
      .filter((r) => r.width > 0 && r.height > 0)
      .map((r) => ({ x: r.x - origin.x - 2, y: r.y - origin.y - 2, width: r.width + 4, height: r.height + 4 }));
  });
}

/** Share of the background's rectangle that OpenSeadragon's canvas has painted (alpha > 0). */
function paintedFraction(page, rect) {
  return page.evaluate((r) => {
    const canvas = window.mcvalViewer.osd.drawer.canvas;
    const scale = canvas.width / canvas.clientWidth;
    const context = canvas.getContext('2d');
    const x = Math.floor(r.x * scale);
    const y = Math.floor(r.y * scale);
    const w = Math.max(1, Math.floor(r.width * scale));
    const h = Math.max(1, Math.floor(r.height * scale));
    const data = context.getImageData(x, y, w, h).data;
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted += 1;
    return painted / (w * h);
  }, rect);
}

/** Waits until the available overlay of this kind has the expected fields (url: a substring) and is drawn. */
async function waitForOverlay(page, kind, expected) {
  await page.waitForFunction(({ kind: wantedKind, fields }) => {
    const hook = window.mcvalViewer;
    const overlay = hook.state().overlays.find((o) => o.kind === wantedKind && o.available);
    if (!overlay || !hook.tilesLoaded()) return false;
    if (overlay.visible && (!overlay.url || !overlay.fullyLoaded)) return false;
    return Object.entries(fields).every(([key, value]) => (key === 'url'
      ? typeof overlay.url === 'string' && overlay.url.includes(value) : overlay[key] === value));
  }, { kind, fields: expected }, { timeout: TILES_TIMEOUT_MS, polling: 100 });
  await page.evaluate(() => new Promise((resolve) => {
    requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(resolve, 50)));
  }));
}

function overlayOf(page, kind) {
  return page.evaluate((k) => window.mcvalViewer.state().overlays.find((o) => o.kind === k && o.available), kind);
}

/** Each grid tile's rectangle in viewer-element CSS pixels, from the background's level-0 frame. */
function tileRects(page, geometry) {
  return page.evaluate((g) => {
    const item = window.mcvalViewer.osd.world.getItemAt(0);
    const toScreen = (x, y) => item.imageToViewerElementCoordinates(new window.OpenSeadragon.Point(x, y));
    const rects = [];
    for (let row = 0; row < g.rows; row += 1) {
      for (let col = 0; col < g.cols; col += 1) {
        const a = toScreen(col * g.tile_level0, row * g.tile_level0);
        const b = toScreen((col + 1) * g.tile_level0, (row + 1) * g.tile_level0);
        rects.push({ col, row, x: a.x, y: a.y, width: b.x - a.x, height: b.y - a.y });
      }
    }
    return rects;
  }, geometry);
}

/** Screen points of level-0 positions (viewer-element CSS pixels). */
function screenPoints(page, points) {
  return page.evaluate((list) => {
    const item = window.mcvalViewer.osd.world.getItemAt(0);
    return list.map((p) => item.imageToViewerElementCoordinates(new window.OpenSeadragon.Point(p.x, p.y)));
  }, points);
}

function rgbAt(png, x, y) {
  const i = (Math.floor(y) * png.width + Math.floor(x)) * png.channels;
  return [png.pixels[i], png.pixels[i + 1], png.pixels[i + 2]];
}

function inside(point, rects) {
  return rects.some((r) => point.x >= r.x && point.x < r.x + r.width && point.y >= r.y && point.y < r.y + r.height);
}

async function fetchPng(url) {
  const response = await fetch(`${ctx.baseUrl}${url}`);
  assert.equal(response.status, 200, `${url}: ${response.status}`);
  assert.equal(response.headers.get('content-type'), 'image/png');
  return decodePng(Buffer.from(await response.arrayBuffer()));
}

/**
 * Compares the screenshot, tile by tile, with the heatmap image the layer shows (one pixel per
 * tile): at the centre of every tile and 4 px inside each corner (a smoothed image would mix
 * neighbouring tiles there), the colour must be the tile's colour at `opacity` over the
 * reference screenshot, or the reference where the tile is transparent.
 */
function compareTiles({ shot, reference, heatmap, rects, excluded, opacity, tolerance }) {
  const counts = { checked: 0, painted: 0, transparent: 0 };
  const mismatches = [];
  for (const rect of rects) {
    const inset = 4;
    const points = [
      { x: rect.x + rect.width / 2, y: rect.y + rect.height / 2 },
      { x: rect.x + inset, y: rect.y + inset },
      { x: rect.x + rect.width - inset, y: rect.y + inset },
      { x: rect.x + inset, y: rect.y + rect.height - inset },
      { x: rect.x + rect.width - inset, y: rect.y + rect.height - inset },
    ];
    if (points.some((p) => p.x < 0 || p.y < 0 || p.x >= shot.width || p.y >= shot.height || inside(p, excluded))) {
      continue;
    }
    const i = (rect.row * heatmap.width + rect.col) * heatmap.channels;
    const colour = [heatmap.pixels[i], heatmap.pixels[i + 1], heatmap.pixels[i + 2]];
    const alpha = heatmap.channels === 4 ? heatmap.pixels[i + 3] / 255 : 1;
    counts.checked += 1;
    counts[alpha > 0 ? 'painted' : 'transparent'] += 1;
    for (const p of points) {
      const under = rgbAt(reference, p.x, p.y);
      const a = alpha * opacity;
      const expected = under.map((u, c) => a * colour[c] + (1 - a) * u);
      const actual = rgbAt(shot, p.x, p.y);
      if (actual.some((v, c) => Math.abs(v - expected[c]) > tolerance)) {
        mismatches.push({ tile: [rect.col, rect.row], at: [Math.round(p.x), Math.round(p.y)], actual,
                          expected: expected.map(Math.round) });
      }
    }
  }
  return { counts, mismatches };
}

function layersOf(hash) {
  const match = /[#&]layers=([^&]*)/.exec(hash);
  return match ? match[1].split(',') : [];
}

// ---- the test ----

test('viewer: background + layer are painted, the URL restores the view, layer controls drive OSD',
     { timeout: 150_000 }, async () => {
  const context = await ctx.browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) {
      problems.push(`console ${message.type()}: ${message.text()}`);
    }
  });

  try {
    await page.goto(`${ctx.baseUrl}/`);
    await page.locator('.centre[data-centre="centre-a"]').click();
    const cmu = page.locator('tr.slide', { hasText: 'cmu.svs' });
    await cmu.getByRole('button', { name: 'Open', exact: true }).click();
    await waitForTiles(page, 1);

    await page.locator('.centre[data-centre="centre-b"]').click();
    const copy = page.locator('tr.slide', { hasText: 'cmu-copy.svs' });
    await copy.getByRole('button', { name: 'Add as layer', exact: true }).click();
    await waitForTiles(page, 2);

    // Tiles are painted: OSD's canvas covers the background, and the screenshot shows tissue.
    const viewerElement = page.locator('#viewer');
    const rect = await backgroundRect(page);
    assert.ok(rect.width > 100 && rect.height > 100, `background on screen: ${JSON.stringify(rect)}`);
    const painted = await paintedFraction(page, rect);
    assert.ok(painted > 0.97, `OSD painted ${(painted * 100).toFixed(1)}% of the background's rectangle`);

    const png = await viewerElement.screenshot();
    await writeFile(path.join(ARTIFACTS, 'viewer.png'), png);
    await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-page.png') });
    const stats = luminanceStats(decodePng(png), rect, await overlayRects(page));
    assert.ok(stats.pixels > 0.5 * rect.width * rect.height, `only ${stats.pixels} slide pixels not under overlays`);
    assert.ok(stats.stddev > 10, `luminance stddev ${stats.stddev.toFixed(1)} (blank view?)`);
    assert.ok(stats.nearWhite < 0.9, `${(stats.nearWhite * 100).toFixed(1)}% near-white pixels (blank view?)`);

    // The scale bar is calibrated from mpp (the CMU slide has 0.499 µm/px).
    const scaleLabel = await page.locator('#scalebar-label').textContent();
    assert.match(scaleLabel, /^\d+ (nm|µm|mm)$/, `scale bar label "${scaleLabel}"`);

    // The URL carries the view.
    await page.waitForFunction(() => /[#&]layers=/.test(window.location.hash), null, { timeout: 5000 });
    let state = await page.evaluate(() => window.mcvalViewer.state());
    assert.match(state.hash, /[#&]bg=/);
    assert.equal(layersOf(state.hash).length, 1);
    assert.equal(state.items.length, 2);
    assert.equal(state.worldItemCount, 2);

    // The opacity slider and the visibility checkbox drive the OSD item.
    const slider = page.getByRole('slider', { name: 'Opacity of cmu-copy.svs' });
    await slider.fill('40');
    const opacity = await page.evaluate(() => window.mcvalViewer.osd.world.getItemAt(1).getOpacity());
    assert.ok(Math.abs(opacity - 0.4) < 1e-9, `layer opacity ${opacity}`);
    const checkbox = page.getByRole('checkbox', { name: 'Show cmu-copy.svs' });
    await checkbox.uncheck();
    assert.equal(await page.evaluate(() => window.mcvalViewer.osd.world.getItemAt(1).getOpacity()), 0);
    await checkbox.check();
    assert.ok(Math.abs(await page.evaluate(() => window.mcvalViewer.osd.world.getItemAt(1).getOpacity()) - 0.4) < 1e-9);
    await page.waitForFunction(() => /[#&]layers=[^&]*:0\.4:1/.test(window.location.hash), null, { timeout: 5000 });

    // Zoom in a little so that the viewport in the URL is not the home view, then reload the URL.
    await page.evaluate(() => {
      const viewport = window.mcvalViewer.osd.viewport;
      viewport.zoomBy(2.5, viewport.getCenter(), true);
      viewport.panBy(new window.OpenSeadragon.Point(0.05, 0.1), true);
    });
    await page.waitForFunction(() => {
      const z = /[#&]z=([^&]*)/.exec(window.location.hash);
      const zoom = window.mcvalViewer.osd.viewport.getZoom();
      return z && Math.abs(Number(z[1]) - zoom) / zoom < 1e-3;
    }, null, { timeout: 5000 });
    state = await page.evaluate(() => window.mcvalViewer.state());
    const sharedUrl = page.url();

    const restoredPage = await context.newPage();
    restoredPage.on('pageerror', (err) => problems.push(`page error (restored): ${err.message}`));
    await restoredPage.goto(sharedUrl);
    await waitForTiles(restoredPage, 2);
    const restored = await restoredPage.evaluate(() => window.mcvalViewer.state());
    assert.equal(restored.items.length, 2, 'the shared URL restores the background and the layer');
    assert.deepEqual(restored.items.map((item) => item.id), state.items.map((item) => item.id));
    assert.ok(Math.abs(restored.items[1].opacity - 0.4) < 1e-9, `restored layer opacity ${restored.items[1].opacity}`);
    assert.ok(Math.abs(restored.viewport.zoom - state.viewport.zoom) / state.viewport.zoom < 0.01,
              `restored zoom ${restored.viewport.zoom} vs ${state.viewport.zoom}`);
    assert.ok(Math.abs(restored.viewport.x - state.viewport.x) < 0.01
              && Math.abs(restored.viewport.y - state.viewport.y) < 0.01,
              `restored centre ${JSON.stringify(restored.viewport)} vs ${JSON.stringify(state.viewport)}`);
    await restoredPage.locator('#viewer').screenshot({ path: path.join(ARTIFACTS, 'viewer-restored.png') });
    await restoredPage.close();

    // API errors reach the user: a URL naming an unknown slide shows the server's error code.
    const errorPage = await context.newPage();
    await errorPage.goto(`${ctx.baseUrl}/#bg=0000000000000000000000000000dead`);
    const toast = errorPage.locator('.toast-error');
    await toast.first().waitFor({ timeout: 10_000 });
    assert.match(await toast.first().textContent(), /slide_not_found/);
    await errorPage.close();

    assert.deepEqual(problems, [], 'no page errors, console errors or CSP violations');
  } catch (err) {
    await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-failure.png') }).catch(() => {});
    throw err;
  } finally {
    await context.close();
  }
});

test('report: the stored validation report is listed in the viewer and its figures are rendered', async () => {
  const context = await ctx.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  try {
    await page.goto(`${ctx.baseUrl}/`);
    const link = page.locator('#report-list .report-link');
    await link.first().waitFor({ timeout: 10_000 });
    assert.equal(await link.count(), 1, 'one stored validation run is listed');
    assert.match(await page.locator('#report-list .report-meta').first().textContent(), /180 slides · 3 centres/);
    const href = await link.first().getAttribute('href');
    assert.match(href, /^\/reports\/[0-9a-f]{16}\/report\.html$/);

    await page.goto(`${ctx.baseUrl}${href}`);
    for (const id of ['roc-plot', 'forest-plot', 'calibration-plot', 'decision-curve-plot',
      'subgroup-forest-scanner']) {
      const figure = page.locator(`svg#${id}`);
      await figure.waitFor({ timeout: 10_000 });
      const box = await figure.boundingBox();
      assert.ok(box && box.width > 200 && box.height > 150, `${id} is laid out (${JSON.stringify(box)})`);
      // Every figure plots data: marks carrying data-points, and drawn shapes with a real extent.
      const plotted = await figure.evaluate((svg) => {
        const counts = [svg, ...svg.querySelectorAll('[data-points]')]
          .filter((e) => e.hasAttribute('data-points'))
          .map((e) => Number(e.getAttribute('data-points')));
        const shapes = [...svg.querySelectorAll('path, polyline, circle, rect, line')]
          .map((e) => e.getBBox())
          .filter((b) => b.width > 0 || b.height > 0).length;
        return { points: counts.reduce((a, b) => a + b, 0), shapes };
      });
      assert.ok(plotted.points > 0, `${id} plots data points`);
      assert.ok(plotted.shapes > 5, `${id} draws shapes`);
      const png = await figure.screenshot();
      await writeFile(path.join(ARTIFACTS, `report-${id}.png`), png);
      const shot = decodePng(png);
      const stats = luminanceStats(shot, { x: 0, y: 0, width: shot.width, height: shot.height });
      assert.ok(stats.stddev > 10 && stats.nearWhite < 0.98, `${id} is not blank: ${JSON.stringify(stats)}`);
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'report.png'), fullPage: true });
    assert.deepEqual(problems, [], 'no page errors or CSP violations in the report');
  } catch (err) {
    await page.screenshot({ path: path.join(ARTIFACTS, 'report-failure.png'), fullPage: true }).catch(() => {});
    throw err;
  } finally {
    await context.close();
  }
});

test('heatmap: inference layers are painted aligned and crisp, the controls redraw them, the URL restores them',
     { timeout: 150_000 }, async () => {
  const context = await ctx.browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems = [];
  const watch = (p, name) => {
    p.on('pageerror', (err) => problems.push(`page error (${name}): ${err.message}`));
    p.on('console', (message) => {
      if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) {
        problems.push(`console ${message.type()} (${name}): ${message.text()}`);
      }
    });
  };
  watch(page, 'main');
  const { record } = ctx.inference;
  const geometry = record.geometry;
  const heatmapLabel = `Heatmap: ${CHECKER_MODEL.name} ${CHECKER_MODEL.version}`;
  const tissueLabel = `Tissue mask: ${CHECKER_MODEL.name} ${CHECKER_MODEL.version}`;
  const viewerElement = page.locator('#viewer');
  const screenshot = async (p = page) => decodePng(await p.locator('#viewer').screenshot());

  try {
    await page.goto(`${ctx.baseUrl}/`);
    await page.locator('.centre[data-centre="centre-a"]').click();
    const slideRow = page.locator('tr.slide', { hasText: 'cmu.svs' });
    assert.equal(await slideRow.locator('.badge-ai').textContent(), 'AI 3', 'the file browser counts the results');
    await slideRow.getByRole('button', { name: 'Open', exact: true }).click();
    await waitForTiles(page, 1);

    // The results are listed as layers: heatmap (with the slide score and a 0..1 legend),
    // tissue mask, and the failed run with its reason; all hidden at first.
    const showHeatmap = page.getByRole('checkbox', { name: `Show ${heatmapLabel}` });
    await showHeatmap.waitFor({ timeout: 10_000 });
    assert.equal(await showHeatmap.isChecked(), false);
    const heatmapRow = page.locator('.layer-heatmap', { hasText: heatmapLabel });
    assert.match(await heatmapRow.locator('.layer-score').textContent(), new RegExp(`Slide score ${record.score.toFixed(3)}`));
    assert.deepEqual(await heatmapRow.locator('.heatmap-legend-ticks span').allTextContents(),
                     ['0', '0.25', '0.5', '0.75', '1']);
    assert.equal(await page.getByRole('combobox', { name: `Class of ${heatmapLabel}` }).count(), 0,
                 'no class select for 2 classes');
    const failedRow = page.locator('.layer-inference', { hasText: 'e2e-failing' });
    assert.match(await failedRow.textContent(), /Inference failed \(no_tissue\): No tissue was found/);
    assert.equal(await failedRow.getByRole('checkbox').isDisabled(), true);
    // More than 2 classes: a class select, set to the positive class (the score's).
    const threeLabel = `Heatmap: ${THREE_CLASS_MODEL.name} ${THREE_CLASS_MODEL.version}`;
    const classSelect = page.getByRole('combobox', { name: `Class of ${threeLabel}` });
    assert.deepEqual(await classSelect.locator('option').allTextContents(), ['class 0', 'class 1', 'class 2']);
    assert.equal(await classSelect.inputValue(), '2');
    await classSelect.selectOption('0');
    const threeState = () => page.evaluate((sha) => window.mcvalViewer.state().overlays
      .find((o) => o.kind === 'heatmap' && o.model === sha), THREE_CLASS_MODEL.sha256);
    assert.equal((await threeState()).classIndex, 0);

    const referenceExcluded = await overlayRects(page);
    const reference = await screenshot();

    // Shown at full opacity: every tile has its heatmap colour, to its corners.
    await page.getByRole('slider', { name: `Opacity of ${heatmapLabel}` }).fill('100');
    await showHeatmap.check();
    await waitForOverlay(page, 'heatmap', { visible: true, opacity: 1, url: 'colormap=viridis' });
    let overlay = await overlayOf(page, 'heatmap');
    assert.equal(overlay.itemOpacity, 1);
    const bounds = await page.evaluate((key) => {
      const hook = window.mcvalViewer;
      const item = hook.osd.world.getItemAt(hook.state().overlays.find((o) => o.key === key).worldIndex);
      const b = item.getBounds();
      return { x: b.x, y: b.y, width: b.width, height: b.height };
    }, overlay.key);
    assert.equal(bounds.x, 0);
    assert.equal(bounds.y, 0);
    assert.ok(Math.abs(bounds.width - (geometry.cols * geometry.tile_level0) / geometry.slide_width) < 1e-9,
              `heatmap width ${bounds.width} in viewport coordinates`);
    assert.ok(Math.abs(bounds.height - (geometry.rows * geometry.tile_level0) / geometry.slide_width) < 1e-9,
              `heatmap height ${bounds.height} in viewport coordinates`);

    const rects = await tileRects(page, geometry);
    assert.ok(rects[0].width > 20, `tiles are ${rects[0].width.toFixed(1)} px wide on screen`);
    let excluded = [...referenceExcluded, ...(await overlayRects(page))];
    let shot = await screenshot();
    await writeFile(path.join(ARTIFACTS, 'viewer-heatmap.png'), await viewerElement.screenshot());
    let heatmap = await fetchPng(overlay.url);
    assert.deepEqual([heatmap.width, heatmap.height], [geometry.cols, geometry.rows]);
    let result = compareTiles({ shot, reference, heatmap, rects, excluded, opacity: 1, tolerance: 3 });
    assert.ok(result.counts.painted >= 20 && result.counts.transparent >= 3,
              `tiles checked: ${JSON.stringify(result.counts)}`);
    assert.deepEqual(result.mismatches.slice(0, 5), [], `${result.mismatches.length} pixels off the heatmap`);
    // High and low tiles differ on screen as their probabilities do (viridis: 0.9 bright, 0.1 dark).
    const luminance = ([r, g, b]) => 0.2126 * r + 0.7152 * g + 0.0722 * b;
    const centre = (rect) => rgbAt(shot, rect.x + rect.width / 2, rect.y + rect.height / 2);
    const visible = rects.filter((r) => r.row > 0 && !inside({ x: r.x + r.width / 2, y: r.y + r.height / 2 }, excluded)
                                        && r.x >= 0 && r.y >= 0 && r.x + r.width < shot.width);
    const high = visible.filter((r) => (r.col + r.row) % 2 === 0).map((r) => luminance(centre(r)));
    const low = visible.filter((r) => (r.col + r.row) % 2 === 1).map((r) => luminance(centre(r)));
    assert.ok(high.length >= 10 && low.length >= 10, `${high.length} high and ${low.length} low tiles on screen`);
    assert.ok(Math.min(...high) > Math.max(...low) + 100, `high tiles ${Math.min(...high)}, low ${Math.max(...low)}; `
              + JSON.stringify(visible.map((r) => [r.col, r.row, Math.round(luminance(centre(r)))])));

    // Threshold 0.5: the low tiles are no longer drawn, the slide shows through.
    await page.getByRole('slider', { name: `Threshold of ${heatmapLabel}` }).fill('50');
    await waitForOverlay(page, 'heatmap', { threshold: 0.5, url: 'threshold=0.5' });
    overlay = await overlayOf(page, 'heatmap');
    heatmap = await fetchPng(overlay.url);
    excluded = [...referenceExcluded, ...(await overlayRects(page))];
    shot = await screenshot();
    result = compareTiles({ shot, reference, heatmap, rects, excluded, opacity: 1, tolerance: 3 });
    assert.ok(result.counts.transparent > result.counts.painted / 2, `after threshold: ${JSON.stringify(result.counts)}`);
    assert.deepEqual(result.mismatches.slice(0, 5), [], `threshold: ${result.mismatches.length} pixels off`);

    // Opacity 50%: the colour is blended half over the slide.
    await page.getByRole('slider', { name: `Opacity of ${heatmapLabel}` }).fill('50');
    await waitForOverlay(page, 'heatmap', { opacity: 0.5, itemOpacity: 0.5 });
    shot = await screenshot();
    result = compareTiles({ shot, reference, heatmap, rects, excluded, opacity: 0.5, tolerance: 4 });
    assert.deepEqual(result.mismatches.slice(0, 5), [], `opacity: ${result.mismatches.length} pixels off`);

    // Another colormap.
    await page.getByRole('combobox', { name: `Colormap of ${heatmapLabel}` }).selectOption('magma');
    await waitForOverlay(page, 'heatmap', { colormap: 'magma', url: 'colormap=magma' });
    overlay = await overlayOf(page, 'heatmap');
    heatmap = await fetchPng(overlay.url);
    shot = await screenshot();
    result = compareTiles({ shot, reference, heatmap, rects, excluded, opacity: 0.5, tolerance: 4 });
    assert.ok(result.counts.painted > 5);
    assert.deepEqual(result.mismatches.slice(0, 5), [], `magma: ${result.mismatches.length} pixels off`);

    // The tissue mask: translucent green over the left half (tissue), nothing over the right.
    await showHeatmap.uncheck();
    await page.getByRole('checkbox', { name: `Show ${tissueLabel}` }).check();
    await waitForOverlay(page, 'tissue', { visible: true });
    await waitForOverlay(page, 'heatmap', { visible: false, itemOpacity: 0 });
    const tissueOverlay = await overlayOf(page, 'tissue');
    const tissue = await fetchPng(tissueOverlay.url);
    excluded = [...referenceExcluded, ...(await overlayRects(page))];
    shot = await screenshot();
    await writeFile(path.join(ARTIFACTS, 'viewer-tissue.png'), await viewerElement.screenshot());
    const level0 = [];
    for (let i = 1; i < 10; i += 1) {
      for (const fx of [0.15, 0.3, 0.7, 0.85]) level0.push({ x: fx * record.geometry.slide_width, y: (i / 10) * record.geometry.slide_height });
    }
    const points = await screenPoints(page, level0);
    let tissueChecked = 0;
    const tissueOff = [];
    points.forEach((p, k) => {
      if (p.x < 0 || p.y < 0 || p.x >= shot.width || p.y >= shot.height || inside(p, excluded)) return;
      const mx = Math.floor(level0[k].x / 32);
      const my = Math.floor(level0[k].y / 32);
      const i = (my * tissue.width + mx) * 4;
      const a = tissue.pixels[i + 3] / 255;
      const under = rgbAt(reference, p.x, p.y);
      const expected = under.map((u, c) => a * tissue.pixels[i + c] + (1 - a) * u);
      const actual = rgbAt(shot, p.x, p.y);
      tissueChecked += 1;
      if (actual.some((v, c) => Math.abs(v - expected[c]) > 4)) tissueOff.push({ at: p, actual, expected });
      assert.equal(a > 0, level0[k].x < record.geometry.slide_width / 2, 'the mask is tissue in the left half only');
    });
    assert.ok(tissueChecked >= 10, `tissue points checked: ${tissueChecked}`);
    assert.deepEqual(tissueOff.slice(0, 5), [], `tissue: ${tissueOff.length} points off`);

    // Show the heatmap again; the URL carries every inference layer's settings.
    await showHeatmap.check();
    await waitForOverlay(page, 'heatmap', { visible: true, itemOpacity: 0.5 });
    const prefix = CHECKER_MODEL.sha256.slice(0, 16);
    const threePrefix = THREE_CLASS_MODEL.sha256.slice(0, 16);
    await page.waitForFunction(([p, q]) => window.location.hash.includes(`heatmap=${p}:0.5:1:magma:0.5:1,${q}:0.6:0:viridis:0:0`)
                                      && window.location.hash.includes(`tissue=${p}:1:1`), [prefix, threePrefix],
                               { timeout: 5000 });
    const sharedUrl = page.url();

    const restoredPage = await context.newPage();
    watch(restoredPage, 'restored');
    await restoredPage.goto(sharedUrl);
    await waitForTiles(restoredPage, 1);
    await waitForOverlay(restoredPage, 'heatmap', { visible: true, opacity: 0.5, colormap: 'magma', threshold: 0.5,
                                                    classIndex: 1, url: 'colormap=magma' });
    await waitForOverlay(restoredPage, 'tissue', { visible: true, opacity: 1 });
    assert.equal(await restoredPage.getByRole('combobox', { name: `Colormap of ${heatmapLabel}` }).inputValue(), 'magma');
    assert.equal(await restoredPage.getByRole('slider', { name: `Threshold of ${heatmapLabel}` }).inputValue(), '50');
    assert.equal(await restoredPage.getByRole('checkbox', { name: `Show ${heatmapLabel}` }).isChecked(), true);
    assert.equal(await restoredPage.getByRole('combobox', { name: `Class of ${threeLabel}` }).inputValue(), '0');
    // Painted as before: hide both layers for the reference, show the heatmap, compare.
    await restoredPage.getByRole('checkbox', { name: `Show ${tissueLabel}` }).uncheck();
    await restoredPage.getByRole('checkbox', { name: `Show ${heatmapLabel}` }).uncheck();
    await waitForOverlay(restoredPage, 'heatmap', { visible: false });
    const restoredExcluded = await overlayRects(restoredPage);
    const restoredReference = await screenshot(restoredPage);
    await restoredPage.getByRole('checkbox', { name: `Show ${heatmapLabel}` }).check();
    await waitForOverlay(restoredPage, 'heatmap', { visible: true, itemOpacity: 0.5 });
    const restoredShot = await screenshot(restoredPage);
    await restoredPage.locator('#viewer').screenshot({ path: path.join(ARTIFACTS, 'viewer-heatmap-restored.png') });
    result = compareTiles({ shot: restoredShot, reference: restoredReference, heatmap,
                            rects: await tileRects(restoredPage, geometry),
                            excluded: [...restoredExcluded, ...(await overlayRects(restoredPage))],
                            opacity: 0.5, tolerance: 4 });
    assert.ok(result.counts.painted > 5, `restored: ${JSON.stringify(result.counts)}`);
    assert.deepEqual(result.mismatches.slice(0, 5), [], `restored: ${result.mismatches.length} pixels off`);
    await restoredPage.close();

    assert.deepEqual(problems, [], 'no page errors, console errors or CSP violations');
  } catch (err) {
    await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-heatmap-failure.png') }).catch(() => {});
    throw err;
  } finally {
    await context.close();
  }
});

test('inference: the results of `mcval infer` are listed with the card\'s classes and painted over their grid',
     { timeout: 120_000 }, async () => {
  const context = await ctx.browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) {
      problems.push(`console ${message.type()}: ${message.text()}`);
    }
  });
  try {
    const slides = (await (await fetch(`${ctx.baseUrl}/api/v1/slides?centre=centre-b`)).json()).slides;
    const slide = slides.find((candidate) => candidate.name === 'cmu-copy.svs');
    assert.equal(slide.inference_count, 1);
    const { results } = await (await fetch(`${ctx.baseUrl}/api/v1/slides/${slide.id}/inference`)).json();
    assert.equal(results.length, 1);
    const result = results[0];
    assert.equal(result.status, 'ok');
    assert.equal(result.model_name, 'tiny-cnn');
    assert.equal(result.model_registered, true);
    assert.deepEqual(result.class_names, ['benign', 'tumour']);
    assert.equal(result.positive_class, 1);
    assert.deepEqual(result.aggregation, { method: 'top_k_mean', k: 3 });
    assert.ok(result.tiles_scored > 0 && result.tiles_scored <= result.grid_tiles);

    await page.goto(`${ctx.baseUrl}/`);
    await page.locator('.centre[data-centre="centre-b"]').click();
    await page.locator('tr.slide', { hasText: 'cmu-copy.svs' }).getByRole('button', { name: 'Open', exact: true }).click();
    await waitForTiles(page, 1);
    const label = `Heatmap: tiny-cnn ${result.model_version}`;
    const show = page.getByRole('checkbox', { name: `Show ${label}` });
    await show.waitFor({ timeout: 10_000 });
    const row = page.locator('.layer-heatmap', { hasText: label });
    assert.equal(await row.locator('.layer-score').textContent(),
                 `Slide score ${result.score.toFixed(3)} P(tumour) · mean of top 3 · ${result.tiles_scored} tiles`);

    const referenceExcluded = await overlayRects(page);
    const reference = decodePng(await page.locator('#viewer').screenshot());
    await page.getByRole('slider', { name: `Opacity of ${label}` }).fill('100');
    await show.check();
    await waitForOverlay(page, 'heatmap', { visible: true, opacity: 1 });
    const overlay = await overlayOf(page, 'heatmap');
    const heatmap = await fetchPng(overlay.url);
    assert.deepEqual([heatmap.width, heatmap.height], [result.geometry.cols, result.geometry.rows]);
    const shot = decodePng(await page.locator('#viewer').screenshot());
    await writeFile(path.join(ARTIFACTS, 'viewer-infer.png'), await page.locator('#viewer').screenshot());
    const compared = compareTiles({
      shot, reference, heatmap, rects: await tileRects(page, result.geometry),
      excluded: [...referenceExcluded, ...(await overlayRects(page))], opacity: 1, tolerance: 3,
    });
    assert.ok(compared.counts.painted >= 10, `tiles checked: ${JSON.stringify(compared.counts)}`);
    assert.deepEqual(compared.mismatches.slice(0, 5), [], `${compared.mismatches.length} pixels off the heatmap`);
    assert.deepEqual(problems, [], 'no page errors, console errors or CSP violations');
  } catch (err) {
    await page.screenshot({ path: path.join(ARTIFACTS, 'viewer-infer-failure.png') }).catch(() => {});
    throw err;
  } finally {
    await context.close();
  }
});
