import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { checkK8sLabels, promDuration, series } from './_promql';
import { MetricsTarget } from './metrics-target';
import { invalid } from '../frp/errors';
import { claimName, derivedName } from '../k8s/names';
import { sha256 } from '../k8s/pod-defaults';

/** How the dashboard looks and how Grafana finds it. */
export interface FrpDashboardOptions {
  /**
   * Dashboard title.
   * @default - "frp <namespace>/<frps Service name>" (or without the namespace when the chart has none)
   */
  readonly title?: string;
  /**
   * Dashboard uid (≤ 40 characters of [-_a-zA-Z0-9]); stable links depend on it.
   * @default - "frp-" and 16 hex characters of a hash of the frps namespace and Service name
   */
  readonly uid?: string;
  /**
   * Label key the Grafana dashboard sidecar looks for (kube-prometheus-stack
   * `grafana.sidecar.dashboards.label`).
   * @default "grafana_dashboard"
   */
  readonly labelKey?: string;
  /**
   * Value of that label (`grafana.sidecar.dashboards.labelValue`).
   * @default "1"
   */
  readonly labelValue?: string;
  /**
   * Grafana folder, written to the `grafana_folder` annotation (the sidecar's
   * default `folderAnnotation`).
   * @default - the sidecar's default folder
   */
  readonly folder?: string;
  /**
   * Auto-refresh interval.
   * @default Duration.seconds(30)
   */
  readonly refresh?: Duration;
}

/** Properties of FrpDashboard. */
export interface FrpDashboardProps extends FrpDashboardOptions {
  /** The frps whose metrics the panels show: `MetricsTarget.fromFrpServer(server)`. */
  readonly server: MetricsTarget;
  /**
   * The HAProxy balancer tier's metrics; adds balancer panels.
   * @default - no balancer panels
   */
  readonly balancer?: MetricsTarget;
}

/** One-unit interval Grafana's refresh picker understands (`30s`, `5m`, `1h`). */
function grafanaInterval(where: string, field: string, d: Duration): string {
  promDuration(where, field, d);
  const ms = d.toMilliseconds();
  if (ms % 1000 !== 0) invalid(where, field, `must be a whole number of seconds, got ${d.toHumanString()}`);
  const s = ms / 1000;
  return s % 3600 === 0 ? `${s / 3600}h` : s % 60 === 0 ? `${s / 60}m` : `${s}s`;
}

/** The datasource every panel uses: the dashboard's `datasource` variable. */
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** One panel of a dashboard, before layout. @internal */
export interface PanelSpec {
  readonly title: string;
  readonly type: 'timeseries' | 'stat';
  readonly description: string;
  readonly unit: string;
  readonly width: number;
  readonly targets: ReadonlyArray<{ readonly expr: string; readonly legend: string }>;
  readonly stack?: boolean;
}

/** Grafana's `schemaVersion` the JSON is written in (Grafana 10.4/11). */
const SCHEMA_VERSION = 39;
const HEIGHT = 8;

/**
 * The dashboard as a plain object with a fixed key order (pure). The uid and
 * title are given. @internal
 */
