import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { FrpAuth, FrpClientPool, FrpClientWorkload, FrpProxyType, FrpServer, NetworkPeer } from '../../lib';
import { expectValidBundle } from '../helpers';

const setup = (serverProps: any = {}) => {
  const chart = new Chart(Testing.app(), 'np', { namespace: 'tunnels' });
  const server = new FrpServer(chart, 'frps', { auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 's', 'frp-token')), ...serverProps });
  return { chart, server };
};
const policies = (m: any[]) => m.filter(x => x.kind === 'NetworkPolicy');
const policyOf = (m: any[], name: string) => policies(m).find(p => p.metadata.labels['app.kubernetes.io/name'] === name);
const ruleFor = (policy: any, port: number) => policy.spec.ingress.find((r: any) => r.ports.some((p: any) => p.port === port));

describe('NetworkPolicies', () => {
  test('frps: control port only from attached pools, metrics from monitoring, exposed ports open; frpc: egress to frps, DNS and backends only', () => {
    const { chart, server } = setup();
    const pool = new FrpClientPool(chart, 'frpc', { server, proxies: [{ name: 'pg', type: FrpProxyType.TCP, localIP: 'pg.db.svc', localPort: 5432, remotePort: 15432, group: 'pg' }] });
    const m = Testing.synth(chart);
    expectValidBundle(m);
    const frps = policyOf(m, 'frps');
    expect(frps.spec.podSelector.matchLabels).toEqual(server.podLabels);
    const poolPods = m.find(x => x.kind === 'Deployment' && x.metadata.labels['app.kubernetes.io/name'] === 'frpc').spec.template.metadata.labels;
    const control = ruleFor(frps, 7000);
    expect(control.from).toHaveLength(1);
    for (const [k, v] of Object.entries(control.from[0].podSelector.matchLabels)) expect(poolPods[k]).toBe(v);
    expect(control.from[0].namespaceSelector.matchLabels).toEqual({ 'kubernetes.io/metadata.name': 'tunnels' });
    expect(ruleFor(frps, 7500).from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
    expect(ruleFor(frps, 15432).from).toBeUndefined(); // any address: it is what the tunnel exposes

    const frpc = policyOf(m, 'frpc');
    expect(frpc.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(frpc.spec.ingress).toBeUndefined(); // no ingress at all
    expect(frpc.spec.podSelector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'frpc', 'app.kubernetes.io/instance': pool.name } });
    expect(frpc.spec.egress.map((r: any) => r.ports.map((p: any) => `${p.protocol}/${p.port}`))).toEqual([['TCP/7000'], ['UDP/53', 'TCP/53'], ['TCP/5432']]);
    expect(frpc.spec.egress[0].to[0].podSelector.matchLabels).toEqual(server.podLabels);
  });

  test('without any attached client the control port has no rule (closed)', () => {
    const { chart } = setup();
    const frps = policyOf(Testing.synth(chart), 'frps');
    expect(ruleFor(frps, 7000)).toBeUndefined();
  });

  test('peers the user names: outside clients by CIDR, the ingress controller, another monitoring namespace', () => {
    const { chart, server } = setup({
      clientPeers: [NetworkPeer.cidr('203.0.113.0/24')],
      exposurePeers: [NetworkPeer.namespace('ingress-nginx')],
      monitoringPeers: [NetworkPeer.namespaceLabels({ team: 'observability' })],
    });
    server.registerProxy(chart, { name: 'w', type: FrpProxyType.HTTP, localPort: 80, customDomains: ['w.example.com'] });
    const frps = policyOf(Testing.synth(chart), 'frps');
    expect(ruleFor(frps, 7000).from).toEqual([{ ipBlock: { cidr: '203.0.113.0/24' } }]);
    expect(ruleFor(frps, 8080).from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }]);
    expect(ruleFor(frps, 7500).from).toEqual([{ namespaceSelector: { matchLabels: { team: 'observability' } } }]);
  });

  test('opt-out per construct, and none for sidecars (their pods belong to the backend)', () => {
    const { chart, server } = setup({ networkPolicy: false });
    const backend = new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx:1.27', portNumber: 80 }] });
    new FrpClientPool(chart, 'side', { server, workload: FrpClientWorkload.sidecar(backend) });
    new FrpClientPool(chart, 'own', { name: 'own', server, networkPolicy: false });
    expect(policies(Testing.synth(chart))).toHaveLength(0);
  });

  test('fails on a malformed CIDR', () => {
    expect(() => NetworkPeer.cidr('10.0.0.0')).toThrow('NetworkPeer.cidr: cidr must look like 10.0.0.0/8 or fd00::/8, got "10.0.0.0"');
  });
});
