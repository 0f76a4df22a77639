// End-to-end test of the viewer's sign-in: a real OpenID Connect provider (tests/oidc/provider.mjs,
// npm oidc-provider) and `mcval serve --auth oidc --login-issuer ...` on 127.0.0.1, driven through
// Debian's Chromium by playwright-core. The viewer shows "Sign in"; the provider's login form
// signs alice in; back in the viewer she sees her centre only, the tiles load with the session
// cookie, which page scripts cannot read; "Sign out" ends the session.
//
// Environment: MCVAL_BIN, MCVAL_TEST_CMU_SLIDE (required), MCVAL_TEST_ARTIFACTS, MCVAL_CHROMIUM
// as for viewer.test.mjs.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const require = createRequire(path.join(repo, 'web', 'package.json'));
const { chromium } = require('playwright-core');

const MCVAL_BIN = process.env.MCVAL_BIN;
const CMU_SLIDE = process.env.MCVAL_TEST_CMU_SLIDE;
const ARTIFACTS = process.env.MCVAL_TEST_ARTIFACTS || path.join(repo, 'build', 'test-artifacts');
const CHROMIUM = process.env.MCVAL_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT_MS = 30_000;

const ctx = { children: [], log: [] };

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Spawns a child whose stdout lines go to the log; resolves with the first line `pick` accepts. */
function start(command, args, pick) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  ctx.children.push(child);
  createInterface({ input: child.stderr }).on('line', (line) => ctx.log.push(line));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start:\n${ctx.log.join('\n')}`)), TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited early (${code}):\n${ctx.log.join('\n')}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      ctx.log.push(line);
      const value = pick(line);
      if (value !== undefined) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(value);
      }
    });
  });
}

const parse = (line) => {
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
};

before(async () => {
  assert.ok(MCVAL_BIN, 'MCVAL_BIN must name the mcval binary');
  assert.ok(CMU_SLIDE, 'MCVAL_TEST_CMU_SLIDE must name CMU-1-Small-Region.svs');
  await mkdir(ARTIFACTS, { recursive: true });
  ctx.workspace = await mkdtemp(path.join(tmpdir(), 'mcval-e2e-login-'));
  const slides = path.join(ctx.workspace, 'slides');
  for (const centre of ['centre-a', 'centre-b']) {
    await mkdir(path.join(slides, centre), { recursive: true });
    await copyFile(CMU_SLIDE, path.join(slides, centre, `${centre}.svs`));
  }
  const port = await freePort();
  ctx.base = `http://127.0.0.1:${port}`;
  const spec = {
    issuers: [{
      name: 'idp-a',
      web_client: { client_id: 'mcval-web', redirect_uris: [`${ctx.base}/auth/callback`] },
      users: { alice: ['mcval/centre-a/viewers'] },
    }],
  };
  const issuers = await start(process.execPath, [path.join(repo, 'tests', 'oidc', 'provider.mjs'), JSON.stringify(spec)],
                              (line) => parse(line)?.issuers);
  ctx.issuer = issuers[0].issuer;
  const config = path.join(ctx.workspace, 'issuers.json');
  await writeFile(config, JSON.stringify({
    issuers: [{
      name: 'idp-a', issuer: ctx.issuer, audiences: ['mcval-api'], require_typ_at_jwt: true,
      allow_insecure_http_for_tests: true, group_claims: ['groups'],
      rules: [{ value: 'mcval/centre-a/viewers', role: 'viewer', centre: 'centre-a' }],
    }],
  }));
  const secret = path.join(ctx.workspace, 'secret');
  await writeFile(secret, 'secret-mcval-web\n');
  await start(MCVAL_BIN, ['serve', '--slides', slides, '--data', path.join(ctx.workspace, 'data'),
                          '--listen', `127.0.0.1:${port}`, '--log-format', 'json', '--auth', 'oidc',
                          '--auth-config', config, '--login-issuer', 'idp-a', '--login-client-id', 'mcval-web',
                          '--login-client-secret-file', secret, '--login-resource', 'https://mcval.test/api',
                          '--public-url', ctx.base],
              (line) => (parse(line)?.msg === 'listening' ? true : undefined));
  const deadline = Date.now() + TIMEOUT_MS;
  while ((await fetch(`${ctx.base}/readyz`).then((r) => r.status, () => 0)) !== 200) {
    assert.ok(Date.now() < deadline, '/readyz did not answer 200 in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  ctx.browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  try {
    if (ctx.browser) await ctx.browser.close();
  } finally {
    for (const child of ctx.children.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await writeFile(path.join(ARTIFACTS, 'login-test.log'), `${ctx.log.join('\n')}\n`);
    if (ctx.workspace) await rm(ctx.workspace, { recursive: true, force: true });
  }
});

