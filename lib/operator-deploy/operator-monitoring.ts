import { Duration } from 'cdk8s';
import { LabelMatcher, series } from '../monitoring/_promql';
import { AlertOptions, AlertRuleGroup, AlertSeverity, alertRuleMaker, PrometheusRuleOptions, resolveAlert } from '../monitoring/alerts';
import { FrpDashboardOptions, layoutPanels, dashboardJson, PanelSpec } from '../monitoring/dashboard';
import { MetricsTarget } from '../monitoring/metrics-target';
import { ServiceMonitorOptions } from '../monitoring/service-monitor';
import { OPERATOR_METRICS } from '../operator-metrics-names';

/** The operator's alerts (a PrometheusRule). */
export interface FrpOperatorAlertsOptions extends PrometheusRuleOptions {
  /**
   * FrpOperatorDown: no operator replica is scraped (`up`), or none exists.
   * @default - enabled, for 5m, critical
   */
  readonly operatorDown?: AlertOptions;
  /**
   * FrpOperatorNoLeader: replicas run but none holds the leader Lease, so
   * nothing is reconciled.
   * @default - enabled, for 5m, critical
   */
  readonly noLeader?: AlertOptions;
  /**
   * FrpDistributedServiceNotReady: a DistributedService is in a state other
   * than Running (Pending, Provisioning, Updating, Degraded, Failed,
   * Terminating).
   * @default - enabled, for 15m, warning
   */
  readonly serviceNotReady?: AlertOptions;
  /**
   * FrpDistributedServiceNoHealthyBackends: a DistributedService has no
   * healthy backend (`frp_distributed_service_backends{state="healthy"}` is 0).
   * @default - enabled, for 5m, critical
   */
  readonly noHealthyBackends?: AlertOptions;
  /**
   * FrpOperatorReconcileErrors: reconciles keep failing.
   * @default - enabled, for 15m, warning
   */
  readonly reconcileErrors?: AlertOptions;
}

/** Monitoring of the operator with kube-prometheus-stack. */
export interface FrpOperatorMonitoringOptions {
  /**
   * Labels your Prometheus selects ServiceMonitors and PrometheusRules by
   * (e.g. `release: kube-prometheus-stack`); added to the ServiceMonitor and
   * the PrometheusRule (before their own `labels`).
   * @default - none
   */
  readonly labels?: { [key: string]: string };
  /**
   * Render the ServiceMonitor (it keeps the series' `namespace` label, the
   * DistributedService's: `honorLabels`).
   * @default true
   */
  readonly enableServiceMonitor?: boolean;
  /**
   * ServiceMonitor options (interval, timeout, labels).
   * @default - every 30s
   */
  readonly serviceMonitor?: ServiceMonitorOptions;
  /**
   * Render the PrometheusRule.
   * @default true
   */
  readonly enableAlerts?: boolean;
  /**
   * Alert options.
   * @default - see FrpOperatorAlertsOptions
   */
  readonly alerts?: FrpOperatorAlertsOptions;
  /**
   * Render the Grafana dashboard ConfigMap (a "cdk8s-frp operator" row, next
   * to the frps dashboards FrpMonitoring renders).
   * @default true
   */
  readonly enableDashboard?: boolean;
  /**
   * Dashboard options (title, uid, sidecar label, folder).
   * @default - title "cdk8s-frp operator <namespace>", uid derived from the namespace
   */
  readonly dashboard?: FrpDashboardOptions;
}

/**
 * The operator's series: `job` only. Its per-service series carry the
 * DistributedService's `namespace` (kept by honorLabels), so a `namespace`
 * matcher would select the wrong thing. @internal
 */
export function operatorMatchers(target: MetricsTarget): LabelMatcher[] {
  return [{ name: 'job', op: '=', value: target.job }];
}

