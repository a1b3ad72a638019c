/**
 * The web UI in a real browser (Debian's Chromium through playwright-core; test/helpers/chromium.ts):
 * `wattflow up` runs as `npm start` runs it (a child process: the bundled demo experiment, polled
 * every 5 s, the energy exporter on a free port), with a reference vehicle log replayed
 * into it and a trained model deployed to two routers. Then:
 *  - every view loads with no console error, no failed request and no request to another host,
 *    and shows its data; a screenshot of each is saved (UI_SCREENSHOT_DIR, default a temporary
 *    directory; `UI_SCREENSHOT_DIR=docs/ui UI_SCREENSHOT_WARMUP_S=150` refreshes the README's);
 *  - the charts render and gain points while the pipeline runs (router and vehicle views), and
 *    the fleet's rows update live;
 *  - the main views work from the keyboard: 1–5 switch views, Tab reaches the navigation, "/"
 *    filters the fleet, ↑/↓ and Enter open a router, the sort headers and the range picker take
 *    Enter;
 *  - with authentication on, the page asks for a token, keeps it in the tab and loads the data.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { DEFAULT_EXPERIMENT_FILE } from '../../src/router-power/demo-experiment.js';
import { replayVehicleLog } from '../../src/vehicle/replay/replay.js';
import { loadAppConfig } from '../../src/app-config.js';
import { newToken, serverAuthOf, tokenEntry } from '../../src/core/auth.js';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { silentLogger } from '../../src/core/logger.js';
import { ExperimentSource, loadExperiment } from '../../src/router-power/experiment.js';
import { createUi } from '../../src/ui/index.js';
import { chromium, launchChromium } from '../helpers/chromium.js';
import { freePort } from '../helpers/ports.js';
import { trained } from '../registry/helpers.js';
import { poll, ROOT, runCli, type CliProcess } from '../e2e/helpers.js';

// the page's globals, used inside page.evaluate()/waitForFunction() callbacks (this file is type-checked without the DOM library)
declare const document: any;  
declare const window: any;  
declare const location: any;  
declare const sessionStorage: any;  
type HTMLCanvasElement = { width: number };

const browser = chromium();
const SHOTS = resolve(ROOT, process.env.UI_SCREENSHOT_DIR ?? join(tmpdir(), 'wattflow-ui-screenshots'));
const dir = mkdtempSync(join(tmpdir(), 'wattflow-ui-browser-'));
let cli: CliProcess;
let url = '';
let context: BrowserContext;
let closeBrowser: () => Promise<void> = async () => undefined;

interface Watch {
  errors: string[];
  foreign: string[];
  failed: string[];
}

function watch(page: Page, base: string): Watch {
  const w: Watch = { errors: [], foreign: [], failed: [] };
  const origin = new URL(base).origin;
  page.on('console', (m) => {
    if (m.type() === 'error') w.errors.push(m.text());
  });
  page.on('pageerror', (e) => w.errors.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(origin) && !u.startsWith('data:')) w.foreign.push(u);
  });
  page.on('requestfailed', (r) => {
    // a stream closed by the page itself (leaving a view) is not a failure
    if (!/\/api\/ui\/stream/.test(r.url()) || !/ERR_ABORTED/.test(r.failure()?.errorText ?? '')) w.failed.push(`${r.url()} ${r.failure()?.errorText}`);
  });
  return w;
}

/** Waits for the view to be mounted with its first data. */
async function ready(page: Page, view: string): Promise<void> {
  await page.waitForSelector(`body[data-view="${view}"][data-ready]`, { timeout: 20_000 });
}

const charts = (page: Page) => page.evaluate(() => (window as unknown as { wattflow: { charts(): Array<{ label: string; points: number }> } }).wattflow.charts());

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.waitForTimeout(300); // the last frame painted
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

