import { Duration, Testing } from 'cdk8s';
import { FrpProxyType } from '../../lib';
import { AlertSeverity, FrpAlertRules, FrpAlertRulesProps, MetricsTarget } from '../../lib/monitoring';
import { expectValidBundle } from '../helpers';
import { balancerService, byKind, chart, frps } from './fixtures';
import { ALLOWED_METRICS, metricNames } from './metric-names';
import { checkRules, promtoolVersion, testRules } from './promtool';

/** An frps (and balancer) in namespace "edge" with alert rules; returns the rendered PrometheusRule. */
function render(options: Partial<FrpAlertRulesProps> = {}, withBalancer = false) {
  const c = chart('edge');
  const server = MetricsTarget.fromFrpServer(frps(c));
  const balancer = withBalancer ? MetricsTarget.fromService(balancerService(c), { port: 'metrics' }) : undefined;
  const rules = new FrpAlertRules(c, 'alerts', { ...options, server, balancer });
  const manifests = Testing.synth(c);
  const [rule] = byKind(manifests, 'PrometheusRule');
  return { c, server, balancer, rules, manifests, rule, spec: rule.spec as { groups: any[] } };
}

const allRules = (spec: { groups: any[] }): any[] => spec.groups.flatMap(g => g.rules);

/** Every `metric{...}` selector in an expression, with its matchers. */
function selectors(expr: string): { metric: string; matchers: string }[] {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)].map(m => ({ metric: m[1], matchers: m[2] }));
}

const ALL: Required<Omit<FrpAlertRulesProps, 'server' | 'balancer'>> = {
  labels: { release: 'kube-prometheus-stack' },
  alertLabels: { team: 'platform' },
  runbookBaseUrl: 'https://runbooks.example.com/frp/',
  serverDown: { pendingFor: Duration.minutes(3), severity: AlertSeverity.CRITICAL },
  noClientsConnected: { pendingFor: Duration.minutes(15), severity: AlertSeverity.CRITICAL },
  expectedProxies: [
    { proxyType: FrpProxyType.TCP, minimum: 2 },
    { proxyType: FrpProxyType.HTTP, minimum: 3, proxyName: 'ollama' },
    { proxyType: FrpProxyType.HTTPS, minimum: 1, nameRegex: 'gpu-[0-9]+[.]api' },
  ],
  proxyMembersBelowExpected: { pendingFor: Duration.minutes(2) },
  connectionSurge: { threshold: 500, pendingFor: Duration.minutes(1), severity: AlertSeverity.INFO },
  trafficDropped: { window: Duration.minutes(15), baseline: Duration.hours(2), pendingFor: Duration.minutes(10) },
  balancerBackendDown: { backendRegex: 'be_.*', pendingFor: Duration.minutes(1) },
  perReplica: false, // HA frps: test/server/ha.test.ts
};

