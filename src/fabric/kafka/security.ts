/**
 * Kafka connection security: SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and TLS for every client
 * the Kafka fabric creates (producer, group consumers and their fetch connections, admin, the
 * readAll reader, the start-up check), from the app config's `fabric.kafka.sasl` and
 * `fabric.kafka.tls` (env: KAFKA_SASL_*, KAFKA_TLS*).
 *
 *  - Files (password, CA, client certificate and key) are read once, when the fabric is created;
 *    a missing, unreadable or empty file is a ConfigError naming the setting (the CLI exits 2).
 *  - Errors from the broker or the TLS layer are turned into messages that say what failed and
 *    with which settings (`explainKafkaError`): the SASL mechanism and user name for a refused
 *    login, the CA setting for an untrusted certificate, "is this listener TLS/SASL?" for a
 *    connection the broker closes at once. Never the password.
 *
 * No runtime import of @platformatic/kafka here: the app config and the in-process fabric load
 * this module without the Kafka client.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { ConfigError } from '../../core/config.js';
import type { KafkaSaslMechanism, KafkaSaslSettings, KafkaTlsSettings } from '../config.js';

export type { KafkaSaslMechanism, KafkaSaslSettings, KafkaTlsSettings } from '../config.js';

export interface KafkaSecuritySettings {
  sasl?: KafkaSaslSettings;
  tls?: boolean | KafkaTlsSettings;
}

/** What the fabric passes to every @platformatic/kafka client (a subset of its BaseOptions). */
export interface KafkaSecurityOptions {
  sasl?: { mechanism: KafkaSaslMechanism; username: string; password: string };
  tls?: TlsConnectionOptions;
  tlsServerName?: string;
}

