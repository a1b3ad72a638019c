/**
 * Kafka SASL/TLS settings (no broker needed): the config section and its environment variables,
 * files read at start (a missing one is a ConfigError naming the setting: exit 2), and the
 * messages an authentication or TLS failure turns into. The real broker with SCRAM: test/e2e/kafka-scram.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthenticationError, MultipleErrors, NetworkError, ProtocolError, UserError } from '@platformatic/kafka';
import { loadAppConfig } from '../../src/app-config.js';
import { ConfigError } from '../../src/core/config.js';
import { KafkaSecurityError, closedAtOnceError, explainKafkaError, kafkaSecurityOptions, kafkaSecurityWarnings } from '../../src/fabric/kafka/security.js';

const dir = mkdtempSync(join(tmpdir(), 'wattflow-kafka-sec-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test('fabric.kafka.sasl and .tls from the environment: files read at start, password file without its newline', () => {
  const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
  const pw = file('pw', 's3cret\n');
  const cfg = loadAppConfig(undefined, undefined, {
    KAFKA_BROKERS: '127.0.0.1:9094',
    KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
    KAFKA_SASL_USERNAME: 'wattflow',
    KAFKA_SASL_PASSWORD_FILE: pw,
    KAFKA_TLS_CA_FILE: ca,
    KAFKA_TLS_SERVERNAME: 'kafka.local',
  });
  assert.equal(cfg.fabric.kind, 'kafka');
  assert.deepEqual(cfg.fabric.kafka.sasl, { mechanism: 'SCRAM-SHA-512', username: 'wattflow', passwordFile: pw });
  assert.deepEqual(cfg.fabric.kafka.tls, { caFile: ca, servername: 'kafka.local', rejectUnauthorized: true });
  const o = kafkaSecurityOptions(cfg.fabric.kafka);
  assert.deepEqual(o.sasl, { mechanism: 'SCRAM-SHA-512', username: 'wattflow', password: 's3cret' });
  assert.equal(o.tls?.ca?.toString(), '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
  assert.equal(o.tls?.rejectUnauthorized, true);
  assert.equal(o.tlsServerName, 'kafka.local');
  assert.deepEqual(kafkaSecurityWarnings(o), []);
});

test('KAFKA_TLS=true: TLS with the system CAs; no settings: neither SASL nor TLS', () => {
  const on = loadAppConfig(undefined, undefined, { KAFKA_BROKERS: 'b:9093', KAFKA_TLS: 'true', KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' });
  assert.equal(on.fabric.kafka.tls, true);
  assert.deepEqual(kafkaSecurityOptions(on.fabric.kafka), { sasl: { mechanism: 'PLAIN', username: 'u', password: 'p' }, tls: {} });
  assert.deepEqual(kafkaSecurityOptions(loadAppConfig(undefined, undefined, { KAFKA_BROKERS: 'b:9092' }).fabric.kafka), {});
  // PLAIN without TLS and unverified certificates work, with a warning
  assert.match(kafkaSecurityWarnings({ sasl: { mechanism: 'PLAIN', username: 'u', password: 'p' } }).join(), /clear text/);
  assert.match(kafkaSecurityWarnings({ tls: { rejectUnauthorized: false } }).join(), /not verified/);
});

test('invalid Kafka security settings are ConfigErrors naming the setting (exit 2)', () => {
  const expectConfigError = (env: Record<string, string>, path: string, reason: RegExp) => {
    assert.throws(
      () => kafkaSecurityOptions(loadAppConfig(undefined, undefined, { KAFKA_BROKERS: 'b:9094', ...env }).fabric.kafka),
      (err: unknown) => err instanceof ConfigError && err.path === path && reason.test(err.message),
    );
  };
  const sasl = { KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'wattflow' };
  expectConfigError({ ...sasl, KAFKA_SASL_PASSWORD_FILE: join(dir, 'missing') }, '/fabric/kafka/sasl/passwordFile', /cannot read ".*missing".*KAFKA_SASL_PASSWORD_FILE.*ENOENT/);
  expectConfigError({ ...sasl, KAFKA_SASL_PASSWORD_FILE: file('empty', '') }, '/fabric/kafka/sasl/passwordFile', /empty/);
  expectConfigError({ ...sasl, KAFKA_SASL_PASSWORD_FILE: file('nl', '\n') }, '/fabric/kafka/sasl/passwordFile', /empty password/);
  expectConfigError({ ...sasl, KAFKA_SASL_PASSWORD_FILE: dir }, '/fabric/kafka/sasl/passwordFile', /EISDIR/);
  expectConfigError(sasl, '/fabric/kafka/sasl/password', /required for SASL SCRAM-SHA-512/);
  expectConfigError({ ...sasl, KAFKA_SASL_PASSWORD: 'a', KAFKA_SASL_PASSWORD_FILE: file('pw2', 'b') }, '/fabric/kafka/sasl', /not both/);
  expectConfigError({ KAFKA_TLS_CA_FILE: join(dir, 'no-ca.pem') }, '/fabric/kafka/tls/caFile', /KAFKA_TLS_CA_FILE.*ENOENT/);
  expectConfigError({ KAFKA_TLS_CERT_FILE: file('c.pem', 'c') }, '/fabric/kafka/tls/keyFile', /required with certFile/);
  expectConfigError({ KAFKA_TLS_CERT_FILE: file('c2.pem', 'c'), KAFKA_TLS_KEY_FILE: join(dir, 'no-key.pem') }, '/fabric/kafka/tls/keyFile', /KAFKA_TLS_KEY_FILE/);
  // the schema: mechanism, user and booleans
  assert.throws(() => loadAppConfig(undefined, undefined, { KAFKA_SASL_MECHANISM: 'GSSAPI', KAFKA_SASL_USERNAME: 'u' }), /\/fabric\/kafka\/sasl\/mechanism: must be one of/);
  assert.throws(() => loadAppConfig(undefined, undefined, { KAFKA_SASL_MECHANISM: 'PLAIN' }), /\/fabric\/kafka\/sasl\/username: is required/);
  assert.throws(() => loadAppConfig(undefined, undefined, { KAFKA_TLS_REJECT_UNAUTHORIZED: 'perhaps' }), /KAFKA_TLS_REJECT_UNAUTHORIZED.*\/fabric\/kafka\/tls\/rejectUnauthorized/);
});

test('an authentication failure names the broker, the mechanism and the user, never the password', () => {
  const o = { sasl: { mechanism: 'SCRAM-SHA-512' as const, username: 'wattflow', password: 'hunter2' }, tls: {}, brokers: ['127.0.0.1:9094'] };
  // the shape @platformatic/kafka 1.x reports: MultipleErrors > NetworkError > AuthenticationError > …
  const refused = new MultipleErrors('Cannot connect to any broker.', [
    new NetworkError('Connection to 127.0.0.1:9094 failed.', { cause: new AuthenticationError('SASL authentication failed.', { cause: new ProtocolError('SASL_AUTHENTICATION_FAILED') }) }),
  ]);
  const e = explainKafkaError(refused, o);
  assert.ok(e instanceof KafkaSecurityError);
  assert.match(e.message, /^Kafka authentication failed at 127\.0\.0\.1:9094: the broker refused user "wattflow" with SASL SCRAM-SHA-512/);
  assert.doesNotMatch(e.message, /hunter2/);
  assert.deepEqual({ ...e.details, reason: undefined }, { broker: '127.0.0.1:9094', mechanism: 'SCRAM-SHA-512', username: 'wattflow', tls: true, reason: undefined });
  assert.equal(e.cause, refused);

  const mechanism = new NetworkError('Connection to 127.0.0.1:9094 failed.', { cause: new AuthenticationError('Cannot find a suitable SASL mechanism.') });
  assert.match((explainKafkaError(mechanism, { ...o, sasl: { ...o.sasl, mechanism: 'PLAIN' } }) as Error).message, /does not accept SASL mechanism PLAIN on this listener \(user "wattflow"\)/);

  const untrusted = new NetworkError('Connection to 127.0.0.1:9094 failed.', { cause: Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }) });
  assert.match((explainKafkaError(untrusted, o) as Error).message, /certificate of 127\.0\.0\.1:9094 is not trusted \(SELF_SIGNED_CERT_IN_CHAIN.*KAFKA_TLS_CA_FILE/);
  const altname = Object.assign(new Error("Hostname/IP does not match certificate's altnames"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  assert.match((explainKafkaError(altname, o) as Error).message, /KAFKA_TLS_SERVERNAME/);

  const handshake = new NetworkError('Connection to 127.0.0.1:9092 failed.', { cause: new UserError('TLS handshake failed. Please verify the broker supports TLS.') });
  assert.match((explainKafkaError(handshake, o) as Error).message, /TLS handshake with 127\.0\.0\.1:9092 failed .*is this a TLS listener\?/);

  // anything else is left alone (a broker restart is not a security problem)
  const closed = new NetworkError('Connection closed');
  assert.equal(explainKafkaError(closed, o), closed);
  assert.match(closedAtOnceError('127.0.0.1:9094', {}, closed).message, /closed the connection on the first request: this listener probably requires TLS .* and SASL .*\(client: no SASL, no TLS\)/);
});