describe('FrpAlertRules', () => {
  test('promtool is installed (apt-get install prometheus)', () => {
    expect(promtoolVersion()).toMatch(/^promtool, version 2\./);
  });

  test('defaults: one group of frps alerts, valid PrometheusRule, passes promtool check rules', () => {
    // GIVEN / WHEN
    const { rule, spec, manifests, rules } = render();
    // THEN
    expect(rule).toMatchSnapshot();
    expectValidBundle(manifests);
    expect(checkRules(spec)).toContain('SUCCESS: 4 rules found');
    expect(rules.alertNames).toEqual(['FrpServerDown', 'FrpNoClientsConnected', 'FrpConnectionSurge', 'FrpTrafficDropped']);
  });

  test('all options: expectations, balancer, thresholds; passes promtool check rules', () => {
    // GIVEN / WHEN
    const { rule, spec, manifests, rules } = render(ALL, true);
    // THEN
    expect(rule).toMatchSnapshot();
    expectValidBundle(manifests);
    expect(checkRules(spec)).toContain('SUCCESS: 8 rules found');
    expect(rules.alertNames).toEqual([
      'FrpServerDown', 'FrpNoClientsConnected', 'FrpProxyMembersBelowExpected', 'FrpProxyMembersBelowExpected',
      'FrpProxyMembersBelowExpected', 'FrpConnectionSurge', 'FrpTrafficDropped', 'HAProxyBackendDown',
    ]);
    expect(rule.metadata.labels.release).toBe('kube-prometheus-stack');
    for (const r of allRules(spec)) {
      expect(r.labels.team).toBe('platform');
      expect(r.annotations.runbook_url).toBe(`https://runbooks.example.com/frp/${r.alert.toLowerCase()}`);
    }
    const byName = (n: string) => allRules(spec).filter(r => r.alert === n);
    expect(byName('FrpServerDown')[0].for).toBe('3m');
    expect(byName('FrpConnectionSurge')[0]).toMatchObject({ for: '1m', labels: { severity: 'info' } });
    expect(byName('FrpConnectionSurge')[0].expr).toMatch(/ > 500$/);
    expect(byName('FrpTrafficDropped')[0].expr).toContain('[15m])) == 0');
    expect(byName('FrpTrafficDropped')[0].expr).toContain('[2h] offset 15m');
    expect(byName('HAProxyBackendDown')[0].expr).toContain('proxy=~"be_.*"');
    expect(byName('FrpProxyMembersBelowExpected').map(r => r.labels)).toEqual([
      { team: 'platform', proxy_type: 'tcp', severity: 'warning' },
      { team: 'platform', proxy_type: 'http', proxy: 'ollama', severity: 'warning' },
      { team: 'platform', proxy_type: 'https', proxy_regex: 'gpu-[0-9]+[.]api', severity: 'warning' },
    ]);
  });

  test('every alert has for, a severity, summary, description and runbook_url', () => {
    const { spec } = render(ALL, true);
    for (const r of allRules(spec)) {
      expect(r.for).toMatch(/^\d+[smhd]$/);
      expect(Object.values(AlertSeverity)).toContain(r.labels.severity);
      expect(Object.keys(r.annotations).sort()).toEqual(['description', 'runbook_url', 'summary']);
      expect(r.annotations.summary.length).toBeGreaterThan(10);
      expect(r.annotations.description.length).toBeGreaterThan(r.annotations.summary.length);
    }
    const { spec: defaults } = render();
    for (const r of allRules(defaults)) {
      expect(r.annotations.runbook_url).toBe(`https://github.com/cdk8s-frp/cdk8s-frp#runbook-${r.alert.toLowerCase()}`);
    }
  });

  test('every expression selects only its own frps (job and namespace) and real metric names', () => {
    const { spec, server, balancer } = render(ALL, true);
    for (const r of allRules(spec)) {
      const target = r.alert.startsWith('HAProxy') ? balancer! : server;
      const found = selectors(r.expr);
      expect(found.length).toBeGreaterThan(0);
      for (const s of found) {
        expect(s.matchers).toContain(`job="${target.job}"`);
        expect(s.matchers).toContain('namespace="edge"');
      }
      for (const name of metricNames(r.expr)) expect(ALLOWED_METRICS).toContain(name);
    }
  });

  test('without a chart namespace, expressions select on job only', () => {
    const c = chart();
    const server = MetricsTarget.fromFrpServer(frps(c));
    new FrpAlertRules(c, 'alerts', { server });
    const [rule] = byKind(Testing.synth(c), 'PrometheusRule');
    for (const r of allRules(rule.spec)) {
      for (const s of selectors(r.expr)) expect(s.matchers).toBe(`job="${server.job}"`);
    }
    expect(checkRules(rule.spec)).toContain('SUCCESS');
  });

  describe('promtool test rules on synthetic series', () => {
    const { spec, server, balancer } = render({
      expectedProxies: [
        { proxyType: FrpProxyType.TCP, minimum: 2 },
        { proxyType: FrpProxyType.HTTP, minimum: 2, proxyName: 'ollama' },
      ],
    }, true);
    const job = server.job;
    const scope = `job="${job}", namespace="edge"`;
    const target = `${scope}, pod="frps-0", instance="10.0.0.5:7500", service="${job}", endpoint="metrics"`;
    const name = `edge/${job}`;
    const runbook = (alert: string) => `https://github.com/cdk8s-frp/cdk8s-frp#runbook-${alert.toLowerCase()}`;
    const membersAlert = (value: number, what: string, labels: { [k: string]: string }) => ({
      exp_labels: { job, namespace: 'edge', severity: 'warning', ...labels },
      exp_annotations: {
        summary: `Too few ${what} on frps ${name}`,
        description: `frps ${name} has ${value} ${what}, fewer than the 2 expected, for 5 minutes. Check the frpc pods (crash loops, failing health checks) and the load-balancing group settings.`,
        runbook_url: runbook('FrpProxyMembersBelowExpected'),
      },
    });

    test('FrpNoClientsConnected fires with no client, and not with clients or for another frps', () => {
      testRules(spec, {
        tests: [
          {
            name: 'no client logged in',
            interval: '1m',
            input_series: [
              { series: `up{${target}}`, values: '1x30' },
              { series: `frp_server_client_counts{${target}}`, values: '0x30' },
            ],
            alert_rule_test: [
              { eval_time: '5m', alertname: 'FrpNoClientsConnected', exp_alerts: [] }, // pending: for 10m
              {
                eval_time: '15m',
                alertname: 'FrpNoClientsConnected',
                exp_alerts: [{
                  exp_labels: { job, namespace: 'edge', severity: 'warning' },
                  exp_annotations: {
                    summary: `No frpc client is connected to frps ${name}`,
                    description: `frps ${name} has had no frpc client logged in for 10 minutes. Every service tunnelled through it is unreachable: check the frpc pods' logs (auth token, TLS, network policy).`,
                    runbook_url: runbook('FrpNoClientsConnected'),
                  },
                }],
              },
            ],
          },
          {
            name: 'healthy: three clients; another frps without clients is not ours',
            interval: '1m',
            input_series: [
              { series: `up{${target}}`, values: '1x30' },
              { series: `frp_server_client_counts{${target}}`, values: '3x30' },
              { series: 'frp_server_client_counts{job="other-frps", namespace="edge", pod="other-0"}', values: '0x30' },
              { series: `frp_server_client_counts{job="${job}", namespace="staging", pod="frps-0"}`, values: '0x30' },
            ],
            alert_rule_test: [
              { eval_time: '20m', alertname: 'FrpNoClientsConnected', exp_alerts: [] },
              { eval_time: '20m', alertname: 'FrpServerDown', exp_alerts: [] },
            ],
          },
        ],
      });
    });

    test('FrpProxyMembersBelowExpected fires per type and per group, and not when enough members are up', () => {
      testRules(spec, {
        tests: [
          {
            name: 'one tcp proxy of 2; one live ollama member of 2 (a stale one is 0, another proxy does not count)',
            interval: '1m',
            input_series: [
              { series: `up{${target}}`, values: '1x30' },
              { series: `frp_server_client_counts{${target}}`, values: '2x30' },
              { series: `frp_server_proxy_counts{${target}, type="tcp"}`, values: '1x30' },
              { series: `frp_server_proxy_counts{${target}, type="http"}`, values: '2x30' },
              { series: `frp_server_proxy_counts_detailed{${target}, type="http", name="ollama-6d5f-abcde.ollama"}`, values: '1x30' },
              { series: `frp_server_proxy_counts_detailed{${target}, type="http", name="ollama-6d5f-old11.ollama"}`, values: '0x30' },
              { series: `frp_server_proxy_counts_detailed{${target}, type="http", name="web-1.not-ollama"}`, values: '1x30' },
              { series: `frp_server_proxy_counts_detailed{${target}, type="tcp", name="pg-0.ollama"}`, values: '1x30' },
            ],
            alert_rule_test: [
              {
                eval_time: '10m',
                alertname: 'FrpProxyMembersBelowExpected',
                exp_alerts: [
                  membersAlert(1, 'tcp proxies', { proxy_type: 'tcp' }),
                  membersAlert(1, 'members of http proxy ollama', { proxy_type: 'http', proxy: 'ollama' }),
                ],
              },
            ],
          },
          {
            name: 'healthy: 2 tcp proxies, 2 ollama members (one without a user prefix)',
            interval: '1m',
            input_series: [
              { series: `up{${target}}`, values: '1x30' },
              { series: `frp_server_proxy_counts{${target}, type="tcp"}`, values: '2x30' },
              { series: `frp_server_proxy_counts_detailed{${target}, type="http", name="ollama-6d5f-abcde.ollama"}`, values: '1x30' },
              { series: `frp_server_proxy_counts_detailed{${target}, type="http", name="ollama"}`, values: '1x30' },
            ],
            alert_rule_test: [{ eval_time: '10m', alertname: 'FrpProxyMembersBelowExpected', exp_alerts: [] }],
          },
          {
            name: 'frps up but a type it never saw (no series) counts as 0',
            interval: '1m',
            input_series: [{ series: `up{${target}}`, values: '1x30' }],
            alert_rule_test: [{
              eval_time: '10m',
              alertname: 'FrpProxyMembersBelowExpected',
              exp_alerts: [
                membersAlert(0, 'tcp proxies', { proxy_type: 'tcp' }),
                membersAlert(0, 'members of http proxy ollama', { proxy_type: 'http', proxy: 'ollama' }),
              ],
            }],
          },
          {
            name: 'frps down: FrpServerDown, not FrpProxyMembersBelowExpected',
            interval: '1m',
            input_series: [{ series: `up{${target}}`, values: '0x30' }],
            alert_rule_test: [
              { eval_time: '10m', alertname: 'FrpProxyMembersBelowExpected', exp_alerts: [] },
              {
                eval_time: '10m',
                alertname: 'FrpServerDown',
                exp_alerts: [{
                  exp_labels: { job, namespace: 'edge', pod: 'frps-0', instance: '10.0.0.5:7500', service: job, endpoint: 'metrics', severity: 'critical' },
                  exp_annotations: {
                    summary: `frps ${name} is down`,
                    description: `Prometheus has not scraped frps ${name} for 5 minutes (up == 0, or no target at all: check the pods and the ServiceMonitor). frpc clients cannot log in and every tunnel through this frps is down.`,
                    runbook_url: runbook('FrpServerDown'),
                  },
                }],
              },
            ],
          },
        ],
      });
    });

    test('the harness is not vacuous: a wrong expectation fails promtool', () => {
      expect(() => testRules(spec, {
        tests: [{
          interval: '1m',
          input_series: [{ series: `up{${target}}`, values: '1x30' }, { series: `frp_server_client_counts{${target}}`, values: '0x30' }],
          alert_rule_test: [{ eval_time: '15m', alertname: 'FrpNoClientsConnected', exp_alerts: [] }],
        }],
      })).toThrow(/promtool test rules failed[\s\S]*FrpNoClientsConnected/);
    });

    test('FrpServerDown fires when frps has no target at all (absent)', () => {
      testRules(spec, {
        tests: [{
          name: 'nothing scraped',
          interval: '1m',
          input_series: [{ series: 'up{job="something-else", namespace="edge"}', values: '1x30' }],
          alert_rule_test: [{
            eval_time: '10m',
            alertname: 'FrpServerDown',
            exp_alerts: [{
              exp_labels: { job, namespace: 'edge', severity: 'critical' },
              exp_annotations: {
                summary: `frps ${name} is down`,
                description: `Prometheus has not scraped frps ${name} for 5 minutes (up == 0, or no target at all: check the pods and the ServiceMonitor). frpc clients cannot log in and every tunnel through this frps is down.`,
                runbook_url: runbook('FrpServerDown'),
              },
            }],
          }],
        }],
      });
    });

    test('FrpConnectionSurge, FrpTrafficDropped and HAProxyBackendDown fire on their conditions', () => {
      const lb = `job="${balancer!.job}", namespace="edge"`;
      testRules(spec, {
        tests: [{
          name: 'surge, silence after traffic, dead backend',
          interval: '1m',
          input_series: [
            { series: `up{${target}}`, values: '1x100' },
            { series: `frp_server_client_counts{${target}}`, values: '2x100' },
            // the connections close after an hour, then nothing comes
            { series: `frp_server_connection_counts{${target}, type="tcp", name="pg-0.pg"}`, values: '1500x60 0x40' },
            { series: `frp_server_connection_counts{${target}, type="tcp", name="pg-1.pg"}`, values: '10x60 0x40' },
            // 1000 bytes a minute for an hour, then nothing
            { series: `frp_server_traffic_in{${target}, type="tcp", name="pg-0.pg"}`, values: '0+1000x60 60000x40' },
            { series: `haproxy_backend_status{${lb}, pod="lb-0", proxy="be_ollama", state="UP"}`, values: '0x100' },
            { series: `haproxy_backend_status{${lb}, pod="lb-1", proxy="be_ollama", state="UP"}`, values: '0x100' },
            { series: `haproxy_backend_status{${lb}, pod="lb-0", proxy="be_pg", state="UP"}`, values: '0x100' },
            { series: `haproxy_backend_status{${lb}, pod="lb-1", proxy="be_pg", state="UP"}`, values: '1x100' },
          ],
          alert_rule_test: [
            {
              eval_time: '30m',
              alertname: 'FrpConnectionSurge',
              exp_alerts: [{
                exp_labels: { job, namespace: 'edge', type: 'tcp', name: 'pg-0.pg', severity: 'warning' },
                exp_annotations: {
                  summary: 'Connection surge on frp proxy pg-0.pg',
                  description: `Proxy pg-0.pg (tcp) on frps ${name} has had 1500 open connections (more than 1000) for 5 minutes.`,
                  runbook_url: runbook('FrpConnectionSurge'),
                },
              }],
            },
            { eval_time: '30m', alertname: 'FrpTrafficDropped', exp_alerts: [] },
            {
              eval_time: '85m',
              alertname: 'FrpTrafficDropped',
              exp_alerts: [{
                exp_labels: { job, namespace: 'edge', severity: 'warning' },
                exp_annotations: {
                  summary: `Traffic through frps ${name} dropped to zero`,
                  description: `No connection was open on frps ${name} and no byte entered it in the last 10 minutes, although traffic flowed in the 1 hour before. Check the clients, the Ingress/Service in front of frps and the frpc members.`,
                  runbook_url: runbook('FrpTrafficDropped'),
                },
              }],
            },
            {
              eval_time: '10m',
              alertname: 'HAProxyBackendDown',
              exp_alerts: [{
                exp_labels: { job: balancer!.job, namespace: 'edge', proxy: 'be_ollama', severity: 'critical' },
                exp_annotations: {
                  summary: 'HAProxy backend be_ollama is down',
                  description: `Backend be_ollama of balancer edge/${balancer!.job} has had no server UP in any replica for 2 minutes: requests to it fail. Check the backend pods and HAProxy's health checks (haproxy_server_check_failures_total).`,
                  runbook_url: runbook('HAProxyBackendDown'),
                },
              }],
            },
          ],
        }],
      });
    });

    test('FrpTrafficDropped under steady load (issue 9, defect 8): long-lived connections that move bytes but do not close: frp has not counted them yet, no alert', () => {
      testRules(spec, {
        tests: [{
          name: 'an hour of short requests, then two hours on connections that stay open',
          interval: '1m',
          input_series: [
            { series: `up{${target}}`, values: '1x200' },
            { series: `frp_server_client_counts{${target}}`, values: '2x200' },
            { series: `frp_server_connection_counts{${target}, type="http", name="llm-0.llm"}`, values: '0x60 8x140' },
            // frp adds bytes when a connection closes: flat while the 8 stay open
            { series: `frp_server_traffic_in{${target}, type="http", name="llm-0.llm"}`, values: '0+1000x60 60000x140' },
          ],
          alert_rule_test: [{ eval_time: '90m', alertname: 'FrpTrafficDropped', exp_alerts: [] }, { eval_time: '180m', alertname: 'FrpTrafficDropped', exp_alerts: [] }],
        }],
      });
    });
  });

  test('fails on invalid expectations', () => {
    const c = chart();
    const server = MetricsTarget.fromFrpServer(frps(c));
    expect(() => new FrpAlertRules(c, 'a1', { server, expectedProxies: [{ proxyType: FrpProxyType.TCP, minimum: 0 }] }))
      .toThrow('test/a1: expectedProxies[0].minimum: must be an integer of 1 or more, got 0');
    expect(() => new FrpAlertRules(c, 'a2', { server, expectedProxies: [{ proxyType: 'sctp' as FrpProxyType, minimum: 1 }] }))
      .toThrow('test/a2: expectedProxies[0].proxyType: must be one of "tcp", "udp", "http", "https", "tcpmux", got "sctp"');
    expect(() => new FrpAlertRules(c, 'a3', { server, expectedProxies: [{ proxyType: FrpProxyType.HTTP, minimum: 1, proxyName: 'a', nameRegex: 'b' }] }))
      .toThrow('test/a3: expectedProxies[0]: set proxyName or nameRegex, not both');
    expect(() => new FrpAlertRules(c, 'a4', { server, expectedProxies: [{ proxyType: FrpProxyType.HTTP, minimum: 1, nameRegex: '(?=x)' }] }))
      .toThrow('test/a4: expectedProxies[0].nameRegex: "(?=x)" uses lookaround or a backreference, which Prometheus (RE2) does not support');
    expect(() => new FrpAlertRules(c, 'a5', { server, expectedProxies: [{ proxyType: FrpProxyType.HTTP, minimum: 1, nameRegex: '(' }] }))
      .toThrow('test/a5: expectedProxies[0].nameRegex: "(" is not a valid regular expression');
    expect(() => new FrpAlertRules(c, 'a6', { server, expectedProxies: [{ proxyType: FrpProxyType.TCP, minimum: 1 }, { proxyType: FrpProxyType.TCP, minimum: 3 }] }))
      .toThrow('test/a6: expectedProxies[1]: expects the same proxies as expectedProxies[0]');
    expect(() => new FrpAlertRules(c, 'a7', { server, expectedProxies: [{ proxyType: FrpProxyType.TCP, minimum: 1, proxyName: 'a b' }] }))
      .toThrow('test/a7: expectedProxies[0].proxyName: must be an frp proxy name');
  });

  test('fails on invalid options', () => {
    const c = chart();
    const server = MetricsTarget.fromFrpServer(frps(c));
    expect(() => new FrpAlertRules(c, 'b1', { server, runbookBaseUrl: 'runbooks' }))
      .toThrow('test/b1: runbookBaseUrl: must be an absolute http(s) URL, got "runbooks"');
    expect(() => new FrpAlertRules(c, 'b2', { server, alertLabels: { severity: 'x' } }))
      .toThrow("test/b2: alertLabels.severity: is set by each alert: use the alert's severity option instead");
    expect(() => new FrpAlertRules(c, 'b3', { server, alertLabels: { 'team-name': 'x' } }))
      .toThrow('test/b3: alertLabels.team-name: is not a valid Prometheus label name');
    expect(() => new FrpAlertRules(c, 'b4', { server, connectionSurge: { threshold: -1 } }))
      .toThrow('test/b4: connectionSurge.threshold: must be a positive number, got -1');
    expect(() => new FrpAlertRules(c, 'b5', { server, serverDown: { pendingFor: Duration.seconds(0) } }))
      .toThrow('test/b5: serverDown.pendingFor: must be a positive whole number of milliseconds, got 0 seconds');
    expect(() => new FrpAlertRules(c, 'b6', { server, serverDown: { severity: 'page' as AlertSeverity } }))
      .toThrow('test/b6: serverDown.severity: must be one of "critical", "warning", "info", got "page"');
    expect(() => new FrpAlertRules(c, 'b7', {
      server,
      serverDown: { enabled: false },
      noClientsConnected: { enabled: false },
      connectionSurge: { enabled: false },
      trafficDropped: { enabled: false },
    })).toThrow('test/b7: alerts: every alert is disabled, so the PrometheusRule would be empty');
    expect(() => new FrpAlertRules(c, 'b8', { server: undefined as unknown as MetricsTarget }))
      .toThrow('test/b8: server: is required: MetricsTarget.fromFrpServer(server)');
  });
});
