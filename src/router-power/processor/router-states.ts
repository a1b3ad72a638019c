/**
 * The processor's state per router: the counter snapshot of its last TD message, and what it was
 * before each message whose outputs are not acknowledged yet. A batch whose outputs fail is
 * delivered again from its first message (at-least-once); a redelivered message is recognised by
 * its offset (at or before an unsettled one of its router) and the router's state goes back to
 * what it was before that message, so it pairs with its predecessor again instead of with itself.
 * docs/delivery.md § "The processor's state when a batch is delivered again".
 */
import type { TdMessage } from '../messages.js';
import { snapshotOf, type CounterSnapshot } from './compute.js';

/** Where a message was read: its topic, partition and offset. */
export interface Position {
  topic: string;
  partition: number;
  offset: string;
}

/** The offset of a message that can be delivered again (an in-process hand-over has none: -1). */
function offsetOf(at: Position): number | undefined {
  const offset = at.offset === '' ? NaN : Number(at.offset);
  return Number.isSafeInteger(offset) && offset >= 0 ? offset : undefined;
}

interface Unsettled {
  topic: string;
  partition: number;
  offset: number;
  /** The router's snapshot before this message (undefined: it had none). */
  before: CounterSnapshot | undefined;
}

/** The first unsettled message at `at` (exact) or at or after it (not exact) on its partition; -1 if none. */
function indexOf(state: RouterState, at: Position, exact: boolean): number {
  const offset = offsetOf(at);
  if (offset === undefined) return -1;
  for (let i = 0; i < state.unsettledCount; i++) {
    const u = state.unsettled[i]!;
    if (u.partition === at.partition && u.topic === at.topic && (exact ? u.offset === offset : u.offset >= offset)) return i;
  }
  return -1;
}

/**
 * A router's state. Its lists are used up to a count and never shrunk: a settled entry moves past
 * the count and is written again by the next message, a spare is taken by lowering the count, so
 * the steady state allocates nothing per message (docs/performance.md: what survives a poll
 * interval is promoted).
 */
interface RouterState {
  current: CounterSnapshot | undefined;
  /** Handled messages whose outputs are not acknowledged yet, oldest first: the first `unsettledCount`. */
  unsettled: Unsettled[];
  unsettledCount: number;
  /**
   * Snapshots nothing refers to any more (the "before" of settled messages), the first
   * `spareCount`: the next messages are written into them in place. While batches are pipelined
   * a router has up to one unsettled message per batch in flight, so a few are needed.
   */
  spares: Array<CounterSnapshot | undefined>;
  spareCount: number;
}

const MAX_SPARES = 4;

/** An unfilled snapshot with the counters of `like` (sharing its slot map, which never changes). */
function emptyLike(like: CounterSnapshot): CounterSnapshot {
  const n = like.values.length;
  return { epoch_timestamp: '', slots: like.slots, values: new Float64Array(n), written: new Uint32Array(n), writes: 0 };
}

const newState = (current: CounterSnapshot | undefined): RouterState => ({ current, unsettled: [], unsettledCount: 0, spares: [], spareCount: 0 });

export class RouterStates {
  private readonly routers = new Map<string, RouterState>();

  get size(): number {
    return this.routers.size;
  }

  /** Messages handled and not yet settled, over all routers (what bounds the extra memory). */
  get unsettledMessages(): number {
    let n = 0;
    for (const state of this.routers.values()) n += state.unsettledCount;
    return n;
  }

  /** Snapshots held over all routers: current, spares and the "before" of unsettled messages (the memory they take). */
  get snapshots(): number {
    let n = 0;
    for (const state of this.routers.values()) {
      if (state.current) n++;
      for (let i = 0; i < state.spares.length; i++) if (state.spares[i]) n++;
      for (const u of state.unsettled) if (u.before) n++;
    }
    return n;
  }

  /**
   * The snapshot a message read at `at` pairs with. A message at or before one of the router's
   * unsettled messages is a redelivery: the state goes back to before the earliest of those.
   */
  previous(routerId: string, at: Position): CounterSnapshot | undefined {
    const state = this.routers.get(routerId);
    if (!state) return undefined;
    const i = indexOf(state, at, false);
    if (i >= 0) {
      state.current = state.unsettled[i]!.before;
      for (let j = i; j < state.unsettledCount; j++) state.unsettled[j]!.before = undefined;
      state.unsettledCount = i;
    }
    return state.current;
  }

  /** The router's state after the message read at `at` (paired with `previous`), remembered until it settles. */
  advance(routerId: string, td: TdMessage, at: Position): void {
    let state = this.routers.get(routerId);
    if (!state) this.routers.set(routerId, (state = newState(undefined)));
    const offset = offsetOf(at);
    const before = state.current;
    // written in place into a spare, or else into a new one shaped like the previous snapshot
    // (no slot map to build); snapshotOf builds a new one only when the counters changed
    let target: CounterSnapshot | undefined;
    if (state.spareCount > 0) {
      target = state.spares[--state.spareCount];
      state.spares[state.spareCount] = undefined;
    } else if (before) target = emptyLike(before);
    state.current = snapshotOf(td, target);
    // a message without an offset (none to be delivered again from) is settled at once
    if (offset === undefined) return;
    const entry = state.unsettled[state.unsettledCount];
    if (entry) {
      entry.topic = at.topic;
      entry.partition = at.partition;
      entry.offset = offset;
      entry.before = before;
    } else state.unsettled.push({ topic: at.topic, partition: at.partition, offset, before });
    state.unsettledCount++;
  }

  /**
   * The outputs of the message read at `at` are acknowledged: its "before" is no longer needed.
   * (A failed one stays: its redelivery rolls the state back to it.)
   */
  settled(routerId: string, at: Position): void {
    const state = this.routers.get(routerId);
    if (!state) return;
    const i = indexOf(state, at, true);
    if (i < 0) return;
    const list = state.unsettled;
    const done = list[i]!;
    if (done.before && state.spareCount < MAX_SPARES) state.spares[state.spareCount++] = done.before;
    done.before = undefined;
    // the settled entry moves past the count, to be written again
    for (let j = i; j < state.unsettledCount - 1; j++) list[j] = list[j + 1]!;
    list[--state.unsettledCount] = done;
  }

  /** The router's state as restored from the state topic (nothing of it unsettled). */
  restore(routerId: string, snapshot: CounterSnapshot): void {
    this.routers.set(routerId, newState(snapshot));
  }

  delete(routerId: string): void {
    this.routers.delete(routerId);
  }
}
