/**
 * Optional TLS (and mutual TLS) on every wattflow HTTP server, with Node's TLS: the setting
 * `http.tls` {certFile, keyFile, caFile?, requireClientCert?} (certificates from files, PEM).
 * With requireClientCert the TLS handshake refuses a client without a certificate signed by
 * caFile — before any HTTP is spoken. Bearer tokens (src/core/auth.ts) still decide the scopes.
 */
import { readFileSync } from 'node:fs';
import { Server as TlsServer } from 'node:tls';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ConfigError } from './config.js';

/** The `http.tls` sub-schema and its type. */
export const tlsSchema = Type.Object(
  {
    /** Server certificate chain (PEM). */
    certFile: Type.String({ minLength: 1 }),
    /** Its private key (PEM). */
    keyFile: Type.String({ minLength: 1 }),
    /** CA bundle (PEM) client certificates must chain to (required with requireClientCert). */
    caFile: Type.Optional(Type.String({ minLength: 1 })),
    /** Mutual TLS: refuse clients without a certificate signed by caFile. */
    requireClientCert: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false },
);
export type TlsConfig = Static<typeof tlsSchema>;

export interface HttpsOptions {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

function read(file: string, what: string, path: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError('the http settings', path, `cannot read the ${what} ${file}: ${(err as Error).message}`);
  }
}

/** Node https server options from the setting (files read now; ConfigError naming a missing one). */
export function httpsOptions(tls: TlsConfig): HttpsOptions {
  if (tls.requireClientCert && !tls.caFile) throw new ConfigError('the http settings', '/http/tls/caFile', 'is required with requireClientCert (the CA client certificates must chain to)');
  return {
    cert: read(tls.certFile, 'certificate', '/http/tls/certFile'),
    key: read(tls.keyFile, 'private key', '/http/tls/keyFile'),
    ...(tls.caFile ? { ca: read(tls.caFile, 'CA bundle', '/http/tls/caFile') } : {}),
    requestCert: tls.requireClientCert === true,
    rejectUnauthorized: tls.requireClientCert === true,
  };
}

/** `https` when the app's server speaks TLS, else `http` (for the URLs a server reports). */
export function schemeOf(app: FastifyInstance | undefined): 'http' | 'https' {
  return app?.server instanceof TlsServer ? 'https' : 'http';
}
