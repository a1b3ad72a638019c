#!/usr/bin/env node
/**
 * The wattflow command line: `wattflow <role> [options]`. Every stage of both pipelines is a
 * role; `wattflow up` runs them all in one process. `wattflow --help` lists the roles.
 */
// first: V8 flags that must hold before anything else runs
import './core/heap-tuning.js';
import { readFileSync } from 'node:fs';
import { ConfigError } from './core/config.js';
import { OperatorError } from './core/instance.js';
import { closest } from './core/suggest.js';
import { KafkaSecurityError } from './fabric/kafka/security.js';
import { FormulaError } from './ml/formula/index.js';
import { UsageError } from './core/usage-error.js';
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
    'environment: KAFKA_BROKERS, INFLUX_URL, REDIS_URL, WATTFLOW_LOG_LEVEL, WATTFLOW__section__key=value;',
    '  clients (models, train, replay-vehicle, …) talk to WATTFLOW_URL, else to the wattflow up running from',
    '  this directory (.wattflow/up.json), else http://127.0.0.1:8000',
    'wattflow --version prints the version',
  ].join('\n');
}

/** `wattflow 0.1.0 (node v20.20.2)`: package.json's version (one level above src/ and dist/). */
function version(): string {
  let v = 'unknown';
  try {
    v = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? v;
  } catch {
    /* not next to its package.json */
  }
  return `wattflow ${v} (node ${process.version})`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name ? 0 : 1;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    console.log(version());
    return 0;
  }
  const role = roles.find((r) => r.name === name);
  if (!role) {
    const guess = closest(name, roles.map((r) => r.name));
    const what = name.startsWith('-') ? `unknown option "${name}" (options go after the role: wattflow <role> ${name})` : `unknown role "${name}"`;
    console.error(`wattflow: ${what}${guess ? ` — did you mean "${guess}"?` : ''}\n\n${help()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(role.usage);
    return 0;
  }
  try {
    return (await role.run(rest)) ?? 0;
  } catch (err) {
    if (err instanceof OperatorError) {
      // an expected condition (port or storage in use, a second up): what and what to do, no stack
      console.error(`wattflow ${name}: ${err.message}`);
      return 2;
    }
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
