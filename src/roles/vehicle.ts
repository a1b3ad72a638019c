/**
 * The vehicle pipeline's CLI roles:
 *   vehicle-api        Vehicle API: ingest, preprocessing, node-local Redis, forwarding (push)
 *   vehicle-predictor  scores vectors (push endpoint, or pull: Redis channel / stream) → InfluxDB
 *   replay-vehicle     replays a reference CSV log into the Vehicle API
 *   train-vehicle      trains the vehicle anomaly model from reference CSV logs → JSON artifact
 *                      (optionally registered in the model registry: --register NAME)
 * The configuration is the app configuration plus the `vehicle` section (src/vehicle/config.ts).
 * The two servers are data (serverRole): modules vehicle-api and vehicle-predictor (src/roles/modules.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { loadAppConfig } from '../app-config.js';
import { announceServer, assertPortFree, chooseServer, stateDirOf } from '../core/instance.js';
import { parseTime } from '../core/time.js';
import { logsIn } from '../vehicle/demo.js';
import { isRegistryRef } from '../vehicle/model/registry-model.js';
import { guardServedModel, trainVehicleCommand } from '../vehicle/model/train-command.js';
import { formatReplayReport, replayVehicleLog, ReplayError } from '../vehicle/replay/replay.js';
import { VEHICLE_ID_PATTERN } from '../vehicle/store/store.js';
import { parseRoleArgs, roleConfig, UsageError } from './common.js';
import type { Role } from './role.js';
import { serverRole } from './server-role.js';

function positiveNumber(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got "${raw}"`);
  return n;
}

function positiveInt(name: string, raw: string | undefined): number | undefined {
  const n = positiveNumber(name, raw);
  if (n !== undefined && !Number.isInteger(n)) throw new UsageError(`--${name} must be a positive integer, got "${raw}"`);
  return n;
}

export const vehicleApiRole = serverRole({
  name: 'vehicle-api',
  summary: 'Vehicle API: measurement ingest, preprocessing into aligned vectors, node-local Redis, forwarding to the predictor',
  usage: [
    'usage: wattflow vehicle-api [--config FILE] [--port N] [--host H] [--mode push|pull] [--inference-url URL] [--memory]',
    '',
    '  POST /v1/vehicles/{id}/measurements   JSON (one, an array, {"measurements": [...]}) or NDJSON',
    '  GET  /api/vehicles, /api/vehicles/{id}/latest, /api/vehicles/{id}/series?signal=&from=&to=',
    '',
    '  --mode push            forward each vector to the predictor (vehicle.inference.url, default http://127.0.0.1:8001)',
    '                         as Open Inference Protocol infer requests (vehicle.inference.protocol: v2 | json)',
    '  --mode pull            only store/announce vectors in Redis (the predictor consumes the vector stream)',
    '  --memory               in-process store instead of Redis (development; nothing survives a restart)',
    'Redis: REDIS_URL (default redis://127.0.0.1:6379), REDIS_PASSWORD. Bearer tokens: auth.tokens / WATTFLOW_TOKENS_FILE',
    '(scopes ingest, read; docs/security.md), or the legacy VEHICLE_API_TOKEN (ingest + read). Push mode sends',
    'WATTFLOW_TOKEN (scopes read + ingest) to the predictor.',
    'When the node-local Redis or predictor is unavailable, ingest answers 503 (fallbacks: vehicle.redis.fallbackUrl,',
    'vehicle.inference.fallbackUrls).',
  ].join('\n'),
  flags: {
    mode: { type: 'string' },
    'inference-url': { type: 'string' },
    memory: { type: 'boolean' },
  },
  overrides(flags) {
    const overrides: Record<string, unknown> = {};
    if (flags.mode !== undefined) {
      if (flags.mode !== 'push' && flags.mode !== 'pull') throw new UsageError(`--mode must be push or pull, got "${flags.mode}"`);
      overrides['/vehicle/inference/mode'] = flags.mode;
    }
    if (flags['inference-url'] !== undefined) overrides['/vehicle/inference/url'] = flags['inference-url'];
    return overrides;
  },
  modules: ['vehicle-api'],
});

export const vehiclePredictorRole = serverRole({
  name: 'vehicle-predictor',
  summary: 'scores aligned vehicle vectors with the vehicle model and writes predictions to InfluxDB',
  usage: [
    'usage: wattflow vehicle-predictor [--config FILE] [--port N] [--mode push|pull]',
    '                                  [--model FILE | --model NAME@VERSION|ALIAS [--registry URL]]',
    '                                  [--poll-interval MS] [--demo-model]',
    '',
    '  --mode push        serve POST /v2/models/{name}/infer (Open Inference Protocol) and POST /v1/vehicle/predict',
    '                     (the Vehicle API forwards each vector); the default',
    '  --mode pull        consume the node-local Redis vector stream (consumer group vehicle.predictor.group;',
    '                     at-least-once; invalid entries to the dead-letter stream). subscribe and poll: pull',
    '  --model FILE       model artifact (default vehicle.model.path, else <storage.dir>/vehicle-model.json)',
    '  --model NAME@REF   download the model from the model registry (version or alias; sha256 checked);',
    '                     SIGHUP reloads it (follows a moved alias). Config: vehicle.model.ref',
    '  --registry URL     registry for --model NAME@REF (default vehicle.model.registryUrl, WATTFLOW_REGISTRY_URL,',
    '                     WATTFLOW_URL, the wattflow up running from this directory, else http://127.0.0.1:8000)',
    '  --demo-model       when the artifact does not exist, train it from the bundled demo logs',
    'Predictions go to InfluxDB (INFLUX_URL) as `prediction` and `vehicle_measurement` points; without',
    'INFLUX_URL to the embedded storage (storage.dir; beside a running `wattflow up`, which owns it, give this',
    'role INFLUX_URL or its own WATTFLOW__storage__dir). Use --port 8001 next to a vehicle-api or up on 8000.',
  ].join('\n'),
  flags: {
    mode: { type: 'string' },
    model: { type: 'string' },
    registry: { type: 'string' },
    'poll-interval': { type: 'string' },
    'demo-model': { type: 'boolean' },
  },
  // --model, --registry and --demo-model also go to the vehicle-predictor module as they are given
  overrides(flags) {
    const { mode, model, registry } = flags as Record<string, string | undefined>;
    const overrides: Record<string, unknown> = {};
    if (mode !== undefined) {
      if (!['push', 'pull', 'subscribe', 'poll'].includes(mode)) throw new UsageError(`--mode must be push or pull, got "${mode}"`);
      overrides['/vehicle/predictor/mode'] = mode;
    }
    if (model !== undefined) {
      if (isRegistryRef(model) && !existsSync(model)) overrides['/vehicle/model/ref'] = model;
      else overrides['/vehicle/model/path'] = model;
    }
    if (registry !== undefined) overrides['/vehicle/model/registryUrl'] = registry;
    const poll = positiveInt('poll-interval', flags['poll-interval'] as string | undefined);
    if (poll !== undefined) overrides['/vehicle/predictor/pollIntervalMs'] = poll;
    return overrides;
  },
  // beside a running up on the default port: say so first, before downloading or opening anything
  preflight: (cfg) => assertPortFree(cfg.http.host, cfg.http.port),
  modules: ['vehicle-predictor', 'stage-energy', 'v2-grpc'],
});

export const replayVehicleRole: Role = {
  name: 'replay-vehicle',
  summary: 'replay a vehicle log (reference CSV format) into the Vehicle API',
  usage: [
    'usage: wattflow replay-vehicle --file LOG.csv --vehicle-id ID [--speed N | --as-fast-as-possible]',
    '                               [--target URL] [--batch N] [--token T] [--start TIME] [--json]',
    '',
    '  --file LOG.csv          a log in the reference format (STAMP/value column pairs, units row; .csv or .CSV)',
    '  --vehicle-id ID         the vehicle to send as',
    '  --speed N               real time × N (default 1); --as-fast-as-possible sends without waiting',
    '  --target URL            Vehicle API base URL (default: WATTFLOW_URL, else the wattflow up running from',
    '                          this directory (.wattflow/up.json), else http://127.0.0.1:8000; printed on stderr)',
    '  --batch N               measurements per request (default 500)',
    '  --token T               bearer token, scope ingest (default: WATTFLOW_TOKEN, else VEHICLE_API_TOKEN)',
    '  --start TIME            clock of the log\'s time 0: epoch ms or ISO 8601 (default: now; as fast as',
    '                          possible: so that the log ends now)',
    '  --json                  print the report as JSON',
  ].join('\n'),
  async run(args) {
    const { values } = parseRoleArgs(args, {
      file: { type: 'string', short: 'f' },
      'vehicle-id': { type: 'string' },
      speed: { type: 'string' },
      'as-fast-as-possible': { type: 'boolean' },
      target: { type: 'string' },
      batch: { type: 'string' },
      token: { type: 'string' },
      start: { type: 'string' },
      json: { type: 'boolean' },
    });
    if (!values.file) throw new UsageError('--file is required');
    const vehicleId = values['vehicle-id'];
    if (!vehicleId) throw new UsageError('--vehicle-id is required');
    if (!VEHICLE_ID_PATTERN.test(vehicleId)) throw new UsageError(`invalid --vehicle-id "${vehicleId}" (1-64 of A-Z a-z 0-9 _ . : -)`);
    if (values.speed !== undefined && values['as-fast-as-possible']) throw new UsageError('--speed and --as-fast-as-possible exclude each other');
    const speed = positiveNumber('speed', values.speed);
    const batchSize = positiveInt('batch', values.batch);
    let startMs: number | undefined;
    if (values.start !== undefined) {
      startMs = parseTime(values.start, { epoch: 'ms' });
      if (startMs === undefined) throw new UsageError(`--start must be epoch ms or ISO 8601, got "${values.start}"`);
    }
    const choice = chooseServer({ flag: { name: '--target', value: values.target }, stateDir: stateDirOf(loadAppConfig(values.config)) });
    const target = choice.url;
    try {
      new URL(target);
    } catch {
      throw new UsageError(`${choice.source === '--target' ? '--target' : choice.source} must be a URL, got "${target}"`);
    }
    announceServer('replay-vehicle', choice, 'Vehicle API');
    const envToken = (name: string) => (process.env[name]?.trim() ? process.env[name]!.trim() : undefined);
    const token = values.token ?? envToken('WATTFLOW_TOKEN') ?? envToken('VEHICLE_API_TOKEN');
    const ac = new AbortController();
    process.once('SIGINT', () => ac.abort());
    let lastPrint = 0;
    try {
      const report = await replayVehicleLog({
        file: values.file,
        vehicleId,
        target,
        ...(speed !== undefined ? { speed } : {}),
        asFastAsPossible: values['as-fast-as-possible'] === true,
        ...(batchSize !== undefined ? { batchSize } : {}),
        ...(token ? { token } : {}),
        ...(startMs !== undefined ? { startMs } : {}),
        signal: ac.signal,
        onProgress: (r) => {
          if (values.json || !process.stderr.isTTY || Date.now() - lastPrint < 1000) return;
          lastPrint = Date.now();
          process.stderr.write(`\r${r.sent}/${r.measurements} sent, ${r.accepted} accepted, ${r.rejected} rejected, ${r.vectors} vectors   `);
        },
      });
      if (!values.json && process.stderr.isTTY && lastPrint) process.stderr.write('\n');
      console.log(values.json ? JSON.stringify(report, null, 2) : formatReplayReport(report));
      return report.sent === report.measurements ? 0 : 1;
    } catch (err) {
      if (err instanceof ReplayError) {
        console.error(`wattflow replay-vehicle: ${err.message}`);
        return 1;
      }
      throw err;
    }
  },
};

/** --data arguments: files, or directories (their .csv/.CSV files). */
function dataFiles(args: string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    let st;
    try {
      st = statSync(a);
    } catch {
      throw new UsageError(`--data ${a}: no such file or directory`);
    }
    if (st.isDirectory()) {
      const logs = logsIn(a);
      if (logs.length === 0) throw new UsageError(`--data ${a}: no .csv files in this directory`);
      out.push(...logs);
    } else out.push(a);
  }
  return out;
}

