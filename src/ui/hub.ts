/**
 * The live hub of the web UI: what the pages see change, pushed to browsers as Server-Sent
 * Events (docs/ui.md). It is fed by the stages' outputs, never by polling the API:
 *  - the ML topics of the experiment, read as its own consumer group on the fabric (a group
 *    per process, starting at the end: every UI process sees every router), one `router`
 *    event per prediction with the router's latest state (power, occupation, packet length,
 *    rates, sensitivities, the model in use);
 *  - the vehicle predictor's scored vectors (a tap on its sink under `wattflow up`): `vehicle`;
 *  - the `<topic>.dlq` dead-letter topics (when not too many): `deadletter`;
 *  - the samplers of pipeline health and energy: `health`, `energy`.
 *
 * Every event has an id `<boot>-<seq>` (seq increasing within a process run). The hub keeps the
 * latest state event of every key (router, vehicle, health, energy) and a ring of recent
 * events. A client reconnecting with `Last-Event-ID` gets the events it missed from the ring;
 * when the ring no longer reaches back that far (or the process restarted), a `reset` event
 * and the latest state of every key it follows that changed since — never a lost latest state.
 *
 * A slow client does not hold the hub: once its socket buffer is full, its pending events are
 * coalesced to the latest per key until the socket drains.
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
import { mlRecord } from '../sinks/ml-record.js';
import { routerSeriesName } from '../sinks/ml-sinks.js';
import type { TimeSeriesStore } from '../storage/types.js';
import type { Scored } from '../vehicle/predictor/sinks.js';
import { round } from '../api/downsample.js';

const eventsTotal = counter({ name: 'wattflow_ui_events_total', help: 'Events the web UI hub emitted, by type (router, vehicle, health, energy, deadletter, …)', labelNames: ['type'] as const });
const coalescedTotal = counter({ name: 'wattflow_ui_events_coalesced_total', help: 'Events not sent to a slow event-stream client because a newer state of the same key replaced them' });
const streamsGauge = gauge({ name: 'wattflow_ui_streams', help: 'Open event streams (SSE) of the web UI' });

export const CHANNELS = ['routers', 'vehicles', 'health', 'energy', 'models', 'deadletters'] as const;
export type Channel = (typeof CHANNELS)[number];

/** What the hub knows of a router: its latest prediction, flat. */
export interface RouterState {
  id: string;
  /** Time of the prediction's counters (epoch ms). */
  t: number;
  power: number | null;
  occupation: number | null;
  packet_length: number | null;
  packet_rate: number | null;
  byte_rate_mbps: number | null;
  power_rate_occupation: number | null;
  power_rate_packet_length: number | null;
  /** The model in use as shown: `formula dummy:huawei` or `ne40@3`. */
  model: string;
  model_type: string;
  model_version: string;
  router_type: string;
}

export interface VehicleState {
  id: string;
  t: number;
  seq: number;
  score: number | null;
  label: string;
  threshold: number;
  model: string;
  flags: Array<{ rule: string; message: string }>;
  out_of_range: string[];
  missing: string[];
  filled: string[];
  values: Record<string, number | null>;
  top: Array<{ signal: string; z: number }>;
}

export interface DeadLetterSummary {
  stage: string;
  reason: string;
  topic: string;
  key: string;
  offset: string;
  received_at: string;
  /** The original message, cut at 2 KB. */
  value: string;
}

interface HubEvent {
  seq: number;
  type: string;
  key: string;
  /** The SSE frame, formatted once for every client. */
  frame: string;
}

/** Fixed-size ring of (time, power, occupation): sparklines and the first paint of charts. */
export class RecentRing {
  readonly t: Float64Array;
  readonly power: Float32Array;
  readonly occupation: Float32Array;
  private head = 0;
  size = 0;

  constructor(readonly capacity: number) {
    this.t = new Float64Array(capacity);
    this.power = new Float32Array(capacity);
    this.occupation = new Float32Array(capacity);
  }

  get lastT(): number {
    return this.size === 0 ? -Infinity : this.t[(this.head - 1 + this.capacity) % this.capacity]!;
  }

