import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAppConfig } from '../../src/app-config.js';
import { ConfigError } from '../../src/core/config.js';

const dir = mkdtempSync(join(tmpdir(), 'wattflow-config-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test('defaults apply with no file', () => {
  const cfg = loadAppConfig(undefined, undefined, {});
  assert.equal(cfg.http.port, 8000);
  assert.equal(cfg.fabric.kind, 'memory');
  assert.deepEqual(cfg.collector.allowTargets, ['127.0.0.1:9100', 'localhost:9100']);
});

test('YAML and JSON files, then environment overrides', () => {
  const y = file('a.yaml', 'http:\n  port: 9001\ncollector:\n  timeoutMs: 1500\n');
  const cfg = loadAppConfig(y, undefined, { KAFKA_BROKERS: 'h1:9092, h2:9092', WATTFLOW__collector__allowAnyTarget: 'true' });
  assert.equal(cfg.http.port, 9001);
  assert.equal(cfg.collector.timeoutMs, 1500);
  assert.equal(cfg.fabric.kind, 'kafka');
  assert.deepEqual(cfg.fabric.kafka.brokers, ['h1:9092', 'h2:9092']);
  assert.equal(cfg.collector.allowAnyTarget, true);
  const j = file('b.json', '{"http": {"host": "0.0.0.0"}}');
  assert.equal(loadAppConfig(j, undefined, { PORT: '7000' }).http.port, 7000);
});

test('an invalid configuration names the file, the JSON path and the reason', () => {
  const bad = file('bad.yaml', 'collector:\n  timeoutMs: soon\n');
  assert.throws(
    () => loadAppConfig(bad, undefined, {}),
    (err: unknown) => err instanceof ConfigError && err.path === '/collector/timeoutMs' && /integer/.test(err.reason) && err.message.includes(bad),
  );
  const unknown = file('unknown.json', '{"colector": {}}');
  assert.throws(() => loadAppConfig(unknown, undefined, {}), (err: unknown) => err instanceof ConfigError && err.path === '/colector' && /unknown setting/.test(err.reason));
  const broken = file('broken.json', '{"http": ');
  assert.throws(() => loadAppConfig(broken, undefined, {}), /not valid JSON/);
  assert.throws(() => loadAppConfig(join(dir, 'missing.yaml'), undefined, {}), /cannot read file/);
  assert.throws(() => loadAppConfig(undefined, undefined, { PORT: '99999' }), (err: unknown) => err instanceof ConfigError && err.path === '/http/port' && /environment variable PORT/.test(err.message));
  // an error in the file is reported against the file even when other settings come from the environment
  assert.throws(() => loadAppConfig(bad, undefined, { WATTFLOW_LOG_LEVEL: 'debug' }), (err: unknown) => err instanceof ConfigError && err.source === bad);
});