/** The operator's alert rules (pure). Throws on invalid options. @internal */
export function planOperatorAlertRules(where: string, target: MetricsTarget, options: FrpOperatorAlertsOptions): AlertRuleGroup[] {
  const rule = alertRuleMaker(where, options);
  const J = operatorMatchers(target);
  const up = series('up', J);
  const name = target.namespace ? `${target.namespace}/${target.job}` : target.job;
  const M = OPERATOR_METRICS;
  const rules = [];

  const down = resolveAlert(where, 'operatorDown', options.operatorDown, Duration.minutes(5), AlertSeverity.CRITICAL);
  if (down.enabled) {
    rules.push(rule('FrpOperatorDown', down, `sum by (job) (${up}) == 0 or absent(${up})`, {},
      `cdk8s-frp operator ${name} is down`,
      `No replica of the cdk8s-frp operator ${name} has been scraped for ${down.forHuman}. DistributedServices are not reconciled: new or changed services are not applied and status is not updated (what is applied keeps serving).`));
  }
  const leader = resolveAlert(where, 'noLeader', options.noLeader, Duration.minutes(5), AlertSeverity.CRITICAL);
  if (leader.enabled) {
    rules.push(rule('FrpOperatorNoLeader', leader, `max by (job) (${series(M.leader, J)}) == 0`, {},
      `cdk8s-frp operator ${name} has no leader`,
      `Replicas of the cdk8s-frp operator ${name} run but none has held the leader Lease for ${leader.forHuman}, so nothing is reconciled. Check the Lease cdk8s-frp-operator and the operator's logs (RBAC on leases, API server reachability).`));
  }
  const notReady = resolveAlert(where, 'serviceNotReady', options.serviceNotReady, Duration.minutes(15), AlertSeverity.WARNING);
  if (notReady.enabled) {
    rules.push(rule('FrpDistributedServiceNotReady', notReady,
      `max by (namespace, name) (${series(M.state, [...J, { name: 'state', op: '!=', value: 'Running' }])}) == 1`, {},
      'DistributedService {{ $labels.namespace }}/{{ $labels.name }} is not Ready',
      `DistributedService {{ $labels.namespace }}/{{ $labels.name }} has not been Running for ${notReady.forHuman}. \`kubectl -n {{ $labels.namespace }} describe dsvc {{ $labels.name }}\` shows its state, the condition that is False and its events.`));
  }
  const backends = resolveAlert(where, 'noHealthyBackends', options.noHealthyBackends, Duration.minutes(5), AlertSeverity.CRITICAL);
  if (backends.enabled) {
    rules.push(rule('FrpDistributedServiceNoHealthyBackends', backends,
      `max by (namespace, name) (${series(M.backends, [...J, { name: 'state', op: '=', value: 'healthy' }])}) == 0`, {},
      'DistributedService {{ $labels.namespace }}/{{ $labels.name }} has no healthy backend',
      `DistributedService {{ $labels.namespace }}/{{ $labels.name }} has had no healthy backend for ${backends.forHuman}: its traffic fails. Check the backend pods and their readiness.`));
  }
  const errors = resolveAlert(where, 'reconcileErrors', options.reconcileErrors, Duration.minutes(15), AlertSeverity.WARNING);
  if (errors.enabled) {
    rules.push(rule('FrpOperatorReconcileErrors', errors,
      `sum by (job) (rate(${series(M.reconcileErrorsTotal, J)}[10m])) > 0`, {},
      `cdk8s-frp operator ${name} keeps failing to reconcile`,
      `Reconciles of the cdk8s-frp operator ${name} have failed for ${errors.forHuman} ({{ $value | humanize }} errors per second). The Warning events on the DistributedServices and the operator's logs say why (invalid specs, conflicts with another field manager, RBAC).`));
  }
  return rules.length > 0 ? [{ name: 'cdk8s-frp.operator', rules }] : [];
}

