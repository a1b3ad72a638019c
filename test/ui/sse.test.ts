/**
 * The web UI's event stream (GET /api/ui/stream, src/ui/hub.ts) over real HTTP, with the hub
 * driven by hand so that every event is known: the latest state of every router on connect,
 * an event for every router as states change, resume with Last-Event-ID (replay of what was
 * missed; beyond the replay ring or after a restart a reset and the latest state — never a lost
 * latest state), filters, refusals, and a slow client whose events are coalesced instead of
 * piling up.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { loadAppConfig } from '../../src/app-config.js';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { silentLogger } from '../../src/core/logger.js';
import { ExperimentSource, normalizeExperiment } from '../../src/router-power/experiment.js';
import { createUi, type Ui } from '../../src/ui/index.js';
import type { RouterState } from '../../src/ui/projections.js';
import { openSse, type SseEvent } from './sse-client.js';
import { waitFor } from '../helpers/wait-for.js';

const ROUTERS = 1000;
const ids = Array.from({ length: ROUTERS }, (_, i) => `edge-${String(i).padStart(4, '0')}`);

function experiment(): ExperimentSource {
  return new ExperimentSource(
    normalizeExperiment(
      {
        experiment_id: 'sse',
        flag_original_metrics: false,
        flag_debug_params: false,
        max_throughput_mbps: 100,
        polling_interval: 1,
        multiplier: 1,
        routers: ids.map((id) => ({ [id]: { topic: 'TD', interfaces: ['eth0'], source: 'synthetic' } })),
      },
      'inline',
    ),
  );
}

let t = Date.UTC(2026, 0, 1);
const state = (id: string, power: number): RouterState => ({
  id,
  t: t,
  power,
  occupation: power / 10,
  packet_length: 1000,
  packet_rate: 100,
  byte_rate_mbps: 1,
  power_rate_occupation: 1,
  power_rate_packet_length: -0.001,
  model: 'formula dummy:huawei',
  model_type: 'dummy',
  model_version: 'abc',
  router_type: 'huawei',
});
/** One new state for every router (a "round"); returns the powers set. */
function round(ui: Ui, base: number): Map<string, number> {
  t += 1000;
  const set = new Map<string, number>();
  ids.forEach((id, i) => {
    const p = base + i / 1000;
    set.set(id, p);
    ui.hub.acceptRouterState(state(id, p));
  });
  return set;
}

/** Per router, the power of the last router event (in order). */
const latestPowers = (events: SseEvent[]) => {
  const m = new Map<string, number>();
  for (const e of events) if (e.type === 'router') m.set(e.data.id, e.data.power);
  return m;
};

let app: RunningApp;
let ui: Ui;
let small: { app: RunningApp; ui: Ui };

async function serve(over: Record<string, unknown>): Promise<{ app: RunningApp; ui: Ui }> {
  const cfg = loadAppConfig(undefined, { '/energy/enabled': false, ...over }, {});
  const u = createUi({ cfg, logger: silentLogger(), experiment: experiment(), role: 'test' });
  const a = await startComponents([u.component], { host: '127.0.0.1', port: 0, logger: silentLogger() });
  return { app: a, ui: u };
}

before(async () => {
  ({ app, ui } = await serve({ '/ui/replayEvents': 5000 }));
  small = await serve({ '/ui/replayEvents': 100, '/ui/maxStreams': 3 });
});
after(async () => {
  await app?.stop();
  await small?.app.stop();
});

test('on connect: the latest state of every router (1,000), then sync; then an event for every router as they change', async () => {
  const first = round(ui, 100);
  const s = await openSse(`${app.url}/api/ui/stream?channels=routers`);
  try {
    assert.equal(s.status, 200);
    const sync = await s.waitFor((ev) => ev.find((e) => e.type === 'sync'), 10_000, 'sync');
    assert.equal(sync.data.mode, 'snapshot');
    assert.equal(s.events[0]!.type, 'hello');
    assert.equal(s.events[0]!.data.routers, ROUTERS);
    assert.deepEqual(latestPowers(s.events), first, 'the snapshot holds every router\'s latest state');
    const afterSync = s.events.length;
    const second = round(ui, 200);
    await s.waitFor((ev) => ev.length >= afterSync + ROUTERS, 10_000, 'an event per router');
    const live = s.events.slice(afterSync).filter((e) => e.type === 'router');
    assert.equal(new Set(live.map((e) => e.data.id)).size, ROUTERS, 'events arrive for every router');
    assert.deepEqual(latestPowers(s.events), second);
    // ids increase: Last-Event-ID is meaningful
    const seqs = live.map((e) => Number(e.id.split('-')[1]));
    assert.ok(seqs.every((x, i) => i === 0 || x > seqs[i - 1]!));
  } finally {
    s.close();
  }
});

test('reconnect with Last-Event-ID replays exactly the missed events; the latest state of every router is there', async () => {
  round(ui, 300);
  const s1 = await openSse(`${app.url}/api/ui/stream?channels=routers`);
  await s1.waitFor((ev) => ev.find((e) => e.type === 'sync'), 10_000, 'sync');
  const seen = latestPowers(s1.events);
  const lastId = s1.lastEventId;
  s1.close();
  await s1.closed;
  // while disconnected: three rounds (3,000 events, within the 5,000 kept)
  round(ui, 400);
  round(ui, 500);
  const final = round(ui, 600);
  const s2 = await openSse(`${app.url}/api/ui/stream?channels=routers`, { 'last-event-id': lastId });
  try {
    const sync = await s2.waitFor((ev) => ev.find((e) => e.type === 'sync'), 10_000, 'sync');
    assert.equal(sync.data.mode, 'replay');
    const replayed = s2.events.filter((e) => e.type === 'router');
    assert.equal(replayed.length, 3 * ROUTERS, 'every missed event, once');
    const lastSeq = Number(lastId.split('-')[1]);
    assert.equal(Number(replayed[0]!.id.split('-')[1]), lastSeq + 1, 'resumes right after the last event received');
    const merged = new Map([...seen, ...latestPowers(s2.events)]);
    assert.deepEqual(merged, final, 'no latest state lost');
  } finally {
    s2.close();
  }
});