export function renderDashboard(server: MetricsTarget, balancer: MetricsTarget | undefined, uid: string, title: string, refresh: string): object {
  const S = server._matchers();
  const rateWindow = '$__rate_interval';
  // frps names proxies `{user}.{name}` (user = pod name for FrpClientPool): the
  // `proxy` label strips the user so that members of one group add up.
  const byProxy = (expr: string) => `sum by (proxy, type) (label_replace(${expr}, "proxy", "$1", "name", "(?:[^.]+[.])*([^.]+)"))`;
  const specs: PanelSpec[] = [
    {
      title: 'frps up',
      type: 'stat',
      unit: 'none',
      width: 6,
      description: 'Scrape status of frps (1 = up).',
      targets: [{ expr: `min(${series('up', S)})`, legend: 'up' }],
    },
    {
      title: 'Connected clients',
      type: 'stat',
      unit: 'none',
      width: 6,
      description: 'frpc clients logged in to frps (frp_server_client_counts).',
      targets: [{ expr: `sum(${series('frp_server_client_counts', S)})`, legend: 'clients' }],
    },
    {
      title: 'Connected clients over time',
      type: 'timeseries',
      unit: 'none',
      width: 12,
      description: 'frpc clients logged in to frps.',
      targets: [{ expr: `sum(${series('frp_server_client_counts', S)})`, legend: 'clients' }],
    },
    {
      title: 'Proxies by type',
      type: 'timeseries',
      unit: 'none',
      width: 12,
      stack: true,
      description: 'Proxies registered on frps, by type (frp_server_proxy_counts). One proxy per group member.',
      targets: [{ expr: `sum by (type) (${series('frp_server_proxy_counts', S)})`, legend: '{{type}}' }],
    },
    {
      title: 'Connections per proxy',
      type: 'timeseries',
      unit: 'none',
      width: 12,
      description: 'Open user connections per proxy, members of a group added up (frp_server_connection_counts).',
      targets: [{ expr: byProxy(series('frp_server_connection_counts', S)), legend: '{{proxy}} ({{type}})' }],
    },
    {
      title: 'Traffic in per proxy',
      type: 'timeseries',
      unit: 'Bps',
      width: 12,
      description: 'Bytes per second entering frps per proxy (rate of frp_server_traffic_in).',
      targets: [{ expr: byProxy(`rate(${series('frp_server_traffic_in', S)}[${rateWindow}])`), legend: '{{proxy}} ({{type}})' }],
    },
    {
      title: 'Traffic out per proxy',
      type: 'timeseries',
      unit: 'Bps',
      width: 12,
      description: 'Bytes per second leaving frps per proxy (rate of frp_server_traffic_out).',
      targets: [{ expr: byProxy(`rate(${series('frp_server_traffic_out', S)}[${rateWindow}])`), legend: '{{proxy}} ({{type}})' }],
    },
  ];
  if (balancer) {
    const B = balancer._matchers();
    specs.push(
      {
        title: 'Balancer backends: active servers',
        type: 'timeseries',
        unit: 'none',
        width: 12,
        description: 'Active (non-backup) servers UP per HAProxy backend, lowest over the balancer replicas (haproxy_backend_active_servers).',
        targets: [{ expr: `min by (proxy) (${series('haproxy_backend_active_servers', B)})`, legend: '{{proxy}}' }],
      },
      {
        title: 'Balancer backends: current sessions',
        type: 'timeseries',
        unit: 'none',
        width: 12,
        description: 'Open sessions per HAProxy backend, all balancer replicas (haproxy_backend_current_sessions).',
        targets: [{ expr: `sum by (proxy) (${series('haproxy_backend_current_sessions', B)})`, legend: '{{proxy}}' }],
      },
      {
        title: 'Balancer servers: failed health checks',
        type: 'timeseries',
        unit: 'none',
        width: 12,
        description: 'Failed health checks per second per backend server (rate of haproxy_server_check_failures_total).',
        targets: [{ expr: `sum by (proxy, server) (rate(${series('haproxy_server_check_failures_total', B)}[${rateWindow}]))`, legend: '{{proxy}}/{{server}}' }],
      },
      {
        title: 'Balancer frontends: current sessions',
        type: 'timeseries',
        unit: 'none',
        width: 12,
        description: 'Open sessions per HAProxy frontend, all balancer replicas (haproxy_frontend_current_sessions).',
        targets: [{ expr: `sum by (proxy) (${series('haproxy_frontend_current_sessions', B)})`, legend: '{{proxy}}' }],
      },
    );
  }

  const panels = layoutPanels(specs);

  return dashboardJson({
    description: `frp tunnel server ${server.namespace ? `${server.namespace}/` : ''}${server.job}${balancer ? ` and balancer ${balancer.job}` : ''} (generated by cdk8s-frp)`,
    panels,
    refresh,
    title,
    uid,
  });
}

/**
 * Grafana panels laid out left to right in rows of 24 columns, each panel
 * querying the `datasource` variable; a `row` spec starts a collapsible row
 * (Grafana's row panel) on a line of its own. Ids count from `firstId`. @internal
 */
export function layoutPanels(specs: readonly (PanelSpec | { readonly row: string })[], firstId = 1, top = 0): object[] {
  let x = 0;
  let y = top;
  return specs.map((p, i) => {
    if ('row' in p) {
      if (x > 0) y += HEIGHT;
      x = 0;
      const row = { collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, id: firstId + i, panels: [], title: p.row, type: 'row' };
      y += 1;
      return row;
    }
    if (x + p.width > 24) {
      x = 0;
      y += HEIGHT;
    }
    const gridPos = { h: HEIGHT, w: p.width, x, y };
    x += p.width;
    return {
      datasource: DATASOURCE,
      description: p.description,
      fieldConfig: {
        defaults: p.type === 'timeseries'
          ? { custom: { fillOpacity: p.stack ? 30 : 10, stacking: { group: 'A', mode: p.stack ? 'normal' : 'none' } }, min: 0, unit: p.unit }
          : { min: 0, unit: p.unit },
        overrides: [],
      },
      gridPos,
      id: firstId + i,
      options: p.type === 'timeseries'
        ? { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } }
        : { colorMode: 'value', graphMode: 'area', reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } },
      targets: p.targets.map((t, j) => ({
        datasource: DATASOURCE,
        expr: t.expr,
        legendFormat: t.legend,
        refId: String.fromCharCode(65 + j),
      })),
      title: p.title,
      type: p.type,
    };
  });
}

