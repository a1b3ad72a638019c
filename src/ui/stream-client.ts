/**
 * One browser's event stream (SSE): which events it follows, batched writes, heartbeats, and
 * coalescing to the latest state per key while its socket is backed up (a slow client never
 * holds the hub).
 */
import type { ServerResponse } from 'node:http';
import { counter } from '../core/metrics.js';

const coalescedTotal = counter({ name: 'wattflow_ui_events_coalesced_total', help: 'Events not sent to a slow event-stream client because a newer state of the same key replaced them' });

export const CHANNELS = ['routers', 'vehicles', 'health', 'energy', 'models', 'deadletters'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface HubEvent {
  seq: number;
  type: string;
  key: string;
  /** The SSE frame, formatted once for every client. */
  frame: string;
}

export interface StreamFilter {
  channels: ReadonlySet<Channel>;
  /** undefined = every router. */
  routers?: ReadonlySet<string>;
  vehicles?: ReadonlySet<string>;
}

export const STATE_TYPES = new Set(['router', 'vehicle', 'health', 'energy', 'experiment']);
/** Notices (dead letters, model changes) held for a congested client, at most. */
const MAX_PENDING_NOTICES = 10_000;

export function matches(f: StreamFilter, ev: { type: string; key: string }): boolean {
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
export class StreamClient {
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