  /** Appends a point newer than the last one (a redelivered or late point is ignored). */
  push(t: number, power: number, occupation: number): boolean {
    if (t <= this.lastT) return false;
    this.t[this.head] = t;
    this.power[this.head] = power;
    this.occupation[this.head] = occupation;
    this.head = (this.head + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
    return true;
  }

  /** Oldest first. */
  values(which: 'power' | 'occupation' | 't'): number[] {
    const src = this[which];
    const out = new Array<number>(this.size);
    const start = (this.head - this.size + this.capacity) % this.capacity;
    for (let i = 0; i < this.size; i++) out[i] = src[(start + i) % this.capacity]!;
    return out;
  }
}

interface RouterEntry {
  state: RouterState | null;
  ring: RecentRing;
}

export interface StreamFilter {
  channels: ReadonlySet<Channel>;
  /** undefined = every router. */
  routers?: ReadonlySet<string>;
  vehicles?: ReadonlySet<string>;
}

const STATE_TYPES = new Set(['router', 'vehicle', 'health', 'energy', 'experiment']);
/** Notices (dead letters, model changes) held for a congested client, at most. */
const MAX_PENDING_NOTICES = 10_000;
/** Vehicles whose latest state the hub keeps, at most (the oldest reported is forgotten first). */
const MAX_VEHICLES = 10_000;

function matches(f: StreamFilter, ev: { type: string; key: string }): boolean {
  switch (ev.type) {
    case 'router':
      return f.channels.has('routers') && (!f.routers || f.routers.has(ev.key.slice(2)));
    case 'vehicle':
      return f.channels.has('vehicles') && (!f.vehicles || f.vehicles.has(ev.key.slice(2)));
    case 'health':
      return f.channels.has('health');
    case 'energy':
      return f.channels.has('energy');
    case 'models':
      return f.channels.has('models') || f.channels.has('routers');
    case 'deadletter':
      return f.channels.has('deadletters') || f.channels.has('health');
    default:
      return true; // experiment, …
  }
}

/** One browser's event stream: batched writes, coalescing while the socket is backed up, heartbeats. */
class StreamClient {
  private queue: string[] = [];
  private scheduled = false;
  private congested = false;
  private pending = new Map<string, HubEvent>();
  private readonly heartbeat: NodeJS.Timeout;
  closed = false;

  constructor(
    readonly res: ServerResponse,
    readonly filter: StreamFilter,
    private readonly onClose: (c: StreamClient) => void,
    heartbeatMs: number,
  ) {
    res.on('close', () => this.close());
    res.on('drain', () => this.drain());
    this.heartbeat = setInterval(() => this.write(`: ping ${Date.now()}\n\n`), heartbeatMs);
    this.heartbeat.unref();
  }

  send(ev: HubEvent): void {
    if (this.closed || !matches(this.filter, ev)) return;
    if (this.congested) {
      if (!STATE_TYPES.has(ev.type)) {
        // a dead letter or notice: kept in order with the states (no newer state replaces it),
        // up to a bound (a client that stays stuck loses notices, never a latest state)
        if (this.pending.size < MAX_PENDING_NOTICES) this.pending.set(`${ev.key}#${ev.seq}`, ev);
        else coalescedTotal.inc();
      } else {
        if (this.pending.has(ev.key)) coalescedTotal.inc();
        this.pending.delete(ev.key); // re-inserted last: pending stays in seq order
        this.pending.set(ev.key, ev);
      }
      return;
    }
    this.write(ev.frame);
  }

  write(chunk: string): void {
    if (this.closed) return;
    this.queue.push(chunk);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closed || this.queue.length === 0) return;
    const data = this.queue.length === 1 ? this.queue[0]! : this.queue.join('');
    this.queue = [];
    if (!this.res.write(data)) this.congested = true;
  }

