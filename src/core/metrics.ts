/**
 * Prometheus metrics shared by every role (prom-client). One registry per process; stages
 * get-or-create their metrics by name so that several stages (or several instances of one
 * stage in the single-process mode) can share a metric without "already registered" errors.
 */
import client from 'prom-client';

export const registry = new client.Registry();
let defaultsCollected = false;

export function collectDefaultMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  client.collectDefaultMetrics({ register: registry, prefix: 'wattflow_' }); // wattflow_process_cpu_…, wattflow_nodejs_…
}

type Labels<T extends string> = { name: string; help: string; labelNames?: readonly T[] };

export function counter<T extends string = string>(cfg: Labels<T>): client.Counter<T> {
  const existing = registry.getSingleMetric(cfg.name);
  if (existing) return existing as client.Counter<T>;
  return new client.Counter<T>({ ...cfg, labelNames: cfg.labelNames ?? [], registers: [registry] });
}

export function gauge<T extends string = string>(
  cfg: Labels<T> & { collect?: (this: client.Gauge<T>) => void | Promise<void> },
): client.Gauge<T> {
  const existing = registry.getSingleMetric(cfg.name);
  if (existing) return existing as client.Gauge<T>;
  return new client.Gauge<T>({ ...cfg, labelNames: cfg.labelNames ?? [], registers: [registry] });
}

/** A counter whose value is read from a running total at scrape time (e.g. a component's own tally). */
export function totalCounter(cfg: { name: string; help: string; value: () => number }): client.Counter {
  const existing = registry.getSingleMetric(cfg.name);
  if (existing) return existing as client.Counter;
  return new client.Counter({
    name: cfg.name,
    help: cfg.help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(cfg.value());
    },
  });
}

/** Latency buckets in seconds, from 100 µs to 10 s. */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function histogram<T extends string = string>(cfg: Labels<T> & { buckets?: number[] }): client.Histogram<T> {
  const existing = registry.getSingleMetric(cfg.name);
  if (existing) return existing as client.Histogram<T>;
  return new client.Histogram<T>({
    ...cfg,
    labelNames: cfg.labelNames ?? [],
    buckets: cfg.buckets ?? LATENCY_BUCKETS,
    registers: [registry],
  });
}
