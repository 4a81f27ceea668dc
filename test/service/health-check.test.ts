/**
 * Where frp's health check lands (issue 9 defect 7). frp checks `localIP:localPort`
 * from every member and never resets its failure count (v0.70.1), so a check means
 * something only when it is aimed at one backend. The seed's defaulting (http on
 * `/health` for http services) stays, and where it really runs a warning says so.
 */
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  DiscoveryMode, DistributedService, DistributedServiceProps, ServiceProtocol, ExposeType, FrpAuth, FrpExternalClient, FrpServer,
  HealthCheckType, LoadBalancingAlgorithm, NetworkPeer, SynthWarnings,
} from '../../lib';
import { FrpHealthCheck } from '../../lib/frp/proxy';
import { HealthCheckTarget, planHealthCheck } from '../../lib/service/plan';
import { expectValidBundle, parseFrpTomlValues } from '../helpers';
import { chartWithToken, tomlOf } from './fixtures';

/** The service's frpc health check, the balancer's check line, and the warnings. */
function build(props: Omit<DistributedServiceProps, 'auth'>, workload = false) {
  const { chart, auth } = chartWithToken();
  const backends = workload
    ? { discovery: { mode: DiscoveryMode.AUTO, workload: new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginxinc/nginx-unprivileged:1.27', portNumber: 8080 }] }) } }
    : props.backends;
  const service = new DistributedService(chart, 'svc', { auth, ...props, backends } as DistributedServiceProps);
  const manifests = Testing.synth(chart);
  if (!workload) expectValidBundle(manifests); // (a handed-over workload is the user's, not restricted here)
  const proxies = tomlOf(manifests, 'frpc.toml').proxies;
  const haproxy = manifests.find(m => m.kind === 'ConfigMap' && m.data?.['haproxy.cfg'])?.data['haproxy.cfg'];
  return { service, manifests, proxies, haproxy, warnings: SynthWarnings.of(chart) };
}

const http = { serviceType: ServiceProtocol.HTTP, expose: { type: ExposeType.DOMAIN, domain: 'x.example.com' } };
const selector = { discovery: { mode: DiscoveryMode.SELECTOR, selector: { matchLabels: { app: 'x' } }, port: 8080 } };
const dns = { discovery: { mode: DiscoveryMode.DNS, serviceName: 'x-pods', port: 8080 } };
const endpoints = { endpoints: [{ host: '10.0.0.1', port: 8080 }, { host: '10.0.0.2', port: 8080 }] };
const DEFAULT_PATH_WARNING = /^test\/svc: spec\.loadBalancing\.healthCheck\.path: not set, so frpc checks every backend with GET \/health \(the specification's default\); a backend without that path never passes, and its group member never joins/;
const TCP_DEFAULTS = { type: 'tcp', intervalSeconds: 10, timeoutSeconds: 3, maxFailed: 3 };

describe('frp health checks are aimed only where they mean something', () => {
  test('selector discovery without the balancer: frpc dials the Service address, so frp checks tcp there (not GET /health on a random pod), and nothing warns', () => {
    const { proxies, manifests, warnings } = build({ ...http, backends: selector });
    const backendService = manifests.find(m => m.kind === 'Service' && m.spec.selector?.app === 'x');
    expect(backendService.spec.clusterIP).toBeUndefined(); // a VIP: kube-proxy picks a pod per connection
    expect(proxies).toHaveLength(1);
    expect(proxies[0].localIP).toBe(`${backendService.metadata.name}.apps.svc`);
    expect(proxies[0].healthCheck).toEqual(TCP_DEFAULTS);
    expect(warnings).toEqual([]);
  });

  test('dns discovery without the balancer: a tcp check on the DNS name, whatever the seed defaults to', () => {
    const { proxies, warnings } = build({ ...http, backends: dns, loadBalancing: { healthCheck: { interval: '5s', failureThreshold: 2 } } });
    expect(proxies[0].localIP).toBe('x-pods.apps.svc');
    expect(proxies[0].healthCheck).toEqual({ type: 'tcp', intervalSeconds: 5, timeoutSeconds: 3, maxFailed: 2 });
    expect(warnings).toEqual([]);
  });

  test('an http check asked for at a Service address is a tcp check, and a warning says why and where an http check per pod is possible', () => {
    for (const backends of [selector, dns]) {
      const { proxies, warnings } = build({ ...http, backends, loadBalancing: { healthCheck: { type: HealthCheckType.HTTP, path: '/ready' } } });
      expect(proxies[0].healthCheck).toEqual(TCP_DEFAULTS);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`test/svc: spec.loadBalancing.healthCheck: with ${backends === selector ? 'selector' : 'dns'} discovery frpc reaches the backends through a Service address`);
      expect(warnings[0]).toContain('frp checks tcp there');
      expect(warnings[0]).toContain('readiness probe');
    }
  });

  test('endpoints: each member checks its own backend with the seed\'s default (GET /health), and a warning names the cost of that default', () => {
    const { proxies, warnings } = build({ ...http, backends: endpoints });
    expect(proxies.map((p: any) => [p.localIP, p.healthCheck])).toEqual([
      ['10.0.0.1', { type: 'http', path: '/health', intervalSeconds: 10, timeoutSeconds: 3, maxFailed: 3 }],
      ['10.0.0.2', { type: 'http', path: '/health', intervalSeconds: 10, timeoutSeconds: 3, maxFailed: 3 }],
    ]);
    expect(warnings).toEqual([expect.stringMatching(DEFAULT_PATH_WARNING)]);
    expect(warnings[0]).toContain('set healthCheck.path to the backend\'s health path, or healthCheck.type tcp, or healthCheck.enabled false');
  });

  test('no warning once the path is the user\'s own (even /health), or the check is tcp or off', () => {
    const own = build({ ...http, backends: endpoints, loadBalancing: { healthCheck: { path: '/health' } } });
    expect(own.proxies[0].healthCheck).toMatchObject({ type: 'http', path: '/health' });
    expect(own.warnings).toEqual([]);
    const tcp = build({ ...http, backends: endpoints, loadBalancing: { healthCheck: { type: HealthCheckType.TCP } } });
    expect(tcp.proxies[0].healthCheck).toEqual(TCP_DEFAULTS);
    expect(tcp.warnings).toEqual([]);
    const off = build({ ...http, backends: endpoints, loadBalancing: { healthCheck: { enabled: false } } });
    expect(off.proxies[0].healthCheck).toBeUndefined();
    expect(off.warnings).toEqual([]);
  });

  test('a tcp service relies on no path: tcp checks on each endpoint, no warning', () => {
    const tcpService = { serviceType: ServiceProtocol.TCP, backends: endpoints, expose: { type: ExposeType.PORT, port: 5432 } };
    const { proxies, warnings } = build(tcpService);
    expect(proxies.map((p: any) => p.healthCheck)).toEqual([TCP_DEFAULTS, TCP_DEFAULTS]);
    expect(warnings).toEqual([]);
  });

  test('a sidecar checks its own pod\'s backend (127.0.0.1): the default path is used there, with the warning', () => {
    const { proxies, warnings } = build({ ...http, backends: undefined as any }, true);
    expect(proxies[0].localIP ?? '127.0.0.1').toBe('127.0.0.1');
    expect(proxies[0].healthCheck).toMatchObject({ type: 'http', path: '/health' });
    expect(warnings).toEqual([expect.stringMatching(DEFAULT_PATH_WARNING)]);
  });

  test('behind the balancer frp checks the balancer (tcp); the balancer\'s http check on the default path warns that HAProxy marks such backends down', () => {
    const { proxies, haproxy, warnings } = build({ ...http, backends: selector, loadBalancing: { algorithm: LoadBalancingAlgorithm.LEAST_CONN } });
    expect(proxies[0].healthCheck).toEqual(TCP_DEFAULTS);
    expect(haproxy).toContain('option httpchk GET /health');
    expect(warnings).toEqual([expect.stringMatching(/^test\/svc: spec\.loadBalancing\.healthCheck\.path: not set, so the balancer checks every backend with GET \/health .*HAProxy marks a backend without that path down/)]);
    const own = build({ ...http, backends: selector, loadBalancing: { algorithm: LoadBalancingAlgorithm.LEAST_CONN, healthCheck: { path: '/api/health' } } });
    expect(own.haproxy).toContain('option httpchk GET /api/health');
    expect(own.warnings).toEqual([]);
  });

  test('a machine outside the cluster forwards to one backend: it gets the spec\'s own check (http), with the default-path warning on the machine', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'apps', { namespace: 'apps' });
    const server = new FrpServer(chart, 'frps', {
      auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 'token', 'frp-token')),
      externalAccess: { addresses: ['203.0.113.7'] },
      clientPeers: [NetworkPeer.cidr('198.51.100.0/24')],
    });
    const svc = new DistributedService(chart, 'svc', { server, ...http, backends: selector });
    const gpu = new FrpExternalClient(chart, 'gpu-1', { server, machine: 'gpu-1', serverAddress: '203.0.113.7' });
    gpu.addService(svc, { localPort: 8080 });
    expect(parseFrpTomlValues(svc.clientPool.renderConfig()).proxies[0].healthCheck).toEqual(TCP_DEFAULTS);
    expect(parseFrpTomlValues(gpu.renderConfig()).proxies[0].healthCheck).toEqual({ type: 'http', path: '/health', intervalSeconds: 10, timeoutSeconds: 3, maxFailed: 3 });
    expect(SynthWarnings.of(svc)).toEqual([]);
    expect(SynthWarnings.of(gpu)).toEqual([expect.stringMatching(/^apps\/gpu-1: services\["svc"\]: spec\.loadBalancing\.healthCheck\.path: not set, so frpc checks every backend with GET \/health/)]);
  });
});

