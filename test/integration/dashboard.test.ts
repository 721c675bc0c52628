/**
 * The live dashboard (issue 24) in a real browser: headless Chromium (/usr/bin/chromium) driven by playwright-core
 * against a Flint (2 workers, a manager token) serving real traffic. The page loads with no console errors, the
 * figures it shows equal /stats after one refresh, a URL with `<script>` in the most-requested table shows as text
 * and never runs, the purge form purges (the next request is a miss), the config history compares two versions,
 * and a screenshot is saved (its path printed). Also without a browser: the page's Content-Security-Policy, the
 * page served without the token but not to addresses outside <Allow>, the data behind the token.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { FlintProcess, serverXml, vhostXml } from '../helpers/flint.js';
import type { StatsBody } from '../helpers/flint.js';
import type { TestOrigin } from '../helpers/origin.js';
import { rawExchange, request } from '../helpers/http.js';
import type { Route } from '../helpers/cache.js';
import { isHit, reply, seenFor, startRoutedOrigin, waitFor } from '../helpers/cache.js';
import { freePort } from '../helpers/ports.js';

const HOST = 'dash.test';
const TOKEN = 'dash-s3cret';
const CHROMIUM = '/usr/bin/chromium';
const XSS_PATH = '/x<script>window.__pwned=1</script>';

/** The page-side globals the browser callbacks use (they run in Chromium; the test compiles without the DOM lib). */
declare const document: { body: { dataset: Record<string, string | undefined> }; scripts: { length: number }; querySelector(selector: string): { getAttribute(name: string): string | null } | null };
declare const window: { __pwned?: number };

const body = (path: string): Route => (_req, res, n) => reply(res, 200, { 'cache-control': 'max-age=3600', 'content-type': 'text/plain' }, `${path} #${n}`);

