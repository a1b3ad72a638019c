// Routers: the fleet (every router, sortable and filtered on the server, paged, a power
// sparkline per router downsampled on the server; the rows on screen update live) and one
// router's live charts — power, occupation, packet length, rates — with the model in use and
// its sensitivities, over a chosen time range (history from /api/routers/{id}/series,
// downsampled on the server; live points from the event stream).

import { EventStream, getJson } from '../api.js';
import { ago, card, fmt, h, notice, replace, sparkSvg } from '../dom.js';
import { TimeChart } from '../charts.js';
import { rangePicker, rangeOf } from './range.js';
import { fleetState, fleetUrl, SERIES_METRICS, seriesPoints, seriesUrl } from '../urls.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/**
 * @typedef {{id: string, t: number, power: number | null, occupation: number | null, packet_length: number | null, packet_rate: number | null,
 *   byte_rate_mbps: number | null, power_rate_occupation: number | null, power_rate_packet_length: number | null, model: string, model_type: string,
 *   model_version: string, router_type: string}} RouterState
 * @typedef {{id: string, router_type: string, source: string, model: string | null, t: number | null, age_s: number | null, power: number | null,
 *   occupation: number | null, packet_length: number | null, packet_rate: number | null, byte_rate_mbps: number | null, spark: number[]}} FleetRow
 * @typedef {{experiment_id: string, polling_interval: number, total: number, matched: number, offset: number, limit: number, sort: string, order: string,
 *   stats: {live: number, waiting: number, power_w: number, mean_occupation: number | null}, routers: FleetRow[]}} Fleet
 */

const COLUMNS = /** @type {const} */ ([
  ['id', 'Router'],
  ['model', 'Model in use'],
  ['power', 'Power (W)'],
  ['occupation', 'Occupation (%)'],
  ['packet_length', 'Packet length (B)'],
  ['packet_rate', 'Packets/s'],
  ['byte_rate_mbps', 'Mbit/s'],
  ['age', 'Updated'],
]);

