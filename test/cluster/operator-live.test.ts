import { X509Certificate, createPrivateKey, createPublicKey } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ensureNamespaces, kubectl, kubectlClean, startCluster, writeManifests } from './cluster';
import { OperatorProcess, eventually, operatorLock } from './operator-process';
import { parseFrpTomlValues as parse } from '../helpers';
import { Backends, onlineProxies, remotePortService, TOKEN, vhostService } from '../live/fixtures';
import { HttpBackend, httpRequest, TcpBackend, tcpAsk } from '../live/harness/backends';
import { mintCa } from '../live/harness/certs';
import { claimSubnet, LiveCluster, waitFor } from '../live/harness/cluster';
import { tryLogin } from '../live/harness/rogue';

/**
 * issue 17's test of record: the objects `cdk8s-frp operator` applied for two seed-like
 * services (tcp as postgres-proxy, http as ollama-cluster, both with mTLS from the CA),
 * read back from the API server together with the Secrets cert-manager issued (its real
 * keys) and the ones the user created, run in the live harness (real frps, frpc and
 * HAProxy on this test's own 127.B.0.0/16): every proxy online at frps, traffic through
 * both, frpc verifying frps with the issued certificates. The backends are the test's own
 * servers on 127.B.4.N, listed as the services' endpoints.
 */
jest.setTimeout(900_000);

const APPS = 'opl-apps';
const FRPS_NS = 'opl-frp';
// the CA goes to cert-manager's cluster resource namespace (scripts/test-cluster.sh runs cert-manager with cert-manager)
const CA_NS = 'cert-manager';
const MANAGER = 'cdk8s-frp-operator';
const KINDS = 'configmaps,services,deployments.apps,statefulsets.apps,daemonsets.apps,networkpolicies.networking.k8s.io,ingresses.networking.k8s.io,poddisruptionbudgets.policy,certificates.cert-manager.io,issuers.cert-manager.io,clusterissuers.cert-manager.io';
const CERT_MANAGER_KINDS = new Set(['Certificate', 'Issuer', 'ClusterIssuer']);

/** The two services: seed-like specs whose endpoints are the test's backends. */
function services(pg: string, llm: string): any[] {
  const meta = (name: string) => ({ apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', metadata: { name, namespace: APPS } });
  return [{
    ...meta('pg'),
    spec: {
      serviceType: 'tcp',
      backends: { endpoints: [{ host: pg, port: 5432 }] },
      expose: { type: 'port', port: 25432 },
      loadBalancing: { algorithm: 'ip-hash', healthCheck: { enabled: true, type: 'tcp', interval: '5s', failureThreshold: 2 } },
      security: { mtls: { enabled: true, mode: 'auto' } },
    },
  }, {
    ...meta('llm'),
    spec: {
      serviceType: 'http',
      backends: { endpoints: [{ host: llm, port: 11434 }] },
      expose: { type: 'domain', domain: 'llm.example.test', path: '/v1' },
      loadBalancing: { algorithm: 'least-conn', healthCheck: { enabled: true, type: 'http', path: '/health', interval: '5s', timeout: '2s' } },
      security: { mtls: { enabled: true, mode: 'auto' } },
    },
  }];
}

const getJson = (...args: string[]): any => JSON.parse(kubectlClean(['get', ...args, '-o', 'json']));

/** A Secret's data as the pods get it (decoded). */
function secretData(ns: string, name: string): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(getJson('secret', name, '-n', ns).data ?? {}).map(([k, v]) => [k, Buffer.from(v as string, 'base64')]));
}

/** The objects the operator applied (an Apply entry of its field manager) for this test's namespaces, as the API server holds them. */
function appliedObjects(): any[] {
  return getJson(KINDS, '-A', '-l', 'app.kubernetes.io/managed-by=cdk8s', '--show-managed-fields').items
    .filter((o: any) => (o.metadata.managedFields ?? []).some((f: any) => f.manager === MANAGER && f.operation === 'Apply'))
    .filter((o: any) => [APPS, FRPS_NS].includes(o.metadata.namespace) || o.metadata.name.startsWith(`frp-ca-${FRPS_NS}`));
}

/** Every Secret a workload's pods name (volumes, env), by namespace/name. */
function secretsNamed(objects: any[]): string[] {
  const out = new Set<string>();
  for (const o of objects) {
    const pod = o.spec?.template?.spec;
    if (!pod) continue;
    for (const v of pod.volumes ?? []) if (v.secret?.secretName) out.add(`${o.metadata.namespace}/${v.secret.secretName}`);
    for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
      for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef?.name) out.add(`${o.metadata.namespace}/${e.valueFrom.secretKeyRef.name}`);
    }
  }
  return [...out].sort();
}