describe('dashboard', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed` }, () => {
  const routes: Record<string, Route> = {};
  let origin: TestOrigin;
  let flint: FlintProcess;
  let port: number;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  const manager = (path: string, init: { method?: string; body?: string; token?: boolean; localAddress?: string } = {}) =>
    request({
      port: flint.managerPort,
      host: `127.0.0.1:${flint.managerPort}`,
      path,
      method: init.method ?? 'GET',
      ...(init.body === undefined ? {} : { body: init.body }),
      headers: init.token === false ? {} : { authorization: `Bearer ${TOKEN}` },
      ...(init.localAddress === undefined ? {} : { localAddress: init.localAddress }),
    });
  const stats = async (): Promise<StatsBody & Record<string, unknown>> => JSON.parse((await manager('/stats')).body.toString()) as StatsBody & Record<string, unknown>;
  /** Waits until the page has refreshed `count` more times. */
  const refreshes = async (count: number): Promise<void> => {
    const now = Number((await page.getAttribute('body', 'data-refreshes')) ?? '0');
    await page.waitForFunction((target) => Number(document.body.dataset.refreshes ?? '0') >= target, now + count, { timeout: 15_000 });
  };
  const valueOf = async (testId: string): Promise<number> => Number(await page.getAttribute(`[data-testid="${testId}"]`, 'data-value'));

  before(async () => {
    origin = await startRoutedOrigin(routes);
    for (const path of ['/a', '/b', '/c']) routes[path] = body(path);
    routes['/x<script>window.__pwned=1</script>'] = body('xss');
    port = await freePort();
    flint = await FlintProcess.start(({ dir, managerPort }) => ({
      server: serverXml({ managerPort, dir, workers: 2 }),
      vhosts: vhostXml([{ name: HOST, port, origin: origin.address }]),
    }));
    // The token is set by a reload (the helper's health wait calls /health without one).
    flint.writeConf('server.xml', serverXml({ managerPort: flint.managerPort, dir: flint.dir, workers: 2 }).replace('<Manager ', `<Manager Token="${TOKEN}" `));
    assert.equal((await manager('/conf/reload', { method: 'POST', token: false })).status, 200);
    assert.equal((await manager('/stats', { token: false })).status, 401);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(`${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => consoleErrors.push(`page error: ${error.message}`));
  });

  after(async () => {
    await browser?.close();
    await flint?.stop();
    await origin?.close();
  });

  test('the page and its files: CSP, <Allow> and the token', async () => {
    const res = await manager('/dashboard', { token: false });
    assert.equal(res.status, 200, 'the page needs no token: it holds no data');
    const csp = String(res.headers['content-security-policy']);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    for (const asset of ['/dashboard/app.js', '/dashboard/app.css', '/dashboard/uPlot.iife.min.js', '/dashboard/uPlot.min.css']) {
      assert.equal((await manager(asset, { token: false })).status, 200, asset);
    }
    assert.match(readFileSync(new URL('../../dashboard/uPlot.iife.min.js', import.meta.url), 'utf8'), /uPlot/, 'uPlot comes from the installed package, copied by the build');
    assert.equal((await manager('/dashboard', { localAddress: '127.0.0.2' })).status, 403, 'outside <Allow>');
    assert.equal((await manager('/stats', { token: false })).status, 401, 'the data needs the token');
    assert.equal((await manager('/dashboard/config-diff?from=1&to=1', { token: false })).status, 401);
    assert.equal((await manager('/dashboard/../conf/server.xml', { token: false })).status, 401, 'no path reaches past the file list');
  });

  test('in Chromium: no console errors, figures equal /stats, a <script> URL stays text, purge form, config diff, screenshot', async () => {
    // Real traffic: misses, then hits, on both workers; and a path with markup (sent raw: clients can).
    for (let round = 0; round < 5; round++) for (const path of ['/a', '/b', '/c']) await request({ port, path, host: HOST });
    const raw = await rawExchange(port, [`GET ${XSS_PATH} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`]);
    const rawStatus = raw.received.split(' ')[1];

    await page.goto(`http://127.0.0.1:${flint.managerPort}/dashboard#token=${TOKEN}`);
    await refreshes(2);

    // Within one refresh of a /stats read (no traffic in between), the page shows the same figures.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const expected = await stats();
    await refreshes(1);
    assert.equal(await valueOf('total-requests'), expected.totals.requests);
    assert.equal(await valueOf('total-out'), expected.totals.clientOutBytes);
    assert.equal(await valueOf('hit-ratio-total'), expected.cache.requestHitRatio);
    assert.equal(await valueOf('byte-hit-ratio-total'), expected.cache.byteHitRatio);
    assert.equal(await valueOf('connections'), expected.activeConnections);
    // Standalone (no <Cluster>): /stats has no `cluster`, so the page never asks /fleet/stats and says so.
    assert.equal('cluster' in expected, false);
    assert.match((await page.textContent('#fleet-status')) ?? '', /^standalone/);
    const resultTotals = await page.$$eval('[data-testid="cache-results"] tbody tr', (rows) => Object.fromEntries(rows.map((r) => [r.cells[0]?.textContent ?? '', Number(r.cells[2]?.dataset.value)])));
    const cacheResults = expected.totals.cacheResults;
    assert.equal(resultTotals.TCP_HIT, cacheResults.TCP_HIT);
    assert.equal(resultTotals.TCP_MISS, cacheResults.TCP_MISS);
    assert.ok((resultTotals.TCP_HIT ?? 0) >= 9, 'hits were served');
    const top = await page.$$eval('[data-testid="top-urls"] tbody tr', (rows) => rows.map((r) => [r.cells[0]?.textContent, r.cells[1]?.textContent, Number(r.cells[2]?.dataset.value)]));
    const topUrls = expected.topUrls as Array<{ vhost: string; path: string; count: number }>;
    assert.deepEqual(top, topUrls.map((t) => [t.vhost, t.path, t.count]));
    assert.ok(top.some(([vhost, path, count]) => vhost === HOST && path === '/a' && count === 5), JSON.stringify(top));

    // The markup in a requested path is shown as text and never runs.
    if (rawStatus !== '400') {
      const shown = await page.$$eval('[data-testid="top-urls"] td.path', (cells) => cells.map((c) => c.textContent));
      assert.ok(shown.includes(XSS_PATH), `the <script> path is listed as text: ${JSON.stringify(shown)} (status ${rawStatus})`);
    }
    assert.equal(await page.evaluate(() => window.__pwned), undefined, 'the script in the URL did not run');
    assert.equal(await page.evaluate(() => document.scripts.length), 2, 'only uPlot and app.js');

    // The purge form: the next request for the URL is a miss (refetched from the origin).
    assert.ok(isHit(await request({ port, path: '/a', host: HOST })));
    const before = seenFor(origin, '/a').length;
    await page.fill('[data-testid="purge-target"]', `${HOST}/a`);
    await page.click('[data-testid="purge-submit"]');
    await page.waitForFunction(() => document.querySelector('[data-testid="purge-result"]')?.getAttribute('data-status') !== null, undefined, { timeout: 10_000 });
    const result = (await page.textContent('[data-testid="purge-result"]')) ?? '';
    assert.match(result, /^200 .*"Count":1/);
    const next = await request({ port, path: '/a', host: HOST });
    assert.equal(isHit(next), false, 'a miss after the purge');
    assert.equal(seenFor(origin, '/a').length, before + 1);
    assert.equal(next.body.toString(), '/a #2');

    // Config history: a reload with a changed vhosts.xml, then the page compares the two versions.
    const vhostsPath = join(flint.confDir, 'vhosts.xml');
    writeFileSync(vhostsPath, readFileSync(vhostsPath, 'utf8').replace('</Vhosts>', '<!-- changed for the diff -->\n</Vhosts>'));
    assert.equal((await manager('/conf/reload', { method: 'POST' })).status, 200);
    await page.click('#token-form button');
    // Three versions: as started, with the token, with the changed vhosts.xml (the page compares the last two).
    await waitFor('three versions listed', async () => ((await page.$$('#diff-from option')).length >= 3 ? true : undefined));
    await page.click('[data-testid="diff-submit"]');
    await page.waitForSelector('[data-testid="diff"] .op-add', { timeout: 10_000 });
    assert.match((await page.textContent('[data-testid="diff"]')) ?? '', /vhosts\.xml \(changed\)[\s\S]*\+ <!-- changed for the diff -->/);

    // Compared from the first version, server.xml gained the token: shown masked, never in clear.
    const first = await page.$$eval('#diff-from option', (options) => options[options.length - 1]?.getAttribute('value') ?? '');
    await page.selectOption('#diff-from', first);
    await page.click('[data-testid="diff-submit"]');
    await waitFor('the server.xml diff', async () => (/server\.xml \(changed\)/.test((await page.textContent('[data-testid="diff"]')) ?? '') ? true : undefined));
    const diffText = (await page.textContent('[data-testid="diff"]')) ?? '';
    assert.match(diffText, /Token="\(hidden\)"/);
    assert.ok(!diffText.includes(TOKEN) && !(await page.content()).includes(TOKEN), 'the token is never shown');

    await refreshes(1);
    const artifacts = process.env.FLINT_TEST_ARTIFACTS ?? join(tmpdir(), 'flint-test-artifacts');
    mkdirSync(artifacts, { recursive: true });
    const shot = join(artifacts, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`dashboard screenshot: ${shot}`);
    assert.ok(existsSync(shot));

    assert.deepEqual(consoleErrors, [], 'no console errors');
  });
});
