import { generateKeyPairSync } from 'crypto';
import { mkdirSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import { App, Chart } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { HaproxyHarness, writeBalancerScripts } from './balancer/haproxy-harness';
import { checkBundle, checkWiring, parseFrpTomlValues as parse, withoutRequiredSecrets } from './helpers';
import { OllamaClusterChart, PostgresProxyChart, UserServiceChart, WebappFrontendChart } from '../examples/seed-use-cases';
import { FS_ROOT_CONTEXT } from '../lib/balancer/_workload';
import { main } from '../lib/cli/render';

const SEEDS: Record<string, (app: App) => Chart> = {
  'ollama-cluster': app => new OllamaClusterChart(app, 'ollama-cluster'),
  'user-service': app => new UserServiceChart(app, 'user-service'),
  'postgres-proxy': app => new PostgresProxyChart(app, 'postgres-proxy'),
  'webapp-frontend': app => new WebappFrontendChart(app, 'webapp-frontend'),
};
const synth = (name: string, root?: string) => {
  const app = new App();
  if (root) app.node.setContext(FS_ROOT_CONTEXT, root);
  return SEEDS[name](app).toJson();
};
const byKind = (m: any[], kind: string) => m.filter(x => x.kind === kind);
const named = (m: any[], kind: string, name: string) => m.find(x => x.kind === kind && x.metadata.labels?.['app.kubernetes.io/name'] === name);
const frpc = (m: any[]): any => parse(m.find(x => x.kind === 'ConfigMap' && x.data?.['frpc.toml']).data['frpc.toml']);
const frps = (m: any[]): any => parse(m.find(x => x.kind === 'ConfigMap' && x.data?.['frps.toml']).data['frps.toml']);
const haproxyCfg = (m: any[]): string => m.find(x => x.kind === 'ConfigMap' && x.data?.['haproxy.cfg']).data['haproxy.cfg'];
const balancer = (m: any[]) => named(m, 'Deployment', 'haproxy');

describe.each(Object.keys(SEEDS))('seed use case %s', (name) => {
  const manifests = synth(name);
  test('the manifest form renders through the CLI into a valid bundle with the same frp proxies', () => {
    let out = '';
    let err = '';
    const code = main(['render', join(__dirname, '..', 'examples', 'manifests', `${name}.yaml`)], s => { out += s; }, s => { err += s; });
    expect(withoutRequiredSecrets(err)).toBe('');
    expect(code).toBe(0);
    const docs = parseAllDocuments(out).map(d => d.toJS());
    expect(checkBundle(docs)).toEqual([]);
    expect(checkWiring(docs)).toEqual([]);
    const strip = (p: any) => ({ ...p, localIP: undefined }); // Service names differ by construct path
    expect(frpc(docs).proxies.map(strip)).toEqual(frpc(manifests).proxies.map(strip));
  });
});

describe('the HAProxy configs of the seed use cases', () => {
  const h = HaproxyHarness.create();
  afterAll(() => h.cleanup());
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  // the files the auth Secrets provide, so that haproxy -c reads real ones
  const secretFiles = {
    'keys': 'k-0123456789abcdef\n',
    'public-key.pem': publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
  test.each(['ollama-cluster', 'user-service', 'postgres-proxy', 'webapp-frontend'])('%s passes haproxy -c as rendered', (name) => {
    const root = join(h.dir, name);
    for (const [file, content] of Object.entries(secretFiles)) {
      const path = join(root, 'etc/haproxy/auth', file);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
    }
    const manifests = synth(name, root);
    writeBalancerScripts(manifests, root);
    h.expectValid(haproxyCfg(manifests));
  });
});

test('ollama-cluster: least-conn and API keys in HAProxy, frp http members behind it, mTLS, Ingress, monitoring', () => {
  const m = synth('ollama-cluster');
  const cfg = haproxyCfg(m);
  expect(cfg).toContain('balance leastconn');
  expect(cfg).toMatch(/http-request deny deny_status 401 .*-f \/etc\/haproxy\/auth\/keys/);
  expect(cfg).toContain('option httpchk GET /api/health');
  expect(cfg).toContain('timeout server 5m'); // keepAlive 300s: long inference is not cut
  expect(cfg).toMatch(/server-template srv \d+ ollama-cluster-backends\.ai-services\.svc\.cluster\.local:11434/);
  const lb = balancer(m);
  expect(lb.spec.template.spec.volumes).toContainEqual(expect.objectContaining({ secret: expect.objectContaining({ secretName: 'ollama-api-keys' }) }));
  const backends = m.find(x => x.kind === 'Service' && x.spec.selector?.app === 'ollama');
  expect(backends.spec).toMatchObject({ clusterIP: 'None', selector: { app: 'ollama', tier: 'inference' } });
  const c = frpc(m);
  expect(c.transport).toMatchObject({ poolCount: 10, dialServerKeepalive: 300 });
  expect(c.proxies).toHaveLength(1);
  const balancerSvc = m.find(x => x.kind === 'Service' && x.spec.selector && Object.entries(x.spec.selector).every(([k, v]) => lb.spec.selector.matchLabels[k] === v));
  expect(c.proxies[0]).toMatchObject({
    type: 'http',
    customDomains: ['llm.example.com'],
    locations: ['/v1'],
    localIP: `${balancerSvc.metadata.name}.ai-services.svc`,
    localPort: 8000,
    loadBalancer: { group: 'ai-services-ollama-cluster' },
    healthCheck: { type: 'tcp' },
  });
  expect(c.transport.tls).toMatchObject({ certFile: '/etc/frp/tls/tls.crt', trustedCaFile: '/etc/frp/tls/ca.crt' });
  expect(frps(m).transport.tls.trustedCaFile).toBe('/etc/frp/tls/ca.crt');
  expect(frps(m).transport.maxPoolCount).toBe(10);
  expect(byKind(m, 'Certificate').filter(x => x.spec.isCA)).toHaveLength(1);
  expect(byKind(m, 'Ingress')[0].spec.rules[0]).toMatchObject({ host: 'llm.example.com', http: { paths: [{ path: '/v1', pathType: 'Prefix' }] } });
  expect(byKind(m, 'ServiceMonitor')).toHaveLength(2); // frps and the balancer
  // the balancer accepts only the frpc pods
  const np = byKind(m, 'NetworkPolicy').find(p => p.metadata.labels['app.kubernetes.io/name'] === 'haproxy');
  const frpcPods = named(m, 'Deployment', 'frpc').spec.template.metadata.labels;
  const from = np.spec.ingress.find((r: any) => r.ports.some((p: any) => p.port === 8000)).from[0].podSelector.matchLabels;
  for (const [k, v] of Object.entries(from)) expect(frpcPods[k]).toBe(v);
});

test('user-service: weighted servers, affinity by client address (PROXY v2 from frpc), manual mTLS', () => {
  const m = synth('user-service');
  const cfg = haproxyCfg(m);
  expect(cfg).toMatch(/bind :8000 accept-proxy/);
  expect(cfg).toMatch(/stick on src/);
  expect(cfg).toMatch(/stick-table type ipv6 .*expire 5m/);
  expect(cfg).toMatch(/server \S+ user-service-1\.internal:9090 .*weight 2/);
  expect(cfg).toMatch(/server \S+ user-service-2\.internal:9090 .*weight 1/);
  const c = frpc(m);
  expect(c.proxies).toHaveLength(1);
  expect(c.proxies[0]).toMatchObject({ type: 'tcp', remotePort: 9090, localPort: 8000, transport: { proxyProtocolVersion: 'v2' } });
  const pod = named(m, 'Deployment', 'frpc').spec.template.spec;
  expect(pod.volumes).toEqual(expect.arrayContaining([{ name: 'tls', secret: { secretName: 'user-service-cert' } }, { name: 'tls-ca', secret: { secretName: 'internal-ca', items: [{ key: 'tls.crt', path: 'ca.crt' }] } }])); // the CA certificate only, never its key
  expect(byKind(m, 'Issuer')[0].spec).toEqual({ ca: { secretName: 'internal-ca' } });
  const exposed = m.find(x => x.kind === 'Service' && x.metadata.name === 'user-service');
  expect(exposed.spec).toMatchObject({ type: 'LoadBalancer', ports: [{ port: 9090, targetPort: 9090, protocol: 'TCP' }] });
});

test('postgres-proxy: source hashing over DNS discovery, fast tcp checks, PROXY v2', () => {
  const m = synth('postgres-proxy');
  const cfg = haproxyCfg(m);
  expect(cfg).toContain('balance source');
  expect(cfg).toContain('hash-type consistent');
  expect(cfg).toMatch(/server-template srv \d+ postgres-proxy-backends\.databases\.svc\.cluster\.local:5432/);
  expect(cfg).toMatch(/default-server check inter 5s fall 2 rise 1/);
  expect(cfg).toContain('timeout server 5m'); // idleTimeout 300s
  expect(frpc(m).proxies[0]).toMatchObject({ type: 'tcp', remotePort: 5432, transport: { proxyProtocolVersion: 'v2' }, loadBalancer: { group: 'databases-postgres-proxy' } });
  expect(frpc(m).transport.poolCount).toBe(20);
});

test('webapp-frontend: JWT with role rules on paths and methods, round robin over the handed-over workload', () => {
  const m = synth('webapp-frontend');
  const cfg = haproxyCfg(m);
  expect(cfg).toContain('balance roundrobin');
  expect(cfg).toContain("jwt_verify('RS256','/etc/haproxy/auth/public-key.pem')");
  expect(cfg).toMatch(/acl authz_0_path path_beg \/frontend\/admin\//);
  expect(cfg).toMatch(/acl authz_1_method method GET/);
  expect(cfg).toContain('http-request deny deny_status 403 unless { var(txn.authz_allowed) -m bool }');
  const workload = m.find(x => x.kind === 'Deployment' && x.spec.replicas === 3);
  const headless = m.find(x => x.kind === 'Service' && x.spec.clusterIP === 'None');
  expect(headless.spec.selector).toEqual(workload.spec.selector.matchLabels);
  expect(cfg).toContain(`${headless.metadata.name}.web.svc.cluster.local:3000`);
  expect(workload.spec.template.spec.containers).toHaveLength(1); // no sidecar: frpc forwards to the balancer
  expect(byKind(m, 'Ingress')[0].spec.rules[0]).toMatchObject({ host: 'app.example.com', http: { paths: [{ path: '/frontend' }] } });
});

describe('the four manifests together (issue 12 item 8)', () => {
  test('one render: auto, manual and no mTLS share one frps that trusts both CAs; every frpc verifies frps and runs where its certificate is', () => {
    const files = Object.keys(SEEDS).map(n => join(__dirname, '..', 'examples', 'manifests', `${n}.yaml`));
    let out = '';
    let err = '';
    const code = main(['render', ...files], s => { out += s; }, s => { err += s; });
    // four namespaces and no --namespace: the one warning says where frps goes
    expect(withoutRequiredSecrets(err).split('\n').filter(Boolean)).toEqual([expect.stringMatching(/metadata\.namespace: the services are in 4 namespaces .* so it goes to namespace "default"/)]);
    expect(code).toBe(0);
    const docs = parseAllDocuments(out).map(d => d.toJS());
    expect(checkBundle(docs)).toEqual([]);
    expect(checkWiring(docs)).toEqual([]);
    // frps (default) trusts the bundle's CA and the manual team's internal-ca, as one PEM bundle
    expect(frps(docs).transport.tls.trustedCaFile).toBe('/etc/frp/client-ca/ca.crt');
    const server = docs.find(d => d.kind === 'Deployment' && d.metadata.labels['app.kubernetes.io/name'] === 'frps');
    expect(server.spec.template.spec.volumes).toContainEqual({ name: 'client-ca-0', secret: { secretName: 'internal-ca', items: [{ key: 'tls.crt', path: 'ca.crt' }] } });
    // every frpc verifies frps by name, against a CA certificate issued in its own namespace by the ClusterIssuer
    const issuer = docs.find(d => d.kind === 'ClusterIssuer');
    for (const cm of docs.filter(d => d.kind === 'ConfigMap' && d.data?.['frpc.toml'])) {
      const tls = (parse(cm.data['frpc.toml']) as any).transport.tls;
      expect([cm.metadata.namespace, tls.serverName, tls.certFile !== undefined]).toEqual([cm.metadata.namespace, 'frps.default.svc', true]);
      const pod = docs.find(d => ['Deployment', 'DaemonSet'].includes(d.kind) && d.metadata.namespace === cm.metadata.namespace
        && d.spec.template.spec.volumes?.some((v: any) => v.configMap?.name === cm.metadata.name)).spec.template.spec;
      const trust = pod.volumes.find((v: any) => v.name === (tls.trustedCaFile.startsWith('/etc/frp/tls-ca/') ? 'tls-ca' : 'tls')).secret.secretName;
      const cert = docs.find(d => d.kind === 'Certificate' && d.metadata.namespace === cm.metadata.namespace && d.spec.secretName === trust);
      expect(cert.spec.issuerRef).toEqual({ name: issuer.metadata.name, kind: 'ClusterIssuer', group: 'cert-manager.io' });
    }
  });
});
