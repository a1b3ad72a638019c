// Pipeline health: messages/s per stage, per-hop latency p50/p99 (from the latency histograms),
// drops, dead letters (with the newest ones, what they were and why), consumer lag and the
// in-process bus's budget — live from the event stream. #/health/dead-letters?stage=… lists
// the dead letters of one stage.

import { EventStream, getJson } from '../api.js';
import { card, clock, fmt, fmtBytes, h, notice, replace, table } from '../dom.js';
import { TimeChart, COLORS } from '../charts.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/**
 * @typedef {{stage: string, in_per_s: number, out_per_s: number, dropped_per_s: number, dead_letters: number, dead_letters_per_s: number, lag: number | null}} Stage
 * @typedef {{hop: string, p50_ms: number | null, p99_ms: number | null, per_s: number}} Hop
 * @typedef {{t: number, rate_window_s: number, quantile_window_s: number, stages: Stage[], hops: Hop[], polls: {ok_per_s: number, error_per_s: number, overrun_per_s: number},
 *   bus: {messages: number, bytes: number, budget_messages: number, budget_bytes: number} | null,
 *   vehicle: {measurements_per_s: number, predictions_per_s: number, dead_lettered: number} | null}} Health
 * @typedef {{stage: string, reason: string, topic: string, key: string, offset: string, received_at: string, value: string}} DeadLetter
 */

/** @param {DeadLetter[]} list */
function deadLetterTable(list) {
  return table(
    ['Received', 'Stage', 'Topic', 'Key', 'Reason', 'Message'],
    list.map((d) => [d.received_at.replace('T', ' ').slice(0, 19), d.stage, d.topic, d.key, d.reason, h('details', {}, h('summary', {}, `${d.value.length} chars`), h('pre', { class: 'msg' }, d.value))]),
    { empty: 'no dead letter since this process started' },
  );
}

