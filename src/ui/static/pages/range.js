// The time range picker shared by the detail views: the last 5 min … 7 days (live: new points
// are appended and the window slides), or a fixed from/to (no live updates). The choice is in
// the URL (…?range=1h, or ?from=…&to=…), so a view can be shared or reloaded.

import { h } from '../dom.js';

export const RANGES = /** @type {const} */ ([
  ['5m', 300, 'last 5 min'],
  ['15m', 900, 'last 15 min'],
  ['1h', 3600, 'last hour'],
  ['6h', 21600, 'last 6 h'],
  ['24h', 86400, 'last 24 h'],
  ['7d', 604800, 'last 7 days'],
]);

/**
 * @typedef {{key: string, seconds: number, from: string, to: string, live: boolean, label: string}} Range
 */

/**
 * @param {URLSearchParams} q
 * @param {string} [fallback]
 * @returns {Range}
 */
export function rangeOf(q, fallback = '15m') {
  const from = q.get('from');
  const to = q.get('to');
  if (from && to && Number.isFinite(Date.parse(from)) && Number.isFinite(Date.parse(to)) && Date.parse(to) > Date.parse(from)) {
    const seconds = (Date.parse(to) - Date.parse(from)) / 1000;
    return { key: 'custom', seconds, from: new Date(from).toISOString(), to: new Date(to).toISOString(), live: false, label: `${new Date(from).toLocaleString()} – ${new Date(to).toLocaleString()}` };
  }
  const key = q.get('range') ?? fallback;
  const r = RANGES.find(([k]) => k === key) ?? RANGES.find(([k]) => k === fallback) ?? RANGES[1];
  return { key: r[0], seconds: r[1], from: `-${r[0] === '24h' ? '1d' : r[0]}`, to: 'now', live: true, label: r[2] };
}

/** @param {Date} d */
const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);

/**
 * @param {Range} range
 * @param {(query: string) => void} onChange receives the new query string
 */
export function rangePicker(range, onChange) {
  const now = new Date();
  const fromIn = /** @type {HTMLInputElement} */ (h('input', { type: 'datetime-local', 'aria-label': 'From', value: local(range.live ? new Date(now.getTime() - range.seconds * 1000) : new Date(range.from)) }));
  const toIn = /** @type {HTMLInputElement} */ (h('input', { type: 'datetime-local', 'aria-label': 'To', value: local(range.live ? now : new Date(range.to)) }));
  const apply = h('button', { type: 'button', class: 'ghost' }, 'Show');
  apply.addEventListener('click', () => {
    const f = new Date(fromIn.value);
    const t = new Date(toIn.value);
    if (Number.isFinite(f.getTime()) && Number.isFinite(t.getTime()) && t > f) onChange(new URLSearchParams({ from: f.toISOString(), to: t.toISOString() }).toString());
  });
  return h(
    'div',
    { class: 'toolbar range', role: 'group', 'aria-label': 'Time range' },
    RANGES.map(([key, , label]) =>
      h('button', { type: 'button', class: 'seg', 'aria-pressed': range.key === key ? 'true' : 'false', title: label, onclick: () => onChange(`range=${key}`) }, key),
    ),
    h('span', { class: 'sep' }),
    h('label', { class: 'small' }, 'from ', fromIn),
    h('label', { class: 'small' }, 'to ', toIn),
    apply,
    h('span', { class: `live-tag ${range.live ? 'on' : ''}` }, range.live ? 'live' : 'fixed range'),
  );
}
