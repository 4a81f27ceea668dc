/**
 * Issue 9, defect 10 (first part): a NodePort or LoadBalancer Service in front of
 * anything that reads the client address keeps it (externalTrafficPolicy Local);
 * with Kubernetes' default (Cluster) the node replaces it with its own address, so
 * ip-hash and source affinity hash node addresses and address-range NetworkPolicy
 * rules never match. Services where nothing reads it keep Kubernetes' default.
 */
import { Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  DistributedService, DistributedServiceProps, ServiceProtocol, ExposeServiceType, ExposeType, ExternalTrafficPolicy,
  FrpAuth, FrpClientPool, FrpClientWorkload, FrpProxyType, FrpServer, LoadBalancingAlgorithm, NetworkPeer, ProxyProtocolVersion,
} from '../../lib';
import { expectValidBundle } from '../helpers';
import { chartWithToken } from './fixtures';

const exposed = (manifests: any[], name: string) => manifests.find(m => m.kind === 'Service' && m.metadata.name === name);

function synth(props: Omit<DistributedServiceProps, 'auth'>, serverProps: { exposurePeers?: NetworkPeer[] } = {}): any[] {
  const { chart, auth } = chartWithToken();
  const server = serverProps.exposurePeers ? new FrpServer(chart, 'frps', { auth, exposurePeers: serverProps.exposurePeers }) : undefined;
  new DistributedService(chart, 'svc', { ...(server ? { server } : { auth }), ...props } as DistributedServiceProps);
  const manifests = Testing.synth(chart);
  expectValidBundle(manifests);
  return manifests;
}

const tcp = (extra: Partial<DistributedServiceProps> = {}, serviceType = ExposeServiceType.LOAD_BALANCER): Omit<DistributedServiceProps, 'auth'> => ({
  serviceType: ServiceProtocol.TCP,
  backends: { replicas: 2, endpoints: [{ host: '10.0.0.1', port: 5432 }, { host: '10.0.0.2', port: 5432 }] },
  expose: { type: ExposeType.PORT, port: 5432, serviceType },
  ...extra,
});

