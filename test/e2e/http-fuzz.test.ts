/**
 * Seeded fuzz of every HTTP route of every role, on one server running what `wattflow up` runs
 * (its components, src/roles/up.ts: in-process bus, embedded storage, the registry — here with a
 * trained and deployed power model —, the inference worker's V2 server, the Vehicle API with its
 * in-process predictor, the collector and the router API). The routes are not listed by hand: they are recorded as they are registered
 * (Fastify `onRoute`), so a route added later is fuzzed too. Each gets a seeded series of hostile
 * requests — JSON nested 5,000+ levels in every field, huge numbers, repeated and odd query
 * parameters, out-of-range dates, names such as `constructor` and `__proto__`, unicode, empty
 * and oversize bodies, wrong content types, odd headers — and:
 *   - no answer is a 5xx;
 *   - every 4xx is JSON whose `error` names the problem (a non-empty string);
 *   - the process stays up (healthz 200 after, a real inference and a real ingest still work);
 *   - `/metrics` stays bounded: 2,000 infer requests naming random models add at most a few
 *     series (one `other` series per status), not one per name.
 * The cases of issue 11 are also sent explicitly (first test). FUZZ_SEED=N runs another seed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RouteOptions } from 'fastify';
import { loadAppConfig } from '../../src/app-config.js';
import type { Component } from '../../src/core/component.js';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import type { RawExperiment } from '../../src/router-power/experiment.js';
import { DEFAULT_EXPERIMENT_FILE } from '../../src/router-power/demo-experiment.js';
import { upComponents } from '../../src/roles/up.js';
import { prng } from '../helpers/prng.js';
import { silent, trained, waitFor } from '../registry/helpers.js';

const SEED = Number(process.env.FUZZ_SEED ?? 1107);
/** Hostile requests per recorded route (and method). */
const PER_ROUTE = Number(process.env.HTTP_FUZZ_PER_ROUTE ?? 40);
/** Infer requests naming random models, for the metric cardinality check. */
const RANDOM_MODELS = 2000;
const DEEP = 5000;

const BODY_LIMIT = 256 * 1024;
const VEHICLE_BODY_LIMIT = 128 * 1024;
const MAX_ARTIFACT = 256 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'wattflow-http-fuzz-'));
const recorded: Array<{ method: string; url: string }> = [];
let app: RunningApp;
let vehicleModel = '';
let vehicleFeatures: string[] = [];
/** A real ONNX model (base64), so an upload's metadata is what gets checked. */
let onnxB64 = '';
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

interface Answer {
  status: number;
  text: string;
  headers: http.IncomingHttpHeaders;
}

