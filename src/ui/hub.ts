/**
 * The live hub of the web UI: the pipeline's outputs (ML topics, the vehicle predictor's scored
 * vectors, dead-letter topics, the health and energy samplers) pushed to browsers as
 * Server-Sent Events, with the latest state per key and a replay ring for `Last-Event-ID`
 * resume (docs/ui.md, "Server side").
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ServerResponse } from 'node:http';
import { counter, gauge } from '../core/metrics.js';
import type { Logger } from '../core/logger.js';
import type { Fabric, IncomingMessage, Subscription } from '../fabric/fabric.js';
import { dlqTopic } from '../fabric/fabric.js';
import { stageTopics, type ExperimentSource } from '../router-power/experiment.js';
import type { MlMessage } from '../router-power/messages.js';
import { routerSeriesName } from '../sinks/ml-sinks.js';
import type { TimeSeriesStore } from '../storage/types.js';
import type { Scored } from '../vehicle/predictor/sinks.js';
import {
  deadLetterSummaryOf,
  mlShaped,
  routerStateFromMl,
  routerStateFromStored,
  vehicleStateOf,
  type DeadLetterSummary,
  type RouterState,
  type VehicleState,
} from './projections.js';
import { RecentRing } from './recent-ring.js';
import { STATE_TYPES, StreamClient, matches, type HubEvent, type StreamFilter } from './stream-client.js';

const eventsTotal = counter({ name: 'wattflow_ui_events_total', help: 'Events the web UI hub emitted, by type (router, vehicle, health, energy, deadletter, …)', labelNames: ['type'] as const });
const streamsGauge = gauge({ name: 'wattflow_ui_streams', help: 'Open event streams (SSE) of the web UI' });

/** Vehicles whose latest state the hub keeps, at most (the oldest reported is forgotten first). */
const MAX_VEHICLES = 10_000;

interface RouterEntry {
  state: RouterState | null;
  ring: RecentRing;
}

export interface HubOptions {
  fabric?: Fabric;
  experiment: ExperimentSource;
  store?: TimeSeriesStore;
  logger: Logger;
  recentPoints: number;
  replayEvents: number;
  maxStreams: number;
  maxDeadLetterTopics: number;
  deadLetters: number;
  /** Consumer group of this process (default: one per host and process). */
  group?: string;
  heartbeatMs?: number;
}

export class LiveHub {
  readonly boot = randomBytes(4).toString('hex');
  private seq = 0;
  private readonly routers = new Map<string, RouterEntry>();
  private readonly vehicles = new Map<string, VehicleState>();
  private readonly latest = new Map<string, HubEvent>();
  private readonly ring: HubEvent[] = [];
  private readonly clients = new Set<StreamClient>();
  private readonly deadLetterList: DeadLetterSummary[] = [];
  private mlSub: Subscription | undefined;
  private dlqSub: Subscription | undefined;
  private dlqTopics: string[] = [];
  private unsubscribe: (() => void) | undefined;
  private readonly log: Logger;
  private readonly group: string;
  private stopped = false;
  /** Why the dead letters are not followed (too many topics), when they are not. */
  deadLettersOff: string | undefined;

  constructor(private readonly o: HubOptions) {
    this.log = o.logger.child({ component: 'ui-hub' });
    this.group = o.group ?? `wattflow-ui-${hostname().replace(/[^A-Za-z0-9._-]/g, '_')}-${process.pid}-${this.boot}`;
    for (const r of o.experiment.current.routers) this.entry(r.id);
  }

  get currentSeq(): number {
    return this.seq;
  }

  get streams(): number {
    return this.clients.size;
  }

  private entry(id: string): RouterEntry {
    let e = this.routers.get(id);
    if (!e) this.routers.set(id, (e = { state: null, ring: new RecentRing(this.o.recentPoints) }));
    return e;
  }

  // ---------------------------------------------------------------- events

  /** Emits an event to every matching client; a state event also becomes its key's latest. */
  emit(type: string, key: string, data: unknown): void {
    const seq = ++this.seq;
    const ev: HubEvent = { seq, type, key, frame: `id: ${this.boot}-${seq}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n` };
    eventsTotal.inc({ type });
    if (STATE_TYPES.has(type)) this.latest.set(key, ev);
    if (this.o.replayEvents > 0) {
      this.ring.push(ev);
      if (this.ring.length > this.o.replayEvents * 1.25) this.ring.splice(0, this.ring.length - this.o.replayEvents);
    }
    for (const c of this.clients) c.send(ev);
  }

  /** The router states (null: no prediction yet), in experiment order. */
  routerStates(): Array<{ id: string; state: RouterState | null; ring: RecentRing }> {
    return this.o.experiment.current.routers.map((r) => {
      const e = this.entry(r.id);
      return { id: r.id, state: e.state, ring: e.ring };
    });
  }

