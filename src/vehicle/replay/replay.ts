/**
 * The replay tool (`wattflow replay-vehicle`): reads a log in the reference CSV format and sends
 * each signal's samples to the Vehicle API at their own time stamps — in real time (scaled by
 * `speed`) or as fast as possible — on a clock starting at `startMs` (default: now in real time;
 * as fast as possible, the log ends now), so the API
 * sees what a vehicle would send. 429 and 503 answers are retried after Retry-After (the API
 * de-duplicates, so a retried batch is idempotent); a 4xx other than those stops the replay.
 * The report adds up: accepted + rejected = measurements sent = samples in the file.
 */
import { logMeasurements, readVehicleLog, type LogWarning, type TimedMeasurement } from '../logs/csv-log.js';
import type { IngestResult } from '../ingest/ingest-service.js';

export interface ReplayOptions {
  file: string;
  vehicleId: string;
  /** Base URL of the Vehicle API (default http://127.0.0.1:8000). */
  target: string;
  /** Real-time factor (default 1); ignored when asFastAsPossible. */
  speed?: number;
  asFastAsPossible?: boolean;
  /** Measurements per request (as fast as possible; real time sends what is due, up to this). */
  batchSize?: number;
  token?: string;
  /** Clock of the log's time 0 (epoch ms; default now, or now − the log's duration when as fast as possible). */
  startMs?: number;
  /** Retries of one request on 429/503/network errors. */
  maxRetries?: number;
  signal?: AbortSignal;
  onProgress?: (r: ReplayReport) => void;
}

export interface ReplayReport {
  file: string;
  vehicleId: string;
  /** Samples in the file. */
  measurements: number;
  sent: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  flagged: number;
  vectors: number;
  /** Rejections by reason code, with one example message each. */
  rejections: Record<string, { count: number; example: string }>;
  requests: number;
  retries: number;
  elapsedMs: number;
  /** Measurements per second (sent / elapsed). */
  rate: number;
  warnings: LogWarning[];
  startMs: number;
}

export class ReplayError extends Error {}

/**
 * Waits `ms` or until the signal aborts. The abort listener is removed when the timer fires: a
 * `{once: true}` listener only goes away on abort, so a real-time replay (one wait per due
 * sample) used to pile thousands of them on the one signal (MaxListenersExceededWarning).
 */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * A signal for one request that follows `outer`, and its release. fetch() is given this one, not
 * the replay's long-lived signal: undici keeps its abort listener on the signal it is given until
 * the request is garbage-collected, so hundreds of requests on one signal piled up listeners.
 */
function requestSignal(outer: AbortSignal | undefined): { signal?: AbortSignal; release(): void } {
  if (!outer) return { release: () => undefined };
  const ac = new AbortController();
  const onAbort = () => ac.abort(outer.reason);
  if (outer.aborted) ac.abort(outer.reason);
  else outer.addEventListener('abort', onAbort, { once: true });
  return { signal: ac.signal, release: () => outer.removeEventListener('abort', onAbort) };
}

async function send(o: ReplayOptions, batch: TimedMeasurement[], report: ReplayReport): Promise<void> {
  const url = new URL(`/v1/vehicles/${encodeURIComponent(o.vehicleId)}/measurements`, o.target).toString();
  const body = JSON.stringify(batch);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  const maxRetries = o.maxRetries ?? 30;
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    let text: string;
    const req = requestSignal(o.signal);
    try {
      res = await fetch(url, { method: 'POST', headers, body, ...(req.signal ? { signal: req.signal } : {}) });
      text = await res.text();
    } catch (err) {
      if (o.signal?.aborted) throw new ReplayError('replay aborted');
      if (attempt >= maxRetries) throw new ReplayError(`cannot reach ${o.target}: ${(err as Error).message}`);
      report.retries++;
      await sleep(Math.min(200 * 2 ** attempt, 5000), o.signal);
      continue;
    } finally {
      req.release();
    }
    report.requests++;
    if (res.status === 200) {
      const r = JSON.parse(text) as IngestResult;
      report.sent += batch.length;
      report.accepted += r.accepted;
      report.rejected += r.rejected;
      report.duplicates += r.duplicates;
      report.flagged += r.flagged;
      report.vectors += r.vectors;
      for (const rej of r.rejections) {
        const e = (report.rejections[rej.code] ??= { count: 0, example: `${rej.signal ?? ''}: ${rej.reason}` });
        e.count++;
      }
      return;
    }
    if ((res.status === 429 || res.status === 503) && attempt < maxRetries) {
      report.retries++;
      const after = Number(res.headers.get('retry-after'));
      await sleep(Number.isFinite(after) && after > 0 ? after * 1000 : Math.min(200 * 2 ** attempt, 5000), o.signal);
      continue;
    }
    let reason = text;
    try {
      reason = (JSON.parse(text) as { error?: string }).error ?? text;
    } catch {
      /* not JSON */
    }
    const hint = res.status === 401 || res.status === 403 ? `; ${res.status === 401 ? 'set WATTFLOW_TOKEN (or --token) to a valid token' : 'set WATTFLOW_TOKEN (or --token) to a token with scope ingest'}` : '';
    throw new ReplayError(`${url}: HTTP ${res.status}: ${reason.slice(0, 500)}${hint}`);
  }
}