describe('DistributedService exposure keeps the client address where it is read', () => {
  test.each([
    ['tcp ip-hash (the balancer hashes the PROXY v2 client address)', tcp({ loadBalancing: { algorithm: LoadBalancingAlgorithm.IP_HASH } })],
    ['tcp session affinity (a stick table on the client address)', tcp({ loadBalancing: { sessionAffinity: { enabled: true } } })],
    ['grpc ip-hash on a NodePort', { ...tcp({ loadBalancing: { algorithm: LoadBalancingAlgorithm.IP_HASH } }, ExposeServiceType.NODE_PORT), serviceType: ServiceProtocol.GRPC }],
  ])('%s: externalTrafficPolicy Local', (_name, props) => {
    const manifests = synth(props);
    const svc = exposed(manifests, 'svc');
    expect(['LoadBalancer', 'NodePort']).toContain(svc.spec.type);
    expect(svc.spec.externalTrafficPolicy).toBe('Local');
    // the client address really is read behind it: frpc sends PROXY v2 to the balancer
    const frpc = manifests.find(m => m.kind === 'ConfigMap' && m.data?.['frpc.toml']).data['frpc.toml'];
    expect(frpc).toMatch(/proxyProtocolVersion = "v2"/);
  });

  test('udp over HA frps: kube-proxy ClientIP affinity sees the client only with Local', () => {
    const { chart, auth } = chartWithToken();
    new DistributedService(chart, 'dns', {
      auth,
      serverReplicas: 2,
      serviceType: ServiceProtocol.UDP,
      backends: { replicas: 1, endpoints: [{ host: '10.0.0.1', port: 53 }] },
      expose: { type: ExposeType.PORT, port: 5353, serviceType: ExposeServiceType.LOAD_BALANCER },
    });
    const svc = exposed(Testing.synth(chart), 'dns');
    expect(svc.spec.sessionAffinity).toBe('ClientIP');
    expect(svc.spec.externalTrafficPolicy).toBe('Local');
  });

  test('frps admitting the exposed port by address range (exposurePeers CIDR): Local', () => {
    const manifests = synth(tcp(), { exposurePeers: [NetworkPeer.cidr('203.0.113.0/24')] });
    expect(exposed(manifests, 'svc').spec.externalTrafficPolicy).toBe('Local');
  });

  test.each([
    ['round robin over frp groups (nothing reads the address)', tcp()],
    ['least-conn in the balancer', tcp({ loadBalancing: { algorithm: LoadBalancingAlgorithm.LEAST_CONN } })],
    ['ip-hash behind a ClusterIP Service (not reached from outside)',
      tcp({ loadBalancing: { algorithm: LoadBalancingAlgorithm.IP_HASH } }, ExposeServiceType.CLUSTER_IP)],
  ])('%s: Kubernetes\' default (field left out)', (_name, props) => {
    const svc = exposed(synth(props), 'svc');
    expect(svc.spec.externalTrafficPolicy).toBeUndefined();
  });

  test('the spec may choose (Cluster: even spreading over nodes, node addresses)', () => {
    const port = { type: ExposeType.PORT, port: 5432 };
    const manifests = synth(tcp({
      loadBalancing: { algorithm: LoadBalancingAlgorithm.IP_HASH },
      expose: { ...port, serviceType: ExposeServiceType.LOAD_BALANCER, externalTrafficPolicy: ExternalTrafficPolicy.CLUSTER },
    }));
    expect(exposed(manifests, 'svc').spec.externalTrafficPolicy).toBe('Cluster');
    const local = synth(tcp({ expose: { ...port, serviceType: ExposeServiceType.NODE_PORT, externalTrafficPolicy: ExternalTrafficPolicy.LOCAL } }));
    expect(exposed(local, 'svc').spec.externalTrafficPolicy).toBe('Local');
  });

  test.each([
    ['a ClusterIP exposure', { type: ExposeType.PORT, port: 5432, externalTrafficPolicy: ExternalTrafficPolicy.LOCAL }],
    ['a domain exposure', { type: ExposeType.DOMAIN, domain: 'a.example.com', externalTrafficPolicy: ExternalTrafficPolicy.LOCAL }],
  ])('refuses externalTrafficPolicy on %s', (_name, expose) => {
    const { chart, auth } = chartWithToken();
    const serviceType = expose.type === ExposeType.DOMAIN ? ServiceProtocol.HTTP : ServiceProtocol.TCP;
    expect(() => new DistributedService(chart, 'svc', { ...tcp(), serviceType, auth, expose } as DistributedServiceProps))
      .toThrow('spec.expose.externalTrafficPolicy: applies to a port exposure whose serviceType is NodePort or LoadBalancer');
  });
});