  routerEntry(id: string): RouterEntry | undefined {
    return this.routers.get(id);
  }

  vehicleStates(): VehicleState[] {
    return [...this.vehicles.values()];
  }

  deadLetters(stage?: string, limit = 100): DeadLetterSummary[] {
    const list = stage ? this.deadLetterList.filter((d) => d.stage === stage) : this.deadLetterList;
    return list.slice(-limit).reverse();
  }

  /** A router's state from a valid ML message; emits it (and `models` when its model changed). */
  acceptMl(routerId: string, ml: MlMessage): void {
    const state = routerStateFromMl(routerId, ml, this.o.experiment.routerById(routerId));
    if (state) this.acceptRouterState(state);
  }

  acceptRouterState(state: RouterState): void {
    const e = this.entry(state.id);
    if (e.state && state.t < e.state.t) return; // a late or redelivered older prediction: the latest stays
    const modelChanged = e.state !== null && e.state.model !== state.model;
    e.state = state;
    e.ring.push(state.t, state.power ?? NaN, state.occupation ?? NaN);
    this.emit('router', `r:${state.id}`, state);
    if (modelChanged) this.emit('models', `m:${state.id}`, { router: state.id, model: state.model });
  }

  /** The vehicle predictor's results (wired to its sink under `wattflow up`). */
  acceptScored(items: readonly Scored[]): void {
    for (const item of items) {
      const v = item.vector;
      const prev = this.vehicles.get(v.vehicleId);
      if (prev && prev.t > v.ts) continue;
      const state = vehicleStateOf(item);
      this.vehicles.delete(v.vehicleId);
      this.vehicles.set(v.vehicleId, state);
      if (this.vehicles.size > MAX_VEHICLES) {
        const oldest = this.vehicles.keys().next().value!;
        this.vehicles.delete(oldest);
        this.latest.delete(`v:${oldest}`);
      }
      this.emit('vehicle', `v:${v.vehicleId}`, state);
    }
  }

  private acceptDeadLetter(msg: IncomingMessage): void {
    const d = deadLetterSummaryOf(msg);
    this.deadLetterList.push(d);
    if (this.deadLetterList.length > this.o.deadLetters) this.deadLetterList.splice(0, this.deadLetterList.length - this.o.deadLetters);
    this.emit('deadletter', `dl:${d.stage}`, d);
  }

  // ---------------------------------------------------------------- streams

