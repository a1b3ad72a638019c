// Small DOM and formatting helpers. Every value from the server is put into the page as text
// (textContent / attributes), never as HTML.

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Record<string, string | number | boolean | null | undefined | EventListener>} Attrs
 */

/**
 * Creates an element: h('a', {href: '#/x', class: 'y', onclick: fn}, 'text', child…).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

/**
 * @param {Element} el
 * @param {Array<Child | Child[]>} children
 */
export function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'object' ? c : String(c));
  }
}

/**
 * Replaces an element's content.
 * @param {Element} el
 * @param {...(Child | Child[])} children
 */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/**
 * A number for people: fixed digits by magnitude, '–' when unknown.
 * @param {number | null | undefined} v
 * @param {number} [digits]
 */
export function fmt(v, digits) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (digits !== undefined) return v.toFixed(digits);
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)} k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  if (a === 0) return '0';
  if (a >= 0.001) return v.toFixed(4);
  return v.toExponential(2);
}

/** @param {number} bytes */
export function fmtBytes(bytes) {
  if (!Number.isFinite(bytes)) return '–';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * "12 s ago" from a time in ms.
 * @param {number | null | undefined} tMs
 * @param {number} [now]
 */
export function ago(tMs, now = Date.now()) {
  if (tMs === null || tMs === undefined || !Number.isFinite(tMs)) return '–';
  const s = Math.max(0, Math.round((now - tMs) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** @param {number} tMs */
export function clock(tMs) {
  const d = new Date(tMs);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/**
 * A sparkline as inline SVG (no chart library for a hundred small lines).
 * @param {number[]} values
 * @param {{width?: number, height?: number, label?: string}} [o]
 */
export function sparkSvg(values, o = {}) {
  const w = o.width ?? 120;
  const hgt = o.height ?? 24;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${hgt}`);
  svg.setAttribute('width', String(w));
  svg.setAttribute('height', String(hgt));
  svg.setAttribute('class', 'spark');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', o.label ?? 'trend');
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length < 2) return svg;
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  const span = max - min || 1;
  const step = w / (values.length - 1);
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) {
      pen = false;
      return;
    }
    const x = (i * step).toFixed(1);
    const y = (hgt - 2 - ((v - min) / span) * (hgt - 4)).toFixed(1);
    d += `${pen ? 'L' : 'M'}${x},${y}`;
    pen = true;
  });
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', d);
  svg.append(path);
  return svg;
}

/**
 * A small status card.
 * @param {string} label
 * @param {Child} value
 * @param {Child} [sub]
 */
export function card(label, value, sub) {
  return h('div', { class: 'card' }, h('div', { class: 'card-label' }, label), h('div', { class: 'card-value' }, value), sub ? h('div', { class: 'card-sub' }, sub) : null);
}

/**
 * A notice box: info, warn or error.
 * @param {'info' | 'warn' | 'error'} kind
 * @param {...Child} children
 */
export function notice(kind, ...children) {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'note' }, ...children);
}

/**
 * A table from headers and rows of cells.
 * @param {string[]} headers
 * @param {Array<Array<Child | Child[]>>} rows
 * @param {{caption?: string, empty?: string, numeric?: number[]}} [o]
 */
export function table(headers, rows, o = {}) {
  const num = new Set(o.numeric ?? []);
  return h(
    'table',
    {},
    o.caption ? h('caption', {}, o.caption) : null,
    h('thead', {}, h('tr', {}, headers.map((x, i) => h('th', { scope: 'col', class: num.has(i) ? 'n' : null }, x)))),
    h(
      'tbody',
      {},
      rows.length ? rows.map((r) => h('tr', {}, r.map((c, i) => h('td', { class: num.has(i) ? 'n' : null }, c)))) : h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, o.empty ?? 'nothing yet')),
    ),
  );
}
