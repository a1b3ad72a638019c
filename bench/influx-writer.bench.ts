/**
 * InfluxDB writer benchmark: line protocol encoding rate (router_power points: 7 fields, 4
 * tags; no network), then — with INFLUX_URL set — points/s written to the real InfluxDB
 * through InfluxWriter (batches of 5,000, 20 concurrent writers of 5,000 points), gzip off
 * and on. The database is dropped afterwards.
 *
 *   INFLUX_URL=http://127.0.0.1:8086 node --import tsx bench/influx-writer.bench.ts
 */
import { silentLogger } from '../src/core/logger.js';
import { encodePoint, type Point } from '../src/sinks/influx/line-protocol.js';
import { InfluxWriter } from '../src/sinks/influx/writer.js';

const POINTS = Number(process.env.BENCH_POINTS ?? 200_000);
const T0 = 1_750_000_000_000;

function point(i: number): Point {
  return {
    measurement: 'router_power',
    tags: { router: `r${i % 100}`, experiment_id: 'bench', router_type: 'huawei', model: 'dummy' },
    fields: {
      power: 700 + (i % 1000) * 0.013,
      occupation: (i % 100) + 0.5,
      packet_length: 1464,
      packet_rate: 650.8177749595993,
      byte_rate_mbps: 7.62,
      power_rate_occupation: 0.011,
      power_rate_packet_length: -0.0008,
    },
    timestampMs: T0 + Math.floor(i / 100) * 5000,
  };
}

const pts = Array.from({ length: POINTS }, (_, i) => point(i));

// Encoding only.
for (let i = 0; i < 20_000; i++) encodePoint(pts[i]!); // warm-up
let bytes = 0;
let t = performance.now();
for (const p of pts) bytes += encodePoint(p).line!.length;
let sec = (performance.now() - t) / 1000;
console.log(`encode: ${POINTS} points in ${sec.toFixed(3)} s = ${Math.round(POINTS / sec).toLocaleString('en')} points/s (${Math.round(bytes / POINTS)} B/line)`);

const url = process.env.INFLUX_URL;
if (!url) {
  console.log('INFLUX_URL not set: skipping the write benchmark');
} else {
  const db = `wf_bench_${process.pid}`;
  for (const gzip of [false, true]) {
    const w = new InfluxWriter(
      { url, apiVersion: 1, database: db, createDatabase: true, batchSize: 5000, flushIntervalMs: 100, maxBufferPoints: 100_000, maxRetries: 3, timeoutMs: 30_000 },
      silentLogger(),
      { gzipThresholdBytes: gzip ? 64 * 1024 : Infinity },
    );
    const shifted = pts.map((p) => ({ ...p, timestampMs: p.timestampMs + (gzip ? 1 : 0) }));
    t = performance.now();
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < POINTS; i += 5000) writes.push(w.write(shifted.slice(i, i + 5000)));
    await Promise.all(writes);
    sec = (performance.now() - t) / 1000;
    const s = w.stats();
    console.log(
      `write (gzip ${gzip ? 'on' : 'off'}): ${POINTS} points in ${sec.toFixed(2)} s = ${Math.round(POINTS / sec).toLocaleString('en')} points/s ` +
        `(${s.requests} requests, peak buffer ${s.peakBuffered})`,
    );
    await w.close();
  }
  await fetch(new URL('query', url.endsWith('/') ? url : `${url}/`), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ q: `DROP DATABASE "${db}"` }).toString(),
  });
}
