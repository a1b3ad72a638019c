/** The fleet view's data: every router sorted, filtered, paged, with power sparklines and totals. */
import { sparkline } from '../api/downsample.js';
import type { Experiment } from '../router-power/experiment.js';
import type { RouterState } from './projections.js';
import type { RecentRing } from './recent-ring.js';

const ID_ORDER = new Intl.Collator(undefined, { numeric: true });

export const FLEET_SORTS = ['id', 'power', 'occupation', 'packet_length', 'packet_rate', 'byte_rate_mbps', 'model', 'age'] as const;
export type FleetSort = (typeof FLEET_SORTS)[number];

export const FLEET_QUERY = {
  type: 'object',
  properties: {
    sort: { enum: [...FLEET_SORTS] },
    order: { enum: ['asc', 'desc'] },
    offset: { type: 'integer', minimum: 0, maximum: 10_000_000 },
    limit: { type: 'integer', minimum: 1, maximum: 500 },
    q: { type: 'string', maxLength: 200 },
    points: { type: 'integer', minimum: 2, maximum: 500 },
  },
} as const;
export interface FleetQuery {
  sort?: FleetSort;
  order?: 'asc' | 'desc';
  offset?: number;
  limit?: number;
  q?: string;
  points?: number;
}

function fleetValue(s: RouterState | null, key: FleetSort, now: number): number | string | null {
  if (key === 'id') return null; // handled by the id tiebreak
  if (!s) return null;
  if (key === 'model') return s.model;
  if (key === 'age') return now - s.t;
  return s[key];
}

/** One page of the fleet (`GET /api/ui/fleet`). */
export function fleetPage(all: Array<{ id: string; state: RouterState | null; ring: RecentRing }>, exp: Experiment, q: FleetQuery, now: number) {
  const sort: FleetSort = q.sort ?? 'id';
  const order = q.order ?? (sort === 'id' || sort === 'model' ? 'asc' : 'desc');
  const offset = Number(q.offset ?? 0);
  const limit = Number(q.limit ?? 50);
  const points = Number(q.points ?? 40);
  const needle = (q.q ?? '').trim().toLowerCase();
  let powerSum = 0;
  let occSum = 0;
  let live = 0;
  for (const r of all) {
    if (r.state?.power != null) {
      powerSum += r.state.power;
      occSum += r.state.occupation ?? 0;
      live++;
    }
  }
  const configs = new Map(exp.routers.map((r) => [r.id, r]));
  const matched = needle
    ? all.filter((r) => r.id.toLowerCase().includes(needle) || (r.state?.model ?? '').toLowerCase().includes(needle) || (configs.get(r.id)?.routerType ?? '').toLowerCase().includes(needle))
    : all;
  const dir = order === 'asc' ? 1 : -1;
  const byId = ID_ORDER.compare;
  const sorted = [...matched].sort((x, y) => {
    const a = fleetValue(x.state, sort, now);
    const b = fleetValue(y.state, sort, now);
    if (a === b) return byId(x.id, y.id) * (sort === 'id' ? dir : 1);
    if (a === null) return 1; // no data yet: last either way
    if (b === null) return -1;
    return (typeof a === 'string' ? ID_ORDER.compare(a, String(b)) : a - (b as number)) * dir;
  });
  const page = sorted.slice(offset, offset + limit).map((r) => {
    const c = configs.get(r.id);
    const s = r.state;
    return {
      id: r.id,
      router_type: c?.routerType ?? s?.router_type ?? '',
      source: c?.source ?? '',
      model: s?.model ?? null,
      t: s?.t ?? null,
      age_s: s ? Math.round((now - s.t) / 1000) : null,
      power: s?.power ?? null,
      occupation: s?.occupation ?? null,
      packet_length: s?.packet_length ?? null,
      packet_rate: s?.packet_rate ?? null,
      byte_rate_mbps: s?.byte_rate_mbps ?? null,
      spark: sparkline(r.ring.values('power'), points),
    };
  });
  return {
    experiment_id: exp.experimentId,
    polling_interval: exp.pollingInterval,
    total: all.length,
    matched: matched.length,
    offset,
    limit,
    sort,
    order,
    stats: { live, waiting: all.length - live, power_w: Math.round(powerSum * 10) / 10, mean_occupation: live ? Math.round((occSum / live) * 100) / 100 : null },
    routers: page,
  };
}
