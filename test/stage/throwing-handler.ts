/**
 * The scenario "a stage handler throws", run on any fabric (the in-process bus in
 * stage-loop.test.ts, Kafka in stage-loop-kafka.test.ts): the failing messages go to
 * `<topic>.dlq` with the reason and are counted exactly; the others are published; the batch is
 * committed (a restarted stage of the same group sees only new messages, no poison loop).
 */
import assert from 'node:assert/strict';
import type { Fabric, OutgoingMessage } from '../../src/fabric/fabric.js';
import { StageLoop, type DeadLetter } from '../../src/stage/stage-loop.js';
import { deadLettered, messagesOut } from '../../src/stage/stage-metrics.js';
import { silentLogger } from '../../src/core/logger.js';
import { waitFor } from '../helpers/wait-for.js';

export interface Numbered {
  n: number;
}

/** Accepts `{"n": <number>}`; anything else is invalid with a reason. */
export const parseNumbered = (raw: string, decoded?: unknown) => {
  let v: unknown = decoded;
  if (v === undefined) {
    try {
      v = JSON.parse(raw);
    } catch {
      return { ok: false as const, reason: 'not JSON' };
    }
  }
  const n = (v as Numbered | null)?.n;
  return typeof n === 'number' ? { ok: true as const, message: { n } } : { ok: false as const, reason: 'n missing' };
};

export const counterOf = async (metric: typeof deadLettered | typeof messagesOut, stage: string): Promise<number> =>
  (await metric.get()).values.find((v) => v.labels.stage === stage)?.value ?? 0;

/** A stage on `fabric` reading `topics.input`, writing `{n}` to `topics.output`; `fail(n)` makes it throw. */
export function numberedStage(fabric: Fabric, o: { stage: string; group: string; output: string; seen: number[]; fail: (n: number) => unknown }) {
  return new StageLoop<Numbered>({
    stage: o.stage,
    group: o.group,
    fabric,
    logger: silentLogger(),
    parse: parseNumbered,
    handle: (key, msg, _incoming, out: OutgoingMessage[]) => {
      o.seen.push(msg.n);
      const failure = o.fail(msg.n);
      if (failure instanceof Promise) return failure;
      if (failure !== undefined) throw failure;
      out.push({ topic: o.output, key, json: { n: msg.n } });
    },
  });
}

export async function throwingHandlerScenario(fabric: Fabric, names: { stage: string; input: string; output: string; group: string }, patienceMs: number): Promise<void> {
  const { stage, input, output, group } = names;
  await fabric.ensureTopics([{ name: input }, { name: output }]);
  const dead0 = await counterOf(deadLettered, stage);
  const out0 = await counterOf(messagesOut, stage);
  // 2 throws an Error, 3 rejects, 4 throws a string
  const fail = (n: number) => (n === 2 ? new Error('boom') : n === 3 ? Promise.reject(new Error('async boom')) : n === 4 ? 'plain failure' : undefined);
  const seen: number[] = [];
  const first = numberedStage(fabric, { stage, group, output, seen, fail });
  await fabric.publishBatch([1, 2, 3, 4, 5].map((n) => ({ topic: input, key: `k${n}`, value: JSON.stringify({ n }) })));
  await first.start([input]);
  const letters = await waitFor(async () => {
    const all = await fabric.readAll(`${input}.dlq`);
    return all.length >= 3 && all.map((m) => JSON.parse(m.value) as DeadLetter);
  }, patienceMs, `three dead letters on ${input}.dlq`);
  assert.deepEqual(
    letters.map(({ received_at, ...rest }) => (assert.ok(!Number.isNaN(Date.parse(received_at)), `received_at ${received_at}`), rest)),
    [
      { stage, reason: `stage ${stage} failed: boom`, topic: input, partition: 0, offset: '1', key: 'k2', value: '{"n":2}' },
      { stage, reason: `stage ${stage} failed: async boom`, topic: input, partition: 0, offset: '2', key: 'k3', value: '{"n":3}' },
      { stage, reason: `stage ${stage} failed: plain failure`, topic: input, partition: 0, offset: '3', key: 'k4', value: '{"n":4}' },
    ],
  );
  const published = await waitFor(async () => {
    const all = await fabric.readAll(output);
    return all.length >= 2 && all;
  }, patienceMs, `the two good messages on ${output}`);
  assert.deepEqual(published.map((m) => m.key), ['k1', 'k5'], 'the rest of the batch is published');
  assert.equal((await counterOf(deadLettered, stage)) - dead0, 3, 'wattflow_dead_letter_total counts each dead letter');
  assert.equal((await counterOf(messagesOut, stage)) - out0, 2, 'dead letters are not counted as output');
  await first.stop();

  // committed: the same group, restarted, gets only the message published after
  const again: number[] = [];
  const second = numberedStage(fabric, { stage, group, output, seen: again, fail: () => undefined });
  await second.start([input]);
  await fabric.publish({ topic: input, key: 'k6', value: JSON.stringify({ n: 6 }) });
  await waitFor(async () => (await fabric.readAll(output)).length >= 3, patienceMs, 'the message published after the restart');
  await second.stop();
  assert.deepEqual(seen, [1, 2, 3, 4, 5], 'each message handled once (no redelivery of the failed ones)');
  assert.deepEqual(again, [6], 'the restarted stage resumes after the committed batch');
  assert.equal((await fabric.readAll(`${input}.dlq`)).length, 3);
}
