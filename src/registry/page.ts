/**
 * The registry's small web page (GET /registry): models with their versions (type, router type,
 * held-out metrics, size, sha256, aliases, where each is deployed and which workers serve it),
 * the desired deployments, and desired vs actual per router and worker. Server-rendered HTML,
 * every value escaped, refreshes itself every 10 s; no scripts.
 */
import type { ModelSummary, StatusReport } from './registry.js';

const esc = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const num = (v: number | null | undefined, digits = 3): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–');

const size = (n: number): string => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);

/**
 * A vehicle model (kind vehicle-anomaly): an isolation forest over the vehicle signals, served by
 * `wattflow vehicle-predictor --model NAME@REF` — its own columns, not a power model's (MAE in W).
 */
function vehicleSection(m: ModelSummary): string {
  const rows = [...m.versions]
    .reverse()
    .map(
      (v) => `<tr>
  <td><b>${esc(v.version)}</b></td><td>${esc(v.created_at.replace('T', ' ').slice(0, 19))}</td><td>vehicle anomaly (${esc(v.vehicle?.algorithm ?? 'isolation forest')})</td>
  <td class="n">${v.vehicle?.features ?? '–'}</td><td class="n">${num(v.vehicle?.threshold, 4)}</td><td class="n">${num(v.vehicle?.contamination, 3)}</td><td class="n">${v.vehicle?.trees ?? '–'}</td><td class="n">${v.vehicle?.training_vectors ?? '–'}</td>
  <td class="n">${size(v.size)}</td><td><code title="${esc(v.sha256)}">${esc(v.sha256.slice(0, 12))}</code></td>
  <td>${v.aliases.map((a) => `<span class="tag">${esc(a)}</span>`).join(' ')}</td>
</tr>`,
    )
    .join('\n');
  const ref = `${m.name}@${Object.keys(m.aliases)[0] ?? m.latest_version ?? '1'}`;
  return `<h2>${esc(m.name)}</h2>
<p>vehicle anomaly model · ${m.versions.length} version(s) · aliases: ${
    Object.entries(m.aliases)
      .map(([a, v]) => `${esc(a)} → ${esc(v)}`)
      .join(', ') || 'none'
  } · served by <code>wattflow vehicle-predictor --model ${esc(ref)}</code>, not deployed to inference workers</p>
<table><thead><tr><th>version</th><th>created (UTC)</th><th>type</th><th>features</th><th>score threshold</th><th>contamination</th><th>trees</th><th>training vectors</th><th>size</th><th>sha256</th><th>aliases</th></tr></thead>
<tbody>${rows || '<tr><td colspan="11">no versions</td></tr>'}</tbody></table>`;
}

