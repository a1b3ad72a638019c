/** Consumer group, fetch and retry tuning of a Kafka subscription, and its defaults. */

/** Group and fetch tuning of a subscription (defaults suit production; tests shorten them). */
export interface KafkaConsumerTuning {
  /** Session timeout (ms): a member silent for this long is removed from the group. Default 30,000 (broker minimum 6,000). */
  sessionTimeoutMs: number;
  /** Heartbeat interval (ms); also how quickly a member notices a rebalance. Default 3,000. */
  heartbeatIntervalMs: number;
  /** How long the broker waits for members to rejoin during a rebalance (ms, ≥ session timeout). Default 60,000. */
  rebalanceTimeoutMs: number;
  /** Longest a fetch waits for data (ms); bounds how quickly a new assignment starts fetching. Default 500. */
  maxWaitTimeMs: number;
  /** Most messages handed to one handler call (from one or more partitions). Default 1,000. */
  maxBatchSize: number;
  /** Handler calls (of disjoint partitions) in flight at once. Default 4. */
  maxConcurrentBatches: number;
  /**
   * Pipelining: handled batches of one partition whose outputs are still being published while
   * its next batch is handled (committed in order once acknowledged). Default 4; 1 = handle a
   * partition's next batch only after the previous one's outputs are acknowledged.
   */
  maxPipelinedBatches: number;
  /** A partition is not fetched while this many of its messages wait for the handler. Default 2,000. */
  maxQueuedPerPartition: number;
  /** Backoff between attempts of a failing batch: initial, doubling up to max (ms). Default 200 → 10,000. */
  retryInitialMs: number;
  retryMaxMs: number;
  /**
   * Commits go out in the background (the partition's next batch does not wait for them), at
   * most one request at a time and at most one per this many ms, each with the newest handled
   * offset of every partition. Default 50. Only offsets whose handler resolved are committed.
   */
  commitIntervalMs: number;
}

export const defaultConsumerTuning: KafkaConsumerTuning = {
  sessionTimeoutMs: 30_000,
  heartbeatIntervalMs: 3_000,
  rebalanceTimeoutMs: 60_000,
  maxWaitTimeMs: 500,
  maxBatchSize: 1_000,
  maxConcurrentBatches: 4,
  maxPipelinedBatches: 4,
  maxQueuedPerPartition: 2_000,
  retryInitialMs: 200,
  retryMaxMs: 10_000,
  commitIntervalMs: 50,
};
