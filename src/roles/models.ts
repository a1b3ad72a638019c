/**
 * The model roles:
 *  - `wattflow train`: fits a power model from a CSV (src/ml/train), writes the ONNX graph and
 *    its metadata (held-out metrics), and optionally registers it in one step (--register);
 *  - `wattflow models …`: the registry CLI over its REST API (create, upload, list, show,
 *    download, alias/unalias, delete, deploy/undeploy/rollback, switch, status);
 *  - `wattflow registry`: the registry service (REST API, web page, control channel).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { loadCsvDataset } from '../ml/dataset/index.js';
import { sha256Hex } from '../ml/onnx/metadata.js';
import { MODEL_TYPES, trainPowerModel, writeModelArtifacts, type HyperByType, type ModelType } from '../ml/train/index.js';
import { parseFeatures } from '../registry/api.js';
import { RegistryClient, RegistryClientError, type PublicRecord, type ScopeArgs } from '../registry/client.js';
import { RegistryError } from '../registry/errors.js';
import { createRegistryComponents } from '../registry/index.js';
import type { StatusReport } from '../registry/registry.js';
import type { Role } from './role.js';
import { createFabric, fabricComponent, loadRoleConfig, parseRoleArgs, roleLogger, serve, UsageError } from './common.js';
import { loadAppConfig } from '../app-config.js';
import { announceServer, chooseServer, DEFAULT_STATE_DIR, stateDirOf } from '../core/instance.js';
import { experimentFor } from './network.js';

/**
 * The registry a client talks to (printed on stderr): --registry, else registry.url
 * (WATTFLOW_REGISTRY_URL or --config), else WATTFLOW_URL, else the `wattflow up` running from
 * this directory (<storage.dir>/up.json), else http://127.0.0.1:8000 (src/core/instance.ts).
 */
function registryUrl(role: string, flag: string | undefined, configFile?: string): string {
  let setting: string | undefined;
  let stateDir = stateDirOf({ storage: { dir: DEFAULT_STATE_DIR } });
  if (flag === undefined) {
    const cfg = loadAppConfig(configFile);
    setting = cfg.registry.url;
    stateDir = stateDirOf(cfg);
  }
  const choice = chooseServer({ flag: { name: '--registry', value: flag }, setting: { name: 'registry.url / WATTFLOW_REGISTRY_URL', value: setting }, stateDir });
  announceServer(role, choice, 'registry');
  return choice.url;
}

/** Prints registry errors as one line and returns exit status 1. */
async function reportErrors(fn: () => Promise<number | void>): Promise<number> {
  try {
    return (await fn()) ?? 0;
  } catch (err) {
    if (err instanceof RegistryClientError || err instanceof RegistryError) {
      console.error(`error: ${err.message}${err.code && !err.message.includes(err.code) ? ` [${err.code}]` : ''}`);
      return 1;
    }
    throw err;
  }
}

function num(name: string, v: string | undefined, opts: { int?: boolean; min?: number; max?: number } = {}): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (opts.int && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max)) {
    throw new UsageError(`--${name} must be ${opts.int ? 'an integer' : 'a number'}${opts.min !== undefined ? ` >= ${opts.min}` : ''}${opts.max !== undefined ? ` <= ${opts.max}` : ''}, got "${v}"`);
  }
  return n;
}

function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n');
}

const fmt = (v: number | null | undefined, d = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '-');

// ------------------------------------------------------------------ train

