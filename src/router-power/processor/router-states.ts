/**
 * The processor's state per router: the counter snapshot of its last TD message, and what it was
 * before each message whose outputs are not acknowledged yet. A batch whose outputs fail is
 * delivered again from its first message (at-least-once); a redelivered message is recognised by
 * its offset (not after one already handled) and the router's state goes back to what it was
 * before that message, so it pairs with its predecessor again instead of with itself.
 * docs/delivery.md § "Processor state and redelivery".
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
function indexOf(list: Unsettled[], at: Position, exact: boolean): number {
  const offset = offsetOf(at);
  if (offset === undefined) return -1;
  for (let i = 0; i < list.length; i++) {
    const u = list[i]!;
    if (u.partition === at.partition && u.topic === at.topic && (exact ? u.offset === offset : u.offset >= offset)) return i;
  }
  return -1;
}

interface RouterState {
  current: CounterSnapshot | undefined;
  /** Handled messages whose outputs are not acknowledged yet, oldest first. */
  unsettled: Unsettled[];
  /** A snapshot nothing refers to any more: the next message is written into it (no allocation). */
  spare: CounterSnapshot | undefined;
}

export class RouterStates {
  private readonly routers = new Map<string, RouterState>();

  get size(): number {
    return this.routers.size;
  }

  /** Messages handled and not yet settled, over all routers (what bounds the extra memory). */
  get unsettledMessages(): number {
    let n = 0;
    for (const state of this.routers.values()) n += state.unsettled.length;
    return n;
  }

  /**
   * The snapshot a message read at `at` pairs with. A message at or before one of the router's
   * unsettled messages is a redelivery: the state goes back to before the earliest of those.
   */
  previous(routerId: string, at: Position): CounterSnapshot | undefined {
    const state = this.routers.get(routerId);
    if (!state) return undefined;
    const i = indexOf(state.unsettled, at, false);
    if (i >= 0) {
      state.current = state.unsettled[i]!.before;
      state.unsettled.length = i;
    }
    return state.current;
  }

  /** The router's state after the message read at `at` (paired with `previous`), remembered until it settles. */
  advance(routerId: string, td: TdMessage, at: Position): void {
    let state = this.routers.get(routerId);
    if (!state) this.routers.set(routerId, (state = { current: undefined, unsettled: [], spare: undefined }));
    const offset = offsetOf(at);
    const before = state.current;
    // overwritten in place when a spare of the same counters is at hand
    state.current = snapshotOf(td, state.spare);
    state.spare = undefined;
    // a message without an offset (none to be delivered again from) is settled at once
    if (offset !== undefined) state.unsettled.push({ topic: at.topic, partition: at.partition, offset, before });
  }

  /**
   * The outputs of the message read at `at` are acknowledged: its "before" is no longer needed.
   * (A failed one stays: its redelivery rolls the state back to it.)
   */
  settled(routerId: string, at: Position): void {
    const state = this.routers.get(routerId);
    if (!state) return;
    const i = indexOf(state.unsettled, at, true);
    if (i < 0) return;
    const list = state.unsettled;
    state.spare ??= list[i]!.before;
    // (no splice: it would allocate an array per message)
    for (let j = i; j < list.length - 1; j++) list[j] = list[j + 1]!;
    list.length--;
  }

  /** The router's state as restored from the state topic (nothing of it unsettled). */
  restore(routerId: string, snapshot: CounterSnapshot): void {
    this.routers.set(routerId, { current: snapshot, unsettled: [], spare: undefined });
  }

  delete(routerId: string): void {
    this.routers.delete(routerId);
  }
}
