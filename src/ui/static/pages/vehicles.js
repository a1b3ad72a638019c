// Vehicles: every vehicle with its latest score and label (live), and one vehicle's latest
// signals, anomaly score over time against the model's threshold, plausibility flags, missing
// signals and gaps (the line breaks where no vector was scored), and any signal's raw history.

import { EventStream, getJson } from '../api.js';
import { ago, card, clock, fmt, h, notice, replace, table } from '../dom.js';
import { TimeChart, gapsOf } from '../charts.js';
import { rangeOf, rangePicker } from './range.js';
import { scoresUrl } from '../urls.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/**
 * @typedef {{id: string, latestTs: number | null, score: number | null, label: string | null, flags: string[]}} VehicleRow
 * @typedef {{id: string, t: number, seq: number, score: number | null, label: string, threshold: number, model: string,
 *   flags: Array<{rule: string, message: string}>, out_of_range: string[], missing: string[], filled: string[],
 *   values: Record<string, number | null>, top: Array<{signal: string, z: number}>}} VehicleState
 * @typedef {{id: string, name: string, unit: string, min: number | null, max: number | null}} Signal
 */

const REPLAY = 'node dist/cli.js replay-vehicle --file test/fixtures/vehicle/DS2_national_road_90km_h_max_25Jan24_153019.csv --vehicle-id car-1 --as-fast-as-possible';

/** @param {string | null} label */
export function labelBadge(label) {
  const cls = label === 'anomaly' ? 'bad' : label === 'implausible' ? 'warn' : label === 'normal' ? 'ok' : '';
  return h('span', { class: `badge ${cls}` }, label ?? '–');
}

/** @param {ViewContext} ctx */
function noVehicles(ctx) {
  ctx.main.append(
    h('h1', {}, 'Vehicles'),
    notice('info', `The vehicle pipeline does not run in this process (role ${ctx.info.role}). It runs in \`wattflow up\`, or as the roles vehicle-api and vehicle-predictor (their own API: /api/vehicles).`),
  );
  return {};
}

/** @param {ViewContext} ctx */
export default async function vehiclesView(ctx) {
  if (!ctx.info.features.vehicles) return noVehicles(ctx);
  const body = h('div');
  ctx.main.append(h('h1', {}, 'Vehicles'), body);
  /** @type {Map<string, HTMLTableRowElement>} */
  const rowOf = new Map();
  /** @type {{count: number, truncated: boolean, vehicles: VehicleRow[]}} */
  const list = await getJson('/api/vehicles');
  const tbody = h('tbody');
  /** @param {VehicleRow} v */
  const row = (v) => {
    const tr = h(
      'tr',
      { tabindex: 0, 'data-vehicle': v.id },
      h('td', {}, h('a', { href: `#/vehicles/${encodeURIComponent(v.id)}`, tabindex: -1 }, v.id)),
      h('td', { class: 'n', 'data-t': v.latestTs ?? '' }, ago(v.latestTs)),
      h('td', { class: 'n' }, fmt(v.score, 3)),
      h('td', {}, labelBadge(v.label)),
      h('td', {}, v.flags.length ? v.flags.join(', ') : h('span', { class: 'muted' }, 'none')),
    );
    tr.addEventListener('keydown', (e) => {
      const rows = [...tbody.querySelectorAll('tr[tabindex]')];
      const i = rows.indexOf(tr);
      if (e.key === 'ArrowDown') /** @type {HTMLElement | undefined} */ (rows[i + 1])?.focus();
      else if (e.key === 'ArrowUp') /** @type {HTMLElement | undefined} */ (rows[i - 1])?.focus();
      else if (e.key === 'Enter') ctx.navigate(`#/vehicles/${encodeURIComponent(v.id)}`);
      else return;
      e.preventDefault();
    });
    return tr;
  };
  const render = () => {
    if (!rowOf.size) {
      replace(
        body,
        notice('info', 'No vehicle data yet. Replay a reference log into this process, and the vehicle appears here within a second:'),
        h('pre', { class: 'cmd' }, REPLAY),
      );
      return;
    }
    replace(
      body,
      h('p', { class: 'muted' }, `${list.count} vehicle(s)${list.truncated ? ' (first 1000 shown)' : ''}; updated live as vectors are scored.`),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { 'aria-label': 'Vehicles' },
          h('thead', {}, h('tr', {}, ['Vehicle', 'Last vector', 'Anomaly score', 'Label', 'Plausibility flags'].map((x, i) => h('th', { scope: 'col', class: i === 1 || i === 2 ? 'n' : null }, x)))),
          tbody,
        ),
      ),
    );
  };
  for (const v of list.vehicles) rowOf.set(v.id, row(v));
  replace(tbody, [...rowOf.values()]);
  render();
  const stream = new EventStream('/api/ui/stream?channels=vehicles', (ev) => {
    if (ev.type !== 'vehicle') return;
    /** @type {VehicleState} */
    const s = ev.data;
    const fresh = row({ id: s.id, latestTs: s.t, score: s.score, label: s.label, flags: s.flags.map((f) => f.rule).concat(s.out_of_range.map((x) => `out_of_range:${x}`)) });
    const old = rowOf.get(s.id);
    if (old) old.replaceWith(fresh);
    else tbody.append(fresh);
    const wasEmpty = rowOf.size === 0;
    rowOf.set(s.id, fresh);
    if (wasEmpty) {
      list.count = 1;
      render();
    }
  });
  const ticker = setInterval(() => {
    for (const td of tbody.querySelectorAll('td[data-t]')) {
      const t = Number(td.getAttribute('data-t'));
      if (t) td.textContent = ago(t);
    }
  }, 1000);
  return {
    unmount() {
      stream.close();
      clearInterval(ticker);
    },
  };
}

