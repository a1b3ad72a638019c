/**
 * Model version sources accepted by `model-versions/create`: `mlflow-artifacts:/<path>` (also
 * with a host), `runs:/<run_id>/<path>` (the run's artifact URI + path), and this server's
 * `…/api/2.0/mlflow-artifacts/artifacts/<path>` URL — a directory with an `MLmodel` file whose
 * `onnx` flavor names the ONNX file (`data`), or an `.onnx` file itself. What wattflow needs
 * besides the ONNX (the features in graph column order, the router type) comes from, in
 * increasing precedence: the metadata embedded in a wattflow ONNX, a `wattflow-metadata.json`
 * file next to the MLmodel, the MLmodel's `metadata` block (keys with or without a `wattflow.`
 * prefix; `features` as a list of {name, unit} or `A:unit,B:unit`), a column-based MLmodel
 * signature naming known features, and the version's tags `wattflow.features`,
 * `wattflow.router_type`, `wattflow.model_type`. Other metadata keys are kept as user metadata.
 */
import { parse as parseYaml } from 'yaml';
import { KNOWN_FEATURE_UNITS, type FeatureSpec } from '../../ml/onnx/metadata.js';
import { parseFeatures } from '../api.js';
import { checkArtifactPath, WATTFLOW_METADATA_FILE, type MlflowArtifactProxy } from './artifact-proxy.js';
import type { KeyValue, MlflowCatalog } from './catalog.js';
import { MlflowError } from './errors.js';

export class VersionSources {
  constructor(
    private readonly catalog: MlflowCatalog,
    private readonly proxy: MlflowArtifactProxy,
  ) {}

  /** The artifact path a model version source names (see the module comment for the forms). */
  async sourcePath(source: string): Promise<string> {
    let m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/?(.*)$/.exec(source);
    if (m) return checkArtifactPath(decodeURIComponent(m[1]!), 'source');
    m = /^runs:\/([^/]+)\/?(.*)$/.exec(source);
    if (m) {
      const run = await this.catalog.getRun(m[1]!);
      if (!run) throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Run with id=${m[1]} not found (source ${source})`);
      const base = await this.sourcePath(run.info.artifact_uri);
      const rel = checkArtifactPath(m[2] ?? '', 'source');
      return rel === '' ? base : `${base}/${rel}`;
    }
    m = /^https?:\/\/[^/]+(?:\/.*)?\/api\/2\.0\/mlflow-artifacts\/artifacts\/(.*)$/.exec(source);
    if (m) return checkArtifactPath(decodeURIComponent(m[1]!), 'source');
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Unsupported model version source "${source.slice(0, 200)}": wattflow registers models from its artifact proxy — runs:/<run_id>/<path>, mlflow-artifacts:/<path> or this server's /api/2.0/mlflow-artifacts/artifacts/<path> (log the model to a run of this server first)`,
    );
  }

