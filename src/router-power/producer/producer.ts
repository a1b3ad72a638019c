/**
 * The producer stage (role `producer`): polls every router of the experiment every
 * polling_interval seconds — all routers concurrently, on a fixed schedule without drift — and
 * publishes a TD message per router to its topic (TD_<router>, key = router id). A slow or dead
 * router never delays the others: each router has at most one poll in flight, a poll that is
 * still running at the next tick makes that router skip the tick (counted as an overrun), and
 * every poll is bounded by a timeout. The experiment is reloadable (routers, interfaces,
 * interval, experiment id) without a restart. TD messages the broker refuses (down,
 * restarting) wait in the outbox (outbox.ts) and are re-sent in order.
 */
import type { Component } from '../../core/component.js';
import type { Logger } from '../../core/logger.js';
import { counter, histogram } from '../../core/metrics.js';
import { FixedRateScheduler } from '../../core/scheduler.js';
import type { Fabric } from '../../fabric/fabric.js';
import { stageTopics, type ExperimentSource, type RouterConfig, type RouterSource } from '../experiment.js';
import { hopLatency, messagesOut } from '../../stage/stage-metrics.js';
import { buildTd } from './build-td.js';
import { Outbox, type OutboxOptions } from './outbox.js';
import { collectorPoller, directPoller, syntheticPoller, testMetricsPoller, type Poller, type SourceOptions } from './sources.js';

const polls = counter({
  name: 'wattflow_producer_polls_total',
  help: 'Router polls by source and result (ok, error, overrun = previous poll still running); a TD message waiting in the outbox counts as ok',
  labelNames: ['source', 'result'] as const,
});
const pollDuration = histogram({ name: 'wattflow_producer_poll_seconds', help: 'Duration of one router poll', labelNames: ['source'] as const });
const tickDelay = histogram({ name: 'wattflow_producer_tick_delay_seconds', help: 'How late each polling tick fired after its due time (event-loop delay as the schedule sees it)' });
const ticksLate = counter({ name: 'wattflow_producer_ticks_late_total', help: 'Polling ticks that fired late: more than 10 % of the interval (at least 50 ms) after their due time' });
const ticksSkipped = counter({ name: 'wattflow_producer_ticks_skipped_total', help: 'Polling ticks skipped because the event loop was blocked past them (never bunched)' });
/** A tick is late beyond this fraction of the interval, and at least LATE_TICK_MIN_MS. */
const LATE_TICK_FRACTION = 0.1;
const LATE_TICK_MIN_MS = 50;
/** Routers polled per event-loop turn at a tick (without spreadPolls). */
const POLL_CHUNK = 100;

export interface ProducerOptions {
  fabric: Fabric;
  experiment: ExperimentSource;
  logger: Logger;
  /** Per-poll timeout; default: the polling interval (capped at 10 s). */
  timeoutMs?: number;
  maxBytes?: number;
  /**
   * Spread the routers' polls over the interval, each router at a fixed offset derived from its
   * id (as Prometheus offsets its scrapes), instead of all at the tick. Still drift-free and
   * periodic per router; it turns a burst of N messages per interval into a steady stream, which
   * keeps per-message latency low with many routers. Default false (the reference polls all
   * routers at once).
   */
  spreadPolls?: boolean;
  /**
   * With spreadPolls, offsets are multiples of this many ms (default 10): the routers of one
   * slot are polled together and their TD messages leave in one produce request, so the stages
   * downstream get them in one fetch and answer with one request (a message per request would
   * cost the broker and the clients several times the work). A slot adds no latency: a message's
   * poll time is its slot's start.
   */
  spreadSlotMs?: number;
  /** Bounds and backoff of the outbox of TD messages the broker refused (see outbox.ts). */
  outbox?: Omit<OutboxOptions, 'fabric' | 'logger'>;
}

export const DEFAULT_SPREAD_SLOT_MS = 10;

/**
 * A router's fixed phase within the interval: a hash of its id (FNV-1a, mixed), as a fraction of the interval,
 * rounded down to a multiple of `slotMs` (1 = any millisecond).
 */
export function pollOffsetMs(routerId: string, intervalMs: number, slotMs = 1): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < routerId.length; i++) h = Math.imul(h ^ routerId.charCodeAt(i), 0x01000193) >>> 0;
  // murmur3's finaliser: FNV-1a alone leaves the high bits of short, similar ids ("r1", "r2",
  // …) nearly equal, which would crowd those routers into a few slots
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h = (h ^ (h >>> 16)) >>> 0;
  const slot = Math.max(1, Math.min(slotMs, intervalMs));
  return Math.floor(((h / 2 ** 32) * intervalMs) / slot) * slot;
}

