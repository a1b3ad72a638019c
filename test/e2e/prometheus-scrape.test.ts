/**
 * The real Prometheus scrapes a wattflow process's /metrics (file-based discovery of
 * scripts/services/prometheus.sh): the exposition is valid for Prometheus and the platform's
 * own metrics are queryable — the path a Kepler-style energy exporter will follow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCollector } from '../../src/collector/collector.js';
import { startComponents } from '../../src/core/lifecycle.js';
import { silentLogger } from '../../src/core/logger.js';
import { service } from '../helpers/services.js';
import { poll } from './helpers.js';

const prometheus = service('PROMETHEUS_URL', 'Prometheus server');
const targets = service('PROMETHEUS_TARGETS_DIR', 'Prometheus file-discovery directory (scripts/services/prometheus.sh)');

test('Prometheus scrapes a wattflow role and its metrics are queryable', { skip: prometheus.skip || targets.skip, timeout: 60_000 }, async () => {
  const run = randomUUID().slice(0, 8);
  const app = await startComponents([createCollector({ allowTargets: [], allowAnyTarget: false, timeoutMs: 1000, maxResponseBytes: 1 << 20 })], {
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger(),
  });
  const file = join(targets.value, `wattflow-test-${run}.json`);
  try {
    writeFileSync(file, JSON.stringify([{ targets: [new URL(app.url).host], labels: { run } }]));
    const query = async (q: string) => {
      const url = new URL('/api/v1/query', prometheus.value);
      url.searchParams.set('query', q);
      const body = (await (await fetch(url)).json()) as { status: string; data: { result: Array<{ value: [number, string] }> } };
      assert.equal(body.status, 'success');
      return body.data.result;
    };
    const up = await poll(async () => {
      const r = await query(`up{job="wattflow",run="${run}"}`);
      return r.length > 0 && r[0]!.value[1] === '1' ? r : undefined;
    }, 45_000, 500);
    assert.equal(up[0]!.value[1], '1');
    const rss = await query(`wattflow_process_resident_memory_bytes{run="${run}"}`);
    assert.ok(Number(rss[0]!.value[1]) > 10e6, 'the platform\'s own resource metrics reach Prometheus');
  } finally {
    rmSync(file, { force: true });
    await app.stop();
  }
});