/** @param {ViewContext} ctx */
export async function vehicleView(ctx) {
  if (!ctx.info.features.vehicles) return noVehicles(ctx);
  const id = ctx.params[0] ?? '';
  const range = rangeOf(ctx.query, '1h');
  // the catalog, the latest vector and the score history at once
  /** @type {Promise<{signals: Signal[]}>} */
  const catalogP = getJson('/api/vehicle-signals');
  /** @type {Promise<{source: string, points: Array<{t: number, value: number | null}>}>} */
  const scoresP = getJson(scoresUrl(id, range));
  scoresP.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  const latestP = getJson(`/api/vehicles/${encodeURIComponent(id)}/latest`).catch((err) => {
    if (/** @type {{status?: number}} */ (err).status === 404) return null;
    throw err;
  });
  const catalog = await catalogP;
  const signals = new Map(catalog.signals.map((s) => [s.id, s]));
  /** @type {{vehicleId: string, vector: {ts: number, flags: Array<{rule: string, message: string}>, missing: string[], filled: string[], outOfRange: string[], values: Record<string, number | null>} | null, prediction: {score: number | null, label: string, threshold: number, modelName: string, modelVersion: string} | null, measurements: Record<string, {ts: number, value: number, flagged?: boolean}>} | null} */
  const latest = /** @type {any} */ (await latestP);
  const cards = h('div', { class: 'cards', 'aria-live': 'polite' });
  const flagsBox = h('div');
  const signalsBox = h('div');
  const scoreEl = h('div');
  const signalEl = h('div');
  const gapsEl = h('p', { class: 'muted small' });
  const signalSelect = /** @type {HTMLSelectElement} */ (h('select', { 'aria-label': 'Signal to chart' }));
  ctx.main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/vehicles' }, '← All vehicles')),
    h('h1', {}, `Vehicle ${id}`),
    rangePicker(range, (q) => ctx.navigate(`#/vehicles/${encodeURIComponent(id)}?${q}`)),
    cards,
    h('section', {}, h('h2', {}, 'Anomaly score and threshold'), scoreEl, gapsEl),
    h('div', { class: 'grid2' }, h('section', {}, h('h2', {}, 'Plausibility flags'), flagsBox), h('section', {}, h('h2', {}, 'Signal history '), signalSelect, signalEl)),
    h('section', {}, h('h2', {}, 'Latest signals'), signalsBox),
  );
  if (!latest) {
    cards.append(notice('info', `No data for vehicle "${id}" yet.`));
  }
  const scoreChart = new TimeChart(scoreEl, {
    series: [
      { label: 'score', color: '#d1495b' },
      { label: 'threshold', color: '#555', dash: [6, 4], width: 1 },
    ],
    windowS: range.live ? range.seconds : null,
    ...(range.live ? {} : { fixed: { fromMs: Date.parse(range.from), toMs: Date.parse(range.to) } }),
    ariaLabel: `anomaly score of ${id} with the threshold`,
  });
  const signalChart = new TimeChart(signalEl, {
    series: [{ label: 'value', color: '#1f6feb' }],
    height: 180,
    windowS: range.live ? range.seconds : null,
    ...(range.live ? {} : { fixed: { fromMs: Date.parse(range.from), toMs: Date.parse(range.to) } }),
    ariaLabel: `signal history of ${id}`,
  });

  /** @param {VehicleState | null} s */
  const showState = (s) => {
    if (!s) return;
    replace(
      cards,
      card('Anomaly score', fmt(s.score, 3), `threshold ${fmt(s.threshold, 3)}`),
      card('Label', labelBadge(s.label), `vector ${s.seq} · ${clock(s.t)}`),
      card('Missing signals', String(s.missing.length), s.missing.slice(0, 4).join(', ') || 'none'),
      card('Gap-filled', String(s.filled.length), 'carried forward from an earlier tick'),
      card('Model', s.model, s.top.length ? `most deviating: ${s.top.map((t) => `${t.signal} (z ${fmt(t.z, 1)})`).join(', ')}` : ''),
    );
    const flags = [...s.flags.map((f) => [h('code', {}, f.rule), f.message]), ...s.out_of_range.map((x) => [h('code', {}, `out_of_range:${x}`), `${x} outside its valid range (stored flagged)`])];
    replace(flagsBox, flags.length ? table(['Rule', 'What'], flags) : h('p', { class: 'muted' }, 'No plausibility flag on the latest vector.'));
    replace(
      signalsBox,
      table(
        ['Signal', 'Value', 'Unit', 'State'],
        Object.entries(s.values)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([sig, v]) => {
            const state = s.out_of_range.includes(sig) ? 'out of range' : v === null ? 'missing' : s.filled.includes(sig) ? 'gap-filled' : 'measured';
            return [signals.get(sig)?.name ?? sig, fmt(v), signals.get(sig)?.unit ?? '', h('span', { class: `state ${state.replace(/ /g, '-')}` }, state)];
          }),
        { numeric: [1] },
      ),
    );
  };

  if (latest?.vector && latest.prediction) {
    const v = latest.vector;
    const p = latest.prediction;
    showState({
      id,
      t: v.ts,
      seq: 0,
      score: p.score,
      label: p.label,
      threshold: p.threshold,
      model: `${p.modelName}@${p.modelVersion}`,
      flags: v.flags,
      out_of_range: v.outOfRange,
      missing: v.missing,
      filled: v.filled,
      values: v.values,
      top: [],
    });
  }

  // the score's history: downsampled on the server; a gap in the vectors breaks the line
  let threshold = latest?.prediction?.threshold ?? null;
  try {
    const hist = await scoresP;
    const t = hist.points.map((p) => p.t);
    const steps = t.slice(1).map((x, i) => x - t[i]).sort((a, b) => a - b);
    const step = steps[Math.floor(steps.length / 2)] ?? 1000;
    scoreChart.gapS = (step * 2.5) / 1000;
    scoreChart.setData(t, [hist.points.map((p) => p.value), t.map(() => threshold)]);
    const g = gapsOf(t, step);
    gapsEl.textContent = t.length
      ? `${t.length} points (${range.label}, from ${hist.source}); ${g.count ? `${g.count} gap(s) in the vectors, the longest ${fmt(g.longestMs / 1000, 0)} s` : 'no gap'}.`
      : `No scored vector in ${range.label}.`;
  } catch (err) {
    gapsEl.replaceChildren(notice('error', `Score history unavailable: ${/** @type {Error} */ (err).message}`));
  }

  // any signal's raw measurements
  const names = Object.keys(latest?.measurements ?? {}).sort();
  replace(signalSelect, names.map((n) => h('option', { value: n }, `${signals.get(n)?.name ?? n}${signals.get(n)?.unit ? ` (${signals.get(n)?.unit})` : ''}`)));
  const loadSignal = async () => {
    const sig = signalSelect.value;
    if (!sig) return;
    /** @type {{points: Array<{ts: number, value: number}>}} */
    const s = await getJson(`/api/vehicles/${encodeURIComponent(id)}/series?signal=${encodeURIComponent(sig)}&limit=10000${range.live ? `&from=${Date.now() - range.seconds * 1000}` : `&from=${Date.parse(range.from)}&to=${Date.parse(range.to)}`}`);
    signalChart.setData(s.points.map((p) => p.ts), [s.points.map((p) => p.value)]);
  };
  signalSelect.addEventListener('change', () => void loadSignal().catch(() => undefined));
  const speed = names.find((n) => /speed/.test(n));
  if (speed) signalSelect.value = speed;
  await loadSignal().catch(() => undefined);

  /** @type {EventStream | undefined} */
  let stream;
  if (range.live) {
    stream = new EventStream(`/api/ui/stream?channels=vehicles&vehicles=${encodeURIComponent(id)}`, (ev) => {
      if (ev.type !== 'vehicle' || ev.data.id !== id) return;
      /** @type {VehicleState} */
      const s = ev.data;
      threshold = s.threshold;
      showState(s);
      scoreChart.append(s.t, [s.score, s.threshold]);
      const sig = signalSelect.value;
      if (sig && s.values[sig] !== undefined && !s.filled.includes(sig)) signalChart.append(s.t, [s.values[sig]]);
    });
  }
  return {
    unmount() {
      stream?.close();
      scoreChart.destroy();
      signalChart.destroy();
    },
  };
}
