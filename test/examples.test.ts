import { App } from 'cdk8s';
import { checkBundle, checkNoSecretValues, checkPodSecurity, checkWiring, expectDeterministic, parseFrpTomlValues as parse } from './helpers';
import { EXAMPLES } from './helpers/examples';

const synth = (name: string) => EXAMPLES[name](new App()).toJson();
const toml = (m: any[], key: string): any => parse(m.find(x => x.kind === 'ConfigMap' && x.data?.[key]).data[key]);
const byName = (m: any[], kind: string, name: string) => m.find(x => x.kind === kind && x.metadata.labels?.['app.kubernetes.io/name'] === name);

describe.each(Object.keys(EXAMPLES))('example %s', (name) => {
  const manifests = synth(name);

  test('matches its snapshot, and is one frps with frpc members that reach it', () => {
    expect(manifests).toMatchSnapshot();
    const frpsPods = manifests.filter((m: any) => m.spec?.template?.spec?.containers?.some((c: any) => c.image.startsWith('fatedier/frps:')));
    expect(frpsPods).toHaveLength(1);
    const clients = manifests.filter((m: any) => m.kind === 'ConfigMap' && m.data?.['frpc.toml']).map((m: any) => parse(m.data['frpc.toml']) as any);
    expect(clients.length).toBeGreaterThan(0);
    for (const c of clients) {
      expect(c.proxies.length).toBeGreaterThan(0);
      const svc = manifests.find((m: any) => m.kind === 'Service' && c.serverAddr.startsWith(`${m.metadata.name}.`));
      expect(svc.spec.selector).toEqual(frpsPods[0].spec.selector.matchLabels);
    }
    expect(checkWiring(manifests)).toEqual([]);
  });

  test('passes every strict check (schemas, frp keys, PSS restricted, no secret values)', () => {
    expect(checkBundle(manifests)).toEqual([]);
  });

  test('is wired: Services select pods, volumes and backends exist, frpc reaches frps and its targets', () => {
    expect(checkWiring(manifests)).toEqual([]);
  });

  test('hygiene: every pod restricted with resources and probes, images pinned, no Secret data, secrets only by reference', () => {
    const workloads = manifests.filter(m => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(m.kind));
    expect(workloads.length).toBeGreaterThan(0);
    for (const w of workloads) expect(checkPodSecurity(w)).toEqual([]);
    expect(manifests.filter(m => m.kind === 'Secret')).toEqual([]);
    expect(checkNoSecretValues(manifests)).toEqual([]);
    for (const w of workloads) {
      for (const c of w.spec.template.spec.containers) {
        for (const e of c.env ?? []) expect(e.value === undefined || !/TOKEN|SECRET|PASSWORD|KEY/i.test(e.name)).toBe(true);
      }
    }
  });

  test('renders byte-identical YAML twice', () => {
    expectDeterministic(() => EXAMPLES[name](new App()));
  });
});

test('tcp-tunnel: three frpc members join one group on the port frps exposes', () => {
  const m = synth('tcp-tunnel');
  const frpc = toml(m, 'frpc.toml');
  expect(byName(m, 'Deployment', 'frpc').spec.replicas).toBe(3);
  expect(frpc.user).toBe('{{ .Envs.FRP_USER }}'); // each pod a distinct member: <namespace>.<pod>
  expect(frpc.proxies).toHaveLength(1);
  expect(frpc.proxies[0]).toMatchObject({ type: 'tcp', remotePort: 15678, loadBalancer: { group: 'echo' } });
  const frps = toml(m, 'frps.toml');
  expect(frps.allowPorts).toEqual([{ single: 15678 }]);
  const remote = m.find(x => x.kind === 'Service' && x.spec.ports.some((p: any) => p.port === 15678));
  expect(remote.spec.selector).toEqual(byName(m, 'Deployment', 'frps').spec.selector.matchLabels);
  // frpc dials the frps control Service on the port frps binds
  const control = m.find(x => x.kind === 'Service' && x.spec.ports.some((p: any) => p.name === 'control'));
  expect(frpc.serverAddr).toBe(`${control.metadata.name}.tunnels.svc`);
  expect(control.spec.ports.find((p: any) => p.name === 'control').targetPort).toBe(frps.bindPort);
});

