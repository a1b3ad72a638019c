/**
 * Role `collector`: the node-exporter collector HTTP service on its own.
 */
import { serverRole } from './server-role.js';

export const collectorRole = serverRole({
  name: 'collector',
  summary: 'serve GET /metrics/{host}_{port}.json: an exporter\'s metrics as the seed\'s JSON',
  usage: [
    'usage: wattflow collector [--config FILE] [--port N] [--host H]',
    '',
    'Serves GET /metrics/{host}_{port}.json[?name=METRIC&<label>=v1,v2]: scrapes',
    'http://{host}:{port}/metrics (targets from collector.allowTargets) and answers JSON.',
  ].join('\n'),
  modules: ['collector'],
  banner: ({ url, cfg }) => [`collector listening on ${url} — try ${url}/metrics/${cfg.collector.allowTargets[0]?.replace(':', '_') ?? '127.0.0.1_9100'}.json`],
});
