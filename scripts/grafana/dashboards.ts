/**
 * wattflow's Grafana dashboards as code (@grafana/grafana-foundation-sdk) and the provisioning
 * files that go with them (docs/grafana.md). `node --import tsx scripts/grafana/generate.ts`
 * writes deploy/grafana/; the tests check the committed files are what this module generates,
 * and validate every query for real (test/grafana/).
 *
 *  - wattflow-routers  (InfluxDB 1.x, measurement router_power): power, occupation, packet
 *    length, rates, sensitivities, the model in use, per router;
 *  - wattflow-vehicles (InfluxDB, prediction + vehicle_measurement): anomaly score vs threshold,
 *    labels, flags, missing signals, gaps, signals;
 *  - wattflow-energy   (Prometheus, Kepler 0.10 names + Kepler 0.7's platform energy, wattflow's
 *    own energy metrics): node, zones, roles, pods, containers, processes, joules per message;
 *  - wattflow-pipeline (Prometheus, every role's /metrics): messages/s per stage, drops, dead
 *    letters (linked to the web UI's dead-letter view), per-hop latency p50/p99, consumer lag,
 *    polls, sinks, the in-process bus, the vehicle pipeline, processes.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

export const INFLUX_UID = 'wattflow-influxdb';
export const PROMETHEUS_UID = 'wattflow-prometheus';
const INFLUX: { type: string; uid: string } = { type: 'influxdb', uid: INFLUX_UID };
const PROM: { type: string; uid: string } = { type: 'prometheus', uid: PROMETHEUS_UID };

/** An InfluxQL query (raw mode) — the SDK has no InfluxDB builder; this is Grafana's InfluxQuery shape. */
class InfluxQuery implements cog.Builder<cog.Dataquery> {
  constructor(
    private readonly q: string,
    private readonly opts: { alias?: string; format?: 'time_series' | 'table' } = {},
  ) {}

  build(): cog.Dataquery {
    return {
      refId: '',
      datasource: INFLUX,
      query: this.q,
      rawQuery: true,
      resultFormat: this.opts.format ?? 'time_series',
      ...(this.opts.alias ? { alias: this.opts.alias } : {}),
    } as unknown as cog.Dataquery;
  }
}

type Query = { influx: string; alias?: string; format?: 'time_series' | 'table' } | { prom: string; legend?: string; instant?: boolean };

function target(q: Query, refId: string): cog.Builder<cog.Dataquery> {
  if ('influx' in q) {
    const built = new InfluxQuery(q.influx, { ...(q.alias ? { alias: q.alias } : {}), ...(q.format ? { format: q.format } : {}) });
    return { build: () => ({ ...built.build(), refId }) as cog.Dataquery };
  }
  const b = new prometheus.DataqueryBuilder().datasource(PROM).expr(q.prom).refId(refId);
  if (q.legend) b.legendFormat(q.legend);
  if (q.instant) b.instant().format(prometheus.PromQueryFormat.Table);
  else b.range();
  return b;
}

interface PanelSpec {
  kind: 'timeseries' | 'stat' | 'table';
  title: string;
  description: string;
  queries: Query[];
  unit?: string;
  w: number;
  h: number;
  stacked?: boolean;
  decimals?: number;
  links?: Array<{ title: string; url: string }>;
}

const legend = () => new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom);

function panel(p: PanelSpec, id: number, pos: { x: number; y: number }): cog.Builder<dashboard.Panel> {
  const ds = 'influx' in p.queries[0]! ? INFLUX : PROM;
  const refIds = p.queries.map((_, i) => String.fromCharCode(65 + i));
  const gridPos = { x: pos.x, y: pos.y, w: p.w, h: p.h };
  const links = (p.links ?? []).map((l) => new dashboard.DashboardLinkBuilder(l.title).type(dashboard.DashboardLinkType.Link).url(l.url).targetBlank(true).includeVars(false).keepTime(false));
  if (p.kind === 'timeseries') {
    const b = new timeseries.PanelBuilder().id(id).title(p.title).description(p.description).datasource(ds).gridPos(gridPos).legend(legend()).lineWidth(1).fillOpacity(p.stacked ? 30 : 8).showPoints(common.VisibilityMode.Never).spanNulls(false);
    if (p.stacked) b.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
    if (p.unit) b.unit(p.unit);
    if (p.decimals !== undefined) b.decimals(p.decimals);
    if (links.length) b.links(links);
    p.queries.forEach((q, i) => b.withTarget(target(q, refIds[i]!)));
    return b;
  }
  if (p.kind === 'stat') {
    const b = new stat.PanelBuilder().id(id).title(p.title).description(p.description).datasource(ds).gridPos(gridPos).reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false)).graphMode(common.BigValueGraphMode.None).colorMode(common.BigValueColorMode.None);
    if (p.unit) b.unit(p.unit);
    if (p.decimals !== undefined) b.decimals(p.decimals);
    if (links.length) b.links(links);
    p.queries.forEach((q, i) => b.withTarget(target(q, refIds[i]!)));
    return b;
  }
  const b = new table.PanelBuilder().id(id).title(p.title).description(p.description).datasource(ds).gridPos(gridPos);
  if (p.unit) b.unit(p.unit);
  if (p.decimals !== undefined) b.decimals(p.decimals);
  if (links.length) b.links(links);
  p.queries.forEach((q, i) => b.withTarget(target(q, refIds[i]!)));
  return b;
}

interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  refresh: string;
  time: { from: string; to: string };
  variables: Array<cog.Builder<dashboard.VariableModel>>;
  links?: Array<{ title: string; url: string }>;
  /** Rows of panels; each row's widths add up to 24. */
  rows: Array<{ title: string; panels: PanelSpec[] }>;
}

function build(spec: DashboardSpec): dashboard.Dashboard {
  const d = new dashboard.DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags(spec.tags)
    .refresh(spec.refresh)
    .time(spec.time)
    .timezone('browser')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .editable()
    .variables(spec.variables);
  if (spec.links?.length) d.links(spec.links.map((l) => new dashboard.DashboardLinkBuilder(l.title).type(dashboard.DashboardLinkType.Link).url(l.url).targetBlank(true).includeVars(false).keepTime(false)));
  let id = 1;
  let y = 0;
  for (const row of spec.rows) {
    d.withRow(new dashboard.RowBuilder(row.title).id(id++).gridPos({ x: 0, y, w: 24, h: 1 }));
    y += 1;
    let x = 0;
    let rowH = 0;
    for (const p of row.panels) {
      if (x + p.w > 24) {
        x = 0;
        y += rowH;
        rowH = 0;
      }
      d.withPanel(panel(p, id++, { x, y }));
      x += p.w;
      rowH = Math.max(rowH, p.h);
    }
    y += rowH;
  }
  const out = d.build();
  return { ...out, id: null } as dashboard.Dashboard;
}

// ------------------------------------------------------------------------------- variables

const influxVar = (name: string, label: string, query: string, description: string) =>
  new dashboard.QueryVariableBuilder(name).label(label).description(description).datasource(INFLUX).query(query).definition(query).multi(true).includeAll(true).refresh(dashboard.VariableRefresh.OnTimeRangeChanged).sort(dashboard.VariableSort.NaturalAsc).current({ text: 'All', value: '$__all' });

const promVar = (name: string, label: string, query: string, description: string) =>
  new dashboard.QueryVariableBuilder(name)
    .label(label)
    .description(description)
    .datasource(PROM)
    .query({ query, refId: 'PrometheusVariableQueryEditor-VariableQuery', qryType: 1 })
    .definition(query)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.NaturalAsc)
    .current({ text: 'All', value: '$__all' });

/** Where the wattflow web UI is (links to its views, e.g. the dead letters). */
const uiVar = () =>
  new dashboard.TextBoxVariableBuilder('wattflow_ui')
    .label('wattflow UI')
    .description('Base URL of the wattflow web UI (wattflow up / wattflow api), for the links to its views')
    .defaultValue('http://127.0.0.1:8000')
    .current({ text: 'http://127.0.0.1:8000', value: 'http://127.0.0.1:8000' });

// ------------------------------------------------------------------------------- dashboards

const R = `"router" =~ /^$router$/`;

