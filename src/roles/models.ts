/**
 * The model roles (wiring only; the commands are src/registry/cli/):
 *  - `wattflow train`: fit a power model from a CSV, optionally register it;
 *  - `wattflow models …`: the registry CLI over its REST API;
 *  - `wattflow registry`: the registry service (REST API, web page, control channel).
 */
import { loadAppConfig } from '../app-config.js';
import { announceServer, chooseServer, DEFAULT_STATE_DIR, stateDirOf } from '../core/instance.js';
import { RegistryClient } from '../registry/client.js';
import { modelsOptions, MODELS_SUMMARY, MODELS_USAGE, runModels, type ModelsValues } from '../registry/cli/models.js';
import { runTrain, trainOptions, TRAIN_SUMMARY, TRAIN_USAGE, type TrainValues } from '../registry/cli/train.js';
import { parseRoleArgs } from './common.js';
import type { Role } from './role.js';
import { serverRole } from './server-role.js';

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

export const trainRole: Role = {
  name: 'train',
  summary: TRAIN_SUMMARY,
  usage: TRAIN_USAGE,
  async run(args) {
    const { values: v } = parseRoleArgs(args, trainOptions);
    const values = v as TrainValues;
    return runTrain(values, () => new RegistryClient(registryUrl('train', values.registry, v.config), undefined, values.token));
  },
};

export const modelsRole: Role = {
  name: 'models',
  summary: MODELS_SUMMARY,
  usage: MODELS_USAGE,
  async run(args) {
    const { values: v, positionals } = parseRoleArgs(args, modelsOptions);
    const values = v as ModelsValues;
    return runModels(positionals, values, () => new RegistryClient(registryUrl('models', values.registry, v.config), undefined, values.token));
  },
};

export const registryRole = serverRole({
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
  flags: { experiment: { type: 'string', short: 'e' } },
  configure: (cfg, flags) => {
    if (typeof flags.experiment === 'string') cfg.network.experiment = flags.experiment;
  },
  modules: ['registry'],
  banner: ({ url }) => [`registry listening on ${url} — web page ${url}/registry, API ${url}/api/registry/models`],
});
