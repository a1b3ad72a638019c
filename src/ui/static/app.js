// The web UI's shell: views by URL hash (#/routers, #/routers/r1, #/vehicles, #/models,
// #/energy, #/health), the token dialog, the live-connection indicator and keyboard shortcuts
// (1–5: views; /: the current view's filter). Each view mounts into <main> and unmounts
// (closing its event stream and charts) when another one is shown.

import { getJson, getToken, onAuthProblem, onStreamState, prefetch, setToken, HttpError } from './api.js';
import { firstRequests } from './urls.js';
import { h, notice, replace } from './dom.js';
import { routersView, routerView } from './pages/routers.js';
import { allCharts } from './charts.js';

/**
 * @typedef {{version: string, role: string, experiment_id: string, polling_interval: number, routers: number,
 *   features: {routers: boolean, vehicles: boolean, registry: boolean, models_status: boolean, energy: string | null, influx: boolean, dead_letters: true | string}}} Info
 * @typedef {{main: HTMLElement, info: Info, query: URLSearchParams, params: string[], navigate: (hash: string) => void}} ViewContext
 * @typedef {{unmount?: () => void}} Mounted
 * @typedef {(ctx: ViewContext) => Mounted | Promise<Mounted>} View
 */

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const conn = /** @type {HTMLElement} */ (document.getElementById('conn'));
const footer = /** @type {HTMLElement} */ (document.getElementById('footer'));
const dialog = /** @type {HTMLDialogElement} */ (document.getElementById('token-dialog'));
const tokenInput = /** @type {HTMLInputElement} */ (document.getElementById('token-input'));
const tokenReason = /** @type {HTMLElement} */ (document.getElementById('token-reason'));

/** @type {Record<string, () => Promise<{default: View}> | {default: View}>} */
const lazy = {
  vehicles: () => import('./pages/vehicles.js'),
  vehicle: () => import('./pages/vehicles.js').then((m) => ({ default: m.vehicleView })),
  models: () => import('./pages/models.js'),
  energy: () => import('./pages/energy.js'),
  health: () => import('./pages/health.js'),
};

/** @type {Mounted | undefined} */
let current;
/** @type {Info | undefined} */
let info;
let renderSeq = 0;

/** @param {string} hash */
function navigate(hash) {
  if (location.hash === hash) void render();
  else location.hash = hash;
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '') || 'routers';
  const [path, qs] = raw.split('?');
  const parts = (path ?? '').split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  return { parts, query: new URLSearchParams(qs ?? '') };
}

/** @type {Promise<Info> | undefined} */
let infoPending;

/** What the server serves; kept in the tab (shown at once on a reload, refreshed behind). */
async function loadInfo() {
  infoPending ??= getJson('/api/ui/info').then(
    (x) => {
      infoPending = undefined;
      try {
        sessionStorage.setItem('wattflow.info', JSON.stringify(x));
      } catch {
        /* storage disabled */
      }
      return /** @type {Info} */ (x);
    },
    (err) => {
      infoPending = undefined;
      throw err;
    },
  );
  info = await infoPending;
  const i = /** @type {Info} */ (info);
  replace(footer, `wattflow ${i.version} · role ${i.role} · experiment ${i.experiment_id} · ${i.routers} routers, polling every ${i.polling_interval} s · keys: 1–5 views, / filter, ↑↓ Enter in tables`);
  return i;
}