process.on('exit', () => {
  for (const child of ctx.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

test('sign in through the identity provider, see one centre, sign out', async () => {
  const page = await ctx.browser.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));

  await page.goto(`${ctx.base}/`);
  const signIn = page.locator('#sign-in');
  await signIn.waitFor({ state: 'visible', timeout: TIMEOUT_MS });
  // The view to come back to: the link carries the hash of the moment it is followed.
  await page.evaluate(() => window.history.replaceState(null, '', '/#centre=centre-a'));
  const callbacks = [];
  page.on('response', (response) => {
    if (response.url().startsWith(`${ctx.base}/auth/callback`)) callbacks.push(response);
  });
  await signIn.click();
  await page.waitForURL((url) => url.href.startsWith(`${ctx.issuer}/interaction/`), { timeout: TIMEOUT_MS });
  await page.fill('input[name="login"]', 'alice');
  await page.fill('input[name="password"]', 'anything');
  await Promise.all([
    page.waitForURL((url) => url.href.startsWith(`${ctx.base}/`) && url.pathname === '/', { timeout: TIMEOUT_MS }),
    page.click('button[type="submit"]'),
  ]);
  assert.equal(callbacks.length, 1);
  assert.equal(callbacks[0].status(), 303);
  assert.equal(callbacks[0].headers().location, '/#centre=centre-a', 'back to the view the sign-in started from');

  await page.locator('#account-name').filter({ hasText: 'alice' }).waitFor({ timeout: TIMEOUT_MS });
  assert.equal(await page.locator('#sign-out').isVisible(), true);
  await page.locator('#centre-list li.centre').first().waitFor({ timeout: TIMEOUT_MS });
  const centres = await page.locator('#centre-list li.centre').allTextContents();
  assert.equal(centres.length, 1, `one centre listed: ${centres}`);
  assert.match(centres[0], /centre-a/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'login-signed-in.png') });

  // The session cookie is invisible to scripts, yet it carries the API and the tiles.
  const seen = await page.evaluate(async () => {
    const me = await (await fetch('/api/v1/me')).json();
    const slides = (await (await fetch('/api/v1/slides')).json()).slides;
    const tile = await fetch(`/dzi/${slides[0].id}_files/9/0_0.jpeg`);
    return { cookies: document.cookie, me, centres: slides.map((s) => s.centre), tile: tile.status };
  });
  assert.equal(seen.cookies, '', 'no cookie is readable from the page');
  assert.equal(seen.me.subject, 'alice');
  assert.deepEqual(seen.centres, ['centre-a']);
  assert.equal(seen.tile, 200);

  await Promise.all([
    page.waitForURL((url) => url.href.startsWith(ctx.issuer), { timeout: TIMEOUT_MS }),
    page.click('#sign-out'),
  ]);
  await page.goto(`${ctx.base}/`);
  await page.locator('#sign-in').waitFor({ state: 'visible', timeout: TIMEOUT_MS });
  const me = await page.evaluate(async () => (await fetch('/api/v1/me')).status);
  assert.equal(me, 401, 'signed out');
  await page.screenshot({ path: path.join(ARTIFACTS, 'login-signed-out.png') });
  assert.deepEqual(problems, []);
  await page.close();
});
