/**
 * The `ui` section of the app configuration: the built-in web UI that `wattflow up` and
 * `wattflow api` serve at `/` (docs/ui.md).
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConfigSection, envFlag, validateWithSchema, type EnvAlias } from '../core/config.js';

export const uiSection = ConfigSection({
  /** Serve the UI (/, /ui/…, /api/ui/…) and run its live hub (a consumer of the ML topics). */
  enabled: Type.Boolean({ default: true }),
  /** Recent points kept in memory per router for sparklines and the first paint of charts. */
  recentPoints: Type.Integer({ minimum: 10, maximum: 10000, default: 360 }),
  /** Most concurrent event streams (SSE) per process; more are refused with 503. */
  maxStreams: Type.Integer({ minimum: 1, maximum: 10000, default: 200 }),
  /** Events kept for Last-Event-ID resume beyond the latest state (the latest state of every router is always kept). */
  replayEvents: Type.Integer({ minimum: 0, maximum: 1000000, default: 5000 }),
  /** Pipeline-health and energy samples: every this many ms. */
  sampleIntervalMs: Type.Integer({ minimum: 200, maximum: 60000, default: 2000 }),
  /** The energy exporter the Energy page reads (default: http://<energy.host>:<energy.port>, the one `up` starts). */
  energyUrl: Type.Optional(Type.String({ format: 'uri' })),
  /** Dead letters of the pipeline's `<topic>.dlq` topics are followed (newest kept in memory) when there are at most this many such topics. */
  maxDeadLetterTopics: Type.Integer({ minimum: 0, maximum: 100000, default: 200 }),
  /** Dead letters kept in memory for the Pipeline page. */
  deadLetters: Type.Integer({ minimum: 0, maximum: 10000, default: 200 }),
});
export type UiConfig = Static<typeof uiSection>;

export const uiAliases: EnvAlias[] = [
  { env: 'WATTFLOW_UI', path: '/ui/enabled', parse: envFlag },
  { env: 'WATTFLOW_ENERGY_URL', path: '/ui/energyUrl', parse: (v) => v },
];

export function uiDefaults(): UiConfig {
  return validateWithSchema<UiConfig>(uiSection, {}, '(ui defaults)');
}
