/**
 * `wattflow token`: makes the bearer tokens the servers accept (src/core/auth.ts).
 *   new  --name N --scopes S   a random token, printed once, and its config entry (hashed)
 *   hash --name N --scopes S [TOKEN]   the config entry of an existing token (TOKEN, else stdin)
 */
import { readFileSync } from 'node:fs';
import { stringify as toYaml } from 'yaml';
import { newToken, parseScopes, tokenEntry, SCOPES, type TokenEntry } from '../core/auth.js';
import type { Role } from './role.js';
import { parseRoleArgs, UsageError } from './common.js';

const USAGE = [
  'usage: wattflow token new --name NAME --scopes SCOPES [--json]',
  '       wattflow token hash --name NAME --scopes SCOPES [TOKEN]      (TOKEN, else read from stdin)',
  '',
  `Scopes (comma-separated, or all): ${SCOPES.join(', ')}.`,
  '  ingest        vehicle measurements; V2 infer requests that write predictions',
  '  models:write  registry: create, upload, alias, unalias, delete',
  '  deploy        registry: deploy, switch, undeploy, rollback (and moving a deployed alias)',
  '  read          router data, vehicles, dead letters, registry listings, model status, V2 metadata/infer',
  '',
  '`new` prints the token once (give it to the client as WATTFLOW_TOKEN) and the entry to add to',
  'auth.tokens in the config file, or to the tokens file (auth.tokensFile / WATTFLOW_TOKENS_FILE,',
  'e.g. a Kubernetes Secret; SIGHUP re-reads it). Only the sha256 is stored on the server.',
].join('\n');

function entryText(entry: TokenEntry): string {
  return toYaml([entry], { flowCollectionPadding: false }).trimEnd();
}

export const tokenRole: Role = {
  name: 'token',
  summary: 'make a bearer token (printed once) and its hashed config entry (auth.tokens)',
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseRoleArgs(args, { name: { type: 'string' }, scopes: { type: 'string' }, json: { type: 'boolean' } });
    const [cmd, given] = positionals;
    if (cmd !== 'new' && cmd !== 'hash') throw new UsageError(cmd ? `unknown command "${cmd}"` : 'a command is required (new or hash)');
    if (!values.name || !/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$/.test(values.name)) throw new UsageError('--name NAME is required (1-64 of A-Z a-z 0-9 . _ : @ -): it names the token in logs and 403 answers');
    let scopes;
    try {
      scopes = parseScopes(values.scopes ?? '');
    } catch (err) {
      throw new UsageError(`--scopes: ${(err as Error).message}`);
    }
    const token = cmd === 'new' ? newToken() : (given ?? readFileSync(0, 'utf8')).trim();
    if (token === '') throw new UsageError('no token given (argument or stdin)');
    const entry = tokenEntry(values.name, token, scopes);
    if (values.json) {
      console.log(JSON.stringify(cmd === 'new' ? { token, entry } : { entry }, null, 2));
      return 0;
    }
    if (cmd === 'new') {
      console.log(['token (shown once; the client sends it as WATTFLOW_TOKEN):', `  ${token}`, ''].join('\n'));
    }
    console.log(['config entry (under auth.tokens in the config file, or in the tokens file):', entryText(entry)].join('\n'));
    return 0;
  },
};
