/**
 * The chart's files that need no Helm engine: the generated values.schema.json and the copy of
 * the Grafana provisioning are up to date; no values file holds a secret; the CI installs the
 * Helm engine (scripts/services/helm.sh in start-all.sh).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { coalesce, valuesSecretProblems } from '../../scripts/deploy/chart-check.js';
import { grafanaSyncProblems } from '../../scripts/deploy/sync-grafana.js';
import { generateValuesSchema, SCHEMA_FILE } from '../../scripts/deploy/values-schema.js';
import { REPO } from '../../scripts/deploy/helm.js';

test('values.schema.json is what scripts/deploy/values-schema.ts generates from values.yaml', () => {
  assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), generateValuesSchema(), 'run: node --import tsx scripts/deploy/values-schema.ts');
  const schema = JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as { additionalProperties: boolean; properties: Record<string, { additionalProperties?: unknown }> };
  assert.equal(schema.additionalProperties, false, 'unknown top-level keys are refused');
  assert.equal(schema.properties.vehicleApi!.additionalProperties, false);
});

test("the chart's copy of deploy/grafana (files/grafana) is up to date", () => {
  assert.deepEqual(grafanaSyncProblems(), [], 'run: node --import tsx scripts/deploy/sync-grafana.ts');
});

test('no values file of the chart holds a secret value (only references {name, key})', () => {
  const files = [join(REPO, 'deploy/helm/wattflow/values.yaml'), ...readdirSync(join(REPO, 'deploy/helm/values')).map((f) => join(REPO, 'deploy/helm/values', f)), ...readdirSync(join(REPO, 'test/deploy/fixtures/values')).map((f) => join(REPO, 'test/deploy/fixtures/values', f))];
  for (const f of files) assert.deepEqual(valuesSecretProblems(f, parseYaml(readFileSync(f, 'utf8'))), [], f);
  // and the check finds one
  assert.deepEqual(valuesSecretProblems('v.yaml', { kafka: { sasl: { password: 'x1' } }, registry: { s3: { credentialsSecret: { name: 's3', secretAccessKeyKey: 'k' } } } }), ['v.yaml: kafka.sasl.password: a secret value in plain values — reference a Secret instead ({name, key})']);
});

test("values files are coalesced as Helm does (maps merge, lists and scalars replace, null deletes)", () => {
  assert.deepEqual(coalesce({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, d: null }), { a: { b: 1, c: [3] } });
});

test('CI installs the Helm engine: start-all.sh runs scripts/services/helm.sh, which exports WATTFLOW_HELM_CLASSPATH_FILE', () => {
  assert.match(readFileSync(join(REPO, 'scripts/services/start-all.sh'), 'utf8'), /ALL_SERVICES=\([^)]*\bhelm\b/);
  assert.match(readFileSync(join(REPO, 'scripts/services/helm.sh'), 'utf8'), /emit "WATTFLOW_HELM_CLASSPATH_FILE=/);
});
