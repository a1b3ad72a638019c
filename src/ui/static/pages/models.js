// Models: what the registry's page (/registry) shows — models, versions with their held-out
// metrics, aliases, where each is deployed and who serves it — plus the deployments (desired,
// and their history: what a rollback returns to) and desired vs actual per router and
// inference worker. Refreshed when a router's model changes (event stream) and every 10 s.

import { EventStream, getJson } from '../api.js';
import { ago, card, fmt, fmtBytes, h, notice, replace, table } from '../dom.js';

/** @typedef {import('../app.js').ViewContext} ViewContext */
/**
 * @typedef {{version: string, created_at: string, model_type: string, router_type: string, sha256: string, size: number,
 *   metrics?: {MAE?: number, MAPE?: number, R2?: number, rows?: number}, aliases: string[], deployed_to: string[], served_by: string[]}} Version
 * @typedef {{name: string, description?: string, router_type?: string, aliases: Record<string, string>, versions: Version[]}} Model
 * @typedef {{desired: Array<{scope: string, target: string, deployed_at: string, id: string}>,
 *   workers: Array<{worker: string, state: string, url?: string, updated_at: string, stale_seconds: number, reachable?: boolean, models: Array<{model: string, version: string}>, errors: Array<{error: string}>}>,
 *   routers: Array<{router: string, router_type: string, desired: string, desired_scope: string, workers: Record<string, {actual: string, ok: boolean, error?: string}>}>}} Status
 * @typedef {{id: string, scope: unknown, target: unknown, deployed_at: string, previous?: unknown}} Deployment
 */

/**
 * A deployment target as text: name@version (ref), the formula, or cleared.
 * @param {unknown} t
 */
const target = (t) => {
  if (t === null) return 'cleared (experiment default)';
  if (!t || typeof t !== 'object') return '–';
  const x = /** @type {{kind?: string, model?: string, version?: string, ref?: string}} */ (t);
  if (x.kind === 'dummy') return 'formula (dummy)';
  return `${x.model ?? '?'}@${x.version ?? '?'}${x.ref && x.ref !== `${x.model}@${x.version}` ? ` (${x.ref})` : ''}`;
};

/**
 * A deployment scope as text.
 * @param {unknown} s
 */
const scopeText = (s) => {
  if (typeof s === 'string') return s;
  const x = /** @type {{kind?: string, router?: string, router_type?: string}} */ (s ?? {});
  return x.kind === 'router' ? `router ${x.router}` : x.kind === 'router_type' ? `router type ${x.router_type}` : x.kind === 'all' ? 'all routers' : '–';
};