/** A failure to connect that comes from the security settings (or the broker's view of them). */
export class KafkaSecurityError extends Error {
  constructor(
    message: string,
    readonly details: { broker?: string; mechanism?: string; username?: string; tls: boolean; reason: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KafkaSecurityError';
  }
}

const SOURCE = 'the Kafka settings';

function readSetting(file: string, path: string, env: string): Buffer {
  try {
    const data = readFileSync(file);
    if (data.length === 0) throw new Error('the file is empty');
    return data;
  } catch (err) {
    throw new ConfigError(SOURCE, path, `cannot read "${file}" (set in the config file or ${env}): ${(err as Error).message}`);
  }
}

/**
 * Reads the files named by the settings and returns the clients' `sasl`/`tls` options. Throws a
 * ConfigError (path and variable named) when a file cannot be read or a setting is incomplete.
 */
export function kafkaSecurityOptions(settings: KafkaSecuritySettings): KafkaSecurityOptions {
  const out: KafkaSecurityOptions = {};
  const s = settings.sasl;
  if (s) {
    if (s.password !== undefined && s.passwordFile !== undefined) {
      throw new ConfigError(SOURCE, '/fabric/kafka/sasl', 'set either password (KAFKA_SASL_PASSWORD) or passwordFile (KAFKA_SASL_PASSWORD_FILE), not both');
    }
    let password = s.password;
    if (s.passwordFile !== undefined) {
      password = readSetting(s.passwordFile, '/fabric/kafka/sasl/passwordFile', 'KAFKA_SASL_PASSWORD_FILE').toString('utf8').replace(/\r?\n$/, '');
      if (password === '') throw new ConfigError(SOURCE, '/fabric/kafka/sasl/passwordFile', `"${s.passwordFile}" holds an empty password`);
    }
    if (password === undefined || password === '') {
      throw new ConfigError(SOURCE, '/fabric/kafka/sasl/password', `is required for SASL ${s.mechanism} (or passwordFile; env KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE)`);
    }
    out.sasl = { mechanism: s.mechanism, username: s.username, password };
  }
  const t = settings.tls;
  if (t === true) out.tls = {};
  else if (t && typeof t === 'object') {
    if ((t.certFile === undefined) !== (t.keyFile === undefined)) {
      const missing = t.certFile === undefined ? 'certFile' : 'keyFile';
      throw new ConfigError(SOURCE, `/fabric/kafka/tls/${missing}`, 'is required with ' + (missing === 'certFile' ? 'keyFile' : 'certFile') + ' (a client certificate needs both)');
    }
    const tls: TlsConnectionOptions = { rejectUnauthorized: t.rejectUnauthorized !== false };
    if (t.caFile !== undefined) tls.ca = readSetting(t.caFile, '/fabric/kafka/tls/caFile', 'KAFKA_TLS_CA_FILE');
    if (t.certFile !== undefined) tls.cert = readSetting(t.certFile, '/fabric/kafka/tls/certFile', 'KAFKA_TLS_CERT_FILE');
    if (t.keyFile !== undefined) tls.key = readSetting(t.keyFile, '/fabric/kafka/tls/keyFile', 'KAFKA_TLS_KEY_FILE');
    out.tls = tls;
    if (t.servername !== undefined) out.tlsServerName = t.servername;
  }
  return out;
}

/** Warnings about settings that work but are unsafe (logged at start). */
export function kafkaSecurityWarnings(options: KafkaSecurityOptions): string[] {
  const out: string[] = [];
  if (options.sasl?.mechanism === 'PLAIN' && !options.tls) out.push('SASL PLAIN without TLS sends the Kafka password in clear text: set fabric.kafka.tls (KAFKA_TLS_CA_FILE or KAFKA_TLS=true)');
  if (options.tls && options.tls.rejectUnauthorized === false) out.push("Kafka TLS certificates are not verified (fabric.kafka.tls.rejectUnauthorized=false): anyone on the path can impersonate the broker");
  return out;
}

/** The security settings as messages see them (a client's options; the password never shows). */
export interface KafkaSecurityView {
  sasl?: { mechanism: string; username?: unknown };
  tls?: unknown;
}

const userOf = (v: KafkaSecurityView): string | undefined =>
  v.sasl ? (typeof v.sasl.username === 'string' ? v.sasl.username : '(from a provider)') : undefined;

/** 'SASL SCRAM-SHA-512 as user "wattflow", TLS', for messages (never the password). */
export function describeKafkaSecurity(options: KafkaSecurityView): string {
  const sasl = options.sasl ? `SASL ${options.sasl.mechanism} as user "${userOf(options)}"` : 'no SASL';
  return `${sasl}, ${options.tls ? 'TLS' : 'no TLS'}`;
}

interface ErrorLike {
  code?: string;
  message?: string;
  errors?: unknown[];
  cause?: unknown;
}

/** Every error in a chain (MultipleErrors' `errors`, `cause`), depth-first. */
function* chain(err: unknown, depth = 0): Generator<ErrorLike> {
  if (!err || typeof err !== 'object' || depth > 8) return;
  const e = err as ErrorLike;
  yield e;
  if (Array.isArray(e.errors)) for (const c of e.errors) yield* chain(c, depth + 1);
  if (e.cause) yield* chain(e.cause, depth + 1);
}

/** Node's certificate verification failures. */
const CERT_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function brokerOf(err: unknown, brokers: readonly string[]): string {
  for (const e of chain(err)) {
    const m = /Connection to (\S+?) (?:failed|timed out)/.exec(e.message ?? '');
    if (m) return m[1]!;
  }
  return brokers.join(',');
}

/**
 * The error, or a KafkaSecurityError saying what the broker refused and with which settings
 * when the cause is authentication or TLS. Other errors are returned unchanged.
 */
export function explainKafkaError(err: unknown, options: KafkaSecurityView & { brokers: readonly string[] }): unknown {
  if (err instanceof KafkaSecurityError) return err;
  const errors = [...chain(err)];
  const broker = brokerOf(err, options.brokers);
  const mechanism = options.sasl?.mechanism;
  const username = userOf(options);
  const tls = !!options.tls;
  const details = (reason: string) => ({ broker, mechanism, username, tls, reason });
  const auth = errors.find((e) => e.code === 'PLT_KFK_AUTHENTICATION');
  if (auth) {
    const leaf = [...chain(auth)].pop();
    const reason = leaf?.message ?? auth.message ?? 'authentication failed';
    const handshake = /mechanism/i.test(auth.message ?? '');
    const what = mechanism
      ? handshake
        ? `the broker does not accept SASL mechanism ${mechanism} on this listener (user "${username}")`
        : `the broker refused user "${username}" with SASL ${mechanism} (wrong user name or password, or no ${mechanism} credentials for this user)`
      : 'authentication failed';
    return new KafkaSecurityError(`Kafka authentication failed at ${broker}: ${what}: ${reason}`, details(reason), { cause: err });
  }
  const cert = errors.find((e) => e.code !== undefined && CERT_CODES.has(e.code));
  if (cert) {
    const hint =
      cert.code === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? 'the certificate does not name this address: connect by a name it holds or set fabric.kafka.tls.servername (KAFKA_TLS_SERVERNAME)'
        : 'set fabric.kafka.tls.caFile (KAFKA_TLS_CA_FILE) to the CA that signed the broker certificate';
    return new KafkaSecurityError(`Kafka TLS: the certificate of ${broker} is not trusted (${cert.code}: ${cert.message}); ${hint}`, details(cert.message ?? cert.code!), { cause: err });
  }
  const handshake = errors.find((e) => /TLS handshake failed|before secure TLS connection|wrong version number|EPROTO/i.test(`${e.code ?? ''} ${e.message ?? ''}`));
  if (tls && handshake) {
    return new KafkaSecurityError(
      `Kafka TLS handshake with ${broker} failed (${handshake.message}): is this a TLS listener? (client: ${describeKafkaSecurity(options)})`,
      details(handshake.message ?? 'TLS handshake failed'),
      { cause: err },
    );
  }
  return err;
}

/**
 * For the start-up check only: the broker accepted the TCP connection and then closed it on the
 * first request, twice. That is what a TLS or SASL listener does with a client that speaks
 * neither (or a SASL_SSL one with a SASL client without TLS).
 */
export function closedAtOnceError(broker: string, options: KafkaSecurityView, cause: unknown): KafkaSecurityError {
  const missing = [!options.tls && 'TLS (fabric.kafka.tls, KAFKA_TLS_CA_FILE or KAFKA_TLS=true)', !options.sasl && 'SASL (fabric.kafka.sasl, KAFKA_SASL_MECHANISM/USERNAME/PASSWORD)']
    .filter(Boolean)
    .join(' and ');
  const reason = 'the broker closed the connection on the first request';
  return new KafkaSecurityError(
    `Kafka broker ${broker} closed the connection on the first request: this listener probably requires ${missing || 'other security settings'} (client: ${describeKafkaSecurity(options)})`,
    { broker, mechanism: options.sasl?.mechanism, username: userOf(options), tls: !!options.tls, reason },
    { cause },
  );
}
