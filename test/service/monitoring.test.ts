import { Testing } from 'cdk8s';
import { DistributedService, ServiceProtocol, ExposeType } from '../../lib';
import { expectValidBundle } from '../helpers';
import { chartWithToken } from './fixtures';
import { checkRules, testRules } from '../monitoring/promtool';

describe('DistributedService with monitoring', () => {
  const { chart, auth } = chartWithToken('databases');
  new DistributedService(chart, 'pg', {
    auth,
    serviceType: ServiceProtocol.TCP,
    backends: { replicas: 3, endpoints: [{ host: 'pg-1.internal', port: 5432, weight: 2 }, { host: 'pg-2.internal', port: 5432 }] },
    expose: { type: ExposeType.PORT, port: 5432 },
    monitoring: { labels: { release: 'kube-prometheus-stack' } },
  });
  const manifests = Testing.synth(chart);
  const rule = manifests.find(m => m.kind === 'PrometheusRule');
  const control = manifests.find(m => m.kind === 'Service' && m.spec.ports.some((p: any) => p.name === 'metrics'));

  test('renders a ServiceMonitor on the frps metrics port, alerts and a dashboard, all valid', () => {
    expectValidBundle(manifests);
    const sm = manifests.find(m => m.kind === 'ServiceMonitor');
    expect(sm.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(rule.metadata.labels.release).toBe('kube-prometheus-stack');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) expect(control.metadata.labels[k]).toBe(v);
    expect(control.spec.ports.map((p: any) => p.name)).toContain(sm.spec.endpoints[0].port);
    expect(manifests.find(m => m.kind === 'ConfigMap' && m.metadata.labels?.grafana_dashboard === '1')).toBeDefined();
    expect(checkRules(rule.spec)).toMatch(/SUCCESS/);
  });

  test('the members-below-expected alert expects every member of this service: 3 endpoints-with-weights x 3 frpc pods', () => {
    const alert = rule.spec.groups.flatMap((g: any) => g.rules).find((r: any) => r.alert === 'FrpProxyMembersBelowExpected');
    expect(alert.expr).toContain('< 9');
    // fires when only 8 members are registered, stays quiet at 9
    const job = control.metadata.name;
    const series = (n: number) => Array.from({ length: n }, (_, i) => ({
      // 3 frpc pods x members pg-0-0, pg-0-1, pg-1
      series: `frp_server_proxy_counts_detailed{job="${job}",namespace="databases",type="tcp",name="databases.pg-client-${Math.floor(i / 3)}.${['pg-0-0', 'pg-0-1', 'pg-1'][i % 3]}"}`,
      values: '1x20',
    }));
    const up = { series: `up{job="${job}",namespace="databases"}`, values: '1x20' };
    const labels = { severity: 'warning', namespace: 'databases', job, proxy_type: 'tcp', proxy_regex: 'databases[.][^.]+[.](?:pg-0-0|pg-0-1|pg-1)' };
    const check = (n: number, expAlerts: unknown[]) => testRules(rule.spec, {
      tests: [{ interval: '1m', input_series: [up, ...series(n)], alert_rule_test: [{ eval_time: '10m', alertname: 'FrpProxyMembersBelowExpected', exp_alerts: expAlerts }] }],
    });
    const where = `databases/${job}`;
    const annotations = {
      summary: `Too few tcp proxies named like ${labels.proxy_regex} on frps ${where}`,
      description: `frps ${where} has 8 tcp proxies named like ${labels.proxy_regex}, fewer than the 9 expected, for 5 minutes. Check the frpc pods (crash loops, failing health checks) and the load-balancing group settings.`,
      runbook_url: 'https://github.com/cdk8s-frp/cdk8s-frp#runbook-frpproxymembersbelowexpected',
    };
    expect(check(8, [{ exp_labels: labels, exp_annotations: annotations }])).toMatch(/SUCCESS/);
    expect(check(9, [])).toMatch(/SUCCESS/);
  });

  test('the members pattern does not over-match: another service pg-2, or pg in another namespace, never counts (issue 9, defect 13)', () => {
    // frpc logs in as <namespace>.<pod>
    const frpc = manifests.find(m => m.kind === 'Deployment' && m.metadata.labels['app.kubernetes.io/name'] === 'frpc').spec.template.spec.containers[0];
    expect(frpc.env).toEqual(expect.arrayContaining([
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'FRP_USER', value: '$(POD_NAMESPACE).$(POD_NAME)' },
    ]));
    expect(manifests.find(m => m.kind === 'ConfigMap' && m.data?.['frpc.toml']).data['frpc.toml']).toContain('user = "{{ .Envs.FRP_USER }}"');
    const job = control.metadata.name;
    const counted = (name: string) => ({ series: `frp_server_proxy_counts_detailed{job="${job}",namespace="databases",type="tcp",name="${name}"}`, values: '1x20' });
    // 8 of the 9 members, plus look-alikes that must not make up the missing one
    const members = Array.from({ length: 8 }, (_, i) => counted(`databases.pg-client-${Math.floor(i / 3)}.${['pg-0-0', 'pg-0-1', 'pg-1'][i % 3]}`));
    const regex = 'databases[.][^.]+[.](?:pg-0-0|pg-0-1|pg-1)';
    const lookAlikes = [counted('databases.pg-2-client-0.pg-2'), counted('databases.pg-2-client-0.pg-2-0'), counted('analytics.pg-client-0.pg-1'), counted('pg-client-9.pg-1')];
    const out = testRules(rule.spec, {
      tests: [{
        interval: '1m',
        input_series: [{ series: `up{job="${job}",namespace="databases"}`, values: '1x20' }, ...members, ...lookAlikes],
        alert_rule_test: [{
          eval_time: '10m',
          alertname: 'FrpProxyMembersBelowExpected',
          exp_alerts: [{
            exp_labels: { severity: 'warning', namespace: 'databases', job, proxy_type: 'tcp', proxy_regex: regex },
            exp_annotations: {
              summary: `Too few tcp proxies named like ${regex} on frps databases/${job}`,
              // 8: the look-alikes are not counted
              description: `frps databases/${job} has 8 tcp proxies named like ${regex}, fewer than the 9 expected, for 5 minutes. Check the frpc pods (crash loops, failing health checks) and the load-balancing group settings.`,
              runbook_url: 'https://github.com/cdk8s-frp/cdk8s-frp#runbook-frpproxymembersbelowexpected',
            },
          }],
        }],
      }],
    });
    expect(out).toMatch(/SUCCESS/);
  });
});

test('every alert has its runbook section in the README (the runbook_url anchors resolve)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const readme: string = require('fs').readFileSync(require('path').join(__dirname, '..', '..', 'README.md'), 'utf8');
  const { chart, auth } = chartWithToken();
  new DistributedService(chart, 's', {
    auth,
    serviceType: ServiceProtocol.TCP,
    backends: { endpoints: [{ host: 'a', port: 1 }] },
    expose: { type: ExposeType.PORT, port: 2000 },
    monitoring: {},
  });
  const rules = Testing.synth(chart).find(m => m.kind === 'PrometheusRule').spec.groups.flatMap((g: any) => g.rules);
  const names = [...new Set<string>(rules.map((r: any) => r.alert)), 'HAProxyBackendDown'];
  expect(names.length).toBeGreaterThanOrEqual(6);
  for (const name of names) {
    expect(readme).toContain(`### Runbook: ${name}`);
    const url = rules.find((r: any) => r.alert === name)?.annotations.runbook_url;
    if (url) expect(url).toBe(`https://github.com/cdk8s-frp/cdk8s-frp#runbook-${name.toLowerCase()}`);
  }
});