const trainOptions = {
  'router-type': { type: 'string' },
  'model-type': { type: 'string' },
  data: { type: 'string' },
  target: { type: 'string' },
  features: { type: 'string' },
  'test-split': { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  name: { type: 'string' },
  version: { type: 'string' },
  register: { type: 'string' },
  registry: { type: 'string' },
  alias: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  // hyper-parameters
  degree: { type: 'string' },
  'no-intercept': { type: 'boolean' },
  trees: { type: 'string' },
  'max-depth': { type: 'string' },
  'min-samples-leaf': { type: 'string' },
  'min-samples-split': { type: 'string' },
  'max-features': { type: 'string' },
  'no-bootstrap': { type: 'boolean' },
  hidden: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  'learning-rate': { type: 'string' },
  l2: { type: 'string' },
  patience: { type: 'string' },
  hyper: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

type TrainValues = { [K in keyof typeof trainOptions]?: (typeof trainOptions)[K]['type'] extends 'boolean' ? boolean : string };

function hyperFrom(type: ModelType, v: TrainValues): Record<string, unknown> {
  const h: Record<string, unknown> = {};
  const set = (k: string, x: unknown) => {
    if (x !== undefined) h[k] = x;
  };
  if (type === 'linear' || type === 'polynomial') {
    if (v['no-intercept']) h.fitIntercept = false;
    if (type === 'polynomial') set('degree', num('degree', v.degree, { int: true, min: 1, max: 4 }));
  } else if (type === 'rf') {
    set('nEstimators', num('trees', v.trees, { int: true, min: 1 }));
    set('maxDepth', num('max-depth', v['max-depth'], { int: true, min: 0 }));
    set('minSamplesLeaf', num('min-samples-leaf', v['min-samples-leaf'], { int: true, min: 1 }));
    set('minSamplesSplit', num('min-samples-split', v['min-samples-split'], { int: true, min: 2 }));
    set('maxFeatures', num('max-features', v['max-features'], { min: 0 }));
    if (v['no-bootstrap']) h.bootstrap = false;
  } else {
    if (v.hidden !== undefined) {
      const layers = v.hidden.split(',').map((s) => num('hidden', s.trim(), { int: true, min: 1 })!);
      h.hiddenLayers = layers;
    }
    set('epochs', num('epochs', v.epochs, { int: true, min: 1 }));
    set('batchSize', num('batch-size', v['batch-size'], { int: true, min: 1 }));
    set('learningRate', num('learning-rate', v['learning-rate'], { min: 0 }));
    set('l2', num('l2', v.l2, { min: 0 }));
    set('patience', num('patience', v.patience, { int: true, min: 1 }));
  }
  if (v.hyper !== undefined) {
    try {
      Object.assign(h, JSON.parse(v.hyper) as Record<string, unknown>);
    } catch {
      throw new UsageError(`--hyper must be a JSON object, got ${v.hyper}`);
    }
  }
  return h;
}

async function defaultTarget(file: string): Promise<string> {
  let header = '';
  try {
    header = (await readFile(file, 'utf8')).split(/\r?\n/, 1)[0] ?? '';
  } catch {
    return 'power_W'; // the loader reports the unreadable file
  }
  const cols = header.replace(/^\uFEFF/, '').split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
  const found = ['power_W', 'power', 'Power_W', 'power_w', 'Power'].find((c) => cols.includes(c));
  if (!found) throw new UsageError(`--target COL is required: no power column (power_W, power) in the header of ${file} (${cols.join(', ')})`);
  return found;
}

export const trainRole: Role = {
  name: 'train',
  summary: 'fit a power model (linear|polynomial|rf|mlp) from a CSV, write ONNX + metadata, optionally register it',
  usage: [
    'usage: wattflow train --router-type T --model-type linear|polynomial|rf|mlp --data FILE.csv',
    '                      [--target COL] [--features A,B] [--test-split 0.2] [--seed N] [--out DIR]',
    '                      [--name NAME] [--version V] [--register NAME [--registry URL] [--alias A] [--token T]]',
    '                      [hyper-parameters] [--json]',
    '',
    'Fits the model on a seeded train/test split, reports held-out MAE/MAPE/R², writes',
    '<out>/<name>-<version>.onnx and .json (default out: .wattflow/models). --register NAME uploads',
    'it to the registry (--registry, WATTFLOW_REGISTRY_URL, WATTFLOW_URL, the `up` running here, else',
    'http://127.0.0.1:8000; the one used is printed) as the next',
    'version of NAME (created when missing); --alias sets e.g. staging or production. The registry',
    'token (scope models:write): --token, else WATTFLOW_TOKEN.',
    '',
    'Defaults: --features PacketSize_B,Throughput_Percentage (graph column order; NAME:UNIT to',
    'give a unit, e.g. Throughput_Percentage:percent), --target power_W (or power), --test-split',
    '0.2, --seed 0, --name <router-type>-<model-type>.',
    '',
    'Hyper-parameters: polynomial --degree N (2) --no-intercept; linear --no-intercept;',
    'rf --trees N (50) --max-depth N (10) --min-samples-leaf N (5) --min-samples-split N',
    '   --max-features X --no-bootstrap;',
    'mlp --hidden 64,32,16,8 --epochs N (150) --batch-size N (64) --learning-rate X (0.002)',
    '    --l2 X (1e-5) --patience N (15); any type: --hyper \'{"key": value}\'.',
  ].join('\n'),
  async run(args) {
    const { values: v } = parseRoleArgs(args, trainOptions);
    const values = v as TrainValues;
    const routerType = values['router-type'];
    const modelType = values['model-type'] as ModelType | undefined;
    if (!routerType) throw new UsageError('--router-type is required');
    if (!modelType || !MODEL_TYPES.includes(modelType)) throw new UsageError(`--model-type must be one of ${MODEL_TYPES.join(', ')}`);
    if (!values.data) throw new UsageError('--data FILE.csv is required');
    const testFraction = num('test-split', values['test-split'], { min: 0, max: 0.9 }) ?? 0.2;
    const seed = num('seed', values.seed, { int: true, min: 0 }) ?? 0;
    const hyper = hyperFrom(modelType, values);
    let featureSpecs;
    try {
      featureSpecs = parseFeatures(values.features ?? 'PacketSize_B,Throughput_Percentage');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const target = values.target ?? (await defaultTarget(values.data));
    const name = values.name ?? values.register ?? `${routerType}-${modelType}`;
    return reportErrors(async () => {
      const client = values.register ? new RegistryClient(registryUrl('train', values.registry, v.config), undefined, values.token) : undefined;
      let version = values.version;
      if (!version && client) version = (await client.getModel(values.register!))?.next_version ?? '1';
      version ??= '1';
      const t0 = performance.now();
      const dataset = await loadCsvDataset(values.data!, { features: featureSpecs.map((f) => f.name), target });
      const { metadata, onnx } = trainPowerModel({
        dataset,
        modelType,
        name,
        version,
        routerType,
        seed,
        testFraction,
        hyper: hyper as HyperByType[typeof modelType],
        featureUnits: Object.fromEntries(featureSpecs.map((f) => [f.name, f.unit])),
      });
      const seconds = (performance.now() - t0) / 1000;
      const paths = await writeModelArtifacts(values.out ?? join('.wattflow', 'models'), { onnx, metadata });
      let registered: { version: string; url: string } | undefined;
      if (client) {
        const rec = await client.upload(values.register!, onnx, {
          metadata,
          version,
          ...(values.alias ? { alias: values.alias } : {}),
          source: basename(paths.onnxPath),
        });
        registered = { version: rec.version, url: client.baseUrl };
      }
      const m = metadata.metrics;
      if (values.json) {
        console.log(JSON.stringify({ ...paths, metadata, seconds, ...(registered ? { registered: { model: values.register, ...registered } } : {}) }, null, 2));
        return 0;
      }
      console.log(
        [
          `trained ${modelType} model ${name}@${version} for router type ${routerType} on ${metadata.training_data?.rows ?? '?'} rows (${metadata.training_data?.test_rows ?? 0} held out) in ${seconds.toFixed(2)} s`,
          m ? `  held-out: MAE ${fmt(m.MAE)} W  MAPE ${fmt(m.MAPE)} %  R² ${fmt(m.R2)}  (${m.rows} rows)` : '  held-out: no test rows',
          `  wrote ${paths.onnxPath} (sha256 ${metadata.sha256.slice(0, 12)}…, ${onnx.length} bytes) and ${paths.metadataPath}`,
          ...(registered ? [`  registered ${values.register}@${registered.version} at ${registered.url}${values.alias ? ` (alias ${values.alias})` : ''}`] : []),
        ].join('\n'),
      );
      return 0;
    });
  },
};

// ------------------------------------------------------------------ models

const modelsOptions = {
  registry: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  routers: { type: 'string' },
  'router-type': { type: 'string' },
  all: { type: 'boolean' },
  force: { type: 'boolean' },
  metadata: { type: 'string' },
  version: { type: 'string' },
  alias: { type: 'string' },
  features: { type: 'string' },
  'model-type': { type: 'string' },
  description: { type: 'string' },
  out: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

type ModelsValues = { [K in keyof typeof modelsOptions]?: (typeof modelsOptions)[K]['type'] extends 'boolean' ? boolean : string };

const MODELS_USAGE = [
  'usage: wattflow models <command> [args] [--registry URL] [--token T] [--json]',
  '',
  'The model registry (REST API of `wattflow registry` / `wattflow up`; --registry URL, else',
  'WATTFLOW_REGISTRY_URL, else WATTFLOW_URL, else the `wattflow up` running from this directory',
  '(.wattflow/up.json), else http://127.0.0.1:8000; the address used is printed on stderr).',
  'Bearer token: --token, else',
  'WATTFLOW_TOKEN (scopes: read for list/show/download/status, models:write for create/upload/',
  'alias/unalias/delete, deploy for deploy/undeploy/rollback/switch).',
  '',
  '  list                                     models, versions, aliases, deployments',
  '  create NAME [--description D] [--router-type T]',
  '  upload NAME FILE.onnx [--metadata FILE.json] [--version V] [--alias A]',
  '         [--router-type T] [--model-type external] [--features A:unit,B:unit]',
  '                                           validate (load + smoke prediction) and store a version',
  '  show NAME[@VERSION|@ALIAS]               a model, or one version with its metadata',
  '  download NAME[@VERSION|@ALIAS] [--out DIR]  writes <DIR>/<name>-<version>.onnx + .json',
  '  alias NAME@VERSION ALIAS                 set an alias (production, staging, …)',
  '  unalias NAME ALIAS                       remove an alias',
  '  delete NAME@VERSION                      delete a version (refused while deployed)',
  '  deploy NAME@VERSION|NAME@ALIAS (--routers r1,r3 | --router-type T | --all) [--force]',
  '                                           record + announce; workers load, check, swap',
  '  deploy dummy (--routers … | --router-type T | --all)   the formula on that scope',
  '  undeploy (--routers … | --router-type T | --all)   clear a scope (broader scope applies)',
  '  rollback (--routers … | --router-type T | --all)   re-deploy the scope\'s previous target',
  '  switch dummy|model [NAME@VERSION] [--routers … | --router-type T]',
  '                                           every router of the scope (default: all) to the formula',
  '                                           dummy or to a model; clears narrower deployments',
  '  status                                   desired vs actual per worker and per router',
].join('\n');

function scopeOf(v: ModelsValues, defaultAll = false): ScopeArgs {
  const routers = v.routers?.split(',').map((s) => s.trim()).filter(Boolean);
  const n = [routers?.length ? 1 : 0, v['router-type'] ? 1 : 0, v.all ? 1 : 0].reduce((a, b) => a + b, 0);
  if (n > 1) throw new UsageError('give only one of --routers, --router-type, --all');
  if (n === 0) {
    if (defaultAll) return { all: true };
    throw new UsageError('which routers? --routers r1,r3 | --router-type T | --all');
  }
  if (routers?.length) return { routers };
  if (v['router-type']) return { router_type: v['router-type'] };
  return { all: true };
}

function splitRef(ref: string | undefined, what: string): { name: string; selector?: string } {
  if (!ref) throw new UsageError(`${what} is required`);
  const at = ref.indexOf('@');
  return at < 0 ? { name: ref } : { name: ref.slice(0, at), selector: ref.slice(at + 1) };
}

const scopeLabel = (s: PublicRecord['scope']): string => (s.kind === 'router' ? `router:${s.router}` : s.kind === 'router_type' ? `type:${s.router_type}` : 'all');
const targetText = (t: PublicRecord['target'] | undefined): string =>
  !t ? '(cleared: broader scope or experiment default)' : t.kind === 'dummy' ? 'dummy (formula)' : `${t.model}@${t.version}${t.alias ? ` (follows @${t.alias})` : ''}`;

/** Same target: both cleared, both the formula, or the same model version followed the same way. */
function sameTarget(a: PublicRecord['target'] | null | undefined, b: PublicRecord['target'] | null | undefined): boolean {
  if (!a || !b) return !a && !b;
  if (a.kind === 'dummy' || b.kind === 'dummy') return a.kind === b.kind;
  return a.model === b.model && a.version === b.version && (a.alias ?? '') === (b.alias ?? '');
}

function recordLines(records: PublicRecord[], verb: string): string[] {
  return records.map((r) => {
    const was = r.previous === undefined ? '' : sameTarget(r.target, r.previous) ? '   (unchanged: it already was the target)' : `   (was ${r.previous === null ? 'not set' : targetText(r.previous)})`;
    return `${verb} ${scopeLabel(r.scope).padEnd(16)} → ${targetText(r.target)}${was}`;
  });
}

const APPLY_LINE = 'inference workers apply it within seconds: `wattflow models status` shows desired vs actual';

function printRecords(records: PublicRecord[], verb: string): void {
  for (const l of recordLines(records, verb)) console.log(l);
  console.log(APPLY_LINE);
}

/**
 * A deployment's records, plus the routers a broad scope does not reach: a router uses the
 * narrowest scope with a target (router > router type > all), so `deploy … --all` or
 * `rollback --all` leaves a router with its own deployment where it is — said, not hidden.
 */
async function printDeployment(client: RegistryClient, records: PublicRecord[], verb: string): Promise<void> {
  for (const l of recordLines(records, verb)) console.log(l);
  const broad = records.filter((r) => r.target && r.scope.kind !== 'router');
  if (broad.length > 0) {
    let rows: StatusReport['routers'] = [];
    try {
      rows = (await client.status()).routers;
    } catch {
      /* the status is a courtesy here */
    }
    for (const r of broad) {
      const key = scopeLabel(r.scope);
      const kept = rows.filter(
        (row) =>
          row.desired_scope !== '' &&
          row.desired_scope !== key &&
          (r.scope.kind === 'all' || (r.scope.kind === 'router_type' && row.router_type === r.scope.router_type && row.desired_scope.startsWith('router:'))),
      );
      for (const row of kept) {
        console.log(
          `  ${row.router} stays on ${row.desired} (its narrower deployment ${row.desired_scope} wins: ` +
            `\`wattflow models undeploy --routers ${row.router}\` to let ${key} apply, or \`wattflow models switch …\` to set every router of ${key})`,
        );
      }
    }
  }
  console.log(APPLY_LINE);
}

export function formatStatus(s: StatusReport): string {
  const out: string[] = ['desired:'];
  if (s.desired.length === 0) out.push('  (nothing deployed: every router uses its experiment default)');
  else out.push(table(s.desired.map((d) => [`  ${d.scope}`, d.target, d.deployed_at])));
  out.push('', 'workers:');
  if (s.workers.length === 0) out.push('  (no inference worker has reported yet)');
  else
    out.push(
      table(
        s.workers.map((w) => [
          `  ${w.worker}`,
          w.reachable === false ? 'unreachable' : w.state,
          `status changed ${w.stale_seconds} s ago`,
          w.models.map((m) => `${m.model}@${m.version}`).join(', ') || 'no models',
          w.errors.length ? `last error: ${w.errors[w.errors.length - 1]!.code} ${w.errors[w.errors.length - 1]!.error}` : '',
        ]),
      ),
    );
  const running = s.workers.filter((w) => w.state === 'running' && w.reachable !== false).map((w) => w.worker);
  out.push('', 'routers (✓ = serving the desired model):');
  const rows = [['  ROUTER', 'TYPE', 'DESIRED', 'FROM', ...running]];
  for (const r of s.routers) {
    rows.push([
      `  ${r.router}`,
      r.router_type,
      r.desired,
      r.desired_scope || 'experiment',
      ...running.map((w) => {
        const a = r.workers[w];
        return !a ? '-' : `${a.actual} ${a.ok ? '✓' : '✗'}${a.error ? ` (${a.error})` : ''}`;
      }),
    ]);
  }
  out.push(table(rows));
  return out.join('\n');
}

export const modelsRole: Role = {
  name: 'models',
  summary: 'model registry CLI: create, upload, list, show, download, alias, delete, deploy, rollback, switch, status',
  usage: MODELS_USAGE,
  async run(args) {
    const { values: v, positionals } = parseRoleArgs(args, modelsOptions);
    const values = v as ModelsValues;
    const [cmd, ...rest] = positionals;
    if (!cmd) throw new UsageError('a command is required');
    const client = new RegistryClient(registryUrl('models', values.registry, v.config), undefined, values.token);
    const out = (x: unknown) => console.log(JSON.stringify(x, null, 2));
    return reportErrors(async () => {
      switch (cmd) {
        case 'list': {
          const models = await client.listModels();
          if (values.json) return out(models);
          if (models.length === 0) return console.log(`no models in the registry at ${client.baseUrl}`);
          const rows = [['MODEL', 'VERSION', 'TYPE', 'ROUTER TYPE', 'MAE', 'MAPE%', 'R2', 'ALIASES', 'DEPLOYED TO', 'SERVED BY']];
          for (const m of models) {
            if (m.versions.length === 0) rows.push([m.name, '-', '', m.router_type ?? '', '', '', '', '', '', '']);
            for (const ver of m.versions) {
              rows.push([m.name, ver.version, ver.kind ?? ver.model_type, ver.router_type, fmt(ver.metrics?.MAE), fmt(ver.metrics?.MAPE), fmt(ver.metrics?.R2), ver.aliases.join(','), ver.deployed_to.join(','), ver.served_by.join(',')]);
            }
          }
          return console.log(table(rows));
        }
        case 'create': {
          const name = rest[0];
          if (!name) throw new UsageError('models create NAME');
          const m = await client.createModel(name, { ...(values.description ? { description: values.description } : {}), ...(values['router-type'] ? { router_type: values['router-type'] } : {}) });
          return values.json ? out(m) : console.log(`created model ${m.name}`);
        }
        case 'upload': {
          const [name, file] = rest;
          if (!name || !file) throw new UsageError('models upload NAME FILE.onnx [--metadata FILE.json]');
          const bytes = new Uint8Array(await readFile(file));
          const metadata = values.metadata ? (JSON.parse(await readFile(values.metadata, 'utf8')) as unknown) : undefined;
          const rec = await client.upload(name, bytes, {
            ...(metadata !== undefined ? { metadata } : {}),
            ...(values.version ? { version: values.version } : {}),
            ...(values.alias ? { alias: values.alias } : {}),
            ...(values['router-type'] ? { router_type: values['router-type'] } : {}),
            ...(values['model-type'] ? { model_type: values['model-type'] } : {}),
            ...(values.features ? { features: values.features } : {}),
            ...(values.description ? { description: values.description } : {}),
            source: basename(file),
          });
          if (values.json) return out(rec);
          return console.log(`uploaded ${rec.model}@${rec.version} (${rec.model_type}, router type ${rec.router_type}, ${rec.size} bytes, sha256 ${rec.sha256.slice(0, 12)}…)${values.alias ? ` alias ${values.alias}` : ''}\n  stored at ${rec.artifact.uri}`);
        }
        case 'show': {
          const { name, selector } = splitRef(rest[0], 'NAME[@VERSION]');
          if (selector === undefined) {
            const m = await client.getModel(name);
            if (!m) throw new RegistryClientError(`model ${name} not found`, 404, 'NOT_FOUND');
            if (values.json) return out(m);
            console.log(`${m.name}${m.description ? ` — ${m.description}` : ''}\n  router type ${m.router_type ?? '-'}; aliases: ${Object.entries(m.aliases).map(([a, x]) => `${a}→${x}`).join(', ') || 'none'}`);
            const rows = [['  VERSION', 'CREATED', 'TYPE', 'MAE', 'MAPE%', 'R2', 'SIZE', 'SHA256', 'DEPLOYED TO', 'SERVED BY']];
            for (const x of m.versions) rows.push([`  ${x.version}`, x.created_at, x.kind ?? x.model_type, fmt(x.metrics?.MAE), fmt(x.metrics?.MAPE), fmt(x.metrics?.R2), String(x.size), x.sha256.slice(0, 12), x.deployed_to.join(','), x.served_by.join(',')]);
            return console.log(table(rows));
          }
          const ver = await client.showVersion(name, selector);
          return out(ver);
        }
        case 'download': {
          const { name, selector } = splitRef(rest[0], 'NAME[@VERSION|@ALIAS]');
          const d = await client.download(name, selector ?? 'latest');
          if (sha256Hex(d.bytes) !== d.metadata.sha256) throw new RegistryClientError(`downloaded bytes do not match sha256 ${d.metadata.sha256}`, 0, 'CHECKSUM_MISMATCH');
          const dir = values.out ?? '.';
          await mkdir(dir, { recursive: true });
          const stem = join(dir, `${name}-${d.version}`);
          // a vehicle model (kind vehicle-anomaly) is the JSON artifact `wattflow vehicle-predictor --model FILE` reads
          const artifactFile = (d.metadata as { kind?: unknown }).kind === 'vehicle-anomaly' ? `${stem}.vehicle-model.json` : `${stem}.onnx`;
          await writeFile(artifactFile, d.bytes);
          await writeFile(`${stem}.json`, JSON.stringify(d.metadata, null, 2) + '\n');
          return console.log(`wrote ${artifactFile} (sha256 ${d.metadata.sha256.slice(0, 12)}… verified) and ${stem}.json`);
        }
        case 'alias': {
          const { name, selector } = splitRef(rest[0], 'NAME@VERSION');
          const alias = rest[1];
          if (!selector || !alias) throw new UsageError('models alias NAME@VERSION ALIAS');
          const r = await client.setAlias(name, alias, selector);
          return console.log(`${name}@${alias} → ${selector}${r.redeployed.length ? `; re-deployed ${r.redeployed.join(', ')} (they follow @${alias})` : ''}`);
        }
        case 'unalias': {
          const [name, alias] = rest;
          if (!name || !alias) throw new UsageError('models unalias NAME ALIAS');
          await client.unsetAlias(name, alias);
          return console.log(`removed alias ${alias} of ${name}`);
        }
        case 'delete': {
          const { name, selector } = splitRef(rest[0], 'NAME@VERSION');
          if (!selector) {
            await client.deleteModel(name);
            return console.log(`deleted model ${name}`);
          }
          const r = await client.deleteVersion(name, selector);
          return console.log(`deleted ${r.deleted}${r.removed_aliases.length ? ` (removed aliases ${r.removed_aliases.join(', ')})` : ''}`);
        }
        case 'deploy': {
          if (!rest[0]) throw new UsageError('models deploy NAME@VERSION|NAME@ALIAS (--routers r1,r3 | --router-type T | --all)');
          const records = await client.deploy({ ...scopeOf(values), ...(rest[0] === 'dummy' ? { dummy: true } : { ref: rest[0] }), ...(values.force ? { force: true } : {}) });
          return values.json ? out(records) : printDeployment(client, records, 'deployed');
        }
        case 'undeploy': {
          const records = await client.undeploy(scopeOf(values));
          return values.json ? out(records) : printRecords(records, 'undeployed');
        }
        case 'rollback': {
          const records = await client.rollback(scopeOf(values));
          return values.json ? out(records) : printDeployment(client, records, 'rolled back');
        }
        case 'switch': {
          const mode = rest[0];
          const scope = scopeOf(values, true);
          let records: PublicRecord[];
          if (mode === 'dummy') {
            records = await client.deploy({ ...scope, dummy: true, exclusive: true });
          } else if (mode === 'model') {
            let ref = rest[1];
            if (!ref) {
              const current = (await client.deployments()).find((r) => scopeLabel(r.scope) === scopeLabelOf(scope));
              const prev = current?.previous;
              if (prev?.kind !== 'model') throw new UsageError('models switch model NAME@VERSION (no model was deployed on this scope before)');
              ref = prev.ref || `${prev.model}@${prev.version}`;
            }
            records = await client.deploy({ ...scope, ref, exclusive: true, ...(values.force ? { force: true } : {}) });
          } else throw new UsageError('models switch dummy|model [NAME@VERSION]');
          return values.json ? out(records) : printRecords(records, 'switched');
        }
        case 'status': {
          const s = await client.status();
          return values.json ? out(s) : console.log(formatStatus(s));
        }
        default:
          throw new UsageError(`unknown command "${cmd}"`);
      }
    });
  },
};

function scopeLabelOf(s: ScopeArgs): string {
  if (s.routers?.length) return `router:${s.routers[0]}`;
  if (s.router_type) return `type:${s.router_type}`;
  return 'all';
}

// ------------------------------------------------------------------ registry

export const registryRole: Role = {
  name: 'registry',
  summary: 'model registry service: REST API (/api/registry), web page (/registry), deployment control channel',
  usage: [
    'usage: wattflow registry [--config FILE] [--experiment FILE] [--port N] [--host H]',
    '',
    'Serves the registry REST API and web page, stores metadata in <storage.dir>/registry.db and',
    'artifacts in a local directory or S3 (S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY_ID,',
    'S3_SECRET_ACCESS_KEY, S3_REGION), and announces deployments on the control topic',
    '(Kafka when KAFKA_BROKERS is set). The experiment validates router ids and types.',
  ].join('\n'),
  async run(args) {
    const { values } = parseRoleArgs(args, { experiment: { type: 'string', short: 'e' } });
    const cfg = loadRoleConfig(values);
    if (values.experiment) cfg.network.experiment = values.experiment;
    const logger = roleLogger(cfg, 'registry');
    const fabric = await createFabric(cfg, logger);
    const experiment = experimentFor(cfg, logger);
    if (fabric.kind === 'memory') {
      logger.warn('no KAFKA_BROKERS: deployments go to an in-process bus that inference workers in other processes do not see (use `wattflow up`, or Kafka)');
    }
    const components = [
      fabricComponent(fabric),
      { name: 'experiment', stop: async () => experiment.close(), reload: () => experiment.reload() },
      ...(await createRegistryComponents(cfg, logger, fabric, experiment)),
    ];
    await serve(cfg, logger, components, (url) => {
      console.log(`registry listening on ${url} — web page ${url}/registry, API ${url}/api/registry/models`);
    });
  },
};