export async function replayVehicleLog(o: ReplayOptions): Promise<ReplayReport> {
  const log = readVehicleLog(o.file);
  // default clock: real time starts now; as fast as possible ends now (the log "just happened")
  const duration = Math.max(0, ...log.signals.flatMap((s) => s.samples.map((x) => x.t))) * 1000;
  const startMs = Math.round(o.startMs ?? (o.asFastAsPossible ? Date.now() - duration : Date.now()));
  const all = logMeasurements(log, startMs);
  const batchSize = o.batchSize ?? 500;
  const speed = o.speed ?? 1;
  if (!(speed > 0)) throw new ReplayError(`speed must be > 0, got ${speed}`);
  const report: ReplayReport = {
    file: o.file,
    vehicleId: o.vehicleId,
    measurements: log.measurements,
    sent: 0,
    accepted: 0,
    rejected: 0,
    duplicates: 0,
    flagged: 0,
    vectors: 0,
    rejections: {},
    requests: 0,
    retries: 0,
    elapsedMs: 0,
    rate: 0,
    warnings: log.warnings,
    startMs,
  };
  const t0 = performance.now();
  const finish = () => {
    report.elapsedMs = performance.now() - t0;
    report.rate = report.elapsedMs > 0 ? (report.sent / report.elapsedMs) * 1000 : 0;
  };
  let i = 0;
  while (i < all.length) {
    if (o.signal?.aborted) break;
    let end: number;
    if (o.asFastAsPossible) end = Math.min(all.length, i + batchSize);
    else {
      // real time: wait for the next sample, then send everything due (each sample at its own time stamp)
      const dueAt = (k: number) => (all[k]!.timestamp - startMs) / speed;
      const wait = dueAt(i) - (performance.now() - t0);
      if (wait > 0) await sleep(wait, o.signal);
      const now = performance.now() - t0;
      end = i;
      while (end < all.length && end - i < batchSize && dueAt(end) <= now) end++;
      if (end === i) end = i + 1;
    }
    await send(o, all.slice(i, end), report);
    i = end;
    finish();
    o.onProgress?.(report);
  }
  finish();
  return report;
}

/** A one-screen summary of a report. */
export function formatReplayReport(r: ReplayReport): string {
  const lines = [
    `${r.file} → vehicle ${r.vehicleId}: ${r.sent}/${r.measurements} measurements sent in ${(r.elapsedMs / 1000).toFixed(2)} s (${Math.round(r.rate)}/s, ${r.requests} requests${r.retries ? `, ${r.retries} retries` : ''})`,
    `  accepted ${r.accepted} (duplicates ${r.duplicates}, flagged ${r.flagged}), rejected ${r.rejected}, vectors ${r.vectors}`,
  ];
  for (const [code, e] of Object.entries(r.rejections)) lines.push(`  rejected ${code}: ${e.count} (e.g. ${e.example})`);
  for (const w of r.warnings) lines.push(`  log warning line ${w.line}${w.column ? `, column ${w.column}` : ''}: ${w.message}`);
  return lines.join('\n');
}
