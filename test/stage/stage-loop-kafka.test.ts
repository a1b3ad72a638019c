/** A stage handler that throws, on a real Kafka broker: dead letter, counted, batch committed (see throwing-handler.ts). */
import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { Admin } from '@platformatic/kafka';
import { createKafkaFabric } from '../../src/fabric/kafka/kafka-fabric.js';
import { silentLogger } from '../../src/core/logger.js';
import { service } from '../helpers/services.js';
import { throwingHandlerScenario } from './throwing-handler.js';

const kafka = service('KAFKA_BROKERS', 'Kafka broker');

test('Kafka: a handler that throws sends the message to <topic>.dlq with the reason; the batch commits', { skip: kafka.skip, timeout: 120_000 }, async () => {
  const brokers = kafka.value.split(',').map((b) => b.trim());
  const id = `wfstage-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const fabric = createKafkaFabric({
    brokers,
    clientId: id,
    logger: silentLogger(),
    consumer: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 200, rebalanceTimeoutMs: 6_000, maxWaitTimeMs: 200, retryInitialMs: 50, retryMaxMs: 400 },
  });
  try {
    await throwingHandlerScenario(fabric, { stage: 'kafka-throwing', input: `${id}.in`, output: `${id}.out`, group: `${id}.g` }, 30_000);
  } finally {
    await fabric.close();
    const admin = new Admin({ clientId: `${id}-cleanup`, bootstrapBrokers: brokers, retries: 1 });
    await admin
      .deleteTopics({ topics: [`${id}.in`, `${id}.out`, `${id}.in.dlq`] })
      .catch(() => undefined)
      .finally(() => admin.close().catch(() => undefined));
  }
});
