/**
 * Energy exporter benchmark (issue 12):
 *
 *  1. The exporter's own cost: CPU time of one sample (read /proc/stat, RAPL, every
 *     /proc/<pid>/stat, attribute) and of one scrape (render the exposition), with 1,000
 *     processes on a synthetic node (50 pods × 2 containers × 4 processes + 600 host processes,
 *     RAPL package and dram, 1 % of the processes replaced every interval), and on this machine's
 *     real /proc; the series exposed; and the share of one core at a 5 s scrape
 *     ((sample + scrape) / 5 s). Target: <= 1 % of one core with 1,000 processes.
 *  2. Joules per message of the processor and inference stages at 1,000 routers: the in-process
 *     pipeline (as bench/pipeline-inprocess), stage CPU time measured (src/energy/stage-cpu.ts),
 *     this process's energy from the node's source (the estimator here: no RAPL) — the same split
 *     `wattflow up` reports as wattflow_stage_energy_per_message_joules. Also the cost of the
 *     stage CPU measurement itself (msg/s per CPU-second with and without it).
 *
 * Figures are medians by the process's CPU time (the machine is shared: wall time also counts
 * other processes' slices).
 *
 *   node --import tsx bench/energy-exporter.bench.ts
 */
import { silentLogger } from '../src/core/logger.js';
import { energyDefaults } from '../src/energy/config.js';
import { KubeMetadata } from '../src/energy/kube.js';
import { createEnergyRegistry } from '../src/energy/metrics.js';
import { EnergyMonitor } from '../src/energy/monitor.js';
import { EstimatorSource, selectNodeSource } from '../src/energy/node-source.js';
import { readCpuInfo } from '../src/energy/procfs.js';
import { ReadErrors } from '../src/energy/read-errors.js';
import { SelfEnergy } from '../src/energy/self-energy.js';
import { disableStageCpu, enableStageCpu, stageAccount } from '../src/energy/stage-cpu.js';
import { splitByStages } from '../src/energy/attribution.js';
import { MemoryFabric } from '../src/fabric/memory/memory-fabric.js';
import { ExperimentSource } from '../src/router-power/experiment.js';
import { createProcessor } from '../src/router-power/processor/processor.js';
import { createInference } from '../src/router-power/inference/inference.js';
import { DummyPredictors } from '../src/router-power/inference/dummy-predictor.js';
import { FakeNode, hexId, kubeCgroup } from '../test/energy/fixtures.js';
import { benchExperiment, tdPayloads } from './inprocess-fixture.js';

const SCRAPE_S = 5;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const cpuS = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

interface Cost {
  sampleMs: number;
  scrapeMs: number;
  series: number;
  bytes: number;
  processes: number;
  pctOfCore: number;
}

async function measure(monitor: EnergyMonitor, registry: ReturnType<typeof createEnergyRegistry>, between: (round: number) => void, series: () => number): Promise<Cost> {
  const sample: number[] = [];
  const scrape: number[] = [];
  let bytes = 0;
  // warm-up
  for (let r = 0; r < 3; r++) {
    between(-1 - r);
    monitor.sample();
    await registry.metrics();
  }
  for (let r = 0; r < ROUNDS; r++) {
    between(r);
    let t = cpuS();
    monitor.sample();
    sample.push(cpuS() - t);
    t = cpuS();
    const text = await registry.metrics();
    scrape.push(cpuS() - t);
    bytes = text.length;
  }
  const sampleMs = median(sample) * 1000;
  const scrapeMs = median(scrape) * 1000;
  return { sampleMs, scrapeMs, series: series(), bytes, processes: monitor.processes.size, pctOfCore: ((sampleMs + scrapeMs) / 1000 / SCRAPE_S) * 100 };
}

