/**
 * The `auth` section of the app configuration (tokens, tokens file, unauthenticated opt-in,
 * the token this process sends), the scopes and a token entry's shape (src/core/auth.ts uses them).
 */
import { Type, type Static } from '@sinclair/typebox';
import { ConfigSection, Enum, envFlag, type EnvAlias } from './config.js';

export const SCOPES = ['ingest', 'models:write', 'deploy', 'read'] as const;
export type Scope = (typeof SCOPES)[number];

const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$';

/** One accepted token, hashed: {name, sha256, scopes}. */
export const tokenEntrySchema = Type.Object(
  {
    name: Type.String({ pattern: NAME_PATTERN }),
    /** sha256 of the token, lowercase hex. */
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    scopes: Type.Array(Enum(SCOPES), { minItems: 1, uniqueItems: true }),
  },
  { additionalProperties: false },
);
export type TokenEntry = Static<typeof tokenEntrySchema>;

export const authSection = ConfigSection({
  /** Accepted bearer tokens, hashed: {name, sha256, scopes}. */
  tokens: Type.Array(tokenEntrySchema, { default: [] }),
  /** More tokens from a file (JSON or YAML: a list of entries, or {tokens: [...]}); re-read on SIGHUP. */
  tokensFile: Type.Optional(Type.String({ minLength: 1 })),
  /** Serve beyond loopback with no token configured (everyone has every scope). */
  allowUnauthenticated: Type.Boolean({ default: false }),
  /** The token this process sends to other wattflow servers (WATTFLOW_TOKEN). */
  clientToken: Type.Optional(Type.String({ minLength: 1 })),
});
export type AuthConfig = Static<typeof authSection>;

export const authAliases: EnvAlias[] = [
  { env: 'WATTFLOW_TOKENS_FILE', path: '/auth/tokensFile', parse: (v) => v },
  { env: 'WATTFLOW_ALLOW_UNAUTHENTICATED', path: '/auth/allowUnauthenticated', parse: envFlag },
  { env: 'WATTFLOW_TOKEN', path: '/auth/clientToken', parse: (v) => v },
];
