/**
 * The first hour, tried as a new user would (issue 17, section 2): the CLI's version,
 * suggestions and option errors; every client finds the running `up` (its state directory's
 * up.json, WATTFLOW_URL) and says which address it uses; expected operator errors (a second up,
 * a port in use, storage in use) end in one line and exit 2; train-vehicle does not replace the
 * model the running demo serves; the banner names the data's places.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliProcess } from './helpers.js';

const VEHICLE_LOG = 'test/fixtures/vehicle/DS1_stopped_with_ignition_on_25Jan24_124019.csv';
const noStack = (out: string) => assert.doesNotMatch(out, /\n\s+at .+:\d+:\d+\)?\n/, `no stack trace expected:\n${out}`);

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  const cli = runCli(args, { WATTFLOW_LOG_LEVEL: 'warn', ...env });
  const code = await cli.exited;
  return { code, out: cli.output() };
}

describe('CLI: version, suggestions, option errors, up --help', () => {
  test('wattflow --version', async () => {
    const r = await run(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^wattflow \d+\.\d+\.\d+ \(node v\d+/);
  });

  test('a mistyped role gets a suggestion; an unknown option names the closest one; a missing value says so', async () => {
    const role = await run(['replay-vehical']);
    assert.equal(role.code, 2);
    assert.match(role.out, /unknown role "replay-vehical" — did you mean "replay-vehicle"\?/);
    const flag = await run(['models', 'list', '--regsitry', 'http://x']);
    assert.equal(flag.code, 2);
    assert.match(flag.out, /^wattflow models: unknown option --regsitry — did you mean --registry\?/);
    assert.doesNotMatch(flag.out, /To specify a positional argument/, "not Node's parser text");
    const value = await run(['replay-vehicle', '--file']);
    assert.match(value.out, /^wattflow replay-vehicle: --file needs a value/);
    noStack(role.out + flag.out + value.out);
  });

  test('up --help says it runs the registry and the vehicle pipeline, and how clients find it', async () => {
    const r = await run(['up', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /model registry/);
    assert.match(r.out, /Vehicle API/);
    assert.match(r.out, /vehicle\s+predictor/);
    assert.match(r.out, /up\.json/);
  });
});

describe('a running up: clients find it, operator errors are one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-firsthour-'));
  const other = mkdtempSync(join(tmpdir(), 'wattflow-firsthour-other-'));
  // a private runtime directory: other `up`s on this machine are not ours to find
  const runtime = mkdtempSync(join(tmpdir(), 'wattflow-firsthour-run-'));
  const env = { WATTFLOW__storage__dir: dir, XDG_RUNTIME_DIR: runtime, KAFKA_BROKERS: '', INFLUX_URL: '', REDIS_URL: '', WATTFLOW_URL: '', WATTFLOW_REGISTRY_URL: '', WATTFLOW__energy__enabled: 'false', S3_ENDPOINT: '' }; // local artifacts (the banner's model store line), whatever the CI environment has
  let up: CliProcess;
  let url = '';
  let port = 0;

  before(async () => {
    up = runCli(['up', '--port', '0'], { ...env, WATTFLOW_LOG_LEVEL: 'warn' });
    [, url] = (await up.waitFor(/routers API:\s+(http:\/\/\S+)\/api\/routers/, 60_000)) as unknown as [string, string];
    port = Number(new URL(url).port);
    await up.waitFor(/auth: /);
  });
  after(async () => {
    await up.stop();
    assert.equal(existsSync(join(dir, 'up.json')), false, 'up.json removed when up stops');
    for (const d of [dir, other, runtime]) rmSync(d, { recursive: true, force: true });
  });

  test('the banner names where things go and how clients find this server; up.json holds the address', () => {
    const out = up.output();
    assert.match(out, new RegExp(`clients: +wattflow models \\| train \\| replay-vehicle \\| train-vehicle … started here use ${url.replace(/[.]/g, '\\.')} `));
    assert.match(out, /elsewhere: export WATTFLOW_URL=http:\/\/127\.0\.0\.1:\d+/);
    assert.match(out, /storage: +\S*wattflow\.db: router predictions \(API, web UI\) and vehicle predictions/);
    assert.match(out, /model store: +metadata \S*registry\.db, artifacts \S*artifacts/);
    assert.match(out, /vehicle data: store in-process \(REDIS_URL unset\), model \S*vehicle-model\.json/);
    assert.match(out, /InfluxDB: +off \(set INFLUX_URL; database "wattflow"/);
    const state = JSON.parse(readFileSync(join(dir, 'up.json'), 'utf8')) as { url: string; pid: number; vehicle_model: string };
    assert.equal(state.url, url);
    assert.equal(state.pid, up.child.pid);
    assert.equal(state.vehicle_model, join(dir, 'vehicle-model.json'));
  });

  test('models finds the running up (up.json) and prints the address it uses; WATTFLOW_URL wins over it', async () => {
    const r = await run(['models', 'list'], env);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`wattflow models: registry ${url.replace(/[.]/g, '\\.')} \\(\\S*up\\.json: the wattflow up running here, pid ${up.child.pid}\\)`));
    const elsewhere = await run(['models', 'list'], { ...env, WATTFLOW_URL: 'http://127.0.0.1:9' });
    assert.match(elsewhere.out, /wattflow models: registry http:\/\/127\.0\.0\.1:9 \(WATTFLOW_URL\)/);
    assert.equal(elsewhere.code, 1);
  });

  test('wattflow url prints the address the clients here use (the README\'s curl commands: curl -s $(wattflow url)/api/routers)', async () => {
    const r = await run(['url'], env);
    assert.equal(r.code, 0);
    assert.equal(r.out.trim(), url);
    const v = await run(['url', '--verbose'], { ...env, WATTFLOW_URL: 'http://127.0.0.1:9' });
    assert.match(v.out, /^http:\/\/127\.0\.0\.1:9\n/);
    assert.match(v.out, /wattflow url: WATTFLOW_URL/);
  });

  test('replay-vehicle goes to the running up, not to 127.0.0.1:8000', async () => {
    const r = await run(['replay-vehicle', '--file', VEHICLE_LOG, '--vehicle-id', 'car-fh', '--as-fast-as-possible'], env);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`Vehicle API ${url.replace(/[.]/g, '\\.')} \\(`));
    const vehicles = (await (await fetch(`${url}/api/vehicles`)).json()) as { vehicles: Array<{ id?: string; vehicle_id?: string }> };
    assert.ok(JSON.stringify(vehicles).includes('car-fh'));
  });

  test('train-vehicle does not replace the model the running up serves; --register writes beside it and registers on the up', async () => {
    const refused = await run(['train-vehicle', '--data', VEHICLE_LOG], env);
    assert.equal(refused.code, 2, refused.out);
    assert.match(refused.out, /vehicle-model\.json is the vehicle model the running wattflow up serves \(pid \d+, http:\/\/127\.0\.0\.1:\d+\): not replaced — write elsewhere \(--out FILE\), register it \(--register NAME\), or replace it with --force/);
    noStack(refused.out);
    const reg = await run(['train-vehicle', '--data', VEHICLE_LOG, '--register', 'fleet', '--alias', 'production'], env);
    assert.equal(reg.code, 0, reg.out);
    assert.match(reg.out, new RegExp(`wattflow train-vehicle: registry ${url.replace(/[.]/g, '\\.')} `));
    assert.match(reg.out, /→ \S*models\/fleet-[0-9a-f]+\.json/);
    assert.match(reg.out, /registered as fleet@1 \(alias production\)/);
  });

  test('expected operator errors: a second up, a port in use, storage in use — one line, exit 2', async () => {
    const second = await run(['up', '--port', '0'], env);
    assert.equal(second.code, 2);
    assert.match(second.out, /wattflow up: wattflow up is already running from \S+ \(pid \d+, http:\/\/127\.0\.0\.1:\d+, since [^)]+\); stop it first/);
    const busy = await run(['up', '--port', String(port)], { ...env, WATTFLOW__storage__dir: other });
    assert.equal(busy.code, 2);
    assert.match(busy.out, new RegExp(`wattflow up: port ${port} is in use \\(127\\.0\\.0\\.1:${port}\\): another process listens there — start on another port with --port N \\(or PORT=N\\)`));
    const api = await run(['api', '--port', '0'], env);
    assert.equal(api.code, 2);
    assert.match(api.out, /wattflow api: storage \S*wattflow\.db is in use by wattflow up \(pid \d+, http:\/\/127\.0\.0\.1:\d+\): one process at a time/);
    const predictor = await run(['vehicle-predictor', '--model', 'fleet@production', '--port', '0'], env);
    assert.equal(predictor.code, 2, predictor.out);
    assert.match(predictor.out, /wattflow vehicle-predictor: registry http:\/\/127\.0\.0\.1:\d+ \(\S*up\.json/);
    assert.match(predictor.out, /in use by wattflow up .*with INFLUX_URL set it does not open it/);
    const samePort = await run(['vehicle-predictor', '--model', 'fleet@production', '--port', String(port)], env);
    assert.equal(samePort.code, 2, samePort.out);
    assert.match(samePort.out, new RegExp(`wattflow vehicle-predictor: port ${port} is in use`));
    noStack(second.out + busy.out + api.out + predictor.out + samePort.out);
  });

  test('a vehicle-predictor with its own storage finds the registry of the up started from this directory', async () => {
    const pred = runCli(['vehicle-predictor', '--model', 'fleet@production', '--port', '0'], { ...env, WATTFLOW__storage__dir: other, WATTFLOW_LOG_LEVEL: 'info' });
    try {
      await pred.waitFor(new RegExp(`registry ${url.replace(/[.]/g, '\\.')} \\(the wattflow up started from this directory, pid ${up.child.pid}`), 30_000);
      await pred.waitFor(/vehicle model loaded from the registry/, 30_000);
    } finally {
      await pred.stop();
    }
  });
});
