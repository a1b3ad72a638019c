// Time-series charts on uPlot (served from the package: vendor/uplot.js). A chart keeps its own
// columns, appends live points, trims to its window, and breaks the line where data is missing.

import { fmt } from './dom.js';

export const COLORS = ['#1f6feb', '#d1495b', '#2e8540', '#8e44ad', '#e08e0b', '#00798c', '#6c757d', '#b5179e'];

/**
 * @typedef {{label: string, color?: string, unit?: string, scale?: string, dash?: number[], width?: number, fill?: string}} SeriesSpec
 * @typedef {{title?: string, series: SeriesSpec[], height?: number, units?: Record<string, string>, windowS?: number | null, gapS?: number, ariaLabel?: string, fixed?: {fromMs: number, toMs: number}}} ChartSpec
 */

/** @type {Set<TimeChart>} */
const charts = new Set();

/** Every chart on the page (tests and the benchmark read their point counts). */
export function allCharts() {
  return [...charts];
}

export class TimeChart {
  /**
   * @param {HTMLElement} el container (the chart fills its width)
   * @param {ChartSpec} spec
   */
  constructor(el, spec) {
    this.el = el;
    this.spec = spec;
    /** @type {number[]} */
    this.xs = [];
    /** @type {Array<Array<number | null>>} */
    this.ys = spec.series.map(() => []);
    /** Seconds of data kept while live (null: keep all). */
    this.windowS = spec.windowS ?? null;
    /** A gap longer than this (s) is drawn as a break. */
    this.gapS = spec.gapS ?? 0;
    this.scheduled = false;
    el.classList.add('chart');
    el.setAttribute('role', 'img');
    el.setAttribute('aria-label', spec.ariaLabel ?? spec.title ?? 'chart');
    const units = spec.units ?? {};
    /** @type {UPlotSeries[]} */
    const series = [
      {},
      ...spec.series.map((s, i) => ({
        label: s.label,
        stroke: s.color ?? COLORS[i % COLORS.length],
        width: s.width ?? 1.5,
        ...(s.dash ? { dash: s.dash } : {}),
        ...(s.fill ? { fill: s.fill } : {}),
        scale: s.scale ?? 'y',
        spanGaps: false,
        // dots while there are few points (a single prediction is visible before it has a line)
        points: { show: (/** @type {UPlot} */ u) => (u.data[0]?.length ?? 0) < 30, size: 5 },
        value: (/** @type {UPlot} */ _u, /** @type {number | null} */ v) => (v === null || v === undefined ? '–' : `${fmt(v)}${s.unit ? ` ${s.unit}` : ''}`),
      })),
    ];
    const scales = new Set(spec.series.map((s) => s.scale ?? 'y'));
    /** @type {UPlotAxis[]} */
    const axes = [{ stroke: '#555', grid: { stroke: '#eee' }, ticks: { stroke: '#ddd' } }];
    let side = 3;
    for (const sc of scales) {
      axes.push({
        scale: sc,
        side,
        stroke: '#555',
        grid: { show: side === 3, stroke: '#eee' },
        ticks: { stroke: '#ddd' },
        size: 60,
        label: units[sc] ?? '',
        labelSize: 18,
        values: (/** @type {UPlot} */ _u, /** @type {number[]} */ vals) => tickLabels(vals),
      });
      side = 1;
    }
    /** @type {UPlotOptions} */
    const opts = {
      width: Math.max(200, el.clientWidth || 600),
      height: spec.height ?? 200,
      ...(spec.title ? { title: spec.title } : {}),
      series,
      axes,
      // the x axis spans the chosen time range (live: the last windowS seconds up to now), not
      // just the data: a first point shows where it belongs, not stretched over years
      scales: {
        x: {
          time: true,
          range: (/** @type {UPlot} */ _u, /** @type {number} */ min, /** @type {number} */ max) => {
            if (spec.fixed) return [spec.fixed.fromMs / 1000, spec.fixed.toMs / 1000];
            if (this.windowS !== null) {
              const now = Date.now() / 1000;
              return [now - this.windowS, Math.max(now, Number.isFinite(max) ? max : now)];
            }
            return Number.isFinite(min) && max > min ? [min, max] : [(min || Date.now() / 1000) - 60, (max || Date.now() / 1000) + 1];
          },
        },
      },
      legend: { live: true },
      cursor: { drag: { x: true, y: false } },
    };
    this.u = new uPlot(opts, [[], ...spec.series.map(() => [])], el);
    this.resize = new ResizeObserver(() => {
      const w = Math.max(200, this.el.clientWidth);
      if (Math.abs(w - this.u.width) > 2) this.u.setSize({ width: w, height: this.u.height });
    });
    this.resize.observe(el);
    charts.add(this);
  }

