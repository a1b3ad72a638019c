/**
 * The sinks' configuration: the `influx` section (where and how the InfluxDB writer writes) as a
 * TypeBox schema, its type, and its environment aliases. src/app-config.ts composes it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConfigSection, Enum, type EnvAlias } from '../core/config.js';

export const influxSection = ConfigSection({
  /** Base URL; when absent nothing is written to InfluxDB. */
  url: Type.Optional(Type.String({ format: 'uri' })),
  /** 1 → /write?db= (InfluxDB 1.x); 2 → /api/v2/write?org=&bucket= (2.x, 3.x). */
  apiVersion: Enum([1, 2], { default: 1 }),
  database: Type.String({ default: 'wattflow' }),
  retentionPolicy: Type.Optional(Type.String()),
  org: Type.Optional(Type.String()),
  bucket: Type.Optional(Type.String()),
  token: Type.Optional(Type.String()),
  username: Type.Optional(Type.String()),
  password: Type.Optional(Type.String()),
  createDatabase: Type.Boolean({ default: true }),
  batchSize: Type.Integer({ minimum: 1, default: 5000 }),
  flushIntervalMs: Type.Integer({ minimum: 1, default: 1000 }),
  maxBufferPoints: Type.Integer({ minimum: 1, default: 100000 }),
  maxRetries: Type.Integer({ minimum: 0, default: 10 }),
  timeoutMs: Type.Integer({ minimum: 1, default: 10000 }),
});

export type InfluxConfig = Static<typeof influxSection>;

export const influxAliases: EnvAlias[] = [
  { env: 'INFLUX_URL', path: '/influx/url', parse: (v) => v },
  { env: 'INFLUX_TOKEN', path: '/influx/token', parse: (v) => v },
];
