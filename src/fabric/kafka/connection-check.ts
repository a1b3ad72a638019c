/**
 * The Kafka fabric's start-up check of its connection settings: one connection to a bootstrap
 * broker with the clients' settings (TLS handshake, SASL login), then an ApiVersions request.
 * Rejects at once with a KafkaSecurityError (and logs it) when the broker refuses the login, its
 * certificate is not trusted, or it closes the connection on the first request twice (a TLS or
 * SASL listener reached without them); the clients themselves would retry such failures for
 * seconds and then report a generic connection error. A broker that cannot be reached at all is
 * not an error here (logged; the clients keep retrying).
 */
import { sleep } from '../../core/backoff.js';
import type { Logger } from '../../core/logger.js';
import { openConnection, probeApiVersions } from './client-internals.js';
import { type KafkaClientOptions, connectionOptions } from './client-options.js';
import { KafkaSecurityError, closedAtOnceError, describeKafkaSecurity, explainKafkaError } from './security.js';

const CLOSED_RETRY_DELAY_MS = 300;

export async function checkKafkaConnection(o: { brokers: string[]; clientId: string; client: KafkaClientOptions; log: Logger }): Promise<void> {
  const c = o.client;
  let unreachable: unknown;
  for (const address of o.brokers) {
    const i = address.lastIndexOf(':');
    const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
    const port = Number(address.slice(i + 1));
    for (let attempt = 1; ; attempt++) {
      const conn = openConnection(`${o.clientId}-check`, connectionOptions(c, 10_000));
      conn.on('error', () => undefined); // reported through the promises below
      let connected = false;
      try {
        await conn.connect(host, port);
        connected = true;
        await probeApiVersions(conn);
        o.log.debug({ broker: address, security: describeKafkaSecurity(c) }, 'Kafka connection check passed');
        return;
      } catch (err) {
        let failure = explainKafkaError(err, { sasl: c.sasl, tls: c.tls, brokers: [address] });
        const closed = !(failure instanceof KafkaSecurityError) && (connected || /Connection closed/.test(messages(err)));
        if (closed && attempt < 2) {
          await sleep(CLOSED_RETRY_DELAY_MS);
          continue;
        }
        if (closed) failure = closedAtOnceError(address, { sasl: c.sasl, tls: c.tls }, err);
        if (failure instanceof KafkaSecurityError) {
          o.log.error({ ...failure.details }, failure.message);
          throw failure;
        }
        unreachable = err;
        break;
      } finally {
        await conn.close().catch(() => undefined);
      }
    }
  }
  o.log.warn({ err: unreachable, brokers: o.brokers }, 'no Kafka broker reachable to check the connection settings; the clients keep retrying');
}

/** The messages of an error chain (`errors`, `cause`), joined. */
function messages(err: unknown, depth = 0): string {
  if (!err || typeof err !== 'object' || depth > 8) return '';
  const e = err as { message?: string; errors?: unknown[]; cause?: unknown };
  return [e.message ?? '', ...(e.errors ?? []).map((x) => messages(x, depth + 1)), messages(e.cause, depth + 1)].join(' | ');
}
