/**
 * Role `url`: prints the address of the wattflow server the clients started here use — the
 * same choice as theirs (WATTFLOW_URL, else the `wattflow up` running from this directory, else
 * http://127.0.0.1:8000; src/core/instance.ts) — so that scripts and the README's curl commands
 * work on any port: `curl -s $(wattflow url)/api/routers`.
 */
import { loadAppConfig } from '../app-config.js';
import { chooseServer, stateDirOf } from '../core/instance.js';
import { parseRoleArgs } from './common.js';
import type { Role } from './role.js';

export const urlRole: Role = {
  name: 'url',
  summary: 'print the address of the wattflow server clients here use (WATTFLOW_URL, else the running up, else :8000)',
  usage: [
    'usage: wattflow url [--config FILE] [--verbose]',
    '',
    'Prints the base URL the clients started from this directory use (models, train --register,',
    'replay-vehicle, …): WATTFLOW_URL, else the `wattflow up` running from this directory',
    '(<storage.dir>/up.json, or the newest one started here), else http://127.0.0.1:8000.',
    '--verbose also says where it came from (on stderr). Example: curl -s $(wattflow url)/api/routers',
  ].join('\n'),
  async run(args) {
    const { values } = parseRoleArgs(args, { verbose: { type: 'boolean', short: 'v' } });
    const choice = chooseServer({ stateDir: stateDirOf(loadAppConfig(values.config)) });
    console.log(choice.url);
    if (values.verbose) console.error(`wattflow url: ${choice.source}`);
    return 0;
  },
};
