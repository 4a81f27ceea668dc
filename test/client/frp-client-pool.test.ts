import { Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  Bandwidth, FrpAuth, FrpClientPool, FrpClientPoolProps, FrpClientWorkload, HealthCheckType, FrpLogLevel, FrpProxyType, FrpServer,
} from '../../lib';
import { expectValidBundle, parseFrpTomlValues as parse } from '../helpers';

const setup = () => {
  const chart = Testing.chart();
  const server = new FrpServer(chart, 'frps', { auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 'token', 'frp-token')) });
  return { chart, server };
};
const configMap = (manifests: any[], key: string) => manifests.find(m => m.kind === 'ConfigMap' && m.data?.[key]);
const frpcToml = (manifests: any[]): any => parse(configMap(manifests, 'frpc.toml').data['frpc.toml']);
const pg = { name: 'pg', type: FrpProxyType.TCP, localIP: 'postgres.databases.svc', localPort: 5432, remotePort: 15432, group: 'pg' };

describe('FrpClientPool', () => {
  test('minimal props: a 1-replica Deployment that dials the server and joins the group', () => {
    // GIVEN
    const { chart, server } = setup();
    // WHEN
    new FrpClientPool(chart, 'frpc', { server, proxies: [pg] });
    const manifests = Testing.synth(chart);
    // THEN
    expect(manifests).toMatchSnapshot();
    expectValidBundle(manifests);
    const config = frpcToml(manifests);
    expect(config.serverAddr).toBe(server.service.name);
    expect(config.serverPort).toBe(7000);
    expect(config.user).toBe('{{ .Envs.FRP_USER }}'); // <namespace>.<pod>
    expect(config.loginFailExit).toBe(false);
    expect(config.webServer).toEqual({ addr: '127.0.0.1', port: 7400 });
    expect(config.proxies[0].loadBalancer).toEqual({ group: 'pg' });

    const deployment = manifests.find(m => m.kind === 'Deployment' && m.metadata.labels['app.kubernetes.io/name'] === 'frpc');
    expect(deployment.spec.replicas).toBe(1);
    const container = deployment.spec.template.spec.containers[0];
    expect(container.image).toBe('fatedier/frpc:v0.70.1');
    expect(container.env).toEqual([
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'FRP_USER', value: '$(POD_NAMESPACE).$(POD_NAME)' },
    ]);
    expect(config.auth.tokenSource).toEqual({ type: 'file', file: { path: '/etc/frp/auth/token' } });
    expect(container.readinessProbe.exec.command).toEqual(['wget', '-q', '-T', '2', '-O', '/dev/null', 'http://127.0.0.1:7400/healthz']);
    // before the kubelet's SIGTERM (on which frpc v0.70.1 exits at once over tcp), frpc's own
    // stop closes its proxies, then the hook waits for frpc to be gone; the grace period covers it
    const preStop = container.lifecycle.preStop.exec.command;
    expect(preStop.slice(0, 2)).toEqual(['sh', '-c']);
    expect(preStop[2]).toMatch(/^frpc stop -c \/etc\/frp\/frpc\.toml \|\| exit 0; .*while \[ \$i -lt 50 \] && frpc status -c \/etc\/frp\/frpc\.toml /);
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds).toBe(30);
    // the server now listens on and allows the member's remote port
    expect(parse(configMap(manifests, 'frps.toml').data['frps.toml']).allowPorts).toEqual([{ single: 15432 }]);
  });

  test('all props', () => {
    const { chart, server } = setup();
    // tls and certificateAuthority are exclusive: the CA form is tested in test/tls and test/service/mtls
    const all: Required<Omit<FrpClientPoolProps, 'certificateAuthority'>> = {
      name: 'edge-frpc',
      insecureSkipVerify: false,
      server,
      serverAddress: 'frps.example.com',
      serverPort: 7443,
      auth: server.auth,
      workload: FrpClientWorkload.deployment({ replicas: 3 }),
      proxies: [{ ...pg, healthCheck: { type: HealthCheckType.TCP }, bandwidthLimit: Bandwidth.mebibytes(10) }],
      exposeRemotePorts: true,
      groupKeySecret: kplus.Secret.fromSecretName(chart, 'gk', 'group-key'),
      groupKeySecretKey: 'key',
      poolCount: 20,
      dialServerTimeoutSeconds: 5,
      dialServerKeepaliveSeconds: 60,
      tls: { secret: kplus.Secret.fromSecretName(chart, 'tls', 'frpc-tls'), serverName: 'frps.tunnels.svc' },
      adminPort: 7401,
      image: 'registry.example.com/frpc:v0.70.1',
      resources: {
        cpu: { request: kplus.Cpu.millis(20), limit: kplus.Cpu.millis(200) },
        memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
      },
      logLevel: FrpLogLevel.WARN,
      labels: { team: 'data' },
      networkPolicy: true,
    };
    new FrpClientPool(chart, 'frpc', all);
    const manifests = Testing.synth(chart);
    expect(manifests).toMatchSnapshot();
    expectValidBundle(manifests);
    const config = frpcToml(manifests);
    expect(config.serverAddr).toBe('frps.example.com');
    expect(config.serverPort).toBe(7443);
    expect(config.transport).toEqual({
      poolCount: 20,
      dialServerTimeout: 5,
      dialServerKeepalive: 60,
      // the client certificate from tls, frps verified against the server's own CA (ca.crt of a certificate it issues here)
      tls: { enable: true, certFile: '/etc/frp/tls/tls.crt', keyFile: '/etc/frp/tls/tls.key', trustedCaFile: '/etc/frp/tls-ca/ca.crt', serverName: 'frps.tunnels.svc' },
    });
    const anchor = manifests.find(m => m.kind === 'Certificate' && m.metadata.name === 'edge-frpc-server-ca');
    expect(anchor.spec.issuerRef).toEqual({ name: 'frps-ca', kind: 'Issuer', group: 'cert-manager.io' });
    const volumes = manifests.find(m => m.kind === 'Deployment' && m.metadata.name === 'edge-frpc').spec.template.spec.volumes;
    expect(volumes).toContainEqual(expect.objectContaining({ secret: expect.objectContaining({ secretName: 'edge-frpc-server-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] }) }));
    expect(config.proxies[0].loadBalancer).toEqual({ group: 'pg', groupKey: '{{ .Envs.FRP_GROUP_KEY }}' });
    const deployment = manifests.find(m => m.kind === 'Deployment' && m.metadata.labels['app.kubernetes.io/name'] === 'frpc');
    expect(deployment.spec.replicas).toBe(3);
    const env = deployment.spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: 'FRP_GROUP_KEY', valueFrom: { secretKeyRef: { name: 'group-key', key: 'key' } } });
    expect(env.map((e: any) => e.name)).not.toContain('FRP_AUTH_TOKEN'); // a mounted file (tokenSource)
    // the server raised its pool cap to fit
    expect((parse(configMap(manifests, 'frps.toml').data['frps.toml']) as any).transport.maxPoolCount).toBe(20);
  });

  test('as a DaemonSet', () => {
    const { chart, server } = setup();
    new FrpClientPool(chart, 'frpc', { server, workload: FrpClientWorkload.daemonSet(), proxies: [pg] });
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    expect(manifests.filter(m => m.kind === 'DaemonSet')).toHaveLength(1);
  });

  test('as a sidecar of the backend: one member per backend pod, forwarding to 127.0.0.1', () => {
    const { chart, server } = setup();
    const backend = new kplus.Deployment(chart, 'ollama', {
      replicas: 4,
      securityContext: { ensureNonRoot: true, user: 1000 },
      containers: [{
        name: 'ollama',
        image: 'ollama/ollama:0.12.3',
        portNumber: 11434,
        securityContext: {
          ensureNonRoot: true,
          user: 1000,
          capabilities: { drop: [kplus.Capability.ALL] },
          seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
        },
        resources: { cpu: { request: kplus.Cpu.millis(1000), limit: kplus.Cpu.millis(4000) } },
        readiness: kplus.Probe.fromTcpSocket({ port: 11434 }),
        liveness: kplus.Probe.fromTcpSocket({ port: 11434 }),
      }],
    });
    const pool = new FrpClientPool(chart, 'frpc', { server, workload: FrpClientWorkload.sidecar(backend) });
    pool.addProxy({ name: 'ollama', type: FrpProxyType.TCP, localPort: 11434, remotePort: 21434, group: 'ollama' });
    const manifests = Testing.synth(chart);
    const deployments = manifests.filter(m => m.kind === 'Deployment');
    expect(deployments).toHaveLength(2); // frps + the backend, no frpc Deployment
    const pod = deployments.find(d => d.spec.replicas === 4).spec.template.spec;
    expect(pod.containers.map((c: any) => c.name)).toEqual(['ollama', 'frpc']);
    expect(frpcToml(manifests).proxies[0]).toMatchObject({ localPort: 11434, remotePort: 21434, loadBalancer: { group: 'ollama' } });
    expect(frpcToml(manifests).proxies[0].localIP).toBeUndefined(); // frp's default, 127.0.0.1
  });

  describe('fails', () => {
    test.each<[string, (s: ReturnType<typeof setup>) => void, string]>([
      ['without a server or address', ({ chart }) => new FrpClientPool(chart, 'frpc', {}), 'test/frpc: server: either server (an FrpServer in this app) or serverAddress is required'],
      ['without auth for an outside server', ({ chart }) => new FrpClientPool(chart, 'frpc', { serverAddress: 'frps.example.com' }),
        'test/frpc: auth: is required when connecting to an frps outside this app (FrpAuth.token(secret) or FrpAuth.oidc(...))'],
      ['with 0 replicas', ({ chart, server }) => new FrpClientPool(chart, 'frpc', { server, workload: FrpClientWorkload.deployment({ replicas: 0 }) }),
        'test/frpc: workload.replicas: must be an integer from 1 to 1000, got 0'],
      ['with duplicate proxy names', ({ chart, server }) => new FrpClientPool(chart, 'frpc', { server, proxies: [pg, { ...pg, remotePort: 15433 }] }),
        'test/frpc: proxies[1].name: duplicate proxy name "pg" (also proxies[0])'],
      ['with a group on udp', ({ chart, server }) => new FrpClientPool(chart, 'frpc', { server, proxies: [{ name: 'dns', type: FrpProxyType.UDP, localPort: 53, remotePort: 5353, group: 'dns' }] }),
        'test/frpc: proxy "dns".group: frp ignores load-balancing groups on udp proxies; groups work only on tcp, http, https, tcpmux'],
      ['with two domains on a grouped http member', ({ chart, server }) => new FrpClientPool(chart, 'frpc', {
        server, proxies: [{ name: 'web', type: FrpProxyType.HTTP, localPort: 80, group: 'web', customDomains: ['a.example.com', 'b.example.com'] }],
      }), 'test/frpc: proxy "web".customDomains: a http proxy in a group must resolve to exactly one domain (customDomains plus subdomain), got 2'],
      ['with remote port 70000', ({ chart, server }) => new FrpClientPool(chart, 'frpc', { server, proxies: [{ ...pg, remotePort: 70000 }] }),
        'test/frpc: proxy "pg".remotePort: must be an integer from 1 to 65535, got 70000'],
      ['with an auth other than its server\'s', ({ chart, server }) => new FrpClientPool(chart, 'frpc', { server, auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 'x', 'x')) }),
        'test/frpc: auth: differs from the auth of the server test/frps: frps would reject this client (leave auth unset to use the server\'s)'],
      ['with a low admin port', ({ chart, server }) => new FrpClientPool(chart, 'frpc', { server, adminPort: 80 }),
        'test/frpc: adminPort: must be 1024 or higher (frpc runs as a non-root user), got 80'],
    ])('%s', (_name, build, message) => {
      expect(() => build(setup())).toThrow(message);
    });
  });
});
