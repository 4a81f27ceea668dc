import { ApiObject, Duration } from 'cdk8s';
import { Construct } from 'constructs';
import {
  checkK8sLabels, checkPromLabels, checkRegex, humanDuration, LabelMatcher, promDuration, regexEscape, series,
} from './_promql';
import { MetricsTarget } from './metrics-target';
import * as monitoring from '../../imports/monitoring.coreos.com';
import { checkEnum, invalid } from '../frp/errors';
import { FrpProxyType } from '../frp/proxy';
import { claimName } from '../k8s/names';

/** Value of the `severity` label of an alert. */
export enum AlertSeverity {
  /** Page someone: traffic is (about to be) lost. */
  CRITICAL = 'critical',
  /** Look at it soon. */
  WARNING = 'warning',
  /** For dashboards and tickets. */
  INFO = 'info',
}

/** Options shared by every alert. */
export interface AlertOptions {
  /**
   * Render this alert.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * How long the condition must hold before the alert fires: the rule's `for`
   * (the alert is "pending" meanwhile).
   * @default - per alert (see FrpAlertRulesOptions)
   */
  readonly pendingFor?: Duration;
  /**
   * The `severity` label.
   * @default - per alert (see FrpAlertRulesOptions)
   */
  readonly severity?: AlertSeverity;
}

/** Options of FrpConnectionSurge. */
export interface ConnectionSurgeAlertOptions extends AlertOptions {
  /**
   * Open connections of one proxy (as frps names it, `{user}.{name}`: one
   * group member) above which the alert fires.
   * @default 1000
   */
  readonly threshold?: number;
}

/** Options of FrpTrafficDropped. */
export interface TrafficDroppedAlertOptions extends AlertOptions {
  /**
   * Window in which no byte entered frps.
   * @default Duration.minutes(10)
   */
  readonly window?: Duration;
  /**
   * Window before `window` in which traffic did flow.
   * @default Duration.hours(1)
   */
  readonly baseline?: Duration;
}

/** Options of HAProxyBackendDown. */
export interface BalancerBackendDownAlertOptions extends AlertOptions {
  /**
   * RE2 regular expression (fully anchored) on the HAProxy backend name
   * (`proxy` label) to watch.
   * @default - every backend
   */
  readonly backendRegex?: string;
}

/**
 * How many proxies of a type (or members of one proxy's load-balancing group)
 * frps must have. Renders one FrpProxyMembersBelowExpected rule.
 */
export interface FrpProxyExpectation {
  /** Proxy type (`type` label of frps' metrics). */
  readonly proxyType: FrpProxyType;
  /** Fewest proxies (members) expected; fewer fires the alert. */
  readonly minimum: number;
  /**
   * Count only the members of this proxy: frps names each member
   * `{user}.{proxyName}` (FrpClientPool sets `user` to `<namespace>.<pod>`), so
   * this matches `name=~"(?:[^.]+[.])*<proxyName>"` of `frp_server_proxy_counts_detailed`.
   * @default - every proxy of the type (`frp_server_proxy_counts`)
   */
  readonly proxyName?: string;
  /**
   * Count proxies whose frps name matches this RE2 expression (fully anchored)
   * instead. Not together with `proxyName`.
   * @default - see proxyName
   */
  readonly nameRegex?: string;
}

/** Options of a PrometheusRule and of every alert in it. */
export interface PrometheusRuleOptions {
  /**
   * Extra labels on the PrometheusRule object, for the `ruleSelector` of your
   * Prometheus (e.g. `release: kube-prometheus-stack`).
   * @default - the scraped Service's labels only
   */
  readonly labels?: { [key: string]: string };
  /**
   * Labels added to every alert (e.g. `team: platform`), for Alertmanager routing.
   * @default - severity only
   */
  readonly alertLabels?: { [key: string]: string };
  /**
   * Runbook links: each alert's `runbook_url` is this plus its name in lower case.
   * @default "https://github.com/cdk8s-frp/cdk8s-frp#runbook-"
   */
  readonly runbookBaseUrl?: string;
}

