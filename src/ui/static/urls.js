// The URLs of each view's first requests, in one place: the views use them, and the shell
// starts them together with /api/ui/info, before the view's code runs (a first visit then waits
// for one round trip instead of two).

import { rangeOf } from './pages/range.js';

/** @typedef {{sort: string, order: string, offset: number, limit: number, q: string}} FleetState */

/**
 * The fleet's state from the URL.
 * @param {URLSearchParams} q
 * @returns {FleetState}
 */
export function fleetState(q) {
  return {
    sort: q.get('sort') ?? 'id',
    order: q.get('order') ?? '',
    offset: Math.max(0, Number(q.get('offset') ?? 0) || 0),
    limit: [25, 50, 100, 200].includes(Number(q.get('limit'))) ? Number(q.get('limit')) : 50,
    q: q.get('q') ?? '',
  };
}

/** @param {FleetState} st */
export function fleetUrl(st) {
  const p = new URLSearchParams({ sort: st.sort, offset: String(st.offset), limit: String(st.limit), points: '40' });
  if (st.order) p.set('order', st.order);
  if (st.q) p.set('q', st.q);
  return `/api/ui/fleet?${p}`;
}

export const SERIES_METRICS = /** @type {const} */ (['power', 'occupation', 'packet_length', 'packet_rate', 'byte_rate_mbps']);

/** About one point per two pixels of a chart (on a coarse grid: the same before and after a scroll bar appears). @param {HTMLElement} main */
export const seriesPoints = (main) => Math.max(100, Math.min(1500, Math.round((main.clientWidth || 1200) / 200) * 100));

/**
 * @param {string} id
 * @param {string} metric
 * @param {import('./pages/range.js').Range} range
 * @param {number} points
 */
export const seriesUrl = (id, metric, range, points) =>
  `/api/routers/${encodeURIComponent(id)}/series?metric=${metric}&from=${encodeURIComponent(range.from)}&to=${encodeURIComponent(range.to)}&points=${points}`;

/**
 * @param {string} id
 * @param {import('./pages/range.js').Range} range
 */
export const scoresUrl = (id, range) => `/api/ui/vehicles/${encodeURIComponent(id)}/scores?from=${encodeURIComponent(range.from)}&to=${encodeURIComponent(range.to)}&points=800`;

/**
 * The first requests of a view.
 * @param {string} name
 * @param {string[]} params
 * @param {URLSearchParams} query
 * @param {HTMLElement} main
 * @param {{vehicles: boolean, registry: boolean} | undefined} features what the server serves, when known
 *   (the vehicle and registry views ask only a server that has them: no 404 in the console)
 * @returns {string[]}
 */
export function firstRequests(name, params, query, main, features) {
  const id = params[0];
  switch (name) {
    case 'routers':
      if (!id) return [fleetUrl(fleetState(query))];
      return SERIES_METRICS.map((m) => seriesUrl(id, m, rangeOf(query), seriesPoints(main)));
    case 'vehicles':
      if (!features?.vehicles) return [];
      if (!id) return ['/api/vehicles'];
      return ['/api/vehicle-signals', `/api/vehicles/${encodeURIComponent(id)}/latest`, scoresUrl(id, rangeOf(query, '1h'))];
    case 'models':
      return features?.registry ? ['/api/registry/models', '/api/registry/status', '/api/registry/deployments'] : [];
    case 'energy':
      return ['/api/ui/energy'];
    case 'health':
      return id ? [] : ['/api/ui/health', '/api/ui/dead-letters?limit=10'];
    default:
      return [];
  }
}
