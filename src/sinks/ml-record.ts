/**
 * What the sinks take from an ML message (topic ML_<router>): validation (the TP schema plus
 * output_ml_metrics) and the flat record both sinks store — time, tags and fields:
 *
 *   time   epoch_timestamp (seconds, a string) → ms
 *   tags   router (the message key), experiment_id, router_type, model
 *          (router_type/model from the `ml_metadata` extension when present — the model's
 *          router type, which differs from the router's only for a model deployed with
 *          --force —, else the experiment's router config: router type / model type; else
 *          'huawei' / 'dummy')
 *   fields power (W), occupation (%), packet_length (B), packet_rate (pkt/s),
 *          byte_rate_mbps (Mbit/s, when the TP message has the byte rate),
 *          power_rate_occupation, power_rate_packet_length
 *
 * Output metrics are one-element arrays or plain numbers (both occur in the reference); a field
 * whose value is missing or not finite is left out. A message without a finite power value or
 * a usable timestamp is invalid (dead letter).
 */
import type { RouterConfig } from '../router-power/experiment.js';
import { DEFAULT_MODEL_TYPE, DEFAULT_ROUTER_TYPE } from '../router-power/experiment-schema.js';
import {
  BYTE_RATE,
  OCCUPATION,
  PACKET_LENGTH,
  PACKET_RATE,
  POWER,
  POWER_RATE_OCCUPATION,
  POWER_RATE_PACKET_LENGTH,
  type MlMessage,
} from '../router-power/messages.js';

export const ML_MEASUREMENT = 'router_power';

export { mlSchema, parseMl } from '../router-power/validate.js';

export interface MlRecord {
  tsMs: number;
  tags: { router: string; experiment_id: string; router_type: string; model: string };
  fields: Record<string, number>;
}

const num = (v: unknown): number | undefined => {
  const x = Array.isArray(v) ? v[0] : v;
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
};

/** The record of a valid ML message, or the reason it cannot be stored. */
export function mlRecord(routerId: string, ml: MlMessage, router?: RouterConfig): MlRecord | { error: string } {
  const seconds = Number(ml.epoch_timestamp);
  if (!Number.isFinite(seconds)) return { error: `epoch_timestamp "${ml.epoch_timestamp}" is not a number` };
  const input = (name: string) => num(ml.input_ml_metrics.find((m) => m.name === name)?.value);
  const output = (name: string) => num(ml.output_ml_metrics.find((m) => m.name === name)?.value);
  const power = output(POWER);
  if (power === undefined) return { error: `${POWER} missing or not a finite number` };
  const fields: Record<string, number> = { power };
  const put = (key: string, v: number | undefined) => {
    if (v !== undefined) fields[key] = v;
  };
  put('occupation', input(OCCUPATION));
  put('packet_length', input(PACKET_LENGTH));
  put('packet_rate', input(PACKET_RATE));
  put('byte_rate_mbps', input(BYTE_RATE));
  put('power_rate_occupation', output(POWER_RATE_OCCUPATION));
  put('power_rate_packet_length', output(POWER_RATE_PACKET_LENGTH));
  const meta = (ml as { ml_metadata?: { router_type?: unknown; model?: unknown } }).ml_metadata;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    tsMs: seconds * 1000,
    tags: {
      router: routerId,
      experiment_id: String(ml.experiment_id),
      router_type: str(meta?.router_type) ?? router?.routerType ?? DEFAULT_ROUTER_TYPE,
      model: str(meta?.model) ?? router?.modelType ?? DEFAULT_MODEL_TYPE,
    },
    fields,
  };
}
