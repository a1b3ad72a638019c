/**
 * The reference's test-metrics source: per router a file test_metrics_<router>.json with
 * `period_K: {total_bytes, total_packets}` cumulative counters; each poll takes the next
 * period and, after the last, wraps to period_0 (which looks like a counter reset downstream).
 * Counters are split evenly over the router's configured interfaces so the router's totals
 * (the sum over interfaces, which is what the processor computes) equal the file's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricFamilyJson } from '../../collector/metric-family-json.js';
import { BYTES_METRIC, PACKETS_METRIC, formatGoFloat } from '../messages.js';

export interface TestPeriod {
  bytes: number;
  packets: number;
}

export function loadTestMetrics(dir: string, routerId: string): TestPeriod[] {
  const file = join(dir, `test_metrics_${routerId}.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`test metrics for router ${routerId}: cannot read ${file}: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== 'object') throw new Error(`test metrics ${file}: the top level must be an object of period_K entries`);
  const periods: Array<[number, TestPeriod]> = [];
  for (const [key, v] of Object.entries(raw as Record<string, unknown>)) {
    const m = /^period_(\d+)$/.exec(key);
    if (!m) throw new Error(`test metrics ${file}: unexpected key "${key}" (expected period_K)`);
    const p = v as { total_bytes?: unknown; total_packets?: unknown };
    const bytes = Number(p?.total_bytes);
    const packets = Number(p?.total_packets);
    if (!Number.isFinite(bytes) || !Number.isFinite(packets))
      throw new Error(`test metrics ${file}: ${key} needs numeric total_bytes and total_packets`);
    periods.push([Number(m[1]), { bytes, packets }]);
  }
  if (periods.length === 0) throw new Error(`test metrics ${file}: no period_K entries`);
  return periods.sort((a, b) => a[0] - b[0]).map(([, p]) => p);
}

const HELP: Record<string, string> = {
  [BYTES_METRIC]: 'Network device statistic receive_bytes.',
  [PACKETS_METRIC]: 'Network device statistic receive_packets.',
};

/** The metric families of one test period, as the collector would return them. */
export function testPeriodFamilies(period: TestPeriod, interfaces: string[]): MetricFamilyJson[] {
  const n = interfaces.length;
  const fam = (name: string, total: number): MetricFamilyJson => ({
    name,
    description: HELP[name]!,
    type: 'counter',
    values: interfaces.map((device) => ({ labels: [{ name: 'device', value: device }], value: formatGoFloat(total / n) })),
  });
  return [fam(BYTES_METRIC, period.bytes), fam(PACKETS_METRIC, period.packets)];
}