function build(procfsRoot: string, sysfsRoot: string, kubeLogRoot: string) {
  const errors = new ReadErrors(silentLogger());
  const cfg = energyDefaults({ procfsRoot, sysfsRoot, kubeLogRoot, topProcesses: 20 });
  const source = selectNodeSource(cfg, errors);
  const monitor = new EnergyMonitor({
    procfsRoot,
    source,
    kube: new KubeMetadata({ kubeLogRoot, dockerRoot: '/nonexistent', errors }),
    errors,
    topProcesses: cfg.topProcesses,
    includeWattflowProcesses: true,
    terminatedRetentionS: 60,
    wattflowRoles: new Set(['up', 'processor', 'inference', 'energy-exporter']),
    selfRole: 'energy-exporter',
  });
  let series = 0;
  const registry = createEnergyRegistry(monitor, {
    nodeName: 'bench',
    legacy: true,
    cpuInfo: readCpuInfo(procfsRoot),
    errors,
    estimator: source instanceof EstimatorSource ? { platform: cfg.platform, coefficients: source.coefficients } : undefined,
    onRendered: (n) => (series = n),
  });
  return { monitor, registry, series: () => series, source };
}

const fmt = (c: Cost) =>
  `sample ${c.sampleMs.toFixed(2)} ms CPU, scrape ${c.scrapeMs.toFixed(2)} ms CPU; ${c.processes} processes, ${c.series} series (${(c.bytes / 1024).toFixed(0)} KiB); ` +
  `at a ${SCRAPE_S} s scrape: ${(((c.sampleMs + c.scrapeMs) / SCRAPE_S)).toFixed(2)} ms CPU per second = ${c.pctOfCore.toFixed(3)} % of one core`;

// --- 1a. synthetic node, 1,000 processes
{
  const node = new FakeNode({ cpus: 16 });
  node.raplZone('intel-rapl:0', 'package-0', 262_143_328_850, 1_000_000);
  node.raplZone('intel-rapl:0:2', 'dram', 65_712_999_613, 1_000_000);
  let pid = 1000;
  const live: number[] = [];
  for (let p = 0; p < 50; p++) {
    const uid = `${String(p).padStart(8, '0')}-2222-3333-4444-555555555555`;
    const containers = [0, 1].map((c) => ({ name: `c${c}`, id: hexId(p * 2 + c + 1) }));
    node.podLogs(`ns${p % 5}`, `pod-${p}`, uid, containers);
    for (const c of containers) {
      for (let k = 0; k < 4; k++) {
        node.addProcess(pid, { comm: `app-${k}`, ticks: 0, start: pid, cgroup: kubeCgroup('burstable', uid, c.id), exe: '/app/bin', cmdline: ['/app/bin'] });
        live.push(pid++);
      }
    }
  }
  while (live.length < 1000) {
    node.addProcess(pid, { comm: `host-${pid}`, ticks: 0, start: pid, exe: '/usr/bin/x', cmdline: ['/usr/bin/x'] });
    live.push(pid++);
  }
  const b = build(node.proc, node.sys, node.logs);
  let uj = 1_000_000;
  const between = () => {
    // one interval: every process used some CPU, 1 % are replaced by new ones, counters move
    for (const p of live) node.run(p, 1 + (p % 7));
    for (let i = 0; i < 10; i++) {
      const old = live.shift()!;
      node.exit(old);
      node.addProcess(pid, { comm: `new-${pid}`, ticks: 3, start: pid, exe: '/usr/bin/y', cmdline: ['/usr/bin/y'] });
      live.push(pid++);
    }
    node.advanceCpu(4000, 4000);
    uj += 250_000_000;
    node.setEnergy('intel-rapl:0', uj);
    node.setEnergy('intel-rapl:0:2', uj / 10);
  };
  const c = await measure(b.monitor, b.registry, between, b.series);
  console.log(`energy-exporter (synthetic node, 1,000 processes, RAPL, 100 containers, legacy names on): ${fmt(c)}`);
  console.log(`target <= 1 % of one core at a 5 s scrape with 1,000 processes: ${c.pctOfCore <= 1 ? 'met' : 'NOT met'}`);
  node.cleanup();
}

// --- 1b. this machine's /proc
{
  const b = build('/proc', '/sys', '/var/log');
  const c = await measure(b.monitor, b.registry, () => undefined, b.series);
  console.log(`energy-exporter (this machine's /proc, source ${b.source.powerSource}): ${fmt(c)}`);
}

