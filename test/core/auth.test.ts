/**
 * The auth mechanism's pieces (src/core/auth.ts): token entries and the tokens file, the
 * timing-safe check of the Authorization header, the start-up rule (loopback open with a
 * warning; beyond loopback refused without a token unless allowed), the legacy
 * VEHICLE_API_TOKEN, configuration through the app config and its environment aliases, and a
 * route that declares no scope failing closed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadAppConfig } from '../../src/app-config.js';
import {
  Authenticator,
  authSummary,
  declaredRoutes,
  isLoopback,
  newToken,
  parseScopes,
  readTokensFile,
  serverAuthOf,
  sha256Hex,
  tokenEntry,
  VEHICLE_TOKEN_NAME,
} from '../../src/core/auth.js';
import { ConfigError } from '../../src/core/config.js';
import { silentLogger } from '../../src/core/logger.js';
import { buildServer } from '../../src/core/server.js';
import { cli } from '../registry/helpers.js';
import { tokenRole } from '../../src/roles/token.js';

const dir = mkdtempSync(join(tmpdir(), 'wattflow-auth-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('tokens', () => {
  test('entries hold only the sha256; the header check accepts the token, refuses others with the reason', () => {
    const token = newToken();
    assert.match(token, /^wf_[A-Za-z0-9_-]{43}$/);
    const entry = tokenEntry('ops', token, ['read', 'deploy']);
    assert.deepEqual(entry, { name: 'ops', sha256: sha256Hex(token), scopes: ['read', 'deploy'] });
    assert.ok(!JSON.stringify(entry).includes(token));
    const auth = new Authenticator({ entries: [entry, tokenEntry('other', newToken(), ['ingest'])] });
    assert.equal(auth.enabled, true);
    const ok = auth.authenticate(`Bearer ${token}`);
    assert.ok(ok.ok);
    assert.equal(ok.caller.name, 'ops');
    assert.deepEqual([...ok.caller.scopes].sort(), ['deploy', 'read']);
    assert.ok(auth.authenticate(`bearer ${token}`).ok, 'the scheme is case-insensitive');
    const missing = auth.authenticate(undefined);
    assert.ok(!missing.ok);
    assert.match(missing.error, /authentication required.*WATTFLOW_TOKEN/);
    assert.equal(missing.challenge, 'Bearer realm="wattflow"');
    const wrong = auth.authenticate(`Bearer ${token}x`);
    assert.ok(!wrong.ok);
    assert.match(wrong.challenge, /error="invalid_token"/);
    const basic = auth.authenticate('Basic dXNlcjpwYXNz');
    assert.ok(!basic.ok);
    assert.match(basic.error, /must be "Bearer <token>"/);
  });

  test('parseScopes: lists, all, unknown named', () => {
    assert.deepEqual(parseScopes('read, ingest,read'), ['read', 'ingest']);
    assert.deepEqual(parseScopes('all'), ['ingest', 'models:write', 'deploy', 'read']);
    assert.throws(() => parseScopes('read,admin'), /unknown scope "admin"/);
  });

  test('tokens file: YAML list or {tokens}; an invalid one names the file and the path', () => {
    const yaml = join(dir, 'tokens.yaml');
    writeFileSync(yaml, `- name: a\n  sha256: ${sha256Hex('ta')}\n  scopes: [read]\n`);
    assert.equal(readTokensFile(yaml)[0]!.name, 'a');
    const json = join(dir, 'tokens.json');
    writeFileSync(json, JSON.stringify({ tokens: [tokenEntry('b', 'tb', ['ingest'])] }));
    assert.equal(readTokensFile(json)[0]!.name, 'b');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `- name: c\n  sha256: ${sha256Hex('tc')}\n  scopes: [admin]\n`);
    assert.throws(() => readTokensFile(bad), (e: unknown) => e instanceof ConfigError && e.message.includes(bad) && /\/0\/scopes\/0/.test(e.message));
    const plain = join(dir, 'plain.yaml');
    writeFileSync(plain, '- name: d\n  sha256: not-a-hash\n  scopes: [read]\n');
    assert.throws(() => readTokensFile(plain), /\/0\/sha256: must match pattern/);
  });

  test('a tokens file is re-read on reload (rotation); a broken file keeps the previous tokens', () => {
    const file = join(dir, 'rotate.yaml');
    writeFileSync(file, JSON.stringify([tokenEntry('old', 'told', ['read'])]));
    const auth = new Authenticator({ file });
    assert.ok(auth.authenticate('Bearer told').ok);
    writeFileSync(file, JSON.stringify([tokenEntry('new', 'tnew', ['read'])]));
    auth.reload();
    assert.ok(!auth.authenticate('Bearer told').ok);
    assert.ok(auth.authenticate('Bearer tnew').ok);
    writeFileSync(file, 'tokens: nope');
    assert.throws(() => auth.reload(), ConfigError);
    assert.ok(auth.authenticate('Bearer tnew').ok);
  });

  test('duplicate token names are refused', () => {
    assert.throws(() => new Authenticator({ entries: [tokenEntry('x', '1', ['read']), tokenEntry('x', '2', ['read'])] }), /"x" is used twice/);
  });
});

describe('configuration and the start-up rule', () => {
  const load = (env: Record<string, string>, overrides: Record<string, unknown> = {}) => loadAppConfig(undefined, overrides, env);

  test('auth section and its environment aliases', () => {
    const file = join(dir, 'env-tokens.yaml');
    writeFileSync(file, JSON.stringify([tokenEntry('k8s', 'tk', ['read'])]));
    const cfg = load({ WATTFLOW_TOKENS_FILE: file, WATTFLOW_ALLOW_UNAUTHENTICATED: '1', WATTFLOW_TOKEN: 'client-tok' });
    assert.equal(cfg.auth.tokensFile, file);
    assert.equal(cfg.auth.allowUnauthenticated, true);
    assert.equal(cfg.auth.clientToken, 'client-tok');
    assert.deepEqual(cfg.auth.tokens, []);
    assert.throws(() => load({ WATTFLOW_ALLOW_UNAUTHENTICATED: 'maybe' }), /WATTFLOW_ALLOW_UNAUTHENTICATED.*\/auth\/allowUnauthenticated: must be boolean/);
    assert.throws(() => load({}, { '/auth/tokens': [{ name: 'x', sha256: 'abc', scopes: ['read'] }] }), /\/auth\/tokens\/0\/sha256: must match pattern/);
  });

  test('loopback without a token: open, with the warning text', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2']) assert.ok(isLoopback(host), host);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'example.org']) assert.ok(!isLoopback(host), host);
    const cfg = load({});
    const auth = serverAuthOf(cfg);
    assert.equal(auth.enabled, false);
    assert.match(authSummary(auth, cfg), /^OFF — anyone who can reach 127\.0\.0\.1 may read, ingest, upload and deploy/);
  });

  test('beyond loopback without a token: ConfigError naming the setting; allowed explicitly, with a token, or with mTLS', () => {
    assert.throws(
      () => serverAuthOf(load({}, { '/http/host': '0.0.0.0' })),
      (e: unknown) => e instanceof ConfigError && /at \/http\/host: "0\.0\.0\.0" is beyond loopback and no token is configured/.test(e.message) && /auth\.allowUnauthenticated: true \/ WATTFLOW_ALLOW_UNAUTHENTICATED=1/.test(e.message),
    );
    assert.equal(serverAuthOf(load({ WATTFLOW_ALLOW_UNAUTHENTICATED: 'true' }, { '/http/host': '0.0.0.0' })).enabled, false);
    assert.equal(serverAuthOf(load({}, { '/http/host': '0.0.0.0', '/auth/tokens': [tokenEntry('t', 'x', ['read'])] })).enabled, true);
    const mtls = load({}, { '/http/host': '0.0.0.0', '/http/tls': { certFile: 'c', keyFile: 'k', caFile: 'ca', requireClientCert: true } });
    assert.match(authSummary(serverAuthOf(mtls), mtls), /client certificates only/);
  });

  test('VEHICLE_API_TOKEN is a token named VEHICLE_API_TOKEN with scopes ingest and read (auth on for every route)', () => {
    const cfg = load({ VEHICLE_API_TOKEN: 's3cret' });
    const auth = serverAuthOf(cfg);
    assert.equal(auth.enabled, true);
    const r = auth.authenticate('Bearer s3cret');
    assert.ok(r.ok);
    assert.equal(r.caller.name, VEHICLE_TOKEN_NAME);
    assert.deepEqual([...r.caller.scopes].sort(), ['ingest', 'read']);
  });
});

describe('the server hook', () => {
  test('a route that declares no scope answers 403 even to a token with every scope; unknown URLs need a token', async () => {
    const auth = new Authenticator({ entries: [tokenEntry('all', 'tall', ['ingest', 'models:write', 'deploy', 'read'])] });
    const app = await buildServer([{ name: 'forgetful', routes: (a) => void a.get('/forgot', async () => ({ secret: 1 })) }], { logger: silentLogger(), auth });
    try {
      assert.deepEqual(declaredRoutes(app).filter((r) => r.auth === undefined).map((r) => `${r.method} ${r.url}`), ['GET /forgot', 'HEAD /forgot']);
      const r = await app.inject({ url: '/forgot', headers: { authorization: 'Bearer tall' } });
      assert.equal(r.statusCode, 403);
      assert.match(r.json().error, /GET \/forgot declares no scope/);
      assert.equal((await app.inject({ url: '/forgot' })).statusCode, 401);
      assert.equal((await app.inject({ url: '/nowhere' })).statusCode, 401);
      assert.equal((await app.inject({ url: '/nowhere', headers: { authorization: 'Bearer tall' } })).statusCode, 404);
      assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
    } finally {
      await app.close();
    }
  });
});

describe('wattflow token', () => {
  test('new prints the token once and an entry that accepts it; hash makes the entry of a given token', async () => {
    const r = await cli(tokenRole, ['new', '--name', 'ci', '--scopes', 'read,deploy', '--json']);
    assert.equal(r.code, 0, r.err);
    const { token, entry } = JSON.parse(r.out) as { token: string; entry: { name: string; sha256: string; scopes: string[] } };
    assert.deepEqual(entry, { name: 'ci', sha256: sha256Hex(token), scopes: ['read', 'deploy'] });
    const text = await cli(tokenRole, ['new', '--name', 'ops', '--scopes', 'all']);
    assert.match(text.out, /token \(shown once; the client sends it as WATTFLOW_TOKEN\):\n {2}wf_\S{43}\n/);
    assert.match(text.out, /- name: ops\n {2}sha256: [0-9a-f]{64}\n {2}scopes:\n {4}- ingest\n {4}- models:write\n {4}- deploy\n {4}- read/);
    const h = await cli(tokenRole, ['hash', 'my-token', '--name', 'x', '--scopes', 'ingest', '--json']);
    assert.equal((JSON.parse(h.out) as { entry: { sha256: string } }).entry.sha256, sha256Hex('my-token'));
    await assert.rejects(cli(tokenRole, ['new', '--name', 'x', '--scopes', 'root']), /--scopes: unknown scope "root"/);
    await assert.rejects(cli(tokenRole, ['new', '--scopes', 'read']), /--name NAME is required/);
  });
});