/** One raw HTTP request (node:http, so paths, headers and bodies go out as written). */
function send(method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<Answer> {
  const url = new URL(app.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path, agent, headers: { ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const json = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  send(method, path, { 'content-type': 'application/json', ...headers }, typeof body === 'string' ? body : JSON.stringify(body));

/** `n` levels of arrays around `leaf`. */
const deepArray = (n: number, leaf = '1') => `${'['.repeat(n)}${leaf}${']'.repeat(n)}`;
/** `n` levels of objects {"a": …} around `leaf`. */
const deepObject = (n: number, leaf = '1') => `${'{"a":'.repeat(n)}${leaf}${'}'.repeat(n)}`;

/** Series (sample lines) in the Prometheus exposition. */
async function seriesCount(): Promise<{ count: number; text: string }> {
  const r = await send('GET', '/metrics');
  assert.equal(r.status, 200);
  return { count: r.text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length, text: r.text };
}

/** Checks one answer: no 5xx; a 4xx is JSON whose error (MLflow API: message) is a non-empty string. Returns the problem, if any. */
function problemOf(r: Answer, method: string): string | undefined {
  if (r.status >= 500) return `status ${r.status}`;
  if (r.status >= 400 && method !== 'HEAD') {
    let err: unknown;
    try {
      const b = JSON.parse(r.text) as { error?: unknown; error_code?: unknown; message?: unknown };
      // the MLflow-compatible API answers MLflow's shape {error_code, message} (src/registry/mlflow/)
      err = typeof b.error_code === 'string' ? b.message : b.error;
    } catch {
      return `status ${r.status} without a JSON body`;
    }
    if (typeof err !== 'string' || err.trim() === '') return `status ${r.status} without an error message`;
    if (/^(Bad Request|Not Found|Unsupported Media Type|Payload Too Large|Request Timeout)$/.test(err)) return `status ${r.status}: "${err}" does not name the problem`;
    if (/\n\s+at /.test(r.text)) return `status ${r.status} with a stack trace`;
  }
  return undefined;
}

function expectClean(r: Answer, what: string, method = 'POST'): void {
  const p = problemOf(r, method);
  assert.equal(p, undefined, `${what}: ${p} — ${r.text.slice(0, 400)}`);
}

/** A 400 whose error matches `re`. */
function expect400(r: Answer, re: RegExp, what: string): void {
  assert.equal(r.status, 400, `${what}: ${r.status} ${r.text.slice(0, 400)}`);
  const err = (JSON.parse(r.text) as { error: string }).error;
  assert.match(err, re, what);
}

before(async () => {
  // the bundled demo experiment, polled every second: the pipeline's series all exist after a second or two (see the cardinality test)
  const raw = JSON.parse(readFileSync(DEFAULT_EXPERIMENT_FILE, 'utf8')) as RawExperiment;
  writeFileSync(join(dir, 'experiment.json'), JSON.stringify({ ...raw, polling_interval: 1 }));
  const cfg = loadAppConfig(
    undefined,
    {
      '/network/experiment': join(dir, 'experiment.json'),
      '/storage/dir': dir,
      '/http/port': 0,
      '/http/bodyLimitBytes': BODY_LIMIT,
      '/vehicle/api/bodyLimitBytes': VEHICLE_BODY_LIMIT,
      '/registry/maxArtifactBytes': MAX_ARTIFACT,
      '/registry/worker/retryMs': 200,
    },
    {},
  );
  const recorder: Component = {
    name: 'route-recorder',
    routes: (a) => {
      a.addHook('onRoute', (r: RouteOptions) => {
        for (const method of [r.method].flat()) if (method !== 'HEAD') recorded.push({ method, url: r.url });
      });
    },
  };
  // every component `wattflow up` runs (src/roles/up.ts), behind the route recorder
  const up = await upComponents(cfg, silent);
  app = await startComponents([recorder, ...up.components], { host: '127.0.0.1', port: 0, logger: silent, limits: cfg.http });
  for (const url of ['/metrics', '/healthz', '/readyz']) recorded.push({ method: 'GET', url });

  // a trained power model, registered and deployed to every router: the inference worker serves it on V2
  const a = await trained({ name: 'ne40', version: '1' });
  onnxB64 = Buffer.from(a.onnx).toString('base64');
  const upload = await json('POST', '/api/registry/models/ne40/versions', { onnx_base64: onnxB64, metadata: a.metadata, alias: 'production' });
  assert.equal(upload.status, 201, upload.text);
  const dep = await json('POST', '/api/registry/deployments', { ref: 'ne40@production', all: true });
  assert.equal(dep.status, 201, dep.text);
  const models = await waitFor(async () => {
    const r = JSON.parse((await send('GET', '/v2/models')).text) as { models: Array<{ name: string }> };
    return r.models.some((m) => m.name === 'ne40') && r.models.length >= 2 ? r.models : undefined;
  }, 15_000, 'ne40 served on V2');
  vehicleModel = models.find((m) => m.name !== 'ne40')!.name;
  const meta = JSON.parse((await send('GET', `/v2/models/${vehicleModel}`)).text) as { parameters: { features: string[] } };
  vehicleFeatures = meta.parameters.features;
  // the pipeline has gone round once: its own series exist before any is counted
  await waitFor(async () => ((await send('GET', '/api/routers/r1/latest')).status === 200 ? true : undefined), 15_000, 'a first prediction of r1');
});

after(async () => {
  await app?.stop();
  agent.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const powerInfer = (over: Record<string, string> = {}) =>
  `{"inputs":[{"name":${over.name ?? '"input"'},"shape":${over.shape ?? '[1,2]'},"datatype":${over.datatype ?? '"FP32"'},"data":${over.data ?? '[576,0.5]'}}]${over.extra ?? ''}}`;
const vehicleInfer = (over: Record<string, string> = {}) => {
  const f = vehicleFeatures.length;
  return `{"inputs":[{"name":${over.name ?? '"features"'},"shape":${over.shape ?? `[1,${f}]`},"datatype":"FP32","data":${over.data ?? JSON.stringify(new Array(f).fill(1))}}],"parameters":${over.parameters ?? '{}'}}`;
};
const measurement = (over: Record<string, string> = {}) => `{"signal":${over.signal ?? '"speed"'},"value":${over.value ?? '50'},"timestamp":${over.timestamp ?? String(Date.now())}}`;

test('the cases of issue 11: each answers 400 naming the problem (was 500, 404 or 204)', async () => {
  // out-of-range and repeated query parameters
  expect400(await send('GET', '/api/routers/r1/series?from=99999999999999999999'), /\bfrom\b/, 'from beyond the range of dates');
  expect400(await send('GET', '/api/routers/r1/series?to=-99999999999999999999'), /\bto\b/, 'to beyond the range of dates');
  expect400(await send('GET', '/api/routers/r1/series?from=-99999999999999d'), /\bfrom\b/, 'relative from beyond the range of dates');
  expect400(await send('GET', '/api/routers/r1/series?from=-1h&from=-2h'), /\bfrom\b.*(once|repeated|more than one)/, 'repeated from');
  expect400(await send('GET', '/api/routers/r1/series?metric=power&metric=occupation'), /\bmetric\b/, 'repeated metric');
  expect400(await send('GET', '/api/routers/r1/series?limit=many'), /\blimit\b/, 'limit not a number');
  expect400(await send('GET', '/api/vehicles/car-1/series?signal=a&signal=b'), /\bsignal\b.*(once|repeated|more than one)/, 'repeated signal');
  expect400(await send('GET', '/api/vehicles/car-1/series?signal=speed&from=1&from=2'), /\bfrom\b/, 'repeated vehicle from');
  expect400(await send('GET', '/api/vehicles/car-1/series?signal=speed&to=99999999999999999999'), /\bto\b/, 'vehicle to beyond the range of dates');
  expect400(await send('GET', '/api/vehicle-dead-letters?limit=1&limit=2'), /\blimit\b/, 'repeated dead-letter limit');

  // JSON nested ≥ 5,000 levels: the 12 variants of the issue (and the same in NDJSON and the metadata header)
  const depth = /nested deeper than \d+ levels/;
  const variants: Array<[string, string, string, Record<string, string>?]> = [
    ['V2 power data', '/v2/models/ne40/infer', powerInfer({ data: deepArray(DEEP) })],
    ['V2 power shape', '/v2/models/ne40/infer', powerInfer({ shape: deepArray(DEEP) })],
    ['V2 power name', '/v2/models/ne40/infer', powerInfer({ name: deepArray(DEEP, '"input"') })],
    ['V2 vehicle data', `/v2/models/${vehicleModel}/infer`, vehicleInfer({ data: deepArray(DEEP) })],
    ['V2 vehicle shape', `/v2/models/${vehicleModel}/infer`, vehicleInfer({ shape: deepArray(DEEP) })],
    ['V2 vehicle name', `/v2/models/${vehicleModel}/infer`, vehicleInfer({ name: deepObject(DEEP) })],
    ['vehicle ingest value', '/v1/vehicles/car-1/measurements', measurement({ value: deepArray(DEEP) })],
    ['vehicle ingest timestamp', '/v1/vehicles/car-1/measurements', measurement({ timestamp: deepObject(DEEP) })],
    ['vehicle ingest value (array)', '/v1/vehicles/car-1/measurements', `[${measurement({ value: deepObject(DEEP) })}]`],
    ['vehicle ingest timestamp (NDJSON)', '/v1/vehicles/car-1/measurements', `${measurement()}\n${measurement({ timestamp: deepArray(DEEP) })}\n`, { 'content-type': 'application/x-ndjson' }],
    ['registry deploy routers', '/api/registry/deployments', `{"ref":"ne40@1","routers":${deepArray(DEEP, '"r1"')}}`],
    ['registry upload metadata', '/api/registry/models/ne40/versions', `{"onnx_base64":"${onnxB64}","metadata":${deepObject(DEEP)}}`],
  ];
  for (const [what, path, body, headers] of variants) expect400(await send('POST', path, { 'content-type': 'application/json', ...headers }, body), depth, what);
  const header = Buffer.from(`{"features":${deepArray(DEEP)}}`).toString('base64'); // 13 KB: within Node's 16 KB of headers
  expect400(await send('POST', '/api/registry/models/ne40/versions', { 'content-type': 'application/octet-stream', 'x-wattflow-metadata': header }, Buffer.from(onnxB64, 'base64')), depth, 'registry upload metadata header');
  // the depth message says where
  const where = await send('POST', '/v2/models/ne40/infer', { 'content-type': 'application/json' }, powerInfer({ data: deepArray(DEEP) }));
  assert.match(where.text, /\$\.inputs\[0\]\.data\[0\]/);

  // names that are Object.prototype's
  for (const alias of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
    const show = await send('GET', `/api/registry/models/ne40/versions/${alias}`);
    expectClean(show, `GET version ${alias}`, 'GET');
    if (alias === '__proto__') assert.equal(show.status, 400, show.text); // not a valid alias name at all
    else {
      assert.equal(show.status, 404, `${alias}: ${show.text}`);
      assert.match(show.text, new RegExp(`no alias \\\\"${alias}\\\\"`), show.text);
    }
    const del = await send('DELETE', `/api/registry/models/ne40/aliases/${alias}`);
    assert.equal(del.status, 404, `DELETE alias ${alias}: ${del.status} ${del.text}`);
    expectClean(del, `DELETE alias ${alias}`, 'DELETE');
  }
  // an alias named constructor works like any other once set
  const set = await json('PUT', '/api/registry/models/ne40/aliases/constructor', { version: '1' });
  assert.equal(set.status, 200, set.text);
  assert.equal(JSON.parse((await send('GET', '/api/registry/models/ne40/versions/constructor')).text).version, '1');
  assert.equal((await send('DELETE', '/api/registry/models/ne40/aliases/constructor')).status, 204);
  assert.equal((await send('GET', '/api/registry/models/ne40/versions/constructor')).status, 404);
  const feat = await send('POST', '/api/registry/models/fz/versions?features=constructor', { 'content-type': 'application/octet-stream' }, Buffer.from('x'));
  expectClean(feat, 'feature named constructor');
  assert.match(feat.text, /constructor/);
});

test(`metric cardinality: ${RANDOM_MODELS} infer requests naming random models add at most a few series`, async () => {
  const rnd = prng(SEED ^ 0x5eed);
  const name = () => `m${Math.floor(rnd() * 2 ** 48).toString(36)}`;
  for (let i = 0; i < 20; i++) await send('POST', `/v2/models/${name()}/infer`, { 'content-type': 'application/json' }, powerInfer()); // every 'other' series exists
  const before = await seriesCount();
  for (let i = 0; i < RANDOM_MODELS; i++) {
    const path = rnd() < 0.8 ? `/v2/models/${name()}/infer` : `/v2/models/${name()}/versions/${Math.floor(rnd() * 9)}/infer`;
    const r = await send('POST', path, { 'content-type': 'application/json' }, powerInfer());
    assert.equal(r.status, 404, r.text);
  }
  const after = await seriesCount();
  const names = (text: string) => new Set(text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.replace(/ .*$/, '')));
  const was = names(before.text);
  const added = [...names(after.text)].filter((n) => !was.has(n));
  assert.ok(after.count - before.count <= 5, `series grew from ${before.count} to ${after.count}: ${added.slice(0, 20).join(' ')}`);
  assert.ok(after.text.length - before.text.length < 4096, `/metrics grew from ${before.text.length} to ${after.text.length} bytes`);
  assert.match(after.text, /wattflow_kserve_requests_total\{model="other",code="404"\}/);
  // a known model keeps its own series
  assert.equal((await send('POST', '/v2/models/ne40/infer', { 'content-type': 'application/json' }, powerInfer())).status, 200);
  assert.match((await seriesCount()).text, /wattflow_kserve_requests_total\{model="ne40",code="200"\}/);
});

test(`every route under seeded hostile requests (seed ${SEED}): no 5xx, every 4xx says why, the process stays up, /metrics bounded`, async (t) => {
  const rnd = prng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const chance = (p: number) => rnd() < p;
  const NAMES = [
    'constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '__defineGetter__', 'isPrototypeOf',
    'r1', 'ne40', vehicleModel, 'production', '1', 'latest', 'car-1', '127.0.0.1_9100.json', 'r1_9100.json',
    '..', '.', '%2e%2e', '%2F', '%00', '%zz', '%', '0', '-1', '1e309', 'null', 'undefined', 'NaN',
    encodeURIComponent('é中文🚗'), encodeURIComponent('\u202e'), encodeURIComponent(' '), 'a'.repeat(90), 'a'.repeat(400),
  ];
  const QUERY_KEYS = ['from', 'to', 'limit', 'metric', 'signal', 'version', 'alias', 'router_type', 'model_type', 'features', 'source', 'description', 'metadata', 'name', 'device', '__proto__', 'constructor', 'toString', 'a[b]', 'from[]', ''];
  const QUERY_VALUES = [
    '99999999999999999999', '-99999999999999999999', '1e400', '-1e400', '8640000000000001', '-1h', '-99999999999999d', '-1.5e300s', 'now', '+275760-09-13T00:00:00.001Z', '2024-02-30', '1970-01-01',
    '0', '-0', '1.5', 'NaN', 'Infinity', '', 'constructor', '__proto__', 'toString', '%zz', '%00', encodeURIComponent('é中'), 'power', 'speed', 'x'.repeat(3000), '10000001', '[]', '{}',
  ];
  const HOSTILE = [
    () => deepArray(DEEP + Math.floor(rnd() * 5000)),
    () => deepObject(DEEP + Math.floor(rnd() * 5000)),
    () => deepArray(65),
    () => '1e308', () => '-1e308', () => `1${'0'.repeat(400)}`, () => '-0', () => '1e-400', () => '4.2e-320',
    () => '"constructor"', () => '"__proto__"', () => '"toString"', () => '{"__proto__":{"polluted":1}}', () => '{"constructor":{"prototype":{"polluted":1}}}',
    () => '{"constructor":1,"toString":2,"hasOwnProperty":3}', () => '"é中文🚗\\u0000\\ud800"', () => 'null', () => 'true', () => '[]', () => '{}', () => '""',
    () => JSON.stringify('x'.repeat(100_000)), () => `[${new Array(5000).fill('1').join(',')}]`, () => '9007199254740993', () => '-9007199254740993',
  ];
  const h = () => (chance(0.35) ? pick(HOSTILE.slice(0, 2))() : pick(HOSTILE)());
  // bodies shaped for each kind of route (so a hostile value gets past the first checks), and any of them anywhere
  const FAMILIES: Record<string, Array<() => string>> = {
    infer: [
      () => powerInfer({ [pick(['data', 'shape', 'name', 'datatype'])]: h() }),
      () => powerInfer({ extra: `,"outputs":${pick([h(), `[{"name":${h()}}]`])}` }),
      () => powerInfer({ extra: `,"id":${h()},"parameters":${h()}` }),
      () => vehicleInfer({ [pick(['data', 'shape', 'name'])]: h() }),
      () => vehicleInfer({ parameters: `{"vehicle_id":${pick(['"car-1"', h()])},"timestamp":${pick([String(Date.now()), h()])},"${pick(['values', 'flags', 'missing', 'absent', 'seq', 'filled', 'out_of_range'])}":${h()}}` }),
      () => vehicleInfer({ parameters: `{"values":{"${pick(['constructor', '__proto__', 'toString', vehicleFeatures[0] ?? 'speed'])}":1},"missing":[["constructor","toString"]]}` }),
    ],
    measurements: [
      () => measurement({ [pick(['value', 'timestamp', 'signal'])]: h() }),
      () => `[${measurement({ unit: h() })},${measurement({ signal: h() })}]`,
      () => `{"measurements":${pick([h(), `[${measurement({ value: h() })}]`])}}`,
      () => `[${measurement({ signal: pick(['"constructor"', '"__proto__"', '"toString"', '"hasOwnProperty"']) })}]`,
    ],
    deployments: [
      () => `{"ref":${pick(['"ne40@1"', '"ne40@constructor"', '"constructor@1"', '"ne40@__proto__"', h()])},"${pick(['routers', 'router_type', 'all', 'dummy', 'force', 'exclusive'])}":${h()}}`,
      () => `{"routers":${h()},"router_type":${h()}}`,
      () => `{"routers":["constructor","__proto__"],"ref":"ne40@1"}`,
    ],
    versions: [
      () => `{"onnx_base64":${pick(['"AAAA"', h()])},"metadata":${h()},"${pick(['version', 'alias', 'features', 'router_type', 'model_type'])}":${h()}}`,
      () => `{"onnx_base64":"AAAA","features":${pick(['"constructor:bytes,toString"', '"constructor,__proto__"', h()])}}`,
    ],
    aliases: [() => `{"version":${pick([h(), '"constructor"', '"1"'])}}`],
    models: [() => `{"name":${pick([h(), '"constructor"', '"__proto__"'])},"description":${h()},"router_type":${h()}}`],
    predict: [() => `{"vectors":[${h()}]}`, () => `{"vectors":[{"vehicleId":"v","ts":1,"seq":1,"values":${h()},"sourceTs":${h()}}]}`],
  };
  const ALL = Object.values(FAMILIES).flat();
  const familyOf = (url: string) =>
    url.endsWith('/infer') ? 'infer' : url.endsWith('/measurements') ? 'measurements' : url.includes('/deployments') ? 'deployments' : url.endsWith('/versions') ? 'versions' : url.includes('/aliases/') ? 'aliases' : url.endsWith('/models') ? 'models' : url.endsWith('/predict') ? 'predict' : undefined;
  const bodyFor = (url: string): string => {
    const fam = familyOf(url);
    return fam && chance(0.75) ? pick(FAMILIES[fam]!)() : chance(0.8) ? pick(ALL)() : h();
  };
  const CONTENT_TYPES = [
    'application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json; charset=utf-16',
    'application/x-ndjson', 'application/octet-stream', 'text/plain', 'text/html', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded',
    'application/vnd.api+json', 'application/json, text/plain', ';;;', 'x'.repeat(300), '',
  ];
  const ODD_HEADERS: Array<Record<string, string>> = [
    { accept: 'application/xml' }, { accept: '*/*;q=nonsense' }, { 'accept-encoding': 'br;q=2, gzip;q=-1' }, { 'content-encoding': 'gzip' },
    { authorization: 'Bearer ' + 'x'.repeat(2000) }, { authorization: 'Basic Og==' }, { 'x-forwarded-for': '::1, ' + '1.'.repeat(300) },
    { 'x-wattflow-metadata': Buffer.from(deepObject(DEEP)).toString('base64') }, { 'x-wattflow-metadata': '!!!' }, { 'x-wattflow-metadata': Buffer.from('{"__proto__":{"x":1}}').toString('base64') },
    { 'accept-version': '99' }, { 'x-request-id': '\u00ff'.repeat(10) }, { 'user-agent': '' }, { cookie: '__proto__=1; constructor=2' }, { range: 'bytes=99999999999999999999-' },
  ];
  const oversize = `{"x":"${'y'.repeat(Math.max(BODY_LIMIT, VEHICLE_BODY_LIMIT, Math.ceil(MAX_ARTIFACT * 1.4) + 1024 * 1024) + 1024)}"}`;

  const seriesBefore = await seriesCount();
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  const routes = [...new Map(recorded.map((r) => [`${r.method} ${r.url}`, r])).values()];
  assert.ok(routes.length >= 40, `routes recorded: ${routes.map((r) => `${r.method} ${r.url}`).join(', ')}`);
  for (const route of routes) {
    for (let i = 0; i < PER_ROUTE; i++) {
      let path = route.url.replace(/:(\w+)/g, (_m, p: string) => (p === 'name' && chance(0.3) ? pick(['ne40', vehicleModel]) : pick(NAMES)));
      if (path.includes('*')) path = path.replace('*', pick(NAMES));
      if (chance(0.6)) {
        const parts: string[] = [];
        const n = 1 + Math.floor(rnd() * 4);
        for (let k = 0; k < n; k++) {
          const key = pick(QUERY_KEYS);
          const times = chance(0.3) ? 2 + Math.floor(rnd() * 3) : 1;
          for (let t = 0; t < times; t++) parts.push(`${encodeURIComponent(key)}=${pick(QUERY_VALUES)}`);
        }
        if (chance(0.1)) parts.push('&&=&==&%zz&');
        path += `?${parts.join('&')}`;
      }
      const headers: Record<string, string> = {};
      let body: string | Buffer | undefined;
      const withBody = route.method !== 'GET' || chance(0.1);
      if (withBody) {
        const kind = rnd();
        if (kind < 0.04) body = oversize;
        else if (kind < 0.1) body = '';
        else if (kind < 0.14) body = Buffer.from([0xff, 0xfe, 0x00, 0x7b]);
        else if (kind < 0.18) body = '{"broken';
        else body = bodyFor(route.url);
        if (body !== '' || chance(0.5)) headers['content-type'] = chance(0.7) ? 'application/json' : pick(CONTENT_TYPES);
        if (typeof body === 'string' && body !== '' && headers['content-type'] === 'application/x-ndjson') body = `${body}\n${bodyFor(route.url)}`;
      }
      if (chance(0.2)) Object.assign(headers, pick(ODD_HEADERS));
      if (headers['content-type'] === '') delete headers['content-type'];
      let r: Answer;
      try {
        r = await send(route.method, path, headers, body);
      } catch (err) {
        failures.push(`${route.method} ${path.slice(0, 200)}: request failed: ${(err as Error).message}`);
        continue;
      }
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      const p = problemOf(r, route.method);
      if (p) failures.push(`${route.method} ${path.slice(0, 200)} [${headers['content-type'] ?? '-'}; ${typeof body === 'string' ? body.slice(0, 120) : body ? `${body.length} bytes` : 'no body'}]: ${p} — ${r.text.slice(0, 300)}`);
    }
  }
  if (process.env.HTTP_FUZZ_LIST_ROUTES) t.diagnostic(routes.map((r) => `${r.method} ${r.url}`).join("\n"));
  t.diagnostic(`${routes.length} routes × ${PER_ROUTE} requests; statuses ${JSON.stringify([...statuses].sort((x, y) => x[0] - y[0]))}`);
  assert.deepEqual(failures.slice(0, 25), [], `${failures.length} bad answers (seed ${SEED}); statuses ${JSON.stringify([...statuses])}`);
  assert.ok([...statuses.keys()].some((s) => s < 300) && [...statuses.keys()].some((s) => s >= 400 && s < 500), `a mix of outcomes: ${JSON.stringify([...statuses])}`);

  // the process is up and still does real work
  assert.equal((await send('GET', '/healthz')).status, 200);
  const seriesAfter = await seriesCount();
  assert.ok(seriesAfter.count - seriesBefore.count < 300, `/metrics series grew from ${seriesBefore.count} to ${seriesAfter.count}`);
  assert.ok(!/model="(constructor|__proto__|toString|m[0-9a-z]{6,})"/.test(seriesAfter.text), 'no series named after a requested model that is not served');
  const ok = await json('POST', '/v2/models/ne40/infer', powerInfer());
  if (ok.status === 404) {
    // the fuzz may have undeployed it: deploy again and wait
    assert.equal((await json('POST', '/api/registry/deployments', { ref: 'ne40@1', all: true })).status, 201);
    await waitFor(async () => ((await json('POST', '/v2/models/ne40/infer', powerInfer())).status === 200 ? true : undefined), 15_000, 'ne40 served again');
  } else assert.equal(ok.status, 200, ok.text);
  const ingest = await json('POST', '/v1/vehicles/after-fuzz/measurements', [JSON.parse(measurement())]);
  assert.equal(ingest.status, 200, ingest.text);
  assert.equal(JSON.parse(ingest.text).accepted, 1, ingest.text);
});