export function routersDashboard(): dashboard.Dashboard {
  const series = (field: string, title: string, unit: string, description: string, w = 12): PanelSpec => ({
    kind: 'timeseries',
    title,
    description,
    unit,
    w,
    h: 8,
    queries: [{ influx: `SELECT mean("${field}") FROM "router_power" WHERE $timeFilter AND ${R} GROUP BY time($__interval), "router" fill(none)`, alias: '$tag_router' }],
  });
  return build({
    uid: 'wattflow-routers',
    title: 'wattflow — Routers',
    description: 'Router power predictions (ACROSS): measurement router_power in InfluxDB, written by wattflow\'s InfluxDB sink (INFLUX_URL).',
    tags: ['wattflow', 'routers', 'power'],
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    links: [{ title: 'wattflow UI: routers', url: '${wattflow_ui}/#/routers' }],
    variables: [
      influxVar('experiment', 'Experiment', 'SHOW TAG VALUES FROM "router_power" WITH KEY = "experiment_id"', 'experiment_id of the predictions'),
      influxVar('router', 'Router', 'SHOW TAG VALUES FROM "router_power" WITH KEY = "router" WHERE "experiment_id" =~ /^$experiment$/', 'Routers of the selected experiments'),
      uiVar(),
    ],
    rows: [
      {
        title: 'Fleet',
        panels: [
          { kind: 'stat', title: 'Fleet power (latest)', description: 'Sum over the selected routers of their latest predicted power', unit: 'watt', w: 6, h: 4, decimals: 1, queries: [{ influx: `SELECT sum("power") FROM (SELECT last("power") AS "power" FROM "router_power" WHERE $timeFilter AND ${R} GROUP BY "router")` }] },
          { kind: 'stat', title: 'Routers reporting', description: 'Selected routers with a prediction in the time range', w: 6, h: 4, decimals: 0, queries: [{ influx: `SELECT count("power") FROM (SELECT last("power") AS "power" FROM "router_power" WHERE $timeFilter AND ${R} GROUP BY "router")` }] },
          { kind: 'stat', title: 'Mean occupation', description: 'Mean capacity occupation of the selected routers over the time range', unit: 'percent', w: 6, h: 4, decimals: 1, queries: [{ influx: `SELECT mean("occupation") FROM "router_power" WHERE $timeFilter AND ${R}` }] },
          { kind: 'stat', title: 'Energy in the range', description: 'Predicted energy of the selected routers over the time range (integral of power)', unit: 'watth', w: 6, h: 4, decimals: 1, queries: [{ influx: `SELECT sum("wh") FROM (SELECT integral("power", 1h) AS "wh" FROM "router_power" WHERE $timeFilter AND ${R} GROUP BY "router")` }] },
          series('power', 'Power per router', 'watt', 'Predicted power (W), mean per interval', 24),
        ],
      },
      {
        title: 'Traffic',
        panels: [
          series('occupation', 'Capacity occupation', 'percent', 'Received bit rate / link capacity (%)'),
          series('packet_length', 'Average packet length', 'decbytes', 'Received bytes / received packets (bytes)'),
          series('packet_rate', 'Packet rate', 'pps', 'Received packets per second'),
          series('byte_rate_mbps', 'Bit rate', 'Mbits', 'Received Mbit/s'),
        ],
      },
      {
        title: 'Model',
        panels: [
          {
            kind: 'timeseries',
            title: 'Sensitivities',
            description: '∂power/∂occupation (W per unit of occupation as a fraction) and ∂power/∂packet length (W per byte), from the model in use',
            w: 12,
            h: 8,
            queries: [
              { influx: `SELECT mean("power_rate_occupation") FROM "router_power" WHERE $timeFilter AND ${R} GROUP BY time($__interval), "router" fill(none)`, alias: '∂P/∂occupation $tag_router' },
              { influx: `SELECT mean("power_rate_packet_length") FROM "router_power" WHERE $timeFilter AND ${R} GROUP BY time($__interval), "router" fill(none)`, alias: '∂P/∂length $tag_router' },
            ],
          },
          { kind: 'timeseries', title: 'Predictions per model', description: 'Predictions per interval by the model that made them (formula dummy:<type> or a deployed model): a deploy, switch or rollback shows as a change of series', w: 12, h: 8, stacked: true, queries: [{ influx: `SELECT count("power") FROM "router_power" WHERE $timeFilter AND ${R} GROUP BY time($__interval), "model" fill(none)`, alias: '$tag_model' }] },
          {
            kind: 'table',
            title: 'Latest per router',
            description: 'The latest prediction of each selected router, with its model and router type',
            w: 24,
            h: 9,
            queries: [{ influx: `SELECT last("power") AS "power (W)", last("occupation") AS "occupation (%)", last("packet_length") AS "packet length (B)", last("byte_rate_mbps") AS "Mbit/s" FROM "router_power" WHERE $timeFilter AND ${R} GROUP BY "router", "model", "router_type"`, format: 'table' }],
          },
        ],
      },
    ],
  });
}

const V = `"vehicle_id" =~ /^$vehicle$/`;