  /**
   * Opens an event stream on a hijacked response: hello, then what the client missed (resume)
   * or the latest state of everything it follows, a `sync` marker, then live events.
   */
  open(res: ServerResponse, filter: StreamFilter, lastEventId: string | undefined, hello: Record<string, unknown>): StreamClient {
    const client = new StreamClient(res, filter, (c) => {
      this.clients.delete(c);
      streamsGauge.set(this.clients.size);
    }, this.o.heartbeatMs ?? 15_000);
    const frames: string[] = ['retry: 2000\n\n'];
    // hello and reset carry no id (the client's Last-Event-ID must not move past states it has not
    // received yet); states keep their own ids, in increasing order; sync carries the current seq
    const frame = (type: string, data: unknown, id?: string) => frames.push(`${id ? `id: ${id}\n` : ''}event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    frame('hello', { ...hello, boot: this.boot, seq: this.seq });
    const m = lastEventId ? /^([0-9a-f]+)-(\d+)$/.exec(lastEventId.trim()) : null;
    const sameBoot = m !== null && m[1] === this.boot && Number(m[2]) <= this.seq;
    const last = sameBoot ? Number(m![2]) : 0;
    let mode: 'snapshot' | 'replay' | 'reset' = 'snapshot';
    if (m) {
      const oldest = this.ring[0]?.seq ?? this.seq + 1;
      // the ring covers everything after `last` when its oldest event is at most last + 1
      mode = sameBoot && (oldest <= last + 1 || last === this.seq) ? 'replay' : 'reset';
    }
    if (mode === 'replay') {
      for (const ev of this.ring) if (ev.seq > last && matches(filter, ev)) frames.push(ev.frame);
    } else {
      if (mode === 'reset') frame('reset', { reason: sameBoot ? 'the events since your last one are no longer kept: here is the latest state' : 'the server restarted: here is the latest state', boot: this.boot });
      const states = [...this.latest.values()].filter((ev) => ev.seq > last && matches(filter, ev)).sort((a, b) => a.seq - b.seq);
      for (const ev of states) frames.push(ev.frame);
    }
    frame('sync', { seq: this.seq, mode }, `${this.boot}-${this.seq}`);
    this.clients.add(client);
    streamsGauge.set(this.clients.size);
    client.write(frames.join(''));
    return client;
  }

  get full(): boolean {
    return this.clients.size >= this.o.maxStreams;
  }

  /** Ends every stream (server closing): browsers reconnect to the next process. */
  closeStreams(): void {
    for (const c of [...this.clients]) c.close();
  }

  // ---------------------------------------------------------------- lifecycle

  private mlTopics(): string[] {
    return stageTopics(this.o.experiment.current, 'ML');
  }

  private deadLetterTopics(): string[] {
    const exp = this.o.experiment.current;
    const inputs = [...stageTopics(exp, 'TD'), ...stageTopics(exp, 'TP'), ...stageTopics(exp, 'ML')];
    return [...new Set(inputs.map(dlqTopic))];
  }

  async start(): Promise<void> {
    void this.backfill();
    if (!this.o.fabric) return;
    const fabric = this.o.fabric;
    const topics = this.mlTopics();
    await fabric.ensureTopics(topics.map((name) => ({ name })));
    this.mlSub = await fabric.subscribe({
      group: this.group,
      topics,
      fromBeginning: false,
      handler: async (batch) => {
        for (const msg of batch) {
          const doc = mlShaped(msg);
          // an unkeyed message (the reference's stages write none) is routed as the sinks route it
          if (doc) this.acceptMl(this.o.experiment.routerOf(msg.key, msg.topic, doc.node_exporter), doc);
        }
      },
    });
    await this.followDeadLetters();
    this.unsubscribe = this.o.experiment.onChange(async (exp) => {
      for (const r of exp.routers) this.entry(r.id);
      const ids = new Set(exp.routers.map((r) => r.id));
      for (const id of this.routers.keys()) {
        if (ids.has(id)) continue;
        this.routers.delete(id);
        this.latest.delete(`r:${id}`); // a removed router is not sent to new streams
      }
      const next = this.mlTopics();
      await fabric.ensureTopics(next.map((name) => ({ name })));
      await this.mlSub?.updateTopics(next);
      await this.followDeadLetters();
      this.emit('experiment', 'experiment', { experiment_id: exp.experimentId, polling_interval: exp.pollingInterval, routers: exp.routers.length });
    });
  }

  private async followDeadLetters(): Promise<void> {
    const fabric = this.o.fabric;
    if (!fabric || this.o.deadLetters === 0) return;
    const topics = this.deadLetterTopics();
    if (topics.length > this.o.maxDeadLetterTopics) {
      this.deadLettersOff = `${topics.length} dead-letter topics (more than ui.maxDeadLetterTopics = ${this.o.maxDeadLetterTopics}): only the counts are shown`;
      if (this.dlqSub) {
        await this.dlqSub.close();
        this.dlqSub = undefined;
      }
      return;
    }
    this.deadLettersOff = undefined;
    const fresh = topics.filter((t) => !this.dlqTopics.includes(t));
    if (fresh.length) await fabric.ensureTopics(fresh.map((name) => ({ name })));
    this.dlqTopics = topics;
    if (this.dlqSub) {
      await this.dlqSub.updateTopics(topics);
      return;
    }
    this.dlqSub = await fabric.subscribe({
      group: `${this.group}-dlq`,
      topics,
      fromBeginning: true,
      handler: async (batch) => {
        for (const msg of batch) this.acceptDeadLetter(msg);
      },
    });
  }

  /** The latest state and recent points of every router from the embedded storage (after a restart). */
  private async backfill(): Promise<void> {
    const store = this.o.store;
    if (!store) return;
    try {
      const ids = this.o.experiment.current.routers.map((r) => r.id);
      const interval = this.o.experiment.current.pollingInterval * 1000;
      const to = Date.now();
      const from = to - this.o.recentPoints * interval;
      for (let i = 0; i < ids.length && !this.stopped; i += 20) {
        await Promise.all(
          ids.slice(i, i + 20).map(async (id) => {
            const e = this.entry(id);
            if (e.state) return; // live data came first
            const latest = await store.latest(routerSeriesName(id));
            if (!latest) return;
            const [power, occupation] = await Promise.all([store.range(routerSeriesName(id), 'power', from, to, this.o.recentPoints), store.range(routerSeriesName(id), 'occupation', from, to, this.o.recentPoints)]);
            if (e.state) return;
            const occAt = new Map(occupation.map((p) => [p.tsMs, p.value]));
            for (const p of power) e.ring.push(p.tsMs, p.value, occAt.get(p.tsMs) ?? NaN);
            this.acceptRouterState(routerStateFromStored(id, latest, this.o.experiment.routerById(id)));
          }),
        );
        await new Promise((r) => setImmediate(r));
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not read the latest router states from the embedded storage');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.closeStreams();
    await this.mlSub?.close();
    await this.dlqSub?.close();
  }

  ready(): true | string {
    return !this.o.fabric || this.mlSub ? true : 'ui hub not consuming yet';
  }
}
