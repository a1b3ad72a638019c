/**
 * The unit every role is made of. A role (`wattflow collector`, `processor`, …) is one or
 * more components; `wattflow up` runs all of them in one process. Components share one HTTP
 * server (their routes plus /metrics, /healthz, /readyz) and one lifecycle.
 */
import type { FastifyInstance } from 'fastify';

export interface Component {
  readonly name: string;
  /** Registers HTTP routes on the shared server (optional). Called before start(). */
  routes?(app: FastifyInstance): void | Promise<void>;
  /** Starts background work (consumers, pollers). Must return once running. */
  start?(): Promise<void>;
  /** The shared server listens: its base URL (what clients of this process use). Called after start(), before the banner. */
  listening?(url: string): void;
  /** Graceful stop: finish in-flight work, flush, commit offsets, close. */
  stop?(): Promise<void>;
  /** Readiness: true, or a string saying what is not ready yet. */
  ready?(): true | string;
  /** Reload configuration (SIGHUP or a watched file changed). */
  reload?(): Promise<void>;
}
