/** Connection-level options shared by every Kafka client of the fabric, and the fabric's retry policy. */
import type { BaseOptions, ConnectionOptions } from '@platformatic/kafka';
import { backoffDelay } from '../../core/backoff.js';

/** Connection-level client options shared by every client of the fabric (TLS, SASL, timeouts, retries). */
export type KafkaClientOptions = Partial<Omit<BaseOptions, 'clientId' | 'bootstrapBrokers'>>;

/**
 * Retry delay of every client: 100 ms doubling per attempt, at most 2 s. (The library's default
 * is 3 retries 1 s apart; transient errors, such as a new partition's leader not serving yet or a
 * coordinator moving, usually clear within milliseconds.)
 */
export function retryBackoff(_client: unknown, _operation: string, attempt: number): number {
  return backoffDelay({ initialMs: 100, maxMs: 2_000 }, attempt);
}

/**
 * Options of a bare connection or connection pool from the clients' options: only the keys that
 * are set (an explicit `connectTimeout: undefined` would time out every connect).
 */
export function connectionOptions(c: KafkaClientOptions, requestTimeout: number): ConnectionOptions {
  return {
    connectTimeout: c.connectTimeout ?? 5_000,
    requestTimeout,
    ...(c.tls !== undefined && { tls: c.tls }),
    ...(c.ssl !== undefined && { ssl: c.ssl }),
    ...(c.tlsServerName !== undefined && { tlsServerName: c.tlsServerName }),
    ...(c.sasl !== undefined && { sasl: c.sasl }),
  };
}