// --- 2. joules per message, processor and inference, 1,000 routers in process
{
  const ROUTERS = 1000;
  const POLLS = Number(process.env.BENCH_POLLS ?? 40);
  const logger = silentLogger();
  const exp = benchExperiment(ROUTERS);
  const payloads = tdPayloads(exp, POLLS);
  /** One run of the pipeline: msg/s per CPU-second, and (tracking on) the stages' CPU and this process's energy. */
  const runPipeline = async (track: boolean, self?: SelfEnergy) => {
    if (track) enableStageCpu();
    else disableStageCpu();
    const source = new ExperimentSource({ ...exp, source: '' });
    const fabric = new MemoryFabric({ retainMessages: 1 });
    const dummies = new DummyPredictors();
    const processor = createProcessor({ fabric, experiment: source, logger });
    const inference = createInference({ fabric, experiment: source, logger, resolve: (r) => dummies.get(r.routerType) });
    await processor.start!();
    await inference.start!();
    let out = 0;
    const counter = await fabric.subscribe({ group: 'bench-count', topics: exp.routers.map((r) => exp.mlTopic(r.id)), handler: async (b) => void (out += b.length) });
    const s0 = { p: stageAccount('processor'), i: stageAccount('inference') };
    const before = { pCpu: s0.p.cpuSeconds, iCpu: s0.i.cpuSeconds, pMsg: s0.p.messages, iMsg: s0.i.messages };
    const j0 = self?.sample() ?? 0;
    const cpu0 = cpuS();
    for (let p = 0; p < POLLS; p++) {
      await fabric.publishBatch(exp.routers.map((r, i) => ({ topic: r.topic, key: r.id, json: payloads[p]![i]! })));
      while (out < ROUTERS * p) await new Promise((r) => setImmediate(r));
    }
    while (out < ROUTERS * (POLLS - 1)) await new Promise((r) => setImmediate(r));
    const cpu = cpuS() - cpu0;
    const joules = (self?.sample() ?? 0) - j0;
    const result = {
      msgPerCpuS: (ROUTERS * POLLS) / cpu,
      cpu,
      joules,
      processorCpu: stageAccount('processor').cpuSeconds - before.pCpu,
      inferenceCpu: stageAccount('inference').cpuSeconds - before.iCpu,
      processorMsgs: stageAccount('processor').messages - before.pMsg,
      inferenceMsgs: stageAccount('inference').messages - before.iMsg,
    };
    await counter.close();
    await inference.stop!();
    await processor.stop!();
    await fabric.close();
    return result;
  };
  const errors = new ReadErrors(silentLogger());
  const source = selectNodeSource(energyDefaults(), errors);
  const self = new SelfEnergy(source, '/proc', errors);
  await runPipeline(false); // warm-up
  const off: number[] = [];
  const on: number[] = [];
  const perMsg = { processor: [] as number[], inference: [] as number[], processorCpuUs: [] as number[], inferenceCpuUs: [] as number[], watts: [] as number[] };
  for (let k = 0; k < 3; k++) {
    off.push((await runPipeline(false)).msgPerCpuS);
    self.sample();
    const r = await runPipeline(true, self);
    on.push(r.msgPerCpuS);
    const { stages } = splitByStages(r.joules, r.cpu, new Map([['processor', r.processorCpu], ['inference', r.inferenceCpu]]));
    perMsg.processor.push(stages.get('processor')! / r.processorMsgs);
    perMsg.inference.push(stages.get('inference')! / r.inferenceMsgs);
    perMsg.processorCpuUs.push((r.processorCpu / r.processorMsgs) * 1e6);
    perMsg.inferenceCpuUs.push((r.inferenceCpu / r.inferenceMsgs) * 1e6);
    perMsg.watts.push(r.joules / r.cpu);
  }
  disableStageCpu();
  console.log(
    `energy per message (1,000 routers, in-process, source ${source.powerSource}${source instanceof EstimatorSource ? ` platform aws: an estimate` : ''}): ` +
      `processor ${(median(perMsg.processor) * 1e6).toFixed(1)} µJ/msg (${median(perMsg.processorCpuUs).toFixed(1)} µs CPU), ` +
      `inference ${(median(perMsg.inference) * 1e6).toFixed(1)} µJ/msg (${median(perMsg.inferenceCpuUs).toFixed(1)} µs CPU); ` +
      `this process drew ${median(perMsg.watts).toFixed(2)} J per CPU-second`,
  );
  console.log(
    `stage CPU measurement cost: ${median(off).toFixed(0)} msg/s per CPU-second without, ${median(on).toFixed(0)} with (${((1 - median(on) / median(off)) * 100).toFixed(1)} % slower; 3 runs each, median)`,
  );
}
