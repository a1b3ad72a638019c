/**
 * The energy parts the roles add:
 *  - `wattflow up`: the exporter (its own listener, default 127.0.0.1:28282; a busy port is
 *    logged and the rest goes on) with Kepler 0.7 names on, this process's energy split by its
 *    stages' CPU time, and the stage energy metrics on the process's /metrics;
 *  - `wattflow processor | inference | vehicle-predictor` alone: the stage energy metrics of
 *    that stage (the whole process's energy, from a lightweight meter; no /proc scan).
 */
import type { Component } from '../core/component.js';
import { ConfigError } from '../core/config.js';
import type { HttpLimits } from '../core/http-limits.js';
import type { Logger } from '../core/logger.js';
import type { EnergyConfig } from './config.js';
import { createEnergyExporter, type EnergyExporter } from './exporter.js';
import { EnergySourceError, EstimatorSource, selectNodeSource } from './node-source.js';
import { ReadErrors } from './read-errors.js';
import { SelfEnergy } from './self-energy.js';
import { enableStageCpu } from './stage-cpu.js';
import { createStageEnergyMeter } from './stage-energy.js';

/** The stages whose energy per message is reported. */
export const METERED_STAGES = ['processor', 'inference', 'vehicle-predictor'] as const;

/** `wattflow up`: the exporter plus the stage energy meter it drives; and the banner line. */
export function energyComponentsForUp(e: EnergyConfig, limits: Partial<HttpLimits>, logger: Logger, wattflowRoles: readonly string[]): { components: Component[]; bannerLine: () => string } {
  if (!e.enabled) return { components: [], bannerLine: () => '  energy:       off (energy.enabled: false)' };
  let exporter: EnergyExporter | undefined = undefined;
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
  const ex = createEnergyExporter({
    cfg: e,
    logger,
    role: 'up',
    wattflowRoles,
    splitStages: true,
    legacy: e.legacyMetrics ?? true,
    limits,
    onPortBusy: 'warn',
    onSample: () => meter?.tick(),
  });
  exporter = ex;
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
export function stageEnergyComponents(e: EnergyConfig, logger: Logger, stage: string): Component[] {
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
export function enableStageEnergy(e: EnergyConfig): void {
  if (e.enabled) enableStageCpu();
}
