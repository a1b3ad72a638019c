// Energy: the node's power and what wattflow's roles (and pods, containers, top processes)
// draw, from the Kepler-compatible energy exporter, and the joules each stage spends per
// message — joules per prediction for inference. Live from the event stream; when the exporter
// does not answer, a clear state says so (and how to start it) instead of empty charts.

import { EventStream, getJson } from '../api.js';
import { card, fmt, h, notice, replace, table } from '../dom.js';
import { TimeChart, COLORS } from '../charts.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/**
 * @typedef {{t: number, url: string | null, status: 'ok' | 'unreachable' | 'off', error?: string, source?: string, node_name?: string, node_watts?: number,
 *   zones?: Record<string, number>, usage_ratio?: number, roles: Array<{role: string, watts: number, joules: number}>, pods: Array<{pod: string, namespace: string, watts: number}>,
 *   containers: Array<{container: string, pod: string, watts: number}>, processes: Array<{pid: string, comm: string, watts: number}>,
 *   stages: Array<{stage: string, joules_per_message: number | null, joules: number | null}>}} Energy
 * @typedef {{t: number[], node_watts: Array<number | null>, roles: Record<string, Array<number | null>>, per_message: Record<string, Array<number | null>>}} EnergyHistory
 */

/** @param {number | null | undefined} j */
const joules = (j) => (j === null || j === undefined ? '–' : j < 0.001 ? `${fmt(j * 1e6, 1)} µJ` : j < 1 ? `${fmt(j * 1000, 2)} mJ` : `${fmt(j, 2)} J`);

/** @param {ViewContext} ctx */
export default async function energyView(ctx) {
  const state = h('div', { 'aria-live': 'polite' });
  const cards = h('div', { class: 'cards' });
  const powerEl = h('div');
  const perMsgEl = h('div');
  const tables = h('div', { class: 'grid2' });
  ctx.main.append(
    h('h1', {}, 'Energy'),
    state,
    cards,
    h('div', { class: 'grid2' }, h('section', {}, h('h2', {}, 'Power: node and wattflow roles'), powerEl), h('section', {}, h('h2', {}, 'Energy per message, by stage'), perMsgEl)),
    tables,
  );

  /** @type {{now: Energy, history: EnergyHistory}} */
  const first = await getJson('/api/ui/energy');
  const roleNames = [...new Set([...Object.keys(first.history.roles), ...first.now.roles.map((r) => r.role)])].sort();
  const stageNames = [...new Set([...Object.keys(first.history.per_message), ...first.now.stages.map((s) => s.stage)])].sort();
  const power = new TimeChart(powerEl, {
    series: [{ label: 'node', unit: 'W', color: '#333', width: 2 }, ...roleNames.map((r, i) => ({ label: r, unit: 'W', color: COLORS[i % COLORS.length] }))],
    units: { y: 'W' },
    windowS: 300,
    ariaLabel: 'node power and the power of wattflow roles (W)',
  });
  const perMsg = new TimeChart(perMsgEl, {
    series: stageNames.length ? stageNames.map((s, i) => ({ label: s, unit: 'J', color: COLORS[(i + 3) % COLORS.length] })) : [{ label: 'no stage measured', unit: 'J' }],
    units: { y: 'J/message' },
    windowS: 300,
    ariaLabel: 'joules per message by stage',
  });
  const hist = first.history;
  power.setData(hist.t, [hist.node_watts, ...roleNames.map((r) => hist.roles[r] ?? hist.t.map(() => null))]);
  perMsg.setData(hist.t, stageNames.map((s) => hist.per_message[s] ?? hist.t.map(() => null)));

  /** @param {Energy} e */
  const show = (e) => {
    if (e.status !== 'ok') {
      replace(
        state,
        notice(
          'warn',
          h('b', {}, e.status === 'off' ? 'Energy exporter off. ' : 'Energy exporter not running. '),
          e.error ?? '',
          h('br'),
          'Start it with ',
          h('code', {}, 'wattflow energy-exporter'),
          ' (or leave energy.enabled on in wattflow up), or point ui.energyUrl / WATTFLOW_ENERGY_URL at one. Joules per message of this process\'s stages are still shown below when measured.',
        ),
      );
    } else {
      replace(state, h('p', { class: 'muted' }, `From ${e.url} · node ${e.node_name ?? '?'} · source ${e.source === 'estimator' ? 'estimator (no RAPL here: CPU-usage model)' : (e.source ?? '?')} · updated ${new Date(e.t).toLocaleTimeString()}`));
    }
    const wattflowW = e.roles.reduce((s, r) => s + r.watts, 0);
    const inference = e.stages.find((s) => s.stage === 'inference');
    replace(
      cards,
      card('Node power', e.node_watts === undefined ? '–' : `${fmt(e.node_watts, 2)} W`, e.zones ? Object.entries(e.zones).map(([z, w]) => `${z} ${fmt(w, 2)} W`).join(' · ') : 'no exporter'),
      card('CPU usage', e.usage_ratio === undefined ? '–' : `${fmt(e.usage_ratio * 100, 1)} %`, 'node'),
      card('wattflow', e.roles.length ? `${fmt(wattflowW, 3)} W` : '–', e.roles.length ? `${e.roles.length} role(s)` : 'no wattflow process seen'),
      card('Per prediction', joules(inference?.joules_per_message), inference ? 'inference stage, J per message' : 'inference does not run in this process'),
    );
    replace(
      tables,
      h('section', {}, h('h2', {}, 'By role'), table(['Role', 'Power', 'Energy so far'], e.roles.map((r) => [r.role, `${fmt(r.watts, 3)} W`, joules(r.joules)]), { numeric: [1, 2], empty: 'no wattflow process attributed yet' })),
      h('section', {}, h('h2', {}, 'By stage (this process)'), table(['Stage', 'Per message', 'Energy so far'], e.stages.map((s) => [s.stage, joules(s.joules_per_message), joules(s.joules)]), { numeric: [1, 2], empty: 'no stage energy measured in this process' })),
      h('section', {}, h('h2', {}, 'Pods'), table(['Pod', 'Namespace', 'Power'], e.pods.map((p) => [p.pod, p.namespace, `${fmt(p.watts, 3)} W`]), { numeric: [2], empty: 'no Kubernetes pod on this node' })),
      h('section', {}, h('h2', {}, 'Containers'), table(['Container', 'Pod', 'Power'], e.containers.map((c) => [c.container, c.pod || '–', `${fmt(c.watts, 3)} W`]), { numeric: [2], empty: 'no container on this node' })),
      h('section', {}, h('h2', {}, 'Top processes'), table(['PID', 'Command', 'Power'], e.processes.map((p) => [p.pid, p.comm, `${fmt(p.watts, 3)} W`]), { numeric: [0, 2], empty: '–' })),
    );
  };
  show(first.now);
  const stream = new EventStream('/api/ui/stream?channels=energy', (ev) => {
    if (ev.type !== 'energy') return;
    /** @type {Energy} */
    const e = ev.data;
    show(e);
    const roleW = new Map(e.roles.map((r) => [r.role, r.watts]));
    power.append(e.t, [e.node_watts ?? null, ...roleNames.map((r) => roleW.get(r) ?? null)]);
    const pm = new Map(e.stages.map((s) => [s.stage, s.joules_per_message]));
    perMsg.append(e.t, stageNames.map((s) => pm.get(s) ?? null));
  });
  return {
    unmount() {
      stream.close();
      power.destroy();
      perMsg.destroy();
    },
  };
}
