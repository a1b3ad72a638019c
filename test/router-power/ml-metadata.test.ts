/**
 * ml_metadata.router_type is the model's router type (issue 17: it was the router's): a model
 * made for another router type, deployed with --force, is named as what it is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, OutgoingMessage } from '../../src/fabric/fabric.js';
import { ExperimentSource, normalizeExperiment } from '../../src/router-power/experiment.js';
import { DummyPredictors } from '../../src/router-power/inference/dummy-predictor.js';
import { createBatchPredictor } from '../../src/router-power/inference/inference.js';
import type { PowerPredictor } from '../../src/router-power/inference/predictor.js';
import type { MlMessage, TpMessage } from '../../src/router-power/messages.js';

const tp = JSON.parse(readFileSync(new URL('../fixtures/across/wire/tp-input.ndjson', import.meta.url), 'utf8').split('\n')[0]!) as TpMessage;
const experiment = new ExperimentSource(
  normalizeExperiment(
    {
      experiment_id: '1',
      flag_original_metrics: true,
      flag_debug_params: true,
      max_throughput_mbps: 100,
      polling_interval: 5,
      multiplier: 2000,
      routers: [{ refbench1: { topic: 'TD_refbench1', interfaces: ['eth2'], test_metrics: true, router_type: 'adva' } }],
    },
    'test',
  ),
);

async function predictWith(predictor: PowerPredictor): Promise<MlMessage & { ml_metadata: Record<string, unknown> }> {
  const out: OutgoingMessage[] = [];
  const incoming: IncomingMessage = { topic: 'TP_refbench1', key: 'refbench1', value: '', json: tp, headers: {}, partition: 0, offset: '0', timestamp: Date.now() };
  await createBatchPredictor({ experiment, resolve: () => predictor, deadLetter: () => assert.fail('no dead letter expected') })([{ routerId: 'refbench1', message: tp, incoming }], out);
  assert.equal(out.length, 1);
  return out[0]!.json as MlMessage & { ml_metadata: Record<string, unknown> };
}

test('a model of another router type (deployed with --force) is named with its own router type', async () => {
  const forced: PowerPredictor = {
    info: { model_type: 'polynomial', model: 'ne40', version: '2', router_type: 'huawei' },
    predict: async (rows) => rows.map(() => ({ power: 700, dPowerDOccupation: 1, dPowerDPacketLength: 0 })),
  };
  const ml = await predictWith(forced);
  assert.deepEqual(Object.keys(ml.ml_metadata), ['model_type', 'model', 'version', 'router_type', 'processing_time_ms']);
  assert.equal(ml.ml_metadata.router_type, 'huawei', "the model's, not the router's (adva)");
});

test("the formula dummy names the router type of its formula; a predictor that names none falls back to the router's", async () => {
  const dummy = await predictWith(new DummyPredictors().get('adva'));
  assert.deepEqual([dummy.ml_metadata.model, dummy.ml_metadata.router_type], ['dummy:adva', 'adva']);
  const anonymous: PowerPredictor = { info: { model_type: 'external', model: 'x', version: '1' }, predict: async (rows) => rows.map(() => ({ power: 1, dPowerDOccupation: 0, dPowerDPacketLength: 0 })) };
  assert.equal((await predictWith(anonymous)).ml_metadata.router_type, 'adva');
});
