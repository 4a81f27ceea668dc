// UdpBalancer: the Kubernetes objects around an nginx stream config. Besides the
// snapshot, every test checks meaning: UDP ports, the status server, mounts and probes
// line up with the nginx.conf in the ConfigMap, and that exact text passes `nginx -t`
// (and relays datagrams while answering the probe and stub_status).
import { createHash } from 'crypto';
import { mkdirSync } from 'fs';
import { ApiObject, Chart, Size, Testing } from 'cdk8s';
import { NginxHarness, RunningProcess, sleep } from './haproxy-harness';
import { request, UdpEcho, udpExchange } from './net-helpers';
import {
  NginxStreamBalance, NginxStreamConfig, NginxStreamConfigProps, NginxUdpService, UdpBalancer, UdpBalancerProps,
} from '../../lib/balancer';
import { FS_ROOT_CONTEXT } from '../../lib/balancer/_workload';
import { NetworkPeer } from '../../lib/network/network-peer';
import { expectValidBundle } from '../helpers';
import { useLoopback } from '../helpers/loopback';
import { nginxListenOn } from '../live/harness/listen-on';

jest.setTimeout(20_000);

const h = NginxHarness.create();
afterAll(() => h.cleanup());
const loopback = useLoopback();

const byKind = (manifests: any[], kind: string) => manifests.filter(m => m.kind === kind);
const one = (manifests: any[], kind: string) => {
  const found = byKind(manifests, kind);
  expect(found).toHaveLength(1);
  return found[0];
};
const confText = (manifests: any[]): string => one(manifests, 'ConfigMap').data['nginx.conf'];
const podSpec = (manifests: any[]) => one(manifests, 'Deployment').spec.template.spec;
const container = (manifests: any[], name: string) => podSpec(manifests).containers.find((c: any) => c.name === name);

function dns(extra: Partial<NginxUdpService> = {}): NginxUdpService {
  return { name: 'dns', port: 5353, servers: [{ host: '10.0.0.1', port: 53 }], ...extra };
}

/** A chart whose balancer paths live under `root` (see FS_ROOT_CONTEXT). */
function rootedChart(root: string): Chart {
  const chart = Testing.chart();
  chart.node.setContext(FS_ROOT_CONTEXT, root);
  return chart;
}

