/**
 * The vehicle pipeline's CLI roles:
 *   vehicle-api        Vehicle API: ingest, preprocessing, node-local Redis, forwarding (push)
 *   vehicle-predictor  scores vectors (push endpoint, or pull: Redis channel / stream) → InfluxDB
 *   replay-vehicle     replays a reference CSV log into the Vehicle API
 *   train-vehicle      trains the vehicle anomaly model from reference CSV logs → JSON artifact
 *                      (optionally registered in the model registry: --register NAME)
 * The configuration is the app configuration plus the `vehicle` section (src/vehicle/config.ts).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadAppConfig } from '../app-config.js';
import { announceServer, assertPortFree, chooseServer, OperatorError, runningUp, shortPath, stateDirOf } from '../core/instance.js';
import { StorageInUseError } from '../storage/sqlite-store.js';
import type { Component } from '../core/component.js';
import { parseTime } from '../core/time.js';
import { openTimeSeriesStore } from '../storage/index.js';
import { createMemoryStore, createNodeStore, buildVehicleApi, buildVehiclePredictor, createPredictionSink, predictorModeOf, predictorTransports, storeComponent } from '../vehicle/components.js';
import { modelPathOf, type VehicleAppConfig } from '../vehicle/config.js';
import { loadVehicleAppConfig } from '../vehicle/load-config.js';
import { loadOrTrainDemoModel, logsIn } from '../vehicle/demo.js';
import { loadVehicleModel, ModelFileError, saveModelArtifact, type VehicleModel } from '../vehicle/model/anomaly-model.js';
import { isRegistryRef, loadRegistryVehicleModel, registerVehicleModel } from '../vehicle/model/registry-model.js';
import { trainVehicleModel } from '../vehicle/model/train.js';
import { formatReplayReport, replayVehicleLog, ReplayError } from '../vehicle/replay/replay.js';
import { VEHICLE_ID_PATTERN } from '../vehicle/store/store.js';
import { checkedServerConfig, parseRoleArgs, roleLogger, serve, UsageError } from './common.js';
import type { Role } from './role.js';
import { stageEnergyComponents } from '../energy/wiring.js';
import { v2GrpcComponent } from '../router-power/inference/v2-grpc.js';

/** Model artifact when neither vehicle.model.path nor a storage directory says where. */
const DEFAULT_MODEL_PATH = '.wattflow/vehicle-model.json';