export function createProducer(opts: ProducerOptions): Component {
  const log = opts.logger.child({ stage: 'producer' });
  const exp = () => opts.experiment.current;
  const sourceOpts = (): SourceOptions => ({
    timeoutMs: opts.timeoutMs ?? Math.min(10_000, exp().pollingInterval * 1000),
    maxBytes: opts.maxBytes ?? 16 * 1024 * 1024,
  });
  const pollers: Record<RouterSource, Poller> = {
    collector: (r, t) => collectorPoller(sourceOpts())(r, t),
    direct: (r, t) => directPoller(sourceOpts())(r, t),
    test_metrics: testMetricsPoller(exp),
    synthetic: syntheticPoller(),
  };
  const inflight = new Set<string>();
  /** Scrape time of each TD message in the outbox (for the collector → producer hop latency). */
  const readAt = new WeakMap<object, number>();
  const outbox = new Outbox({
    fabric: opts.fabric,
    logger: log,
    onSent: (messages) => {
      messagesOut.inc({ stage: 'producer' }, messages.length);
      const now = Date.now();
      for (const m of messages) {
        const t = m.json ? readAt.get(m.json) : undefined;
        if (t !== undefined) hopLatency.observe({ hop: 'collector_to_producer' }, Math.max(0, now - t) / 1000);
      }
    },
    ...opts.outbox,
  });
  const lastErrorLogged = new Map<string, number>();
  let ensured = new Set<string>();

  const ensureTopics = async () => {
    const topics = stageTopics(exp(), 'TD').filter((t) => !ensured.has(t));
    if (topics.length === 0) return;
    await opts.fabric.ensureTopics(topics.map((name) => ({ name })));
    ensured = new Set([...ensured, ...topics]);
  };

  const pollRouter = async (router: RouterConfig, tickMs: number) => {
    const started = performance.now();
    try {
      const experiment = exp();
      const res = await pollers[router.source](router, tickMs);
      const collectedAt = Date.now();
      const td = buildTd({ router, experiment, nodeExporter: res.nodeExporter, readAtMs: res.readAtMs, collectedAtMs: collectedAt, families: res.families });
      // handed over, not awaited: a slow or absent broker must not hold the router's poll (see outbox.ts)
      outbox.send({ topic: router.topic, key: router.id, json: td });
      readAt.set(td, res.readAtMs);
      polls.inc({ source: router.source, result: 'ok' });
    } catch (err) {
      polls.inc({ source: router.source, result: 'error' });
      const now = Date.now();
      if (now - (lastErrorLogged.get(router.id) ?? 0) > 30_000) {
        lastErrorLogged.set(router.id, now);
        log.warn({ router: router.id, err: (err as Error).message }, 'poll failed (logged at most every 30 s per router)');
      }
    } finally {
      pollDuration.observe({ source: router.source }, (performance.now() - started) / 1000);
      inflight.delete(router.id);
    }
  };

  const pollIfIdle = (router: RouterConfig, tickMs: number) => {
    if (inflight.has(router.id)) {
      polls.inc({ source: router.source, result: 'overrun' });
      return;
    }
    inflight.add(router.id);
    void pollRouter(router, tickMs);
  };
  const spreadTimers = new Set<NodeJS.Timeout>();
  const onTick = (tickMs: number) => {
    if (!opts.spreadPolls) {
      // every router at the tick, as the reference does, but POLL_CHUNK routers per event-loop
      // turn: a thousand polls in one callback would hold timers and I/O for tens of ms
      const routers = exp().routers;
      const pollChunk = (from: number) => {
        if (stopping) return;
        const end = Math.min(routers.length, from + POLL_CHUNK);
        for (let i = from; i < end; i++) pollIfIdle(routers[i]!, tickMs);
        if (end < routers.length) setImmediate(pollChunk, end);
      };
      pollChunk(0);
      return;
    }
    // one timer per slot: the slot's routers are polled in one callback, so their publishes
    // go out together (the fabric merges publishes of one event-loop turn into one request)
    const intervalMs = exp().pollingInterval * 1000;
    const slots = new Map<number, RouterConfig[]>();
    for (const router of exp().routers) {
      const offset = pollOffsetMs(router.id, intervalMs, opts.spreadSlotMs ?? DEFAULT_SPREAD_SLOT_MS);
      let slot = slots.get(offset);
      if (!slot) slots.set(offset, (slot = []));
      slot.push(router);
    }
    for (const [offset, routers] of slots) {
      const at = tickMs + offset;
      const timer = setTimeout(() => {
        spreadTimers.delete(timer);
        for (const router of routers) pollIfIdle(router, at);
      }, Math.max(0, at - Date.now()));
      spreadTimers.add(timer);
    }
  };

  let lastTimingLog = 0;
  const onTiming = (lateMs: number, skipped: number) => {
    const intervalMs = exp().pollingInterval * 1000;
    tickDelay.observe(lateMs / 1000);
    const late = lateMs > Math.max(LATE_TICK_MIN_MS, intervalMs * LATE_TICK_FRACTION);
    if (late) ticksLate.inc();
    if (skipped > 0) ticksSkipped.inc(skipped);
    if ((late || skipped > 0) && Date.now() - lastTimingLog > 30_000) {
      lastTimingLog = Date.now();
      log.warn({ late_ms: lateMs, skipped, interval_ms: intervalMs }, 'polling tick late or skipped: the event loop was blocked (logged at most every 30 s; wattflow_producer_ticks_{late,skipped}_total)');
    }
  };
  const scheduler = new FixedRateScheduler(exp().pollingInterval * 1000, onTick, onTiming);
  let unsubscribe: (() => void) | undefined;
  let started = false;
  let stopping = false;
  return {
    name: 'producer',
    async start() {
      await ensureTopics();
      unsubscribe = opts.experiment.onChange(async (next) => {
        await ensureTopics();
        scheduler.setInterval(next.pollingInterval * 1000);
        log.info({ routers: next.routers.map((r) => r.id), interval: next.pollingInterval, experiment: next.experimentId }, 'experiment reloaded');
      });
      scheduler.start();
      started = true;
      log.info({ routers: exp().routers.length, interval_s: exp().pollingInterval }, 'polling routers');
    },
    async stop() {
      stopping = true;
      scheduler.stop();
      for (const t of spreadTimers) clearTimeout(t);
      spreadTimers.clear();
      unsubscribe?.();
      const deadline = Date.now() + 5000;
      while (inflight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await outbox.close(5000);
    },
    ready: () => (started ? true : 'producer not started'),
  };
}
