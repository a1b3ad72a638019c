/**
 * The start-up rule, through the real CLI: a bind beyond loopback with no token configured
 * refuses to start (exit 2, the message names the setting) for every server role tried,
 * unless allowed explicitly; with a tokens file (WATTFLOW_TOKENS_FILE) the role starts and its
 * routes need the token.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { newToken, tokenEntry } from '../../src/core/auth.js';
import { runCli } from './helpers.js';

/** No token, no permission, no config file from the caller's environment. */
const CLEAN = { WATTFLOW_TOKENS_FILE: '', VEHICLE_API_TOKEN: '', WATTFLOW_ALLOW_UNAUTHENTICATED: '', WATTFLOW_CONFIG: '', WATTFLOW_TOKEN: '', KAFKA_BROKERS: '', INFLUX_URL: '', REDIS_URL: '' };
const dir = mkdtempSync(join(tmpdir(), 'wattflow-auth-start-'));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const args of [['collector'], ['up'], ['registry'], ['vehicle-api', '--memory']]) {
  test(`${args[0]} --host 0.0.0.0 without a token: exit 2 naming the setting`, async () => {
    const cli = runCli([...args, '--host', '0.0.0.0', '--port', '0'], { ...CLEAN, WATTFLOW__storage__dir: dir });
    const code = await cli.exited;
    assert.equal(code, 2, cli.output().slice(-2000));
    assert.match(cli.output(), /invalid configuration in the http settings at \/http\/host: "0\.0\.0\.0" is beyond loopback and no token is configured: refusing to serve unauthenticated/);
    assert.match(cli.output(), /auth\.tokensFile \/ WATTFLOW_TOKENS_FILE.*WATTFLOW_ALLOW_UNAUTHENTICATED=1/);
  });
}

test('collector --host 0.0.0.0 starts when allowed explicitly (with the warning), or with a tokens file (routes then need the token)', async () => {
  const open = runCli(['collector', '--host', '0.0.0.0', '--port', '0'], { ...CLEAN, WATTFLOW_ALLOW_UNAUTHENTICATED: '1' });
  try {
    const [, url] = await open.waitFor(/collector listening on (http:\/\/\S+) —/);
    assert.match(open.output(), /authentication is OFF — anyone who can reach 0\.0\.0\.0 may read/);
    assert.equal((await fetch(`${url}/metrics/127.0.0.1_1.json`)).status, 403); // the allow-list, not auth: open
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  } finally {
    assert.equal(await open.stop(), 0);
  }
  const token = newToken();
  const file = join(dir, 'tokens.yaml');
  writeFileSync(file, JSON.stringify({ tokens: [tokenEntry('scraper', token, ['read'])] }));
  const locked = runCli(['collector', '--host', '0.0.0.0', '--port', '0'], { ...CLEAN, WATTFLOW_TOKENS_FILE: file });
  try {
    const [, url] = await locked.waitFor(/collector listening on (http:\/\/\S+) —/);
    assert.match(locked.output(), /authentication: bearer tokens \(scraper\)/);
    const target = `${url}/metrics/127.0.0.1_9100.json`; // allowed target: scraped, or 502 without a node exporter
    const none = await fetch(target);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer realm="wattflow"/);
    const withToken = await fetch(target, { headers: { authorization: `Bearer ${token}` } });
    assert.ok(![401, 403].includes(withToken.status), `with the token: ${withToken.status} ${await withToken.text()}`);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
  } finally {
    assert.equal(await locked.stop(), 0);
  }
});
