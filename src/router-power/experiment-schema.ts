/**
 * JSON Schema of the experiment configuration (the reference's config.json), made
 * consistent: the published schema requires `router_type` but never defines it and the
 * shipped config.json has none. Here `router_type` and `model_type` are optional with
 * defaults. Additive extensions (documented in docs/experiment-config.md) are optional too.
 */
export const DEFAULT_ROUTER_TYPE = 'huawei';
export const DEFAULT_MODEL_TYPE = 'dummy';

export const experimentSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: {
    experiment_id: { type: 'string', minLength: 1, description: 'Experiment unique identifier' },
    flag_original_metrics: { type: 'boolean' },
    flag_debug_params: { type: 'boolean' },
    max_throughput_mbps: { type: 'number', exclusiveMinimum: 0, description: "Maximum bit rate for router's links [Mbps]" },
    polling_interval: { type: 'number', minimum: 0.05, description: 'Seconds between polls' },
    multiplier: { type: 'integer', minimum: 1, maximum: 2000 },
    // extension: where test_metrics_<router>.json files live (default: bundled reference files)
    test_metrics_dir: { type: 'string' },
    // extension: topic name patterns for the later stages; {router} is replaced by the router id
    topics: {
      type: 'object',
      properties: {
        processed: { type: 'string', default: 'TP_{router}' },
        predictions: { type: 'string', default: 'ML_{router}' },
      },
      additionalProperties: false,
      default: {},
    },
    routers: {
      type: 'array',
      items: {
        type: 'object',
        minProperties: 1,
        maxProperties: 1,
        patternProperties: {
          '.+': {
            type: 'object',
            properties: {
              collector_url: { type: 'string', format: 'uri' },
              topic: { type: 'string', minLength: 1 },
              interfaces: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
              test_metrics: { type: 'boolean', default: false },
              router_type: { type: 'string', minLength: 1, default: DEFAULT_ROUTER_TYPE },
              model_type: { type: 'string', minLength: 1, default: DEFAULT_MODEL_TYPE },
              // extensions
              source: { enum: ['collector', 'direct', 'test_metrics', 'synthetic'] },
              exporter_url: { type: 'string', format: 'uri' },
              max_throughput_mbps: { type: 'number', exclusiveMinimum: 0 },
            },
            required: ['topic', 'interfaces'],
            additionalProperties: false,
          },
        },
        additionalProperties: false,
      },
    },
  },
  required: [
    'experiment_id',
    'flag_original_metrics',
    'flag_debug_params',
    'max_throughput_mbps',
    'polling_interval',
    'multiplier',
    'routers',
  ],
  additionalProperties: false,
} as const;