before(async () => {
  if (browser.skip) return;
  const energyPort = await freePort();
  // the bundled demo as npm start runs it on a fresh machine (polling every 5 s; plus router "local" when a node exporter answers)
  cli = runCli(['up', '--port', '0'], {
    WATTFLOW__storage__dir: dir,
    WATTFLOW__energy__port: String(energyPort),
    WATTFLOW__energy__intervalMs: '1000',
    WATTFLOW__ui__sampleIntervalMs: '1000',
    KAFKA_BROKERS: '',
    INFLUX_URL: '',
    // the in-process vehicle store, as on a fresh machine: car-1 in the shared Redis would collide
    // with the previous run's car-1 (same time stamps within the log's 12 minutes) and lose vectors
    REDIS_URL: '',
    WATTFLOW_TOKENS_FILE: '',
  });
  [, url] = (await cli.waitFor(/web UI:\s+(http:\/\/\S+?)\/\s/, 30_000)) as RegExpMatchArray as [string, string];
  // a trained model, deployed to r3 and r4 (the Models view and the model in use)
  const a = await trained({ name: 'ne40', version: '1' });
  const up = await fetch(`${url}/api/registry/models/ne40/versions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ onnx_base64: Buffer.from(a.onnx).toString('base64'), metadata: a.metadata, alias: 'production' }) });
  assert.equal(up.status, 201, await up.text());
  const dep = await fetch(`${url}/api/registry/deployments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ref: 'ne40@production', routers: ['r3', 'r4'] }) });
  assert.equal(dep.status, 201, await dep.text());
  await replayVehicleLog({ file: join(ROOT, 'test/fixtures/vehicle/DS2_national_road_90km_h_max_25Jan24_153019.csv'), vehicleId: 'car-1', target: url, asFastAsPossible: true });
  // a few polls, so that charts and sparklines have history
  await poll(async () => {
    const s = (await (await fetch(`${url}/api/routers/r3/series?metric=power&from=-5m`)).json()) as { points: unknown[] };
    return s.points.length >= 3 ? true : undefined;
  }, 40_000, 250);
  // UI_SCREENSHOT_WARMUP_S: let the pipeline run longer first (fuller charts in the README's screenshots)
  const warmup = Number(process.env.UI_SCREENSHOT_WARMUP_S ?? 0);
  if (warmup > 0) await new Promise((r) => setTimeout(r, warmup * 1000));
  ({ context, close: closeBrowser } = await launchChromium(browser.path));
});

after(async () => {
  await closeBrowser();
  if (cli) {
    const code = await cli.stop();
    assert.equal(code, 0, cli.output().slice(-2000));
  }
  rmSync(dir, { recursive: true, force: true });
});