export function renderRegistryPage(models: ModelSummary[], status: StatusReport, artifactStore: string): string {
  const modelSections = models.length
    ? models
        .map((m) => {
          if (m.versions.length > 0 && m.versions.every((v) => v.kind === 'vehicle-anomaly')) return vehicleSection(m);
          const rows = [...m.versions]
            .reverse()
            .map(
              (v) => `<tr>
  <td><b>${esc(v.version)}</b></td><td>${esc(v.created_at.replace('T', ' ').slice(0, 19))}</td><td>${esc(v.model_type)}</td><td>${esc(v.router_type)}</td>
  <td class="n">${num(v.metrics?.MAE)}</td><td class="n">${num(v.metrics?.MAPE)}</td><td class="n">${num(v.metrics?.R2)}</td><td class="n">${v.metrics?.rows ?? '–'}</td>
  <td class="n">${size(v.size)}</td><td><code title="${esc(v.sha256)}">${esc(v.sha256.slice(0, 12))}</code></td>
  <td>${v.aliases.map((a) => `<span class="tag">${esc(a)}</span>`).join(' ')}</td>
  <td>${esc(v.deployed_to.join(', ')) || '–'}</td><td>${esc(v.served_by.join(', ')) || '–'}</td>
</tr>`,
            )
            .join('\n');
          return `<h2>${esc(m.name)}</h2>
<p>${m.description ? `${esc(m.description)} · ` : ''}router type ${esc(m.router_type ?? '–')} · ${m.versions.length} version(s) · aliases: ${
            Object.entries(m.aliases)
              .map(([a, v]) => `${esc(a)} → ${esc(v)}`)
              .join(', ') || 'none'
          }</p>
<table><thead><tr><th>version</th><th>created (UTC)</th><th>type</th><th>router type</th><th>MAE (W)</th><th>MAPE (%)</th><th>R²</th><th>test rows</th><th>size</th><th>sha256</th><th>aliases</th><th>deployed to</th><th>served by</th></tr></thead>
<tbody>${rows || '<tr><td colspan="13">no versions</td></tr>'}</tbody></table>`;
        })
        .join('\n')
    : '<p>No models yet: <code>wattflow train … --register NAME</code> or <code>wattflow models upload NAME model.onnx</code>.</p>';

  const desired = status.desired.length
    ? status.desired.map((d) => `<tr><td>${esc(d.scope)}</td><td>${esc(d.target)}</td><td>${esc(d.deployed_at)}</td></tr>`).join('\n')
    : '<tr><td colspan="3">nothing deployed: every router uses its experiment default (dummy formula)</td></tr>';

  const workerNames = status.workers.filter((w) => w.state === 'running' && w.reachable !== false).map((w) => w.worker);
  const routers = status.routers
    .map((r) => {
      const cells = workerNames
        .map((w) => {
          const a = r.workers[w];
          if (!a) return '<td>–</td>';
          return `<td class="${a.ok ? 'ok' : 'bad'}" title="${esc(a.error ?? '')}">${esc(a.actual)}${a.error ? ' ⚠' : ''}</td>`;
        })
        .join('');
      return `<tr><td>${esc(r.router)}</td><td>${esc(r.router_type)}</td><td>${esc(r.desired)}</td><td>${esc(r.desired_scope || 'experiment')}</td>${cells}</tr>`;
    })
    .join('\n');

  const workers = status.workers.length
    ? status.workers
        .map(
          (w) =>
            `<tr><td>${esc(w.worker)}</td><td>${esc(w.reachable === false ? 'unreachable' : w.state)}</td><td>${esc(w.url ?? '')}</td><td>${esc(w.updated_at)}</td><td>${esc(
              w.models.map((m) => `${m.model}@${m.version}`).join(', ') || '–',
            )}</td><td>${esc(w.errors.slice(-1)[0]?.error ?? '')}</td></tr>`,
        )
        .join('\n')
    : '<tr><td colspan="6">no inference worker has reported yet</td></tr>';

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10">
<title>wattflow model registry</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
.tag{background:#e6f0ff;border-radius:3px;padding:0 4px}.ok{background:#eaf7ea}.bad{background:#fdecea}
code{font-size:12px}h2{margin-bottom:.2em}
</style></head><body>
<h1>wattflow model registry</h1>
<p>Artifacts: ${esc(artifactStore)} · API: <a href="/api/registry/models">/api/registry/models</a>, <a href="/api/registry/status">/api/registry/status</a></p>
${modelSections}
<h2>Deployments (desired)</h2>
<table><thead><tr><th>scope</th><th>target</th><th>since</th></tr></thead><tbody>${desired}</tbody></table>
<h2>Routers: desired vs actual</h2>
<table><thead><tr><th>router</th><th>type</th><th>desired</th><th>from</th>${workerNames.map((w) => `<th>${esc(w)}</th>`).join('')}</tr></thead>
<tbody>${routers || '<tr><td colspan="4">no routers known</td></tr>'}</tbody></table>
<h2>Inference workers</h2>
<table><thead><tr><th>worker</th><th>state</th><th>url</th><th>reported</th><th>models</th><th>last error</th></tr></thead><tbody>${workers}</tbody></table>
</body></html>
`;
}