describe('UdpBalancer', () => {
  test('minimal props: a restricted nginx Deployment with an exporter, its config, Service and NetworkPolicy', () => {
    // GIVEN
    const chart = Testing.chart();
    // WHEN
    const lb = new UdpBalancer(chart, 'lb', { config: { services: [dns()] } });
    const manifests = Testing.synth(chart);
    // THEN
    expect(manifests).toMatchSnapshot();
    expectValidBundle(manifests);
    expect(manifests.map(m => m.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'NetworkPolicy', 'Service']);

    // the rendered config: UDP service, pid and temp files on the emptyDir, the status server, no load_module
    const text = confText(manifests);
    expect(text).toEqual(new NginxStreamConfig({ services: [dns()], runtimeDir: '/tmp', statusEndpoint: {} }).render());
    expect(text).toContain('    listen 5353 udp;');
    expect(text).toContain('pid /tmp/nginx.pid;');
    expect(text).not.toContain('load_module');
    expect(text).toContain('    listen 8405;\n    default_type text/plain;\n    location = /healthz {');

    const spec = podSpec(manifests);
    expect(spec.automountServiceAccountToken).toBe(false);
    const nginx = container(manifests, 'nginx');
    expect(nginx.image).toBe(UdpBalancer.IMAGE);
    expect(nginx.image).toBe('nginxinc/nginx-unprivileged:1.28.0-alpine-slim');
    expect(nginx.command).toEqual(['nginx']);
    expect(nginx.args).toEqual(['-e', 'stderr', '-c', '/etc/nginx/balancer/nginx.conf']);
    expect(nginx.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 65532 });
    expect(nginx.resources).toEqual({ limits: { cpu: '1', memory: '256Mi' }, requests: { cpu: '100m', memory: '64Mi' } });
    // config mounted as a directory where -c points; the runtime directory is an emptyDir
    expect(nginx.volumeMounts).toEqual([
      { mountPath: '/etc/nginx/balancer', name: 'config', readOnly: true },
      { mountPath: '/tmp', name: 'run' },
    ]);
    expect(spec.volumes).toEqual([
      { name: 'config', configMap: { name: one(manifests, 'ConfigMap').metadata.name } },
      { name: 'run', emptyDir: { sizeLimit: '16Mi' } },
    ]);
    expect(nginx.args[3]).toEqual('/etc/nginx/balancer/nginx.conf');
    // probes hit the health location of the status server
    for (const probe of [nginx.readinessProbe, nginx.livenessProbe]) {
      expect(probe.httpGet).toEqual({ path: '/healthz', port: 8405, scheme: 'HTTP' });
    }
    expect(nginx.ports).toEqual([{ name: 'dns', containerPort: 5353, protocol: 'UDP' }, { name: 'status', containerPort: 8405 }]);

    // the exporter scrapes the stub_status location nginx serves
    const exporter = container(manifests, 'exporter');
    expect(exporter.image).toBe('nginx/nginx-prometheus-exporter:1.4.2');
    expect(exporter.args).toEqual(['--nginx.scrape-uri=http://127.0.0.1:8405/stub_status', '--web.listen-address=:9113', '--web.telemetry-path=/metrics']);
    expect(text).toContain('    location = /stub_status {\n      stub_status;');
    expect(exporter.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });

    // the Service: UDP ports that nginx listens on, and the exporter's metrics port
    const service = one(manifests, 'Service');
    expect(service.spec.ports).toEqual([
      { name: 'dns', port: 5353, targetPort: 5353, protocol: 'UDP' },
      { name: 'metrics', port: 9113, targetPort: exporter.ports[0].containerPort },
    ]);
    const podLabels = one(manifests, 'Deployment').spec.template.metadata.labels;
    expect(Object.entries(service.spec.selector).every(([k, v]) => podLabels[k] === v)).toBe(true);
    expect(one(manifests, 'Deployment').spec.template.metadata.annotations['checksum/config']).toEqual(createHash('sha256').update(text).digest('hex'));

    expect(lb.host).toEqual(service.metadata.name);
    expect(lb.metricsTarget.port).toBe('metrics');
    expect(lb.metricsTarget.service).toBe(lb.service);
    expect(ApiObject.of(lb).kind).toBe('Deployment');
  });

  test('all props', () => {
    const chart = new Chart(Testing.app(), 'test', { namespace: 'games' });
    const all: Required<UdpBalancerProps> = {
      name: 'game-lb',
      config: {
        services: [
          dns({ balance: NginxStreamBalance.HASH_CLIENT_ADDRESS_AND_PORT, proxyResponses: 1 }),
          { name: 'game-server-shard', port: 7777, servers: [{ host: '10.0.1.1', port: 7777, weight: 2 }, { host: '10.0.1.2', port: 7778 }] },
        ],
        statusEndpoint: { port: 8500, healthPath: '/live', stubStatusPath: '/basic_status' },
        runtimeDir: '/var/run/nginx',
        workerProcesses: 2,
      },
      replicas: 3,
      image: 'registry.example.com/nginx-unprivileged:1.28.0-alpine-slim',
      resources: { memory: { request: Size.mebibytes(32) } },
      labels: { team: 'games' },
      networkPolicy: true,
      monitoringPeers: [NetworkPeer.namespace('observability')],
    };
    const lb = new UdpBalancer(chart, 'lb', all);
    lb.allowClients(NetworkPeer.pods({ app: 'frpc' }));
    const manifests = Testing.synth(chart);
    expect(manifests).toMatchSnapshot();
    expectValidBundle(manifests);
    const nginx = container(manifests, 'nginx');
    expect(nginx.image).toBe('registry.example.com/nginx-unprivileged:1.28.0-alpine-slim');
    expect(nginx.resources).toEqual({ limits: { cpu: '1', memory: '256Mi' }, requests: { cpu: '100m', memory: '32Mi' } });
    expect(nginx.volumeMounts).toContainEqual({ mountPath: '/var/run/nginx', name: 'run' });
    expect(confText(manifests)).toContain('pid /var/run/nginx/nginx.pid;');
    expect(nginx.readinessProbe.httpGet).toEqual({ path: '/live', port: 8500, scheme: 'HTTP' });
    expect(container(manifests, 'exporter').args[0]).toBe('--nginx.scrape-uri=http://127.0.0.1:8500/basic_status');
    expect(one(manifests, 'Service').spec.ports.map((p: any) => p.name)).toEqual(['dns', `game-serve-${createHash('sha256').update('game-server-shard').digest('hex').slice(0, 4)}`, 'metrics']);
    expect(lb.host).toEqual(`${lb.service.name}.games.svc`);
    for (const m of manifests) expect(m.metadata.labels.team).toBe('games');
  });

  test('the config checksum changes when the config changes', () => {
    const checksum = (svc: NginxUdpService) => {
      const chart = Testing.chart();
      new UdpBalancer(chart, 'lb', { config: { services: [svc] } });
      return one(Testing.synth(chart), 'Deployment').spec.template.metadata.annotations['checksum/config'];
    };
    expect(checksum(dns())).toEqual(checksum(dns()));
    expect(checksum(dns({ balance: NginxStreamBalance.LEAST_CONN }))).not.toEqual(checksum(dns()));
  });
});

