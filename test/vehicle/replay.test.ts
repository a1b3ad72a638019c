/**
 * Replay tool against a fake API (real-time pacing with own time stamps, batches, 429/503
 * retries, 400 and unreachable errors) and the train-vehicle / replay-vehicle roles.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatReplayReport, replayVehicleLog, ReplayError } from '../../src/vehicle/replay/replay.js';
import { replayVehicleRole, trainVehicleRole } from '../../src/roles/vehicle.js';
import { UsageError } from '../../src/roles/common.js';
import { DS1 } from './helpers.js';

interface Req {
  at: number;
  url: string;
  auth: string | undefined;
  body: Array<{ signal: string; value: number; timestamp: number; unit?: string }>;
}

/** A fake Vehicle API: records requests, answers from a script of statuses (then 200). */
function fakeApi(script: number[] = []): Promise<{ server: Server; url: string; reqs: Req[] }> {
  const reqs: Req[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (d) => (data += d));
    req.on('end', () => {
      const status = script.shift() ?? 200;
      if (status !== 200) {
        res.writeHead(status, { 'content-type': 'application/json', 'retry-after': '0' });
        res.end(JSON.stringify({ error: `scripted ${status}` }));
        return;
      }
      const body = JSON.parse(data) as Req['body'];
      reqs.push({ at: performance.now(), url: req.url ?? '', auth: req.headers.authorization, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ accepted: body.length - 1, rejected: 1, duplicates: 0, flagged: 0, late: 0, vectors: 1, rejections: [{ index: 0, code: 'out_of_range', reason: 'too fast', signal: 'vehicle_speed' }], flags: [] }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, reqs })));
}

let dir: string;
let small: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wf-replay-'));
  small = join(dir, 'SMALL.CSV');
  // two signals with their own time stamps over 2 s of log time
  writeFileSync(small, ',STAMP,Vehicle speed,STAMP,Engine torque,\n,, km/h,, Nm,\n,0.00,10,0.10,50,\n,1.00,11,1.10,51,\n,2.00,12,2.10,52,\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('replay', () => {
  test('real time (× speed): each sample at its own time stamp, with units', async () => {
    const api = await fakeApi();
    try {
      const start = 1_800_000_000_000;
      const t0 = performance.now();
      const r = await replayVehicleLog({ file: small, vehicleId: 'car 1', target: api.url, speed: 10, startMs: start, token: 'tok' });
      assert.equal(r.sent, 6);
      assert.equal(r.accepted + r.rejected, r.sent);
      assert.deepEqual(r.rejections, { out_of_range: { count: r.requests, example: 'vehicle_speed: too fast' } });
      const all = api.reqs.flatMap((q) => q.body);
      assert.deepEqual(all.map((m) => [m.signal, m.value, m.timestamp - start, m.unit]), [
        ['Vehicle speed', 10, 0, 'km/h'],
        ['Engine torque', 50, 100, 'Nm'],
        ['Vehicle speed', 11, 1000, 'km/h'],
        ['Engine torque', 51, 1100, 'Nm'],
        ['Vehicle speed', 12, 2000, 'km/h'],
        ['Engine torque', 52, 2100, 'Nm'],
      ]);
      // 2.1 s of log at × 10 ≈ 210 ms, samples spread over it (not one burst)
      const elapsed = api.reqs.at(-1)!.at - t0;
      assert.ok(elapsed >= 190 && elapsed < 1500, `elapsed ${elapsed}`);
      assert.ok(api.reqs.length >= 4, `${api.reqs.length} requests`);
      assert.equal(api.reqs[0]!.url, '/v1/vehicles/car%201/measurements');
      assert.equal(api.reqs[0]!.auth, 'Bearer tok');
      assert.match(formatReplayReport(r), /6\/6 measurements sent/);
    } finally {
      api.server.close();
    }
  });

  test('as fast as possible, in batches; 429 and 503 retried; the log ends "now"', async () => {
    const api = await fakeApi([429, 503]);
    try {
      const before = Date.now();
      const r = await replayVehicleLog({ file: DS1, vehicleId: 'car', target: api.url, asFastAsPossible: true, batchSize: 1000 });
      assert.equal(r.sent, 5376);
      assert.equal(r.retries, 2);
      assert.equal(api.reqs.length, 6);
      const last = api.reqs.at(-1)!.body.at(-1)!.timestamp;
      assert.ok(Math.abs(last - before) < 2000, 'the last sample is stamped about now');
    } finally {
      api.server.close();
    }
  });

  test('a 400 stops the replay with the reason; an unreachable API fails after the retries', async () => {
    const api = await fakeApi([400]);
    try {
      await assert.rejects(replayVehicleLog({ file: small, vehicleId: 'car', target: api.url, asFastAsPossible: true }), (e: unknown) => e instanceof ReplayError && /HTTP 400: scripted 400/.test(e.message));
    } finally {
      api.server.close();
    }
    await assert.rejects(replayVehicleLog({ file: small, vehicleId: 'car', target: 'http://127.0.0.1:1', asFastAsPossible: true, maxRetries: 1 }), /cannot reach http:\/\/127\.0\.0\.1:1/);
  });
});

describe('roles', () => {
  test('train-vehicle writes the artifact; replay-vehicle usage errors', async () => {
    const out = join(dir, 'm', 'model.json');
    const log = console.log;
    const lines: string[] = [];
    console.log = (...a: unknown[]) => void lines.push(a.join(' '));
    try {
      assert.equal(await trainVehicleRole.run(['--data', DS1, '--out', out, '--trees', '10', '--seed', '3']), 0);
    } finally {
      console.log = log;
    }
    assert.ok(existsSync(out));
    assert.equal(JSON.parse(readFileSync(out, 'utf8')).training.trees, 10);
    assert.match(lines.join('\n'), /DS1_stopped_with_ignition_on_25Jan24_124019: 5376 measurements → 671 vectors/);
    await assert.rejects(trainVehicleRole.run([]), UsageError);
    await assert.rejects(trainVehicleRole.run(['--data', join(dir, 'nope.csv')]), /no such file/);
    await assert.rejects(replayVehicleRole.run(['--vehicle-id', 'x']), /--file is required/);
    await assert.rejects(replayVehicleRole.run(['--file', small]), /--vehicle-id is required/);
    await assert.rejects(replayVehicleRole.run(['--file', small, '--vehicle-id', 'x', '--speed', '2', '--as-fast-as-possible']), /exclude each other/);
    await assert.rejects(replayVehicleRole.run(['--file', small, '--vehicle-id', 'x', '--speed', '0']), /--speed must be a positive number/);
  });
});