/** @param {ViewContext} ctx */
export default async function modelsView(ctx) {
  ctx.main.append(h('h1', {}, 'Models'));
  if (!ctx.info.features.registry) {
    ctx.main.append(notice('info', `The model registry does not run in this process (role ${ctx.info.role}): it runs in \`wattflow up\` or as the role registry, with its own page /registry.`));
    return {};
  }
  const body = h('div', { 'aria-live': 'polite' });
  const updated = h('p', { class: 'muted small' });
  ctx.main.append(body, updated);

  const load = async () => {
    /** @type {[{models: Model[]}, Status, {deployments: Deployment[]}]} */
    const [m, status, deps] = await Promise.all([getJson('/api/registry/models'), getJson('/api/registry/status'), getJson('/api/registry/deployments')]);
    const models = m.models;
    const workers = status.workers.filter((w) => w.state === 'running' && w.reachable !== false).map((w) => w.worker);
    const mismatched = status.routers.filter((r) => Object.values(r.workers).some((a) => !a.ok)).length;
    const parts = [
      h(
        'div',
        { class: 'cards' },
        card('Models', String(models.length), `${models.reduce((n, x) => n + x.versions.length, 0)} versions`),
        card('Deployments', String(status.desired.length), status.desired.length ? status.desired.map((d) => `${d.scope} → ${d.target}`).join('; ') : 'none: every router uses its experiment default'),
        card('Inference workers', String(status.workers.length), `${workers.length} running`),
        card('Routers', String(status.routers.length), mismatched ? `${mismatched} not yet as desired` : 'all as desired'),
      ),
      h('h2', {}, 'Routers: desired vs actual'),
      h('p', { class: 'muted small' }, 'Desired: what the deployments say for the router (router > router type > all); actual: what each worker serves now. Change it with wattflow models deploy | switch | rollback.'),
      h(
        'div',
        { class: 'table-wrap' },
        table(
          ['Router', 'Type', 'Desired', 'From', ...workers],
          status.routers.map((r) => [
            h('a', { href: `#/routers/${encodeURIComponent(r.router)}` }, r.router),
            r.router_type,
            r.desired,
            r.desired_scope || 'experiment',
            ...workers.map((w) => {
              const a = r.workers[w];
              if (!a) return '–';
              return h('span', { class: `badge ${a.ok ? 'ok' : 'bad'}`, title: a.error ?? (a.ok ? 'as desired' : 'not as desired yet') }, `${a.actual}${a.error ? ' ⚠' : ''}`);
            }),
          ]),
          { empty: 'no routers known' },
        ),
      ),
      h('h2', {}, 'Registered models'),
    ];
    if (!models.length) parts.push(notice('info', 'No models yet: wattflow train … --register NAME, or wattflow models upload NAME model.onnx.'));
    for (const model of models) {
      parts.push(
        h('h3', {}, model.name),
        h(
          'p',
          { class: 'muted small' },
          `${model.description ? `${model.description} · ` : ''}router type ${model.router_type ?? '–'} · aliases: ${Object.entries(model.aliases).map(([a, v]) => `${a} → ${v}`).join(', ') || 'none'}`,
        ),
        h(
          'div',
          { class: 'table-wrap' },
          table(
            ['Version', 'Created', 'Type', 'MAE (W)', 'MAPE (%)', 'R²', 'Size', 'sha256', 'Aliases', 'Deployed to', 'Served by'],
            [...model.versions].reverse().map((v) => [
              h('b', {}, v.version),
              v.created_at.replace('T', ' ').slice(0, 19),
              v.model_type,
              fmt(v.metrics?.MAE ?? null, 3),
              fmt(v.metrics?.MAPE ?? null, 3),
              fmt(v.metrics?.R2 ?? null, 3),
              fmtBytes(v.size),
              h('code', { title: v.sha256 }, v.sha256.slice(0, 12)),
              v.aliases.map((a) => h('span', { class: 'badge' }, a)),
              v.deployed_to.join(', ') || '–',
              v.served_by.join(', ') || '–',
            ]),
            { numeric: [3, 4, 5, 6] },
          ),
        ),
      );
    }
    parts.push(
      h('h2', {}, 'Deployments'),
      h('p', { class: 'muted small' }, 'One record per scope (router > router type > all). "Rollback to" is what wattflow models rollback re-deploys for that scope.'),
      h(
        'div',
        { class: 'table-wrap' },
        table(
          ['Scope', 'Target', 'Since', 'Rollback to'],
          [...deps.deployments]
            .sort((a, b) => b.deployed_at.localeCompare(a.deployed_at))
            .map((d) => [scopeText(d.scope), target(d.target), `${d.deployed_at.replace('T', ' ').slice(0, 19)} (${ago(Date.parse(d.deployed_at))})`, d.previous === undefined ? '–' : target(d.previous)]),
          { empty: 'nothing deployed yet: every router uses its experiment default' },
        ),
      ),
      h('h2', {}, 'Inference workers'),
      h(
        'div',
        { class: 'table-wrap' },
        table(
          ['Worker', 'State', 'Reported', 'Models', 'Last error'],
          status.workers.map((w) => [
            w.worker,
            h('span', { class: `badge ${w.reachable === false ? 'bad' : w.state === 'running' ? 'ok' : ''}` }, w.reachable === false ? 'unreachable' : w.state),
            `${ago(Date.parse(w.updated_at))}`,
            w.models.map((x) => `${x.model}@${x.version}`).join(', ') || '–',
            w.errors.slice(-1)[0]?.error ?? '',
          ]),
          { empty: 'no inference worker has reported yet' },
        ),
      ),
    );
    replace(body, parts);
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}.`;
  };
  try {
    await load();
  } catch (err) {
    replace(body, notice('error', `Registry unavailable: ${/** @type {Error} */ (err).message}`));
  }
  let pending = false;
  const refresh = () => {
    if (pending) return;
    pending = true;
    setTimeout(() => {
      pending = false;
      void load().catch(() => undefined);
    }, 300);
  };
  const stream = new EventStream('/api/ui/stream?channels=models', (ev) => {
    if (ev.type === 'models') refresh();
  });
  const timer = setInterval(refresh, 10_000);
  return {
    unmount() {
      stream.close();
      clearInterval(timer);
    },
  };
}