describe('planHealthCheck (the pure rule)', () => {
  const httpCheck: FrpHealthCheck = { type: HealthCheckType.HTTP, path: '/health', intervalSeconds: 10, timeoutSeconds: 3, maxFailed: 3 };
  const tcpCheck: FrpHealthCheck = { type: HealthCheckType.TCP, intervalSeconds: 10, timeoutSeconds: 3, maxFailed: 3 };
  const at = (target: HealthCheckTarget['target'], more: Partial<HealthCheckTarget> = {}): HealthCheckTarget =>
    ({ target, backends: 'selector', explicit: false, defaultPath: true, balancerHttpCheck: false, ...more });
  const run = (check: FrpHealthCheck | undefined, t: HealthCheckTarget) => {
    const r = planHealthCheck(check, t);
    return [r.healthCheck?.type, r.healthCheck?.path, r.warnings.map(w => w.split(':')[0])];
  };
  test.each([
    // [what, check, target, frp check type, path, warnings (their field)]
    ['http at one backend on the default path', httpCheck, at('backend'), 'http', '/health', ['spec.loadBalancing.healthCheck.path']],
    ['http at one backend on the user\'s path', httpCheck, at('backend', { explicit: true, defaultPath: false }), 'http', '/health', []],
    ['tcp at one backend', tcpCheck, at('backend'), 'tcp', undefined, []],
    ['the seed\'s http at a Service address', httpCheck, at('service'), 'tcp', undefined, []],
    ['an explicit http at a Service address', httpCheck, at('service', { explicit: true }), 'tcp', undefined, ['spec.loadBalancing.healthCheck']],
    ['an explicit tcp at a Service address', tcpCheck, at('service', { explicit: true }), 'tcp', undefined, []],
    ['the balancer, whose http check is on the default path', httpCheck, at('balancer', { balancerHttpCheck: true }), 'tcp', undefined, ['spec.loadBalancing.healthCheck.path']],
    ['the balancer, whose http check is on the user\'s path', httpCheck, at('balancer', { balancerHttpCheck: true, defaultPath: false }), 'tcp', undefined, []],
    ['the balancer, checking tcp', tcpCheck, at('balancer'), 'tcp', undefined, []],
    ['no check (disabled, or udp)', undefined, at('backend'), undefined, undefined, []],
  ])('%s', (_what, check, target, type, path, warnings) => {
    expect(run(check, target)).toEqual([type, path, warnings]);
  });
});

describe('SynthWarnings', () => {
  test('keeps each message once per construct and lists them as <path>: <message>, in tree order', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c');
    const a = new Chart(chart, 'a');
    SynthWarnings.add(a, 'second');
    SynthWarnings.add(chart, 'first');
    SynthWarnings.add(chart, 'first');
    expect(SynthWarnings.of(app)).toEqual(['c: first', 'c/a: second']);
    expect(SynthWarnings.of(a)).toEqual(['c/a: second']);
    expect(chart.node.metadata.map(m => m.type)).toEqual([SynthWarnings.METADATA_TYPE]);
  });
});
