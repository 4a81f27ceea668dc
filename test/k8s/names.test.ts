import { App, Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import * as fc from 'fast-check';
import { OllamaClusterChart, PostgresProxyChart, UserServiceChart, WebappFrontendChart } from '../../examples/seed-use-cases';
import { DistributedService, FrpAuth, FrpClientPool, FrpClientWorkload, FrpServer, HaproxyBalancer } from '../../lib';
import { derivedName } from '../../lib/k8s/names';

const RECOMMENDED = ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component', 'app.kubernetes.io/part-of', 'app.kubernetes.io/managed-by'];
const charts = [OllamaClusterChart, UserServiceChart, PostgresProxyChart, WebappFrontendChart];

describe('names a person can type', () => {
  test.each(charts.map(c => [c.name, c] as const))('%s: every object has a readable name (no hash suffix) and the recommended labels', (_n, ChartClass) => {
    const manifests = new ChartClass(new App(), 'x').toJson();
    for (const m of manifests) {
      expect(`${m.kind}/${m.metadata.name}`).not.toMatch(/-c8[0-9a-f]{6}$/);
      for (const key of RECOMMENDED) expect([`${m.kind}/${m.metadata.name}`, key, m.metadata.labels?.[key]]).toEqual([`${m.kind}/${m.metadata.name}`, key, expect.any(String)]);
      for (const c of m.spec?.template?.spec?.containers ?? []) expect(['frps', 'frpc', 'haproxy', 'nginx', 'exporter', 'web']).toContain(c.name);
    }
  });

  test('a DistributedService names its objects <service>, <service>-frps, <service>-frpc, <service>-balancer, <service>-backends', () => {
    const names = new OllamaClusterChart(new App(), 'x').toJson().map(m => `${m.kind}/${m.metadata.name}`);
    expect(names).toEqual(expect.arrayContaining([
      'Ingress/ollama-cluster', 'Service/ollama-cluster-backends',
      'Deployment/ollama-cluster-frps', 'Service/ollama-cluster-frps', 'ConfigMap/ollama-cluster-frps-config', 'Service/ollama-cluster-frps-vhost',
      'Deployment/ollama-cluster-frpc', 'ConfigMap/ollama-cluster-frpc-config',
      'Deployment/ollama-cluster-balancer', 'Service/ollama-cluster-balancer', 'ConfigMap/ollama-cluster-balancer-config',
      'Issuer/ollama-cluster-ca', 'Certificate/ollama-cluster-frps-tls', 'Certificate/ollama-cluster-frpc-tls',
    ]));
    const exposed = new PostgresProxyChart(new App(), 'x').toJson().find(m => m.kind === 'Service' && m.metadata.name === 'postgres-proxy');
    expect(exposed.metadata.labels).toMatchObject({ 'app.kubernetes.io/component': 'exposure', 'app.kubernetes.io/part-of': 'postgres-proxy' });
  });

  test('selectors use app.kubernetes.io/name and instance, not the path hash', () => {
    const chart = Testing.chart();
    const server = new FrpServer(chart, 'frps', { auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 't', 'token')) });
    new FrpClientPool(chart, 'pool', { server, proxies: [{ name: 'a', type: 'tcp' as any, localPort: 80, remotePort: 2080 }] });
    const m = Testing.synth(chart);
    const deploy = (n: string) => m.find(x => x.kind === 'Deployment' && x.metadata.name === n);
    expect(deploy('frps').spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'frps', 'app.kubernetes.io/instance': 'frps' });
    expect(deploy('frpc').spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'frpc', 'app.kubernetes.io/instance': 'frpc' });
    for (const svc of m.filter(x => x.kind === 'Service')) expect(svc.spec.selector).toEqual({ 'app.kubernetes.io/name': 'frps', 'app.kubernetes.io/instance': 'frps' });
    expect(deploy('frps').metadata.labels['app.kubernetes.io/version']).toBe('v0.70.1');
  });

  test('fails when two servers in one namespace would share a name, naming both', () => {
    const chart = new Chart(new App(), 'c', { namespace: 'edge' });
    const auth = FrpAuth.token(kplus.Secret.fromSecretName(chart, 't', 'token'));
    new FrpServer(chart, 'a', { auth });
    expect(() => new FrpServer(chart, 'b', { auth })).toThrow('c/b: name: ConfigMap "frps-config" in namespace edge is already rendered by c/a: give one of them another name');
    expect(() => new FrpServer(chart, 'c', { auth, name: 'frps-two' })).not.toThrow();
    // another namespace is another name space
    expect(() => new FrpServer(new Chart(chart.node.root as App, 'other', { namespace: 'other' }), 'a', { auth })).not.toThrow();
  });

  test('fails when a service name collides with another object of the same kind', () => {
    const chart = new Chart(new App(), 'c', { namespace: 'apps' });
    const auth = FrpAuth.token(kplus.Secret.fromSecretName(chart, 't', 'token'));
    new HaproxyBalancer(chart, 'lb', { name: 'web', config: { services: [{ name: 'web', port: 9090, targets: { servers: [{ host: 'b', port: 80 }] } }] } as any });
    expect(() => new DistributedService(chart, 'web', {
      auth, serviceType: 'tcp' as any, backends: { endpoints: [{ host: '10.0.0.1', port: 80 }] }, expose: { type: 'port' as any, port: 9090 },
    } as any)).toThrow(/c\/web: name: Service "web" in namespace apps is already rendered by c\/lb/);
  });

  test('fails when two frpc sidecars go into one workload, naming both pools', () => {
    const chart = Testing.chart();
    const server = new FrpServer(chart, 'frps', { auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 't', 'token')) });
    const backend = new kplus.Deployment(chart, 'backend', { containers: [{ image: 'nginx:1.27', portNumber: 80 }] });
    new FrpClientPool(chart, 'one', { server, workload: FrpClientWorkload.sidecar(backend) });
    expect(() => new FrpClientPool(chart, 'two', { name: 'two', server, workload: FrpClientWorkload.sidecar(backend) }))
      .toThrow('test/two: workload: the pods of test/backend already have a container "frpc" from test/one: one frpc sidecar per workload');
  });

  test('long names are cut and keep a hash of the whole, within 63 characters', () => {
    const base = 'a'.repeat(60);
    const n = derivedName(base, '-frps-remote');
    expect(n.length).toBeLessThanOrEqual(63);
    expect(n).toMatch(/^a+-[0-9a-f]{8}-frps-remote$/);
    expect(derivedName('web', '-frps')).toBe('web-frps');
  });
});