  /** The ONNX bytes and wattflow metadata a model version source gives (see the module comment). */
  async load(source: string, tags: KeyValue[]) {
    const path = await this.sourcePath(source);
    let bytes: Uint8Array;
    let mlmodelText: string | undefined;
    let dataPath: string | undefined;
    const doc: Record<string, unknown> = {};
    if (path.endsWith('.onnx') && (await this.catalog.getArtifact(path))) {
      bytes = await this.proxy.readArtifact(path);
    } else {
      const mlmodelPath = path === '' ? 'MLmodel' : `${path}/MLmodel`;
      if (!(await this.catalog.getArtifact(mlmodelPath))) {
        const there = (await this.proxy.listArtifacts(path)).map((f) => f.path);
        throw new MlflowError(
          'INVALID_PARAMETER_VALUE',
          `No MLmodel file at source ${source} (artifact path ${path || '/'}${there.length ? `; it holds ${there.join(', ')}` : ' is empty'}): log the model with mlflow.onnx.log_model, or point the source at an .onnx file`,
        );
      }
      mlmodelText = new TextDecoder().decode(await this.proxy.readArtifact(mlmodelPath));
      let mlmodel: Record<string, unknown>;
      try {
        mlmodel = parseYaml(mlmodelText, { maxAliasCount: 50 }) as Record<string, unknown>;
      } catch (err) {
        throw new MlflowError('INVALID_PARAMETER_VALUE', `The MLmodel file at ${mlmodelPath} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
      }
      if (!mlmodel || typeof mlmodel !== 'object') throw new MlflowError('INVALID_PARAMETER_VALUE', `The MLmodel file at ${mlmodelPath} is not a YAML mapping`);
      const flavors = (mlmodel.flavors ?? {}) as Record<string, Record<string, unknown> | undefined>;
      const onnx = flavors.onnx;
      if (!onnx || typeof onnx !== 'object') {
        throw new MlflowError(
          'INVALID_PARAMETER_VALUE',
          `The MLmodel at ${mlmodelPath} has no onnx flavor (flavors: ${Object.keys(flavors).join(', ') || 'none'}): wattflow serves ONNX regressors — log the model with mlflow.onnx.log_model (e.g. after skl2onnx)`,
        );
      }
      dataPath = checkArtifactPath(typeof onnx.data === 'string' ? onnx.data : 'model.onnx', 'onnx flavor data path');
      const onnxPath = path === '' ? dataPath : `${path}/${dataPath}`;
      if (!(await this.catalog.getArtifact(onnxPath))) throw new MlflowError('INVALID_PARAMETER_VALUE', `The onnx flavor names ${dataPath}, which is not at ${onnxPath}`);
      bytes = await this.proxy.readArtifact(onnxPath);
      const filePath = path === '' ? WATTFLOW_METADATA_FILE : `${path}/${WATTFLOW_METADATA_FILE}`;
      if (await this.catalog.getArtifact(filePath)) {
        try {
          const file = JSON.parse(new TextDecoder().decode(await this.proxy.readArtifact(filePath))) as unknown;
          if (file && typeof file === 'object' && !Array.isArray(file)) Object.assign(doc, file);
          else throw new Error('not a JSON object');
        } catch (err) {
          throw new MlflowError('INVALID_PARAMETER_VALUE', `${filePath} must be a JSON object (wattflow's metadata document): ${(err as Error).message}`);
        }
      }
      const meta = mlmodel.metadata;
      if (meta && typeof meta === 'object' && !Array.isArray(meta)) {
        for (const [k, val] of Object.entries(meta as Record<string, unknown>)) doc[k.startsWith('wattflow.') ? k.slice(9) : k] = val;
      }
      if (doc.features === undefined) {
        const cols = signatureColumns(mlmodel.signature);
        if (cols && cols.length > 0 && cols.every((c) => Object.hasOwn(KNOWN_FEATURE_UNITS, c))) doc.features = cols.map((c) => ({ name: c, unit: KNOWN_FEATURE_UNITS[c]! }));
      }
    }
    const tag = (k: string) => tags.find((t) => t.key === `wattflow.${k}`)?.value;
    const featureSpec = tag('features') ?? (typeof doc.features === 'string' ? doc.features : undefined);
    let features: FeatureSpec[] | undefined;
    if (featureSpec !== undefined) {
      features = parseFeatures(featureSpec);
      delete doc.features;
    }
    const routerType = tag('router_type');
    const modelType = tag('model_type');
    return { bytes, metadata: doc, features, routerType, modelType, mlmodel: mlmodelText, dataPath };
  }
}

/** Column names of a column-based MLmodel signature (`inputs` is a JSON string), if it is one. */
function signatureColumns(signature: unknown): string[] | undefined {
  if (!signature || typeof signature !== 'object') return undefined;
  const inputs = (signature as { inputs?: unknown }).inputs;
  if (typeof inputs !== 'string') return undefined;
  try {
    const cols = JSON.parse(inputs) as Array<{ name?: unknown; type?: unknown }>;
    if (!Array.isArray(cols) || cols.some((c) => typeof c?.name !== 'string' || c.type === 'tensor')) return undefined;
    return cols.map((c) => c.name as string);
  } catch {
    return undefined;
  }
}
