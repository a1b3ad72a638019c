/**
 * The energy exporter through the CLI: the `energy-exporter` role on its own port (a busy port
 * fails the start, naming the port and the setting), and `wattflow up`, whose banner shows the
 * exporter's URL, whose exporter serves Kepler's metrics with the estimator named on this
 * machine and wattflow's stages as roles, whose /metrics carries the stages' energy per message
 * — and which carries on, saying so, when the exporter's port is busy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { poll, runCli } from '../e2e/helpers.js';
import { parseSamples } from './fixtures.js';

async function occupiedPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, server };
}

test('`wattflow energy-exporter` serves Kepler metrics on its own port; SIGTERM stops it', async () => {
  const cli = runCli(['energy-exporter', '--port', '0', '--energy-port', '0', '--legacy'], { WATTFLOW__energy__intervalMs: '500' });
  try {
    const [, url] = await cli.waitFor(/wattflow energy exporter: (http:\/\/\S+)\/metrics/, 30_000);
    const samples = await poll(async () => {
      const s = parseSamples(await (await fetch(`${url}/metrics`)).text());
      return s.some((x) => x.name === 'kepler_node_cpu_joules_total' && x.value > 0) ? s : undefined;
    }, 15_000, 250);
    assert.ok(samples.some((x) => x.name === 'kepler_container_joules_total' && x.labels.container_id === 'system_processes'), 'legacy names with --legacy');
    assert.ok(samples.some((x) => x.name === 'kepler_node_info'));
    assert.ok(!samples.some((x) => x.name.startsWith('wattflow_process_') || x.name.startsWith('wattflow_nodejs_')), 'the process\'s own metrics are not on the energy port');
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  } finally {
    const code = await cli.stop();
    assert.equal(code, 0, cli.output().slice(-2000));
  }
});

test('`wattflow energy-exporter` on a busy port fails at start, naming the port and the setting', async () => {
  const { port, server } = await occupiedPort();
  try {
    const cli = runCli(['energy-exporter', '--port', '0', '--energy-port', String(port)]);
    const code = await cli.exited;
    assert.equal(code, 1);
    assert.match(cli.output(), new RegExp(`energy exporter: 127\\.0\\.0\\.1:${port} is in use \\(set energy\\.port`));
  } finally {
    server.close();
  }
});

test('`wattflow up`: the banner shows the exporter, which names the estimator; stages are roles; energy per message on /metrics', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-up-energy-'));
  const cli = runCli(['up', '--port', '0'], { WATTFLOW__storage__dir: dir, WATTFLOW__energy__port: '0', WATTFLOW__energy__intervalMs: '1000', KAFKA_BROKERS: '', INFLUX_URL: '' });
  try {
    const [, url] = await cli.waitFor(/metrics:\s+(http:\/\/\S+)\/metrics/, 30_000);
    const [, energyUrl] = await cli.waitFor(/energy:\s+(http:\/\/\S+)\/metrics\s+\(Kepler-compatible, (estimator|RAPL)/);
    assert.notEqual(energyUrl, url, 'its own listener');
    const s = await poll(async () => {
      const x = parseSamples(await (await fetch(`${energyUrl}/metrics`)).text());
      const role = (r: string) => x.find((v) => v.name === 'wattflow_energy_joules_total' && v.labels.role === r)?.value ?? 0;
      return role('processor') > 0 && role('inference') > 0 && role('up') > 0 ? x : undefined;
    }, 40_000, 500);
    const node = s.find((v) => v.name === 'kepler_node_cpu_joules_total' && v.labels.zone === 'package')!;
    if (/estimator/.test(cli.output())) assert.equal(node.labels.path, 'estimator');
    assert.ok(s.some((v) => v.name === 'kepler_container_joules_total'), 'Kepler 0.7 names are on in up');
    assert.ok(s.some((v) => v.name === 'kepler_process_cpu_joules_total' && v.labels.pid === String(cli.child.pid)), 'up\'s own process is exported');
    const main = await poll(async () => {
      const x = parseSamples(await (await fetch(`${url}/metrics`)).text());
      const per = (stage: string) => x.find((v) => v.name === 'wattflow_stage_energy_per_message_joules' && v.labels.stage === stage)?.value;
      return (per('processor') ?? 0) > 0 && (per('inference') ?? 0) > 0 ? x : undefined;
    }, 40_000, 500);
    assert.ok(!main.some((v) => v.name.startsWith('kepler_')), 'Kepler names stay off the process\'s /metrics');
    assert.ok(main.find((v) => v.name === 'wattflow_stage_cpu_seconds_total' && v.labels.stage === 'processor')!.value > 0);
  } finally {
    const code = await cli.stop();
    assert.equal(code, 0, cli.output().slice(-2000));
  }
});

test('`wattflow up` with the exporter\'s port busy: logged, said in the banner, everything else runs', { timeout: 60_000 }, async () => {
  const { port, server } = await occupiedPort();
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-up-energy-busy-'));
  const cli = runCli(['up', '--port', '0'], { WATTFLOW__storage__dir: dir, WATTFLOW__energy__port: String(port), KAFKA_BROKERS: '', INFLUX_URL: '' });
  try {
    const [, url] = await cli.waitFor(/routers API:\s+(http:\/\/\S+)\/api\/routers/, 30_000);
    await cli.waitFor(new RegExp(`energy:\\s+not listening: 127\\.0\\.0\\.1:${port} is in use`));
    await cli.waitFor(/sampling goes on without a listener/);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
  } finally {
    const code = await cli.stop();
    server.close();
    assert.equal(code, 0, cli.output().slice(-2000));
  }
});
