#!/usr/bin/env node
/**
 * The wattflow command line: `wattflow <role> [options]`. Every stage of both pipelines is a
 * role; `wattflow up` runs them all in one process. `wattflow --help` lists the roles.
 */
import { ConfigError } from './core/config.js';
import { KafkaSecurityError } from './fabric/kafka-security.js';
import { FormulaError } from './ml/formula/index.js';
import { UsageError } from './roles/common.js';
import { roles } from './roles/index.js';

function help(): string {
  const width = Math.max(...roles.map((r) => r.name.length));
  return [
    'usage: wattflow <role> [options]      (wattflow <role> --help for a role\'s options)',
    '',
    'roles:',
    ...roles.map((r) => `  ${r.name.padEnd(width)}  ${r.summary}`),
    '',
    'common options: --config FILE (JSON or YAML; or WATTFLOW_CONFIG), --port N, --host H',
    'environment: KAFKA_BROKERS, INFLUX_URL, REDIS_URL, WATTFLOW_LOG_LEVEL, WATTFLOW__section__key=value',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 1;
  }
  const role = roles.find((r) => r.name === name);
  if (!role) {
    console.error(`wattflow: unknown role "${name}"\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(role.usage);
    return 0;
  }
  try {
    return (await role.run(rest)) ?? 0;
  } catch (err) {
    if (err instanceof ConfigError || err instanceof FormulaError) {
      // the user's input is wrong (config, experiment or formula file): say where, no stack
      console.error(`wattflow ${name}: ${err.message}`);
      return 2;
    }
    if (err instanceof KafkaSecurityError) {
      // the broker refused this client's Kafka settings (login, certificate): the reason, no stack
      console.error(`wattflow ${name}: ${err.message}`);
      return 1;
    }
    if (err instanceof UsageError) {
      console.error(`wattflow ${name}: ${err.message}\n\n${role.usage}`);
      return 2;
    }
    console.error(`wattflow ${name}: ${(err as Error).stack ?? String(err)}`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // whatever a failed start left open (watchers, sockets) must not keep the process alive
    setTimeout(() => process.exit(code), 500).unref();
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
