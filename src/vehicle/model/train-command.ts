/**
 * The train-vehicle command after its flags are checked: trains the isolation forest from the
 * logs, saves the artifact (refusing to replace the model a running `wattflow up` serves unless
 * forced), optionally registers it in the model registry, and prints the summary.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { announceServer, chooseServer, OperatorError, runningUp, shortPath, stateDirOf } from '../../core/instance.js';
import { DEFAULT_MODEL_PATH, modelPathOf, type VehicleConfig } from '../config.js';
import { saveModelArtifact } from './anomaly-model.js';
import { registerVehicleModel } from './registry-model.js';
import { trainVehicleModel } from './train.js';

export interface TrainCommandConfig {
  vehicle: VehicleConfig;
  storage: { dir: string };
  registry: { url?: string };
}

/** The model file the running `up` of this directory serves is not replaced behind its back (issue 17). */
export function guardServedModel(cfg: TrainCommandConfig, values: { out?: string; register?: string; force?: boolean }): void {
  const served = modelPathOf(cfg, cfg.vehicle) ?? DEFAULT_MODEL_PATH;
  const up = runningUp(stateDirOf(cfg));
  if (values.out !== undefined || values.register !== undefined) return;
  if (up?.vehicle_model !== resolve(served) || values.force) return;
  throw new OperatorError(
    `${shortPath(served)} is the vehicle model the running wattflow up serves (pid ${up.pid}, ${up.url}): not replaced — ` +
      'write elsewhere (--out FILE), register it (--register NAME), or replace it with --force (then reload it: kill -HUP ' + up.pid + ')',
  );
}

/** The registry train-vehicle --register talks to (printed), as every client finds its server. */
function registryFor(flag: string | undefined, setting: string | undefined, stateDir: string): string {
  const choice = chooseServer({ flag: { name: '--registry', value: flag }, setting: { name: 'registry.url / WATTFLOW_REGISTRY_URL', value: setting }, stateDir });
  announceServer('train-vehicle', choice, 'registry');
  return choice.url;
}

export interface TrainCommandOptions {
  files: string[];
  out?: string;
  register?: string;
  registry?: string;
  alias?: string;
  token?: string;
  trees?: number;
  sampleSize?: number;
  contamination?: number;
  seed?: number;
  cadenceMs: number;
  maxAge: number;
}

/** Trains, saves, registers and reports; the exit code. */
export async function trainVehicleCommand(cfg: TrainCommandConfig, o: TrainCommandOptions): Promise<number> {
  const values = { out: o.out, register: o.register, registry: o.registry, alias: o.alias, token: o.token };
  const { files, trees, sampleSize, contamination, seed, cadenceMs, maxAge } = o;
  const stateDir = stateDirOf(cfg);
  const served = modelPathOf(cfg, cfg.vehicle) ?? DEFAULT_MODEL_PATH;
  const up = runningUp(stateDir);
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
}