export function vehiclesDashboard(): dashboard.Dashboard {
  const signal = (field: string, title: string, unit: string): PanelSpec => ({
    kind: 'timeseries',
    title,
    description: `${title} (vehicle_measurement.${field}): the aligned vector's value`,
    unit,
    w: 12,
    h: 7,
    queries: [{ influx: `SELECT mean("${field}") FROM "vehicle_measurement" WHERE $timeFilter AND ${V} GROUP BY time($__interval), "vehicle_id" fill(none)`, alias: '$tag_vehicle_id' }],
  });
  return build({
    uid: 'wattflow-vehicles',
    title: 'wattflow — Vehicles',
    description: 'Vehicle data at the edge (SUCCESS6G): the predictor\'s scores (measurement prediction) and the aligned signals (vehicle_measurement) in InfluxDB.',
    tags: ['wattflow', 'vehicles', 'anomaly'],
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    links: [{ title: 'wattflow UI: vehicles', url: '${wattflow_ui}/#/vehicles' }],
    variables: [influxVar('vehicle', 'Vehicle', 'SHOW TAG VALUES FROM "prediction" WITH KEY = "vehicle_id"', 'Vehicles with predictions'), uiVar()],
    rows: [
      {
        title: 'Anomaly',
        panels: [
          { kind: 'stat', title: 'Vectors scored', description: 'Aligned vectors the predictor scored in the time range', w: 6, h: 4, decimals: 0, queries: [{ influx: `SELECT count("seq") FROM "prediction" WHERE $timeFilter AND ${V}` }] },
          { kind: 'stat', title: 'Highest score', description: 'Highest anomaly score in the time range (above the threshold: label anomaly)', w: 6, h: 4, decimals: 3, queries: [{ influx: `SELECT max("score") FROM "prediction" WHERE $timeFilter AND ${V}` }] },
          { kind: 'stat', title: 'Threshold', description: 'The model\'s anomaly threshold', w: 6, h: 4, decimals: 3, queries: [{ influx: `SELECT last("threshold") FROM "prediction" WHERE $timeFilter AND ${V}` }] },
          { kind: 'stat', title: 'Most missing signals', description: 'Largest number of signals missing from one vector in the time range', w: 6, h: 4, decimals: 0, queries: [{ influx: `SELECT max("missing") FROM "prediction" WHERE $timeFilter AND ${V}` }] },
          {
            kind: 'timeseries',
            title: 'Anomaly score and threshold',
            description: 'Mean score per interval against the model\'s threshold; an interval without a scored vector is a gap',
            w: 24,
            h: 8,
            queries: [
              { influx: `SELECT mean("score") FROM "prediction" WHERE $timeFilter AND ${V} GROUP BY time($__interval), "vehicle_id" fill(null)`, alias: 'score $tag_vehicle_id' },
              { influx: `SELECT mean("threshold") FROM "prediction" WHERE $timeFilter AND ${V} GROUP BY time($__interval) fill(none)`, alias: 'threshold' },
            ],
          },
          { kind: 'timeseries', title: 'Vectors per minute (gaps)', description: 'Scored vectors per minute: below the cadence (60 at 1 s) the vehicle stopped reporting or signals were too stale', w: 12, h: 7, queries: [{ influx: `SELECT count("seq") FROM "prediction" WHERE $timeFilter AND ${V} GROUP BY time(1m), "vehicle_id" fill(0)`, alias: '$tag_vehicle_id' }] },
          { kind: 'timeseries', title: 'Missing signals', description: 'Signals without a value within their maximum age, per vector', w: 12, h: 7, queries: [{ influx: `SELECT max("missing") FROM "prediction" WHERE $timeFilter AND ${V} GROUP BY time($__interval), "vehicle_id" fill(none)`, alias: '$tag_vehicle_id' }] },
          {
            kind: 'table',
            title: 'Latest per vehicle: label, plausibility flags, top deviating signal',
            description: 'The latest prediction of each vehicle: label (normal, anomaly, implausible, insufficient_data), the plausibility flags raised on its vector, the signal deviating most',
            w: 24,
            h: 7,
            queries: [{ influx: `SELECT last("score") AS "score", last("label") AS "label", last("flags") AS "flags", last("top_signal") AS "top signal", last("missing") AS "missing", last("model_version") AS "model" FROM "prediction" WHERE $timeFilter AND ${V} GROUP BY "vehicle_id"`, format: 'table' }],
          },
        ],
      },
      {
        title: 'Signals',
        panels: [signal('vehicle_speed', 'Vehicle speed', 'velocitykmh'), signal('accelerator_pedal_position', 'Accelerator pedal position', 'percent'), signal('engine_torque', 'Engine torque', 'none'), signal('engine_oil_temperature', 'Engine oil temperature', 'celsius')],
      },
    ],
  });
}