/** What FrpAlertRules renders. */
export interface FrpAlertRulesOptions extends PrometheusRuleOptions {
  /**
   * FrpServerDown: frps is not scraped (`up == 0`) or has no target at all.
   * @default - enabled, for 5m, critical
   */
  readonly serverDown?: AlertOptions;
  /**
   * FrpNoClientsConnected: no frpc is logged in (`frp_server_client_counts == 0`).
   * @default - enabled, for 10m, warning
   */
  readonly noClientsConnected?: AlertOptions;
  /**
   * Proxies (or group members) frps must have; one FrpProxyMembersBelowExpected
   * rule each.
   * @default - none (no FrpProxyMembersBelowExpected rule)
   */
  readonly expectedProxies?: FrpProxyExpectation[];
  /**
   * FrpProxyMembersBelowExpected timing and severity.
   * @default - enabled, for 5m, warning
   */
  readonly proxyMembersBelowExpected?: AlertOptions;
  /**
   * FrpConnectionSurge: a proxy has more open connections than a threshold.
   * @default - enabled, threshold 1000, for 5m, warning
   */
  readonly connectionSurge?: ConnectionSurgeAlertOptions;
  /**
   * FrpTrafficDropped: no connection open and no byte entered frps for a
   * while after traffic flowed (frp counts a connection's bytes when it closes).
   * @default - enabled, window 10m, baseline 1h, for 5m, warning
   */
  readonly trafficDropped?: TrafficDroppedAlertOptions;
  /**
   * HAProxyBackendDown (only with a balancer): a backend has no server UP in
   * any balancer replica.
   * @default - enabled, every backend, for 2m, critical
   */
  readonly balancerBackendDown?: BalancerBackendDownAlertOptions;
}

/** Properties of FrpAlertRules. */
export interface FrpAlertRulesProps extends FrpAlertRulesOptions {
  /** The frps whose series the rules watch: `MetricsTarget.fromFrpServer(server)`. */
  readonly server: MetricsTarget;
  /**
   * The HAProxy balancer tier's metrics (HAProxy's built-in exporter).
   * @default - no balancer rules
   */
  readonly balancer?: MetricsTarget;
  /**
   * Check expectedProxies on each frps pod rather than summed over all: with
   * several frps replicas (HA) every replica must hold every member, so one
   * replica short of members fires (labelled with its pod).
   * @default false
   */
  readonly perReplica?: boolean;
}

/** One alerting rule, as written to the rule file. @internal */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: { [key: string]: string };
  readonly annotations: { [key: string]: string };
}

/** One rule group. @internal */
export interface AlertRuleGroup {
  readonly name: string;
  readonly rules: AlertRule[];
}

/** Default runbook base URL (README anchors `#runbook-<alert name in lower case>`). */
export const DEFAULT_RUNBOOK_BASE_URL = 'https://github.com/cdk8s-frp/cdk8s-frp#runbook-';

/** An alert's options with the defaults applied. @internal */
export interface ResolvedAlert {
  readonly enabled: boolean;
  readonly for: string;
  readonly forHuman: string;
  readonly severity: AlertSeverity;
}

/** Applies an alert's defaults and checks its options. @internal */
export function resolveAlert(where: string, field: string, o: AlertOptions | undefined,
  forDefault: Duration, severity: AlertSeverity): ResolvedAlert {
  checkEnum(where, `${field}.severity`, o?.severity, AlertSeverity as unknown as Record<string, AlertSeverity>);
  const forDuration = promDuration(where, `${field}.pendingFor`, o?.pendingFor ?? forDefault);
  return {
    enabled: o?.enabled ?? true,
    for: forDuration,
    forHuman: humanDuration(forDuration),
    severity: o?.severity ?? severity,
  };
}

function display(t: MetricsTarget): string {
  return t.namespace ? `${t.namespace}/${t.job}` : t.job;
}

/** Makes one alerting rule, with its severity, the alert labels and its runbook link. @internal */
export type AlertRuleMaker = (alert: string, r: ResolvedAlert, expr: string, labels: { [key: string]: string },
  summary: string, description: string) => AlertRule;

/**
 * Checks `runbookBaseUrl` and `alertLabels` and returns what makes each rule
 * with them. @internal
 */
