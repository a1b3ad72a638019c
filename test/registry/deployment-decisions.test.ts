/**
 * The registry's deployment decisions (src/registry/deployment-resolution.ts), pure: the scopes
 * a request names, whether a version may be deployed there, the target it becomes, what a
 * switch clears, which scopes follow an alias, what a rollback restores, the records written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aliasFollowers,
  checkDeployable,
  checkRouterTypes,
  deploymentRecords,
  liveScopes,
  modelTarget,
  narrowerScopes,
  rollbackTarget,
  routerTypesOf,
  scopesDeploying,
  scopesOf,
  type RouterInventory,
} from '../../src/registry/deployment-resolution.js';
import { parseScopeKey, scopeKey, type DeploymentRecord, type DeploymentScope, type DeploymentTarget, type ModelTarget } from '../../src/registry/control.js';
import type { VersionRecord } from '../../src/registry/catalog.js';
import { RegistryError } from '../../src/registry/errors.js';

const ROUTERS = [
  { id: 'r1', routerType: 'huawei' },
  { id: 'r2', routerType: 'huawei' },
  { id: 'r3', routerType: 'cisco' },
];
const inventory: RouterInventory = { current: { routers: ROUTERS }, routerById: (id) => ROUTERS.find((r) => r.id === id) };
const version = (v: string, extra: Partial<VersionRecord> = {}): VersionRecord => ({
  model: 'ne40',
  version: v,
  created_at: 't',
  model_type: 'linear',
  router_type: 'huawei',
  sha256: 'a'.repeat(64),
  size: 42,
  artifact: { onnx: 'k.onnx', metadata: 'k.json', uri: `s3://b/ne40/${v}.onnx` },
  metadata: { name: 'ne40' } as unknown as VersionRecord['metadata'],
  ...extra,
});
const target = (v: string, alias?: string): ModelTarget => modelTarget(version(v), alias ? `ne40@${alias}` : `ne40@${v}`, alias, undefined);
const record = (key: string, t: DeploymentTarget | null, previous?: DeploymentTarget | null): DeploymentRecord => ({
  id: `id-${key}`,
  scope: parseScopeKey(key)!,
  target: t,
  deployed_at: 'x',
  ...(previous !== undefined ? { previous } : {}),
});
const desired = (...rs: DeploymentRecord[]) => new Map(rs.map((r) => [scopeKey(r.scope), r]));
const code = (c: string, message?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof RegistryError, String(err));
  assert.equal(err.code, c);
  if (message) assert.match(err.message, message);
  return true;
};

test('scopesOf: exactly one form; routers (deduplicated) and router types checked against the experiment', () => {
  assert.deepEqual(scopesOf({ routers: ['r1', 'r3', 'r1'] }, inventory), [{ kind: 'router', router: 'r1' }, { kind: 'router', router: 'r3' }]);
  assert.deepEqual(scopesOf({ routerType: 'cisco' }, inventory), [{ kind: 'router_type', router_type: 'cisco' }]);
  assert.deepEqual(scopesOf({ all: true }, inventory), [{ kind: 'all' }]);
  assert.deepEqual(scopesOf({ routers: [], routerType: 'cisco' }, inventory), [{ kind: 'router_type', router_type: 'cisco' }], 'an empty router list is no form');
  assert.deepEqual(scopesOf({ routers: ['zz'] }), [{ kind: 'router', router: 'zz' }], 'without an experiment nothing is checked');
  assert.deepEqual(scopesOf({ routerType: 'zz' }), [{ kind: 'router_type', router_type: 'zz' }]);
  for (const req of [{}, { routers: [] }, { all: false }, { routers: ['r1'], all: true }, { routerType: 'huawei', all: true }, { routers: ['r1'], routerType: 'huawei' }]) {
    assert.throws(() => scopesOf(req, inventory), code('INVALID', /^choose exactly one of: routers \(r1,r3\), a router type, or all$/), JSON.stringify(req));
  }
  assert.throws(() => scopesOf({ routers: ['r1', 'r9', 'r8'] }, inventory), code('UNKNOWN_ROUTER', /^unknown router\(s\) r9, r8 \(the experiment has r1, r2, r3\)$/));
  assert.throws(() => scopesOf({ routerType: 'juniper' }, inventory), code('UNKNOWN_ROUTER_TYPE', /^unknown router type "juniper" \(the experiment's router types: huawei, cisco\)$/));
});

test('routerTypesOf: the router types a scope covers', () => {
  assert.deepEqual(routerTypesOf({ kind: 'router_type', router_type: 'x' }), ['x']);
  assert.deepEqual(routerTypesOf({ kind: 'router', router: 'r3' }, inventory), ['cisco']);
  assert.deepEqual(routerTypesOf({ kind: 'router', router: 'r9' }, inventory), []);
  assert.deepEqual(routerTypesOf({ kind: 'all' }, inventory), ['huawei', 'cisco']);
  assert.equal(routerTypesOf({ kind: 'all' }), undefined);
  assert.equal(routerTypesOf({ kind: 'router', router: 'r1' }), undefined);
});

test('checkDeployable refuses a vehicle model; checkRouterTypes a model of another router type', () => {
  assert.doesNotThrow(() => checkDeployable(version('1'), 'ne40', undefined));
  assert.throws(() => checkDeployable(version('3', { kind: 'vehicle-anomaly' }), 'car', 'prod'), code('INVALID', /^car@3 is a vehicle model \(kind vehicle-anomaly\): it is served by `wattflow vehicle-predictor --model car@prod`, not deployed to inference workers$/));
  assert.throws(() => checkDeployable(version('3', { kind: 'vehicle-anomaly' }), 'car', undefined), code('INVALID', /--model car@3`/));
  const v = version('2');
  assert.doesNotThrow(() => checkRouterTypes(v, 'ne40', [{ kind: 'router', router: 'r1' }, { kind: 'router_type', router_type: 'huawei' }], inventory));
  assert.doesNotThrow(() => checkRouterTypes(v, 'ne40', [{ kind: 'all' }]), 'no experiment: nothing to check');
  assert.throws(() => checkRouterTypes(v, 'ne40', [{ kind: 'router', router: 'r1' }, { kind: 'router', router: 'r3' }], inventory), code('ROUTER_TYPE_MISMATCH', /^ne40@2 is a model of router type "huawei" but router r3 includes router type\(s\) cisco \(use force to deploy anyway\)$/));
  assert.throws(() => checkRouterTypes(v, 'ne40', [{ kind: 'all' }], inventory), code('ROUTER_TYPE_MISMATCH', /all routers includes router type\(s\) cisco/));
});

test('modelTarget: what a version becomes, with the alias followed and the download URL when the registry URL is known', () => {
  const v = version('7');
  assert.deepEqual(modelTarget(v, 'ne40@7', undefined, undefined), {
    kind: 'model',
    model: 'ne40',
    version: '7',
    ref: 'ne40@7',
    model_type: 'linear',
    router_type: 'huawei',
    sha256: 'a'.repeat(64),
    size: 42,
    artifact_uri: 's3://b/ne40/7.onnx',
    metadata: v.metadata,
  });
  const t = modelTarget(version('7', { model: 'a b' }), 'a b@prod', 'prod', 'http://reg:8080');
  assert.equal(t.alias, 'prod');
  assert.equal(t.download_url, 'http://reg:8080/api/registry/models/a%20b/versions/7/artifact');
  assert.equal('alias' in modelTarget(v, 'x', '', undefined), false, 'an empty alias is none');
});

test('narrowerScopes: what a switch on a broad scope clears (only scopes with a target, not those asked for)', () => {
  const d = desired(
    record('all', target('1')),
    record('type:huawei', target('2')),
    record('type:cisco', null),
    record('router:r1', target('3')),
    record('router:r3', target('4')),
    record('router:r9', target('5')), // not in the experiment
  );
  const keys = (s: DeploymentScope[]) => s.map(scopeKey);
  assert.deepEqual(keys(narrowerScopes([{ kind: 'all' }], d, inventory)), ['type:huawei', 'router:r1', 'router:r3', 'router:r9']);
  assert.deepEqual(keys(narrowerScopes([{ kind: 'router_type', router_type: 'huawei' }], d, inventory)), ['router:r1']);
  assert.deepEqual(keys(narrowerScopes([{ kind: 'router_type', router_type: 'huawei' }], d)), [], 'without an experiment no router is known to be of the type');
  assert.deepEqual(keys(narrowerScopes([{ kind: 'router', router: 'r1' }], d, inventory)), []);
  assert.deepEqual(keys(narrowerScopes([{ kind: 'all' }, { kind: 'router', router: 'r1' }], d, inventory)), ['type:huawei', 'router:r3', 'router:r9'], 'a scope asked for is not cleared');
});

test('liveScopes, aliasFollowers, scopesDeploying', () => {
  const d = desired(
    record('all', target('1', 'prod')),
    record('type:cisco', null),
    record('router:r1', target('2', 'prod')),
    record('router:r2', target('1')),
    record('router:r3', { kind: 'dummy' }),
    record('type:huawei', target('1', 'canary')),
  );
  assert.deepEqual(liveScopes([{ kind: 'all' }, { kind: 'router_type', router_type: 'cisco' }, { kind: 'router', router: 'r3' }, { kind: 'router', router: 'r8' }], d).map(scopeKey), ['all', 'router:r3']);
  assert.deepEqual(aliasFollowers(d, 'ne40', 'prod', '2').map(([k]) => k), ['all'], 'followers of prod not yet at version 2');
  assert.deepEqual(aliasFollowers(d, 'ne40', 'prod', '3').map(([k]) => k), ['all', 'router:r1']);
  assert.deepEqual(aliasFollowers(d, 'other', 'prod', '3'), []);
  assert.deepEqual(scopesDeploying(d, 'ne40', '1'), ['all', 'router:r2', 'type:huawei']);
  assert.deepEqual(scopesDeploying(d, 'ne40', '9'), []);
  assert.deepEqual(scopesDeploying(d, 'x', '1'), []);
});

test('rollbackTarget: the previous target as it was (an alias followed again when it still exists)', async () => {
  const asked: string[] = [];
  const resolve = async (name: string, selector: string) => {
    asked.push(`${name}@${selector}`);
    if (selector === 'gone') throw new RegistryError('NOT_FOUND', 'no such alias');
    return version(selector === 'prod' ? '5' : selector);
  };
  const scope: DeploymentScope = { kind: 'all' };
  await assert.rejects(rollbackTarget(scope, desired(), resolve), code('NOTHING_TO_ROLL_BACK', /^all routers has no previous deployment$/));
  await assert.rejects(rollbackTarget(scope, desired(record('all', target('2'))), resolve), code('NOTHING_TO_ROLL_BACK'));
  assert.deepEqual(await rollbackTarget(scope, desired(record('all', target('2'), null)), resolve), { kind: 'target', target: null });
  assert.deepEqual(await rollbackTarget(scope, desired(record('all', target('2'), { kind: 'dummy' })), resolve), { kind: 'target', target: { kind: 'dummy' } });
  assert.deepEqual(await rollbackTarget(scope, desired(record('all', target('2'), target('1'))), resolve), { kind: 'model', version: version('1'), followed: undefined });
  assert.deepEqual(await rollbackTarget(scope, desired(record('all', target('2'), target('1', 'prod'))), resolve), { kind: 'model', version: version('5'), followed: 'prod' });
  asked.length = 0;
  assert.deepEqual(await rollbackTarget(scope, desired(record('all', target('2'), target('1', 'gone'))), resolve), { kind: 'model', version: version('1'), followed: undefined });
  assert.deepEqual(asked, ['ne40@gone', 'ne40@1'], 'an alias that is gone: back to the version it pointed at');
});

test('deploymentRecords: a new id per change, the time, and the scope\'s target before it', () => {
  let n = 0;
  const d = desired(record('all', target('1')), record('router:r1', null));
  const changes = [
    { scope: { kind: 'all' } as DeploymentScope, target: target('2') },
    { scope: { kind: 'router', router: 'r1' } as DeploymentScope, target: { kind: 'dummy' } as DeploymentTarget },
    { scope: { kind: 'router_type', router_type: 'cisco' } as DeploymentScope, target: null },
  ];
  assert.deepEqual(deploymentRecords(changes, d, 'T', () => `id${++n}`), [
    { id: 'id1', scope: { kind: 'all' }, target: target('2'), deployed_at: 'T', previous: target('1') },
    { id: 'id2', scope: { kind: 'router', router: 'r1' }, target: { kind: 'dummy' }, deployed_at: 'T', previous: null },
    { id: 'id3', scope: { kind: 'router_type', router_type: 'cisco' }, target: null, deployed_at: 'T', previous: null },
  ]);
});