const NODE = `node_name=~"$node"`;
/** A wattflow process (job and instance variables). */
const J = `job=~"$job", instance=~"$instance"`;
/** Kepler's zones to add up: core and uncore are parts of package. */
const ZONES = `zone!~"core|uncore"`;

export function energyDashboard(): dashboard.Dashboard {
  return build({
    uid: 'wattflow-energy',
    title: 'wattflow — Energy',
    description: 'Energy from the Kepler-compatible exporter (wattflow energy-exporter, or Kepler itself): node, zones, wattflow roles, pods, containers, processes; and wattflow\'s joules per message per stage.',
    tags: ['wattflow', 'energy', 'kepler'],
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    links: [{ title: 'wattflow UI: energy', url: '${wattflow_ui}/#/energy' }],
    variables: [
      promVar('node', 'Node', 'label_values(kepler_node_cpu_watts, node_name)', 'Nodes reported by the energy exporters'),
      promVar('job', 'Job', 'label_values(wattflow_stage_energy_per_message_joules, job)', 'Prometheus jobs scraping wattflow\'s stages (their energy per message)'),
      promVar('instance', 'Instance', 'label_values(wattflow_stage_energy_per_message_joules{job=~"$job"}, instance)', 'wattflow processes running stages'),
      uiVar(),
    ],
    rows: [
      {
        title: 'Node',
        panels: [
          { kind: 'stat', title: 'Node power', description: 'CPU package + DRAM power of the selected nodes (Kepler zones; core/uncore are inside package)', unit: 'watt', w: 6, h: 4, decimals: 1, queries: [{ prom: `sum(kepler_node_cpu_watts{${NODE}, ${ZONES}})` }] },
          { kind: 'stat', title: 'Energy in the range', description: 'Node energy over the dashboard\'s time range', unit: 'joule', w: 6, h: 4, decimals: 0, queries: [{ prom: `sum(increase(kepler_node_cpu_joules_total{${NODE}, ${ZONES}}[$__range]))` }] },
          { kind: 'stat', title: 'CPU usage', description: 'Node CPU usage ratio', unit: 'percentunit', w: 6, h: 4, decimals: 1, queries: [{ prom: `avg(kepler_node_cpu_usage_ratio{${NODE}})` }] },
          { kind: 'stat', title: 'Joules per prediction', description: 'Energy per message of the inference stage (wattflow_stage_energy_per_message_joules)', unit: 'joule', w: 6, h: 4, decimals: 4, queries: [{ prom: `avg(wattflow_stage_energy_per_message_joules{stage="inference", ${J}})` }] },
          { kind: 'timeseries', title: 'Node power by zone', description: 'kepler_node_cpu_watts per node and zone', unit: 'watt', w: 12, h: 8, stacked: true, queries: [{ prom: `sum by (node_name, zone) (kepler_node_cpu_watts{${NODE}})`, legend: '{{node_name}} {{zone}}' }] },
          { kind: 'timeseries', title: 'Active and idle power', description: 'The node\'s power split into active (work) and idle', unit: 'watt', w: 12, h: 8, queries: [{ prom: `sum by (node_name) (kepler_node_cpu_active_watts{${NODE}, ${ZONES}})`, legend: '{{node_name}} active' }, { prom: `sum by (node_name) (kepler_node_cpu_idle_watts{${NODE}, ${ZONES}})`, legend: '{{node_name}} idle' }] },
        ],
      },
      {
        title: 'wattflow',
        panels: [
          { kind: 'timeseries', title: 'Power by wattflow role', description: 'wattflow_energy_watts: the power attributed to wattflow\'s own processes, by role (in `wattflow up`, split by the stages\' CPU time)', unit: 'watt', w: 12, h: 8, stacked: true, queries: [{ prom: `sum by (role) (wattflow_energy_watts{${NODE}})`, legend: '{{role}}' }] },
          { kind: 'timeseries', title: 'Energy per message by stage', description: 'wattflow_stage_energy_per_message_joules: the stage\'s energy over its messages (window energy.perMessageWindowS)', unit: 'joule', w: 12, h: 8, queries: [{ prom: `max by (stage) (wattflow_stage_energy_per_message_joules{${J}})`, legend: '{{stage}}' }] },
          { kind: 'timeseries', title: 'wattflow energy rate by role', description: 'rate of wattflow_energy_joules_total: joules per second (= watts) by role', unit: 'watt', w: 12, h: 8, queries: [{ prom: `sum by (role) (rate(wattflow_energy_joules_total{${NODE}}[$__rate_interval]))`, legend: '{{role}}' }] },
          { kind: 'timeseries', title: 'Platform power (Kepler 0.7 names)', description: 'rate of kepler_node_platform_joules_total (Kepler 0.7\'s whole-node energy; the exporter\'s legacy names)', unit: 'watt', w: 12, h: 8, queries: [{ prom: `sum by (node_name) (rate(kepler_node_platform_joules_total{${NODE}}[$__rate_interval]))`, legend: '{{node_name}}' }] },
        ],
      },
      {
        title: 'Workloads',
        panels: [
          { kind: 'timeseries', title: 'Top pods', description: 'The 10 pods drawing the most power (kepler_pod_cpu_watts)', unit: 'watt', w: 8, h: 8, queries: [{ prom: `topk(10, sum by (pod_namespace, pod_name) (kepler_pod_cpu_watts{${NODE}, ${ZONES}}))`, legend: '{{pod_namespace}}/{{pod_name}}' }] },
          { kind: 'timeseries', title: 'Top containers', description: 'The 10 containers drawing the most power (kepler_container_cpu_watts)', unit: 'watt', w: 8, h: 8, queries: [{ prom: `topk(10, sum by (container_name, pod_name) (kepler_container_cpu_watts{${NODE}, ${ZONES}}))`, legend: '{{pod_name}} {{container_name}}' }] },
          { kind: 'timeseries', title: 'Top processes', description: 'The 10 processes drawing the most power (kepler_process_cpu_watts: the exporter\'s top consumers and wattflow\'s own)', unit: 'watt', w: 8, h: 8, queries: [{ prom: `topk(10, sum by (comm, pid) (kepler_process_cpu_watts{${NODE}, ${ZONES}}))`, legend: '{{comm}} ({{pid}})' }] },
        ],
      },
    ],
  });
}

