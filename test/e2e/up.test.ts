import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { poll, runCli } from './helpers.js';

test('`wattflow up` (what npm start runs) serves live routers through the API within one polling interval, and stops gracefully on SIGTERM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-up-'));
  const cli = runCli(['up', '--port', '0'], { WATTFLOW__storage__dir: dir, KAFKA_BROKERS: '', INFLUX_URL: '' });
  try {
    const [, url] = await cli.waitFor(/routers API:\s+(http:\/\/\S+)\/api\/routers/);
    // loopback with no token configured: open, and the banner says so
    await cli.waitFor(/auth: +WARNING: OFF — anyone who can reach 127\.0\.0\.1 may read, ingest, upload and deploy/);
    const started = Date.now();
    const routers = await poll(async () => {
      const res = await fetch(`${url}/api/routers`);
      const body = (await res.json()) as { polling_interval: number; routers: Array<{ id: string; latest: Record<string, number> | null }> };
      return body.routers.find((r) => r.id === 'r1')?.latest ? body : undefined;
    }, 12_000);
    const elapsed = (Date.now() - started) / 1000;
    assert.ok(elapsed <= routers.polling_interval + 2, `first prediction after ${elapsed.toFixed(1)} s (interval ${routers.polling_interval} s)`);
    const r1 = routers.routers.find((r) => r.id === 'r1')!.latest!;
    assert.ok(Math.abs(r1.occupation! - 100) <= 2);
    assert.ok(Math.abs(r1.packet_length! - 1200) <= 0.5);
    assert.ok(Math.abs(r1.power! - 719.04) <= 0.5);
    const latest = (await (await fetch(`${url}/api/routers/r1/latest`)).json()) as { output_ml_metrics: Array<{ name: string }> };
    assert.equal(latest.output_ml_metrics[0]!.name, 'node_network_power_consumption_wats');
    const series = (await (await fetch(`${url}/api/routers/r1/series?metric=power&from=-5m`)).json()) as { points: unknown[] };
    assert.ok(series.points.length >= 1);
    const bad = await fetch(`${url}/api/routers/r1/series?metric=nonsense`);
    assert.equal(bad.status, 400);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /wattflow_messages_out_total\{stage="inference"\} \d+/);
    assert.match(metrics, /wattflow_hop_latency_seconds_bucket\{le="[^"]+",hop="end_to_end"\}/);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
  } finally {
    const code = await cli.stop();
    assert.equal(code, 0, cli.output().slice(-2000));
    assert.match(cli.output(), /shutting down gracefully/);
    assert.match(cli.output(), /"msg":"stopped"/);
  }
});

test('an invalid configuration file exits with status 2 naming the file, the path and the reason', async () => {
  const { writeFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-badcfg-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'collector:\n  timeoutMs: soon\n');
  const cli = runCli(['collector', '--config', file]);
  const code = await cli.exited;
  assert.equal(code, 2);
  assert.match(cli.output(), new RegExp(`invalid configuration in ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} at /collector/timeoutMs: must be integer`));
});

test('a bad dummy formula stops the start with exit 2, naming the file and the position', async () => {
  const { writeFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-badformula-'));
  writeFileSync(join(dir, 'default.txt'), 'energy_consumption = "700 + 20 * x * (x - 0.0008 * y"\n');
  const cli = runCli(['inference', '--port', '0'], { WATTFLOW__network__formulaDir: dir, KAFKA_BROKERS: '' });
  const code = await cli.exited;
  assert.equal(code, 2);
  assert.match(cli.output(), new RegExp(`${join(dir, 'default.txt').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:1:53: missing '\\)'`));
});