const VIEWS: Array<{ hash: string; view: string; name: string; check: (page: Page) => Promise<void> }> = [
  {
    hash: '#/routers',
    view: 'routers',
    name: 'routers',
    check: async (page) => {
      await page.waitForFunction(() => document.querySelectorAll('table.fleet tbody tr[data-router]').length >= 7);
      const models = await page.$$eval('table.fleet tbody tr[data-router]', (rows) => Object.fromEntries(rows.map((r) => [r.getAttribute('data-router'), r.children[1]!.textContent])));
      assert.match(models.r1 ?? '', /formula dummy:huawei/);
      await page.waitForFunction(() => /ne40@1/.test(document.querySelector('tr[data-router="r3"]')?.children[1]?.textContent ?? ''), undefined, { timeout: 20_000 });
      assert.ok((await page.$$('svg.spark path')).length >= 7, 'a sparkline per router');
    },
  },
  {
    hash: '#/routers/r3?range=5m',
    view: 'routers',
    name: 'router',
    check: async (page) => {
      const c = await charts(page);
      assert.equal(c.length, 4, 'power, occupation, packet length, rates');
      assert.ok(c.every((x) => x.points >= 2), JSON.stringify(c));
      assert.equal(await page.$$eval('.uplot canvas', (cs) => cs.filter((x) => (x as HTMLCanvasElement).width > 100).length), 4);
      await page.waitForFunction(() => /ne40@1/.test(document.querySelector('h1 .badge')?.textContent ?? ''));
      assert.match(await page.textContent('main') ?? '', /∂P\/∂occupation/);
    },
  },
  {
    hash: '#/vehicles',
    view: 'vehicles',
    name: 'vehicles',
    check: async (page) => {
      await page.waitForSelector('tr[data-vehicle="car-1"]');
    },
  },
  {
    hash: '#/vehicles/car-1?range=1h',
    view: 'vehicles',
    name: 'vehicle',
    check: async (page) => {
      const c = await charts(page);
      const score = c.find((x) => /anomaly score/.test(x.label))!;
      assert.ok(score.points >= 100, `score points ${score.points}`);
      assert.match(await page.textContent('main') ?? '', /Plausibility flags/);
      assert.match(await page.textContent('main') ?? '', /Vehicle speed/);
    },
  },
  {
    hash: '#/models',
    view: 'models',
    name: 'models',
    check: async (page) => {
      await page.waitForFunction(() => /ne40/.test(document.querySelector('main')?.textContent ?? '') && document.querySelectorAll('main table').length >= 3);
      assert.match(await page.textContent('main') ?? '', /router r3|router r4/);
    },
  },
  {
    hash: '#/energy',
    view: 'energy',
    name: 'energy',
    check: async (page) => {
      await page.waitForFunction(() => /Node power/.test(document.querySelector('main')?.textContent ?? '') && /\d W/.test(document.querySelector('.card-value')?.textContent ?? ''), undefined, { timeout: 20_000 });
      assert.doesNotMatch(await page.textContent('main') ?? '', /not running/);
      assert.equal((await charts(page)).length, 2);
    },
  },
  {
    hash: '#/health',
    view: 'health',
    name: 'health',
    check: async (page) => {
      await page.waitForFunction(() => /inference/.test(document.querySelector('main table')?.textContent ?? ''));
      assert.equal((await charts(page)).length, 3);
      assert.match(await page.textContent('main') ?? '', /end to end/);
    },
  },
];

test('every view loads with no console error and no request to another host, shows its data, and is saved as a screenshot', { skip: browser.skip, timeout: 180_000 }, async (t) => {
  for (const v of VIEWS) {
    const page = await context.newPage();
    const w = watch(page, url);
    await page.goto(`${url}/${v.hash}`);
    await ready(page, v.view);
    await v.check(page);
    await shot(page, v.name);
    await page.close();
    assert.deepEqual(w.errors, [], `${v.hash}: console errors`);
    assert.deepEqual(w.foreign, [], `${v.hash}: requests to another host`);
    assert.deepEqual(w.failed, [], `${v.hash}: failed requests`);
  }
  t.diagnostic(`screenshots: ${SHOTS}`);
});

test('charts gain points while the pipeline runs; the fleet\'s rows update live', { skip: browser.skip, timeout: 60_000 }, async () => {
  const page = await context.newPage();
  const w = watch(page, url);
  await page.goto(`${url}/#/routers/r5?range=5m`);
  await ready(page, 'routers');
  const before = await charts(page);
  // two more polling intervals: every chart has gained points
  await page.waitForFunction((n: number) => (window as { wattflow: { charts(): Array<{ points: number }> } }).wattflow.charts().every((c) => c.points >= n + 2), before[0]!.points, { timeout: 20_000 });
  const afterLive = await charts(page);
  assert.ok(afterLive.every((c, i) => c.points > before[i]!.points), `${JSON.stringify(before)} → ${JSON.stringify(afterLive)}`);
  assert.match((await page.textContent('#conn')) ?? '', /live/);
  // the fleet: a row's "updated" time moves forward by itself
  await page.goto(`${url}/#/routers`);
  await ready(page, 'routers');
  const t0 = Number(await page.getAttribute('tr[data-router="r6"] td[data-t]', 'data-t'));
  await page.waitForFunction((t: number) => Number(document.querySelector('tr[data-router="r6"] td[data-t]')?.getAttribute('data-t')) > t, t0, { timeout: 15_000 });
  await page.close();
  assert.deepEqual(w.errors, []);
});

