/**
 * The settings every benchmark reads the same way: the broker list (a benchmark that needs Kafka
 * prints its skip line and exits 0 without it) and numeric BENCH_* variables.
 */
export function kafkaBrokersOrSkip(bench: string): string {
  const brokers = process.env.KAFKA_BROKERS;
  if (brokers) return brokers;
  console.log(`${bench}: skipped (KAFKA_BROKERS not set; start Kafka with scripts/services/kafka.sh)`);
  process.exit(0);
}

/** A numeric setting from the environment (BENCH_…), or `fallback` when unset. */
export function benchNumber(name: string, fallback: number): number {
  return Number(process.env[name] ?? fallback);
}
