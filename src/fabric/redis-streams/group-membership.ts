/**
 * Who reads which stream of a consumer group: members announce themselves in a sorted set
 * (score = expiry, renewed by a heartbeat); the group's streams, sorted, are dealt round-robin
 * to the live members, sorted; a member reads a stream only while it holds that stream's lease
 * (SET NX PX, renewed with the heartbeat, released after its last batch of the stream). The
 * lease is what keeps a stream's entries in order when it changes hands: the next member
 * starts only once the previous one released it, or its lease lapsed (it died). Redis has no
 * group coordinator for streams, hence this small hand-written one.
 */
import type { Redis } from 'ioredis';

const RENEW_LUA = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
const RELEASE_LUA = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

export class GroupMembership {
  private readonly membersKey: string;

  constructor(
    private readonly redis: Redis,
    private readonly metaPrefix: string,
    private readonly group: string,
    readonly member: string,
    private readonly leaseMs: number,
  ) {
    this.membersKey = `${metaPrefix}group:${group}:members`;
  }

  private leaseKey(stream: string): string {
    return `${this.metaPrefix}group:${this.group}:lease:${stream}`;
  }

  /** Renews this member's presence and drops members whose presence lapsed; returns the live members, sorted. */
  async heartbeat(): Promise<string[]> {
    const now = Date.now();
    const res = await this.redis
      .multi()
      .zadd(this.membersKey, now + this.leaseMs, this.member)
      .zremrangebyscore(this.membersKey, '-inf', now)
      .pexpire(this.membersKey, this.leaseMs * 10)
      .zrange(this.membersKey, 0, -1)
      .exec();
    const failed = res?.find(([err]) => err);
    if (failed) throw failed[0]!;
    return [...((res?.[3]?.[1] as string[] | undefined) ?? [])].sort();
  }

  /** The streams dealt to this member among `members`. */
  assigned(streams: readonly string[], members: readonly string[]): string[] {
    const sorted = [...new Set(streams)].sort();
    if (members.length === 0) return sorted;
    return sorted.filter((_, i) => members[i % members.length] === this.member);
  }

  async acquire(stream: string): Promise<boolean> {
    return (await this.redis.set(this.leaseKey(stream), this.member, 'PX', this.leaseMs, 'NX')) === 'OK';
  }

  /** Renews the leases; returns the streams whose lease this member no longer holds. */
  async renew(streams: Iterable<string>): Promise<string[]> {
    const list = [...streams];
    if (list.length === 0) return [];
    const p = this.redis.pipeline();
    for (const s of list) p.eval(RENEW_LUA, 1, this.leaseKey(s), this.member, this.leaseMs);
    const res = (await p.exec()) ?? [];
    return list.filter((_, i) => res[i]?.[0] || Number(res[i]?.[1]) !== 1);
  }

  async release(stream: string): Promise<void> {
    await this.redis.eval(RELEASE_LUA, 1, this.leaseKey(stream), this.member);
  }

  async leave(): Promise<void> {
    await this.redis.zrem(this.membersKey, this.member);
  }
}
