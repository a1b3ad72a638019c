/**
 * wattflow's layer rules (issue 15), checked by `npm run lint:deps` (scripts/lint/deps.mjs, which
 * also refuses cycles between src/'s top-level folders). Type-only imports count: a lower layer
 * that names an upper layer's type depends on it. docs/wiring.md explains the rules.
 *
 * ALLOW lists entries that break a rule today and are being fixed; each names its owner.
 */
const ALLOW = {
  // a file-level cycle through these files is tolerated for now (none left)
  circular: ['^$'],
  // these files still import src/app-config.ts (none left)
  appConfig: [],
};

/** The stages (transforms). Sources, sinks and the fabric never import them. */
const STAGES = '^src/router-power/(processor|inference)/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles between files (folder cycles: scripts/lint/deps.mjs).',
      severity: 'error',
      from: { pathNot: ALLOW.circular },
      to: { circular: true, pathNot: ALLOW.circular },
    },
    {
      name: 'no-roles',
      comment: 'src/roles/ is the CLI\'s wiring: only src/cli.ts imports it.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/cli\\.ts$', '^src/roles/'] },
      to: { path: '^src/roles/' },
    },
    {
      name: 'no-cli',
      comment: 'Nothing imports the command line\'s entry point.',
      severity: 'error',
      from: {},
      to: { path: '^src/cli\\.ts$' },
    },
    {
      name: 'no-app-config',
      comment: 'A module takes its own config section type; only the wiring (roles, cli) sees the composed AppConfig.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/app-config\\.ts$', '^src/cli\\.ts$', '^src/roles/', ...ALLOW.appConfig] },
      to: { path: '^src/app-config\\.ts$' },
    },
    {
      name: 'core-only-core',
      comment: 'src/core is the bottom layer: it imports nothing of wattflow but core.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
    {
      name: 'fabric-below-stages',
      comment: 'The fabric carries messages; it knows neither the stage loop nor the stages.',
      severity: 'error',
      from: { path: '^src/fabric/' },
      to: { path: ['^src/stage/', STAGES] },
    },
    {
      name: 'sources-and-sinks-not-stages',
      comment: 'Sources (collector, producer, vehicle ingest) and sinks never import a stage (processor, inference).',
      severity: 'error',
      from: { path: ['^src/sinks/', '^src/collector/', '^src/router-power/producer/', '^src/vehicle/ingest/'] },
      to: { path: STAGES },
    },
    {
      name: 'collector-no-stage-loop',
      comment: 'The collector is an HTTP source; it does not consume topics.',
      severity: 'error',
      from: { path: '^src/collector/' },
      to: { path: '^src/stage/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/ui/static/' },
  },
};