/** @param {ViewContext} ctx */
export default async function healthView(ctx) {
  if (ctx.params[0] === 'dead-letters') return deadLettersView(ctx);
  const cards = h('div', { class: 'cards', 'aria-live': 'polite' });
  const stagesBox = h('div');
  const hopsBox = h('div');
  const ratesEl = h('div');
  const latencyEl = h('div');
  const lagEl = h('div');
  const dlBox = h('div');
  ctx.main.append(
    h('h1', {}, 'Pipeline health'),
    cards,
    h('div', { class: 'grid2' }, h('section', {}, h('h2', {}, 'Stages'), stagesBox), h('section', {}, h('h2', {}, 'Latency per hop'), hopsBox)),
    h('div', { class: 'grid2' }, h('section', {}, h('h2', {}, 'Messages/s per stage (in; the producer: out)'), ratesEl), h('section', {}, h('h2', {}, 'End-to-end latency (ms)'), latencyEl)),
    h('section', {}, h('h2', {}, 'Consumer lag (messages)'), lagEl),
    h('section', {}, h('h2', {}, 'Newest dead letters ', h('a', { href: '#/health/dead-letters', class: 'small' }, 'all')), dlBox),
  );

  /** @type {Promise<{dead_letters: DeadLetter[]}>} */
  const dlP = getJson('/api/ui/dead-letters?limit=10');
  dlP.catch(() => undefined); // awaited below
  /** @type {{now: Health, history: {t: number[], series: Record<string, Array<number | null>>}, dead_letters: true | string}} */
  const first = await getJson('/api/ui/health');
  const stageNames = first.now.stages.map((s) => s.stage);
  const hist = first.history;
  const rates = new TimeChart(ratesEl, { series: stageNames.map((s, i) => ({ label: s, unit: 'msg/s', color: COLORS[i % COLORS.length] })), units: { y: 'msg/s' }, windowS: 300, ariaLabel: 'messages per second per stage' });
  // the producer has no input: its output is what it does
  const rateKey = (/** @type {string} */ s) => (s === 'producer' ? `out:${s}` : `in:${s}`);
  rates.setData(hist.t, stageNames.map((s) => hist.series[rateKey(s)] ?? hist.t.map(() => null)));
  const latency = new TimeChart(latencyEl, {
    series: [
      { label: 'p50', unit: 'ms', color: '#1f6feb' },
      { label: 'p99', unit: 'ms', color: '#d1495b' },
    ],
    units: { y: 'ms' },
    windowS: 300,
    ariaLabel: 'end-to-end latency p50 and p99 (ms)',
  });
  latency.setData(hist.t, [hist.series['p50:end_to_end'] ?? hist.t.map(() => null), hist.series['p99:end_to_end'] ?? hist.t.map(() => null)]);
  const lagStages = stageNames.filter((s) => first.now.stages.find((x) => x.stage === s)?.lag !== null);
  const lag = new TimeChart(lagEl, { series: (lagStages.length ? lagStages : ['(no consumer)']).map((s, i) => ({ label: s, color: COLORS[i % COLORS.length] })), height: 160, windowS: 300, ariaLabel: 'consumer lag per stage' });
  lag.setData(hist.t, lagStages.map((s) => hist.series[`lag:${s}`] ?? hist.t.map(() => null)));

  /** @param {Health} x */
  const show = (x) => {
    const e2e = x.hops.find((hp) => hp.hop === 'end_to_end');
    const dlTotal = x.stages.reduce((s, st) => s + st.dead_letters, 0);
    replace(
      cards,
      card('Predictions/s', fmt(x.stages.find((s) => s.stage === 'inference')?.out_per_s ?? null), `over the last ${x.rate_window_s} s`),
      card('End-to-end p50 / p99', e2e ? `${fmt(e2e.p50_ms)} / ${fmt(e2e.p99_ms)} ms` : '–', `scrape → prediction, last ${x.quantile_window_s} s`),
      card('Polls/s', fmt(x.polls.ok_per_s), `${fmt(x.polls.error_per_s)} errors/s · ${fmt(x.polls.overrun_per_s)} overruns/s`),
      card('Dead letters', String(dlTotal), h('a', { href: '#/health/dead-letters' }, 'see them')),
      x.bus ? card('In-process bus', `${fmt((x.bus.messages / x.bus.budget_messages) * 100, 1)} %`, `${x.bus.messages} msgs, ${fmtBytes(x.bus.bytes)} of ${fmtBytes(x.bus.budget_bytes)}`) : null,
      x.vehicle ? card('Vehicles', `${fmt(x.vehicle.predictions_per_s)} pred/s`, `${fmt(x.vehicle.measurements_per_s)} measurements/s · ${x.vehicle.dead_lettered} vectors dead-lettered`) : null,
    );
    replace(
      stagesBox,
      table(
        ['Stage', 'In/s', 'Out/s', 'Dropped/s', 'Dead letters', 'Lag'],
        x.stages.map((s) => [
          s.stage,
          fmt(s.in_per_s),
          fmt(s.out_per_s),
          fmt(s.dropped_per_s),
          s.dead_letters ? h('a', { href: `#/health/dead-letters?stage=${encodeURIComponent(s.stage)}` }, String(s.dead_letters)) : '0',
          s.lag === null ? '–' : String(s.lag),
        ]),
        { numeric: [1, 2, 3, 4, 5], empty: 'no stage runs in this process' },
      ),
    );
    replace(hopsBox, table(['Hop', 'p50 (ms)', 'p99 (ms)', 'Messages/s'], x.hops.map((hp) => [hp.hop.replace(/_/g, ' '), fmt(hp.p50_ms), fmt(hp.p99_ms), fmt(hp.per_s)]), { numeric: [1, 2, 3], empty: 'no message has gone through yet' }));
  };
  show(first.now);

  /** @type {DeadLetter[]} */
  let dls = [];
  const showDl = () => {
    if (first.dead_letters !== true) replace(dlBox, notice('info', `Dead letters are counted but not followed here: ${first.dead_letters}.`));
    else replace(dlBox, deadLetterTable(dls.slice(0, 10)));
  };
  try {
    dls = (await dlP).dead_letters;
  } catch {
    /* shown empty */
  }
  showDl();

  const stream = new EventStream('/api/ui/stream?channels=health,deadletters', (ev) => {
    if (ev.type === 'health') {
      /** @type {Health} */
      const x = ev.data;
      show(x);
      const byStage = new Map(x.stages.map((s) => [s.stage, s]));
      rates.append(x.t, stageNames.map((s) => (s === 'producer' ? byStage.get(s)?.out_per_s : byStage.get(s)?.in_per_s) ?? null));
      const e2e = x.hops.find((hp) => hp.hop === 'end_to_end');
      latency.append(x.t, [e2e?.p50_ms ?? null, e2e?.p99_ms ?? null]);
      lag.append(x.t, lagStages.map((s) => byStage.get(s)?.lag ?? null));
    } else if (ev.type === 'deadletter') {
      dls.unshift(ev.data);
      dls = dls.slice(0, 10);
      showDl();
    }
  });
  return {
    unmount() {
      stream.close();
      rates.destroy();
      latency.destroy();
      lag.destroy();
    },
  };
}

/** @param {ViewContext} ctx */
async function deadLettersView(ctx) {
  const stage = ctx.query.get('stage') ?? '';
  const box = h('div');
  ctx.main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/health' }, '← Pipeline health')),
    h('h1', {}, `Dead letters${stage ? ` of ${stage}` : ''}`),
    h('p', { class: 'muted' }, 'Messages a stage could not use, with the reason (also on the topics <topic>.dlq). Newest first; kept in memory since this process started.'),
    box,
  );
  /** @type {{following: true | string, dead_letters: DeadLetter[]}} */
  const r = await getJson(`/api/ui/dead-letters?limit=200${stage ? `&stage=${encodeURIComponent(stage)}` : ''}`);
  replace(box, r.following === true ? deadLetterTable(r.dead_letters) : notice('info', `Dead letters are counted but not followed: ${r.following}.`));
  if (ctx.info.features.vehicles) {
    try {
      /** @type {{count: number, deadLetters: Array<{at: string, reason: string, vector: {vehicleId?: string, ts?: number} | null}>}} */
      const v = await getJson('/api/vehicle-dead-letters?limit=50');
      ctx.main.append(
        h('h2', {}, 'Vehicle vectors the predictor refused'),
        table(['At', 'Vehicle', 'Vector time', 'Reason'], v.deadLetters.map((d) => [d.at.replace('T', ' ').slice(0, 19), d.vector?.vehicleId ?? '–', d.vector?.ts ? clock(d.vector.ts) : '–', d.reason]), { empty: 'none' }),
      );
    } catch {
      /* the vehicle store may be down: its own notice is on the Vehicles view */
    }
  }
  return {};
}