/** App config + vehicle section, with --port/--host applied (as loadRoleConfig does). */
export function vehicleRoleConfig(values: { config?: string; port?: string; host?: string }, overrides: Record<string, unknown> = {}): VehicleAppConfig {
  const o: Record<string, unknown> = { ...overrides };
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be an integer 0..65535, got "${values.port}"`);
    o['/http/port'] = port;
  }
  if (values.host !== undefined) o['/http/host'] = values.host;
  return loadVehicleAppConfig(values.config, o);
}

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

export const vehicleApiRole: Role = {
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
  async run(args) {
    const { values } = parseRoleArgs(args, {
      mode: { type: 'string' },
      'inference-url': { type: 'string' },
      memory: { type: 'boolean' },
    });
    const overrides: Record<string, unknown> = {};
    if (values.mode !== undefined) {
      if (values.mode !== 'push' && values.mode !== 'pull') throw new UsageError(`--mode must be push or pull, got "${values.mode}"`);
      overrides['/vehicle/inference/mode'] = values.mode;
    }
    if (values['inference-url'] !== undefined) overrides['/vehicle/inference/url'] = values['inference-url'];
    const cfg = checkedServerConfig(vehicleRoleConfig(values, overrides));
    const logger = roleLogger(cfg, 'vehicle-api');
    const v = cfg.vehicle;
    const store = values.memory ? createMemoryStore(v) : createNodeStore(v, logger);
    const api = buildVehicleApi({ v, store, logger, ...(v.inference.mode === 'push' ? { forwardTo: predictorTransports(v) } : {}) });
    logger.info({ store: store.location, mode: v.inference.mode, predictor: v.inference.mode === 'push' ? v.inference.url : undefined }, 'vehicle-api');
    await serve(cfg, logger, [storeComponent(store), api.component]);
  },
};

export const vehiclePredictorRole: Role = {
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
  async run(args) {
    const { values } = parseRoleArgs(args, {
      mode: { type: 'string' },
      model: { type: 'string' },
      registry: { type: 'string' },
      'poll-interval': { type: 'string' },
      'demo-model': { type: 'boolean' },
    });
    const overrides: Record<string, unknown> = {};
    if (values.mode !== undefined) {
      if (!['push', 'pull', 'subscribe', 'poll'].includes(values.mode)) throw new UsageError(`--mode must be push or pull, got "${values.mode}"`);
      overrides['/vehicle/predictor/mode'] = values.mode;
    }
    if (values.model !== undefined) {
      if (isRegistryRef(values.model) && !existsSync(values.model)) overrides['/vehicle/model/ref'] = values.model;
      else overrides['/vehicle/model/path'] = values.model;
    }
    if (values.registry !== undefined) overrides['/vehicle/model/registryUrl'] = values.registry;
    const poll = positiveInt('poll-interval', values['poll-interval']);
    if (poll !== undefined) overrides['/vehicle/predictor/pollIntervalMs'] = poll;
    const cfg = checkedServerConfig(vehicleRoleConfig(values, overrides));
    // beside a running up on the default port: say so first, before downloading or opening anything
    await assertPortFree(cfg.http.host, cfg.http.port);
    const logger = roleLogger(cfg, 'vehicle-predictor');
    const v = cfg.vehicle;
    const modelPath = modelPathOf(cfg, v) ?? DEFAULT_MODEL_PATH;
    const ref = values.model !== undefined && !isRegistryRef(values.model) ? undefined : v.model.ref;
    const setting = v.model.registryUrl !== undefined ? { name: values.registry !== undefined ? '--registry' : 'vehicle.model.registryUrl', value: v.model.registryUrl } : { name: 'registry.url / WATTFLOW_REGISTRY_URL', value: cfg.registry.url };
    const registryChoice = ref ? chooseServer({ setting, stateDir: stateDirOf(cfg) }) : undefined;
    if (registryChoice) announceServer('vehicle-predictor', registryChoice, 'registry');
    const registryUrl = registryChoice?.url;
    const fromRegistry = async () => {
      const r = await loadRegistryVehicleModel(ref!, registryUrl);
      logger.info({ ref, version: r.version, sha256: r.sha256, model: r.model.version }, 'vehicle model loaded from the registry');
      return r.model;
    };
    let model: VehicleModel;
    try {
      model = ref ? await fromRegistry() : values['demo-model'] ? loadOrTrainDemoModel(modelPath, v.alignment, logger, v.model.demoData) : loadVehicleModel(modelPath);
    } catch (err) {
      if (err instanceof ModelFileError) {
        console.error(`wattflow vehicle-predictor: ${err.message}`);
        return 1;
      }
      throw err;
    }
    const components: Component[] = [];
    let tsStore;
    if (!cfg.influx.url) {
      try {
        tsStore = await openTimeSeriesStore({ dir: cfg.storage.dir, retentionHours: cfg.storage.retentionHours });
      } catch (err) {
        // the only reason this role opens the embedded storage: its predictions, without INFLUX_URL
        if (err instanceof StorageInUseError) {
          throw new OperatorError(`${err.message}; this role needs it only for its predictions: with INFLUX_URL set it does not open it`);
        }
        throw err;
      }
      logger.warn({ dir: cfg.storage.dir }, 'INFLUX_URL not set: predictions go to the embedded storage');
      components.push({ name: 'embedded-storage', stop: () => tsStore!.close() });
    }
    const sink = createPredictionSink(cfg, logger, tsStore ? { store: tsStore } : {});
    const mode = predictorModeOf(v.predictor.mode);
    const store = mode === 'push' ? undefined : createNodeStore(v, logger);
    if (store) components.push(storeComponent(store));
    const pred = buildVehiclePredictor({ v, mode, model, sink, logger, ...(store ? { store } : {}), reloadModel: ref ? fromRegistry : () => loadVehicleModel(modelPath) });
    components.push(pred.component);
    components.push(...stageEnergyComponents(cfg.energy, logger, 'vehicle-predictor'));
    components.push(v2GrpcComponent(cfg, logger)); // KServe V2 over gRPC beside the REST server
    logger.info({ mode, model: model.version, ...(ref ? { ref } : { path: modelPath }), sink: sink.name, redis: store?.location }, 'vehicle-predictor');
    await serve(cfg, logger, components);
  },
};

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

/** The registry train-vehicle --register talks to (printed), as every client finds its server. */
function registryFor(flag: string | undefined, setting: string | undefined, stateDir: string): string {
  const choice = chooseServer({ flag: { name: '--registry', value: flag }, setting: { name: 'registry.url / WATTFLOW_REGISTRY_URL', value: setting }, stateDir });
  announceServer('train-vehicle', choice, 'registry');
  return choice.url;
}

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
    const cfg = vehicleRoleConfig(values);
    const stateDir = stateDirOf(cfg);
    const served = modelPathOf(cfg, cfg.vehicle) ?? DEFAULT_MODEL_PATH;
    // the model file a running `up` serves is not replaced behind its back (issue 17)
    const up = runningUp(stateDir);
    const guard = (file: string) => {
      if (up?.vehicle_model !== resolve(file) || values.force) return;
      throw new OperatorError(
        `${shortPath(file)} is the vehicle model the running wattflow up serves (pid ${up.pid}, ${up.url}): not replaced — ` +
          'write elsewhere (--out FILE), register it (--register NAME), or replace it with --force (then reload it: kill -HUP ' + up.pid + ')',
      );
    };
    if (values.out === undefined && values.register === undefined) guard(served);
    const seed = values.seed === undefined ? undefined : Number(values.seed);
    if (seed !== undefined && !Number.isInteger(seed)) throw new UsageError(`--seed must be an integer, got "${values.seed}"`);
    const contamination = positiveNumber('contamination', values.contamination);
    const trees = positiveInt('trees', values.trees);
    const sampleSize = positiveInt('sample-size', values['sample-size']);
    const cadenceMs = positiveInt('cadence-ms', values['cadence-ms']) ?? cfg.vehicle.alignment.cadenceMs;
    const maxAge = values['max-age-ms'] === undefined ? cfg.vehicle.alignment.maxAgeMs : Number(values['max-age-ms']);
    if (!Number.isInteger(maxAge) || maxAge < 0) throw new UsageError(`--max-age-ms must be a non-negative integer, got "${values['max-age-ms']}"`);
    const started = Date.now();
    let result;
    try {
      result = trainVehicleModel({
        files,
        alignment: { cadenceMs, maxAgeMs: maxAge },
        ...(trees !== undefined ? { trees } : {}),
        ...(sampleSize !== undefined ? { sampleSize } : {}),
        ...(contamination !== undefined ? { contamination } : {}),
        ...(seed !== undefined ? { seed } : {}),
        ...(values.register !== undefined ? { name: values.register } : {}),
      });
    } catch (err) {
      console.error(`wattflow train-vehicle: ${(err as Error).message}`);
      return 1;
    }
    const out = values.out ?? (values.register !== undefined ? join(stateDir, 'models', `${values.register}-${result.artifact.version}.json`) : served);
    let replaced: string | undefined;
    if (existsSync(out)) {
      try {
        replaced = String((JSON.parse(readFileSync(out, 'utf8')) as { version?: unknown }).version ?? 'unknown');
      } catch {
        replaced = 'unreadable';
      }
    }
    saveModelArtifact(result.artifact, out);
    let registered: { version: string; url: string } | undefined;
    if (values.register !== undefined) {
      try {
        registered = await registerVehicleModel(result.artifact, {
          name: values.register,
          registryUrl: registryFor(values.registry, cfg.registry.url, stateDir),
          ...(values.alias ? { alias: values.alias } : {}),
          ...(values.token ? { token: values.token } : {}),
          source: basename(out),
        });
      } catch (err) {
        console.error(`wattflow train-vehicle: the model was saved to ${out} but not registered: ${(err as Error).message}`);
        return 1;
      }
    }
    const a = result.artifact;
    console.log(`vehicle model ${a.name} version ${a.version} → ${out} (${Date.now() - started} ms)${replaced !== undefined ? `; replaced version ${replaced}` : ''}`);
    if (up && up.vehicle_model === resolve(out)) console.log(`  the running wattflow up (pid ${up.pid}) serves this file: reload it with kill -HUP ${up.pid}`);
    for (const f of a.training.files) console.log(`  ${f.name}: ${f.measurements} measurements → ${f.vectors} vectors`);
    console.log(`  features (${a.features.length}): ${a.features.join(', ')}`);
    console.log(`  isolation forest: ${a.training.trees} trees, sample ${a.forest.sampleSize}; threshold ${a.threshold} (contamination ${a.contamination}; ${result.anomalies}/${a.training.vectors} training vectors above)`);
    for (const [reason, n] of Object.entries(result.rejected)) console.log(`  rejected ${n}× ${reason}`);
    for (const w of result.warnings) console.log(`  warning ${w.file}:${w.line}${w.column ? `:${w.column}` : ''}: ${w.message}`);
    if (registered) {
      console.log(`registered as ${values.register}@${registered.version}${values.alias ? ` (alias ${values.alias})` : ''} in ${registered.url}`);
      console.log(`  serve it: wattflow vehicle-predictor --model ${values.register}@${values.alias ?? registered.version} --registry ${registered.url}`);
    }
    return 0;
  },
};

export const vehicleRoles: Role[] = [vehicleApiRole, vehiclePredictorRole, replayVehicleRole, trainVehicleRole];
