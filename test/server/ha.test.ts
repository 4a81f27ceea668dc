import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { parseAllDocuments } from 'yaml';
import {
  CertificateAuthority, DistributedService, ServiceProtocol, ExposeType, FrpAuth, FrpProxyType, FrpServer, NetworkPeer,
} from '../../lib';
import { main } from '../../lib/cli/render';
import { checkWiring, expectValidBundle, parseFrpTomlValues, withoutRequiredSecrets } from '../helpers';
import { testRules } from '../monitoring/promtool';

const frpsPods = (m: any[]) => m.filter(o => o.kind === 'Deployment' && o.metadata.labels['app.kubernetes.io/name'] === 'frps');
const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

/** An HA frps (3 replicas, mTLS) in `frp` and an http and a udp service in `apps`. */
function haBundle() {
  const app = Testing.app();
  const frp = new Chart(app, 'frp', { namespace: 'frp' });
  const apps = new Chart(app, 'apps', { namespace: 'apps' });
  const server = new FrpServer(frp, 'frps', {
    auth: FrpAuth.token(kplus.Secret.fromSecretName(frp, 'token', 'frp-token')),
    certificateAuthority: new CertificateAuthority(frp, 'ca', { clusterWide: true }),
    replicas: 3,
  });
  const web = new DistributedService(apps, 'web', {
    server,
    serviceType: ServiceProtocol.HTTP,
    backends: { replicas: 2, endpoints: [{ host: 'web-0.apps.svc', port: 8080 }, { host: 'web-1.apps.svc', port: 8080 }] },
    expose: { domain: 'web.example.com' },
  });
  const dns = new DistributedService(apps, 'dns', {
    server,
    serviceType: ServiceProtocol.UDP,
    backends: { endpoints: [{ host: 'dns.apps.svc', port: 53 }] }, // udp: one frpc (no udp groups)
    expose: { type: ExposeType.PORT, port: 5353 },
  });
  return { app, server, web, dns, manifests: [...Testing.synth(frp), ...Testing.synth(apps)] };
}