describe('derivedName over the whole DNS-subdomain grammar (issue 19)', () => {
  const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
  /** A DNS subdomain (what Kubernetes accepts for most object names): labels joined by ".", at most 253 characters. */
  const subdomain = fc.array(label, { minLength: 1, maxLength: 6 }).map(ls => ls.join('.').slice(0, 253).replace(/[.-]+$/, '')).filter(s => s.length > 0);
  const base = fc.oneof(subdomain, fc.constantFrom('frps-trust', 'frp-ca', 'web', 'x'.repeat(63)));
  const suffix = fc.oneof(subdomain.map(s => `-${s}`), fc.constantFrom('-config', '-frps-remote', '-issuer-', '', '-0'));

  test('property: always a DNS-1035 label of at most 63 characters; unchanged when <base><suffix> is one; distinct inputs give distinct names', () => {
    const seen = new Map<string, string>();
    fc.assert(fc.property(base, suffix, (b, s) => {
      const n = derivedName(b, s);
      expect(n).toMatch(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/);
      const full = `${b}${s}`;
      if (full.length <= 63 && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(full)) expect(n).toBe(full);
      const prev = seen.get(n);
      if (prev !== undefined) expect(prev).toBe(full);
      seen.set(n, full);
      expect(derivedName(b, s)).toBe(n);
    }), { numRuns: 5000, seed: 19 });
  });

  test('the issue\'s Issuer name: dots become dashes, a hash keeps it apart from the dashed name', () => {
    expect(derivedName('frps-trust', '-issuer-corp-ca.x')).toMatch(/^frps-trust-[0-9a-f]{8}-issuer-corp-ca-x$/);
    expect(derivedName('frps-trust', '-issuer-corp-ca-x')).toBe('frps-trust-issuer-corp-ca-x');
  });
});
