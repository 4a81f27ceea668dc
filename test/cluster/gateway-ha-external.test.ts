import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { describeBundleOnCluster } from './bundles';
import { startCluster } from './cluster';
import {
  CertificateAuthority, DistributedService, ServiceProtocol, ExposeType, FrpAuth, FrpExternalClient, FrpServer, NetworkPeer,
} from '../../lib';

jest.setTimeout(300_000);
beforeAll(() => startCluster());

/** The user's Gateway the routes attach to (gateway.networking.k8s.io/v1, CRDs from crds/). */
const gateway = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name: 'public', namespace: 'gw-edge' },
  spec: {
    gatewayClassName: 'istio',
    listeners: [
      { name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: { namespaces: { from: 'All' } } },
      { name: 'pg', protocol: 'TCP', port: 5432, allowedRoutes: { namespaces: { from: 'All' } } },
      { name: 'dns', protocol: 'UDP', port: 53, allowedRoutes: { namespaces: { from: 'All' } } },
    ],
  },
};

// expose.gateway: HTTPRoute, TCPRoute and UDPRoute next to frps, attached to the Gateway
describeBundleOnCluster('Gateway API routes', () => {
  const chart = new Chart(Testing.app(), 'gw', { namespace: 'gw-apps' });
  const server = new FrpServer(chart, 'frps', { auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 'token', 'frp-token')) });
  const ref = { name: 'public', namespace: 'gw-edge' };
  new DistributedService(chart, 'llm', {
    server,
    serviceType: ServiceProtocol.HTTP,
    backends: { endpoints: [{ host: 'ollama.internal', port: 11434 }] },
    expose: { domain: 'llm.example.com', path: '/v1', gateway: { ...ref, sectionName: 'http' } },
  });
  new DistributedService(chart, 'pg', {
    server,
    serviceType: ServiceProtocol.TCP,
    backends: { endpoints: [{ host: 'pg.internal', port: 5432 }] },
    expose: { type: ExposeType.PORT, port: 5432, gateway: { ...ref, sectionName: 'pg' } },
  });
  new DistributedService(chart, 'dns', {
    server,
    serviceType: ServiceProtocol.UDP,
    backends: { endpoints: [{ host: 'dns.internal', port: 53 }] },
    expose: { type: ExposeType.PORT, port: 53, gateway: { ...ref, sectionName: 'dns' } },
  });
  const docs = Testing.synth(chart);
  for (const kind of ['HTTPRoute', 'TCPRoute', 'UDPRoute']) {
    if (!docs.some(d => d.kind === kind)) throw new Error(`no ${kind} rendered`);
  }
  return [gateway, ...docs];
});

// HA frps: three replicas, per-replica Services, a PDB, three frpc containers per pod
describeBundleOnCluster('HA frps (3 replicas)', () => {
  const chart = new Chart(Testing.app(), 'ha', { namespace: 'ha-frp' });
  const server = new FrpServer(chart, 'frps', {
    auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 'token', 'frp-token')),
    certificateAuthority: new CertificateAuthority(chart, 'ca'),
    replicas: 3,
  });
  new DistributedService(chart, 'web', {
    server,
    serviceType: ServiceProtocol.HTTP,
    backends: { endpoints: [{ host: 'web.internal', port: 8080 }] },
    expose: { domain: 'web.example.com' },
  });
  const docs = Testing.synth(chart);
  if (!docs.some(d => d.kind === 'PodDisruptionBudget')) throw new Error('no PodDisruptionBudget rendered');
  return docs;
});

// frps for machines outside the cluster, and one machine's client Certificate
describeBundleOnCluster('external access and a machine certificate', () => {
  const chart = new Chart(Testing.app(), 'ext', { namespace: 'ext-frp' });
  const server = new FrpServer(chart, 'frps', {
    auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 'token', 'frp-token')),
    certificateAuthority: new CertificateAuthority(chart, 'ca'),
    externalAccess: { addresses: ['frps.example.com', '203.0.113.7'], serviceType: kplus.ServiceType.NODE_PORT, nodePort: 30700 },
    clientPeers: [NetworkPeer.cidr('203.0.113.0/24')],
  });
  const svc = new DistributedService(chart, 'llm', {
    server,
    serviceType: ServiceProtocol.HTTP,
    backends: { endpoints: [{ host: 'ollama.internal', port: 11434 }] },
    expose: { domain: 'llm.example.com' },
  });
  new FrpExternalClient(chart, 'gpu-1', { server, machine: 'gpu-1' }).addService(svc);
  return Testing.synth(chart);
});