describe('FrpServer outside-facing Services keep the client address where it is read', () => {
  const token = (chart: any) => FrpAuth.token(kplus.Secret.fromSecretName(chart, 'token', 'frp-token'));
  const services = (chart: any) => Testing.synth(chart).filter((m: any) => m.kind === 'Service');

  test('external control Service: the NetworkPolicy admits outside frpc by CIDR, so Local', () => {
    const chart = Testing.chart();
    new FrpServer(chart, 'frps', { auth: token(chart), externalAccess: { addresses: ['frps.example.com'] }, clientPeers: [NetworkPeer.cidr('198.51.100.0/24')] });
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    const policy = manifests.find((m: any) => m.kind === 'NetworkPolicy');
    expect(policy.spec.ingress[0].from).toEqual([{ ipBlock: { cidr: '198.51.100.0/24' } }]);
    expect(manifests.find((m: any) => m.kind === 'Service' && m.spec.type === 'LoadBalancer').spec.externalTrafficPolicy).toBe('Local');
  });

  test('external control Service without a NetworkPolicy, or with an explicit choice', () => {
    const open = Testing.chart();
    new FrpServer(open, 'frps', { auth: token(open), networkPolicy: false, externalAccess: { addresses: ['frps.example.com'] } });
    expect(services(open).find((m: any) => m.spec.type === 'LoadBalancer').spec.externalTrafficPolicy).toBeUndefined();
    const chosen = Testing.chart();
    new FrpServer(chosen, 'frps', {
      auth: token(chosen),
      externalAccess: { addresses: ['frps.example.com'], serviceType: kplus.ServiceType.NODE_PORT, externalTrafficPolicy: ExternalTrafficPolicy.CLUSTER },
      clientPeers: [NetworkPeer.cidr('198.51.100.0/24')],
    });
    expect(services(chosen).find((m: any) => m.spec.type === 'NodePort').spec.externalTrafficPolicy).toBe('Cluster');
  });

  test('remote-ports LoadBalancer: Local once a proxy on it sends a PROXY header; not before', () => {
    const chart = Testing.chart();
    const server = new FrpServer(chart, 'frps', { auth: token(chart), remotePortsServiceType: kplus.ServiceType.LOAD_BALANCER });
    const pool = (id: string, port: number, proxyProtocolVersion?: ProxyProtocolVersion) => new FrpClientPool(chart, id, {
      name: id,
      server,
      workload: FrpClientWorkload.deployment({ replicas: 1 }),
      proxies: [{ name: id, type: FrpProxyType.TCP, localIP: '10.0.0.1', localPort: 5432, remotePort: port, proxyProtocolVersion }],
    });
    pool('plain', 15432);
    expect(services(chart).find((m: any) => m.spec.type === 'LoadBalancer').spec.externalTrafficPolicy).toBeUndefined();
    pool('proxied', 15433, ProxyProtocolVersion.V2);
    const remote = services(chart).find((m: any) => m.spec.type === 'LoadBalancer');
    expect(remote.spec.ports.map((p: any) => p.port)).toEqual([15432, 15433]);
    expect(remote.spec.externalTrafficPolicy).toBe('Local');
  });

  test('remote-ports NodePort with exposurePeers by CIDR: Local; the user may override; ClusterIP refuses the field', () => {
    const mk = (props: any) => {
      const chart = Testing.chart();
      const server = new FrpServer(chart, 'frps', { auth: token(chart), ...props });
      new FrpClientPool(chart, 'pool', {
        server,
        workload: FrpClientWorkload.deployment({ replicas: 1 }),
        proxies: [{ name: 'p', type: FrpProxyType.TCP, localIP: '10.0.0.1', localPort: 5432, remotePort: 15432 }],
      });
      return services(chart).find((m: any) => m.spec.ports.some((p: any) => p.port === 15432));
    };
    expect(mk({ remotePortsServiceType: kplus.ServiceType.NODE_PORT, exposurePeers: [NetworkPeer.cidr('203.0.113.0/24')] }).spec.externalTrafficPolicy).toBe('Local');
    expect(mk({
      remotePortsServiceType: kplus.ServiceType.NODE_PORT, exposurePeers: [NetworkPeer.cidr('203.0.113.0/24')], remotePortsExternalTrafficPolicy: ExternalTrafficPolicy.CLUSTER,
    }).spec.externalTrafficPolicy).toBe('Cluster');
    expect(mk({ exposurePeers: [NetworkPeer.cidr('203.0.113.0/24')] }).spec.externalTrafficPolicy).toBeUndefined(); // ClusterIP: inside traffic keeps its address
    expect(() => mk({ remotePortsExternalTrafficPolicy: ExternalTrafficPolicy.LOCAL }))
      .toThrow('remotePortsExternalTrafficPolicy: applies to NodePort and LoadBalancer Services only');
  });
});