describe('UdpBalancer NetworkPolicy', () => {
  test('UDP service ports only from allowClients peers; metrics from monitoring; egress DNS and backend UDP ports', () => {
    const chart = Testing.chart();
    const lb = new UdpBalancer(chart, 'lb', {
      config: { services: [dns({ servers: [{ host: '10.0.0.1', port: 53 }, { host: '10.0.0.2', port: 5300 }] })] },
    });
    const before = Testing.synth(chart);
    expectValidBundle(before);
    const np0 = one(before, 'NetworkPolicy');
    expect(np0.spec.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'nginx', 'app.kubernetes.io/instance': lb.name });
    expect(np0.spec.ingress).toEqual([
      { ports: [{ port: 9113, protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] },
    ]);
    expect(np0.spec.egress).toEqual([{ ports: [{ port: 53, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }, { port: 5300, protocol: 'UDP' }] }]);

    lb.allowClients(NetworkPeer.pods({ 'app.kubernetes.io/name': 'frpc' }));
    const np = one(Testing.synth(chart), 'NetworkPolicy');
    expect(np.spec.ingress[0]).toEqual({ ports: [{ port: 5353, protocol: 'UDP' }], from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'frpc' } } }] });
  });

  test('networkPolicy false renders none', () => {
    const chart = Testing.chart();
    new UdpBalancer(chart, 'lb', { config: { services: [dns()] }, networkPolicy: false });
    expect(byKind(Testing.synth(chart), 'NetworkPolicy')).toEqual([]);
  });
});

describe('UdpBalancer nginx.conf against the real binary', () => {
  // Debian's nginx has the stream module as a dynamic module (the image has it built in),
  // so these configs load it; everything else is the construct's output as is.
  const MODULES = [NginxHarness.STREAM_MODULE];

  test('nginx -t passes on the exact ConfigMap text', () => {
    const root = `${h.dir}/root-check`;
    const chart = rootedChart(root);
    new UdpBalancer(chart, 'lb', { config: { services: [dns(), dns({ name: 'game', port: 7777, servers: [{ host: 'localhost', port: 7777 }] })], modules: MODULES } });
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    const nginx = container(manifests, 'nginx');
    // the mounted writable directory exists in the pod; here too
    const run = nginx.volumeMounts.find((m: any) => m.name === 'run').mountPath;
    expect(run).toBe(`${root}/tmp`);
    mkdirSync(run, { recursive: true });
    const result = h.check(confText(manifests));
    expect(result.output).toContain('test is successful');
    expect(result.ok).toBe(true);
    // and the production text differs only by the root in front of the mounted paths
    const prod = Testing.chart();
    new UdpBalancer(prod, 'lb', { config: { services: [dns(), dns({ name: 'game', port: 7777, servers: [{ host: 'localhost', port: 7777 }] })], modules: MODULES } });
    expect(confText(Testing.synth(prod))).toEqual(confText(manifests).split(root).join(''));
  });

  describe('the container command runs that text', () => {
    let nginx: RunningProcess | undefined;
    let echoes: UdpEcho[] = [];
    afterEach(async () => {
      await nginx?.stop();
      await Promise.all(echoes.map(e => e.close()));
    });

    test('it relays UDP, answers the probe, and counts the sessions in stub_status', async () => {
      echoes = await Promise.all([UdpEcho.start('e1'), UdpEcho.start('e2')]);
      const [udp] = await loopback.ports(1, 'udp');
      const [status] = await loopback.ports(1);
      const root = `${h.dir}/root-run`;
      const chart = rootedChart(root);
      const config: NginxStreamConfigProps = {
        modules: MODULES,
        statusEndpoint: { port: status },
        services: [{ name: 'echo', port: udp, bindAddress: loopback.host, proxyResponses: 1, servers: echoes.map(e => ({ host: '127.0.0.1', port: e.port })) }],
      };
      new UdpBalancer(chart, 'lb', { config });
      const manifests = Testing.synth(chart);
      const c = container(manifests, 'nginx');
      expect(c.args.slice(0, 2)).toEqual(['-e', 'stderr']); // what the harness runs: nginx -e stderr -c FILE
      mkdirSync(`${root}/tmp`, { recursive: true });
      // the status server listens on every address in the pod: on the test's own one here
      nginx = h.start(nginxListenOn(confText(manifests), loopback.host));
      await nginx.waitForPort(status, loopback.host);

      const probe = c.readinessProbe.httpGet;
      const health = await request({ host: loopback.host, port: probe.port, path: probe.path });
      expect([health.status, health.body]).toEqual([200, 'ok\n']);

      const replies: string[] = [];
      for (let i = 0; i < 4; i++) {
        for (let tries = 0; ; tries++) {
          try {
            replies.push(await udpExchange(udp, `m${i}`, 500, loopback.host));
            break;
          } catch (e) {
            if (tries > 10) throw e;
            await sleep(50);
          }
        }
      }
      expect(replies.map(r => r.split(':')[0]).sort()).toEqual(['e1', 'e1', 'e2', 'e2']);

      const scrape = container(manifests, 'exporter').args[0].replace('--nginx.scrape-uri=', '');
      // the exporter reads 127.0.0.1 of its pod: the test's own address here
      expect(new URL(scrape).hostname).toBe('127.0.0.1');
      const stub = await request({ host: loopback.host, port: Number(new URL(scrape).port), path: new URL(scrape).pathname });
      expect(stub.status).toBe(200);
      const accepts = Number(/server accepts handled requests\s+(\d+)/.exec(stub.body)![1]);
      expect(accepts).toBeGreaterThanOrEqual(4); // the UDP sessions count as connections
    });
  });
});