  private drain(): void {
    if (this.closed) return;
    this.congested = false;
    if (this.pending.size === 0) return;
    const events = [...this.pending.values()].sort((a, b) => a.seq - b.seq);
    this.pending.clear();
    for (const ev of events) this.write(ev.frame);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.pending.clear();
    this.queue = [];
    if (!this.res.writableEnded) this.res.end();
    this.onClose(this);
  }
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

const num = (v: number | undefined): number | null => (v === undefined ? null : round(v));

/**
 * An ML message as far as the hub reads it (the sinks validate them fully and dead-letter the
 * invalid ones; the hub only needs the shape mlRecord reads, and skips anything else) — a full
 * schema validation here would double the CPU spent per prediction.
 */
function mlShaped(msg: IncomingMessage): MlMessage | undefined {
  let doc: unknown = msg.json;
  if (doc === undefined) {
    try {
      doc = JSON.parse(msg.value);
    } catch {
      return undefined;
    }
  }
  const d = doc as Partial<MlMessage> | null;
  if (!d || typeof d !== 'object' || !Array.isArray(d.input_ml_metrics) || !Array.isArray(d.output_ml_metrics)) return undefined;
  if (typeof d.epoch_timestamp !== 'string' && typeof d.epoch_timestamp !== 'number') return undefined;
  if (!d.input_ml_metrics.every((m) => m && typeof m === 'object') || !d.output_ml_metrics.every((m) => m && typeof m === 'object')) return undefined;
  return d as MlMessage;
}

/** The model as shown to a person: the formula or name@version. */
export function modelLabel(meta: { model_type?: unknown; model?: unknown; version?: unknown } | undefined, fallback: string): string {
  const model = typeof meta?.model === 'string' ? meta.model : undefined;
  if (!model) return fallback === 'dummy' ? 'formula' : fallback;
  if (meta?.model_type === 'dummy' || model.startsWith('dummy:')) return `formula ${model}`;
  return typeof meta?.version === 'string' && meta.version !== '' ? `${model}@${meta.version}` : model;
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
    const router = this.o.experiment.routerById(routerId);
    const rec = mlRecord(routerId, ml, router);
    if ('error' in rec) return;
    const meta = (ml as { ml_metadata?: { model_type?: unknown; model?: unknown; version?: unknown } }).ml_metadata;
    const f = rec.fields;
    const state: RouterState = {
      id: routerId,
      t: Math.round(rec.tsMs),
      ...measuredFields(f),
      model: modelLabel(meta, router?.modelType ?? 'dummy'),
      model_type: typeof meta?.model_type === 'string' ? meta.model_type : (router?.modelType ?? 'dummy'),
      model_version: typeof meta?.version === 'string' ? meta.version : '',
      router_type: rec.tags.router_type,
    };
    this.acceptRouterState(state);
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
    for (const { vector: v, prediction: p } of items) {
      const prev = this.vehicles.get(v.vehicleId);
      if (prev && prev.t > v.ts) continue;
      const state: VehicleState = {
        id: v.vehicleId,
        t: v.ts,
        seq: v.seq,
        score: p.score === null ? null : round(p.score),
        label: p.label,
        threshold: round(p.threshold),
        model: `${p.modelName}@${p.modelVersion}`,
        flags: v.flags.map((f) => ({ rule: f.rule, message: f.message })),
        out_of_range: v.outOfRange,
        missing: v.missing,
        filled: v.filled,
        values: Object.fromEntries(Object.entries(v.values).map(([k, x]) => [k, x === null ? null : round(x)])),
        top: p.top.slice(0, 3).map((t) => ({ signal: t.signal, z: round(t.z) })),
      };
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
    let doc: Partial<DeadLetterSummary> & { value?: unknown } = {};
    try {
      doc = (msg.json ?? JSON.parse(msg.value)) as typeof doc;
    } catch {
      doc = { reason: 'the dead letter itself is not JSON', value: msg.value };
    }
    const text = (v: unknown) => (typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v));
    const d: DeadLetterSummary = {
      stage: text(doc.stage) || 'unknown',
      reason: text(doc.reason),
      topic: text(doc.topic) || msg.topic.replace(/\.dlq$/, ''),
      key: text(doc.key) || msg.key,
      offset: text(doc.offset),
      received_at: text(doc.received_at) || new Date(msg.timestamp).toISOString(),
      value: text(doc.value).slice(0, 2048),
    };
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
    return stageTopics(this.o.experiment.current, 'predictions');
  }

  private deadLetterTopics(): string[] {
    const exp = this.o.experiment.current;
    const inputs = [...stageTopics(exp, 'collected'), ...stageTopics(exp, 'processed'), ...stageTopics(exp, 'predictions')];
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
            let meta: { model_type?: unknown; model?: unknown; version?: unknown } | undefined;
            try {
              meta = latest.doc ? (JSON.parse(latest.doc) as { ml_metadata?: typeof meta }).ml_metadata : undefined;
            } catch {
              meta = undefined;
            }
            const f = latest.fields;
            const router = this.o.experiment.routerById(id);
            this.acceptRouterState({
              id,
              t: latest.tsMs,
              ...measuredFields(f),
              model: modelLabel(meta, latest.tags.model ?? router?.modelType ?? 'dummy'),
              model_type: typeof meta?.model_type === 'string' ? meta.model_type : (router?.modelType ?? 'dummy'),
              model_version: typeof meta?.version === 'string' ? meta.version : '',
              router_type: latest.tags.router_type ?? router?.routerType ?? '',
            });
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

/** A router's measured fields (from the stored record), each a number or null. */
function measuredFields(f: Record<string, number | undefined>) {
  return {
    power: num(f.power),
    occupation: num(f.occupation),
    packet_length: num(f.packet_length),
    packet_rate: num(f.packet_rate),
    byte_rate_mbps: num(f.byte_rate_mbps),
    power_rate_occupation: num(f.power_rate_occupation),
    power_rate_packet_length: num(f.power_rate_packet_length),
  };
}
