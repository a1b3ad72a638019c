/** The partition assigner of the fabric's consumer groups. */
import type { GroupPartitionsAssigner, GroupPartitionsAssignments } from '@platformatic/kafka';

/**
 * Spreads every subscribed topic's partitions over the members that subscribe to it, round
 * robin over members sorted by id (deterministic for a given membership). Unlike the library's
 * default assigner it honours each member's own subscription, so members with different topic
 * lists (e.g. during `updateTopics`) get only partitions of topics they asked for.
 */
export const subscriptionAwareAssigner: GroupPartitionsAssigner = (_current, members, _topics, metadata) => {
  const memberIds = [...members.keys()].sort();
  const result = new Map<string, GroupPartitionsAssignments>(
    memberIds.map((id) => [id, { memberId: id, assignments: new Map() }]),
  );
  const allTopics = new Set<string>();
  for (const m of members.values()) for (const t of m.topics ?? []) allTopics.add(t);
  let next = 0;
  for (const topic of [...allTopics].sort()) {
    const candidates = memberIds.filter((id) => members.get(id)?.topics?.includes(topic));
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    if (candidates.length === 0) continue;
    for (let p = 0; p < count; p++) {
      const memberId = candidates[next++ % candidates.length]!;
      const assignments = result.get(memberId)!.assignments;
      let entry = assignments.get(topic);
      if (!entry) {
        entry = { topic, partitions: [] };
        assignments.set(topic, entry);
      }
      entry.partitions.push(p);
    }
  }
  return [...result.values()];
};
