import { readFileSync } from 'fs';
import { join } from 'path';
import { Duration } from 'cdk8s';
import { byKind, renderOperator } from './fixtures';
import { AlertSeverity } from '../../lib';
import { OPERATOR_METRICS } from '../../lib/operator-metrics-names';
import { metricNames } from '../monitoring/metric-names';
import { checkRules, testRules } from '../monitoring/promtool';

/** The operator's PrometheusRule and dashboard as rendered in namespace frp-system. */
function render(alerts = {}) {
  const { manifests, operator } = renderOperator({ monitoring: { alerts } });
  const [rule] = byKind(manifests, 'PrometheusRule');
  const [dashboard] = byKind(manifests, 'ConfigMap');
  const json = JSON.parse(Object.values(dashboard.data)[0] as string);
  return { rule, spec: rule.spec as { groups: any[] }, json, job: operator.metricsService.name };
}

const OPERATOR_NAMES = new Set<string>([...Object.values(OPERATOR_METRICS), `${OPERATOR_METRICS.reconcileDurationSeconds}_bucket`, 'up']);
const rules = (spec: { groups: any[] }) => spec.groups.flatMap(g => g.rules);

describe('the operator\'s alerts (promtool)', () => {
  const { spec, job } = render();
  // what prometheus-operator attaches to a scraped series (honorLabels keeps the series' own namespace)
  const target = `job="${job}", pod="cdk8s-frp-operator-abc12", instance="10.0.0.9:8080", service="${job}", endpoint="metrics"`;
  const runbook = (alert: string) => `https://github.com/cdk8s-frp/cdk8s-frp#runbook-${alert.toLowerCase()}`;

  test('five rules, valid for promtool check rules, each on the operator\'s job and the metric names the controller writes', () => {
    expect(checkRules(spec)).toContain('SUCCESS: 5 rules found');
    expect(rules(spec).map(r => r.alert)).toEqual(['FrpOperatorDown', 'FrpOperatorNoLeader', 'FrpDistributedServiceNotReady', 'FrpDistributedServiceNoHealthyBackends', 'FrpOperatorReconcileErrors']);
    for (const r of rules(spec)) {
      for (const name of metricNames(r.expr)) expect(OPERATOR_NAMES).toContain(name);
      for (const m of r.expr.matchAll(/\{([^}]*)\}/g)) expect(m[1]).toContain(`job="${job}"`);
      expect(r.expr).not.toContain('namespace="frp-system"'); // per-service series carry the service's namespace
      expect(r.annotations.runbook_url).toBe(runbook(r.alert));
    }
  });

  test('every alert\'s runbook_url lands on a README section', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const anchors = new Set([...readme.matchAll(/^#+ (.+)$/gm)].map(m => m[1].toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    for (const r of rules(spec)) expect(anchors).toContain(r.annotations.runbook_url.split('#')[1]);
  });

  test('options: timing, severity, alert labels; a disabled alert is left out', () => {
    const { spec: custom } = render({ alertLabels: { team: 'platform' }, serviceNotReady: { pendingFor: Duration.minutes(30), severity: AlertSeverity.CRITICAL }, reconcileErrors: { enabled: false } });
    expect(rules(custom).map(r => r.alert)).not.toContain('FrpOperatorReconcileErrors');
    expect(rules(custom).find(r => r.alert === 'FrpDistributedServiceNotReady')).toMatchObject({ for: '30m', labels: { team: 'platform', severity: 'critical' } });
  });

  test('fails on a severity label in alertLabels, naming the construct and field', () => {
    expect(() => render({ alertLabels: { severity: 'x' } })).toThrow('operator/operator/Alerts: alertLabels.severity: is set by each alert');
  });

  test('FrpDistributedServiceNotReady fires for a service not Running for 15m (with two replicas exporting), not for a Running one nor one that became Running', () => {
    const state = (ns: string, name: string, pod: string, current: string) => ['Pending', 'Provisioning', 'Running', 'Updating', 'Degraded', 'Failed', 'Terminating'].map(s => ({
      series: `${OPERATOR_METRICS.state}{job="${job}", pod="${pod}", namespace="${ns}", name="${name}", state="${s}"}`,
      values: s === current ? '1x30' : '0x30',
    }));
    testRules(spec, {
      tests: [{
        interval: '1m',
        input_series: [
          ...state('ai', 'ollama', 'op-1', 'Degraded'),
          ...state('ai', 'ollama', 'op-2', 'Degraded'),
          ...state('web', 'shop', 'op-1', 'Running'),
          { series: `${OPERATOR_METRICS.state}{job="${job}", pod="op-1", namespace="db", name="pg", state="Provisioning"}`, values: '1x5 0x25' },
          { series: `${OPERATOR_METRICS.state}{job="${job}", pod="op-1", namespace="db", name="pg", state="Running"}`, values: '0x5 1x25' },
          { series: `${OPERATOR_METRICS.state}{job="other-operator", namespace="x", name="y", state="Failed"}`, values: '1x30' },
        ],
        alert_rule_test: [
          { eval_time: '10m', alertname: 'FrpDistributedServiceNotReady', exp_alerts: [] },
          {
            eval_time: '20m',
            alertname: 'FrpDistributedServiceNotReady',
            exp_alerts: [{
              exp_labels: { namespace: 'ai', name: 'ollama', severity: 'warning' },
              exp_annotations: {
                summary: 'DistributedService ai/ollama is not Ready',
                description: 'DistributedService ai/ollama has not been Running for 15 minutes. `kubectl -n ai describe dsvc ollama` shows its state, the condition that is False and its events.',
                runbook_url: runbook('FrpDistributedServiceNotReady'),
              },
            }],
          },
        ],
      }],
    });
  });

  test('FrpDistributedServiceNoHealthyBackends fires when no backend is healthy, not when one is', () => {
    const b = (ns: string, name: string, healthy: string, unhealthy: string) => [
      { series: `${OPERATOR_METRICS.backends}{job="${job}", pod="op-1", namespace="${ns}", name="${name}", state="healthy"}`, values: healthy },
      { series: `${OPERATOR_METRICS.backends}{job="${job}", pod="op-1", namespace="${ns}", name="${name}", state="unhealthy"}`, values: unhealthy },
    ];
    testRules(spec, {
      tests: [{
        interval: '1m',
        input_series: [...b('ai', 'ollama', '0x30', '3x30'), ...b('web', 'shop', '1x30', '2x30')],
        alert_rule_test: [
          { eval_time: '3m', alertname: 'FrpDistributedServiceNoHealthyBackends', exp_alerts: [] },
          {
            eval_time: '10m',
            alertname: 'FrpDistributedServiceNoHealthyBackends',
            exp_alerts: [{
              exp_labels: { namespace: 'ai', name: 'ollama', severity: 'critical' },
              exp_annotations: {
                summary: 'DistributedService ai/ollama has no healthy backend',
                description: 'DistributedService ai/ollama has had no healthy backend for 5 minutes: its traffic fails. Check the backend pods and their readiness.',
                runbook_url: runbook('FrpDistributedServiceNoHealthyBackends'),
              },
            }],
          },
        ],
      }],
    });
  });

  test('FrpOperatorDown fires when no replica is up or none is scraped; FrpOperatorNoLeader when replicas run but none leads', () => {
    const name = `frp-system/${job}`;
    testRules(spec, {
      tests: [
        {
          interval: '1m',
          input_series: [
            { series: `up{${target}}`, values: '0x30' },
            { series: `up{job="${job}", pod="cdk8s-frp-operator-def34"}`, values: '0x30' },
          ],
          alert_rule_test: [{
            eval_time: '10m',
            alertname: 'FrpOperatorDown',
            exp_alerts: [{
              exp_labels: { job, severity: 'critical' },
              exp_annotations: {
                summary: `cdk8s-frp operator ${name} is down`,
                description: `No replica of the cdk8s-frp operator ${name} has been scraped for 5 minutes. DistributedServices are not reconciled: new or changed services are not applied and status is not updated (what is applied keeps serving).`,
                runbook_url: runbook('FrpOperatorDown'),
              },
            }],
          }],
        },
        {
          interval: '1m',
          input_series: [{ series: 'up{job="something-else"}', values: '1x30' }],
          alert_rule_test: [{ eval_time: '10m', alertname: 'FrpOperatorDown', exp_alerts: [{ exp_labels: { job, severity: 'critical' }, exp_annotations: { summary: `cdk8s-frp operator ${name} is down`, description: `No replica of the cdk8s-frp operator ${name} has been scraped for 5 minutes. DistributedServices are not reconciled: new or changed services are not applied and status is not updated (what is applied keeps serving).`, runbook_url: runbook('FrpOperatorDown') } }] }],
        },
        {
          interval: '1m',
          input_series: [
            { series: `up{${target}}`, values: '1x30' },
            { series: `up{job="${job}", pod="cdk8s-frp-operator-def34"}`, values: '1x30' },
            { series: `${OPERATOR_METRICS.leader}{${target}}`, values: '0x30' },
            { series: `${OPERATOR_METRICS.leader}{job="${job}", pod="cdk8s-frp-operator-def34"}`, values: '0x30' },
          ],
          alert_rule_test: [
            { eval_time: '10m', alertname: 'FrpOperatorDown', exp_alerts: [] },
            {
              eval_time: '10m',
              alertname: 'FrpOperatorNoLeader',
              exp_alerts: [{
                exp_labels: { job, severity: 'critical' },
                exp_annotations: {
                  summary: `cdk8s-frp operator ${name} has no leader`,
                  description: `Replicas of the cdk8s-frp operator ${name} run but none has held the leader Lease for 5 minutes, so nothing is reconciled. Check the Lease cdk8s-frp-operator and the operator's logs (RBAC on leases, API server reachability).`,
                  runbook_url: runbook('FrpOperatorNoLeader'),
                },
              }],
            },
          ],
        },
        {
          name: 'healthy: one of two replicas leads',
          interval: '1m',
          input_series: [
            { series: `up{${target}}`, values: '1x30' },
            { series: `${OPERATOR_METRICS.leader}{${target}}`, values: '1x30' },
            { series: `${OPERATOR_METRICS.leader}{job="${job}", pod="cdk8s-frp-operator-def34"}`, values: '0x30' },
            { series: `${OPERATOR_METRICS.reconcileErrorsTotal}{${target}}`, values: '0x30' },
          ],
          alert_rule_test: [
            { eval_time: '20m', alertname: 'FrpOperatorNoLeader', exp_alerts: [] },
            { eval_time: '20m', alertname: 'FrpOperatorDown', exp_alerts: [] },
            { eval_time: '20m', alertname: 'FrpOperatorReconcileErrors', exp_alerts: [] },
          ],
        },
      ],
    });
  });

  test('FrpOperatorReconcileErrors fires when errors keep coming for 15m', () => {
    testRules(spec, {
      tests: [{
        interval: '1m',
        input_series: [{ series: `${OPERATOR_METRICS.reconcileErrorsTotal}{${target}}`, values: '0+2x40' }],
        alert_rule_test: [
          { eval_time: '12m', alertname: 'FrpOperatorReconcileErrors', exp_alerts: [] },
          {
            eval_time: '30m',
            alertname: 'FrpOperatorReconcileErrors',
            exp_alerts: [{
              exp_labels: { job, severity: 'warning' },
              exp_annotations: {
                summary: `cdk8s-frp operator frp-system/${job} keeps failing to reconcile`,
                description: `Reconciles of the cdk8s-frp operator frp-system/${job} have failed for 15 minutes (33.33m errors per second). The Warning events on the DistributedServices and the operator's logs say why (invalid specs, conflicts with another field manager, RBAC).`,
                runbook_url: runbook('FrpOperatorReconcileErrors'),
              },
            }],
          },
        ],
      }],
    });
  });
});

describe('the operator\'s dashboard', () => {
  const { json, job } = render();
  const panels = json.panels as any[];

  test('one "cdk8s-frp operator" row first, then its panels inside the grid without overlap', () => {
    expect(panels[0]).toEqual({ collapsed: false, gridPos: { h: 1, w: 24, x: 0, y: 0 }, id: 1, panels: [], title: 'cdk8s-frp operator', type: 'row' });
    expect(panels.slice(1).map(p => p.title)).toEqual([
      'DistributedServices', 'Not Running', 'Leaders', 'Replicas up', 'DistributedServices by state',
      'Healthy backends per service', 'Unhealthy backends per service', 'Reconciles per second', 'Reconcile duration', 'Reconcile errors per second',
    ]);
    const cells = new Set<string>();
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`)).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
    expect(new Set(panels.map(p => p.id)).size).toBe(panels.length);
    expect(json.uid).toMatch(/^frp-operator-[0-9a-f]{16}$/);
  });

  test('every query selects the operator\'s job and a metric the controller writes; each metric name is used', () => {
    const exprs: string[] = panels.slice(1).flatMap(p => p.targets.map((t: any) => t.expr));
    const used = new Set<string>();
    for (const e of exprs) {
      for (const m of e.matchAll(/\{([^}]*)\}/g)) expect(m[1]).toContain(`job="${job}"`);
      for (const n of metricNames(e)) {
        expect(OPERATOR_NAMES).toContain(n);
        used.add(n);
      }
    }
    for (const n of Object.values(OPERATOR_METRICS)) {
      expect([...used].some(u => u === n || u === `${n}_bucket`)).toBe(true);
    }
  });

  test('the queries are valid PromQL (promtool check rules on them as recording rules)', () => {
    const exprs: string[] = panels.slice(1).flatMap(p => p.targets.map((t: any) => t.expr.replace(/\$__rate_interval/g, '5m')));
    expect(checkRules({ groups: [{ name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `dashboard:query${i}`, expr })) }] })).toContain(`SUCCESS: ${exprs.length} rules found`);
  });
});
