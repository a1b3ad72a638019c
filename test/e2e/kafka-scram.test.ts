/**
 * The network pipeline on the real broker with authentication on: the SASL_SSL listener that
 * scripts/services/kafka.sh configures (TLS with its generated CA, SCRAM-SHA-512 and -256 for
 * the user it creates; exported as KAFKA_SCRAM_BROKERS, KAFKA_SCRAM_USERNAME,
 * KAFKA_SCRAM_PASSWORD, KAFKA_SCRAM_CA_FILE).
 *
 *  - producer → processor → inference run as three `wattflow` processes configured only through
 *    the environment (KAFKA_SASL_MECHANISM/USERNAME/PASSWORD_FILE, KAFKA_TLS_CA_FILE), and every
 *    ML message arrives with the values of its interval (read back over SASL_SSL too);
 *  - a wrong password stops a role at once with an error naming the mechanism and the user (and
 *    not the password); the fabric's own clients report it the same way;
 *  - a plaintext client, and a client that does not trust the CA, fail clearly on that port.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAppConfig, type AppConfig } from '../../src/app-config.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Fabric } from '../../src/fabric/fabric.js';
import { createKafkaFabric } from '../../src/fabric/kafka/kafka-fabric.js';
import { KafkaSecurityError, kafkaSecurityOptions } from '../../src/fabric/kafka/security.js';
import type { MlMessage } from '../../src/router-power/messages.js';
import { createFabric } from '../../src/roles/common.js';
import { service } from '../helpers/services.js';
import { deleteKafkaTopics, poll, runCli, type CliProcess } from './helpers.js';

const scram = service('KAFKA_SCRAM_BROKERS', 'Kafka broker with a SASL_SSL + SCRAM listener (scripts/services/kafka.sh)');
const USERNAME = process.env.KAFKA_SCRAM_USERNAME ?? '';
const PASSWORD = process.env.KAFKA_SCRAM_PASSWORD ?? '';
const CA_FILE = process.env.KAFKA_SCRAM_CA_FILE ?? '';
const MECHANISM = (process.env.KAFKA_SCRAM_MECHANISM ?? 'SCRAM-SHA-512') as 'SCRAM-SHA-512' | 'SCRAM-SHA-256';
const INTERVAL_S = 0.5;
/** test-metrics counters: 50 Mbit/s at 1000 B/packet per interval, on a 100 Mbit/s link */
const BYTES_PER_INTERVAL = 3_125_000;
const PACKETS_PER_INTERVAL = 3_125;