/** @param {ViewContext} ctx */
export async function routersView(ctx) {
  const st = fleetState(ctx.query);
  /** @type {EventStream | undefined} */
  let stream;
  /** @type {Map<string, {row: HTMLTableRowElement, cells: Record<string, HTMLElement>, spark: number[], sparkCell: HTMLElement}>} */
  let rows = new Map();
  let focusIndex = -1;
  let pollingInterval = ctx.info.polling_interval;

  const cards = h('div', { class: 'cards', 'aria-live': 'polite' });
  const search = /** @type {HTMLInputElement} */ (h('input', { type: 'search', placeholder: 'Filter by router, type or model  ( / )', 'aria-label': 'Filter routers', value: st.q, 'data-search': true }));
  const size = /** @type {HTMLSelectElement} */ (h('select', { 'aria-label': 'Routers per page' }, [25, 50, 100, 200].map((n) => h('option', { value: n, selected: n === st.limit }, `${n} per page`))));
  const prev = h('button', { type: 'button', class: 'ghost', 'aria-label': 'Previous page' }, '‹ Prev');
  const next = h('button', { type: 'button', class: 'ghost', 'aria-label': 'Next page' }, 'Next ›');
  const pageInfo = h('span', { class: 'muted', 'aria-live': 'polite' });
  const thead = h('thead');
  const tbody = h('tbody');
  const tableEl = h('table', { class: 'fleet', 'aria-label': 'Routers' }, thead, tbody);
  ctx.main.append(
    h('h1', {}, 'Routers'),
    cards,
    h('div', { class: 'toolbar' }, search, size, h('span', { class: 'spacer' }), pageInfo, prev, next),
    h('div', { class: 'table-wrap' }, tableEl),
    h('p', { class: 'muted small' }, 'Rows update live; the order is recomputed on the server every 30 s or when you sort. Sparkline: power over the last minutes. ↑/↓ move between rows, Enter opens a router, PageUp/PageDown change page.'),
  );

  const saveState = () => {
    const p = new URLSearchParams();
    if (st.sort !== 'id') p.set('sort', st.sort);
    if (st.order) p.set('order', st.order);
    if (st.offset) p.set('offset', String(st.offset));
    if (st.limit !== 50) p.set('limit', String(st.limit));
    if (st.q) p.set('q', st.q);
    const qs = p.toString();
    history.replaceState(null, '', `#/routers${qs ? `?${qs}` : ''}`);
  };

  const header = () => {
    replace(
      thead,
      h(
        'tr',
        {},
        COLUMNS.map(([key, label]) => {
          const active = st.sort === key;
          const dir = active ? (st.order || (key === 'id' || key === 'model' ? 'asc' : 'desc')) : '';
          return h(
            'th',
            { scope: 'col', 'aria-sort': active ? (dir === 'asc' ? 'ascending' : 'descending') : 'none', class: key === 'id' || key === 'model' ? '' : 'n' },
            h(
              'button',
              {
                type: 'button',
                class: 'sort',
                onclick: () => {
                  if (st.sort === key) st.order = dir === 'asc' ? 'desc' : 'asc';
                  else {
                    st.sort = key;
                    st.order = '';
                  }
                  st.offset = 0;
                  void load();
                },
              },
              label,
              active ? (dir === 'asc' ? ' ▲' : ' ▼') : '',
            ),
          );
        }),
        h('th', { scope: 'col' }, 'Trend'),
      ),
    );
  };

  /** @param {number} i */
  const focusRow = (i) => {
    const list = [...rows.values()];
    if (!list.length) return;
    focusIndex = Math.max(0, Math.min(list.length - 1, i));
    list[focusIndex].row.focus();
  };

  /** @param {FleetRow} r */
  const makeRow = (r) => {
    /** @type {Record<string, HTMLElement>} */
    const cells = {};
    const link = h('a', { href: `#/routers/${encodeURIComponent(r.id)}`, tabindex: -1 }, r.id);
    const sparkCell = h('td', { class: 'spark-cell' }, sparkSvg(r.spark, { label: `power trend of ${r.id}` }));
    const row = h(
      'tr',
      { tabindex: 0, 'data-router': r.id },
      (cells.id = h('td', {}, link, h('span', { class: 'muted small' }, ` ${r.router_type}${r.source ? ` · ${r.source}` : ''}`))),
      (cells.model = h('td', {}, r.model ?? h('span', { class: 'muted' }, 'waiting for data'))),
      (cells.power = h('td', { class: 'n' }, fmt(r.power, 1))),
      (cells.occupation = h('td', { class: 'n' }, fmt(r.occupation, 1))),
      (cells.packet_length = h('td', { class: 'n' }, fmt(r.packet_length, 0))),
      (cells.packet_rate = h('td', { class: 'n' }, fmt(r.packet_rate))),
      (cells.byte_rate_mbps = h('td', { class: 'n' }, fmt(r.byte_rate_mbps))),
      (cells.age = h('td', { class: 'n', 'data-t': r.t ?? '' }, ago(r.t))),
      sparkCell,
    );
    row.addEventListener('keydown', (e) => {
      const list = [...rows.keys()];
      const i = list.indexOf(r.id);
      if (e.key === 'ArrowDown') {
        e.preventDefault();
        focusRow(i + 1);
      } else if (e.key === 'ArrowUp') {
        e.preventDefault();
        focusRow(i - 1);
      } else if (e.key === 'Enter') {
        e.preventDefault();
        ctx.navigate(`#/routers/${encodeURIComponent(r.id)}`);
      } else if (e.key === 'Home') {
        e.preventDefault();
        focusRow(0);
      } else if (e.key === 'End') {
        e.preventDefault();
        focusRow(list.length - 1);
      }
    });
    row.addEventListener('focus', () => (focusIndex = [...rows.keys()].indexOf(r.id)));
    row.addEventListener('dblclick', () => ctx.navigate(`#/routers/${encodeURIComponent(r.id)}`));
    return { row, cells, spark: [...r.spark], sparkCell };
  };

  /** @param {RouterState} s */
  const onRouter = (s) => {
    const r = rows.get(s.id);
    if (!r) return;
    r.cells.model.textContent = s.model;
    r.cells.power.textContent = fmt(s.power, 1);
    r.cells.occupation.textContent = fmt(s.occupation, 1);
    r.cells.packet_length.textContent = fmt(s.packet_length, 0);
    r.cells.packet_rate.textContent = fmt(s.packet_rate);
    r.cells.byte_rate_mbps.textContent = fmt(s.byte_rate_mbps);
    r.cells.age.setAttribute('data-t', String(s.t));
    r.cells.age.textContent = ago(s.t);
    if (s.power !== null) {
      r.spark.push(s.power);
      if (r.spark.length > 60) r.spark.shift();
      replace(r.sparkCell, sparkSvg(r.spark, { label: `power trend of ${s.id}` }));
    }
    r.row.classList.remove('flash');
    void r.row.offsetWidth;
    r.row.classList.add('flash');
  };

  const openStream = (/** @type {string[]} */ ids) => {
    stream?.close();
    if (!ids.length) return;
    stream = new EventStream(`/api/ui/stream?channels=routers&routers=${encodeURIComponent(ids.join(','))}`, (ev) => {
      if (ev.type === 'router') onRouter(ev.data);
    });
  };

  let loading = false;
  const load = async (keepFocus = false) => {
    if (loading) return;
    loading = true;
    try {
      saveState();
      /** @type {Fleet} */
      const f = await getJson(fleetUrl(st));
      pollingInterval = f.polling_interval;
      header();
      replace(
        cards,
        card('Routers', String(f.total), `${f.stats.live} live · ${f.stats.waiting} waiting`),
        card('Fleet power', `${fmt(f.stats.power_w, 0)} W`, 'sum of the latest predictions'),
        card('Mean occupation', `${fmt(f.stats.mean_occupation, 1)} %`, `polling every ${f.polling_interval} s`),
        card('Experiment', f.experiment_id, `sorted by ${f.sort} (${f.order})`),
      );
      const prevFocus = keepFocus ? focusIndex : -1;
      rows = new Map(f.routers.map((r) => [r.id, makeRow(r)]));
      replace(tbody, rows.size ? [...rows.values()].map((r) => r.row) : h('tr', {}, h('td', { colspan: COLUMNS.length + 1, class: 'muted' }, st.q ? `No router matches "${st.q}".` : 'No routers in the experiment.')));
      const last = Math.min(f.matched, f.offset + f.limit);
      pageInfo.textContent = f.matched ? `${f.offset + 1}–${last} of ${f.matched}${f.matched !== f.total ? ` (filtered from ${f.total})` : ''}` : '0 routers';
      prev.toggleAttribute('disabled', f.offset === 0);
      next.toggleAttribute('disabled', last >= f.matched);
      openStream([...rows.keys()]);
      if (prevFocus >= 0) focusRow(prevFocus);
    } catch (err) {
      replace(tbody, h('tr', {}, h('td', { colspan: COLUMNS.length + 1 }, notice('error', /** @type {Error} */ (err).message))));
    } finally {
      loading = false;
    }
  };

  /** @param {number} delta */
  const page = (delta) => {
    st.offset = Math.max(0, st.offset + delta * st.limit);
    void load();
  };
  prev.addEventListener('click', () => page(-1));
  next.addEventListener('click', () => page(1));
  size.addEventListener('change', () => {
    st.limit = Number(size.value);
    st.offset = 0;
    void load();
  });
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let debounce;
  search.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      st.q = search.value.trim();
      st.offset = 0;
      void load();
    }, 200);
  });
  search.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'Enter') {
      e.preventDefault();
      focusRow(0);
    }
  });
  tableEl.addEventListener('keydown', (e) => {
    if (e.key === 'PageDown' && !next.hasAttribute('disabled')) {
      e.preventDefault();
      page(1);
    } else if (e.key === 'PageUp' && !prev.hasAttribute('disabled')) {
      e.preventDefault();
      page(-1);
    }
  });

  await load();
  const resort = setInterval(() => void load(true), 30_000);
  const ticker = setInterval(() => {
    const now = Date.now();
    for (const r of rows.values()) {
      const t = Number(r.cells.age.getAttribute('data-t'));
      if (t) r.cells.age.textContent = ago(t, now);
    }
  }, 1000);
  void pollingInterval;
  return {
    unmount() {
      clearInterval(resort);
      clearInterval(ticker);
      clearTimeout(debounce);
      stream?.close();
    },
  };
}

