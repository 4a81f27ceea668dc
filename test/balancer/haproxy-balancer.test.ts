// HaproxyBalancer: the Kubernetes objects around a HaproxyConfig. Besides the snapshot,
// every test checks meaning: ports, selectors, mounts and probes line up with the
// haproxy.cfg in the ConfigMap, and that exact text passes `haproxy -c` (and runs).
import { spawnSync } from 'child_process';
import { createHash, generateKeyPairSync } from 'crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { dirname } from 'path';
import { ApiObject, Chart, Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { HaproxyHarness, writeBalancerScripts } from './haproxy-harness';
import { request } from './net-helpers';
import {
  EndUserAuthentication, HaproxyAffinity, HaproxyBalance, HaproxyBalancer, HaproxyBalancerProps, HaproxyConfig, HaproxyConfigProps,
  HaproxyMode, HaproxyServiceOptions, HaproxyTargets,
} from '../../lib/balancer';
import { FS_ROOT_CONTEXT } from '../../lib/balancer/_workload';
import { NetworkPeer } from '../../lib/network/network-peer';
import { HealthCheckType } from '../../lib/spec';
import { expectValidBundle } from '../helpers';
import { useLoopback } from '../helpers/loopback';
import { haproxyListenOn } from '../live/harness/listen-on';

jest.setTimeout(20_000);

const h = HaproxyHarness.create();
afterAll(() => h.cleanup());
const loopback = useLoopback();

const AUTH = HaproxyBalancer.AUTH_DIR;
const byKind = (manifests: any[], kind: string) => manifests.filter(m => m.kind === kind);
const one = (manifests: any[], kind: string) => {
  const found = byKind(manifests, kind);
  expect(found).toHaveLength(1);
  return found[0];
};
const cfgText = (manifests: any[]): string => one(manifests, 'ConfigMap').data['haproxy.cfg'];
const podSpec = (manifests: any[]) => one(manifests, 'Deployment').spec.template.spec;
const haproxyContainer = (manifests: any[]) => podSpec(manifests).containers[0];

/** The lines of the haproxy.cfg section whose header is `header`, without indentation. */
function section(text: string, header: string): string[] {
  const block = text.split('\n\n').find(b => b.split('\n')[0] === header);
  if (!block) throw new Error(`no section "${header}" in:\n${text}`);
  return block.split('\n').slice(1).map(l => l.trim());
}

/** Port of the first `bind` line of a section. */
function boundPort(text: string, header: string): number {
  const bind = section(text, header).find(l => l.startsWith('bind '))!;
  return Number(/:(\d+)/.exec(bind)![1]);
}

function webService(extra: Partial<HaproxyServiceOptions> = {}): HaproxyServiceOptions {
  return { name: 'web', port: 8080, targets: HaproxyTargets.endpoints([{ host: '10.0.0.1', port: 80 }]), ...extra };
}

/** A chart whose balancer paths live under `root` (see FS_ROOT_CONTEXT). */
function rootedChart(root: string): Chart {
  const chart = Testing.chart();
  chart.node.setContext(FS_ROOT_CONTEXT, root);
  return chart;
}

const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PUBLIC_KEY_PEM = publicKey.export({ type: 'spki', format: 'pem' }).toString();

/** A self-signed CA certificate (HAProxy parses `ca-file` at start). */
function caPem(): string {
  const dir = h.dir;
  // an EC key: an RSA key search took over 15 s on a loaded machine (killed by the bound)
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=test-ca', '-days', '2',
    '-keyout', `${dir}/ca.key`, '-out', `${dir}/ca-src.pem`], { encoding: 'utf8', timeout: 60_000 });
  if (r.error || r.signal) throw new Error(`openssl did not make the test CA (${r.error?.message ?? `killed by ${r.signal} after 60 s`}): apt-get install -y openssl\n${r.stderr}`);
  if (r.status !== 0) throw new Error(`openssl could not make the test CA (exit ${r.status}):\n${r.stderr}`);
  return readFileSync(`${dir}/ca-src.pem`, 'utf8');
}

/** Writes `files` (absolute path → content) to disk, creating directories. */
function writeFiles(files: { [path: string]: string }): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
}

