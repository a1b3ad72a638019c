/**
 * The limits every HTTP server has (src/core/http-limits.ts, built by src/core/server.ts for
 * all roles), on a real listening server with short settings: a body sent 1 byte per second is
 * cut off with 408 after requestTimeoutMs, slow headers after headersTimeoutMs, an idle
 * keep-alive connection is closed after keepAliveTimeoutMs, connections beyond maxConnections
 * are refused, JSON deeper than maxJsonDepth is a 400 naming the limit and where, and every
 * error answer is `{"error": …}` naming the problem (validation, 404, 413, 415, malformed JSON)
 * — a 500 without the internal message or a stack trace.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Component } from '../../src/core/component.js';
import { DEFAULT_HTTP_LIMITS } from '../../src/core/http-limits.js';
import { jsonDepthViolation } from '../../src/core/json-depth.js';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { silentLogger } from '../../src/core/logger.js';
import { loadAppConfig } from '../../src/app-config.js';

const LIMITS = { requestTimeoutMs: 1500, headersTimeoutMs: 1000, keepAliveTimeoutMs: 800, maxConnections: 4, maxJsonDepth: 8, bodyLimitBytes: 4096 };

const echo: Component = {
  name: 'echo',
  routes(app: FastifyInstance) {
    app.post('/echo', async (req) => ({ body: req.body }));
    app.post('/small', { bodyLimit: 1024 }, async () => ({ ok: true }));
    app.get('/q', { schema: { querystring: { type: 'object', properties: { from: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 10 } }, required: ['from'] } } }, async (req) => ({ query: req.query }));
    app.get('/boom', async () => {
      throw new Error('secret internal detail at /srv/app.js:42');
    });
    app.get('/unavailable', async () => {
      throw Object.assign(new Error('the store is down; retry later'), { statusCode: 503 });
    });
  },
};

let app: RunningApp;
let port: number;

before(async () => {
  app = await startComponents([echo], { host: '127.0.0.1', port: 0, logger: silentLogger(), limits: LIMITS });
  port = Number(new URL(app.url).port);
});
after(async () => {
  await app.stop();
});

/** A raw socket: what it receives until the server closes it, and when. */
function rawSocket(): Promise<{ socket: net.Socket; closed: Promise<{ data: string; afterMs: number }> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const started = Date.now();
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    const closed = new Promise<{ data: string; afterMs: number }>((res) => socket.on('close', () => res({ data, afterMs: Date.now() - started })));
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', (err) => (socket.connecting ? reject(err) : undefined));
  });
}

