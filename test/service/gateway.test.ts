import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Testing } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import {
  DistributedService, ServiceProtocol, ExposeServiceType, ExposeType,
} from '../../lib';
import { main } from '../../lib/cli/render';
import { checkWiring, expectValidBundle, withoutRequiredSecrets } from '../helpers';
import { chartWithToken, synthService } from './fixtures';

const GATEWAY = { name: 'public', namespace: 'gateways' };
const route = (manifests: any[], kind: string) => manifests.filter(m => m.kind === kind && m.apiVersion === 'gateway.networking.k8s.io/v1');

describe('expose.gateway: Gateway API routes instead of an Ingress or an exposed Service type', () => {
  test('http on a domain and path: an HTTPRoute on the Gateway to the frps vhost Service, no Ingress', () => {
    const { service, manifests } = synthService('llm', {
      serviceType: ServiceProtocol.HTTP,
      backends: { endpoints: [{ host: 'ollama.internal', port: 11434 }] },
      expose: { domain: 'llm.example.com', path: '/v1', gateway: { ...GATEWAY, sectionName: 'https' } },
    });
    expectValidBundle(manifests); // HTTPRoute checked against the vendored Gateway API CRD
    expect(checkWiring(manifests)).toEqual([]);
    expect(manifests.filter(m => m.kind === 'Ingress')).toEqual([]);
    const vhost = manifests.find(m => m.kind === 'Service' && m.spec.ports.some((p: any) => p.name === 'http'));
    const routes = route(manifests, 'HTTPRoute');
    expect(routes).toHaveLength(1);
    expect(routes[0].metadata).toMatchObject({ name: 'llm', namespace: 'apps', labels: { 'frp.io/distributed-service': 'llm' } });
    expect(routes[0].spec).toEqual({
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'gateways', sectionName: 'https' }],
      hostnames: ['llm.example.com'],
      rules: [{
        matches: [{ path: { type: 'PathPrefix', value: '/v1' } }],
        backendRefs: [{ name: vhost.metadata.name, port: 80 }],
      }],
    });
    expect(service.route?.kind).toBe('HTTPRoute');
    expect(service.ingress).toBeUndefined();
  });

  test('a subdomain without a path: hostname <subdomain>.<subDomainHost>, prefix /, the Gateway in the route\'s namespace', () => {
    const { chart, auth } = chartWithToken();
    new DistributedService(chart, 'web', {
      auth,
      subDomainHost: 'apps.example.com',
      serviceType: ServiceProtocol.HTTP,
      backends: { endpoints: [{ host: 'web.internal', port: 80 }] },
      expose: { type: ExposeType.SUBDOMAIN, subdomain: 'web', gateway: { name: 'internal' } },
    });
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    const [r] = route(manifests, 'HTTPRoute');
    expect(r.spec.parentRefs).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'internal' }]);
    expect(r.spec.hostnames).toEqual(['web.apps.example.com']);
    expect(r.spec.rules[0].matches).toEqual([{ path: { type: 'PathPrefix', value: '/' } }]);
  });

  test.each<[ServiceProtocol, string, string]>([
    [ServiceProtocol.TCP, 'TCPRoute', 'TCP'],
    [ServiceProtocol.GRPC, 'TCPRoute', 'TCP'],
    [ServiceProtocol.UDP, 'UDPRoute', 'UDP'],
  ])('%s on a port: a %s to a ClusterIP Service on the frps remote port', (serviceType, kind, protocol) => {
    const { service, manifests } = synthService('db', {
      serviceType,
      backends: { endpoints: [{ host: 'db.internal', port: 5432 }] },
      expose: { type: ExposeType.PORT, port: 5432, gateway: { ...GATEWAY, sectionName: 'db' } },
    });
    expectValidBundle(manifests);
    expect(checkWiring(manifests)).toEqual([]);
    const exposed = manifests.find(m => m.kind === 'Service' && m.metadata.name === 'db');
    expect(exposed.spec.type).toBe('ClusterIP');
    expect(exposed.spec.ports).toEqual([{ name: protocol.toLowerCase(), port: 5432, targetPort: 5432, protocol }]);
    const routes = route(manifests, kind);
    expect(routes).toHaveLength(1);
    expect(routes[0].metadata.name).toBe('db');
    expect(routes[0].spec).toEqual({
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'public', namespace: 'gateways', sectionName: 'db' }],
      rules: [{ backendRefs: [{ name: 'db', port: 5432 }] }],
    });
    expect(service.route?.kind).toBe(kind);
    expect(manifests.filter(m => m.apiVersion?.startsWith('gateway.networking.k8s.io/') && m.kind !== kind)).toEqual([]);
  });

  test('the checks see a broken route: a missing backend port, a field the Gateway API CRD does not have', () => {
    const { manifests } = synthService('db', {
      serviceType: ServiceProtocol.UDP,
      backends: { endpoints: [{ host: 'db.internal', port: 5432 }] },
      expose: { type: ExposeType.PORT, port: 5432, gateway: GATEWAY },
    });
    const [r] = route(manifests, 'UDPRoute');
    r.spec.rules[0].backendRefs[0].port = 5433;
    expect(checkWiring(manifests)).toEqual(['UDPRoute/apps/db: Service db has no UDP port 5433']);
    r.spec.rules[0].backendRefs[0].port = 5432;
    r.spec.hostnames = ['db.example.com']; // UDPRoute has no hostnames
    expect(() => expectValidBundle(manifests)).toThrow(/hostnames/);
  });

  test.each<[string, any, RegExp]>([
    ['an IngressClass', { domain: 'a.example.com', ingressClassName: 'nginx', gateway: GATEWAY }, /spec\.expose\.ingressClassName: is for an Ingress; with expose\.gateway/],
    ['an Ingress TLS Secret', { domain: 'a.example.com', ingressTlsSecret: 'tls', gateway: GATEWAY }, /spec\.expose\.ingressTlsSecret: is for an Ingress/],
    ['a LoadBalancer Service', { type: ExposeType.PORT, port: 9000, serviceType: ExposeServiceType.LOAD_BALANCER, gateway: GATEWAY }, /spec\.expose\.serviceType: is LoadBalancer, but with expose\.gateway the Gateway is the entry point/],
    ['a bad Gateway name', { domain: 'a.example.com', gateway: { name: 'Public_GW' } }, /spec\.expose\.gateway\.name: must be a Gateway's name \(a DNS subdomain\), got "Public_GW"/],
    ['a bad listener name', { domain: 'a.example.com', gateway: { name: 'gw', sectionName: 'HTTPS' } }, /spec\.expose\.gateway\.sectionName: must be a listener name/],
    ['a Gateway without a name', { domain: 'a.example.com', gateway: {} }, /spec\.expose\.gateway\.name/],
  ])('refuses %s together with expose.gateway', (_name, expose, message) => {
    const serviceType = expose.type === ExposeType.PORT ? ServiceProtocol.TCP : ServiceProtocol.HTTP;
    expect(() => synthService('svc', { serviceType, backends: { endpoints: [{ host: 'h', port: 1 }] }, expose })).toThrow(message);
  });

  test('the CLI renders expose.gateway from a manifest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cdk8s-frp-gateway-'));
    const file = join(dir, 'svc.yaml');
    writeFileSync(file, `apiVersion: frp.io/v1beta1
kind: DistributedService
metadata: {name: dns, namespace: edge}
spec:
  serviceType: udp
  backends: {endpoints: [{host: 10.0.0.53, port: 53}]}
  expose: {type: port, port: 53, gateway: {name: public, namespace: gateways, sectionName: dns}}
`);
    let out = '';
    let err = '';
    expect(main(['render', file], s => { out += s; }, s => { err += s; })).toBe(0);
    expect(withoutRequiredSecrets(err)).toBe('');
    const docs = parseAllDocuments(out).map(d => d.toJS());
    expectValidBundle(docs);
    expect(checkWiring(docs)).toEqual([]);
    const [r] = route(docs, 'UDPRoute');
    // port 53 is below 1024: frps listens on 10053, the Service maps 53 to it
    expect(r.spec.rules).toEqual([{ backendRefs: [{ name: 'dns', port: 53 }] }]);
    expect(docs.find(d => d.kind === 'Service' && d.metadata.name === 'dns').spec.ports).toEqual([{ name: 'udp', port: 53, targetPort: 10053, protocol: 'UDP' }]);
  });
});
