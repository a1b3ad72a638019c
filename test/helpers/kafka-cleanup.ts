/**
 * Removes a test run's Kafka topics (and, unless told not to, consumer groups) whose names
 * contain `marker`: best effort and bounded (a busy shared broker must not hold the run up), so
 * repeated runs do not pile topics onto the shared broker.
 */
import { Admin } from '@platformatic/kafka';

export async function deleteKafkaRun(brokers: string | string[], marker: string, opts: { groups?: boolean; client?: object } = {}): Promise<void> {
  const bootstrapBrokers = typeof brokers === 'string' ? brokers.split(',') : brokers;
  // `client`: sasl/tls for an authenticated listener (test/e2e/kafka-scram.test.ts)
  const admin = new Admin({ ...opts.client, clientId: `cleanup-${marker}`, bootstrapBrokers, retries: 1 });
  const work = (async () => {
    const topics = (await admin.listTopics()).filter((t) => t.includes(marker));
    if (topics.length) await admin.deleteTopics({ topics });
    if (opts.groups === false) return;
    const groups = [...(await admin.listGroups()).keys()].filter((g) => g.includes(marker));
    if (groups.length) await admin.deleteGroups({ groups });
  })().catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
  clearTimeout(timer);
  await admin.close().catch(() => undefined);
}