/** A whole dashboard around laid-out panels, with a fixed key order (pure). @internal */
export function dashboardJson(d: {
  readonly description: string; readonly panels: object[]; readonly refresh: string; readonly title: string; readonly uid: string;
}): object {
  return {
    annotations: { list: [] },
    description: d.description,
    editable: false,
    graphTooltip: 1,
    links: [],
    panels: d.panels,
    refresh: d.refresh,
    schemaVersion: SCHEMA_VERSION,
    tags: ['cdk8s-frp', 'frp'],
    templating: {
      list: [{
        current: {},
        hide: 0,
        includeAll: false,
        label: 'Data source',
        multi: false,
        name: 'datasource',
        options: [],
        query: 'prometheus',
        refresh: 1,
        regex: '',
        type: 'datasource',
      }],
    },
    time: { from: 'now-6h', to: 'now' },
    timepicker: {},
    timezone: '',
    title: d.title,
    uid: d.uid,
    version: 1,
  };
}

/**
 * A Grafana dashboard for one frps (and its balancer tier) in a ConfigMap that
 * the kube-prometheus-stack Grafana sidecar loads (label
 * `grafana_dashboard: "1"` by default). Panels: scrape status, connected
 * clients, proxies by type, connections and traffic in/out per proxy, and
 * HAProxy backends/servers/frontends when a balancer is given. Every panel
 * queries the `datasource` variable (type datasource, Prometheus). The JSON
 * is deterministic: fixed key order, no timestamps, uid derived from the frps
 * Service.
 *
 * @see https://github.com/prometheus-community/helm-charts/tree/main/charts/kube-prometheus-stack
 */
export class FrpDashboard extends Construct {
  /** The ConfigMap holding the dashboard. */
  public readonly configMap: kplus.ConfigMap;
  /** Dashboard uid. */
  public readonly uid: string;
  /** Dashboard title. */
  public readonly title: string;
  /** The dashboard JSON (as written to the ConfigMap). */
  public readonly json: string;

  constructor(scope: Construct, id: string, props: FrpDashboardProps) {
    super(scope, id);
    const where = this.node.path;
    if (!props || !(props.server instanceof MetricsTarget)) {
      invalid(where, 'server', 'is required: MetricsTarget.fromFrpServer(server)');
    }
    if (props.balancer !== undefined && !(props.balancer instanceof MetricsTarget)) {
      invalid(where, 'balancer', 'must be a MetricsTarget (MetricsTarget.fromService(balancerService, { port: "metrics" }))');
    }
    const server = props.server;
    const rendered = dashboardConfigMap(this, server, props, {
      uid: `frp-${sha256(`${server.namespace ?? ''}/${server.job}`).slice(0, 16)}`,
      title: `frp ${server.namespace ? `${server.namespace}/` : ''}${server.job}`,
    }, (uid, title, refresh) => renderDashboard(server, props.balancer, uid, title, refresh));
    this.uid = rendered.uid;
    this.title = rendered.title;
    this.json = rendered.json;
    this.configMap = rendered.configMap;
  }
}

/**
 * Checks the dashboard options and writes the dashboard `build` makes into a
 * ConfigMap (id `Resource`) named after the target's Service, labelled for the
 * Grafana sidecar. @internal
 */
export function dashboardConfigMap(scope: Construct, target: MetricsTarget, options: FrpDashboardOptions,
  defaults: { readonly uid: string; readonly title: string },
  build: (uid: string, title: string, refresh: string) => object): { configMap: kplus.ConfigMap; uid: string; title: string; json: string } {
  const where = scope.node.path;
  const uid = options.uid ?? defaults.uid;
  if (typeof uid !== 'string' || !/^[-_a-zA-Z0-9]{1,40}$/.test(uid)) {
    invalid(where, 'uid', `must be 1 to 40 characters of [-_a-zA-Z0-9], got ${JSON.stringify(uid)}`);
  }
  const title = options.title ?? defaults.title;
  if (typeof title !== 'string' || title.trim() === '') invalid(where, 'title', `must be a non-empty string, got ${JSON.stringify(title)}`);
  const labelKey = options.labelKey ?? 'grafana_dashboard';
  const labelValue = options.labelValue ?? '1';
  checkK8sLabels(where, 'labelKey', { [labelKey]: labelValue });
  const refresh = grafanaInterval(where, 'refresh', options.refresh ?? Duration.seconds(30));
  if (options.folder !== undefined && (typeof options.folder !== 'string' || options.folder.trim() === '')) {
    invalid(where, 'folder', `must be a non-empty string, got ${JSON.stringify(options.folder)}`);
  }
  const json = `${JSON.stringify(build(uid, title, refresh), undefined, 2)}\n`;
  const configMap = new kplus.ConfigMap(scope, 'Resource', {
    metadata: {
      name: claimName(scope, 'ConfigMap', derivedName(target.job, '-dashboard')),
      labels: { ...target._serviceLabels(), 'app.kubernetes.io/component': 'monitoring', [labelKey]: labelValue },
      annotations: options.folder !== undefined ? { grafana_folder: options.folder } : undefined,
    },
    data: { [`${uid}.json`]: json },
  });
  return { configMap, uid, title, json };
}
