/**
 * Removes a benchmark's Kafka topics and consumer groups when it ends (BENCH_KEEP_TOPICS=1
 * keeps them), so runs do not pile thousands of topics onto the shared test broker: a broker
 * restarted on them spends minutes loading their logs. Topics go in chunks of 200 (a KRaft
 * controller rejects very large requests). Best effort: a failure is printed, not thrown.
 */
import { Admin } from '@platformatic/kafka';

export async function removeBenchTopics(brokers: string[], topics: string[], groupPrefix?: string): Promise<void> {
  if (process.env.BENCH_KEEP_TOPICS === '1') return;
  const admin = new Admin({ clientId: 'wattflow-bench-cleanup', bootstrapBrokers: brokers, retries: 1 });
  try {
    const existing = new Set(await admin.listTopics());
    const doomed = [...new Set(topics)].filter((t) => existing.has(t));
    for (let i = 0; i < doomed.length; i += 200) await admin.deleteTopics({ topics: doomed.slice(i, i + 200) });
    if (groupPrefix) {
      const groups = [...(await admin.listGroups()).keys()].filter((g) => g.startsWith(groupPrefix));
      // a group listed but gone by the time it is deleted (GROUP_ID_NOT_FOUND) is removed already
      if (groups.length)
        await admin.deleteGroups({ groups }).catch((err: unknown) => {
          if (!innermost(err as Failure).every((e) => e.apiId === 'GROUP_ID_NOT_FOUND')) throw err;
        });
    }
  } catch (err) {
    const reasons = innermost(err as Failure).map((e) => e.message);
    console.log(`bench cleanup: could not remove every topic/group (${reasons.join('; ')}); BENCH_KEEP_TOPICS=1 skips this step`);
  } finally {
    await admin.close().catch(() => undefined);
  }
}

type Failure = Error & { errors?: Failure[]; apiId?: string };

/** The innermost errors: the client wraps the broker's per-item errors in `errors`, sometimes twice. */
function innermost(err: Failure): Failure[] {
  return err.errors?.length ? err.errors.flatMap((e) => innermost(e)) : [err];
}
