/**
 * Role `energy-exporter`: the Kepler-compatible energy exporter on its own (a node DaemonSet).
 * (What `up` and the stage roles add: src/energy/wiring.ts, modules `energy` and `stage-energy`.)
 */
import type { AppConfig } from '../app-config.js';
import { ConfigError } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { EnergyConfig } from '../energy/config.js';
import { EstimatorSource } from '../energy/node-source.js';
import { enableStageEnergy as enableStageCpu, energyComponentsForUp as upEnergy } from '../energy/wiring.js';
import { ROLE_NAMES } from './names.js';
import { serverRole, type FlagValues } from './server-role.js';

/** `wattflow up`'s energy parts (the exporter, the stage meters, the banner line). */
export function energyComponentsForUp(cfg: AppConfig, logger: Logger): ReturnType<typeof upEnergy> {
  return upEnergy(cfg.energy, cfg.http, logger, ROLE_NAMES);
}

/** In `up` the stages' CPU time is measured from the first message on. */
export function enableStageEnergy(cfg: AppConfig): void {
  enableStageCpu(cfg.energy);
}

/** --energy-port, --legacy, --platform over the `energy` section. */
function applyEnergyFlags(cfg: AppConfig, flags: FlagValues): void {
  const e = cfg.energy;
  const port = flags['energy-port'];
  if (typeof port === 'string') {
    const p = Number(port);
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new ConfigError('the command line', '/energy/port', `--energy-port must be an integer 0..65535, got "${port}"`);
    e.port = p;
  }
  if (flags.legacy) e.legacyMetrics = true;
  const platform = flags.platform;
  if (typeof platform === 'string') {
    if (!['aws', 'gcp', 'azure', 'custom'].includes(platform)) throw new ConfigError('the command line', '/energy/platform', 'must be one of ["aws","gcp","azure","custom"]');
    e.platform = platform as EnergyConfig['platform'];
  }
}

export const energyExporterRole = serverRole({
  name: 'energy-exporter',
  summary: 'Kepler-compatible energy exporter: node, container, pod, process and wattflow energy on its own port (28282)',
  usage: [
    'usage: wattflow energy-exporter [--config FILE] [--port N] [--energy-port N] [--legacy] [--platform aws|gcp|azure|custom]',
    '',
    'Serves Kepler\'s metrics on http://<energy.host>:<energy.port>/metrics (default 127.0.0.1:28282):',
    'node energy from RAPL (powercap) when readable, else estimated from CPU usage (coefficients per',
    'platform, docs/energy.md), attributed to processes, containers and pods by CPU time. --port is the',
    'usual operational server (/metrics of the process itself, /healthz, /readyz).',
    'Settings: section `energy` (src/energy/config.ts), e.g. WATTFLOW__energy__port=28283.',
  ].join('\n'),
  flags: {
    'energy-port': { type: 'string' },
    legacy: { type: 'boolean' },
    platform: { type: 'string' },
  },
  configure: applyEnergyFlags,
  modules: ['energy-exporter'],
  banner: ({ url, cfg, services }) => {
    const exporter = services['energy-exporter']!;
    const src = exporter.source();
    return [
      `wattflow energy exporter: ${exporter.url()}/metrics (Kepler-compatible; source ${src?.powerSource}${src instanceof EstimatorSource ? `, platform ${cfg.energy.platform}: an estimate` : ''})`,
      `  process metrics: ${url}/metrics   health: ${url}/healthz`,
    ];
  },
});
