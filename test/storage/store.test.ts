/**
 * The TimeSeriesStore contract, run against both implementations (SQLite in a temp dir, and in
 * memory): append/latest/range/listSeries, idempotent re-append, retention, key-value API; and
 * for SQLite: reopening keeps everything, a crashed owner's lock is recovered, a live owner is
 * refused, the append rate.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryStore, openTimeSeriesStore, SqliteStore, type SeriesRow, type TimeSeriesStore } from '../../src/storage/index.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'wattflow-store-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const HOUR = 3_600_000;
const NOW = 1_750_000_000_000;

const implementations: Array<[string, (opts?: { retentionHours?: number; dir?: string }) => Promise<TimeSeriesStore>]> = [
  ['sqlite', async (o = {}) => new SqliteStore({ dir: o.dir ?? tempDir(), retentionHours: o.retentionHours ?? 24, now: () => NOW, pruneIntervalMs: 0 })],
  ['memory', async (o = {}) => new MemoryStore({ retentionHours: o.retentionHours ?? 24, now: () => NOW, pruneIntervalMs: 0 })],
];

const row = (series: string, tsMs: number, power: number, extra: Partial<SeriesRow> = {}): SeriesRow => ({
  series,
  tsMs,
  fields: { power, occupation: power / 10 },
  tags: { router: series.split('/')[1] ?? '' },
  doc: JSON.stringify({ series, tsMs, power }),
  ...extra,
});

for (const [name, open] of implementations) {
  describe(`TimeSeriesStore (${name})`, () => {
    test('append, latest (with tags and doc), listSeries with prefix', async () => {
      const s = await open();
      assert.equal(await s.latest('router/r1'), undefined);
      await s.append([row('router/r1', NOW - 2000, 700), row('router/r1', NOW - 1000, 710), row('router/r2', NOW - 500, 650), row('vehicle/v1', NOW, 1)]);
      const l = await s.latest('router/r1');
      assert.deepEqual(l, {
        tsMs: NOW - 1000,
        fields: { power: 710, occupation: 71 },
        tags: { router: 'r1' },
        doc: JSON.stringify({ series: 'router/r1', tsMs: NOW - 1000, power: 710 }),
      });
      assert.deepEqual(await s.listSeries('router/'), [
        { series: 'router/r1', latestTsMs: NOW - 1000 },
        { series: 'router/r2', latestTsMs: NOW - 500 },
      ]);
      assert.deepEqual(
        (await s.listSeries()).map((x) => x.series),
        ['router/r1', 'router/r2', 'vehicle/v1'],
      );
      assert.deepEqual(await s.listSeries('nothing/'), []);
      assert.deepEqual(await s.listSeries('router/%'), [], 'prefix is literal (no LIKE wildcards)');
      await s.close();
    });

    test('a late, older row does not replace latest; same timestamp replaces (idempotent redelivery)', async () => {
      const s = await open();
      await s.append([row('router/r1', NOW, 700)]);
      await s.append([row('router/r1', NOW - 5000, 600)]);
      assert.equal((await s.latest('router/r1'))?.fields.power, 700);
      await s.append([row('router/r1', NOW, 705), row('router/r1', NOW, 706)]);
      assert.equal((await s.latest('router/r1'))?.fields.power, 706);
      const r = await s.range('router/r1', 'power', 0, NOW);
      assert.deepEqual(r, [
        { tsMs: NOW - 5000, value: 600 },
        { tsMs: NOW, value: 706 },
      ]);
      await s.close();
    });

    test('range: bounds inclusive, oldest first, limit, missing fields skipped, odd field names', async () => {
      const s = await open();
      const rows: SeriesRow[] = [];
      for (let i = 0; i < 100; i++) rows.push(row('router/r1', NOW - 100_000 + i * 1000, i));
      rows.push({ series: 'router/r1', tsMs: NOW + 1, fields: { occupation: 5 } });
      rows.push({ series: 'router/r1', tsMs: NOW + 2, fields: { 'we"ird.key name': 3.5, power: NaN } });
      await s.append(rows);
      const all = await s.range('router/r1', 'power', NOW - 100_000, NOW + 10);
      assert.equal(all.length, 100, 'rows without power (absent or NaN) are skipped');
      const window = await s.range('router/r1', 'power', NOW - 90_000, NOW - 80_000);
      assert.deepEqual(
        window.map((p) => p.value),
        [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20],
      );
      const limited = await s.range('router/r1', 'power', NOW - 100_000, NOW, 3);
      assert.deepEqual(
        limited.map((p) => p.tsMs),
        [NOW - 100_000, NOW - 99_000, NOW - 98_000],
      );
      assert.deepEqual(await s.range('router/r1', 'we"ird.key name', 0, NOW + 10), [{ tsMs: NOW + 2, value: 3.5 }]);
      assert.deepEqual(await s.range('router/unknown', 'power', 0, NOW), []);
      assert.deepEqual((await s.latest('router/r1'))?.fields, { 'we"ird.key name': 3.5 }, 'non-finite fields are not stored');
      await s.close();
    });

    test('fractional timestamps are rounded to ms; invalid rows reject the whole append', async () => {
      const s = await open();
      await s.append([row('router/r1', NOW + 0.6, 1)]);
      assert.equal((await s.latest('router/r1'))?.tsMs, NOW + 1);
      await assert.rejects(s.append([row('router/r2', NOW, 1), { series: 'router/r2', tsMs: NaN, fields: {} }]), /tsMs/);
      assert.equal(await s.latest('router/r2'), undefined, 'nothing of the failed append');
      await assert.rejects(s.append([{ series: '', tsMs: NOW, fields: {} }]), /series/);
      await s.close();
    });

    test('retention: rows older than retentionHours are pruned, with series whose latest is older', async () => {
      const s = await open({ retentionHours: 1 });
      await s.append([
        row('router/r1', NOW - 3 * HOUR, 1),
        row('router/r1', NOW - 2 * HOUR, 2),
        row('router/r1', NOW - 10 * 60_000, 3),
        row('router/old', NOW - 5 * HOUR, 9),
      ]);
      const deleted = await s.prune(NOW);
      assert.equal(deleted, 3);
      assert.deepEqual(
        (await s.range('router/r1', 'power', 0, NOW)).map((p) => p.value),
        [3],
      );
      assert.equal(await s.latest('router/old'), undefined);
      assert.deepEqual(
        (await s.listSeries()).map((x) => x.series),
        ['router/r1'],
      );
      await s.append([row('router/old', NOW, 4)]);
      assert.equal((await s.latest('router/old'))?.fields.power, 4, 'a pruned series can come back');
      await s.close();
    });

    test('key-value API: put/get/list by prefix/delete, JSON values', async () => {
      const s = await open();
      assert.equal(await s.kvGet('models/huawei'), undefined);
      await s.kvPut('models/huawei', { version: 3, path: 'm.onnx' });
      await s.kvPut('models/cisco', { version: 1 });
      await s.kvPut('other/x', 'text');
      await s.kvPut('models/huawei', { version: 4, path: 'm4.onnx' });
      assert.deepEqual(await s.kvGet('models/huawei'), { version: 4, path: 'm4.onnx' });
      const list = await s.kvList<{ version: number }>('models/');
      assert.deepEqual(
        list.map((e) => [e.key, e.value.version, e.updatedMs]),
        [
          ['models/cisco', 1, NOW],
          ['models/huawei', 4, NOW],
        ],
      );
      assert.equal((await s.kvList()).length, 3);
      assert.equal(await s.kvDelete('models/cisco'), true);
      assert.equal(await s.kvDelete('models/cisco'), false);
      assert.equal(await s.kvGet('models/cisco'), undefined);
      await assert.rejects(s.kvPut('bad', undefined), /JSON/);
      await s.close();
      await s.close(); // idempotent
      await assert.rejects(s.kvGet('x'), /closed/);
    });
  });
}

describe('SqliteStore: persistence and ownership', () => {
  test('reopening the directory keeps series, history, latest doc and kv', async () => {
    const dir = tempDir();
    const a = new SqliteStore({ dir, retentionHours: 24, now: () => NOW });
    await a.append([row('router/r1', NOW - 1000, 1), row('router/r1', NOW, 2)]);
    await a.kvPut('k', { a: 1 });
    await a.close();
    assert.ok(!existsSync(join(dir, 'wattflow.db.lock')), 'lock released');
    assert.ok(!existsSync(join(dir, 'wattflow.db.pid')), 'pid file removed');
    const b = new SqliteStore({ dir, retentionHours: 24, now: () => NOW });
    assert.deepEqual((await b.latest('router/r1'))?.doc, JSON.stringify({ series: 'router/r1', tsMs: NOW, power: 2 }));
    assert.equal((await b.range('router/r1', 'power', 0, NOW)).length, 2);
    assert.deepEqual(await b.kvGet('k'), { a: 1 });
    await b.append([row('router/r1', NOW + 1000, 3)]);
    assert.equal((await b.latest('router/r1'))?.fields.power, 3);
    await b.close();
  });

  test('a second open in the same process is refused with a clear error', async () => {
    const dir = tempDir();
    const a = new SqliteStore({ dir, retentionHours: 24 });
    assert.throws(() => new SqliteStore({ dir, retentionHours: 24 }), /already open in this process/);
    await a.close();
  });

  test('a live owner process is named; a crashed owner’s lock is recovered with its committed rows', async () => {
    const dir = tempDir();
    const tsx = join(fileURLToPath(new URL('../../', import.meta.url)), 'node_modules', 'tsx', 'dist', 'loader.mjs');
    const storeModule = new URL('../../src/storage/index.ts', import.meta.url).href;
    const script = join(dir, 'crash.mts');
    writeFileSync(
      script,
      `import { SqliteStore } from ${JSON.stringify(storeModule)};
       const s = new SqliteStore({ dir: ${JSON.stringify(dir)}, retentionHours: 24, now: () => ${NOW} });
       for (let i = 0; i < 10; i++) await s.append([{ series: 'router/r1', tsMs: ${NOW} + i, fields: { power: i } }]);
       process.kill(process.pid, 'SIGKILL');`,
    );
    const r = spawnSync(process.execPath, ['--import', tsx, script], { encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    assert.ok(existsSync(join(dir, 'wattflow.db.lock')), 'the crash left the VFS lock behind');

    // The pid file names a dead process: recovered.
    const s = new SqliteStore({ dir, retentionHours: 24, now: () => NOW });
    assert.deepEqual(
      (await s.range('router/r1', 'power', 0, NOW + 100)).map((p) => p.value),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    await s.close();

    // A live process (our parent) as owner: refused, naming it.
    writeFileSync(join(dir, 'wattflow.db.pid'), `${process.ppid}\n`);
    assert.throws(() => new SqliteStore({ dir, retentionHours: 24 }), new RegExp(`in use by process ${process.ppid}`));
    rmSync(join(dir, 'wattflow.db.pid'));
  });

  test('openTimeSeriesStore: SQLite for a directory, memory for "" / ":memory:"', async () => {
    const dir = tempDir();
    const a = await openTimeSeriesStore({ dir, retentionHours: 1 });
    assert.equal(a.kind, 'sqlite');
    assert.ok(existsSync(join(dir, 'wattflow.db')));
    await a.close();
    for (const d of ['', ':memory:', undefined]) {
      const m = await openTimeSeriesStore({ dir: d, retentionHours: 1 });
      assert.equal(m.kind, 'memory');
      await m.close();
    }
  });

  test('append rate (router rows, one transaction per 10-row append) and range speed', async (t) => {
    const s = new SqliteStore({ dir: tempDir(), retentionHours: 24, pruneIntervalMs: 0 });
    const doc = JSON.stringify({ pad: 'x'.repeat(1500) }); // an ML message is ~1.5 kB
    const batches = 300;
    let started = performance.now();
    for (let b = 0; b < batches; b++) {
      const rows: SeriesRow[] = [];
      for (let r = 0; r < 10; r++)
        rows.push({ series: `router/r${r}`, tsMs: NOW + b * 5000, fields: { power: 700 + b, occupation: 3, packet_length: 1464, packet_rate: 650, byte_rate_mbps: 7.6, power_rate_occupation: 0.1, power_rate_packet_length: -0.0008 }, tags: { router: `r${r}` }, doc });
      await s.append(rows);
    }
    const sec = (performance.now() - started) / 1000;
    t.diagnostic(`SQLite: ${batches} appends of 10 rows in ${sec.toFixed(2)} s = ${Math.round((batches * 10) / sec)} rows/s (${((sec / batches) * 1000).toFixed(2)} ms per append)`);
    started = performance.now();
    const r = await s.range('router/r3', 'power', 0, Number.MAX_SAFE_INTEGER);
    t.diagnostic(`range of ${r.length} points: ${(performance.now() - started).toFixed(1)} ms`);
    assert.equal(r.length, batches);
    await s.close();
  });
});
