import { Duration, Testing } from 'cdk8s';
import { FrpProxyType, FrpServer } from '../../lib';
import { FrpMonitoring, FrpMonitoringProps, MetricsTarget } from '../../lib/monitoring';
import { expectDeterministic, expectValidBundle } from '../helpers';
import { attachProxies, balancerService, byKind, chart, frps } from './fixtures';
import { checkRules } from './promtool';

const MONITORING_KINDS = ['ServiceMonitor', 'PrometheusRule'];
/** The objects FrpMonitoring added (the ConfigMap with its JSON replaced by its keys, for a readable snapshot). */
function monitoringObjects(manifests: any[]): any[] {
  return manifests
    .filter(m => MONITORING_KINDS.includes(m.kind) || (m.kind === 'ConfigMap' && m.metadata.labels?.grafana_dashboard))
    .map(m => (m.kind === 'ConfigMap' ? { ...m, data: Object.keys(m.data) } : m));
}

describe('FrpMonitoring', () => {
  test('minimal props: ServiceMonitor, PrometheusRule and dashboard for one frps', () => {
    // GIVEN
    const c = chart('edge');
    const server = frps(c, { credentials: true });
    attachProxies(c, server);
    // WHEN
    const mon = new FrpMonitoring(c, 'monitoring', { server });
    const manifests = Testing.synth(c);
    // THEN
    expect(monitoringObjects(manifests)).toMatchSnapshot();
    expectValidBundle(manifests);
    expect(byKind(manifests, 'ServiceMonitor').length).toBe(1);
    expect(byKind(manifests, 'PrometheusRule').length).toBe(1);
    expect(mon.serviceMonitor!.target).toBe(mon.target);
    expect(mon.balancerServiceMonitor).toBeUndefined();
    expect(mon.dashboard!.configMap.metadata.getLabel('grafana_dashboard')).toBe('1');
    const [sm] = byKind(manifests, 'ServiceMonitor');
    expect(sm.spec.endpoints[0].basicAuth.username).toEqual({ name: 'frps-web', key: 'user' });
    const [rule] = byKind(manifests, 'PrometheusRule');
    expect(checkRules(rule.spec)).toContain('SUCCESS: 4 rules found');
    // the alerts select on the job prometheus-operator gives the ServiceMonitor's targets: the Service name
    const [control] = byKind(manifests, 'Service').filter(s => s.metadata.name === server.service.name);
    expect(control.spec.ports.map((p: any) => p.name)).toContain(sm.spec.endpoints[0].port);
    expect(rule.spec.groups[0].rules[0].expr).toContain(`job="${control.metadata.name}", namespace="edge"`);
  });

  test('all props: balancer, Prometheus selector labels, options of every part', () => {
    // GIVEN
    const c = chart('edge');
    const server = frps(c);
    const all: Required<FrpMonitoringProps> = {
      server,
      balancer: MetricsTarget.fromService(balancerService(c), { port: 'metrics' }),
      labels: { release: 'kube-prometheus-stack' },
      enableServiceMonitor: true,
      serviceMonitor: { interval: Duration.seconds(15), labels: { team: 'platform' } },
      enableAlerts: true,
      alerts: { expectedProxies: [{ proxyType: FrpProxyType.TCP, minimum: 2, proxyName: 'pg' }], labels: { rules: 'frp' } },
      enableDashboard: true,
      dashboard: { folder: 'Networking' },
    };
    // WHEN
    const mon = new FrpMonitoring(c, 'monitoring', all);
    const manifests = Testing.synth(c);
    // THEN
    expect(monitoringObjects(manifests)).toMatchSnapshot();
    expectValidBundle(manifests);
    const monitors = byKind(manifests, 'ServiceMonitor');
    expect(monitors.length).toBe(2);
    for (const m of monitors) {
      expect(m.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack', team: 'platform' });
      expect(m.spec.endpoints[0].interval).toBe('15s');
    }
    expect(mon.balancerServiceMonitor!.target).toBe(all.balancer);
    const [rule] = byKind(manifests, 'PrometheusRule');
    expect(rule.metadata.labels).toMatchObject({ release: 'kube-prometheus-stack', rules: 'frp' });
    expect(mon.alerts!.alertNames).toContain('HAProxyBackendDown');
    expect(mon.alerts!.alertNames).toContain('FrpProxyMembersBelowExpected');
    expect(checkRules(rule.spec)).toContain('SUCCESS: 6 rules found');
    const dashboard = JSON.parse(Object.values(mon.dashboard!.configMap.data)[0] as string);
    expect(dashboard.panels.some((p: any) => p.title.startsWith('Balancer'))).toBe(true);
    expect(mon.dashboard!.configMap.metadata.getLabel('release')).toBeUndefined(); // Prometheus labels are not dashboard labels
  });

  test('each part can be turned off', () => {
    const c = chart('edge');
    const server = frps(c);
    const onlyAlerts = new FrpMonitoring(c, 'alerts-only', { server, enableServiceMonitor: false, enableDashboard: false });
    const onlyDashboard = new FrpMonitoring(c, 'dashboard-only', { server, enableServiceMonitor: false, enableAlerts: false });
    const onlyMonitor = new FrpMonitoring(c, 'monitor-only', { server, enableAlerts: false, enableDashboard: false });
    const manifests = Testing.synth(c);
    expect([onlyAlerts.serviceMonitor, onlyAlerts.dashboard, onlyAlerts.alerts === undefined]).toEqual([undefined, undefined, false]);
    expect([onlyDashboard.serviceMonitor, onlyDashboard.alerts, onlyDashboard.dashboard === undefined]).toEqual([undefined, undefined, false]);
    expect([onlyMonitor.alerts, onlyMonitor.dashboard, onlyMonitor.serviceMonitor === undefined]).toEqual([undefined, undefined, false]);
    expect(byKind(manifests, 'ServiceMonitor').length).toBe(1);
    expect(byKind(manifests, 'PrometheusRule').length).toBe(1);
    expect(byKind(manifests, 'ConfigMap').filter(m => m.metadata.labels?.grafana_dashboard).length).toBe(1);
  });

  test('two frps in one namespace: separate selectors, jobs and dashboard uids', () => {
    const c = chart('edge');
    const a = frps(c);
    const b = new FrpServer(c, 'frps-b', { name: 'frps-b', auth: a.auth });
    const ma = new FrpMonitoring(c, 'mon-a', { server: a });
    const mb = new FrpMonitoring(c, 'mon-b', { server: b });
    const manifests = Testing.synth(c);
    expectValidBundle(manifests);
    const [sa, sb] = byKind(manifests, 'ServiceMonitor');
    expect(sa.spec.selector.matchLabels['app.kubernetes.io/instance']).not.toBe(sb.spec.selector.matchLabels['app.kubernetes.io/instance']);
    expect(ma.target.job).not.toBe(mb.target.job);
    expect(ma.dashboard!.uid).not.toBe(mb.dashboard!.uid);
    // each ServiceMonitor selects exactly one of the two control Services
    for (const sm of [sa, sb]) {
      const selected = byKind(manifests, 'Service').filter(s => Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels?.[k] === v));
      expect(selected.length).toBe(1);
    }
  });

  test('deterministic', () => {
    expectDeterministic(() => {
      const c = chart('edge');
      const server = frps(c, { credentials: true });
      new FrpMonitoring(c, 'monitoring', { server, balancer: MetricsTarget.fromService(balancerService(c), { port: 'metrics' }) });
      return c;
    });
  });

  test('fails when every part is off, when frps exports no metrics, or without a server', () => {
    const c = chart();
    const server = frps(c);
    expect(() => new FrpMonitoring(c, 'm1', { server, enableServiceMonitor: false, enableAlerts: false, enableDashboard: false }))
      .toThrow('test/m1: enableServiceMonitor: every part (ServiceMonitor, alerts, dashboard) is disabled');
    const quiet = new FrpServer(c, 'quiet', { name: 'quiet', auth: server.auth, enablePrometheus: false });
    expect(() => new FrpMonitoring(c, 'm2', { server: quiet })).toThrow('test/quiet: enablePrometheus: is false');
    expect(() => new FrpMonitoring(c, 'm3', {} as FrpMonitoringProps)).toThrow('test/m3: server: is required: the FrpServer to monitor');
  });
});