describe('HaproxyBalancer', () => {
  test('minimal props: a restricted HAProxy Deployment, its config, Service and NetworkPolicy', () => {
    // GIVEN
    const chart = Testing.chart();
    // WHEN
    const lb = new HaproxyBalancer(chart, 'lb', { config: { services: [webService()] } });
    const manifests = Testing.synth(chart);
    // THEN
    expect(manifests).toMatchSnapshot();
    expectValidBundle(manifests);
    expect(manifests.map(m => m.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'NetworkPolicy', 'Service']);

    const text = cfgText(manifests);
    expect(text).toEqual(new HaproxyConfig({ services: [webService()] }).render());
    const deployment = one(manifests, 'Deployment');
    expect(deployment.spec.replicas).toBe(2);
    const spec = podSpec(manifests);
    expect(spec.automountServiceAccountToken).toBe(false);
    const c = haproxyContainer(manifests);
    expect(c.image).toBe(HaproxyConfig.IMAGE);
    expect(c.image).toBe('haproxy:2.8.15-alpine');
    expect(c.command).toEqual(['haproxy']);
    expect(c.args).toEqual(['-db', '-f', '/usr/local/etc/haproxy/haproxy.cfg']);
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true, runAsUser: 65532, allowPrivilegeEscalation: false });
    expect(c.resources).toEqual({ limits: { cpu: '1', memory: '256Mi' }, requests: { cpu: '100m', memory: '64Mi' } });

    // the config is a ConfigMap mounted as a directory (no subPath), where -f points
    const mount = c.volumeMounts.find((m: any) => m.mountPath === HaproxyBalancer.CONFIG_DIR);
    expect(mount).toEqual({ mountPath: '/usr/local/etc/haproxy', name: 'config', readOnly: true });
    expect(spec.volumes).toEqual([{ name: 'config', configMap: { name: one(manifests, 'ConfigMap').metadata.name } }]);
    expect(c.args[2]).toEqual(`${mount.mountPath}/haproxy.cfg`);
    expect(c.volumeMounts).toHaveLength(1); // nothing writable: HAProxy writes no file here

    // probes hit the health endpoint HAProxy serves (monitor-uri on the healthz frontend)
    const healthPort = boundPort(text, 'frontend healthz');
    expect(section(text, 'frontend healthz')).toContain('monitor-uri /healthz');
    for (const probe of [c.readinessProbe, c.livenessProbe]) {
      expect(probe.httpGet).toEqual({ path: '/healthz', port: healthPort, scheme: 'HTTP' });
    }

    // the Service targets the ports HAProxy binds; its selector matches the pod labels
    const service = one(manifests, 'Service');
    expect(service.spec.ports).toEqual([
      { name: 'web', port: 8080, targetPort: boundPort(text, 'frontend fe_web') },
      { name: 'metrics', port: 8404, targetPort: boundPort(text, 'frontend metrics') },
    ]);
    const podLabels = deployment.spec.template.metadata.labels;
    expect(Object.entries(service.spec.selector).every(([k, v]) => podLabels[k] === v)).toBe(true);
    expect(c.ports.map((p: any) => [p.name, p.containerPort])).toEqual([['web', 8080], ['metrics', 8404], ['healthz', 8405]]);

    // the config checksum rolls the pods when the config changes
    expect(deployment.spec.template.metadata.annotations['checksum/config']).toEqual(createHash('sha256').update(text).digest('hex'));

    // what the lead wires: host, metrics target, the escape hatch
    expect(lb.host).toEqual(service.metadata.name);
    expect(lb.metricsTarget.port).toBe('metrics');
    expect(lb.metricsTarget.path).toBe('/metrics');
    expect(lb.metricsTarget.service).toBe(lb.service);
    expect(ApiObject.of(lb).kind).toBe('Deployment');
    expect(lb.config.ports()).toEqual([8080, 8404, 8405]);
  });

  test('all props', () => {
    // GIVEN
    const chart = new Chart(Testing.app(), 'test', { namespace: 'edge' });
    const all: Required<HaproxyBalancerProps> = {
      name: 'edge-lb',
      config: {
        services: [
          webService({ authentication: EndUserAuthentication.apiKey({ keysFile: `${AUTH}/api-keys` }) }),
          webService({
            name: 'pg',
            port: 15432,
            mode: HaproxyMode.TCP,
            acceptProxy: true,
            balance: HaproxyBalance.SOURCE,
            targets: HaproxyTargets.dns({ hostname: 'postgres.db.svc.cluster.local', port: 5432 }),
          }),
        ],
        metrics: { port: 9404 },
        healthEndpoint: { port: 9405, path: '/live' },
        statsSocket: `${HaproxyBalancer.RUN_DIR}/admin.sock`,
      },
      authSecret: kplus.Secret.fromSecretName(chart, 'auth', 'web-auth'),
      replicas: 3,
      image: 'registry.example.com/haproxy:2.8.15-alpine',
      resources: { memory: { limit: Size.mebibytes(512) } },
      labels: { team: 'edge' },
      networkPolicy: true,
      monitoringPeers: [NetworkPeer.namespace('observability')],
    };
    // WHEN
    const lb = new HaproxyBalancer(chart, 'lb', all);
    lb.allowClients(NetworkPeer.pods({ app: 'frpc' }));
    const manifests = Testing.synth(chart);
    // THEN
    expect(manifests).toMatchSnapshot();
    // pg hashes the client address over DNS-discovered pods: the script that keeps that alike in every replica ships along
    expect(Object.keys(one(manifests, 'ConfigMap').data).sort()).toEqual(['frp-rendezvous.lua', 'haproxy.cfg']);
    expect(section(cfgText(manifests), 'backend be_pg')).toContain('tcp-request content set-var(txn.frp_server) src,lua.frp_rendezvous(be_pg)');
    expectValidBundle(manifests);
    const c = haproxyContainer(manifests);
    expect(c.image).toBe('registry.example.com/haproxy:2.8.15-alpine');
    expect(one(manifests, 'Deployment').spec.replicas).toBe(3);
    // resources merge field by field
    expect(c.resources).toEqual({ limits: { cpu: '1', memory: '512Mi' }, requests: { cpu: '100m', memory: '64Mi' } });
    // labels on every object, selectors still ours
    for (const m of manifests) expect(m.metadata.labels.team).toBe('edge');
    expect(lb.host).toEqual(`${lb.service.name}.edge.svc`);
    expect(one(manifests, 'Service').spec.ports.map((p: any) => p.name)).toEqual(['web', 'pg', 'metrics']);
    const probe = c.readinessProbe.httpGet;
    expect(probe).toEqual({ path: '/live', port: 9405, scheme: 'HTTP' });
    // the runtime API socket sits on an emptyDir
    expect(c.volumeMounts).toContainEqual({ mountPath: '/var/run/haproxy', name: 'run' });
    expect(podSpec(manifests).volumes).toContainEqual({ name: 'run', emptyDir: { sizeLimit: '1Mi' } });
  });

  test('the authSecret is mounted where the config reads its files, and rolls the pods', () => {
    const chart = Testing.chart();
    const secret = kplus.Secret.fromSecretName(chart, 'auth', 'web-auth');
    new HaproxyBalancer(chart, 'lb', {
      config: {
        services: [webService({
          authentication: EndUserAuthentication.jwt({ publicKeyFile: `${AUTH}/public-key.pem` }),
          healthCheck: { type: HealthCheckType.HTTPS, caFile: `${AUTH}/ca.crt` },
        })],
      },
      authSecret: secret,
    });
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    const text = cfgText(manifests);
    expect(text).toContain('jwt_verify(\'RS256\',\'/etc/haproxy/auth/public-key.pem\')');
    expect(text).toContain('ca-file /etc/haproxy/auth/ca.crt');
    const c = haproxyContainer(manifests);
    const mount = c.volumeMounts.find((m: any) => m.mountPath === AUTH);
    expect(mount).toEqual({ mountPath: '/etc/haproxy/auth', name: 'auth', readOnly: true });
    expect(podSpec(manifests).volumes).toContainEqual({ name: 'auth', secret: { secretName: 'web-auth' } });
    expect(one(manifests, 'Deployment').metadata.annotations).toEqual({ 'secret.reloader.stakater.com/reload': 'web-auth' });
  });

  test('the config checksum changes when the config changes', () => {
    const checksum = (svc: HaproxyServiceOptions) => {
      const chart = Testing.chart();
      new HaproxyBalancer(chart, 'lb', { config: { services: [svc] } });
      return one(Testing.synth(chart), 'Deployment').spec.template.metadata.annotations['checksum/config'];
    };
    const base = checksum(webService());
    expect(checksum(webService())).toEqual(base);
    expect(checksum(webService({ balance: HaproxyBalance.LEAST_CONN }))).not.toEqual(base);
    expect(checksum(webService({ targets: HaproxyTargets.endpoints([{ host: '10.0.0.2', port: 80 }]) }))).not.toEqual(base);
  });

  test('service port names: the service name when it fits, else a stable short form', () => {
    const chart = Testing.chart();
    const lb = new HaproxyBalancer(chart, 'lb', {
      config: {
        services: [
          webService({ name: 'webapp-frontend', port: 3000 }), // 15 characters: fits
          webService({ name: 'ollama-cluster-gpu-pool', port: 8000 }),
          webService({ name: 'a--b', port: 8001 }), // "--" is not allowed in port names
          webService({ name: '1234', port: 8002 }), // port names need a letter
        ],
      },
    });
    const names = lb.service.ports.map(p => p.name!);
    // the short form: up to 10 characters of the name ("--" collapsed; "p" first when it has no letter), "-", 4 hex of sha256(name)
    const hash = (n: string) => createHash('sha256').update(n).digest('hex').slice(0, 4);
    expect(names).toEqual(['webapp-frontend', `ollama-clu-${hash('ollama-cluster-gpu-pool')}`, `a-b-${hash('a--b')}`, `p1234-${hash('1234')}`, 'metrics']);
    for (const n of names) expect(n).toMatch(/^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$/);
    expectValidBundle(Testing.synth(chart));
  });
});