test('mtls-tunnel: CA chain, server and client certificates, both sides verifying', () => {
  const m = synth('mtls-tunnel');
  const certs = m.filter(x => x.kind === 'Certificate');
  expect(certs.filter(c => c.spec.isCA)).toHaveLength(1);
  const server = certs.find(c => c.spec.usages?.includes('server auth'));
  const client = certs.find(c => c.spec.usages?.includes('client auth'));
  const frps = toml(m, 'frps.toml');
  const frpc = toml(m, 'frpc.toml');
  expect(frps.transport.tls.trustedCaFile).toBe('/etc/frp/tls/ca.crt');
  expect(frpc.transport.tls).toMatchObject({ enable: true, certFile: '/etc/frp/tls/tls.crt', keyFile: '/etc/frp/tls/tls.key', trustedCaFile: '/etc/frp/tls/ca.crt' });
  expect(server.spec.dnsNames).toContain(frpc.transport.tls.serverName);
  expect(byName(m, 'Deployment', 'frps').spec.template.spec.volumes).toContainEqual({ name: 'tls', secret: { secretName: server.spec.secretName } });
  expect(byName(m, 'Deployment', 'frpc').spec.template.spec.volumes).toContainEqual({ name: 'tls', secret: { secretName: client.spec.secretName } });
  const np = m.filter(x => x.kind === 'NetworkPolicy');
  expect(np).toHaveLength(2);
  const control = np.find(p => p.metadata.labels['app.kubernetes.io/name'] === 'frps').spec.ingress.find((r: any) => r.ports[0].port === 7000);
  expect(control.from).toContainEqual({ ipBlock: { cidr: '198.51.100.0/24' } });
});

test('user-service: grpc session affinity pins client addresses, so its LoadBalancer keeps them (externalTrafficPolicy Local)', () => {
  const m = synth('user-service');
  const exposed = m.find(x => x.kind === 'Service' && x.metadata.name === 'user-service');
  expect(exposed.spec.type).toBe('LoadBalancer');
  expect(exposed.spec.externalTrafficPolicy).toBe('Local');
  const haproxy = m.find(x => x.kind === 'ConfigMap' && x.data?.['haproxy.cfg']).data['haproxy.cfg'];
  expect(haproxy).toMatch(/^\s+stick on src$/m);
  // two balancer replicas share that table: a StatefulSet with peers at per-pod Services
  expect(m.find(x => x.kind === 'StatefulSet' && x.metadata.name === 'user-service-balancer').spec.replicas).toBe(2);
  expect(haproxy).toMatch(/^\s+stick-table type ipv6 size 100000 expire 5m srvkey addr peers frp$/m);
  expect(m.filter(x => x.kind === 'Service' && /^user-service-balancer-peer-\d$/.test(x.metadata.name))).toHaveLength(2);
});

test('postgres-proxy: ip-hash over discovered pods is the same in every balancer replica (rendezvous on server addresses)', () => {
  const m = synth('postgres-proxy');
  const cm = m.find(x => x.kind === 'ConfigMap' && x.data?.['haproxy.cfg']);
  expect(Object.keys(cm.data).sort()).toEqual(['frp-rendezvous.lua', 'haproxy.cfg']);
  expect(cm.data['haproxy.cfg']).toMatch(/^\s+tcp-request content set-var\(txn.frp_server\) src,lua.frp_rendezvous\(be_postgres-proxy\)$/m);
  expect(m.find(x => x.kind === 'Deployment' && x.metadata.name === 'postgres-proxy-balancer')).toBeDefined();
});
