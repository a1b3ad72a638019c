/**
 * The `ui` section of the app configuration: the built-in web UI that `wattflow up` and
 * `wattflow api` serve at `/` (docs/ui.md). Imports nothing from app-config.ts at run time
 * (app-config.ts imports it).
 */
import type { EnvAlias } from '../core/config.js';

export const uiSection = {
  type: 'object',
  properties: {
    /** Serve the UI (/, /ui/…, /api/ui/…) and run its live hub (a consumer of the ML topics). */
    enabled: { type: 'boolean', default: true },
    /** Recent points kept in memory per router for sparklines and the first paint of charts. */
    recentPoints: { type: 'integer', minimum: 10, maximum: 10000, default: 360 },
    /** Most concurrent event streams (SSE) per process; more are refused with 503. */
    maxStreams: { type: 'integer', minimum: 1, maximum: 10000, default: 200 },
    /** Events kept for Last-Event-ID resume beyond the latest state (the latest state of every router is always kept). */
    replayEvents: { type: 'integer', minimum: 0, maximum: 1000000, default: 5000 },
    /** Pipeline-health and energy samples: every this many ms. */
    sampleIntervalMs: { type: 'integer', minimum: 200, maximum: 60000, default: 2000 },
    /** The energy exporter the Energy page reads (default: http://<energy.host>:<energy.port>, the one `up` starts). */
    energyUrl: { type: 'string', format: 'uri' },
    /** Dead letters of the pipeline's `<topic>.dlq` topics are followed (newest kept in memory) when there are at most this many such topics. */
    maxDeadLetterTopics: { type: 'integer', minimum: 0, maximum: 100000, default: 200 },
    /** Dead letters kept in memory for the Pipeline page. */
    deadLetters: { type: 'integer', minimum: 0, maximum: 10000, default: 200 },
  },
  additionalProperties: false,
  default: {},
};

export interface UiConfig {
  enabled: boolean;
  recentPoints: number;
  maxStreams: number;
  replayEvents: number;
  sampleIntervalMs: number;
  energyUrl?: string;
  maxDeadLetterTopics: number;
  deadLetters: number;
}

const flag = (raw: string): unknown => {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  return raw;
};

export const uiAliases: EnvAlias[] = [
  { env: 'WATTFLOW_UI', path: '/ui/enabled', parse: flag },
  { env: 'WATTFLOW_ENERGY_URL', path: '/ui/energyUrl', parse: (v) => v },
];

export function uiDefaults(): UiConfig {
  return { enabled: true, recentPoints: 360, maxStreams: 200, replayEvents: 5000, sampleIntervalMs: 2000, maxDeadLetterTopics: 200, deadLetters: 200 };
}