test('keyboard: 1–5 switch views, Tab reaches the navigation, / filters, ↑↓ Enter open a router, sort and range take Enter', { skip: browser.skip, timeout: 60_000 }, async () => {
  const page = await context.newPage();
  const w = watch(page, url);
  await page.goto(`${url}/#/routers`);
  await ready(page, 'routers');
  for (const [key, view] of [['2', 'vehicles'], ['3', 'models'], ['4', 'energy'], ['5', 'health'], ['1', 'routers']] as const) {
    await page.keyboard.press(key);
    await ready(page, view);
    assert.equal(await page.getAttribute(`nav a[data-view="${view}"]`, 'aria-current'), 'page', `${key} → ${view}`);
  }
  // Tab from the top of a freshly loaded page: the skip link, the brand, then the views' links
  await page.reload();
  await ready(page, 'routers');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-view')), 'routers');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await ready(page, 'vehicles');
  await page.keyboard.press('1');
  await ready(page, 'routers');
  // "/" focuses the filter; typing filters on the server; ↓ enters the table; Enter opens the router
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Filter routers');
  await page.keyboard.type('r4');
  await page.waitForFunction(() => document.querySelectorAll('tr[data-router]').length === 1);
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-router')), 'r4');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => location.hash.startsWith('#/routers/r4'));
  await ready(page, 'routers');
  // the range picker: Tab to "1h", Enter
  await page.focus('button.seg[title="last hour"]');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => location.hash.includes('range=1h'));
  await ready(page, 'routers');
  assert.equal(await page.getAttribute('button.seg[title="last hour"]', 'aria-pressed'), 'true');
  // back to the fleet: ↑/↓ move between rows; a sort header takes Enter
  await page.goto(`${url}/#/routers`);
  await ready(page, 'routers');
  await page.focus('tr[data-router]');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  const focused = await page.evaluate(() => document.activeElement?.getAttribute('data-router'));
  const third = await page.$$eval('tr[data-router]', (rows) => rows[2]!.getAttribute('data-router'));
  assert.equal(focused, third);
  await page.focus('th button.sort >> text=Power (W)');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('th[aria-sort="descending"]')?.textContent?.includes('Power'));
  await page.waitForFunction(() => location.hash.includes('sort=power'));
  await page.close();
  assert.deepEqual(w.errors, []);
});

test('with authentication on, the page asks for a token, keeps it in the tab, and then loads; without an energy exporter or a registry the views say so', { skip: browser.skip, timeout: 60_000 }, async () => {
  const token = newToken();
  const cfg = loadAppConfig(undefined, { '/auth/tokens': [tokenEntry('ui', token, ['read'])], '/energy/enabled': false }, {});
  const experiment = new ExperimentSource(loadExperiment(DEFAULT_EXPERIMENT_FILE));
  const ui = createUi({ cfg, logger: silentLogger(), experiment, role: 'api' });
  const app: RunningApp = await startComponents([ui.component], { host: '127.0.0.1', port: 0, logger: silentLogger(), auth: serverAuthOf(cfg) });
  const page = await context.newPage();
  const w = watch(page, app.url);
  try {
    await page.goto(`${app.url}/#/routers`);
    await page.waitForSelector('#token-dialog[open]');
    assert.match((await page.textContent('#token-reason')) ?? '', /authentication required/);
    await page.fill('#token-input', token);
    await page.click('#token-form button[value="save"]');
    await ready(page, 'routers');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-router]').length >= 7);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('wattflow.token')), token);
    await page.waitForFunction(() => /live/.test(document.querySelector('#conn')?.textContent ?? ''), undefined, { timeout: 10_000 });
    // no energy exporter here: the Energy view says so instead of failing
    await page.keyboard.press('4');
    await ready(page, 'energy');
    assert.match((await page.textContent('main .notice')) ?? '', /Energy exporter off/);
    // and the views of parts this process does not run (role api: no registry, no vehicles)
    await page.keyboard.press('3');
    await ready(page, 'models');
    assert.match((await page.textContent('main .notice')) ?? '', /registry does not run in this process/);
  } finally {
    await page.close();
    await app.stop();
  }
  // the 401s before the token are the only failed loads the console reports
  assert.ok(w.errors.every((e) => /401/.test(e)), JSON.stringify(w.errors));
  assert.deepEqual(w.foreign, []);
});