/** Variables that would otherwise leak from the caller's shell into the roles' configuration. */
const CLEAN_ENV = Object.fromEntries(
  ['KAFKA_SASL_MECHANISM', 'KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'KAFKA_SASL_PASSWORD_FILE', 'KAFKA_TLS', 'KAFKA_TLS_CA_FILE', 'KAFKA_TLS_CERT_FILE', 'KAFKA_TLS_KEY_FILE', 'KAFKA_TLS_REJECT_UNAUTHORIZED', 'KAFKA_TLS_SERVERNAME'].map((k) => [k, '']),
);

describe('Kafka over SASL_SSL with SCRAM (the service script\'s authenticated listener)', { skip: scram.skip, timeout: 180_000 }, () => {
  const run = randomUUID().slice(0, 8);
  let dir = '';
  let passwordFile = '';
  const brokers = scram.value;

  /** The app config for this listener, as a role would load it from the environment. */
  const config = (env: Record<string, string>): AppConfig =>
    loadAppConfig(undefined, { '/http/port': 0 }, { KAFKA_BROKERS: brokers, ...env });
  const authEnv = (): Record<string, string> => ({
    KAFKA_SASL_MECHANISM: MECHANISM,
    KAFKA_SASL_USERNAME: USERNAME,
    KAFKA_SASL_PASSWORD_FILE: passwordFile,
    KAFKA_TLS_CA_FILE: CA_FILE,
  });

  before(() => {
    assert.ok(USERNAME && PASSWORD && CA_FILE, 'KAFKA_SCRAM_BROKERS comes with KAFKA_SCRAM_USERNAME, KAFKA_SCRAM_PASSWORD and KAFKA_SCRAM_CA_FILE (scripts/services/kafka.sh exports them together)');
    dir = mkdtempSync(join(tmpdir(), 'wattflow-scram-'));
    passwordFile = join(dir, 'kafka-password');
    writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 }); // as a mounted Secret would hold it
  });
  after(async () => {
    if (!dir) return;
    await deleteKafkaTopics(brokers, run, kafkaSecurityOptions(config(authEnv()).fabric.kafka));
    rmSync(dir, { recursive: true, force: true });
  });

  test('producer → processor → inference as three processes on SASL_SSL + SCRAM: every ML message arrives with its interval\'s values', async () => {
    const routers = ['sa', 'sb'].map((r) => `${r}_${run}`);
    const metricsDir = join(dir, 'test-metrics');
    const periods: Record<string, { total_bytes: string; total_packets: string }> = {};
    for (let k = 0; k < 600; k++) periods[`period_${k}`] = { total_bytes: String(BYTES_PER_INTERVAL * (k + 1)), total_packets: String(PACKETS_PER_INTERVAL * (k + 1)) };
    mkdirSync(metricsDir);
    for (const r of routers) writeFileSync(join(metricsDir, `test_metrics_${r}.json`), JSON.stringify(periods));
    const experimentFile = join(dir, 'experiment.json');
    writeFileSync(
      experimentFile,
      JSON.stringify({
        experiment_id: `scram-${run}`,
        flag_original_metrics: false,
        flag_debug_params: false,
        max_throughput_mbps: 100,
        polling_interval: INTERVAL_S,
        multiplier: 1,
        test_metrics_dir: metricsDir,
        routers: routers.map((r) => ({ [r]: { topic: `TD_${r}`, interfaces: ['eth2'], test_metrics: true } })),
      }),
    );
    // the roles see only the environment: brokers, SASL (password from a file), the CA
    const env = { ...CLEAN_ENV, ...authEnv(), KAFKA_BROKERS: brokers, WATTFLOW__storage__dir: join(dir, 'storage') };
    const roles: CliProcess[] = [];
    const reader: Fabric = await createFabric(config(authEnv()), silentLogger());
    try {
      for (const role of ['inference', 'processor', 'producer']) {
        const p = runCli([role, '--experiment', experimentFile, '--port', '0'], env);
        roles.push(p);
        await p.waitFor(/"msg":"listening"/, 60_000);
      }
      const readMl = async (r: string) => (await reader.readAll(`ML_${r}`)).map((m) => JSON.parse(m.value) as MlMessage);
      await poll(async () => ((await Promise.all(routers.map(async (r) => (await readMl(r)).length))).every((n) => n >= 4) ? true : undefined), 60_000, 250).catch((err: Error) => {
        throw new Error(`${err.message}\n${roles.map((p) => p.output().slice(-1500)).join('\n----\n')}`);
      });
      for (const p of roles.reverse()) assert.equal(await p.stop(), 0, 'each role stops cleanly');
      for (const r of routers) {
        const ml = await readMl(r);
        assert.ok(ml.length >= 4, `${r}: ${ml.length} ML messages`);
        for (const m of ml) {
          assert.equal(m.experiment_id, `scram-${run}`);
          const get = (name: string) => m.input_ml_metrics.find((x) => x.name === name)!.value as number;
          const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
          assert.ok(close(get('node_network_router_capacity_occupation'), 50), `${r}: occupation ${get('node_network_router_capacity_occupation')}`);
          assert.ok(close(get('node_network_average_received_packet_length'), 1000));
          // the dummy formula: 700 + 20 x² − 0.0008 y at x = 0.5, y = 1000; dz/dx = 40 x; dz/dy = −0.0008
          const [power, dOcc, dLen] = m.output_ml_metrics.map((o) => (Array.isArray(o.value) ? o.value[0] : o.value) as number);
          assert.ok(close(power!, 704.2), `${r}: power ${power}`);
          assert.ok(close(dOcc!, 20), `${r}: d power / d occupation ${dOcc}`);
          assert.ok(close(dLen!, -0.0008), `${r}: d power / d packet length ${dLen}`);
        }
      }
      for (const p of roles) assert.doesNotMatch(p.output(), /"level":50/, 'no role logged an error');
    } finally {
      await Promise.all(roles.map((p) => p.stop()));
      await reader.close();
    }
  });

  test('SCRAM-SHA-256 works on the same listener (publish, then read back)', async () => {
    const fabric = await createFabric(config({ ...authEnv(), KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256' }), silentLogger());
    try {
      const topic = `scram256_${run}`;
      await fabric.ensureTopics([{ name: topic }]);
      await fabric.publish({ topic, key: 'k', json: { hello: 'scram' } });
      assert.deepEqual((await fabric.readAll(topic)).map((m) => [m.key, JSON.parse(m.value)]), [['k', { hello: 'scram' }]]);
    } finally {
      await fabric.close();
    }
  });

  test('a wrong password: the role exits at once, naming the mechanism and the user (not the password)', async () => {
    const wrong = `wrong-${run}`;
    const started = Date.now();
    const p = runCli(['processor', '--port', '0'], { ...CLEAN_ENV, ...authEnv(), KAFKA_BROKERS: brokers, KAFKA_SASL_PASSWORD_FILE: '', KAFKA_SASL_PASSWORD: wrong });
    const code = await Promise.race([p.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
    await p.stop();
    assert.equal(code, 1, `exit status (output:\n${p.output().slice(-2000)})`);
    assert.ok(Date.now() - started < 30_000);
    const out = p.output();
    assert.match(out, new RegExp(`wattflow processor: Kafka authentication failed at ${brokers.split(',')[0]!.replace(/\./g, '\\.')}: the broker refused user "${USERNAME}" with SASL ${MECHANISM}`));
    assert.match(out, new RegExp(`"mechanism":"${MECHANISM}","username":"${USERNAME}"`), 'and a log line with the mechanism and the user as fields');
    assert.doesNotMatch(out, new RegExp(wrong), 'the password never appears');
    assert.doesNotMatch(out, /^\s+at /m, 'a message, not a stack trace');

    // in-process: the start-up check fails fast…
    const t0 = Date.now();
    await assert.rejects(createFabric(config({ ...authEnv(), KAFKA_SASL_PASSWORD_FILE: '', KAFKA_SASL_PASSWORD: wrong }), silentLogger()), (err: unknown) => {
      assert.ok(err instanceof KafkaSecurityError);
      assert.equal(err.details.mechanism, MECHANISM);
      assert.equal(err.details.username, USERNAME);
      return true;
    });
    assert.ok(Date.now() - t0 < 10_000, `the check took ${Date.now() - t0} ms`);
    // …and without it, the fabric's clients (admin, reader, producer) report the same reason once their retries are spent
    const cfg = config({ ...authEnv(), KAFKA_SASL_PASSWORD_FILE: '', KAFKA_SASL_PASSWORD: wrong });
    const fabric = createKafkaFabric({ brokers: cfg.fabric.kafka.brokers, clientId: `scram-wrong-${run}`, logger: silentLogger(), client: { ...kafkaSecurityOptions(cfg.fabric.kafka), retries: 1 } });
    try {
      for (const op of [() => fabric.ensureTopics([{ name: `wrong_${run}` }]), () => fabric.readAll(`wrong_${run}`), () => fabric.publish({ topic: `wrong_${run}`, key: 'k', value: 'v' })]) {
        await assert.rejects(op(), (err: unknown) => err instanceof KafkaSecurityError && err.message.includes(`user "${USERNAME}" with SASL ${MECHANISM}`) && !err.message.includes(wrong));
      }
    } finally {
      await fabric.close();
    }
  });

  test('a plaintext client on the SASL_SSL port, and a TLS client without the CA, fail clearly', async () => {
    const p = runCli(['processor', '--port', '0'], { ...CLEAN_ENV, KAFKA_BROKERS: brokers });
    const code = await Promise.race([p.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
    await p.stop();
    assert.equal(code, 1, `exit status (output:\n${p.output().slice(-2000)})`);
    assert.match(p.output(), /closed the connection on the first request: this listener probably requires TLS .* and SASL .*\(client: no SASL, no TLS\)/);

    await assert.rejects(createFabric(config({ ...authEnv(), KAFKA_TLS_CA_FILE: '', KAFKA_TLS: 'true' }), silentLogger()), /certificate of .* is not trusted \(SELF_SIGNED_CERT_IN_CHAIN.*KAFKA_TLS_CA_FILE/);
    await assert.rejects(createFabric(config({ ...authEnv(), KAFKA_TLS_CA_FILE: '' }), silentLogger()), /closed the connection on the first request: this listener probably requires TLS \(.*\(client: SASL SCRAM-SHA-\d+ as user/);
  });
});
