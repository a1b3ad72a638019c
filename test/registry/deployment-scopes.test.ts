/**
 * Which deployment a router uses (src/registry/control.ts): scope keys, their parsing and
 * description, the most specific scope with a target winning (router > router type > all; a
 * cleared scope falls through), and which control messages are deployment records at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  describeScope,
  effectiveRecord,
  parseDeploymentRecord,
  parseScopeKey,
  scopeKey,
  scopeKeysFor,
  targetLabel,
  type DeploymentRecord,
  type DeploymentTarget,
  type ModelTarget,
} from '../../src/registry/control.js';

const SHA = 'a'.repeat(64);
const model = (name: string, version: string, extra: Partial<ModelTarget> = {}): ModelTarget => ({
  kind: 'model',
  model: name,
  version,
  ref: `${name}@${version}`,
  model_type: 'linear',
  router_type: 'huawei',
  sha256: SHA,
  size: 10,
  artifact_uri: `s3://models/${name}/${version}.onnx`,
  metadata: {} as ModelTarget['metadata'],
  ...extra,
});

const rec = (key: string, target: DeploymentTarget | null, id = key): DeploymentRecord => ({ id, scope: parseScopeKey(key)!, target, deployed_at: '2026-01-01T00:00:00Z' });
const records = (...rs: DeploymentRecord[]) => new Map(rs.map((r) => [scopeKey(r.scope), r]));
const r1 = { id: 'r1', routerType: 'huawei' };

test('scope keys: one per kind, parsed back; anything else is not a scope', () => {
  const scopes = [{ kind: 'router', router: 'r1' }, { kind: 'router_type', router_type: 'huawei' }, { kind: 'all' }] as const;
  assert.deepEqual(scopes.map(scopeKey), ['router:r1', 'type:huawei', 'all']);
  for (const s of scopes) assert.deepEqual(parseScopeKey(scopeKey(s)), s);
  assert.deepEqual(parseScopeKey('router:a:b'), { kind: 'router', router: 'a:b' });
  for (const bad of ['', 'router:', 'type:', 'ALL', 'all ', 'router', 'type', 'x:r1', ' router:r1']) assert.equal(parseScopeKey(bad), undefined, JSON.stringify(bad));
  assert.deepEqual(scopes.map(describeScope), ['router r1', 'router type huawei', 'all routers']);
  assert.deepEqual(scopeKeysFor(r1), ['router:r1', 'type:huawei', 'all']);
});

test('the most specific scope with a target wins: router over router type over all', () => {
  const all = rec('all', model('m', '1'));
  const type = rec('type:huawei', model('m', '2'));
  const router = rec('router:r1', model('m', '3'));
  assert.equal(effectiveRecord(records(all, type, router), r1), router);
  assert.equal(effectiveRecord(records(all, type), r1), type);
  assert.equal(effectiveRecord(records(all), r1), all);
  assert.equal(effectiveRecord(records(), r1), undefined, 'none: the experiment model_type');
  // other routers and types are not this router's
  assert.equal(effectiveRecord(records(rec('router:r2', model('m', '4')), rec('type:cisco', model('m', '5'))), r1), undefined);
  assert.equal(effectiveRecord(records(rec('router:r2', model('m', '4')), all), r1), all);
});

test('a cleared scope (target null) falls through to the next one; the dummy is a target', () => {
  const all = rec('all', model('m', '1'));
  assert.equal(effectiveRecord(records(all, rec('type:huawei', null), rec('router:r1', null)), r1), all);
  const dummy = rec('type:huawei', { kind: 'dummy' });
  assert.equal(effectiveRecord(records(all, dummy, rec('router:r1', null)), r1), dummy);
  assert.equal(effectiveRecord(records(rec('all', null)), r1), undefined);
});

test('target labels', () => {
  assert.equal(targetLabel(model('ne40', '7')), 'ne40@7');
  assert.equal(targetLabel({ kind: 'dummy' }), 'dummy');
  assert.equal(targetLabel(null), '-');
  assert.equal(targetLabel(undefined), '-');
});

test('control messages: deployment records are parsed with their scope from the key; anything else is ignored', () => {
  const m = model('ne40', '7');
  const value = (target: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ id: 'd1', target, deployed_at: 'x', ...extra });
  assert.deepEqual(parseDeploymentRecord('router:r1', value(m)), { id: 'd1', target: m, deployed_at: 'x', scope: { kind: 'router', router: 'r1' } });
  assert.deepEqual(parseDeploymentRecord('all', value(null)), { id: 'd1', target: null, deployed_at: 'x', scope: { kind: 'all' } });
  assert.deepEqual(parseDeploymentRecord('type:cisco', value({ kind: 'dummy' }, { previous: m })), { id: 'd1', target: { kind: 'dummy' }, deployed_at: 'x', previous: m, scope: { kind: 'router_type', router_type: 'cisco' } });
  // the scope comes from the key, whatever the value says
  assert.deepEqual(parseDeploymentRecord('all', JSON.stringify({ id: 'd1', target: null, scope: { kind: 'router', router: 'zz' } }))!.scope, { kind: 'all' });

  const rejected: Array<[string, string, string]> = [
    ['all', '{not json', 'not JSON'],
    ['all', 'null', 'null'],
    ['all', '7', 'a number'],
    ['all', '"text"', 'a string'],
    ['status:w1', value(m), 'a key that is not a scope'],
    ['all', JSON.stringify({ target: m }), 'no id'],
    ['all', JSON.stringify({ id: 5, target: m }), 'id not a string'],
    ['all', JSON.stringify({ id: 'd1' }), 'no target'],
    ['all', value('model'), 'target not an object'],
    ['all', value(7), 'target a number'],
    ['all', value({ kind: 'other' }), 'unknown target kind'],
    ['all', value({ ...m, model: 3 }), 'model name not a string'],
    ['all', value({ ...m, version: 7 }), 'version not a string'],
    ['all', value({ ...m, sha256: 'abc' }), 'sha256 not 64 hex digits'],
    ['all', value({ ...m, sha256: `${SHA}0` }), 'sha256 too long'],
    ['all', value({ ...m, sha256: `x${SHA.slice(1)}` }), 'sha256 not hex'],
    ['all', value({ ...m, sha256: SHA.toUpperCase() }), 'sha256 upper case'],
    ['all', value({ ...m, artifact_uri: undefined }), 'no artifact location'],
    ['all', value({ ...m, metadata: undefined }), 'no metadata'],
    ['all', value({ ...m, metadata: 'x' }), 'metadata not an object'],
  ];
  for (const [key, v, why] of rejected) assert.equal(parseDeploymentRecord(key, v), undefined, why);
});
