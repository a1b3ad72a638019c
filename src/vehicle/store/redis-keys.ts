/**
 * Redis key layout of the vehicle store (documented in docs/vehicle.md). Every per-vehicle key
 * carries the vehicle id in a hash tag `{…}` so one vehicle's keys share a cluster slot.
 *
 *   <p>vehicles                       SET     vehicle ids
 *   <p>v:{<id>}:signals               SET     signal ids the vehicle has sent
 *   <p>v:{<id>}:raw:<signal>          ZSET    raw measurements: score = epoch ms, member = "<ms>|<value>[|f]" (f = out of range)
 *   <p>v:{<id>}:latest                STRING  latest aligned vector (JSON)
 *   <p>v:{<id>}:prediction            STRING  latest prediction (JSON)
 *   <p>vectors                        STREAM  aligned vectors (field "v": JSON), capped, read by polling predictors
 *   <p>forward:journal                HASH    push mode: "<id>|<tick ms>" → vector (JSON) until the predictor has it
 *   <p>vectors:dead                   STREAM  vectors the predictor refused: fields "v" (JSON), "reason"; capped
 *   channel (default idneo_v2x)       PUBSUB  one message per new vector (JSON)
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  vehicles(): string {
    return `${this.prefix}vehicles`;
  }

  signals(id: string): string {
    return `${this.prefix}v:{${id}}:signals`;
  }

  raw(id: string, signal: string): string {
    return `${this.prefix}v:{${id}}:raw:${signal}`;
  }

  latest(id: string): string {
    return `${this.prefix}v:{${id}}:latest`;
  }

  prediction(id: string): string {
    return `${this.prefix}v:{${id}}:prediction`;
  }

  vectors(): string {
    return `${this.prefix}vectors`;
  }

  forwardJournal(): string {
    return `${this.prefix}forward:journal`;
  }

  deadVectors(): string {
    return `${this.prefix}vectors:dead`;
  }
}

/** The sorted-set member of a raw measurement (unique per time stamp and value). */
export function rawMember(tsMs: number, value: number, flagged: boolean): string {
  return flagged ? `${tsMs}|${value}|f` : `${tsMs}|${value}`;
}

export function parseRawMember(member: string): { ts: number; value: number; flagged: boolean } {
  const a = member.indexOf('|');
  const b = member.indexOf('|', a + 1);
  return {
    ts: Number(member.slice(0, a)),
    value: Number(b < 0 ? member.slice(a + 1) : member.slice(a + 1, b)),
    flagged: b >= 0,
  };
}
