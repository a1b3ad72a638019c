/**
 * A Server-Sent Events reader for tests (fetch + the SSE line format, as the browser code
 * reads it): events are collected as they arrive; waitFor() waits for a condition on them.
 */
import { waitFor } from '../helpers/wait-for.js';

export interface SseEvent {
  type: string;
  id: string;
  data: any;  
}

export interface SseConnection {
  status: number;
  events: SseEvent[];
  /** The last `id:` received (what a reconnect sends as Last-Event-ID). */
  lastEventId: string;
  waitFor<T>(fn: (events: SseEvent[]) => T | undefined | false, ms?: number, what?: string): Promise<T>;
  close(): void;
  closed: Promise<void>;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseConnection> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const events: SseEvent[] = [];
  const conn: SseConnection = {
    status: res.status,
    events,
    lastEventId: headers['last-event-id'] ?? '',
    waitFor: async (fn, ms = 10_000, what = 'condition') =>
      waitFor(() => fn(events), ms, () => `SSE ${what} (${events.length} events: ${events.slice(-3).map((e) => e.type).join(', ')})`),
    close: () => abort.abort(),
    closed: Promise.resolve(),
  };
  if (res.status !== 200 || !res.body) {
    conn.closed = res.text().then(() => undefined);
    return conn;
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  conn.closed = (async () => {
    let buf = '';
    let type = 'message';
    let data = '';
    let id = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line === '') {
            if (data) {
              if (id) conn.lastEventId = id;
              events.push({ type, id, data: JSON.parse(data) });
            }
            type = 'message';
            data = '';
            id = '';
          } else if (!line.startsWith(':')) {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'event') type = val;
            else if (field === 'data') data = data ? `${data}\n${val}` : val;
            else if (field === 'id') id = val;
          }
        }
      }
    } catch {
      // aborted
    }
  })();
  return conn;
}
