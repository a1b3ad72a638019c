/**
 * partitionOf is Kafka's default partitioner: Java's murmur2 test vectors, and the same partition
 * as @platformatic/kafka's compatibilityPartitioner (what the Kafka publisher uses) for many keys.
 * (fabric-contract.test.ts checks it against where a real broker put the records.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compatibilityPartitioner } from '@platformatic/kafka';
import { murmur2, partitionOf } from '../../src/fabric/partitioner.js';

test("murmur2 gives Java's values (org.apache.kafka.common.utils.UtilsTest)", () => {
  const cases: Array<[string, number]> = [
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ];
  for (const [key, want] of cases) assert.equal(murmur2(Buffer.from(key)), want, key);
});

test("partitionOf agrees with the publisher's compatibilityPartitioner", () => {
  const keys = ['', 'r', 'router-1', 'ΔΣ-üñí', ...Array.from({ length: 500 }, (_, i) => `r${i}-${'x'.repeat(i % 9)}`)];
  for (const n of [1, 2, 3, 8, 12, 50]) {
    for (const key of keys) {
      const theirs = (compatibilityPartitioner as unknown as (t: unknown, k: Buffer) => number)(undefined, Buffer.from(key)) % n;
      assert.equal(partitionOf(key, n), theirs, `${key} over ${n}`);
    }
  }
  assert.throws(() => partitionOf('k', 0), /not a partition count/);
});
