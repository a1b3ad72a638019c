/**
 * `wattflow models …`: the registry CLI over its REST API (create, upload, list, show, download,
 * alias/unalias, delete, deploy/undeploy/rollback, switch, status).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ParseArgsConfig } from 'node:util';
import { UsageError } from '../../core/usage-error.js';
import { sha256Hex } from '../../ml/onnx/metadata.js';
import { RegistryClientError, type PublicRecord, type RegistryClient, type ScopeArgs } from '../client.js';
import { reportErrors } from './args.js';
import { fmt, formatStatus, printDeployment, printRecords, scopeLabel, table } from './format.js';

export const MODELS_SUMMARY = 'model registry CLI: create, upload, list, show, download, alias, delete, deploy, rollback, switch, status';

export const modelsOptions = {
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

export type ModelsValues = { [K in keyof typeof modelsOptions]?: (typeof modelsOptions)[K]['type'] extends 'boolean' ? boolean : string };

export const MODELS_USAGE = [
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

/** Runs `wattflow models <command>` with its parsed options; `registryClient` gives the client. */
export async function runModels(positionals: string[], values: ModelsValues, registryClient: () => RegistryClient): Promise<number> {
  const [cmd, ...rest] = positionals;
  if (!cmd) throw new UsageError('a command is required');
  const client = registryClient();
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
}

function scopeLabelOf(s: ScopeArgs): string {
  if (s.routers?.length) return `router:${s.routers[0]}`;
  if (s.router_type) return `type:${s.router_type}`;
  return 'all';
}
