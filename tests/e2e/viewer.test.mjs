// End-to-end test of the web viewer: starts the real `mcval serve` on port 0 over a temp slide
// folder with two centres, drives Debian's Chromium through playwright-core, opens a slide as
// the background, adds another centre's slide as a layer, and checks that tiles were painted,
// that the URL carries the view and restores it, and that the layer controls drive OpenSeadragon.
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

const ctx = { workspace: null, server: null, serverLog: [], baseUrl: null, browser: null };

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
  const dataset = ['slide_id,centre,patient_id,label,isup_grade'];
  const predictions = ['slide_id,score,isup_pred'];
  ['centre-a', 'centre-b', 'centre-c'].forEach((centre, c) => {
    for (let i = 0; i < 60; i += 1) {
      const label = random() < 0.4 ? 1 : 0;
      const grade = label ? 1 + Math.floor(random() * 5) : 0;
      const id = `${centre}-${i}`;
      dataset.push(`${id},${centre},${centre}-p${i >> 1},${label},${grade}`);
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
    for (const id of ['roc-plot', 'forest-plot', 'calibration-plot']) {
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
      const shot = decodePng(await figure.screenshot());
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
