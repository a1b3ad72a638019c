/**
 * Redis adapter of the vehicle store (ioredis 5). Appends run as one Lua script per request
 * (atomic: when it returns, the measurements are in Redis); vectors go out in one pipeline
 * (SET latest, XADD to the capped stream, PUBLISH per vector). Commands are never queued while
 * disconnected (enableOfflineQueue off): an unreachable Redis makes calls fail at once, and
 * `available()` says so, so the API answers 503 instead of buffering or going elsewhere.
 * Key layout: redis-keys.ts.
 */
import { hostname } from 'node:os';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../core/logger.js';
import type { AlignedVector } from '../align/vector.js';
import type { VehiclePrediction } from '../predictor/prediction.js';
import { parseRawMember, rawMember, RedisKeys } from './redis-keys.js';
import { APPEND_LUA, PUBLISH_VECTORS_LUA, SET_IF_NEWER_LUA } from './redis-scripts.js';
import { parseVector } from '../align/vector-check.js';
import { deadLetteredTotal } from '../metrics.js';
import { byTickThenVehicle, journalField, type AppendStatus, type DeadLetter, type RawMeasurement, type SeriesPoint, type StoreLimits, type VehicleStore } from './store.js';

export interface RedisStoreOptions extends StoreLimits {
  url: string;
  password?: string;
  keyPrefix: string;
  channel: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  logger: Logger;
}

type ScriptClient = Redis & {
  wfAppend(...args: Array<string | number>): Promise<number[]>;
  wfSetIfNewer(numKeys: number, key: string, doc: string, ts: number): Promise<number>;
  wfPublishVectors(...args: Array<string | number>): Promise<number>;
};

const STATUS: AppendStatus[] = ['stored', 'duplicate', 'conflict', 'expired'];

