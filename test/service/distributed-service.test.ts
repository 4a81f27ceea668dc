import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  DiscoveryMode, DistributedService, ServiceProtocol, ExposeServiceType, ExposeType, FrpAuth, FrpServer, LoadBalancingAlgorithm,
} from '../../lib';
import { expectValidBundle } from '../helpers';
import { chartWithToken, synthService, tomlOf } from './fixtures';

describe('DistributedService', () => {
  test('http on a domain and path: frp http members in one group behind an Ingress to the frps vhost port', () => {
    // GIVEN / WHEN
    const { service, manifests } = synthService('llm', {
      serviceType: ServiceProtocol.HTTP,
      backends: { discovery: { mode: DiscoveryMode.SELECTOR, selector: { matchLabels: { app: 'ollama' } }, port: 11434 } },
      expose: { domain: 'llm.example.com', path: '/v1', ingressClassName: 'nginx' },
    });
    // THEN
    expect(manifests).toMatchSnapshot();
    expectValidBundle(manifests);
    const frpc = tomlOf(manifests, 'frpc.toml');
    const backend = manifests.find(m => m.kind === 'Service' && m.spec.selector?.app === 'ollama');
    expect(backend.spec.clusterIP).toBeUndefined(); // kube-proxy spreads; no balancer tier asked for
    expect(frpc.proxies).toEqual([{
      name: 'llm',
      type: 'http',
      localIP: `${backend.metadata.name}.apps.svc`,
      localPort: 11434,
      customDomains: ['llm.example.com'],
      locations: ['/v1'],
      loadBalancer: { group: 'apps-llm', groupKey: '{{ .Envs.FRP_GROUP_KEY }}' },
      // frpc dials the Service address: an http check there would probe whichever pod the
      // Service picks, so frp checks tcp (a ready endpoint is reachable); pods' readiness does the rest
      healthCheck: { type: 'tcp', timeoutSeconds: 3, maxFailed: 3, intervalSeconds: 10 },
    }]);
    const frps = tomlOf(manifests, 'frps.toml');
    expect(frps.vhostHTTPPort).toBe(8080);
    const vhost = manifests.find(m => m.kind === 'Service' && m.spec.ports.some((p: any) => p.name === 'http'));
    expect(vhost.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 8080 }]);
    const ingress = manifests.find(m => m.kind === 'Ingress');
    expect(ingress.metadata.name).toBe('llm');
    expect(ingress.spec.ingressClassName).toBe('nginx');
    expect(ingress.spec.rules).toEqual([{
      host: 'llm.example.com',
      http: { paths: [{ path: '/v1', pathType: 'Prefix', backend: { service: { name: vhost.metadata.name, port: { number: 80 } } } }] },
    }]);
    const frpcDeployment = manifests.find(m => m.kind === 'Deployment' && m.metadata.labels['app.kubernetes.io/name'] === 'frpc');
    expect(frpcDeployment.spec.replicas).toBe(2);
    expect(frpcDeployment.metadata.labels['frp.io/distributed-service']).toBe('llm');
    expect(service.clientPool.serverAddress).toBe(service.server.host);
  });

  test('tcp on a port: weighted endpoints become replicated members; the exposed Service maps the port to frps', () => {
    const { manifests } = synthService('pg', {
      serviceType: ServiceProtocol.TCP,
      backends: { replicas: 3, endpoints: [{ host: 'pg-1.internal', port: 5432, weight: 2 }, { host: 'pg-2.internal', port: 5432 }] },
      expose: { type: ExposeType.PORT, port: 5432, serviceType: ExposeServiceType.LOAD_BALANCER },
      loadBalancing: { algorithm: LoadBalancingAlgorithm.WEIGHTED },
      advanced: { connectionPool: { size: 20 }, bandwidth: { limit: '1GB', mode: 'server' as any }, timeout: { dial: '5s', keepAlive: '300s' } },
    });
    expectValidBundle(manifests);
    const frpc = tomlOf(manifests, 'frpc.toml');
    expect(frpc.proxies.map((p: any) => [p.name, p.localIP, p.remotePort, p.loadBalancer.group])).toEqual([
      ['pg-0-0', 'pg-1.internal', 5432, 'apps-pg'], ['pg-0-1', 'pg-1.internal', 5432, 'apps-pg'], ['pg-1', 'pg-2.internal', 5432, 'apps-pg'],
    ]);
    expect(frpc.proxies[0].transport).toEqual({ bandwidthLimit: '1024MB', bandwidthLimitMode: 'server' });
    expect(frpc.transport).toMatchObject({ poolCount: 20, dialServerTimeout: 5, dialServerKeepalive: 300 });
    const frps = tomlOf(manifests, 'frps.toml');
    expect(frps.allowPorts).toEqual([{ single: 5432 }]);
    expect(frps.transport.maxPoolCount).toBe(20);
    const exposed = manifests.find(m => m.kind === 'Service' && m.metadata.name === 'pg');
    expect(exposed.spec.type).toBe('LoadBalancer');
    expect(exposed.spec.ports).toEqual([{ name: 'tcp', port: 5432, targetPort: 5432, protocol: 'TCP' }]);
    const frpsDeployment = manifests.find(m => m.kind === 'Deployment' && m.metadata.labels['app.kubernetes.io/name'] === 'frps');
    expect(exposed.spec.selector).toEqual(frpsDeployment.spec.selector.matchLabels);
    expect(manifests.find(m => m.kind === 'Deployment' && m.metadata.labels['app.kubernetes.io/name'] === 'frpc').spec.replicas).toBe(3);
    // the shared remote-ports Service of frps is not used: the port has its own Service
    expect(manifests.filter(m => m.kind === 'Service' && m.spec.ports.some((p: any) => p.name === 'tcp-5432'))).toHaveLength(0);
  });

  test('discovery auto with a workload: frpc becomes its sidecar, one member per backend pod', () => {
    const { chart, auth } = chartWithToken();
    const web = new kplus.Deployment(chart, 'web', { replicas: 5, containers: [{ image: 'nginxinc/nginx-unprivileged:1.27', portNumber: 8080 }] });
    new DistributedService(chart, 'web-svc', {
      auth,
      serviceType: ServiceProtocol.HTTP,
      backends: { discovery: { mode: DiscoveryMode.AUTO, workload: web } },
      expose: { type: ExposeType.PATH, domain: 'app.example.com', path: '/frontend' },
    });
    const manifests = Testing.synth(chart);
    const pod = manifests.find(m => m.kind === 'Deployment' && m.spec.replicas === 5).spec.template.spec;
    expect(pod.containers.map((c: any) => c.name)).toEqual(['main', 'frpc']);
    expect(tomlOf(manifests, 'frpc.toml').proxies[0]).toMatchObject({ name: 'web-svc', localPort: 8080, locations: ['/frontend'], loadBalancer: { group: 'apps-web-svc' } });
    expect(manifests.filter(m => m.kind === 'Deployment')).toHaveLength(2); // frps and the workload
  });

  test('several services on one shared FrpServer: ports and routes add up, clashes fail', () => {
    const { chart, auth } = chartWithToken();
    const server = new FrpServer(chart, 'frps', { auth });
    const tcp = (id: string, port: number) => new DistributedService(chart, id, {
      server, serviceType: ServiceProtocol.TCP, backends: { endpoints: [{ host: `${id}.internal`, port: 5432 }] }, expose: { type: ExposeType.PORT, port },
    });
    tcp('a', 15432);
    tcp('b', 15433);
    new DistributedService(chart, 'c', { server, serviceType: ServiceProtocol.HTTP, backends: { endpoints: [{ host: 'c', port: 80 }] }, expose: { domain: 'c.example.com' } });
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    expect(tomlOf(manifests, 'frps.toml').allowPorts).toEqual([{ start: 15432, end: 15433 }]);
    expect(manifests.filter(m => m.kind === 'Deployment' && m.metadata.labels['app.kubernetes.io/name'] === 'frps')).toHaveLength(1);
    // the same exposed port again works (each exposure has its own Service): frps listens on another port
    const d = tcp('d', 15433);
    expect(d.exposedService!.ports[0]).toMatchObject({ port: 15433, targetPort: 25433 });
    expect(tomlOf(Testing.synth(chart), 'frps.toml').allowPorts).toEqual([{ start: 15432, end: 15433 }, { single: 25433 }]);
    // a route clash is reported at both services' spec fields
    expect(() => new DistributedService(chart, 'e', { server, serviceType: ServiceProtocol.HTTP, backends: { endpoints: [{ host: 'e', port: 80 }] }, expose: { domain: 'c.example.com' } }))
      .toThrow('test/e: spec.expose.domain: the route http://c.example.com/ is already served by test/c at its spec.expose.domain; only one service can serve a host and path (give one another domain or path)');
  });

  test('fromManifest takes a seed-format object', () => {
    const { chart, auth } = chartWithToken('microservices');
    const service = DistributedService.fromManifest(chart, 'user-service', {
      apiVersion: 'frp.io/v1beta1',
      kind: 'DistributedService',
      metadata: { name: 'user-service', namespace: 'microservices' },
      spec: { serviceType: 'grpc', backends: { endpoints: [{ host: 'u1', port: 9090 }] }, expose: { type: 'port', port: 9090 } },
      status: { state: 'Running' },
    }, { auth });
    expect(service.name).toBe('user-service');
    expectValidBundle(Testing.synth(chart));
  });

  describe('fails', () => {
    test.each<[string, (c: Chart, auth: FrpAuth) => void, string]>([
      ['without auth or a server', c => new DistributedService(c, 's', { serviceType: ServiceProtocol.TCP, backends: { endpoints: [{ host: 'a', port: 1 }] }, expose: { type: ExposeType.PORT, port: 2000 } }),
        'test/s: auth: is required when the service creates its own FrpServer (FrpAuth.token(secret)); or pass a shared server'],
      ['on a subdomain without subDomainHost', (c, auth) => new DistributedService(c, 's', { auth, serviceType: ServiceProtocol.HTTP, backends: { endpoints: [{ host: 'a', port: 1 }] }, expose: { type: ExposeType.SUBDOMAIN, subdomain: 'x' } }),
        'test/s: spec.expose.subdomain: needs a server with subDomainHost (set subDomainHost on the service; cdk8s-frp render --subdomain-host)'],
      ['on its own exposed Service as dns backends', (c, auth) => new DistributedService(c, 's', {
        auth,
        serviceType: ServiceProtocol.TCP,
        expose: { type: ExposeType.PORT, port: 5432 },
        backends: { discovery: { mode: DiscoveryMode.DNS, port: 5432, serviceName: 's' } },
      }), 'test/s: spec.backends.discovery.serviceName: s is this service\'s own exposed Service (it points at frps): name the backends\' Service'],
      ['on matchExpressions (Services select by labels)', (c, auth) => new DistributedService(c, 's', {
        auth,
        serviceType: ServiceProtocol.HTTP,
        expose: { domain: 'x.example.com' },
        backends: { discovery: { mode: DiscoveryMode.SELECTOR, port: 1, selector: { matchExpressions: [{ key: 'a', operator: 'Exists' }] } } },
      }), 'test/s: spec.backends.discovery.selector.matchExpressions: Kubernetes Services select pods by matchLabels only'],
      ['on a manifest of another kind', c => DistributedService.fromManifest(c, 's', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }),
        'test/s: apiVersion/kind: must be frp.io/v1beta1 DistributedService, got "v1" "Service"'],
      ['on a manifest in another namespace', c => DistributedService.fromManifest(c, 's', { apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', metadata: { name: 's', namespace: 'other' }, spec: {} }),
        'test/s: metadata.namespace: is "other" but the chart\'s namespace is "apps"'],
      ['on a manifest whose spec smuggles props', (c, auth) => DistributedService.fromManifest(c, 's', {
        apiVersion: 'frp.io/v1beta1',
        kind: 'DistributedService',
        metadata: { name: 's' },
        spec: { serviceType: 'tcp', backends: { endpoints: [{ host: 'a', port: 1 }] }, expose: { type: 'port', port: 2000 }, server: 'x' },
      }, { auth }), 'test/s: spec.server: is not a known field (known: serviceType, backends, expose, loadBalancing, security, advanced)'],
    ])('%s', (_name, build, message) => {
      const { chart, auth } = chartWithToken();
      expect(() => build(chart, auth)).toThrow(message);
    });
  });

  test('every group gets a group key by default, from a Secret in the service namespace, read byte-safe (issue 9, defect 9)', () => {
    // GIVEN / WHEN: no groupKeySecret given
    const { manifests } = synthService('pg', {
      serviceType: ServiceProtocol.TCP,
      backends: { endpoints: [{ host: '10.0.0.1', port: 5432 }, { host: '10.0.0.2', port: 5432 }] },
      expose: { type: ExposeType.PORT, port: 5432 },
    });
    // THEN
    expectValidBundle(manifests);
    const frpc = tomlOf(manifests, 'frpc.toml');
    for (const p of frpc.proxies) expect(p.loadBalancer).toEqual({ group: 'apps-pg', groupKey: '{{ .Envs.FRP_GROUP_KEY }}' });
    const text = manifests.find(m => m.kind === 'ConfigMap' && m.data?.['frpc.toml']).data['frpc.toml'];
    expect(text).toContain('groupKey = "{{ printf `%x` .Envs.FRP_GROUP_KEY }}"');
    const deployment = manifests.find(m => m.kind === 'Deployment' && m.metadata.labels['app.kubernetes.io/name'] === 'frpc');
    expect(deployment.metadata.namespace).toBe('apps');
    expect(deployment.spec.template.spec.containers[0].env).toContainEqual(
      { name: 'FRP_GROUP_KEY', valueFrom: { secretKeyRef: { name: 'pg-group-key', key: 'group-key' } } });
    // the key is referenced, never in the bundle
    expect(manifests.filter(m => m.kind === 'Secret')).toEqual([]);
  });

  test('udp: one frpc, never two that could not both open the remote port, and the members alert expects one (issue 9, defect 4)', () => {
    // GIVEN: the seed's default replicas (2), a workload handed over
    const { chart, auth } = chartWithToken();
    const dns = new kplus.Deployment(chart, 'dns', { containers: [{ image: 'coredns/coredns:1.11.1', portNumber: 5353 }] });
    new DistributedService(chart, 'dns-svc', {
      auth,
      serviceType: ServiceProtocol.UDP,
      backends: { discovery: { mode: DiscoveryMode.AUTO, workload: dns } },
      expose: { type: ExposeType.PORT, port: 5353 },
      monitoring: {},
    });
    const manifests = Testing.synth(chart);
    // the bundle's own objects (the user's workload is theirs)
    expectValidBundle(manifests.filter(m => !(m.kind === 'Deployment' && m.metadata.name.startsWith('test-dns-'))));
    // THEN: one frpc Deployment (not a sidecar in each backend pod), forwarding to a udp Service
    const frpc = manifests.filter(m => m.kind === 'Deployment' && m.metadata.labels?.['app.kubernetes.io/name'] === 'frpc');
    expect(frpc).toHaveLength(1);
    expect(frpc[0].spec.replicas).toBe(1);
    const backend = manifests.find(m => m.kind === 'Deployment' && m.spec.template.spec.containers[0].image.startsWith('coredns'));
    expect(backend.spec.template.spec.containers.map((c: any) => c.name)).not.toContain('frpc');
    const svc = manifests.find(m => m.kind === 'Service' && m.spec.ports.some((p: any) => p.name === 'backend'));
    expect(svc.spec.ports[0]).toMatchObject({ port: 5353, protocol: 'UDP' });
    expect(tomlOf(manifests, 'frpc.toml').proxies[0]).toMatchObject({ type: 'udp', remotePort: 5353, localIP: `${svc.metadata.name}.apps.svc` });
    const rule = manifests.find(m => m.kind === 'PrometheusRule').spec.groups.flatMap((g: any) => g.rules).find((r: any) => r.alert === 'FrpProxyMembersBelowExpected');
    expect(rule.expr).toMatch(/ < 1$/);
    // more than one frpc for udp is refused
    const { chart: c2, auth: a2 } = chartWithToken();
    expect(() => new DistributedService(c2, 'dns-svc', {
      auth: a2,
      serviceType: ServiceProtocol.UDP,
      backends: { replicas: 2, endpoints: [{ host: '10.0.0.1', port: 53 }] },
      expose: { type: ExposeType.PORT, port: 5353 },
    })).toThrow('spec.backends.replicas: frp has no udp load-balancing groups');
  });

  test('http answers may take as long as the spec says: frps vhostHTTPTimeout and the Ingress timeouts; https for backends behind a TLS Ingress (issue 9, defects 5 and 6)', () => {
    // GIVEN: slow answers (5 minutes) behind an Ingress that terminates TLS
    const { manifests } = synthService('llm', {
      serviceType: ServiceProtocol.HTTP,
      backends: { endpoints: [{ host: '10.0.0.1', port: 11434 }] },
      expose: { domain: 'llm.example.com', ingressTlsSecret: 'llm-tls' },
      advanced: { connectionPool: { idleTimeout: '5m' } },
    });
    expectValidBundle(manifests);
    // THEN
    expect(tomlOf(manifests, 'frps.toml').vhostHTTPTimeout).toBe(300);
    const ingress = manifests.find(m => m.kind === 'Ingress');
    expect(ingress.metadata.annotations).toEqual({
      'nginx.ingress.kubernetes.io/proxy-read-timeout': '300',
      'nginx.ingress.kubernetes.io/proxy-send-timeout': '300',
    });
    expect(tomlOf(manifests, 'frpc.toml').proxies[0].requestHeaders).toEqual({ set: { 'X-Forwarded-Proto': 'https' } });
    // the seed's defaults (idleTimeout 90s, keepAlive 30s): 90 s, and no header without TLS at the Ingress
    const { manifests: plain } = synthService('web', {
      serviceType: ServiceProtocol.HTTP,
      backends: { endpoints: [{ host: '10.0.0.1', port: 80 }] },
      expose: { domain: 'web.example.com' },
    });
    expect(tomlOf(plain, 'frps.toml').vhostHTTPTimeout).toBe(90);
    expect(tomlOf(plain, 'frpc.toml').proxies[0].requestHeaders).toBeUndefined();
  });
});
