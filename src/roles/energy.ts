/**
 * Role `energy-exporter`: the Kepler-compatible energy exporter on its own (a node DaemonSet),
 * and the energy parts the other roles add:
 *  - `wattflow up`: the exporter (its own listener, default 127.0.0.1:28282; a busy port is
 *    logged and the rest goes on) with Kepler 0.7 names on, this process's energy split by its
 *    stages' CPU time, and the stage energy metrics on the process's /metrics;
 *  - `wattflow processor | inference | vehicle-predictor` alone: the stage energy metrics of
 *    that stage (the whole process's energy, from a lightweight meter; no /proc scan).
 */
import type { AppConfig } from '../app-config.js';
import type { Component } from '../core/component.js';
import { ConfigError } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { energyDefaults, type EnergyConfig } from '../energy/config.js';
import { createEnergyExporter, type EnergyExporter } from '../energy/exporter.js';
import { EnergySourceError, EstimatorSource, selectNodeSource } from '../energy/node-source.js';
import { ReadErrors } from '../energy/read-errors.js';
import { SelfEnergy } from '../energy/self-energy.js';
import { enableStageCpu } from '../energy/stage-cpu.js';
import { createStageEnergyMeter } from '../energy/stage-energy.js';
import type { Role } from './role.js';
import { loadRoleConfig, parseRoleArgs, roleLogger, serve } from './common.js';

/** The stages whose energy per message is reported. */
export const METERED_STAGES = ['processor', 'inference', 'vehicle-predictor'] as const;

export function energyConfigOf(cfg: AppConfig): EnergyConfig {
  return cfg.energy ?? energyDefaults();
}

/** The CLI's role names (imported when needed: roles/index.ts imports this module). */
async function roleNames(): Promise<string[]> {
  const { roles } = await import('./index.js');
  return roles.map((r) => r.name);
}

/** `wattflow up`: the exporter plus the stage energy meter it drives; and the banner line. */
export async function energyComponentsForUp(cfg: AppConfig, logger: Logger): Promise<{ components: Component[]; bannerLine: () => string }> {
  const e = energyConfigOf(cfg);
  if (!e.enabled) return { components: [], bannerLine: () => '  energy:       off (energy.enabled: false)' };
  let exporter: EnergyExporter | undefined;
  const meter = e.stageEnergy
    ? createStageEnergyMeter({
        stages: [...METERED_STAGES],
        intervalMs: e.intervalMs,
        windowS: e.perMessageWindowS,
        external: true,
        // this process's stages only (roleJoules also holds other wattflow processes on the node)
        stageJoules: () => exporter?.monitor()?.selfStageJoules ?? new Map(),
      })
    : undefined;
  exporter = createEnergyExporter({
    cfg: e,
    logger,
    role: 'up',
    wattflowRoles: await roleNames(),
    splitStages: true,
    legacy: e.legacyMetrics ?? true,
    limits: cfg.http,
    onPortBusy: 'warn',
    onSample: () => meter?.tick(),
  });
  const ex = exporter;
  const bannerLine = () => {
    const src = ex.source();
    const what = src instanceof EstimatorSource ? `estimator, platform ${e.platform}: no RAPL here` : src ? 'RAPL' : '?';
    const u = ex.url();
    return u ? `  energy:       ${u}/metrics   (Kepler-compatible, ${what})` : `  energy:       not listening: ${ex.unavailable() ?? 'not started'}`;
  };
  return { components: [ex, ...(meter ? [meter] : [])], bannerLine };
}

/**
 * A stage run on its own: its energy per message from this process's energy (whole process)
 * — the stage meter with a lightweight self meter. [] when energy.stageEnergy is off.
 */
export function stageEnergyComponents(cfg: AppConfig, logger: Logger, stage: string): Component[] {
  const e = energyConfigOf(cfg);
  if (!e.stageEnergy) return [];
  const errors = new ReadErrors(logger.child({ component: 'stage-energy' }));
  let self: SelfEnergy;
  try {
    self = new SelfEnergy(selectNodeSource(e, errors), e.procfsRoot, errors);
  } catch (err) {
    if (err instanceof EnergySourceError) throw new ConfigError('the energy settings', '/energy', err.message);
    throw err;
  }
  return [
    createStageEnergyMeter({
      stages: [stage],
      intervalMs: e.intervalMs,
      windowS: e.perMessageWindowS,
      stageJoules: () => new Map([[stage, self.sample()]]),
    }),
  ];
}

/** In `up` the stages' CPU time is measured from the first message on. */
export function enableStageEnergy(cfg: AppConfig): void {
  const e = energyConfigOf(cfg);
  if (e.enabled) enableStageCpu();
}

export const energyExporterRole: Role = {
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
  async run(args) {
    const { values } = parseRoleArgs(args, {
      'energy-port': { type: 'string' },
      legacy: { type: 'boolean' },
      platform: { type: 'string' },
    });
    const cfg = loadRoleConfig(values);
    const e = energyConfigOf(cfg);
    if (values['energy-port'] !== undefined) {
      const p = Number(values['energy-port']);
      if (!Number.isInteger(p) || p < 0 || p > 65535) throw new ConfigError('the command line', '/energy/port', `--energy-port must be an integer 0..65535, got "${values['energy-port']}"`);
      e.port = p;
    }
    if (values.legacy) e.legacyMetrics = true;
    if (values.platform !== undefined) {
      if (!['aws', 'gcp', 'azure', 'custom'].includes(values.platform)) throw new ConfigError('the command line', '/energy/platform', 'must be one of ["aws","gcp","azure","custom"]');
      e.platform = values.platform as EnergyConfig['platform'];
    }
    const logger = roleLogger(cfg, 'energy-exporter');
    const exporter = createEnergyExporter({ cfg: e, logger, role: 'energy-exporter', wattflowRoles: await roleNames(), onPortBusy: 'fail', limits: cfg.http });
    await serve(cfg, logger, [exporter], (url) => {
      const src = exporter.source();
      console.log(
        [
          `wattflow energy exporter: ${exporter.url()}/metrics (Kepler-compatible; source ${src?.powerSource}${src instanceof EstimatorSource ? `, platform ${e.platform}: an estimate` : ''})`,
          `  process metrics: ${url}/metrics   health: ${url}/healthz`,
        ].join('\n'),
      );
    });
  },
};
