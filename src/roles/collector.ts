/**
 * Role `collector`: the node-exporter collector HTTP service on its own.
 */
import { createCollector } from '../collector/collector.js';
import type { Role } from './role.js';
import { loadRoleConfig, parseRoleArgs, roleLogger, serve } from './common.js';

export const collectorRole: Role = {
  name: 'collector',
  summary: 'serve GET /metrics/{host}_{port}.json: an exporter\'s metrics as the seed\'s JSON',
  usage: [
    'usage: wattflow collector [--config FILE] [--port N] [--host H]',
    '',
    'Serves GET /metrics/{host}_{port}.json[?name=METRIC&<label>=v1,v2]: scrapes',
    'http://{host}:{port}/metrics (targets from collector.allowTargets) and answers JSON.',
  ].join('\n'),
  async run(args) {
    const { values } = parseRoleArgs(args, {});
    const cfg = loadRoleConfig(values);
    const logger = roleLogger(cfg, 'collector');
    await serve(cfg, logger, [createCollector(cfg.collector)], (url) => {
      console.log(`collector listening on ${url} — try ${url}/metrics/${cfg.collector.allowTargets[0]?.replace(':', '_') ?? '127.0.0.1_9100'}.json`);
    });
  },
};