export function alertRuleMaker(where: string, options: PrometheusRuleOptions): AlertRuleMaker {
  const base = options.runbookBaseUrl ?? DEFAULT_RUNBOOK_BASE_URL;
  if (typeof base !== 'string' || !/^https?:\/\/\S+$/.test(base)) {
    invalid(where, 'runbookBaseUrl', `must be an absolute http(s) URL, got ${JSON.stringify(base)}`);
  }
  checkPromLabels(where, 'alertLabels', options.alertLabels);
  if (options.alertLabels && 'severity' in options.alertLabels) {
    invalid(where, 'alertLabels.severity', 'is set by each alert: use the alert\'s severity option instead');
  }
  const extra = options.alertLabels ?? {};
  return (alert, r, expr, labels, summary, description) => ({
    alert,
    expr,
    for: r.for,
    labels: { ...extra, ...labels, severity: r.severity },
    annotations: { summary, description, runbook_url: `${base}${alert.toLowerCase()}` },
  });
}

/** Group labels of frps-wide aggregations: they keep the scope on the alert. */
const BY_SCOPE = 'namespace, job';

/**
 * The alert rules for one frps (and its balancer): a pure function of the
 * targets and the options. Throws on invalid options. @internal
 */
export function planFrpAlertRules(where: string, props: FrpAlertRulesProps): AlertRuleGroup[] {
  const server = props.server;
  const rule = alertRuleMaker(where, props);
  const S = server._matchers();
  const up = series('up', S);
  const name = display(server);

  const frps: AlertRule[] = [];

  const down = resolveAlert(where, 'serverDown', props.serverDown, Duration.minutes(5), AlertSeverity.CRITICAL);
  if (down.enabled) {
    frps.push(rule('FrpServerDown', down, `${up} == 0 or absent(${up})`, {},
      `frps ${name} is down`,
      `Prometheus has not scraped frps ${name} for ${down.forHuman} (up == 0, or no target at all: check the pods and the ServiceMonitor). frpc clients cannot log in and every tunnel through this frps is down.`));
  }

  const noClients = resolveAlert(where, 'noClientsConnected', props.noClientsConnected, Duration.minutes(10), AlertSeverity.WARNING);
  if (noClients.enabled) {
    frps.push(rule('FrpNoClientsConnected', noClients,
      `sum by (${BY_SCOPE}) (${series('frp_server_client_counts', S)}) == 0`, {},
      `No frpc client is connected to frps ${name}`,
      `frps ${name} has had no frpc client logged in for ${noClients.forHuman}. Every service tunnelled through it is unreachable: check the frpc pods' logs (auth token, TLS, network policy).`));
  }

  const members = resolveAlert(where, 'proxyMembersBelowExpected', props.proxyMembersBelowExpected, Duration.minutes(5), AlertSeverity.WARNING);
  const expectations = props.expectedProxies ?? [];
  if (!Array.isArray(expectations)) invalid(where, 'expectedProxies', 'must be a list of { proxyType, minimum, proxyName?, nameRegex? }');
  const seen = new Map<string, number>();
  expectations.forEach((e, i) => {
    const field = `expectedProxies[${i}]`;
    if (!e || typeof e !== 'object') invalid(where, field, 'must be { proxyType, minimum, proxyName?, nameRegex? }');
    if (e.proxyType === undefined) invalid(where, `${field}.proxyType`, `is required (one of ${Object.values(FrpProxyType).map(v => JSON.stringify(v)).join(', ')})`);
    checkEnum(where, `${field}.proxyType`, e.proxyType, FrpProxyType as unknown as Record<string, FrpProxyType>);
    if (typeof e.minimum !== 'number' || !Number.isInteger(e.minimum) || e.minimum < 1) {
      invalid(where, `${field}.minimum`, `must be an integer of 1 or more, got ${JSON.stringify(e.minimum)}`);
    }
    if (e.proxyName !== undefined && e.nameRegex !== undefined) invalid(where, field, 'set proxyName or nameRegex, not both');
    if (e.proxyName !== undefined && !/^[-_.a-zA-Z0-9]+$/.test(e.proxyName)) {
      invalid(where, `${field}.proxyName`, `must be an frp proxy name ([-_.a-zA-Z0-9]+), got ${JSON.stringify(e.proxyName)}`);
    }
    checkRegex(where, `${field}.nameRegex`, e.nameRegex);
    const nameRegex = e.proxyName !== undefined ? `(?:[^.]+[.])*${regexEscape(e.proxyName)}` : e.nameRegex;
    const key = `${e.proxyType} ${nameRegex ?? ''}`;
    if (seen.has(key)) invalid(where, field, `expects the same proxies as expectedProxies[${seen.get(key)}]`);
    seen.set(key, i);
    if (!members.enabled) return;

    const typeMatcher: LabelMatcher = { name: 'type', op: '=', value: e.proxyType };
    const counted = nameRegex === undefined
      ? series('frp_server_proxy_counts', [...S, typeMatcher])
      : series('frp_server_proxy_counts_detailed', [...S, typeMatcher, { name: 'name', op: '=~', value: nameRegex }]);
    // A type or name frps has never seen has no series: count it as 0, but only
    // while frps itself is scraped (FrpServerDown covers the rest).
    const by = props.perReplica ? `${BY_SCOPE}, pod` : BY_SCOPE;
    const expr = `(sum by (${by}) (${counted}) or sum by (${by}) (${up} == 1) * 0) < ${e.minimum}`;
    const what = e.proxyName !== undefined ? `members of ${e.proxyType} proxy ${e.proxyName}`
      : e.nameRegex !== undefined ? `${e.proxyType} proxies named like ${e.nameRegex}` : `${e.proxyType} proxies`;
    const labels: { [key: string]: string } = { proxy_type: e.proxyType };
    if (e.proxyName !== undefined) labels.proxy = e.proxyName;
    if (e.nameRegex !== undefined) labels.proxy_regex = e.nameRegex;
    frps.push(rule('FrpProxyMembersBelowExpected', members, expr, labels,
      `Too few ${what} on frps ${name}`,
      `frps ${name} has {{ $value }} ${what}, fewer than the ${e.minimum} expected, for ${members.forHuman}. Check the frpc pods (crash loops, failing health checks) and the load-balancing group settings.`));
  });

  const surge = resolveAlert(where, 'connectionSurge', props.connectionSurge, Duration.minutes(5), AlertSeverity.WARNING);
  const threshold = props.connectionSurge?.threshold ?? 1000;
  if (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold <= 0) {
    invalid(where, 'connectionSurge.threshold', `must be a positive number, got ${JSON.stringify(threshold)}`);
  }
  if (surge.enabled) {
    frps.push(rule('FrpConnectionSurge', surge,
      `sum by (${BY_SCOPE}, type, name) (${series('frp_server_connection_counts', S)}) > ${threshold}`, {},
      'Connection surge on frp proxy {{ $labels.name }}',
      `Proxy {{ $labels.name }} ({{ $labels.type }}) on frps ${name} has had {{ $value }} open connections (more than ${threshold}) for ${surge.forHuman}.`));
  }

  const dropped = resolveAlert(where, 'trafficDropped', props.trafficDropped, Duration.minutes(5), AlertSeverity.WARNING);
  const window = promDuration(where, 'trafficDropped.window', props.trafficDropped?.window ?? Duration.minutes(10));
  const baseline = promDuration(where, 'trafficDropped.baseline', props.trafficDropped?.baseline ?? Duration.hours(1));
  if (dropped.enabled) {
    const trafficIn = series('frp_server_traffic_in', S);
    const connections = series('frp_server_connection_counts', S);
    // frp adds a connection's bytes to frp_server_traffic_in only when it closes
    // (server/proxy/proxy.go), so a flat counter under long-lived connections
    // is steady load, not silence: the alert also needs no connection open at
    // any scrape of the window.
    frps.push(rule('FrpTrafficDropped', dropped,
      `sum by (${BY_SCOPE}) (rate(${trafficIn}[${window}])) == 0`
      + ` and on (${BY_SCOPE}) sum by (${BY_SCOPE}) (rate(${trafficIn}[${baseline}] offset ${window})) > 0`
      + ` and on (${BY_SCOPE}) sum by (${BY_SCOPE}) (max_over_time(${connections}[${window}])) == 0`, {},
      `Traffic through frps ${name} dropped to zero`,
      `No connection was open on frps ${name} and no byte entered it in the last ${humanDuration(window)}, although traffic flowed in the ${humanDuration(baseline)} before. Check the clients, the Ingress/Service in front of frps and the frpc members.`));
  }

  const groups: AlertRuleGroup[] = [];
  if (frps.length > 0) groups.push({ name: 'cdk8s-frp.frps', rules: frps });

  if (props.balancer !== undefined) {
    if (!(props.balancer instanceof MetricsTarget)) invalid(where, 'balancer', 'must be a MetricsTarget (MetricsTarget.fromService(balancerService, { port: "metrics" }))');
    const b = props.balancer;
    const backend = resolveAlert(where, 'balancerBackendDown', props.balancerBackendDown, Duration.minutes(2), AlertSeverity.CRITICAL);
    const regex = props.balancerBackendDown?.backendRegex;
    checkRegex(where, 'balancerBackendDown.backendRegex', regex);
    if (backend.enabled) {
      const B: LabelMatcher[] = [...b._matchers(), { name: 'state', op: '=', value: 'UP' }];
      if (regex !== undefined) B.push({ name: 'proxy', op: '=~', value: regex });
      // HAProxy's exporter (2.4+) writes one haproxy_backend_status series per
      // state; state="UP" is 1 while the backend has a usable server.
      groups.push({
        name: 'cdk8s-frp.balancer',
        rules: [rule('HAProxyBackendDown', backend,
          `max by (${BY_SCOPE}, proxy) (${series('haproxy_backend_status', B)}) == 0`, {},
          'HAProxy backend {{ $labels.proxy }} is down',
          `Backend {{ $labels.proxy }} of balancer ${display(b)} has had no server UP in any replica for ${backend.forHuman}: requests to it fail. Check the backend pods and HAProxy's health checks (haproxy_server_check_failures_total).`)],
      });
    }
  }

  if (groups.length === 0) {
    invalid(where, 'alerts', 'every alert is disabled, so the PrometheusRule would be empty: enable at least one alert or do not create FrpAlertRules');
  }
  return groups;
}