/** The operator dashboard: one "cdk8s-frp operator" row (pure). @internal */
export function renderOperatorDashboard(target: MetricsTarget, uid: string, title: string, refresh: string): object {
  const J = operatorMatchers(target);
  const M = OPERATOR_METRICS;
  const state = (extra: LabelMatcher[] = []) => series(M.state, [...J, ...extra]);
  const backends = (s: string) => series(M.backends, [...J, { name: 'state', op: '=', value: s }]);
  const rate = '$__rate_interval';
  const specs: (PanelSpec | { row: string })[] = [
    { row: 'cdk8s-frp operator' },
    {
      title: 'DistributedServices',
      type: 'stat',
      unit: 'none',
      width: 6,
      description: 'DistributedServices the operator reconciles (frp_distributed_service_state).',
      targets: [{ expr: `count(max by (namespace, name) (${state()} == 1))`, legend: 'services' }],
    },
    {
      title: 'Not Running',
      type: 'stat',
      unit: 'none',
      width: 6,
      description: 'DistributedServices in a state other than Running.',
      targets: [{ expr: `count(max by (namespace, name) (${state([{ name: 'state', op: '!=', value: 'Running' }])} == 1)) or vector(0)`, legend: 'not running' }],
    },
    {
      title: 'Leaders',
      type: 'stat',
      unit: 'none',
      width: 6,
      description: 'Replicas holding the leader Lease (1 is right; 0 means nothing is reconciled).',
      targets: [{ expr: `sum(${series(M.leader, J)})`, legend: 'leaders' }],
    },
    {
      title: 'Replicas up',
      type: 'stat',
      unit: 'none',
      width: 6,
      description: 'Operator replicas Prometheus scrapes.',
      targets: [{ expr: `sum(${series('up', J)})`, legend: 'up' }],
    },
    {
      title: 'DistributedServices by state',
      type: 'timeseries',
      unit: 'none',
      width: 12,
      stack: true,
      description: 'How many DistributedServices are in each state of seed 000\'s diagram (status.state).',
      targets: [{ expr: `count by (state) (max by (namespace, name, state) (${state()} == 1))`, legend: '{{state}}' }],
    },
    {
      title: 'Healthy backends per service',
      type: 'timeseries',
      unit: 'none',
      width: 12,
      description: 'Healthy (ready) backends of each DistributedService (frp_distributed_service_backends{state="healthy"}).',
      targets: [{ expr: `max by (namespace, name) (${backends('healthy')})`, legend: '{{namespace}}/{{name}}' }],
    },
    {
      title: 'Unhealthy backends per service',
      type: 'timeseries',
      unit: 'none',
      width: 12,
      description: 'Backends of each DistributedService that are not ready.',
      targets: [{ expr: `max by (namespace, name) (${backends('unhealthy')})`, legend: '{{namespace}}/{{name}}' }],
    },
    {
      title: 'Reconciles per second',
      type: 'timeseries',
      unit: 'ops',
      width: 12,
      stack: true,
      description: 'Reconciles finished per second, by result (frp_operator_reconcile_total).',
      targets: [{ expr: `sum by (result) (rate(${series(M.reconcileTotal, J)}[${rate}]))`, legend: '{{result}}' }],
    },
    {
      title: 'Reconcile duration',
      type: 'timeseries',
      unit: 's',
      width: 12,
      description: 'Median and 99th percentile of a reconcile\'s duration (frp_operator_reconcile_duration_seconds).',
      targets: [0.5, 0.99].map(q => ({
        expr: `histogram_quantile(${q}, sum by (le) (rate(${series(`${M.reconcileDurationSeconds}_bucket`, J)}[${rate}])))`,
        legend: `p${q * 100}`,
      })),
    },
    {
      title: 'Reconcile errors per second',
      type: 'timeseries',
      unit: 'ops',
      width: 12,
      description: 'Reconciles that failed, per second (frp_operator_reconcile_errors_total).',
      targets: [{ expr: `sum(rate(${series(M.reconcileErrorsTotal, J)}[${rate}]))`, legend: 'errors' }],
    },
  ];
  return dashboardJson({
    description: `cdk8s-frp operator ${target.namespace ? `${target.namespace}/` : ''}${target.job}: DistributedService states, backends and reconciles (generated by cdk8s-frp)`,
    panels: layoutPanels(specs),
    refresh,
    title,
    uid,
  });
}
