/**
 * Seeded fuzz of the Open Inference Protocol (KServe V2) infer endpoint that every inference
 * worker serves, for a trained power model and the vehicle model: request bodies with odd
 * shapes, datatypes, data and parameters, and broken JSON. No request may get a 5xx; a 4xx
 * says why; a 200 carries only finite numbers; the server answers a plain request afterwards.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RunningApp } from '../../src/core/lifecycle.js';
import { prng } from '../helpers/prng.js';
import { startV2App, type V2App } from './v2-app.js';

const SEED = Number(process.env.FUZZ_SEED ?? 12_04_2026);
const REQUESTS = 400;
let v2: V2App;
let app: RunningApp;
let vehicleModel: V2App['vehicleModel'];

before(async () => {
  v2 = await startV2App();
  ({ app, vehicleModel } = v2);
});
after(async () => v2.close());

/** Every number anywhere in a JSON value. */
function numbers(x: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(x)) for (const y of x) numbers(y, out);
  else if (x !== null && typeof x === 'object') for (const y of Object.values(x)) numbers(y, out);
  else if (typeof x === 'number' || x === null) out.push(x);
  return out;
}

test(`V2 infer under fuzzed requests (seed ${SEED}): no 5xx, reasons on 4xx, finite outputs on 200`, async () => {
  const rnd = prng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const F = vehicleModel.features.length;
  const odd = [null, true, 'x', '', -1, 0, 1e308, -1e308, 1.5, [], {}, [1, 2], 'NaN', 'x'.repeat(500)];
  const num = () => (rnd() < 0.8 ? (rnd() - 0.3) * 2000 : pick([1e308, -1e308, 0, -0, 1e-320, null, 'x', true]));
  const statuses = new Map<number, number>();
  for (let i = 0; i < REQUESTS; i++) {
    const vehicle = rnd() < 0.5;
    const model = vehicle ? vehicleModel.name : 'ne40';
    const cols = vehicle ? F : 2;
    const rows = pick([0, 1, 2, 3, 50]);
    const input: Record<string, unknown> = {
      name: vehicle ? 'features' : 'input',
      shape: rnd() < 0.8 ? [rows, cols] : pick([[rows], [cols, rows], [rows, cols, 1], [-1, cols], [1e9, cols], 'x', null, [rows, 'x']]),
      datatype: rnd() < 0.85 ? 'FP32' : pick(['FP64', 'INT32', 'BYTES', 'fp32', '', null, 7]),
      data: rnd() < 0.85 ? Array.from({ length: rows * cols }, num) : pick(odd),
    };
    if (rnd() < 0.1) delete input[pick(Object.keys(input))];
    if (rnd() < 0.05) input[pick(Object.keys(input))] = pick(odd);
    let body: Record<string, unknown> = { inputs: rnd() < 0.9 ? [input] : pick([[], [input, input], null, 'x', [null], {}]) };
    if (rnd() < 0.2) body.parameters = pick([{}, null, 'x', { vehicle_id: pick(odd) }, { timestamp: [1, 2] }, []]);
    if (rnd() < 0.1) body.outputs = pick([[{ name: 'nope' }], null, 'x', [{ name: 'power' }], []]);
    if (rnd() < 0.05) body = pick([[], { inputs: 'x' }, {}]) as Record<string, unknown>;
    const text = rnd() < 0.05 ? JSON.stringify(body).slice(0, Math.floor(rnd() * 60)) : JSON.stringify(body);
    const version = rnd() < 0.2 ? `/versions/${pick(['1', '2', vehicleModel.version, '..', '%20'])}` : '';
    const res = await fetch(`${app.url}/v2/models/${model}${version}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
    const raw = await res.text();
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    assert.ok(res.status < 500, `request ${i}: ${res.status} ${raw.slice(0, 300)} for ${model}${version} ${text.slice(0, 300)}`);
    const reply = JSON.parse(raw) as Record<string, unknown>;
    if (res.status === 200) {
      const outputs = (reply.outputs ?? []) as Array<{ name: string; datatype: string; data: unknown[] }>;
      for (const o of outputs) {
        if (o.datatype === 'BYTES') continue;
        for (const v of numbers(o.data)) assert.ok(typeof v === 'number' && Number.isFinite(v), `request ${i}: output ${o.name} has ${String(v)} for ${text.slice(0, 300)}`);
      }
    } else assert.ok(String(reply.error ?? '').length > 0, `request ${i}: ${res.status} says why: ${raw.slice(0, 200)}`);
  }
  assert.ok((statuses.get(200) ?? 0) > 0 && (statuses.get(400) ?? 0) > 0, `a mix of outcomes: ${JSON.stringify([...statuses])}`);
  const ok = await fetch(`${app.url}/v2/models/ne40/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP32', data: [812.25, 0.375] }] }) });
  assert.equal(ok.status, 200);
});

test('V2 infer: a null input, a value beyond FP32, and an output that overflows are 400 with the reason', async () => {
  const infer = async (body: unknown) => {
    const res = await fetch(`${app.url}/v2/models/ne40/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, error: ((await res.json()) as { error?: string }).error ?? '' };
  };
  assert.deepEqual(await infer({ inputs: [null] }), { status: 400, error: 'inputs[0] must be an object {name, shape, datatype, data}, got null' });
  const beyond = await infer({ inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP32', data: [1e308, 0.5] }] });
  assert.equal(beyond.status, 400);
  assert.match(beyond.error, /value 0 \(1e\+308\) is outside the FP32 range/);
  const overflow = await infer({ inputs: [{ name: 'input', shape: [2, 2], datatype: 'FP32', data: [800, 0.5, 3e38, 3e38] }] });
  assert.equal(overflow.status, 400, overflow.error);
  assert.match(overflow.error, /^row 1: the model's \w+ is not a finite number for the inputs/);
});