export function pipelineDashboard(): dashboard.Dashboard {
  return build({
    uid: 'wattflow-pipeline',
    title: 'wattflow — Pipeline health',
    description: 'Every wattflow role\'s /metrics scraped by Prometheus: stage throughput, drops, dead letters, per-hop latency, consumer lag, polls, sinks, the in-process bus, the vehicle pipeline and the processes.',
    tags: ['wattflow', 'pipeline', 'health'],
    refresh: '10s',
    time: { from: 'now-1h', to: 'now' },
    links: [
      { title: 'wattflow UI: pipeline health', url: '${wattflow_ui}/#/health' },
      { title: 'wattflow UI: dead letters', url: '${wattflow_ui}/#/health/dead-letters' },
    ],
    variables: [
      promVar('job', 'Job', 'label_values(wattflow_messages_in_total, job)', 'Prometheus jobs scraping wattflow'),
      promVar('instance', 'Instance', 'label_values(wattflow_messages_in_total{job=~"$job"}, instance)', 'wattflow processes'),
      uiVar(),
    ],
    rows: [
      {
        title: 'Throughput',
        panels: [
          { kind: 'stat', title: 'Predictions/s', description: 'ML messages published by inference', unit: 'ops', w: 6, h: 4, decimals: 1, queries: [{ prom: `sum(rate(wattflow_messages_out_total{stage="inference", ${J}}[$__rate_interval]))` }] },
          { kind: 'stat', title: 'End-to-end p99', description: 'Scrape to prediction, 99th percentile', unit: 's', w: 6, h: 4, decimals: 3, queries: [{ prom: `histogram_quantile(0.99, sum by (le) (rate(wattflow_hop_latency_seconds_bucket{hop="end_to_end", ${J}}[$__rate_interval])))` }] },
          { kind: 'stat', title: 'Dead letters in the range', description: 'Messages sent to <topic>.dlq in the time range (see them in the wattflow UI)', w: 6, h: 4, decimals: 0, links: [{ title: 'Dead letters in the wattflow UI', url: '${wattflow_ui}/#/health/dead-letters' }], queries: [{ prom: `sum(increase(wattflow_dead_letter_total{${J}}[$__range]))` }] },
          { kind: 'stat', title: 'Poll errors/s', description: 'Router polls that failed', unit: 'ops', w: 6, h: 4, decimals: 2, queries: [{ prom: `sum(rate(wattflow_producer_polls_total{result="error", ${J}}[$__rate_interval]))` }] },
          { kind: 'timeseries', title: 'Messages in per stage', description: 'wattflow_messages_in_total by stage', unit: 'ops', w: 12, h: 8, queries: [{ prom: `sum by (stage) (rate(wattflow_messages_in_total{${J}}[$__rate_interval]))`, legend: '{{stage}}' }] },
          { kind: 'timeseries', title: 'Messages out per stage', description: 'wattflow_messages_out_total by stage', unit: 'ops', w: 12, h: 8, queries: [{ prom: `sum by (stage) (rate(wattflow_messages_out_total{${J}}[$__rate_interval]))`, legend: '{{stage}}' }] },
          { kind: 'timeseries', title: 'Drops by reason', description: 'Messages consumed without output for a normal reason (first message, counter reset, gap, …)', unit: 'ops', w: 12, h: 8, queries: [{ prom: `sum by (stage, reason) (rate(wattflow_messages_dropped_total{${J}}[$__rate_interval]))`, legend: '{{stage}} {{reason}}' }] },
          { kind: 'timeseries', title: 'Dead letters per stage', description: 'Invalid or unusable messages sent to <topic>.dlq with the reason; the wattflow UI lists them (link)', unit: 'ops', w: 12, h: 8, links: [{ title: 'Dead letters in the wattflow UI', url: '${wattflow_ui}/#/health/dead-letters' }], queries: [{ prom: `sum by (stage) (rate(wattflow_dead_letter_total{${J}}[$__rate_interval]))`, legend: '{{stage}}' }] },
        ],
      },
      {
        title: 'Latency and lag',
        panels: [
          { kind: 'timeseries', title: 'Latency per hop: p50', description: 'wattflow_hop_latency_seconds, median per hop', unit: 's', w: 12, h: 8, queries: [{ prom: `histogram_quantile(0.5, sum by (le, hop) (rate(wattflow_hop_latency_seconds_bucket{${J}}[$__rate_interval])))`, legend: '{{hop}}' }] },
          { kind: 'timeseries', title: 'Latency per hop: p99', description: 'wattflow_hop_latency_seconds, 99th percentile per hop', unit: 's', w: 12, h: 8, queries: [{ prom: `histogram_quantile(0.99, sum by (le, hop) (rate(wattflow_hop_latency_seconds_bucket{${J}}[$__rate_interval])))`, legend: '{{hop}}' }] },
          { kind: 'timeseries', title: 'Consumer lag', description: 'Unconsumed messages per stage (its consumer group)', w: 12, h: 8, queries: [{ prom: `max by (stage) (wattflow_consumer_lag_messages{${J}})`, legend: '{{stage}}' }] },
          { kind: 'timeseries', title: 'Polls by result', description: 'Router polls: ok, error, overrun (previous poll still running)', unit: 'ops', w: 12, h: 8, queries: [{ prom: `sum by (result) (rate(wattflow_producer_polls_total{${J}}[$__rate_interval]))`, legend: '{{result}}' }] },
        ],
      },
      {
        title: 'Sinks, bus and vehicles',
        panels: [
          { kind: 'timeseries', title: 'Records stored per sink', description: 'Predictions written by the sinks (embedded storage, InfluxDB)', unit: 'ops', w: 8, h: 8, queries: [{ prom: `sum by (sink) (rate(wattflow_sink_records_total{${J}}[$__rate_interval]))`, legend: '{{sink}}' }] },
          { kind: 'timeseries', title: 'InfluxDB points written', description: 'Points the InfluxDB writers delivered', unit: 'ops', w: 8, h: 8, queries: [{ prom: `sum by (writer) (rate(wattflow_influx_points_written_total{${J}}[$__rate_interval]))`, legend: '{{writer}}' }] },
          { kind: 'timeseries', title: 'In-process bus: use of its budget', description: 'Messages and bytes held against fabric.memory.maxMessages/maxBytes (wattflow up on the in-process bus)', unit: 'percentunit', w: 8, h: 8, queries: [{ prom: `max by (instance) (wattflow_bus_messages{${J}} / wattflow_bus_budget_messages{${J}})`, legend: '{{instance}} messages' }, { prom: `max by (instance) (wattflow_bus_bytes{${J}} / wattflow_bus_budget_bytes{${J}})`, legend: '{{instance}} bytes' }] },
          { kind: 'timeseries', title: 'Vehicle measurements and predictions', description: 'Measurements accepted by the Vehicle API and vectors scored by the predictor', unit: 'ops', w: 12, h: 8, queries: [{ prom: `sum(rate(wattflow_vehicle_measurements_total{${J}}[$__rate_interval]))`, legend: 'measurements' }, { prom: `sum(rate(wattflow_vehicle_predictions_total{${J}}[$__rate_interval]))`, legend: 'predictions' }] },
          { kind: 'timeseries', title: 'Process CPU', description: 'CPU seconds per second of each wattflow process', unit: 'percentunit', w: 12, h: 8, queries: [{ prom: `sum by (instance) (rate(wattflow_process_cpu_seconds_total{${J}}[$__rate_interval]))`, legend: '{{instance}} CPU' }] },
          { kind: 'timeseries', title: 'Resident memory', description: 'wattflow_process_resident_memory_bytes', unit: 'bytes', w: 12, h: 8, queries: [{ prom: `max by (instance) (wattflow_process_resident_memory_bytes{${J}})`, legend: '{{instance}}' }] },
          { kind: 'timeseries', title: 'Event-loop delay p99', description: 'wattflow_nodejs_eventloop_lag_p99_seconds: how late the event loop runs', unit: 's', w: 12, h: 8, queries: [{ prom: `max by (instance) (wattflow_nodejs_eventloop_lag_p99_seconds{${J}})`, legend: '{{instance}}' }] },
        ],
      },
    ],
  });
}