describe('HaproxyBalancer NetworkPolicy', () => {
  const policy = (
    configure: (lb: HaproxyBalancer) => void = () => {},
    config: HaproxyConfigProps = { services: [webService()] },
    props: Partial<HaproxyBalancerProps> = {},
  ) => {
    const chart = Testing.chart();
    const lb = new HaproxyBalancer(chart, 'lb', { config, ...props });
    configure(lb);
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    return { lb, manifests, np: byKind(manifests, 'NetworkPolicy')[0] };
  };

  test('service ports closed until allowClients; metrics from monitoring; egress DNS and backends', () => {
    const { np, manifests, lb } = policy();
    expect(np.spec.podSelector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'haproxy', 'app.kubernetes.io/instance': lb.name });
    const podLabels = one(manifests, 'Deployment').spec.template.metadata.labels;
    expect(Object.entries(np.spec.podSelector.matchLabels).every(([k, v]) => podLabels[k] === v)).toBe(true);
    expect(np.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(np.spec.ingress).toEqual([
      { ports: [{ port: 8404, protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] },
    ]);
    expect(np.spec.egress).toEqual([{
      ports: [{ port: 53, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }, { port: 80, protocol: 'TCP' }],
    }]);
  });

  test('allowClients opens the service ports to those peers (added after construction too)', () => {
    const frpc = NetworkPeer.pods({ 'app.kubernetes.io/name': 'frpc' });
    const { np } = policy(lb => lb.allowClients(frpc), {
      services: [webService(), webService({ name: 'pg', port: 15432, mode: HaproxyMode.TCP, acceptProxy: true })],
    }, { monitoringPeers: [NetworkPeer.cidr('10.1.0.0/16')] });
    expect(np.spec.ingress).toEqual([
      { ports: [{ port: 8080, protocol: 'TCP' }, { port: 15432, protocol: 'TCP' }], from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'frpc' } } }] },
      { ports: [{ port: 8404, protocol: 'TCP' }], from: [{ ipBlock: { cidr: '10.1.0.0/16' } }] },
    ]);
  });

  test('egress covers discovered servers and custom nameservers', () => {
    const { np } = policy(undefined, {
      services: [
        webService({ targets: HaproxyTargets.dns({ hostname: 'web.apps.svc.cluster.local', port: 3000 }) }),
        webService({ name: 'api', port: 8081, targets: HaproxyTargets.endpoints([{ host: 'api.internal', port: 9090 }, { host: '10.0.0.9', port: 9090 }]) }),
      ],
      resolvers: { nameservers: [{ address: '10.96.0.10', port: 5353 }] },
    });
    expect(np.spec.egress[0].ports.map((p: any) => `${p.port}/${p.protocol}`)).toEqual(['53/TCP', '53/UDP', '3000/TCP', '5353/TCP', '5353/UDP', '9090/TCP']);
  });

  test('networkPolicy false renders none', () => {
    const { np, lb } = policy(undefined, undefined, { networkPolicy: false });
    expect(np).toBeUndefined();
    expect(lb.networkPolicy).toBeUndefined();
  });
});