describe('UdpBalancer validation', () => {
  const build = (config: Partial<NginxStreamConfigProps>, props: Partial<UdpBalancerProps> = {}) => () =>
    new UdpBalancer(Testing.chart(), 'lb', { config: { services: [dns()], ...config }, ...props });

  test.each<[string, () => unknown, string]>([
    ['no config', () => new UdpBalancer(Testing.chart(), 'lb', {} as UdpBalancerProps), 'test/lb: config: is required: the UDP services to balance (NginxStreamConfigProps)'],
    ['an invalid config (the model\'s message, with the construct path)', build({ services: [dns({ servers: [] })] }),
      'test/lb: config: nginx service "dns" servers must list at least one server, got none'],
    ['a privileged UDP port', build({ services: [dns({ port: 53 })] }),
      'test/lb: config.services[0].port: must be 1024 or higher: nginx runs as a non-root user and cannot bind port 53'],
    ['a privileged status port', build({ statusEndpoint: { port: 80 } }),
      'test/lb: config.statusEndpoint.port: must be 1024 or higher: nginx runs as a non-root user and cannot bind port 80'],
    ['the status port on the exporter port', build({ statusEndpoint: { port: 9113 } }),
      'test/lb: config.statusEndpoint.port: 9113 is the metrics exporter\'s port in the same pod: choose another port'],
    ['a status bind address', build({ statusEndpoint: { bindAddress: '127.0.0.1' } }),
      'test/lb: config.statusEndpoint.bindAddress: must be left out: the kubelet probes the pod address and the exporter reads 127.0.0.1, so the status server listens on every address'],
    ['a runtime directory in the config mount', build({ runtimeDir: '/etc/nginx/balancer/run' }),
      'test/lb: config.runtimeDir: must not be in /etc/nginx/balancer (the read-only ConfigMap mount), got "/etc/nginx/balancer/run"'],
    ['a service named like the metrics port', build({ services: [dns({ name: 'metrics' })] }),
      'test/lb: config.services[0].name: "metrics" would name the Service port "metrics", which is reserved for the balancer\'s own "metrics" and "status" ports: choose another service name'],
    ['replicas 0', build({}, { replicas: 0 }), 'test/lb: replicas: must be an integer from 1 to 1000, got 0'],
    ['an unpinned image', build({}, { image: 'nginxinc/nginx-unprivileged' }),
      'test/lb: image: must be a pinned image (name:tag other than latest, or name@sha256:digest), got "nginxinc/nginx-unprivileged"'],
  ])('fails: %s', (_name, fn, message) => {
    expect(fn).toThrow(new Error(message));
  });
});