test('beyond the replay ring, or after a restart: a reset event and the latest state of every router that changed', async () => {
  round(small.ui, 1);
  const s1 = await openSse(`${small.app.url}/api/ui/stream?channels=routers`);
  await s1.waitFor((ev) => ev.find((e) => e.type === 'sync'), 10_000, 'sync');
  const lastId = s1.lastEventId;
  s1.close();
  await s1.closed;
  const final = round(small.ui, 2); // 1,000 events: the ring keeps 100
  const s2 = await openSse(`${small.app.url}/api/ui/stream?channels=routers`, { 'last-event-id': lastId });
  try {
    const sync = await s2.waitFor((ev) => ev.find((e) => e.type === 'sync'), 10_000, 'sync');
    assert.equal(sync.data.mode, 'reset');
    assert.ok(s2.events.some((e) => e.type === 'reset'), 'the client is told to reload its history');
    assert.deepEqual(latestPowers(s2.events), final);
  } finally {
    s2.close();
  }
  // an id from another process run (the server restarted): everything
  const s3 = await openSse(`${small.app.url}/api/ui/stream?channels=routers`, { 'last-event-id': 'ffffffff-12' });
  try {
    const sync = await s3.waitFor((ev) => ev.find((e) => e.type === 'sync'), 10_000, 'sync');
    assert.equal(sync.data.mode, 'reset');
    assert.equal(latestPowers(s3.events).size, ROUTERS);
  } finally {
    s3.close();
  }
});

test('filters: only the routers asked for; other channels only', async () => {
  const s = await openSse(`${app.url}/api/ui/stream?channels=routers&routers=edge-0001,edge-0002`);
  const h = await openSse(`${app.url}/api/ui/stream?channels=health`);
  try {
    await s.waitFor((ev) => ev.find((e) => e.type === 'sync'), 5000, 'sync');
    round(ui, 700);
    await s.waitFor((ev) => ev.filter((e) => e.type === 'router').length >= 4, 5000, 'the two routers\' events');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual([...new Set(s.events.filter((e) => e.type === 'router').map((e) => e.data.id))].sort(), ['edge-0001', 'edge-0002']);
    await h.waitFor((ev) => ev.find((e) => e.type === 'health'), 5000, 'a health event');
    assert.equal(h.events.filter((e) => e.type === 'router').length, 0);
  } finally {
    s.close();
    h.close();
  }
});

test('refusals: no text/event-stream Accept → 406 naming it; unknown channel → 400; over ui.maxStreams → 503', async () => {
  const plain = await fetch(`${app.url}/api/ui/stream`);
  assert.equal(plain.status, 406);
  assert.match(((await plain.json()) as { error: string }).error, /text\/event-stream/);
  const bad = await fetch(`${app.url}/api/ui/stream?channels=routers,nope`, { headers: { accept: 'text/event-stream' } });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /channels.*nope/);
  const open = await Promise.all([1, 2, 3].map(() => openSse(`${small.app.url}/api/ui/stream?channels=health`)));
  try {
    const fourth = await fetch(`${small.app.url}/api/ui/stream`, { headers: { accept: 'text/event-stream' } });
    assert.equal(fourth.status, 503);
    assert.ok(fourth.headers.get('retry-after'));
  } finally {
    for (const c of open) c.close();
  }
});

test('a client that does not read is coalesced (the latest state per router), not buffered without bound; it then gets every router\'s latest state', async () => {
  const url = new URL(`${app.url}/api/ui/stream?channels=routers&routers=${ids.slice(0, 10).join(',')}`);
  const chunks: string[] = [];
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get({ host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, headers: { accept: 'text/event-stream' } }, resolve).on('error', reject);
  });
  res.pause();
  const before = ui.hub.currentSeq;
  let final = new Map<string, number>();
  // 3,000 rounds × 10 followed routers, large enough to fill the socket buffers
  for (let k = 0; k < 3000; k++) {
    t += 1000;
    for (const id of ids.slice(0, 10)) {
      const p = 1000 + k + Number(id.slice(-4)) / 100;
      ui.hub.acceptRouterState({ ...state(id, p), model: `formula dummy:huawei ${'x'.repeat(400)}` });
      final.set(id, p);
    }
    if (k % 100 === 0) await new Promise((r) => setImmediate(r));
  }
  assert.ok(ui.hub.currentSeq - before >= 30_000);
  res.setEncoding('utf8');
  res.on('data', (c: string) => chunks.push(c));
  res.resume();
  let got = new Map<string, number>();
  const latestArrived = () => {
    got = new Map();
    for (const m of chunks.join('').matchAll(/event: router\ndata: (\{.*\})/g)) {
      const d = JSON.parse(m[1]!) as RouterState;
      got.set(d.id, d.power!);
    }
    return got.size === 10 && [...final].every(([id, p]) => got.get(id) === p);
  };
  // on a timeout the deepEqual below shows what differs
  await waitFor(latestArrived, 10_000, 'every router\'s latest state', { intervalMs: 50 }).catch(() => undefined);
  res.destroy();
  assert.deepEqual(got, final, 'every router\'s latest state arrives');
  const delivered = chunks.join('').split('event: router').length - 1;
  assert.ok(delivered < 30_000, `coalesced: ${delivered} of 30,000 events were written`);
  final = new Map();
});