/**
 * Prometheus alerts (a monitoring.coreos.com/v1 PrometheusRule) for one frps
 * and, when given, its HAProxy balancer tier: FrpServerDown,
 * FrpNoClientsConnected, FrpProxyMembersBelowExpected, FrpConnectionSurge,
 * FrpTrafficDropped and HAProxyBackendDown. Every expression is scoped to the
 * target's `job` (its Service name) and `namespace`, the labels
 * prometheus-operator gives series scraped through a ServiceMonitor.
 *
 * @see https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.PrometheusRule
 */
export class FrpAlertRules extends Construct {
  /** The PrometheusRule object (escape hatch). */
  public readonly apiObject: ApiObject;
  /** Names of the alerts rendered (one entry per rule, in order). */
  public readonly alertNames: string[];

  constructor(scope: Construct, id: string, props: FrpAlertRulesProps) {
    super(scope, id);
    const where = this.node.path;
    if (!props || !(props.server instanceof MetricsTarget)) {
      invalid(where, 'server', 'is required: MetricsTarget.fromFrpServer(server)');
    }
    checkK8sLabels(where, 'labels', props.labels);
    const groups = planFrpAlertRules(where, props);
    this.alertNames = groups.flatMap(g => g.rules.map(r => r.alert));
    this.apiObject = renderPrometheusRule(this, props.server, groups, props.labels);
  }
}

/**
 * The PrometheusRule object (id `Resource`) of rule groups about one target:
 * named after its Service, with its labels plus `labels`. @internal
 */
export function renderPrometheusRule(scope: Construct, target: MetricsTarget, groups: AlertRuleGroup[],
  labels?: { [key: string]: string }): ApiObject {
  return new monitoring.PrometheusRule(scope, 'Resource', {
    metadata: {
      name: claimName(scope, 'PrometheusRule', target.job),
      labels: { ...target._serviceLabels(), 'app.kubernetes.io/component': 'monitoring', ...labels },
    },
    spec: {
      groups: groups.map(g => ({
        name: g.name,
        rules: g.rules.map(r => ({
          alert: r.alert,
          expr: monitoring.PrometheusRuleSpecGroupsRulesExpr.fromString(r.expr),
          for: r.for,
          labels: r.labels,
          annotations: r.annotations,
        })),
      })),
    },
  });
}
