/**
 * The minimal MLflow tracking an MLflow client needs before it registers a model: experiments
 * (id "0" is "Default", made on first use) and runs (params, latest metrics, tags, logged models).
 */
import { randomUUID } from 'node:crypto';
import type { ExperimentRecord, KeyValue, MlflowCatalog, RunRecord } from './catalog.js';
import { invalidParam, MlflowError } from './errors.js';
import { omitEmpty } from './json.js';

const DEFAULT_EXPERIMENT = { id: '0', name: 'Default' };

export class MlflowTracking {
  constructor(private readonly catalog: MlflowCatalog) {}

  private defaultExperiment(): ExperimentRecord {
    return {
      experiment_id: DEFAULT_EXPERIMENT.id,
      name: DEFAULT_EXPERIMENT.name,
      artifact_location: `mlflow-artifacts:/${DEFAULT_EXPERIMENT.id}`,
      lifecycle_stage: 'active',
      creation_time: 0,
      last_update_time: 0,
      tags: [],
    };
  }

  async experiment(id: string): Promise<ExperimentRecord> {
    const e = (await this.catalog.getExperiment(id)) ?? (id === DEFAULT_EXPERIMENT.id ? this.defaultExperiment() : undefined);
    if (!e) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No Experiment with id=${id} exists`);
    return e;
  }

  async experimentByName(name: string): Promise<ExperimentRecord> {
    const all = await this.catalog.listExperiments();
    const e = all.find((x) => x.name === name && x.lifecycle_stage === 'active') ?? all.find((x) => x.name === name) ?? (name === DEFAULT_EXPERIMENT.name && !all.some((x) => x.experiment_id === DEFAULT_EXPERIMENT.id) ? this.defaultExperiment() : undefined);
    if (!e) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Could not find experiment with name '${name}'`);
    return e;
  }

  async createExperiment(name: string, tags: KeyValue[]): Promise<string> {
    if (name === DEFAULT_EXPERIMENT.name || (await this.catalog.listExperiments()).some((x) => x.name === name)) {
      throw new MlflowError('RESOURCE_ALREADY_EXISTS', `Experiment '${name}' already exists.`);
    }
    const id = await this.catalog.nextExperimentId();
    const now = Date.now();
    await this.catalog.putExperiment({ experiment_id: id, name, artifact_location: `mlflow-artifacts:/${id}`, lifecycle_stage: 'active', creation_time: now, last_update_time: now, tags });
    return id;
  }

  experimentJson(e: ExperimentRecord): Record<string, unknown> {
    return omitEmpty({ ...e });
  }

  async createRun(req: { experiment_id: string; user_id?: string; run_name?: string; start_time?: number; tags: KeyValue[] }): Promise<RunRecord> {
    const e = await this.experiment(req.experiment_id);
    const id = randomUUID().replace(/-/g, '');
    const runName = req.run_name || req.tags.find((t) => t.key === 'mlflow.runName')?.value || `run-${id.slice(0, 8)}`;
    const run: RunRecord = {
      info: {
        run_id: id,
        run_uuid: id,
        run_name: runName,
        experiment_id: e.experiment_id,
        user_id: req.user_id ?? '',
        status: 'RUNNING',
        start_time: req.start_time ?? Date.now(),
        artifact_uri: `${e.artifact_location.replace(/\/+$/, '')}/${id}/artifacts`,
        lifecycle_stage: 'active',
      },
      params: [],
      metrics: [],
      tags: [...req.tags.filter((t) => t.key !== 'mlflow.runName'), { key: 'mlflow.runName', value: runName }],
      models: [],
    };
    await this.catalog.putRun(run);
    return run;
  }

  async run(id: string): Promise<RunRecord> {
    const r = await this.catalog.getRun(id);
    if (!r) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Run with id=${id} not found`);
    return r;
  }

  runJson(r: RunRecord): Record<string, unknown> {
    return { info: omitEmpty({ ...r.info }), data: omitEmpty({ metrics: r.metrics, params: r.params, tags: r.tags }), inputs: {} };
  }

  async updateRun(id: string, u: { status?: string; end_time?: number; run_name?: string }): Promise<RunRecord> {
    const r = await this.run(id);
    if (u.status !== undefined) {
      if (!['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'].includes(u.status)) throw invalidParam('status', u.status, 'one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED');
      r.info.status = u.status;
    }
    if (u.end_time !== undefined) r.info.end_time = u.end_time;
    if (u.run_name) {
      r.info.run_name = u.run_name;
      r.tags = [...r.tags.filter((t) => t.key !== 'mlflow.runName'), { key: 'mlflow.runName', value: u.run_name }];
    }
    await this.catalog.putRun(r);
    return r;
  }

  /** log-metric / log-parameter / set-tag / log-batch / log-model: stored on the run (GetRun returns them). */
  async logToRun(id: string, add: { metrics?: Array<{ key: string; value: number; timestamp: number; step: number }>; params?: KeyValue[]; tags?: KeyValue[]; model?: unknown; deleteTag?: string }): Promise<void> {
    const r = await this.run(id);
    for (const p of add.params ?? []) {
      const had = r.params.find((x) => x.key === p.key);
      if (had && had.value !== p.value) {
        throw new MlflowError('INVALID_PARAMETER_VALUE', `Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${had.value}' for run ID='${id}'. Attempted logging new value '${p.value}'.`);
      }
      if (!had) r.params.push(p);
    }
    for (const m of add.metrics ?? []) {
      const had = r.metrics.findIndex((x) => x.key === m.key);
      if (had < 0) r.metrics.push(m);
      else if (m.timestamp >= r.metrics[had]!.timestamp) r.metrics[had] = m;
    }
    for (const t of add.tags ?? []) r.tags = [...r.tags.filter((x) => x.key !== t.key), t];
    if (add.deleteTag !== undefined) {
      if (!r.tags.some((t) => t.key === add.deleteTag)) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `No tag with name: ${add.deleteTag} in run with id ${id}`);
      r.tags = r.tags.filter((t) => t.key !== add.deleteTag);
    }
    if (add.model !== undefined) r.models.push(add.model);
    await this.catalog.putRun(r);
  }
}