let operator: OperatorProcess | undefined;
let cluster: LiveCluster | undefined;
let backends: Backends | undefined;
let releaseLock: (() => void) | undefined;
const work = mkdtempSync(join(tmpdir(), 'operator-live-'));

beforeAll(async () => {
  startCluster();
  releaseLock = await operatorLock();
  ensureNamespaces([APPS, FRPS_NS, CA_NS].map(namespace => ({ metadata: { namespace } })));
}, 1_800_000);

afterAll(async () => {
  await cluster?.stop();
  await backends?.closeAll();
  // what this test applied goes while the operator runs (the garbage collector takes the owned objects, the finalizer the rest)
  if (operator) kubectl(['delete', 'dsvc', '--all', '-n', APPS, '--wait=true', '--timeout=120s']);
  await operator?.stop('SIGKILL');
  releaseLock?.();
  rmSync(work, { recursive: true, force: true });
});

describe('the operator\'s objects on the live harness', () => {
  test('read back from the API server with the Secrets cert-manager issued, they run: every proxy online, traffic through, frpc verifies frps', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const pgIp = backends.address();
    const llmIp = backends.address();
    await backends.add(TcpBackend.start('pg-0', pgIp, 5432));
    await backends.add(HttpBackend.start('llm-0', llmIp, 11434));

    // the user's Secrets, as the operator's warnings tell them to create them
    for (const ns of [APPS, FRPS_NS]) kubectlClean(['create', 'secret', 'generic', 'frp-token', '-n', ns, `--from-literal=token=${TOKEN}`]);
    for (const name of ['pg', 'llm']) kubectlClean(['create', 'secret', 'generic', `${name}-group-key`, '-n', APPS, '--from-literal=group-key=live-group-key']);

    operator = new OperatorProcess(['--namespace', APPS, '--frps-namespace', FRPS_NS, '--cert-manager-namespace', CA_NS, '--no-leader-election']);
    await operator.waitFor('started');
    kubectlClean(['apply', '--server-side', '--field-manager=test-user', '-f', writeManifests('operator-live', services(pgIp, llmIp))]);
    // KWOK readies the pods, cert-manager issues the certificates
    await eventually(() => {
      const items = getJson('dsvc', '-n', APPS).items;
      return items.length === 2 && items.every((d: any) => d.status?.state === 'Running' && d.status.observedGeneration === d.metadata.generation) ? true : undefined;
    }, () => JSON.stringify(getJson('dsvc', '-n', APPS).items.map((d: any) => [d.metadata.name, d.status])), 600_000, 2_000);

    // what the operator applied, read back (status and managed fields are the server's), and the Secrets its pods name
    const applied = appliedObjects();
    const kinds = applied.map(o => o.kind);
    for (const k of ['Deployment', 'ConfigMap', 'Service', 'NetworkPolicy', 'Certificate', 'ClusterIssuer']) expect(kinds).toContain(k);
    const runnable = applied.filter(o => !CERT_MANAGER_KINDS.has(o.kind)).map(o => {
      const { managedFields: _m, ...metadata } = o.metadata;
      const { status: _s, ...rest } = o;
      return { ...rest, metadata };
    });
    const secrets: Record<string, Record<string, Buffer>> = {};
    for (const ref of secretsNamed(runnable)) {
      const [ns, name] = ref.split('/');
      secrets[ref] = secretData(ns, name);
    }
    // cert-manager issued every Certificate the operator applied: a real key and certificate, from the bundle's CA
    const certificates = applied.filter(o => o.kind === 'Certificate');
    const caCert = certificates.find(c => c.spec.isCA);
    const ca = new X509Certificate(secretData(caCert.metadata.namespace, caCert.spec.secretName)['tls.crt']);
    for (const c of certificates.filter(x => !x.spec.isCA)) {
      const ref = `${c.metadata.namespace}/${c.spec.secretName}`;
      const data = secretData(c.metadata.namespace, c.spec.secretName);
      const cert = new X509Certificate(data['tls.crt']);
      expect([ref, cert.verify(ca.publicKey), cert.checkPrivateKey(createPrivateKey(data['tls.key']))]).toEqual([ref, true, true]);
      expect([ref, new X509Certificate(data['ca.crt']).fingerprint256]).toEqual([ref, ca.fingerprint256]);
      expect(getJson('secret', c.spec.secretName, '-n', c.metadata.namespace).metadata.annotations['cert-manager.io/certificate-name']).toBe(c.metadata.name);
    }
    // every Secret a pod names exists in the cluster; the certificates' come from cert-manager, not from the harness
    expect(Object.keys(secrets).filter(k => Object.keys(secrets[k]).length === 0)).toEqual([]);
    expect(Object.keys(secrets)).toEqual(expect.arrayContaining(certificates.filter(c => !c.spec.isCA).map(c => `${c.metadata.namespace}/${c.spec.secretName}`)));

    cluster = await LiveCluster.start(runnable, { subnet, secrets });
    const c = cluster;
    await c.waitAllReady(120_000);
    // every proxy of every frpc pod online at frps
    let expected = 0;
    for (const cm of runnable.filter(o => o.kind === 'ConfigMap' && o.data?.['frpc.toml'])) {
      const proxies = (parse(cm.data['frpc.toml']) as any).proxies?.length ?? 0;
      const mounts = (p: any) => (p.workload.spec.template.spec.volumes ?? []).some((v: any) => v.configMap?.name === cm.metadata.name);
      expected += proxies * c.podsOf(p => p.namespace === cm.metadata.namespace && mounts(p)).length;
    }
    expect(expected).toBeGreaterThanOrEqual(4);
    await waitFor(`${expected} proxies online`, async () => (await onlineProxies(c)).length === expected, 120_000)
      .catch(async (e) => { throw new Error(`${e.message} (online: ${(await onlineProxies(c)).join(', ')})\n${c.allLogs()}`); });

    // traffic through: tcp on the exposed port, http by domain and path at frps' vhost
    let answer = '';
    await waitFor('a tcp answer through the tunnel', async () => (answer = await tcpAsk({ ...c.address(remotePortService(c, 25432), 25432), timeoutMs: 2_000 })).startsWith('pg-0'), 60_000)
      .catch((e) => { throw new Error(`${e.message} (last: ${answer})\n${c.allLogs()}`); });
    const vhost = c.address(vhostService(c), 'http');
    let status = 0;
    await waitFor('an http answer through the tunnel', async () => {
      const r = await httpRequest({ ...vhost, path: '/v1/models', headers: { host: 'llm.example.test' }, timeoutMs: 3_000 });
      status = r.status;
      return r.answer?.instance === 'llm-0' && r.answer.path === '/v1/models';
    }, 60_000).catch((e) => { throw new Error(`${e.message} (last status ${status})\n${c.allLogs()}`); });

    // frpc verifies frps with the issued CA and presents the issued client certificate
    for (const cm of runnable.filter(o => o.kind === 'ConfigMap' && o.data?.['frpc.toml'])) {
      const tls = (parse(cm.data['frpc.toml']) as any).transport.tls;
      expect([cm.metadata.name, typeof tls.trustedCaFile, typeof tls.certFile, tls.serverName]).toEqual([cm.metadata.name, 'string', 'string', expect.any(String)]);
    }
    for (const pod of c.podsOf(p => p.workload.metadata.name.endsWith('-frpc'))) expect(c.logs(pod)).toMatch(/login to server success/);
    const frpcCertificate = certificates.find(x => x.metadata.namespace === APPS && x.spec.usages?.includes('client auth'));
    const clientCert = secretData(APPS, frpcCertificate.spec.secretName);
    const frpsCm = runnable.find(o => o.kind === 'ConfigMap' && o.data?.['frps.toml']);
    const frpcCm = runnable.find(o => o.kind === 'ConfigMap' && o.metadata.namespace === APPS && o.data?.['frpc.toml']);
    const serverName = (parse(frpcCm.data['frpc.toml']) as any).transport.tls.serverName;
    const control = c.address(c.findService('frps control', s => s.metadata.namespace === FRPS_NS && s.spec.ports?.some((p: any) => p.name === 'control')), 'control');
    expect(frpsCm.metadata.namespace).toBe(FRPS_NS);
    // the same frpc, client certificate and frps, only the CA differs: with the issued CA it logs in; with a CA that did not
    // issue frps' certificate, frpc refuses frps at the handshake
    const trusted = await tryLogin({ server: control, token: TOKEN, tls: { cert: clientCert, ca: clientCert['ca.crt'], serverName }, dir: work });
    expect(trusted.log).toMatch(/login to server success/);
    const stranger = mintCa(work, 'stranger CA');
    const refused = await tryLogin({ server: control, token: TOKEN, tls: { cert: clientCert, ca: stranger['tls.crt'], serverName }, dir: work });
    expect(refused.ok).toBe(false);
    expect(refused.log).toMatch(/login to the server failed/);
    // frps serves the certificate cert-manager issued (the harness issued none: the Certificates were not given to it)
    const frpsTls = certificates.find(x => x.metadata.namespace === FRPS_NS && x.spec.usages?.includes('server auth'));
    expect(c.secretData(FRPS_NS, frpsTls.spec.secretName)['tls.crt'].equals(secretData(FRPS_NS, frpsTls.spec.secretName)['tls.crt'])).toBe(true);
    const frpsSecret = secretData(FRPS_NS, frpsTls.spec.secretName);
    const spki = { format: 'pem', type: 'spki' } as const;
    expect(createPublicKey(createPrivateKey(frpsSecret['tls.key'])).export(spki)).toEqual(new X509Certificate(frpsSecret['tls.crt']).publicKey.export(spki));
  });
});
