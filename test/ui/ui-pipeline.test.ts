/**
 * The web UI on what `wattflow up` runs (src/roles/up.ts upComponents: in-process bus, the
 * stages, the router API, the registry, the vehicle pipeline), with authentication on:
 *  - the hub is fed by the stages' outputs: a router event for every router of the experiment
 *    (its ML topic, read as the UI's own consumer group), matching the router API;
 *  - dead letters (a router whose model type has no model: inference dead-letters its
 *    messages) reach the stream and /api/ui/dead-letters with their reason; the health counts them;
 *  - a vehicle's scored vectors reach the stream (a tap on the predictor's sink);
 *  - the page and its files are public (cached: immutable under the version, ETag, gzip), every
 *    data route needs scope read (401 without a token), the stream reads the bearer header;
 *  - router history downsampled on the server (series?points=N);
 *  - a graceful stop ends the open event streams instead of waiting for them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAppConfig } from '../../src/app-config.js';
import { newToken, serverAuthOf, setClientToken, tokenEntry } from '../../src/core/auth.js';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { silentLogger } from '../../src/core/logger.js';
import { checkedServerConfig } from '../../src/roles/common.js';
import { upComponents } from '../../src/roles/up.js';
import { replayVehicleLog } from '../../src/vehicle/replay/replay.js';
import { ROOT } from '../e2e/helpers.js';
import { openSse } from './sse-client.js';

const GOOD = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
const token = newToken();
const auth = { authorization: `Bearer ${token}` };
const dir = mkdtempSync(join(tmpdir(), 'wattflow-ui-pipeline-'));
let app: RunningApp;

before(async () => {
  const routers = [
    ...GOOD.map((id) => ({ [id]: { topic: `TD_${id}`, interfaces: ['eth0', 'eth1'], source: 'synthetic' } })),
    { broken: { topic: 'TD_broken', interfaces: ['eth0'], source: 'synthetic', model_type: 'nosuchmodel' } },
  ];
  writeFileSync(join(dir, 'experiment.json'), JSON.stringify({ experiment_id: 'ui', flag_original_metrics: false, flag_debug_params: true, max_throughput_mbps: 100, polling_interval: 0.5, multiplier: 1, routers }));
  const cfg = loadAppConfig(
    undefined,
    {
      '/network/experiment': join(dir, 'experiment.json'),
      '/network/watch': false,
      '/storage/dir': dir,
      '/auth/tokens': [tokenEntry('ui-test', token, ['read', 'ingest'])],
      '/energy/enabled': false,
      '/ui/sampleIntervalMs': 500,
    },
    {},
  );
  checkedServerConfig(cfg);
  const { components } = await upComponents(cfg, silentLogger());
  app = await startComponents(components, { host: '127.0.0.1', port: 0, logger: silentLogger(), auth: serverAuthOf(cfg) });
});

after(async () => {
  await app?.stop();
  setClientToken(undefined);
  rmSync(dir, { recursive: true, force: true });
});

test('router events for every router come from the pipeline\'s outputs and match the router API', async () => {
  const s = await openSse(`${app.url}/api/ui/stream?channels=routers`, auth);
  try {
    assert.equal(s.status, 200);
    await s.waitFor((ev) => ev.find((e) => e.type === 'sync'), 5000, 'sync');
    const after = s.events.length;
    const perRouter = await s.waitFor(
      (ev) => {
        const m = new Map<string, number>();
        for (const e of ev.slice(after)) if (e.type === 'router') m.set(e.data.id, (m.get(e.data.id) ?? 0) + 1);
        return GOOD.every((id) => (m.get(id) ?? 0) >= 2) ? m : undefined;
      },
      15_000,
      'two live events for every router',
    );
    assert.ok(!perRouter.has('broken'), 'the broken router has no prediction');
    const last = [...s.events].reverse().find((e) => e.type === 'router' && e.data.id === 'a3')!.data;
    assert.match(last.model, /^formula dummy:huawei$/);
    assert.ok(last.occupation > 3 && last.occupation < 92, `synthetic occupation ${last.occupation}`);
    const series = (await (await fetch(`${app.url}/api/routers/a3/series?metric=power&from=-1m`, { headers: auth })).json()) as { points: Array<{ t: number; value: number }> };
    const same = series.points.find((p) => p.t === last.t);
    assert.ok(same, 'the event\'s prediction is in the router API');
    assert.ok(Math.abs(same.value - last.power) < 0.01);
  } finally {
    s.close();
  }
});

test('dead letters reach the stream, /api/ui/dead-letters and the health counts, with their reason', async () => {
  const s = await openSse(`${app.url}/api/ui/stream?channels=deadletters`, auth);
  try {
    const dl = await s.waitFor((ev) => ev.find((e) => e.type === 'deadletter'), 15_000, 'a dead letter');
    assert.equal(dl.data.stage, 'inference');
    assert.equal(dl.data.key, 'broken');
    assert.match(dl.data.reason, /no deployed model/);
    const list = (await (await fetch(`${app.url}/api/ui/dead-letters?stage=inference&limit=5`, { headers: auth })).json()) as { following: boolean; dead_letters: Array<{ key: string }> };
    assert.equal(list.following, true);
    assert.ok(list.dead_letters.length >= 1 && list.dead_letters.every((d) => d.key === 'broken'));
    const health = (await (await fetch(`${app.url}/api/ui/health`, { headers: auth })).json()) as { now: { stages: Array<{ stage: string; dead_letters: number; in_per_s: number }>; hops: Array<{ hop: string; p50_ms: number | null }> } };
    assert.ok(health.now.stages.find((x) => x.stage === 'inference')!.dead_letters >= 1);
  } finally {
    s.close();
  }
});

test('a vehicle\'s scored vectors reach the stream', async () => {
  const s = await openSse(`${app.url}/api/ui/stream?channels=vehicles`, auth);
  try {
    await s.waitFor((ev) => ev.find((e) => e.type === 'sync'), 5000, 'sync');
    // a reference log, replayed as fast as possible (it ends now)
    const report = await replayVehicleLog({ file: join(ROOT, 'test/fixtures/vehicle/DS2_national_road_90km_h_max_25Jan24_153019.csv'), vehicleId: 'ui-car', target: app.url, asFastAsPossible: true, token });
    assert.ok(report.accepted > 1000, JSON.stringify(report));
    const v = await s.waitFor((ev) => ev.find((e) => e.type === 'vehicle' && e.data.id === 'ui-car'), 10_000, 'a vehicle event');
    assert.equal(typeof v.data.label, 'string');
    assert.ok('vehicle_speed' in v.data.values);
    assert.ok(v.data.threshold > 0);
    const scores = (await (await fetch(`${app.url}/api/ui/vehicles/ui-car/scores?from=-5m&points=50`, { headers: auth })).json()) as { source: string; points: unknown[] };
    assert.equal(scores.source, 'embedded storage');
    assert.ok(scores.points.length >= 40 && scores.points.length <= 50, `${scores.points.length} score points (downsampled to 50 from ~700 vectors)`);
  } finally {
    s.close();
  }
});

test('the page and its files are public and cached; every data route needs scope read; the stream takes the bearer header', async () => {
  const page = await fetch(`${app.url}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.equal(page.headers.get('cache-control'), 'no-cache');
  assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  const html = await page.text();
  const version = /\/ui\/([0-9a-f]{12})\/app\.js/.exec(html)?.[1];
  assert.ok(version, 'the page names its versioned files');
  assert.ok(!/https?:\/\//.test(html.replace(/http:\/\/www\.w3\.org/g, '')), 'no other host referenced');
  const js = await fetch(`${app.url}/ui/${version}/app.js`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.equal(js.headers.get('content-encoding'), 'gzip');
  const etag = js.headers.get('etag')!;
  assert.equal((await fetch(`${app.url}/ui/${version}/app.js`, { headers: { 'if-none-match': etag } })).status, 304);
  const uplot = await fetch(`${app.url}/ui/${version}/vendor/uplot.js`);
  assert.equal(uplot.status, 200);
  assert.ok((await uplot.text()).length > 30_000, 'uPlot served from the package');
  assert.equal((await fetch(`${app.url}/ui/old/app.js`)).headers.get('cache-control'), 'no-cache');
  const missing = await fetch(`${app.url}/ui/${version}/../../package.json`);
  assert.ok([400, 401, 404].includes(missing.status), `traversal: ${missing.status}`);
  assert.equal((await fetch(`${app.url}/ui/${version}/%2e%2e%2f%2e%2e%2fpackage.json`)).status, 404, 'an encoded traversal is an unknown file');
  assert.equal((await fetch(`${app.url}/ui/${version}/tsconfig.json`)).status, 404, 'the type-check config is not served');
  for (const path of ['/api/ui/info', '/api/ui/fleet', '/api/ui/health', '/api/ui/energy', '/api/ui/dead-letters', '/api/ui/vehicles/x/scores']) {
    assert.equal((await fetch(`${app.url}${path}`)).status, 401, path);
    assert.equal((await fetch(`${app.url}${path}`, { headers: auth })).status, 200, path);
  }
  const noToken = await fetch(`${app.url}/api/ui/stream`, { headers: { accept: 'text/event-stream' } });
  assert.equal(noToken.status, 401);
  assert.match(noToken.headers.get('www-authenticate') ?? '', /^Bearer/);
  const info = (await (await fetch(`${app.url}/api/ui/info`, { headers: auth })).json()) as { features: Record<string, unknown> };
  assert.equal(info.features.registry, true);
  assert.equal(info.features.vehicles, true);
  assert.equal(info.features.energy, null);
});

test('router history is downsampled on the server: at most N points, each with the bucket\'s mean, min and max', async () => {
  let full: { points: Array<{ value: number }> } = { points: [] };
  for (let i = 0; i < 100 && full.points.length < 8; i++) {
    full = (await (await fetch(`${app.url}/api/routers/a1/series?metric=occupation&from=-10m`, { headers: auth })).json()) as typeof full;
    if (full.points.length < 8) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(full.points.length >= 8, `${full.points.length} points`);
  const small = (await (await fetch(`${app.url}/api/routers/a1/series?metric=occupation&from=-10m&points=4`, { headers: auth })).json()) as { downsampled: { rows: number }; points: Array<{ value: number; min: number; max: number }> };
  assert.ok(small.points.length <= 4 && small.points.length >= 1);
  assert.ok(small.downsampled.rows >= full.points.length);
  for (const p of small.points) assert.ok(p.min <= p.value && p.value <= p.max);
  const lo = Math.min(...full.points.map((p) => p.value));
  assert.ok(Math.abs(Math.min(...small.points.map((p) => p.min)) - lo) < 1e-9, 'the minimum survives');
  const bad = await fetch(`${app.url}/api/routers/a1/series?points=1`, { headers: auth });
  assert.equal(bad.status, 400);
});

test('the fleet: sorted and paged on the server, with sparklines', async () => {
  const f = (await (await fetch(`${app.url}/api/ui/fleet?sort=occupation&order=desc&limit=3&points=5`, { headers: auth })).json()) as {
    total: number;
    matched: number;
    routers: Array<{ id: string; occupation: number | null; spark: number[] }>;
  };
  assert.equal(f.total, 7);
  assert.equal(f.routers.length, 3);
  const occ = f.routers.map((r) => r.occupation!);
  assert.deepEqual(occ, [...occ].sort((a, b) => b - a));
  assert.ok(f.routers.every((r) => r.spark.length >= 1 && r.spark.length <= 5));
  const page2 = (await (await fetch(`${app.url}/api/ui/fleet?sort=id&offset=3&limit=3`, { headers: auth })).json()) as { routers: Array<{ id: string }> };
  assert.deepEqual(page2.routers.map((r) => r.id), ['a4', 'a5', 'a6']);
  const filtered = (await (await fetch(`${app.url}/api/ui/fleet?q=brok`, { headers: auth })).json()) as { matched: number; routers: Array<{ id: string; power: number | null }> };
  assert.equal(filtered.matched, 1);
  assert.equal(filtered.routers[0]!.power, null, 'no prediction: shown as waiting');
  assert.equal((await fetch(`${app.url}/api/ui/fleet?limit=100000`, { headers: auth })).status, 400);
  assert.equal((await fetch(`${app.url}/api/ui/fleet?sort=nope`, { headers: auth })).status, 400);
});

test('a graceful stop ends the open event streams (it does not wait for them)', async () => {
  const s = await openSse(`${app.url}/api/ui/stream?channels=health`, auth);
  await s.waitFor((ev) => ev.find((e) => e.type === 'sync'), 5000, 'sync');
  const started = Date.now();
  await app.stop();
  await s.closed;
  assert.ok(Date.now() - started < 8000, `stopped in ${Date.now() - started} ms`);
});
