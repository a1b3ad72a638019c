/**
 * What one message costs: per pipeline stage, on the /metrics of the process that runs it,
 *
 *   wattflow_stage_energy_joules_total{stage}            energy attributed to the stage (J)
 *   wattflow_stage_cpu_seconds_total{stage}              CPU time measured in the stage (split mode)
 *   wattflow_stage_energy_per_message_joules{stage}      ΔJ / Δmessages over the last `windowS`
 *
 * The stage's energy comes from `stageJoules()`: in `wattflow up` the in-process exporter's
 * split of this process's energy by the stages' CPU time (the same numbers as
 * wattflow_energy_joules_total{role} on the exporter's port); in a process running one stage,
 * all of the process's energy (SelfEnergy) — the consumer loop, the client library and the
 * garbage collector exist for that stage. Messages are those the stage handled (consumed,
 * including dead-lettered ones; for the vehicle predictor, vectors scored).
 */
import client from 'prom-client';
import type { Component } from '../core/component.js';
import { registry } from '../core/metrics.js';
import { stageAccount, stageAccounts } from './stage-cpu.js';

export interface StageEnergyMeterOptions {
  stages: string[];
  /** Cumulative joules per stage. */
  stageJoules: () => ReadonlyMap<string, number>;
  intervalMs: number;
  windowS: number;
  /** Drive the meter from outside (the exporter ticks it after each sample) instead of a timer. */
  external?: boolean;
  now?: () => number;
}

interface Point {
  at: number;
  joules: number;
  messages: number;
}

export interface StageEnergyMeter extends Component {
  tick(): void;
  perMessage(stage: string): number | undefined;
  joules(stage: string): number;
}

let metricsRegistered = false;
let current: StageEnergyMeter | undefined;

function registerMetrics(): void {
  if (metricsRegistered) return;
  metricsRegistered = true;
  new client.Counter({
    name: 'wattflow_stage_energy_joules_total',
    help: 'Energy attributed to a pipeline stage in this process (J; an estimate where the node has no RAPL: see docs/energy.md)',
    labelNames: ['stage'],
    registers: [registry],
    collect() {
      this.reset();
      if (!current) return;
      for (const s of (current as MeterImpl).stages) this.inc({ stage: s }, current.joules(s));
    },
  });
  new client.Counter({
    name: 'wattflow_stage_cpu_seconds_total',
    help: 'CPU time measured in a stage\'s handlers in this process (wattflow up; src/energy/stage-cpu.ts)',
    labelNames: ['stage'],
    registers: [registry],
    collect() {
      this.reset();
      if (!current) return;
      const stages = new Set((current as MeterImpl).stages);
      for (const a of stageAccounts()) if (stages.has(a.stage)) this.inc({ stage: a.stage }, a.cpuSeconds);
    },
  });
  new client.Gauge({
    name: 'wattflow_stage_energy_per_message_joules',
    help: 'Energy per message a stage handled, over the last window (J; processor, inference: per router message; vehicle-predictor: per vector)',
    labelNames: ['stage'],
    registers: [registry],
    collect() {
      this.reset();
      if (!current) return;
      for (const s of (current as MeterImpl).stages) {
        const v = current.perMessage(s);
        if (v !== undefined) this.set({ stage: s }, v);
      }
    },
  });
}

class MeterImpl implements StageEnergyMeter {
  readonly name = 'stage-energy';
  readonly stages: string[];
  private timer: NodeJS.Timeout | undefined;
  private readonly history = new Map<string, Point[]>();
  private readonly last = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly o: StageEnergyMeterOptions) {
    this.stages = o.stages;
    this.now = o.now ?? Date.now;
  }

  async start(): Promise<void> {
    registerMetrics();
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the process-wide instance the stage CPU hook reports to
    current = this;
    this.tick();
    if (!this.o.external) {
      this.timer = setInterval(() => this.tick(), this.o.intervalMs);
      this.timer.unref();
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  tick(): void {
    const at = this.now();
    const joules = this.o.stageJoules();
    for (const s of this.stages) {
      const j = joules.get(s) ?? 0;
      this.last.set(s, j);
      let h = this.history.get(s);
      if (!h) this.history.set(s, (h = []));
      h.push({ at, joules: j, messages: stageAccount(s).messages });
      // keep one point at or before the window's start
      const from = at - this.o.windowS * 1000;
      while (h.length > 2 && h[1]!.at <= from) h.shift();
    }
  }

  joules(stage: string): number {
    return this.last.get(stage) ?? 0;
  }

  perMessage(stage: string): number | undefined {
    const h = this.history.get(stage);
    if (!h || h.length < 2) return undefined;
    const a = h[0]!;
    const b = h[h.length - 1]!;
    const dm = b.messages - a.messages;
    if (dm <= 0) return undefined;
    return (b.joules - a.joules) / dm;
  }
}

export function createStageEnergyMeter(o: StageEnergyMeterOptions): StageEnergyMeter {
  return new MeterImpl(o);
}
