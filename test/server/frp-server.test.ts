import { ApiObject, Chart, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { CertificateAuthority, ExternalTrafficPolicy, FrpAuth, FrpLogLevel, FrpProxyType, FrpServer, FrpServerProps, NetworkPeer } from '../../lib';
import { expectValidBundle, parseFrpTomlValues as parse } from '../helpers';

const tokenSecret = (chart: Chart) => kplus.Secret.fromSecretName(chart, 'token', 'frp-token');
const byKind = (manifests: any[], kind: string) => manifests.filter(m => m.kind === kind);
const frpsToml = (manifests: any[]): any => parse(byKind(manifests, 'ConfigMap')[0].data['frps.toml']);

const deployment0 = (m: any[]) => m.find(o => o.kind === 'Deployment');

describe('FrpServer', () => {
  test('minimal props: a locked-down frps with token auth, probes and metrics', () => {
    // GIVEN
    const chart = Testing.chart();
    // WHEN
    new FrpServer(chart, 'frps', { auth: FrpAuth.token(tokenSecret(chart)) });
    const manifests = Testing.synth(chart);
    // THEN
    expect(manifests).toMatchSnapshot();
    expectValidBundle(manifests);
    const config = frpsToml(manifests);
    expect(config.bindPort).toBe(7000);
    expect(config.auth.tokenSource).toEqual({ type: 'file', file: { path: '/etc/frp/auth/token' } });
    expect(config.webServer).toEqual({ addr: '0.0.0.0', port: 7500 });
    expect(config.enablePrometheus).toBe(true);
    // no proxy attached: no port is allowed except a placeholder frp cannot misuse
    expect(config.allowPorts).toEqual([{ single: 1 }]);

    const [deployment] = byKind(manifests, 'Deployment');
    const container = deployment.spec.template.spec.containers[0];
    expect(container.image).toBe('fatedier/frps:v0.70.1');
    expect(container.args).toEqual(['-c', '/etc/frp/frps.toml']);
    // the token is a mounted file, read by frp (tokenSource): the only variables are Go's GC settings
    expect(container.env).toEqual([{ name: 'GOGC', value: '400' }, { name: 'GOMEMLIMIT', value: '230MiB' }]);
    expect(container.volumeMounts).toContainEqual({ name: 'frp-token', mountPath: '/etc/frp/auth', readOnly: true });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 7500, scheme: 'HTTP' });
    expect(deployment.spec.template.spec.affinity).toBeUndefined(); // one replica: nothing to keep apart
    expect(deployment.spec.template.metadata.annotations['checksum/config']).toMatch(/^[0-9a-f]{64}$/);

    const [service] = byKind(manifests, 'Service');
    expect(service.spec.ports).toEqual([
      { name: 'control', port: 7000, targetPort: 7000 },
      { name: 'metrics', port: 7500, targetPort: 7500 },
    ]);
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
  });

  test('all props', () => {
    const chart = Testing.chart();
    // tls, certificateAuthority (with requireClientCertificates) and insecureSkipVerify are exclusive:
    // the CA form is tested in test/tls and test/service/mtls
    const all: Required<Omit<FrpServerProps, 'certificateAuthority' | 'requireClientCertificates' | 'additionalClientCas'>> = {
      insecureSkipVerify: false,
      name: 'edge-frps',
      auth: FrpAuth.token(tokenSecret(chart), { key: 'frp', authenticateAllMessages: false }),
      image: 'registry.example.com/frps:v0.70.1',
      bindPort: 7001,
      vhostHttpPort: 8081,
      vhostHttpsPort: 8444,
      tcpmuxHttpConnectPort: 5003,
      webServerPort: 7501,
      webServerCredentials: kplus.Secret.fromSecretName(chart, 'web', 'frps-web'),
      enablePrometheus: true,
      subDomainHost: 'tunnels.example.com',
      maxPoolCount: 10,
      remotePortsServiceType: kplus.ServiceType.LOAD_BALANCER,
      remotePortsExternalTrafficPolicy: ExternalTrafficPolicy.CLUSTER,
      extraAllowPorts: [{ start: 30000, end: 30100 }],
      tls: { secret: kplus.Secret.fromSecretName(chart, 'tls', 'frps-tls') },
      resources: { cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.millis(1000) } },
      logLevel: FrpLogLevel.DEBUG,
      labels: { team: 'platform' },
      monitoring: { labels: { release: 'prom' } },
      networkPolicy: true,
      clientPeers: [NetworkPeer.cidr('203.0.113.0/24')],
      exposurePeers: [NetworkPeer.namespace('ingress-nginx')],
      monitoringPeers: [NetworkPeer.namespace('observability')],
      externalAccess: { serviceType: kplus.ServiceType.NODE_PORT, addresses: ['frps.example.com'], nodePort: 30700 },
      replicas: 1, // several replicas are tested below (and exclude externalAccess)
    };
    const server = new FrpServer(chart, 'frps', all);
    server.registerProxy(chart, { name: 'pg', type: FrpProxyType.TCP, localPort: 5432, remotePort: 15432, group: 'pg' });
    server.registerProxy(chart, { name: 'web', type: FrpProxyType.HTTP, localPort: 80, subdomain: 'web', group: 'web' });
    const manifests = Testing.synth(chart);
    expect(manifests).toMatchSnapshot();
    expectValidBundle(manifests);

    const config = frpsToml(manifests);
    expect(config.bindPort).toBe(7001);
    expect(config.vhostHTTPPort).toBe(8081);
    expect(config.vhostHTTPSPort).toBeUndefined(); // no https proxy attached
    expect(config.subDomainHost).toBe('tunnels.example.com');
    expect(config.auth).toEqual({ method: 'token', tokenSource: { type: 'file', file: { path: '/etc/frp/auth/token' } } });
    expect(config.webServer).toEqual({ addr: '0.0.0.0', port: 7501, user: '{{ .Envs.FRP_WEB_USER }}', password: '{{ .Envs.FRP_WEB_PASSWORD }}' });
    expect(config.enablePrometheus).toBe(true);
    const sm = manifests.find(m => m.kind === 'ServiceMonitor');
    expect(sm.metadata.labels.release).toBe('prom');
    expect(sm.spec.endpoints[0].basicAuth.username.name).toBe('frps-web');
    expect(config.transport.tls).toEqual({ force: true, certFile: '/etc/frp/tls/tls.crt', keyFile: '/etc/frp/tls/tls.key', trustedCaFile: '/etc/frp/tls/ca.crt' });
    expect(config.allowPorts).toEqual([{ single: 15432 }, { start: 30000, end: 30100 }]);
    expect(config.log.level).toBe('debug');

    const services = byKind(manifests, 'Service');
    const remote = services.find(s => s.spec.type === 'LoadBalancer');
    expect(remote.spec.ports).toEqual([{ name: 'tcp-15432', port: 15432, targetPort: 15432, protocol: 'TCP' }]);
    // as chosen (nothing behind it reads the client address: no PROXY header, exposure by namespace)
    expect(remote.spec.externalTrafficPolicy).toBe('Cluster');
    // outside machines: the control port alone on a NodePort
    const external = services.find(s => s.spec.type === 'NodePort');
    expect(external.spec.ports).toEqual([{ name: 'control', port: 7001, targetPort: 7001, nodePort: 30700 }]);
    // the NetworkPolicy admits outside frpc by CIDR: the node must not replace their addresses
    expect(external.spec.externalTrafficPolicy).toBe('Local');
    expect(external.spec.selector).toEqual(deployment0(manifests).spec.selector.matchLabels);
    const vhost = services.find(s => s.spec.ports.some((p: any) => p.name === 'http'));
    expect(vhost.spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 8081 }]);
    const [deployment] = byKind(manifests, 'Deployment');
    expect(deployment.metadata.labels.team).toBe('platform');
    const volumes = deployment.spec.template.spec.volumes;
    expect(volumes).toContainEqual({ name: 'tls', secret: { secretName: 'frps-tls' } });
  });

  test('allowPorts and the remote Service grow with every attached proxy; members of one group share a port', () => {
    const chart = Testing.chart();
    const server = new FrpServer(chart, 'frps', { auth: FrpAuth.token(tokenSecret(chart)) });
    for (const port of [20001, 20000, 20002, 25000]) {
      server.registerProxy(chart, { name: `p${port}`, type: FrpProxyType.TCP, localPort: 80, remotePort: port, group: `g${port}` });
    }
    server.registerProxy(chart, { name: 'again', type: FrpProxyType.TCP, localPort: 80, remotePort: 25000, group: 'g25000' });
    server.registerProxy(chart, { name: 'dns', type: FrpProxyType.UDP, localPort: 53, remotePort: 5353 });
    const config = frpsToml(Testing.synth(chart));
    expect(config.allowPorts).toEqual([{ single: 5353 }, { start: 20000, end: 20002 }, { single: 25000 }]);
    expect(server.remoteService!.ports.map(p => `${p.protocol}/${p.port}`)).toEqual(['TCP/20001', 'TCP/20000', 'TCP/20002', 'TCP/25000', 'UDP/5353']);
  });

  test('Go\'s garbage collector: GOGC 400 on every replica, GOMEMLIMIT 90 % of the memory limit each replica has', () => {
    const goEnv = (props: Partial<FrpServerProps>) => {
      const chart = Testing.chart();
      new FrpServer(chart, 'frps', { auth: FrpAuth.token(tokenSecret(chart)), ...props });
      return byKind(Testing.synth(chart), 'Deployment').map((d) => {
        const c = d.spec.template.spec.containers[0];
        const env = Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value]));
        return { limit: c.resources.limits.memory, GOGC: env.GOGC, GOMEMLIMIT: env.GOMEMLIMIT };
      });
    };
    // the default limit, and the limit the user gives (the request alone keeps the default limit)
    expect(goEnv({})).toEqual([{ limit: '256Mi', GOGC: '400', GOMEMLIMIT: '230MiB' }]);
    expect(goEnv({ resources: { memory: { limit: Size.gibibytes(1) } } })).toEqual([{ limit: '1024Mi', GOGC: '400', GOMEMLIMIT: '921MiB' }]);
    expect(goEnv({ resources: { memory: { limit: Size.gibibytes(0.5) } } })).toEqual([{ limit: '512Mi', GOGC: '400', GOMEMLIMIT: '460MiB' }]);
    expect(goEnv({ resources: { memory: { request: Size.mebibytes(64) } } })).toEqual([{ limit: '256Mi', GOGC: '400', GOMEMLIMIT: '230MiB' }]);
    // every HA replica is a Deployment of its own with the same settings
    expect(goEnv({ replicas: 3, resources: { memory: { limit: Size.mebibytes(100) } } }))
      .toEqual(Array(3).fill({ limit: '100Mi', GOGC: '400', GOMEMLIMIT: '90MiB' }));
  });

  test('the escape hatch reaches the Deployment', () => {
    const chart = Testing.chart();
    const server = new FrpServer(chart, 'frps', { auth: FrpAuth.token(tokenSecret(chart)) });
    expect(ApiObject.of(server.deployment).kind).toBe('Deployment');
    expect(server.node.defaultChild).toBe(server.deployment);
  });

  test('a config change changes the checksum that rolls the pods', () => {
    const checksum = (port: number) => {
      const chart = Testing.chart();
      const server = new FrpServer(chart, 'frps', { auth: FrpAuth.token(tokenSecret(chart)) });
      server.registerProxy(chart, { name: 'p', type: FrpProxyType.TCP, localPort: 80, remotePort: port });
      return byKind(Testing.synth(chart), 'Deployment')[0].spec.template.metadata.annotations['checksum/config'];
    };
    expect(checksum(20000)).toBe(checksum(20000));
    expect(checksum(20000)).not.toBe(checksum(20001));
  });

  describe('fails', () => {
    const make = (props: Partial<FrpServerProps>) => {
      const chart = Testing.chart();
      return new FrpServer(chart, 'frps', { auth: FrpAuth.token(tokenSecret(chart)), ...props });
    };
    test.each<[string, Partial<FrpServerProps>, string]>([
      ['without auth', { auth: undefined }, 'test/frps: auth: is required: frps never runs without client authentication (use FrpAuth.token(secret) or FrpAuth.oidc(...))'],
      ['on port 0', { bindPort: 0 }, 'test/frps: bindPort: must be an integer from 1 to 65535, got 0'],
      ['on port 70000', { webServerPort: 70000 }, 'test/frps: webServerPort: must be an integer from 1 to 65535, got 70000'],
      ['on a privileged port', { vhostHttpPort: 80 }, 'test/frps: vhostHttpPort: must be 1024 or higher: frps runs as a non-root user and cannot bind port 80 (Services map low ports)'],
      ['on two listeners sharing a port', { webServerPort: 7000 }, 'test/frps: webServerPort: port 7000 is already used by bindPort'],
      ['on an unpinned image', { image: 'fatedier/frps:latest' }, 'test/frps: image: must be a pinned image (name:tag other than latest, or name@sha256:digest), got "fatedier/frps:latest"'],
      ['on an image without tag', { image: 'fatedier/frps' }, 'test/frps: image: must be a pinned image (name:tag other than latest, or name@sha256:digest), got "fatedier/frps"'],
    ])('%s', (_name, props, message) => {
      expect(() => make(props)).toThrow(message);
    });

    test('when the token Secret is missing', () => {
      expect(() => FrpAuth.token(undefined as any)).toThrow('FrpAuth.token: secret is required (a Secret holding the frp token; frps never runs without client auth)');
    });

    test('when two services claim one remote port', () => {
      const server = make({});
      const a = new Chart(Testing.app(), 'a');
      server.registerProxy(a, { name: 'pg', type: FrpProxyType.TCP, localPort: 5432, remotePort: 15432, group: 'pg' });
      expect(() => server.registerProxy(server, { name: 'other', type: FrpProxyType.TCP, localPort: 1, remotePort: 15432, group: 'other' }))
        .toThrow('test/frps: proxy "other".remotePort: tcp/15432 is already used on test/frps by a (proxy "pg"); only members of one load-balancing group may share a remote port');
    });

    test('when two services claim one route', () => {
      const server = make({});
      server.registerProxy(server, { name: 'a', type: FrpProxyType.HTTP, localPort: 80, customDomains: ['x.example.com'], locations: ['/v1'] });
      expect(() => server.registerProxy(server, { name: 'b', type: FrpProxyType.HTTP, localPort: 80, customDomains: ['x.example.com'], locations: ['/v1'] }))
        .toThrow('test/frps: proxy "b".customDomains: route http://x.example.com/v1 is already served on test/frps by test/frps (proxy "a"); only members of one load-balancing group may share a route');
    });

    test('when a remote port is one of its own ports', () => {
      const server = make({});
      expect(() => server.registerProxy(server, { name: 'a', type: FrpProxyType.TCP, localPort: 80, remotePort: 7500 }))
        .toThrow('test/frps: proxy "a".remotePort: port 7500 is one of frps\' own ports on test/frps (control 7000, web 7500, vhost 8080/8443, tcpmux 5002)');
    });

    test('when a subdomain is used without subDomainHost', () => {
      const server = make({});
      expect(() => server.registerProxy(server, { name: 'a', type: FrpProxyType.HTTP, localPort: 80, subdomain: 'app' }))
        .toThrow('test/frps: proxy "a".subdomain: needs subDomainHost on the FrpServer test/frps');
    });

    test('when a custom domain lies under subDomainHost', () => {
      const server = make({ subDomainHost: 'example.com' });
      expect(() => server.registerProxy(server, { name: 'a', type: FrpProxyType.HTTP, localPort: 80, customDomains: ['app.example.com'] }))
        .toThrow('test/frps: proxy "a".customDomains: app.example.com is under the server\'s subDomainHost example.com: use subdomain instead (frps refuses it)');
    });
  });

  describe('externalAccess: frps for machines outside the cluster', () => {
    test('a LoadBalancer control Service (control port only) and the external names and IPs in the server certificate', () => {
      const chart = new Chart(Testing.app(), 'test', { namespace: 'frp' });
      const server = new FrpServer(chart, 'frps', {
        auth: FrpAuth.token(tokenSecret(chart)),
        certificateAuthority: new CertificateAuthority(chart, 'ca'),
        externalAccess: { addresses: ['frps.example.com', '203.0.113.7'] },
        clientPeers: [NetworkPeer.cidr('198.51.100.0/24')],
      });
      const manifests = Testing.synth(chart);
      expectValidBundle(manifests);
      expect(server.externalAddresses).toEqual(['frps.example.com', '203.0.113.7']);
      const external = byKind(manifests, 'Service').find(s => s.spec.type === 'LoadBalancer');
      expect(external.metadata.name).toBe(server.externalService!.name);
      expect(external.spec.ports).toEqual([{ name: 'control', port: 7000, targetPort: 7000 }]); // no metrics port outside
      const cert = byKind(manifests, 'Certificate').find(c => c.spec.usages?.includes('server auth'));
      expect(cert.spec.dnsNames).toEqual(expect.arrayContaining([server.host, 'frps.example.com']));
      expect(cert.spec.ipAddresses).toEqual(['203.0.113.7']);
      const policy = byKind(manifests, 'NetworkPolicy')[0];
      expect(policy.spec.ingress[0]).toEqual({ ports: [{ port: 7000, protocol: 'TCP' }], from: [{ ipBlock: { cidr: '198.51.100.0/24' } }] });
    });

    test.each<[string, any, string]>([
      ['no addresses', { addresses: [] }, 'externalAccess.addresses: must list the DNS names or IP addresses external frpc dial'],
      ['a bad address', { addresses: ['Frps_Example'] }, 'externalAccess.addresses[0]: must be a DNS name or an IP address, got "Frps_Example"'],
      ['a ClusterIP Service', { addresses: ['a.example.com'], serviceType: kplus.ServiceType.CLUSTER_IP }, 'externalAccess.serviceType: must be LoadBalancer or NodePort'],
      ['a bad node port', { addresses: ['a.example.com'], nodePort: 70000 }, 'externalAccess.nodePort: must be a port number'],
    ])('refuses %s', (_name, externalAccess, message) => {
      const chart = Testing.chart();
      expect(() => new FrpServer(chart, 'frps', { auth: FrpAuth.token(tokenSecret(chart)), externalAccess, clientPeers: [NetworkPeer.cidr('10.0.0.0/8')] })).toThrow(message);
    });

    test('refuses to open the control port to the outside while the NetworkPolicy admits nobody from there', () => {
      const chart = Testing.chart();
      expect(() => new FrpServer(chart, 'frps', { auth: FrpAuth.token(tokenSecret(chart)), externalAccess: { addresses: ['a.example.com'] } }))
        .toThrow('clientPeers: externalAccess opens the control port to outside machines, but the NetworkPolicy admits none');
    });
  });
});
