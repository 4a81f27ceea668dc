import { ApiObject, Chart, Duration, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { MetricsTarget, ServiceMonitor, ServiceMonitorProps } from '../../lib/monitoring';
import { expectValidBundle } from '../helpers';
import { attachProxies, balancerService, byKind, chart, frps, selects } from './fixtures';

describe('ServiceMonitor', () => {
  test('minimal props: selects the frps Service by its labels and scrapes its metrics port', () => {
    // GIVEN
    const c = chart();
    const server = frps(c);
    // WHEN
    const sm = new ServiceMonitor(c, 'sm', { target: MetricsTarget.fromFrpServer(server) });
    const manifests = Testing.synth(c);
    // THEN
    expect(byKind(manifests, 'ServiceMonitor')).toMatchSnapshot();
    expectValidBundle(manifests);
    const [monitor] = byKind(manifests, 'ServiceMonitor');
    const [service] = byKind(manifests, 'Service');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.spec.selector).toEqual({ matchLabels: service.metadata.labels });
    expect(service.spec.ports.map((p: any) => p.name)).toContain(monitor.spec.endpoints[0].port);
    expect(monitor.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', scheme: 'http', interval: '30s' }]);
    expect(monitor.spec.namespaceSelector).toBeUndefined(); // the chart has no namespace: the ServiceMonitor's own
    expect(sm.target.job).toBe(service.metadata.name);
    expect(ApiObject.of(sm).kind).toBe('ServiceMonitor');
  });

  test('all props: basic auth from the web server Secret, namespace, timing and selector labels', () => {
    // GIVEN
    const c = chart('edge');
    const server = frps(c, { credentials: true });
    const all: Required<ServiceMonitorProps> = {
      target: MetricsTarget.fromFrpServer(server),
      interval: Duration.seconds(15),
      scrapeTimeout: Duration.seconds(10),
      labels: { release: 'kube-prometheus-stack' },
      honorLabels: true,
    };
    // WHEN
    new ServiceMonitor(c, 'sm', all);
    const manifests = Testing.synth(c);
    // THEN
    expect(byKind(manifests, 'ServiceMonitor')).toMatchSnapshot();
    expectValidBundle(manifests);
    const [monitor] = byKind(manifests, 'ServiceMonitor');
    const [service] = byKind(manifests, 'Service');
    expect(monitor.metadata.namespace).toBe('edge');
    expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(monitor.spec.namespaceSelector).toEqual({ matchNames: ['edge'] });
    expect(monitor.spec.selector.matchLabels).toEqual(service.metadata.labels);
    expect(monitor.spec.selector.matchLabels.release).toBeUndefined(); // user labels select the monitor, not the Service
    expect(monitor.spec.endpoints[0]).toEqual({
      port: 'metrics',
      path: '/metrics',
      scheme: 'http',
      interval: '15s',
      scrapeTimeout: '10s',
      honorLabels: true,
      basicAuth: { username: { name: 'frps-web', key: 'user' }, password: { name: 'frps-web', key: 'password' } },
    });
    // the Secret the ServiceMonitor names is the one frps reads its web credentials from
    const env = byKind(manifests, 'Deployment')[0].spec.template.spec.containers[0].env;
    expect(env).toEqual(expect.arrayContaining([
      { name: 'FRP_WEB_USER', valueFrom: { secretKeyRef: { name: 'frps-web', key: 'user' } } },
      { name: 'FRP_WEB_PASSWORD', valueFrom: { secretKeyRef: { name: 'frps-web', key: 'password' } } },
    ]));
  });

  test('of the Services carrying the frps labels, only the control Service has the scraped port', () => {
    // GIVEN: frps with remote-port and vhost Services (same labels)
    const c = chart('edge');
    const server = frps(c);
    attachProxies(c, server);
    // WHEN
    new ServiceMonitor(c, 'sm', { target: MetricsTarget.fromFrpServer(server) });
    const manifests = Testing.synth(c);
    // THEN: prometheus-operator keeps endpoints of selected Services whose port has this name
    expectValidBundle(manifests);
    const [monitor] = byKind(manifests, 'ServiceMonitor');
    const selected = byKind(manifests, 'Service').filter(s => selects(monitor.spec.selector.matchLabels, s.metadata.labels));
    expect(selected.length).toBe(3);
    const scraped = selected.filter(s => s.spec.ports.some((p: any) => p.name === monitor.spec.endpoints[0].port));
    expect(scraped.map(s => s.metadata.name)).toEqual([server.service.name]);
  });

  test('any Service and port name (the balancer tier)', () => {
    // GIVEN
    const c = chart('edge');
    const lb = balancerService(c);
    // WHEN
    new ServiceMonitor(c, 'sm', { target: MetricsTarget.fromService(lb, { port: 'metrics' }), labels: { release: 'kps' } });
    const manifests = Testing.synth(c);
    // THEN
    expect(byKind(manifests, 'ServiceMonitor')).toMatchSnapshot();
    expectValidBundle(manifests);
    const [monitor] = byKind(manifests, 'ServiceMonitor');
    const [service] = byKind(manifests, 'Service');
    expect(monitor.spec.selector.matchLabels).toEqual(service.metadata.labels);
    expect(monitor.spec.endpoints[0].port).toBe('metrics');
    expect(service.spec.ports.map((p: any) => p.name)).toContain('metrics');
    expect(monitor.spec.endpoints[0].basicAuth).toBeUndefined();
  });

  test('labels added to the Service later are still selected on', () => {
    const c = chart();
    const lb = balancerService(c);
    new ServiceMonitor(c, 'sm', { target: MetricsTarget.fromService(lb, { port: 'metrics' }) });
    lb.metadata.addLabel('tier', 'edge');
    const [monitor] = byKind(Testing.synth(c), 'ServiceMonitor');
    expect(monitor.spec.selector.matchLabels.tier).toBe('edge');
  });

  test('fails when the Service has no port of that name', () => {
    const c = chart();
    const lb = balancerService(c);
    new ServiceMonitor(c, 'sm', { target: MetricsTarget.fromService(lb, { port: 'stats' }) });
    expect(() => Testing.synth(c)).toThrow('test/sm: target.port: the Service test/lb has no port named "stats" (its named ports: "http", "metrics")');
  });

  test('fails when the Service has no labels to select it by', () => {
    const c = chart();
    const bare = new kplus.Service(c, 'bare', { ports: [{ name: 'metrics', port: 9100 }] });
    new ServiceMonitor(c, 'sm', { target: MetricsTarget.fromService(bare, { port: 'metrics' }) });
    expect(() => Testing.synth(c)).toThrow('test/sm: target: the Service test/bare has no labels, so no ServiceMonitor can select it');
  });

  test('fails when frps does not export metrics', () => {
    const c = chart();
    const server = frps(c, { props: { enablePrometheus: false } });
    expect(() => MetricsTarget.fromFrpServer(server)).toThrow('test/frps: enablePrometheus: is false, so frps serves no /metrics to scrape');
  });

  test('fails when the scrape timeout is longer than the interval', () => {
    const c = chart();
    const target = MetricsTarget.fromFrpServer(frps(c));
    expect(() => new ServiceMonitor(c, 'sm', { target, interval: Duration.seconds(10), scrapeTimeout: Duration.seconds(15) }))
      .toThrow('test/sm: scrapeTimeout: (15s) must not be longer than interval (10s)');
  });

  test('fails on a zero or fractional interval', () => {
    const c = chart();
    const target = MetricsTarget.fromFrpServer(frps(c));
    expect(() => new ServiceMonitor(c, 'sm', { target, interval: Duration.seconds(0) }))
      .toThrow('test/sm: interval: must be a positive whole number of milliseconds, got 0 seconds');
    expect(() => new ServiceMonitor(c, 'sm2', { target, interval: Duration.millis(1.5) }))
      .toThrow('test/sm2: interval: must be a positive whole number of milliseconds');
  });

  test('fails on an invalid selector label', () => {
    const c = chart();
    const target = MetricsTarget.fromFrpServer(frps(c));
    expect(() => new ServiceMonitor(c, 'sm', { target, labels: { 'bad key!': 'x' } }))
      .toThrow('test/sm: labels.bad key!: is not a valid Kubernetes label key');
  });

  test('fails on an invalid port name or path', () => {
    const c = chart();
    const lb = balancerService(c);
    expect(() => MetricsTarget.fromService(lb, { port: 'Metrics' })).toThrow('test/lb: port: must be a Service port name');
    expect(() => MetricsTarget.fromService(lb, { port: 'metrics', path: 'metrics' })).toThrow('test/lb: path: must be an absolute HTTP path');
  });

  test('fails when the basic-auth Secret is in another namespace than the ServiceMonitor', () => {
    const app = Testing.app();
    const a = new Chart(app, 'a', { namespace: 'edge' });
    const b = new Chart(app, 'b', { namespace: 'monitoring' });
    const server = frps(a, { credentials: true });
    expect(() => new ServiceMonitor(b, 'sm', { target: MetricsTarget.fromFrpServer(server) }))
      .toThrow("b/sm: target.basicAuthSecret: is in namespace edge but the ServiceMonitor is in monitoring: prometheus-operator reads basic-auth Secrets from the ServiceMonitor's namespace");
  });
});
