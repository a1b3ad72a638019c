/**
 * TLS and mutual TLS on a wattflow server (http.tls, src/core/tls.ts), with certificates made
 * by openssl in a temporary directory: a CA, a server certificate for 127.0.0.1 and a client
 * certificate. With requireClientCert a client without a certificate is refused in the
 * handshake and one with a certificate signed by the CA gets through (then bearer tokens still
 * decide the scopes). Missing files and requireClientCert without caFile are configuration errors.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Authenticator, tokenEntry } from '../../src/core/auth.js';
import { ConfigError } from '../../src/core/config.js';
import { startComponents, type RunningApp } from '../../src/core/lifecycle.js';
import { silentLogger } from '../../src/core/logger.js';
import { httpsOptions, type TlsConfig } from '../../src/core/tls.js';

const dir = mkdtempSync(join(tmpdir(), 'wattflow-tls-'));
const f = (name: string) => join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

function makeCertificates(): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=wattflow test CA');
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    openssl('req', ...ec, '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`), '-subj', `/CN=${who === 'server' ? '127.0.0.1' : 'vehicle-7'}`);
    openssl('x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${who}.crt`), '-days', '1', '-extfile', f(`${who}.ext`));
  }
  // a client certificate from another CA: refused too
  openssl('req', '-x509', ...ec, '-keyout', f('rogue.key'), '-out', f('rogue.crt'), '-days', '1', '-subj', '/CN=rogue');
}

interface Answer {
  status?: number;
  body?: string;
  error?: string;
}

function get(url: string, opts: { cert?: string; key?: string; token?: string } = {}): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        ca: readFileSync(f('ca.crt')),
        ...(opts.cert ? { cert: readFileSync(opts.cert), key: readFileSync(opts.key!) } : {}),
        headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
        timeout: 5000,
      },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

const routes = { name: 'secret', routes: (a: import('fastify').FastifyInstance) => void a.get('/api/secret', { config: { auth: 'read' } }, async () => ({ ok: true })) };

describe('TLS on the servers', () => {
  before(makeCertificates);
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('mutual TLS (requireClientCert)', () => {
    let app: RunningApp;
    const tls: TlsConfig = { certFile: f('server.crt'), keyFile: f('server.key'), caFile: f('ca.crt'), requireClientCert: true };
    before(async () => {
      const auth = new Authenticator({ entries: [tokenEntry('reader', 'tok-read', ['read'])] });
      app = await startComponents([routes], { host: '127.0.0.1', port: 0, logger: silentLogger(), tls, auth });
    });
    after(async () => app.stop());

    test('the server reports an https URL', () => assert.match(app.url, /^https:\/\/127\.0\.0\.1:\d+$/));

    test('a client without a certificate is refused in the handshake, even for /healthz', async () => {
      const r = await get(`${app.url}/healthz`);
      assert.equal(r.status, undefined, `answered ${r.status}`);
      assert.ok(r.error, 'connection refused by TLS');
    });

    test('a client certificate from another CA is refused', async () => {
      const r = await get(`${app.url}/healthz`, { cert: f('rogue.crt'), key: f('rogue.key') });
      assert.equal(r.status, undefined, `answered ${r.status}`);
    });

    test('with a certificate signed by the CA: accepted; tokens still decide the scopes', async () => {
      const cert = { cert: f('client.crt'), key: f('client.key') };
      assert.equal((await get(`${app.url}/healthz`, cert)).status, 200);
      assert.equal((await get(`${app.url}/api/secret`, cert)).status, 401);
      const ok = await get(`${app.url}/api/secret`, { ...cert, token: 'tok-read' });
      assert.equal(ok.status, 200);
      assert.deepEqual(JSON.parse(ok.body!), { ok: true });
    });
  });

  test('TLS without client certificates: any client that trusts the CA connects', async () => {
    const app = await startComponents([routes], { host: '127.0.0.1', port: 0, logger: silentLogger(), tls: { certFile: f('server.crt'), keyFile: f('server.key') } });
    try {
      assert.equal((await get(`${app.url}/healthz`)).status, 200);
      assert.equal((await get(`${app.url}/api/secret`)).status, 200); // no token configured: auth off
    } finally {
      await app.stop();
    }
  });

  test('configuration errors name the setting', () => {
    assert.throws(() => httpsOptions({ certFile: f('server.crt'), keyFile: f('server.key'), requireClientCert: true }), (e: unknown) => e instanceof ConfigError && /\/http\/tls\/caFile: is required with requireClientCert/.test(e.message));
    assert.throws(() => httpsOptions({ certFile: f('missing.crt'), keyFile: f('server.key') }), /\/http\/tls\/certFile: cannot read the certificate .*missing\.crt/);
  });
});