  /** Points drawn (for tests: charts gain points while the pipeline runs). */
  get points() {
    return this.xs.length;
  }

  /**
   * Replaces the data: times in ms, one column per series.
   * @param {number[]} tMs
   * @param {Array<Array<number | null>>} cols
   */
  setData(tMs, cols) {
    this.xs = tMs.map((t) => t / 1000);
    this.ys = this.spec.series.map((_, i) => [...(cols[i] ?? [])]);
    this.redraw();
  }

  /**
   * Appends one point (time in ms); an older or equal time than the last is ignored.
   * @param {number} tMs
   * @param {Array<number | null>} values
   */
  append(tMs, values) {
    const x = tMs / 1000;
    const last = this.xs[this.xs.length - 1];
    if (last !== undefined && x <= last) return;
    this.xs.push(x);
    this.spec.series.forEach((_, i) => this.ys[i].push(values[i] ?? null));
    if (this.windowS !== null) {
      const from = x - this.windowS;
      let drop = 0;
      while (drop < this.xs.length && this.xs[drop] < from) drop++;
      if (drop > 0) {
        this.xs.splice(0, drop);
        for (const col of this.ys) col.splice(0, drop);
      }
    }
    this.redraw();
  }

  /** Redraws once per frame, however many points arrived. */
  redraw() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.u.setData(/** @type {UPlotData} */ (withGaps(this.xs, this.ys, this.gapS)));
    });
  }

  destroy() {
    charts.delete(this);
    this.resize.disconnect();
    this.u.destroy();
  }
}

/**
 * Axis labels with as many decimals as the tick spacing needs (701.2, 701.4 — not 701, 701).
 * @param {number[]} vals
 */
export function tickLabels(vals) {
  const step = vals.length > 1 ? Math.abs(vals[1] - vals[0]) : 0;
  const big = Math.max(...vals.map((v) => Math.abs(v)));
  if (big >= 1e6 && step >= 1e4) return vals.map((v) => `${(v / 1e6).toFixed(step >= 1e6 ? 0 : 2)} M`);
  if (big >= 1e4 && step >= 100) return vals.map((v) => `${(v / 1e3).toFixed(step >= 1e3 ? 0 : 1)} k`);
  const decimals = step > 0 ? Math.min(6, Math.max(0, Math.ceil(-Math.log10(step) + 1e-9))) : 2;
  return vals.map((v) => v.toFixed(decimals));
}

/**
 * Inserts a null after each point followed by a gap longer than gapS, so the line breaks there.
 * @param {number[]} xs seconds
 * @param {Array<Array<number | null>>} ys
 * @param {number} gapS
 * @returns {[number[], ...Array<Array<number | null>>]}
 */
export function withGaps(xs, ys, gapS) {
  if (!gapS || xs.length < 2) return [xs, ...ys];
  /** @type {number[]} */
  const ox = [];
  const oy = ys.map(() => /** @type {Array<number | null>} */ ([]));
  for (let i = 0; i < xs.length; i++) {
    if (i > 0 && xs[i] - xs[i - 1] > gapS) {
      ox.push((xs[i] + xs[i - 1]) / 2);
      for (const col of oy) col.push(null);
    }
    ox.push(xs[i]);
    ys.forEach((col, j) => oy[j].push(col[i] ?? null));
  }
  return [ox, ...oy];
}

/**
 * Gaps in a series of times (ms): count and longest, given the expected step.
 * @param {number[]} tMs
 * @param {number} stepMs
 */
export function gapsOf(tMs, stepMs) {
  let count = 0;
  let longest = 0;
  for (let i = 1; i < tMs.length; i++) {
    const d = tMs[i] - tMs[i - 1];
    if (d > stepMs * 2.5) {
      count++;
      longest = Math.max(longest, d);
    }
  }
  return { count, longestMs: longest };
}