describe('HaproxyBalancer replicas that share state (issue 9, defect 10)', () => {
  const affinity = HaproxyAffinity.sourceAddress();
  const pg = (extra: Partial<HaproxyServiceOptions> = {}) => webService({
    name: 'pg',
    port: 15432,
    mode: HaproxyMode.TCP,
    acceptProxy: true,
    affinity,
    targets: HaproxyTargets.dns({ hostname: 'pg.db.svc.cluster.local', port: 5432 }),
    ...extra,
  });

  test('source affinity over 2 replicas: a StatefulSet whose pods share the stick table through peers at stable Service addresses', () => {
    const chart = new Chart(Testing.app(), 'c', { namespace: 'db' });
    const lb = new HaproxyBalancer(chart, 'lb', { name: 'pg-lb', replicas: 3, config: { services: [pg()] } });
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    expect(byKind(manifests, 'Deployment')).toEqual([]);
    expect(lb.deployment).toBeUndefined();
    expect(lb.workload).toBe(lb.statefulSet);
    const sts = one(manifests, 'StatefulSet');
    expect(sts.spec).toMatchObject({ replicas: 3, podManagementPolicy: 'Parallel', serviceName: 'pg-lb' });
    expect(sts.spec.selector.matchLabels).toEqual(lb.podLabels);
    expect(sts.spec.template.metadata.labels).not.toHaveProperty(['cdk8s.io/metadata.addr']);
    const c = sts.spec.template.spec.containers[0];
    expect(c.env).toEqual([{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]);
    expect(c.ports).toContainEqual({ name: 'peers', containerPort: 10000 });
    // one stable address per pod: a ClusterIP Service for pod <name>-<i>, ready or not
    const peerSvcs = byKind(manifests, 'Service').filter(x => x.metadata.name.startsWith('pg-lb-peer-'));
    expect(peerSvcs.map(x => [x.metadata.name, x.spec.selector['statefulset.kubernetes.io/pod-name'], x.spec.publishNotReadyAddresses, x.spec.ports]))
      .toEqual([0, 1, 2].map(i => [`pg-lb-peer-${i}`, `pg-lb-${i}`, true, [{ name: 'peers', port: 10000, targetPort: 10000 }]]));
    for (const x of peerSvcs) expect(x.spec.clusterIP).toBeUndefined();
    // the main Service selects all pods by the recommended labels only
    const main = byKind(manifests, 'Service').find(x => x.metadata.name === 'pg-lb');
    expect(main.spec.selector).toEqual(lb.podLabels);
    // the config names those addresses; the pod name picks the local peer
    const text = cfgText(manifests);
    expect(section(text, 'global')).toContain('localpeer "${POD_NAME}"');
    expect(section(text, 'peers frp').filter(l => /^server \S+ /.test(l))).toEqual([0, 1, 2].map(i => `server pg-lb-${i} pg-lb-peer-${i}.db.svc:10000`));
    expect(section(text, 'backend be_pg')).toContain('stick-table type ipv6 size 100000 expire 1h srvkey addr peers frp');
    // peers reach each other through the NetworkPolicy
    const np = one(manifests, 'NetworkPolicy');
    expect(np.spec.ingress).toContainEqual({ ports: [{ port: 10000, protocol: 'TCP' }], from: [{ podSelector: { matchLabels: lb.podLabels } }] });
    // ... and only each other: port 10000 is not in the open egress rule, but in one to the balancer's pods
    expect(np.spec.egress[0].ports).not.toContainEqual({ port: 10000, protocol: 'TCP' });
    expect(np.spec.egress).toContainEqual({ ports: [{ port: 10000, protocol: 'TCP' }], to: [{ podSelector: { matchLabels: lb.podLabels } }] });
  });

  test.each<[string, Partial<HaproxyBalancerProps>, HaproxyServiceOptions]>([
    ['one replica (its table is the only one)', { replicas: 1 }, pg()],
    ['no stick table (least-conn)', {}, pg({ affinity: undefined, balance: HaproxyBalance.LEAST_CONN })],
    ['client-address hashing (stateless, the same in every replica)', {}, pg({ affinity: undefined, balance: HaproxyBalance.SOURCE })],
    ['a rate limit only (counters stay per replica)', {}, pg({ affinity: undefined, rateLimit: { limit: 10 } })],
  ])('%s: a Deployment, no peers', (_name, extra, service) => {
    const chart = Testing.chart();
    const lb = new HaproxyBalancer(chart, 'lb', { ...extra, config: { services: [service] } });
    const manifests = Testing.synth(chart);
    expect(byKind(manifests, 'StatefulSet')).toEqual([]);
    expect(one(manifests, 'Deployment').spec.replicas).toBe(extra.replicas ?? 2);
    expect(lb.peerServices).toEqual([]);
    expect(cfgText(manifests)).not.toMatch(/^peers /m);
  });

  test('the rendezvous script is mounted next to haproxy.cfg and rolls the pods when it changes', () => {
    const chart = Testing.chart();
    new HaproxyBalancer(chart, 'lb', { config: { services: [pg({ affinity: undefined, balance: HaproxyBalance.SOURCE })] } });
    const manifests = Testing.synth(chart);
    const cm = one(manifests, 'ConfigMap');
    expect(Object.keys(cm.data).sort()).toEqual(['frp-rendezvous.lua', 'haproxy.cfg']);
    expect(section(cm.data['haproxy.cfg'], 'global')).toContain(`lua-load ${HaproxyBalancer.CONFIG_DIR}/frp-rendezvous.lua`);
    expect(haproxyContainer(manifests).volumeMounts).toContainEqual({ mountPath: HaproxyBalancer.CONFIG_DIR, name: 'config', readOnly: true });
    const sum = one(manifests, 'Deployment').spec.template.metadata.annotations['checksum/config'];
    expect(sum).toBe(createHash('sha256').update(`${cm.data['haproxy.cfg']}\0${cm.data['frp-rendezvous.lua']}`).digest('hex'));
  });

  test('peers and scriptDir are the balancer\'s to set', () => {
    const chart = Testing.chart();
    expect(() => new HaproxyBalancer(chart, 'a', { config: { services: [pg()], peers: { peers: [{ name: 'x', host: 'x' }] } } }))
      .toThrow('config.peers: is set by the balancer (one peer per replica when replicas share stick tables): leave it out');
    expect(() => new HaproxyBalancer(chart, 'b', { name: 'b', config: { services: [pg()], scriptDir: '/etc' } }))
      .toThrow('config.scriptDir: is where the balancer mounts the scripts (/usr/local/etc/haproxy): leave it out');
  });

  test('haproxy -c passes on the exact ConfigMap text of every replica (its pod name set, peer Services resolving)', () => {
    const root = `${h.dir}/root-peers`;
    const chart = rootedChart(root);
    new HaproxyBalancer(chart, 'lb', { config: { services: [pg(), pg({ name: 'pg-hash', port: 15433, affinity: undefined, balance: HaproxyBalance.SOURCE })] } });
    const manifests = Testing.synth(chart);
    writeBalancerScripts(manifests, root);
    for (const pod of ['haproxy-0', 'haproxy-1']) {
      const r = h.check(cfgText(manifests), { POD_NAME: pod });
      expect(r.output).not.toMatch(/ALERT/);
      expect(r.ok).toBe(true);
    }
  });
});

describe('HaproxyBalancer haproxy.cfg against the real binary', () => {
  test('haproxy -c passes on the exact ConfigMap text, with the mounted files in place', async () => {
    // GIVEN every balancer path under a temp root, and the Secret's keys written there
    const root = `${h.dir}/root-check`;
    const auth = `${root}${AUTH}`;
    const chart = rootedChart(root);
    const config: HaproxyConfigProps = {
      services: [
        webService({
          authentication: EndUserAuthentication.jwt({ publicKeyFile: `${auth}/public-key.pem` }),
          authorizationRules: [{ path: '/admin/*', roles: ['admin'] }],
          healthCheck: { type: HealthCheckType.HTTPS, caFile: `${auth}/ca.crt`, interval: Duration.seconds(5) },
        }),
        webService({ name: 'api', port: 8081, authentication: EndUserAuthentication.apiKey({ keysFile: `${auth}/keys` }) }),
        webService({
          name: 'pg',
          port: 15432,
          mode: HaproxyMode.TCP,
          acceptProxy: true,
          targets: HaproxyTargets.dns({ hostname: 'postgres.db.svc.cluster.local', port: 5432 }),
        }),
      ],
      statsSocket: `${root}${HaproxyBalancer.RUN_DIR}/admin.sock`,
    };
    const lb = new HaproxyBalancer(chart, 'lb', { config, authSecret: kplus.Secret.fromSecretName(chart, 'auth', 'web-auth') });
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    const text = cfgText(manifests);
    const c = haproxyContainer(manifests);
    expect(c.volumeMounts.map((m: any) => m.mountPath).sort()).toEqual([auth, `${root}/usr/local/etc/haproxy`, `${root}/var/run/haproxy`].sort());
    writeFiles({
      [`${auth}/public-key.pem`]: PUBLIC_KEY_PEM,
      [`${auth}/ca.crt`]: caPem(),
      [`${auth}/keys`]: 'key-one\n',
    });
    mkdirSync(`${root}/var/run/haproxy`, { recursive: true });
    expect(lb.config.referencedFiles()).toEqual([`${auth}/ca.crt`, `${auth}/keys`, `${auth}/public-key.pem`]);
    // WHEN / THEN
    const result = h.check(text);
    expect(result.output).not.toMatch(/ALERT/);
    expect(result.ok).toBe(true);

    // and the production text differs only by the root in front of the mounted paths
    const prod = Testing.chart();
    const rebased = (p: string) => p.replace(root, '');
    new HaproxyBalancer(prod, 'lb', {
      config: {
        ...config,
        services: [
          webService({
            authentication: EndUserAuthentication.jwt({ publicKeyFile: rebased(`${auth}/public-key.pem`) }),
            authorizationRules: [{ path: '/admin/*', roles: ['admin'] }],
            healthCheck: { type: HealthCheckType.HTTPS, caFile: rebased(`${auth}/ca.crt`), interval: Duration.seconds(5) },
          }),
          webService({ name: 'api', port: 8081, authentication: EndUserAuthentication.apiKey({ keysFile: rebased(`${auth}/keys`) }) }),
          config.services[2],
        ],
        statsSocket: rebased(config.statsSocket!),
      },
      authSecret: kplus.Secret.fromSecretName(prod, 'auth', 'web-auth'),
    });
    expect(cfgText(Testing.synth(prod))).toEqual(text.split(root).join(''));
  });

  test('the container command runs that text: the probe and metrics endpoints answer', async () => {
    const [web, metrics, health] = await loopback.ports(3);
    const chart = rootedChart(`${h.dir}/root-run`);
    new HaproxyBalancer(chart, 'lb', {
      config: { services: [webService({ port: web })], metrics: { port: metrics }, healthEndpoint: { port: health } },
    });
    const manifests = Testing.synth(chart);
    const c = haproxyContainer(manifests);
    expect(c.args.slice(0, 2)).toEqual(['-db', '-f']); // what the harness runs: haproxy -db -f FILE
    // the pod's listen addresses become the test's own (as the live harness makes them the pod's)
    const haproxy = await h.start(haproxyListenOn(cfgText(manifests), loopback.host), health, loopback.host);
    try {
      const probe = c.readinessProbe.httpGet;
      expect((await request({ host: loopback.host, port: probe.port, path: probe.path })).status).toBe(200);
      const svcMetrics = one(manifests, 'Service').spec.ports.find((p: any) => p.name === 'metrics');
      const scraped = await request({ host: loopback.host, port: svcMetrics.targetPort, path: '/metrics' });
      expect(scraped.status).toBe(200);
      expect(scraped.body).toMatch(/^haproxy_process_uptime_seconds /m);
    } finally {
      await haproxy.stop();
    }
  });
});

describe('HaproxyBalancer validation', () => {
  const build = (props: Partial<HaproxyBalancerProps>, chart = Testing.chart()) => () =>
    new HaproxyBalancer(chart, 'lb', { config: { services: [webService()] }, ...props });
  const services = (...s: HaproxyServiceOptions[]) => build({ config: { services: s } });
  const SHORT = `ollama-clu-${createHash('sha256').update('ollama-cluster-gpu-pool').digest('hex').slice(0, 4)}`;

  test.each<[string, () => unknown, string]>([
    ['no config', build({ config: undefined as unknown as HaproxyConfigProps }),
      'test/lb: config: is required: the HAProxy services to balance (HaproxyConfigProps)'],
    ['an invalid config (the model\'s message, with the construct path)', services(webService({ port: 0 })),
      'test/lb: config: haproxy service "web" port must be an integer between 1 and 65535, got 0'],
    ['a privileged service port', services(webService({ port: 80 })),
      'test/lb: config.services[0].port: must be 1024 or higher: haproxy runs as a non-root user and cannot bind port 80'],
    ['a privileged metrics port', build({ config: { services: [webService()], metrics: { port: 443 } } }),
      'test/lb: config.metrics.port: must be 1024 or higher: haproxy runs as a non-root user and cannot bind port 443'],
    ['a privileged health port', build({ config: { services: [webService()], healthEndpoint: { port: 81 } } }),
      'test/lb: config.healthEndpoint.port: must be 1024 or higher: haproxy runs as a non-root user and cannot bind port 81'],
    ['a file outside the auth directory', services(webService({ authentication: EndUserAuthentication.apiKey({ keysFile: '/etc/keys/api' }) })),
      'test/lb: config: file "/etc/keys/api" is not in a mounted directory: HAProxy can read files only from authSecret, mounted at /etc/haproxy/auth (use /etc/haproxy/auth/<secret key>)'],
    ['a file in a subdirectory of the auth directory', services(webService({ authentication: EndUserAuthentication.apiKey({ keysFile: `${AUTH}/x/keys` }) })),
      'test/lb: config: file "/etc/haproxy/auth/x/keys" is not in a mounted directory: HAProxy can read files only from authSecret, mounted at /etc/haproxy/auth (use /etc/haproxy/auth/<secret key>)'],
    ['a file without authSecret', services(webService({ authentication: EndUserAuthentication.bearerToken({ tokensFile: `${AUTH}/tokens` }) })),
      'test/lb: authSecret: is required: the config reads "/etc/haproxy/auth/tokens"; give the Secret whose keys are mounted at /etc/haproxy/auth'],
    ['a stats socket on the read-only root', build({ config: { services: [webService()], statsSocket: '/tmp/admin.sock' } }),
      'test/lb: config.statsSocket: must be a file directly in /var/run/haproxy (the only writable directory; the root filesystem is read-only), got "/tmp/admin.sock"'],
    ['a service named like the metrics port', services(webService({ name: 'metrics' })),
      'test/lb: config.services[0].name: "metrics" would name the Service port "metrics", which is reserved for the balancer\'s own "metrics" and "healthz" ports: choose another service name'],
    ['a name equal to the short form of another', services(webService({ name: 'ollama-cluster-gpu-pool' }), webService({ name: SHORT, port: 8081 })),
      `test/lb: config.services[1].name: "${SHORT}" and "ollama-cluster-gpu-pool" both give the Service port name "${SHORT}" (names longer than 15 characters are shortened to their first letters and a hash): rename one of them`],
    ['replicas 0', build({ replicas: 0 }), 'test/lb: replicas: must be an integer from 1 to 1000, got 0'],
    ['an unpinned image', build({ image: 'haproxy:latest' }),
      'test/lb: image: must be a pinned image (name:tag other than latest, or name@sha256:digest), got "haproxy:latest"'],
    ['an image without a tag', build({ image: 'haproxy' }),
      'test/lb: image: must be a pinned image (name:tag other than latest, or name@sha256:digest), got "haproxy"'],
    ['a relative fs root', build({}, rootedChart('tmp/x')),
      'test/lb: context cdk8s-frp:balancer-fs-root: must be an absolute directory path without a trailing "/", got "tmp/x"'],
  ])('fails: %s', (_name, fn, message) => {
    expect(fn).toThrow(new Error(message));
  });
});
