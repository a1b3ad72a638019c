/**
 * Schema validation of incoming TD and TP messages (ajv). A message that fails goes to the
 * dead-letter topic with the reason (JSON path + problem) instead of crashing a worker.
 */
import type { ValidateFunction } from 'ajv';
import { formatAjvError, newAjv } from '../core/config.js';
import type { MlMessage, TdMessage, TpMessage } from './messages.js';
import type { MessageParser } from '../stage/message-parser.js';

export type { MessageParser, Validated } from '../stage/message-parser.js';

const numericString = { type: 'string', pattern: '^\\s*[-+]?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d+)?\\s*$' };

const metricFamily = {
  type: 'object',
  required: ['name', 'values'],
  properties: {
    name: { type: 'string' },
    description: { type: 'string' },
    type: { type: 'string' },
    values: {
      type: 'array',
      items: {
        type: 'object',
        required: ['labels', 'value'],
        properties: {
          labels: {
            type: 'array',
            items: { type: 'object', required: ['name', 'value'], properties: { name: { type: 'string' }, value: { type: 'string' } } },
          },
          value: { type: 'string' },
        },
      },
    },
  },
};

export const tdSchema = {
  type: 'object',
  required: ['node_exporter', 'epoch_timestamp', 'experiment_id', 'interfaces', 'flag_debug_params', 'metrics'],
  properties: {
    node_exporter: { type: 'string', minLength: 1 },
    epoch_timestamp: numericString,
    experiment_id: { type: 'string' },
    interfaces: { type: 'array', minItems: 1, items: { type: 'string' } },
    flag_debug_params: { type: 'boolean' },
    debug_params: {
      type: 'object',
      properties: {
        flag_original_metrics: { type: 'boolean' },
        max_throughput_mbps: { type: 'number', exclusiveMinimum: 0 },
        polling_interval: { type: 'number', exclusiveMinimum: 0 },
        collector_timestamp: { type: 'string' },
      },
    },
    metrics: { type: 'array', items: metricFamily },
  },
};

export const tpSchema = {
  type: 'object',
  required: ['node_exporter', 'epoch_timestamp', 'experiment_id', 'interfaces', 'flag_debug_params', 'input_ml_metrics'],
  properties: {
    ...tdSchema.properties,
    input_ml_metrics: {
      type: 'array',
      minItems: 3,
      items: { type: 'object', required: ['name', 'value'], properties: { name: { type: 'string' }, type: { type: 'string' }, value: { type: 'number' } } },
    },
  },
};

/** ML messages (ML_<router>): a TP message plus output_ml_metrics (and the ml_metadata extension). */
export const mlSchema = {
  ...tpSchema,
  required: [...tpSchema.required, 'output_ml_metrics'],
  properties: {
    ...tpSchema.properties,
    output_ml_metrics: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['name', 'value'],
        properties: {
          name: { type: 'string' },
          type: { type: 'string' },
          value: { anyOf: [{ type: 'number' }, { type: 'array', items: { type: 'number' } }] },
        },
      },
    },
    ml_metadata: {
      type: 'object',
      properties: { router_type: { type: 'string' }, model: { type: 'string' }, model_type: { type: 'string' } },
    },
  },
};



function makeValidator<T>(schema: object, what: string): MessageParser<T> {
  let validate: ValidateFunction | undefined;
  return (raw: string, decoded?: unknown) => {
    validate ??= newAjv().compile(schema);
    let parsed: unknown = decoded;
    if (parsed === undefined) {
      try {
        parsed = JSON.parse(raw);
      } catch (err) {
        return { ok: false, reason: `not JSON: ${(err as Error).message}` };
      }
    }
    if (!validate(parsed)) {
      const e = validate.errors?.[0];
      const { path, reason } = e ? formatAjvError(e) : { path: '', reason: 'invalid' };
      return { ok: false, reason: `invalid ${what} message at ${path || '/'}: ${reason}` };
    }
    return { ok: true, message: parsed as T };
  };
}

export const parseTd = makeValidator<TdMessage>(tdSchema, 'TD');
export const parseTp = makeValidator<TpMessage>(tpSchema, 'TP');
export const parseMl = makeValidator<MlMessage>(mlSchema, 'ML');