export const DASHBOARDS: Record<string, () => dashboard.Dashboard> = {
  'wattflow-routers.json': routersDashboard,
  'wattflow-vehicles.json': vehiclesDashboard,
  'wattflow-energy.json': energyDashboard,
  'wattflow-pipeline.json': pipelineDashboard,
};

// ------------------------------------------------------------------------------- provisioning

/** Grafana's datasource provisioning file (apiVersion 1). URLs from the environment Grafana runs with. */
export const DATASOURCES_YAML = `# Grafana datasource provisioning for wattflow (generated by scripts/grafana/generate.ts; docs/grafana.md).
# Copy to /etc/grafana/provisioning/datasources/. Grafana expands $VAR from its environment:
#   WATTFLOW_INFLUX_URL      InfluxDB 1.x base URL, e.g. http://influxdb:8086 (database wattflow: influx.database)
#   WATTFLOW_INFLUX_USER / WATTFLOW_INFLUX_PASSWORD   when InfluxDB has auth (else leave empty)
#   WATTFLOW_PROMETHEUS_URL  Prometheus base URL, e.g. http://prometheus:9090
apiVersion: 1

datasources:
  - name: wattflow InfluxDB
    uid: ${INFLUX_UID}
    type: influxdb
    access: proxy
    url: $WATTFLOW_INFLUX_URL
    user: $WATTFLOW_INFLUX_USER
    jsonData:
      dbName: wattflow
      httpMode: GET
      version: InfluxQL
      timeInterval: 1s
    secureJsonData:
      password: $WATTFLOW_INFLUX_PASSWORD
    editable: false

  - name: wattflow Prometheus
    uid: ${PROMETHEUS_UID}
    type: prometheus
    access: proxy
    url: $WATTFLOW_PROMETHEUS_URL
    isDefault: true
    jsonData:
      httpMethod: POST
      timeInterval: 5s
    editable: false
`;

/** Grafana's dashboard provider provisioning file. */
export const DASHBOARDS_YAML = `# Grafana dashboard provider for wattflow (generated by scripts/grafana/generate.ts; docs/grafana.md).
# Copy to /etc/grafana/provisioning/dashboards/ and deploy/grafana/dashboards/*.json to the path below.
apiVersion: 1

providers:
  - name: wattflow
    orgId: 1
    folder: wattflow
    folderUid: wattflow
    type: file
    disableDeletion: false
    allowUiUpdates: false
    updateIntervalSeconds: 60
    options:
      path: /var/lib/grafana/dashboards/wattflow
      foldersFromFilesStructure: false
`;

/** Every generated file, relative to deploy/grafana/, with its content. */
export function generatedFiles(): Map<string, string> {
  const files = new Map<string, string>();
  files.set('provisioning/datasources/wattflow.yaml', DATASOURCES_YAML);
  files.set('provisioning/dashboards/wattflow.yaml', DASHBOARDS_YAML);
  for (const [name, make] of Object.entries(DASHBOARDS)) files.set(`dashboards/${name}`, `${JSON.stringify(make(), null, 2)}\n`);
  return files;
}