async function render() {
  const seq = ++renderSeq;
  current?.unmount?.();
  current = undefined;
  const { parts, query } = parseHash();
  const name = parts[0] ?? 'routers';
  for (const a of document.querySelectorAll('nav a')) {
    const on = a.getAttribute('data-view') === name;
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    /** @returns {Promise<View | undefined>} */
    const viewOf = async () => {
      if (name === 'routers') return parts[1] ? routerView : routersView;
      if (name === 'vehicles') return (await (parts[1] ? lazy.vehicle : lazy.vehicles)()).default;
      if (lazy[name]) return (await lazy[name]()).default;
      return undefined;
    };
    // the view's first data, the server's description and the view's code at the same time
    for (const path of firstRequests(name, parts.slice(1), query, main, info?.features)) prefetch(path);
    const [i, view] = await Promise.all([info ?? loadInfo(), viewOf()]);
    if (seq !== renderSeq) return;
    if (!view) {
      replace(main, notice('warn', `No view "${name}". `, h('a', { href: '#/routers' }, 'Go to the routers.')));
      return;
    }
    main.replaceChildren();
    document.title = `wattflow · ${name}${parts[1] ? ` ${parts[1]}` : ''}`;
    document.body.removeAttribute('data-ready');
    const mounted = await view({ main, info: i, query, params: parts.slice(1), navigate });
    if (seq !== renderSeq) {
      mounted.unmount?.();
      return;
    }
    current = mounted;
    // the view has its first data on screen (the browser tests and the load benchmark wait for this)
    document.body.setAttribute('data-view', name);
    document.body.setAttribute('data-ready', String(performance.now()));
  } catch (err) {
    if (seq !== renderSeq) return;
    const e = /** @type {Error} */ (err);
    if (e instanceof HttpError && (e.status === 401 || e.status === 403)) {
      replace(main, notice('warn', e.message, ' ', h('button', { type: 'button', onclick: () => openTokenDialog(e.message) }, 'Enter a token')));
    } else {
      replace(main, notice('error', `Could not load this view: ${e.message}`));
    }
  }
}

/** @param {string} [reason] */
function openTokenDialog(reason) {
  if (dialog.open) return;
  tokenReason.textContent = reason ? `${reason}` : 'This server needs a bearer token with scope "read".';
  tokenInput.value = getToken();
  dialog.showModal();
  tokenInput.focus();
}

dialog.addEventListener('close', () => {
  const v = dialog.returnValue;
  if (v === 'save') setToken(tokenInput.value.trim());
  else if (v === 'clear') setToken('');
  if (v === 'save' || v === 'clear') {
    info = undefined;
    void render();
  }
});

onAuthProblem((err) => openTokenDialog(err.message));
/** @type {Record<string, string>} */
const STATE_TEXT = { connecting: 'connecting…', live: '● live', reconnecting: 'reconnecting…', auth: 'token needed', closed: '' };
onStreamState((s, detail) => {
  conn.textContent = STATE_TEXT[s] ?? s;
  conn.className = `conn ${s}`;
  conn.title = detail ?? 'live updates';
});

/** @param {KeyboardEvent} e */
function onKey(e) {
  const t = /** @type {HTMLElement} */ (e.target);
  if (e.ctrlKey || e.metaKey || e.altKey || dialog.open) return;
  if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA' || t.isContentEditable)) {
    if (e.key === 'Escape') t.blur();
    return;
  }
  const views = ['routers', 'vehicles', 'models', 'energy', 'health'];
  if (/^[1-5]$/.test(e.key)) {
    e.preventDefault();
    navigate(`#/${views[Number(e.key) - 1]}`);
    main.focus();
  } else if (e.key === '/') {
    const search = /** @type {HTMLElement | null} */ (main.querySelector('[data-search]'));
    if (search) {
      e.preventDefault();
      search.focus();
    }
  }
}

// read-only hooks for the browser tests and the load benchmark: the charts on screen and their points
Object.defineProperty(window, 'wattflow', {
  value: Object.freeze({ charts: () => allCharts().map((c) => ({ label: c.el.getAttribute('aria-label') ?? '', points: c.points })) }),
});

document.getElementById('token-button')?.addEventListener('click', () => openTokenDialog());
document.addEventListener('keydown', onKey);
window.addEventListener('hashchange', () => void render());
try {
  const cached = sessionStorage.getItem('wattflow.info');
  if (cached) {
    info = JSON.parse(cached);
    void loadInfo().catch(() => undefined); // refreshed behind the first render
  }
} catch {
  /* storage disabled or bad JSON: loaded by render() */
}
void render();