/** The URL without credentials (for logs and error messages). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}

export class RedisVehicleStore implements VehicleStore {
  readonly kind = 'redis' as const;
  readonly location: string;
  readonly keys: RedisKeys;
  private readonly client: ScriptClient;
  private lastError: string | undefined;
  private closed = false;

  constructor(private readonly o: RedisStoreOptions) {
    this.location = redactUrl(o.url);
    this.keys = new RedisKeys(o.keyPrefix);
    this.client = new Redis(o.url, this.clientOptions()) as ScriptClient;
    this.client.defineCommand('wfAppend', { lua: APPEND_LUA });
    this.client.defineCommand('wfSetIfNewer', { lua: SET_IF_NEWER_LUA });
    this.client.defineCommand('wfPublishVectors', { lua: PUBLISH_VECTORS_LUA });
    this.client.on('error', (err: Error) => {
      if (this.lastError !== err.message) o.logger.warn({ err: err.message, redis: this.location }, 'redis connection error');
      this.lastError = err.message;
    });
    this.client.on('ready', () => {
      if (this.lastError) o.logger.info({ redis: this.location }, 'redis connection restored');
      this.lastError = undefined;
    });
  }

  private clientOptions(): RedisOptions {
    return {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: this.o.connectTimeoutMs,
      commandTimeout: this.o.commandTimeoutMs,
      ...(this.o.password !== undefined ? { password: this.o.password } : {}),
      retryStrategy: (times: number) => (this.closed ? null : Math.min(100 * times, 2000)),
      connectionName: `wattflow-vehicle-${hostname()}`,
    };
  }

  available(): true | string {
    if (this.client.status === 'ready') return true;
    return `node-local Redis at ${this.location} is not available (${this.client.status}${this.lastError ? `: ${this.lastError}` : ''})`;
  }

  /** Connects (waits up to the connect timeout; keeps retrying in the background when Redis is not there). */
  async start(): Promise<void> {
    try {
      await this.client.connect();
    } catch (err) {
      this.lastError = (err as Error).message;
      this.o.logger.warn({ redis: this.location, err: this.lastError }, 'redis not reachable at start; retrying in the background');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  /** The URL it connects to, credentials included (the pull-mode predictor's fabric connects there too). */
  get connectionUrl(): string {
    return this.o.url;
  }

  /** The raw client (tests, benchmarks). */
  get redis(): Redis {
    return this.client;
  }

  async appendMeasurements(vehicleId: string, items: readonly RawMeasurement[]): Promise<AppendStatus[]> {
    if (items.length === 0) return [];
    // group by signal (the script takes the members per series); remember where each came from
    const groups = new Map<string, { lo: number; hi: number; members: string[]; at: number[] }>();
    items.forEach((m, i) => {
      let g = groups.get(m.signal);
      if (!g) groups.set(m.signal, (g = { lo: m.tsMs, hi: m.tsMs, members: [], at: [] }));
      else {
        if (m.tsMs < g.lo) g.lo = m.tsMs;
        if (m.tsMs > g.hi) g.hi = m.tsMs;
      }
      g.members.push(rawMember(m.tsMs, m.value, m.flagged));
      g.at.push(i);
    });
    const args: Array<string | number> = [];
    for (const signal of groups.keys()) args.push(this.keys.raw(vehicleId, signal));
    args.push(this.keys.signals(vehicleId), this.keys.vehicles());
    args.unshift(args.length);
    args.push(vehicleId, Math.round(this.o.retentionMs), this.o.maxPerSeries, groups.size, ...groups.keys());
    for (const g of groups.values()) args.push(g.lo, g.hi, g.members.length);
    for (const g of groups.values()) for (const m of g.members) args.push(m);
    const codes = await this.client.wfAppend(...args);
    const out = new Array<AppendStatus>(items.length);
    let k = 0;
    for (const g of groups.values()) for (const i of g.at) out[i] = STATUS[codes[k++]!]!;
    return out;
  }

  async publishVectors(vectors: readonly AlignedVector[], opts: { journal?: boolean } = {}): Promise<void> {
    if (vectors.length === 0) return;
    const latest = new Map<string, number>();
    const docs: string[] = [];
    vectors.forEach((v, i) => {
      docs.push(JSON.stringify(v));
      latest.set(v.vehicleId, i + 1);
    });
    const fields = opts.journal ? vectors.map(journalField) : [];
    const keys = [this.keys.vectors(), this.keys.forwardJournal(), ...[...latest.keys()].map((id) => this.keys.latest(id))];
    await this.client.wfPublishVectors(keys.length, ...keys, this.o.channel, this.o.vectorStreamMaxLen, fields.length, ...latest.values(), ...docs, ...fields);
  }

  async journaledVectors(limit: number): Promise<AlignedVector[]> {
    const out: AlignedVector[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await this.client.hscan(this.keys.forwardJournal(), cursor, 'COUNT', 1000);
      cursor = next;
      const invalid: Array<{ doc: string; reason: string }> = [];
      const invalidFields: string[] = [];
      for (let i = 1; i < flat.length; i += 2) {
        const parsed = parseVector(flat[i]!);
        if ('vector' in parsed) out.push(parsed.vector);
        else {
          invalid.push({ doc: flat[i]!, reason: `invalid vector in the forward journal (field ${flat[i - 1]}): ${parsed.error}` });
          invalidFields.push(flat[i - 1]!);
        }
      }
      if (invalid.length > 0) {
        await this.deadLetter(invalid, invalidFields);
        deadLetteredTotal.inc({ source: 'journal' }, invalid.length);
        this.o.logger.warn({ entries: invalid.length, first: invalid[0]!.reason }, 'invalid entries in the forward journal: dead-lettered');
      }
    } while (cursor !== '0');
    return out.sort(byTickThenVehicle).slice(0, limit);
  }

  async ackJournaled(vectors: readonly AlignedVector[]): Promise<void> {
    if (vectors.length === 0) return;
    await this.client.hdel(this.keys.forwardJournal(), ...vectors.map(journalField));
  }

  async deadLetterVectors(vectors: readonly AlignedVector[], reason: string): Promise<void> {
    if (vectors.length === 0) return;
    await this.deadLetter(
      vectors.map((v) => ({ doc: JSON.stringify(v), reason })),
      vectors.map(journalField),
    );
  }

  /** XADDs entries to the dead-letter stream (and removes journal fields) in one transaction. */
  private async deadLetter(items: ReadonlyArray<{ doc: string; reason: string }>, journalFields: readonly string[] = []): Promise<void> {
    const m = this.client.multi();
    for (const { doc, reason } of items) m.xadd(this.keys.deadVectors(), 'MAXLEN', '~', this.o.vectorStreamMaxLen, '*', 'v', doc, 'reason', reason);
    if (journalFields.length > 0) m.hdel(this.keys.forwardJournal(), ...journalFields);
    const res = await m.exec();
    const failed = res?.find(([err]) => err);
    if (failed) throw failed[0]!;
  }

  async deadLetters(limit: number): Promise<DeadLetter[]> {
    const entries = await this.client.xrevrange(this.keys.deadVectors(), '+', '-', 'COUNT', limit);
    return entries.map(([id, fields]) => {
      const get = (k: string) => fields[fields.indexOf(k) + 1] ?? '';
      const parsed = parseVector(get('v'));
      const atMs = Number(id.split('-')[0]);
      return 'vector' in parsed ? { vector: parsed.vector, reason: get('reason'), atMs } : { vector: null, raw: get('v'), reason: get('reason'), atMs };
    });
  }

  async getLatestVector(vehicleId: string): Promise<AlignedVector | undefined> {
    const json = await this.client.get(this.keys.latest(vehicleId));
    return json ? (JSON.parse(json) as AlignedVector) : undefined;
  }

  async setLatestPredictions(predictions: readonly VehiclePrediction[]): Promise<void> {
    const newest = new Map<string, VehiclePrediction>();
    for (const p of predictions) {
      const cur = newest.get(p.vehicleId);
      if (!cur || p.ts >= cur.ts) newest.set(p.vehicleId, p);
    }
    if (newest.size === 0) return;
    const p = this.client.pipeline() as unknown as { wfSetIfNewer(n: number, k: string, d: string, ts: number): void; exec(): Promise<Array<[Error | null, unknown]> | null> };
    for (const pred of newest.values()) p.wfSetIfNewer(1, this.keys.prediction(pred.vehicleId), JSON.stringify(pred), pred.ts);
    const res = await p.exec();
    const failed = res?.find(([err]) => err);
    if (failed) throw failed[0]!;
  }

  async getLatestPrediction(vehicleId: string): Promise<VehiclePrediction | undefined> {
    const json = await this.client.get(this.keys.prediction(vehicleId));
    return json ? (JSON.parse(json) as VehiclePrediction) : undefined;
  }

  async listVehicles(): Promise<string[]> {
    return (await this.client.smembers(this.keys.vehicles())).sort();
  }

  async listSignals(vehicleId: string): Promise<string[]> {
    return (await this.client.smembers(this.keys.signals(vehicleId))).sort();
  }

  async latestMeasurements(vehicleId: string): Promise<Record<string, SeriesPoint>> {
    const signals = await this.listSignals(vehicleId);
    if (signals.length === 0) return {};
    const p = this.client.pipeline();
    for (const s of signals) p.zrange(this.keys.raw(vehicleId, s), -1, -1);
    const res = (await p.exec()) ?? [];
    const out: Record<string, SeriesPoint> = {};
    signals.forEach((s, i) => {
      const [err, members] = res[i] ?? [null, []];
      if (err) throw err;
      const m = (members as string[])[0];
      if (m !== undefined) out[s] = toPoint(m);
    });
    return out;
  }

  async series(vehicleId: string, signal: string, fromMs: number, toMs: number, limit: number): Promise<SeriesPoint[]> {
    const members = await this.client.zrevrangebyscore(this.keys.raw(vehicleId, signal), scoreArg(toMs), scoreArg(fromMs), 'LIMIT', 0, limit);
    return members.reverse().map(toPoint);
  }
}

function scoreArg(ms: number): string {
  if (ms === Infinity) return '+inf';
  if (ms === -Infinity) return '-inf';
  return String(ms);
}

function toPoint(member: string): SeriesPoint {
  const p = parseRawMember(member);
  return p.flagged ? { ts: p.ts, value: p.value, flagged: true } : { ts: p.ts, value: p.value };
}
