/**
 * Page load of the web UI with 1,000 routers running: the real `wattflow up` (a child process)
 * on a generated experiment of 1,000 synthetic routers polled every second (1,000 predictions/s
 * through the in-process bus), a reference vehicle log replayed into it; Debian's Chromium
 * (playwright-core, headless) opens each view cold (a new browser context: nothing cached, a first visit) and warm
 * (reload: assets from the cache, the page revalidated), RUNS times each. The figure is the time
 * from navigation start to the view's first data on screen (the page sets body[data-ready] once
 * its view has mounted with data: the fleet's rows, a router's four charts with their history,
 * …), and the load event. Target: < 1 s on this machine.
 *
 *   npm run bench -- ui-load          (BENCH_ROUTERS=1000, BENCH_RUNS=5)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, launchBrowser } from '../test/helpers/chromium.js';
import { freePort } from '../test/helpers/ports.js';
import { poll, ROOT, runCli } from '../test/e2e/helpers.js';
import { replayVehicleLog } from '../src/vehicle/replay/replay.js';

const ROUTERS = Number(process.env.BENCH_ROUTERS ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const VIEWS = [
  ['fleet (routers)', '#/routers', 'routers'],
  ['fleet sorted by power, page 5', '#/routers?sort=power&offset=200', 'routers'],
  ['router detail (15 min)', '#/routers/edge-0500?range=15m', 'routers'],
  ['vehicles', '#/vehicles', 'vehicles'],
  ['vehicle detail (1 h)', '#/vehicles/car-1?range=1h', 'vehicles'],
  ['models', '#/models', 'models'],
  ['energy', '#/energy', 'energy'],
  ['pipeline health', '#/health', 'health'],
] as const;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function main(): Promise<void> {
  const browser = chromium();
  if (browser.skip) {
    console.log(`skipped: ${browser.skip}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'wattflow-ui-bench-'));
  const routers = Array.from({ length: ROUTERS }, (_, i) => ({ [`edge-${String(i).padStart(4, '0')}`]: { topic: 'TD', interfaces: ['eth0', 'eth1'], source: 'synthetic' } }));
  writeFileSync(join(dir, 'experiment.json'), JSON.stringify({ experiment_id: 'ui-bench', flag_original_metrics: false, flag_debug_params: true, max_throughput_mbps: 100, polling_interval: 1, multiplier: 1, topics: { processed: 'TP', predictions: 'ML' }, routers }));
  const cli = runCli(['up', '--port', '0', '--experiment', join(dir, 'experiment.json')], {
    WATTFLOW__storage__dir: dir,
    WATTFLOW__energy__port: String(await freePort()),
    WATTFLOW__network__spreadPolls: 'true',
    WATTFLOW_LOG_LEVEL: 'warn',
    KAFKA_BROKERS: '',
    INFLUX_URL: '',
  });
  const close: Array<() => Promise<unknown>> = [async () => cli.stop()];
  try {
    const [, url] = (await cli.waitFor(/web UI:\s+(http:\/\/\S+?)\/\s/, 60_000)) as RegExpMatchArray as [string, string];
    await replayVehicleLog({ file: join(ROOT, 'test/fixtures/vehicle/DS2_national_road_90km_h_max_25Jan24_153019.csv'), vehicleId: 'car-1', target: url, asFastAsPossible: true });
    // every router predicted, and a minute of history
    await poll(async () => {
      const f = (await (await fetch(`${url}/api/ui/fleet?limit=1`)).json()) as { stats: { live: number } };
      return f.stats.live === ROUTERS ? true : undefined;
    }, 60_000, 500);
    const warm = Number(process.env.BENCH_WARMUP_S ?? 60);
    console.log(`${ROUTERS} routers live (${ROUTERS} predictions/s at 1 s polling); letting ${warm} s of history accumulate…`);
    await new Promise((r) => setTimeout(r, warm * 1000));
    const health = (await (await fetch(`${url}/api/ui/health`)).json()) as { now: { stages: Array<{ stage: string; out_per_s: number }>; hops: Array<{ hop: string; p99_ms: number | null }> } };
    console.log(`pipeline while measuring: inference ${health.now.stages.find((s) => s.stage === 'inference')?.out_per_s} msg/s, end-to-end p99 ${health.now.hops.find((h) => h.hop === 'end_to_end')?.p99_ms} ms`);

    // the API calls behind the views, timed from here (server time + loopback)
    const timeApi = async (path: string) => {
      const xs: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        const r = await fetch(`${url}${path}`);
        await r.arrayBuffer();
        xs.push(performance.now() - t0);
      }
      return `${pct(xs, 50).toFixed(1)} ms (p90 ${pct(xs, 90).toFixed(1)})`;
    };
    console.log('\nAPI (median of 10):');
    for (const p of ['/api/ui/fleet?limit=50&points=40', '/api/ui/fleet?sort=power&order=desc&limit=50&points=40', '/api/routers/edge-0500/series?metric=power&from=-15m&points=600', '/api/ui/health', '/api/ui/energy']) console.log(`  ${p.padEnd(60)} ${await timeApi(p)}`);

    const b = await launchBrowser(browser.path);
    close.unshift(() => b.close());
    const rows: Array<{ view: string; cold: number[]; warm: number[]; load: number[]; kb: number }> = [];
    for (const [label, hash, view] of VIEWS) {
      const row = { view: label, cold: [] as number[], warm: [] as number[], load: [] as number[], kb: 0 };
      for (let i = 0; i < RUNS; i++) {
        // cold: a new browser context (empty cache, no storage: a first visit)
        const fresh = await b.newContext({ viewport: { width: 1400, height: 900 } });
        const page = await fresh.newPage();
        let bytes = 0;
        page.on('response', (r) => void r.body().then((x) => (bytes += Number(r.headers()['content-length'] ?? x.length))).catch(() => undefined));
        await page.goto(`${url}/${hash}`);
        await page.waitForSelector(`body[data-view="${view}"][data-ready]`, { timeout: 30_000 });
        row.cold.push(Number(await page.getAttribute('body', 'data-ready')));
        row.load.push(Number(await page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")));
        row.kb = Math.max(row.kb, bytes / 1024);
        if (process.env.BENCH_WATERFALL && i === RUNS - 1) {
          const entries = (await page.evaluate(
            "[...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')].map((e) => [e.name.replace(location.origin, ''), Math.round(e.startTime), Math.round(e.responseEnd)])",
          )) as Array<[string, number, number]>;
          console.log(`  waterfall ${label}: ${entries.map(([n, a, b]) => `${n.slice(0, 60)} ${a}→${b}`).join(' | ')} | ready ${row.cold[row.cold.length - 1]?.toFixed(0)}`);
        }
        // warm: the same page reloaded (assets cached, immutable; the page revalidated)
        await page.reload();
        await page.waitForSelector(`body[data-view="${view}"][data-ready]`, { timeout: 30_000 });
        row.warm.push(Number(await page.getAttribute('body', 'data-ready')));
        await fresh.close();
      }
      rows.push(row);
    }
    console.log(`\nPage load with ${ROUTERS} routers running (navigation start → view shown with its data), ${RUNS} runs each:`);
    console.log(`  ${'view'.padEnd(32)} ${'cold p50'.padStart(9)} ${'cold max'.padStart(9)} ${'warm p50'.padStart(9)} ${'warm max'.padStart(9)} ${'load evt'.padStart(9)}  transferred (cold)`);
    for (const r of rows) {
      const f = (x: number) => `${x.toFixed(0)} ms`.padStart(9);
      console.log(`  ${r.view.padEnd(32)} ${f(pct(r.cold, 50))} ${f(Math.max(...r.cold))} ${f(pct(r.warm, 50))} ${f(Math.max(...r.warm))} ${f(pct(r.load, 50))}  ${r.kb.toFixed(0)} KB`);
    }
    const worst = Math.max(...rows.flatMap((r) => r.cold));
    console.log(`\nworst cold load: ${worst.toFixed(0)} ms — target < 1000 ms: ${worst < 1000 ? 'met' : 'NOT met'}`);
  } finally {
    for (const c of close) await c().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