describe('HA frps: replicas', () => {
  test('one Deployment and one control Service per replica; the shared Services and the PDB cover all of them', () => {
    const { server, manifests } = haBundle();
    expectValidBundle(manifests);
    expect(checkWiring(manifests)).toEqual([]);
    const pods = frpsPods(manifests);
    expect(pods).toHaveLength(3);
    expect(pods.map(d => [d.spec.replicas, d.spec.template.metadata.labels['frp.io/frps-replica']])).toEqual([[1, '0'], [1, '1'], [1, '2']]);
    // every replica mounts the same frps.toml and is probed
    const configs = new Set(pods.map(d => d.spec.template.spec.volumes.find((v: any) => v.configMap).configMap.name));
    expect(configs.size).toBe(1);
    // a (re)started replica is ready only after its members had time to log in again (frpc retries up to 20 s)
    for (const d of pods) expect(d.spec.template.spec.containers[0].readinessProbe).toMatchObject({ httpGet: { path: '/healthz' }, initialDelaySeconds: 25 });

    // per-replica Services: each selects exactly its replica
    expect(server.replicaHosts).toEqual(server.replicaServices.map(s => `${s.name}.frp.svc`));
    server.replicaServices.forEach((svc, i) => {
      const obj = manifests.find(o => o.kind === 'Service' && o.metadata.name === svc.name);
      expect(obj.spec.ports).toEqual([{ name: 'control', port: 7000, targetPort: 7000 }]);
      // members log in before the replica is ready
      expect(obj.spec.publishNotReadyAddresses).toBe(true);
      expect(pods.filter(d => selects(obj.spec.selector, d.spec.template.metadata.labels)).map(d => d.spec.template.metadata.labels['frp.io/frps-replica'])).toEqual([String(i)]);
    });
    // the control (metrics), vhost, udp exposure Services select all three
    const shared = manifests.filter(o => o.kind === 'Service' && o.metadata.namespace === 'frp' && !server.replicaServices.some(s => s.name === o.metadata.name));
    expect(shared.map(s => s.spec.ports.map((p: any) => p.name).join(','))).toEqual(['control,metrics', 'http', 'udp']);
    for (const svc of shared) expect(pods.filter(d => selects(svc.spec.selector, d.spec.template.metadata.labels))).toHaveLength(3);
    const pdb = manifests.find(o => o.kind === 'PodDisruptionBudget');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: server.podLabels } });
    for (const d of pods) expect(selects(pdb.spec.selector.matchLabels, d.spec.template.metadata.labels)).toBe(true);
    // each replica prefers a node without another replica of this server (it selects all three, itself included)
    for (const d of pods) {
      const [term] = d.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
      expect(term).toEqual({ weight: 100, podAffinityTerm: { labelSelector: { matchLabels: server.podLabels }, topologyKey: 'kubernetes.io/hostname' } });
      expect(pods.filter(p => selects(term.podAffinityTerm.labelSelector.matchLabels, p.spec.template.metadata.labels))).toHaveLength(3);
    }
    // frpc verifies each replica by its name: the server certificate names every replica Service
    const cert = manifests.find(o => o.kind === 'Certificate' && o.spec.usages?.includes('server auth'));
    for (const h of server.replicaHosts) expect(cert.spec.dnsNames).toContain(h);
  });

  test('every frpc pod runs one frpc per replica, each with its own config, server and admin port', () => {
    const { server, web, manifests } = haBundle();
    const pool = manifests.find(o => o.kind === 'Deployment' && o.metadata.labels['frp.io/distributed-service'] === 'web');
    const containers = pool.spec.template.spec.containers;
    expect(containers.map((c: any) => [c.name, c.args])).toEqual([0, 1, 2].map(i => [`frpc-${i}`, ['-c', `/etc/frp/replica-${i}.frpc.toml`]]));
    expect(containers.map((c: any) => c.readinessProbe.exec.command.at(-1))).toEqual(['http://127.0.0.1:7400/healthz', 'http://127.0.0.1:7401/healthz', 'http://127.0.0.1:7402/healthz']);
    // each one's preStop stops its own frpc (the admin port its config names)
    expect(containers.map((c: any) => /^frpc stop -c (\S+) /.exec(c.lifecycle.preStop.exec.command[2])?.[1]))
      .toEqual([0, 1, 2].map(i => `/etc/frp/replica-${i}.frpc.toml`));
    // each container has the token file and the client certificate
    for (const c of containers) expect(c.volumeMounts.map((m: any) => m.mountPath).sort()).toEqual(['/etc/frp', '/etc/frp/auth', '/etc/frp/tls']);
    const cm = manifests.find(o => o.kind === 'ConfigMap' && o.metadata.name === pool.spec.template.spec.volumes.find((v: any) => v.configMap).configMap.name);
    expect(Object.keys(cm.data)).toEqual(['replica-0.frpc.toml', 'replica-1.frpc.toml', 'replica-2.frpc.toml']);
    const configs = [0, 1, 2].map(i => parseFrpTomlValues(cm.data[`replica-${i}.frpc.toml`]));
    expect(configs.map(c => c.serverAddr)).toEqual(server.replicaHosts);
    expect(configs.map(c => c.webServer.port)).toEqual([7400, 7401, 7402]);
    // the same members (same group) on every replica; each logs in as the pod
    for (const c of configs) {
      expect(c.user).toBe('{{ .Envs.FRP_USER }}'); // <namespace>.<pod>
      expect(c.proxies).toEqual(configs[0].proxies);
      expect(c.transport.tls.serverName).toBe(server.host);
    }
    expect(configs[0].proxies.map((p: any) => p.loadBalancer.group)).toEqual(['apps-web', 'apps-web']);
    expect(web.clientPool.renderConfig(2)).toBe(cm.data['replica-2.frpc.toml']);
  });

  test('udp: every replica serves the port; the exposed Service keeps a client on one replica (ClientIP)', () => {
    const { manifests } = haBundle();
    const svc = manifests.find(o => o.kind === 'Service' && o.spec.ports.some((p: any) => p.protocol === 'UDP'));
    expect(svc.spec.sessionAffinity).toBe('ClientIP');
    expect(svc.spec.ports).toEqual([{ name: 'udp', port: 5353, targetPort: 5353, protocol: 'UDP' }]);
  });

  test('one replica renders as before: no replica labels, no per-replica Services, no PDB, one frpc.toml', () => {
    const chart = new Chart(Testing.app(), 'c', { namespace: 'frp' });
    const server = new FrpServer(chart, 'frps', { auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 't', 'frp-token')) });
    new DistributedService(chart, 'web', { server, serviceType: ServiceProtocol.HTTP, backends: { endpoints: [{ host: 'w', port: 80 }] }, expose: { domain: 'w.example.com' } });
    const m = Testing.synth(chart);
    expect(frpsPods(m)).toHaveLength(1);
    expect(frpsPods(m)[0].metadata.labels['frp.io/frps-replica']).toBeUndefined();
    expect(frpsPods(m)[0].spec.template.spec.containers[0].readinessProbe.initialDelaySeconds).toBeUndefined();
    expect(m.filter(o => o.kind === 'PodDisruptionBudget')).toEqual([]);
    expect(server.replicaHosts).toEqual([server.host]);
    expect(Object.keys(m.find(o => o.kind === 'ConfigMap' && o.data['frpc.toml']).data)).toEqual(['frpc.toml']);
  });

  test('monitoring: the members alert checks each replica (promtool: one replica short of members fires for that pod only)', () => {
    const chart = new Chart(Testing.app(), 'edge', { namespace: 'edge' });
    const server = new FrpServer(chart, 'frps', {
      auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 't', 'frp-token')),
      replicas: 2,
      monitoring: { alerts: { expectedProxies: [{ proxyType: FrpProxyType.HTTP, minimum: 2, proxyName: 'web' }] } },
    });
    const [rule] = Testing.synth(chart).filter(o => o.kind === 'PrometheusRule');
    const members = rule.spec.groups.flatMap((g: any) => g.rules).find((r: any) => r.alert === 'FrpProxyMembersBelowExpected');
    expect(members.expr).toContain('sum by (namespace, job, pod)');
    const job = server.monitoring!.target.job;
    const target = (pod: string) => `job="${job}", namespace="edge", pod="${pod}", service="${job}", endpoint="metrics"`;
    const member = (pod: string, name: string) => ({ series: `frp_server_proxy_counts_detailed{${target(pod)}, type="http", name="${name}.web"}`, values: '1x30' });
    testRules(rule.spec, {
      tests: [{
        name: 'frps-b lost a member, frps-a has both',
        interval: '1m',
        input_series: [
          { series: `up{${target('frps-a')}}`, values: '1x30' },
          { series: `up{${target('frps-b')}}`, values: '1x30' },
          member('frps-a', 'frpc-1'), member('frps-a', 'frpc-2'), member('frps-b', 'frpc-1'),
        ],
        alert_rule_test: [{
          eval_time: '10m',
          alertname: 'FrpProxyMembersBelowExpected',
          exp_alerts: [{
            exp_labels: { job, namespace: 'edge', pod: 'frps-b', proxy: 'web', proxy_type: 'http', severity: 'warning' },
            exp_annotations: {
              summary: `Too few members of http proxy web on frps edge/${job}`,
              description: `frps edge/${job} has 1 members of http proxy web, fewer than the 2 expected, for 5 minutes. Check the frpc pods (crash loops, failing health checks) and the load-balancing group settings.`,
              runbook_url: 'https://github.com/cdk8s-frp/cdk8s-frp#runbook-frpproxymembersbelowexpected',
            },
          }],
        }],
      }],
    });
  });

  test.each<[string, any, string]>([
    ['0 replicas', { replicas: 0 }, 'replicas: must be'],
    ['10 replicas', { replicas: 10 }, 'replicas: must be'],
    ['external access', { replicas: 2, externalAccess: { addresses: ['a.example.com'] }, clientPeers: [NetworkPeer.cidr('10.0.0.0/8')] },
      'externalAccess: is for one frps: with 2 replicas an outside frpc would reach one replica'],
  ])('refuses %s', (_name, props, message) => {
    const chart = Testing.chart();
    expect(() => new FrpServer(chart, 'frps', { auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 't', 'frp-token')), ...props })).toThrow(message);
  });

  test('CLI: --frps-replicas', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cdk8s-frp-ha-'));
    const file = join(dir, 'svc.yaml');
    writeFileSync(file, `apiVersion: frp.io/v1beta1
kind: DistributedService
metadata: {name: pg}
spec:
  serviceType: tcp
  backends: {endpoints: [{host: pg.internal, port: 5432}]}
  expose: {type: port, port: 5432}
`);
    let out = '';
    let err = '';
    expect(main(['render', '--frps-replicas', '3', file], s => { out += s; }, s => { err += s; })).toBe(0);
    expect(withoutRequiredSecrets(err)).toBe('');
    const docs = parseAllDocuments(out).map(d => d.toJS());
    expectValidBundle(docs);
    expect(checkWiring(docs)).toEqual([]);
    expect(frpsPods(docs)).toHaveLength(3);
    expect(docs.filter(o => o.kind === 'PodDisruptionBudget')).toHaveLength(1);
    const r = main(['render', '--frps-replicas', '12', file], () => undefined, s => { err = s; });
    expect(r).toBe(1);
    expect(err).toContain('--frps-replicas must be 1 to 9');
  });
});