const post = (path: string, body: string, contentType = 'application/json') =>
  fetch(`${app.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });

async function errorOf(res: Response): Promise<string> {
  const text = await res.text();
  const body = JSON.parse(text) as { error?: unknown };
  assert.equal(typeof body.error, 'string', text);
  assert.ok((body.error as string).length > 0, text);
  assert.doesNotMatch(text, /\n\s+at |\.js:\d+/, 'no stack trace');
  return body.error as string;
}

describe('server limits', () => {
  test('a body sent 1 byte per second is cut off with 408 after requestTimeoutMs', async () => {
    const { socket, closed } = await rawSocket();
    socket.write(`POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`);
    const timer = setInterval(() => socket.writable && socket.write('1'), 1000);
    try {
      const { data, afterMs } = await closed;
      assert.match(data, /^HTTP\/1\.1 408 /);
      assert.match(data, /"error":"request not received within 1500 ms/);
      assert.ok(afterMs >= 1400 && afterMs < 4000, `closed after ${afterMs} ms`);
    } finally {
      clearInterval(timer);
      socket.destroy();
    }
  });

  test('headers sent slowly are cut off after headersTimeoutMs', async () => {
    const { socket, closed } = await rawSocket();
    const header = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ';
    let i = 0;
    const timer = setInterval(() => socket.writable && socket.write(header[i++ % header.length]!), 200);
    try {
      const { data, afterMs } = await closed;
      assert.match(data, /^HTTP\/1\.1 408 /);
      assert.ok(afterMs >= 900 && afterMs < 3500, `closed after ${afterMs} ms`);
    } finally {
      clearInterval(timer);
      socket.destroy();
    }
  });

  test('an idle keep-alive connection is closed after keepAliveTimeoutMs', async () => {
    const { socket, closed } = await rawSocket();
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    const { data, afterMs } = await closed;
    assert.match(data, /^HTTP\/1\.1 200 /);
    assert.ok(afterMs >= 700 && afterMs < 3000, `closed after ${afterMs} ms`);
  });

  test('connections beyond maxConnections are refused; a freed slot is usable again', async () => {
    const held = await Promise.all(Array.from({ length: LIMITS.maxConnections }, () => rawSocket()));
    try {
      for (const h of held) h.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'); // in use: counted, not idle-closed yet
      await new Promise((r) => setTimeout(r, 100));
      const extra = await rawSocket();
      extra.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      const { data, afterMs } = await extra.closed;
      assert.equal(data, '', 'no answer on a connection over the cap');
      assert.ok(afterMs < 1000, `refused at once (${afterMs} ms)`);
    } finally {
      for (const h of held) h.socket.destroy();
    }
    await new Promise((r) => setTimeout(r, 100));
    const res = await fetch(`${app.url}/healthz`);
    assert.equal(res.status, 200);
  });

  test('JSON deeper than maxJsonDepth is a 400 naming the limit and where; at the limit it is accepted', async () => {
    const ok = await post('/echo', `{"a":${'['.repeat(7)}1${']'.repeat(7)}}`);
    assert.equal(ok.status, 200);
    const deep = await post('/echo', `{"inputs":[{"data":${'['.repeat(1500)}1${']'.repeat(1500)}}]}`); // within the body limit
    assert.equal(deep.status, 400);
    const error = await errorOf(deep);
    assert.match(error, /nested deeper than 8 levels at \$\.inputs\[0\]\.data\[0\]\[0\]\[0\]\[0\]/);
    assert.match(error, /http\.maxJsonDepth/);
  });

  test('client errors answer 4xx {error} naming the problem', async () => {
    // body too large: 413 with the route's limit (server-wide, and a route's own)
    const big = await post('/echo', JSON.stringify({ x: 'y'.repeat(5000) }));
    assert.equal(big.status, 413);
    assert.match(await errorOf(big), /larger than 4096 bytes/);
    const small = await post('/small', JSON.stringify({ x: 'y'.repeat(2000) }));
    assert.equal(small.status, 413);
    assert.match(await errorOf(small), /larger than 1024 bytes/);
    // unsupported media type
    const xml = await post('/echo', '<a/>', 'application/xml');
    assert.equal(xml.status, 415);
    assert.match(await errorOf(xml), /unsupported content type "application\/xml"/);
    // malformed JSON, empty JSON, prototype keys
    const broken = await post('/echo', '{"a": ');
    assert.equal(broken.status, 400);
    assert.match(await errorOf(broken), /malformed JSON body/);
    const empty = await post('/echo', '');
    assert.equal(empty.status, 400);
    assert.match(await errorOf(empty), /empty body/);
    const proto = await post('/echo', '{"__proto__": {"polluted": true}}');
    assert.equal(proto.status, 400);
    assert.match(await errorOf(proto), /__proto__/);
    // query validation: repeated, wrong type, out of range, missing
    const repeated = await fetch(`${app.url}/q?from=-1h&from=-2h`);
    assert.equal(repeated.status, 400);
    assert.equal(await errorOf(repeated), 'query parameter "from" is given 2 times; give it once');
    const wrongType = await fetch(`${app.url}/q?from=now&limit=many`);
    assert.equal(wrongType.status, 400);
    assert.equal(await errorOf(wrongType), 'query parameter "limit" must be integer');
    const range = await fetch(`${app.url}/q?from=now&limit=11`);
    assert.equal(range.status, 400);
    assert.equal(await errorOf(range), 'query parameter "limit" must be <= 10');
    const missing = await fetch(`${app.url}/q`);
    assert.equal(missing.status, 400);
    assert.equal(await errorOf(missing), 'query parameter "from" is required');
    // unknown route, malformed URL
    const none = await fetch(`${app.url}/nowhere?x=1`);
    assert.equal(none.status, 404);
    assert.equal(await errorOf(none), 'no route GET /nowhere');
    const badUrl = await fetch(`${app.url}/api/x/%zz`);
    assert.ok(badUrl.status === 400 || badUrl.status === 404, String(badUrl.status));
    await errorOf(badUrl);
    // oversize headers (Node's parser, before Fastify)
    const { socket, closed } = await rawSocket();
    socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`);
    const { data } = await closed;
    assert.match(data, /^HTTP\/1\.1 431 /);
    assert.match(data, /"error":"request headers larger than \d+ bytes"/);
  });

  test('a failing handler answers 500 without its message or stack; a deliberate 5xx keeps its message', async () => {
    const boom = await fetch(`${app.url}/boom`);
    assert.equal(boom.status, 500);
    const error = await errorOf(boom);
    assert.doesNotMatch(error, /secret|srv/);
    assert.match(error, /internal error while handling GET \/boom; it is logged with request id/);
    const down = await fetch(`${app.url}/unavailable`);
    assert.equal(down.status, 503);
    assert.equal(await errorOf(down), 'the store is down; retry later');
  });
});

test('http limits are in the app config with their defaults', () => {
  const cfg = loadAppConfig(undefined, {}, {});
  assert.deepEqual(
    { bodyLimitBytes: cfg.http.bodyLimitBytes, maxJsonDepth: cfg.http.maxJsonDepth, requestTimeoutMs: cfg.http.requestTimeoutMs, headersTimeoutMs: cfg.http.headersTimeoutMs, keepAliveTimeoutMs: cfg.http.keepAliveTimeoutMs, socketTimeoutMs: cfg.http.socketTimeoutMs, maxConnections: cfg.http.maxConnections },
    { ...DEFAULT_HTTP_LIMITS },
  );
  const over = loadAppConfig(undefined, {}, { WATTFLOW__http__maxConnections: '10', WATTFLOW__http__requestTimeoutMs: '5000' });
  assert.equal(over.http.maxConnections, 10);
  assert.equal(over.http.requestTimeoutMs, 5000);
});

test('jsonDepthViolation: iterative, ignores brackets in strings, says where', () => {
  assert.equal(jsonDepthViolation('{"a":"[[[[[[[[[[[["}', 3), undefined);
  assert.equal(jsonDepthViolation('[[[1]]]', 3), undefined);
  assert.deepEqual(jsonDepthViolation('[[[[1]]]]', 3), { path: '$[0][0][0]', offset: 3, depth: 4 });
  assert.deepEqual(jsonDepthViolation('{"x":1,"y\\"z":[0,{"k":[[1]]}]}', 4), { path: '$["y\\\\\\"z"][1].k[0]', offset: 23, depth: 5 });
  const huge = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
  assert.equal(jsonDepthViolation(huge, 64)?.depth, 65);
});