const METRICS = SERIES_METRICS;

/** @param {ViewContext} ctx */
export async function routerView(ctx) {
  const id = ctx.params[0] ?? '';
  const range = rangeOf(ctx.query);
  const interval = ctx.info.polling_interval;
  const gapS = interval * 2.5;
  const windowS = range.live ? range.seconds : null;
  const fixed = range.live ? undefined : { fromMs: Date.parse(range.from), toMs: Date.parse(range.to) };

  const latest = h('div', { class: 'cards', 'aria-live': 'polite' });
  const modelBadge = h('span', { class: 'badge' }, '…');
  const charts = {
    power: h('div'),
    occupation: h('div'),
    packet_length: h('div'),
    rates: h('div'),
  };
  const status = h('p', { class: 'muted small', 'aria-live': 'polite' });
  ctx.main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/routers' }, '← All routers')),
    h('h1', {}, `Router ${id} `, modelBadge),
    rangePicker(range, (q) => ctx.navigate(`#/routers/${encodeURIComponent(id)}?${q}`)),
    latest,
    h('div', { class: 'grid2' }, h('section', {}, h('h2', {}, 'Power'), charts.power), h('section', {}, h('h2', {}, 'Capacity occupation'), charts.occupation)),
    h('div', { class: 'grid2' }, h('section', {}, h('h2', {}, 'Average packet length'), charts.packet_length), h('section', {}, h('h2', {}, 'Rates'), charts.rates)),
    status,
  );
  const power = new TimeChart(charts.power, { series: [{ label: 'power', unit: 'W' }], units: { y: 'W' }, windowS, gapS, ...(fixed ? { fixed } : {}), ariaLabel: `power of ${id} (W)` });
  const occupation = new TimeChart(charts.occupation, { series: [{ label: 'occupation', unit: '%', color: '#2e8540' }], units: { y: '%' }, windowS, gapS, ...(fixed ? { fixed } : {}), ariaLabel: `occupation of ${id} (%)` });
  const length = new TimeChart(charts.packet_length, { series: [{ label: 'packet length', unit: 'B', color: '#8e44ad' }], units: { y: 'bytes' }, windowS, gapS, ...(fixed ? { fixed } : {}), ariaLabel: `average packet length of ${id} (bytes)` });
  const rates = new TimeChart(charts.rates, {
    series: [
      { label: 'packets/s', unit: 'pkt/s', color: '#e08e0b', scale: 'pps' },
      { label: 'Mbit/s', unit: 'Mbit/s', color: '#00798c', scale: 'mbps' },
    ],
    units: { pps: 'packets/s', mbps: 'Mbit/s' },
    windowS,
    gapS,
    ...(fixed ? { fixed } : {}),
    ariaLabel: `packet and bit rates of ${id}`,
  });
  const all = [power, occupation, length, rates];

  /** @param {RouterState} s */
  const showLatest = (s) => {
    modelBadge.textContent = s.model;
    modelBadge.title = s.model_type === 'dummy' ? 'the formula (dummy) of the router type' : `trained model ${s.model}`;
    replace(
      latest,
      card('Power', `${fmt(s.power, 2)} W`, `updated ${ago(s.t)}`),
      card('Occupation', `${fmt(s.occupation, 2)} %`, `${fmt(s.byte_rate_mbps)} Mbit/s`),
      card('Packet length', `${fmt(s.packet_length, 0)} B`, `${fmt(s.packet_rate)} packets/s`),
      card('∂P/∂occupation', `${fmt(s.power_rate_occupation)} W`, 'per unit of occupation (fraction)'),
      card('∂P/∂packet length', `${fmt(s.power_rate_packet_length)} W/B`, 'sensitivity to packet size'),
      card('Model in use', s.model, `${s.router_type}${s.model_version ? ` · version ${s.model_version.slice(0, 12)}` : ''}`),
    );
  };

  // history: each metric downsampled on the server to about one point per pixel column
  const points = seriesPoints(ctx.main);
  /** @type {Record<string, Array<{t: number, value: number}>>} */
  const hist = {};
  try {
    const answers = await Promise.all(
      METRICS.map((m) => getJson(seriesUrl(id, m, range, points))),
    );
    METRICS.forEach((m, i) => (hist[m] = /** @type {{points: Array<{t: number, value: number}>}} */ (answers[i]).points));
    const col = (/** @type {string} */ m) => {
      const list = hist[m] ?? [];
      return { t: list.map((p) => p.t), v: list.map((p) => p.value) };
    };
    const p = col('power');
    power.setData(p.t, [p.v]);
    const o = col('occupation');
    occupation.setData(o.t, [o.v]);
    const l = col('packet_length');
    length.setData(l.t, [l.v]);
    // rates: the two series share their rows' times
    const byteAt = new Map((hist.byte_rate_mbps ?? []).map((x) => [x.t, x.value]));
    const pr = col('packet_rate');
    rates.setData(pr.t, [pr.v, pr.t.map((t) => byteAt.get(t) ?? null)]);
    status.textContent = p.t.length ? `${p.t.length} points of history (${range.label}), downsampled on the server.` : `No history in ${range.label} yet: points appear as predictions arrive (every ${interval} s).`;
  } catch (err) {
    status.replaceChildren(notice('error', `History unavailable: ${/** @type {Error} */ (err).message}`));
  }

  /** @type {EventStream | undefined} */
  let stream;
  if (range.live) {
    stream = new EventStream(`/api/ui/stream?channels=routers&routers=${encodeURIComponent(id)}`, (ev) => {
      if (ev.type !== 'router' || ev.data.id !== id) return;
      /** @type {RouterState} */
      const s = ev.data;
      showLatest(s);
      power.append(s.t, [s.power]);
      occupation.append(s.t, [s.occupation]);
      length.append(s.t, [s.packet_length]);
      rates.append(s.t, [s.packet_rate, s.byte_rate_mbps]);
    });
  } else {
    const l = await getJson(`/api/ui/fleet?q=${encodeURIComponent(id)}&limit=500&points=2`).catch(() => undefined);
    const row = /** @type {Fleet | undefined} */ (l)?.routers.find((r) => r.id === id);
    if (row) modelBadge.textContent = row.model ?? 'no data';
  }
  return {
    unmount() {
      stream?.close();
      for (const c of all) c.destroy();
    },
  };
}