export const trainVehicleRole: Role = {
  name: 'train-vehicle',
  summary: 'train the vehicle anomaly model (isolation forest) from logs in the reference CSV format',
  usage: [
    'usage: wattflow train-vehicle --data FILE|DIR [--data …] [--out FILE] [--trees N] [--sample-size N]',
    '                              [--contamination Q] [--seed N] [--cadence-ms MS] [--max-age-ms MS]',
    '                              [--register NAME [--registry URL] [--alias A] [--token T]]',
    '',
    '  --data     reference-format logs (repeat, or list them after --data; directories: their .csv files)',
    '  --out      the model artifact (default: with --register, <storage.dir>/models/NAME-<version>.json;',
    '             else vehicle.model.path, else <storage.dir>/vehicle-model.json — the model `wattflow up`',
    '             serves: while an up runs from this directory it is not replaced without --force)',
    '  --force    replace the model file the running `wattflow up` serves (then reload it: kill -HUP <pid>)',
    '  --contamination  expected share of anomalies in the training data (threshold quantile; default 0.01)',
    '  --register NAME  also upload the artifact to the model registry as the next version of NAME (kind',
    '                   vehicle-anomaly; the model is named NAME); --alias sets e.g. production to it.',
    '                   Registry: --registry URL, else WATTFLOW_REGISTRY_URL, else WATTFLOW_URL, else the',
    '                   wattflow up running from this directory, else http://127.0.0.1:8000 (printed);',
    '                   its token (scope models:write): --token, else WATTFLOW_TOKEN',
    'The alignment (cadence, maximum age) defaults to the vehicle.alignment config, as the API uses.',
  ].join('\n'),
  async run(args) {
    const { values, positionals } = parseRoleArgs(args, {
      data: { type: 'string', multiple: true, short: 'd' },
      out: { type: 'string', short: 'o' },
      trees: { type: 'string' },
      'sample-size': { type: 'string' },
      contamination: { type: 'string' },
      seed: { type: 'string' },
      'cadence-ms': { type: 'string' },
      'max-age-ms': { type: 'string' },
      register: { type: 'string' },
      registry: { type: 'string' },
      alias: { type: 'string' },
      token: { type: 'string' },
      force: { type: 'boolean' },
    });
    if (values.register !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(values.register)) {
      throw new UsageError(`--register: invalid model name "${values.register}" (letters, digits, . _ -)`);
    }
    if ((values.alias !== undefined || values.registry !== undefined || values.token !== undefined) && values.register === undefined) throw new UsageError('--alias, --registry and --token go with --register NAME');
    const files = dataFiles([...(values.data ?? []), ...positionals]);
    if (files.length === 0) throw new UsageError('--data FILE is required');
    const cfg = roleConfig(values);
    guardServedModel(cfg, values);
    const seed = values.seed === undefined ? undefined : Number(values.seed);
    if (seed !== undefined && !Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got "${values.seed}"`);
    const contamination = positiveNumber('contamination', values.contamination);
    const trees = positiveInt('trees', values.trees);
    const sampleSize = positiveInt('sample-size', values['sample-size']);
    const cadenceMs = positiveInt('cadence-ms', values['cadence-ms']) ?? cfg.vehicle.alignment.cadenceMs;
    const maxAge = values['max-age-ms'] === undefined ? cfg.vehicle.alignment.maxAgeMs : Number(values['max-age-ms']);
    if (!Number.isInteger(maxAge) || maxAge < 0) throw new UsageError(`--max-age-ms must be a non-negative integer, got "${values['max-age-ms']}"`);
    return trainVehicleCommand(cfg, {
      files,
      ...(values.out !== undefined ? { out: values.out } : {}),
      ...(values.register !== undefined ? { register: values.register } : {}),
      ...(values.registry !== undefined ? { registry: values.registry } : {}),
      ...(values.alias !== undefined ? { alias: values.alias } : {}),
      ...(values.token !== undefined ? { token: values.token } : {}),
      ...(trees !== undefined ? { trees } : {}),
      ...(sampleSize !== undefined ? { sampleSize } : {}),
      ...(contamination !== undefined ? { contamination } : {}),
      ...(seed !== undefined ? { seed } : {}),
      cadenceMs,
      maxAge,
    });
  },
};

export const vehicleRoles: Role[] = [vehicleApiRole, vehiclePredictorRole, replayVehicleRole, trainVehicleRole];
