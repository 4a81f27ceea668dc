import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import { cliRender, withNamespacePrefix } from './bundles';
import { KubectlResult, RESTRICTED_POD, ensureNamespaces, kubectl, kubectlClean, serverSideApply, startCluster, toYaml, writeManifests } from './cluster';

jest.setTimeout(600_000);
beforeAll(() => startCluster());

/**
 * The controllers of the test cluster (scripts/test-cluster.sh) act as in a real
 * one: kube-controller-manager, kube-scheduler, KWOK's nodes and cert-manager.
 * Waits are kubectl's own (`kubectl wait`, bounded); nothing here is timed.
 */

/** `kubectl wait ARGS --timeout=SECONDS` (kubectl itself is killed a little later). */
function kubectlWait(args: string[], seconds = 150): KubectlResult {
  return kubectl(['wait', ...args, `--timeout=${seconds}s`], undefined, (seconds + 30) * 1000);
}

function expectWait(args: string[], seconds?: number): void {
  const r = kubectlWait(args, seconds);
  expect({ args, status: r.status, stderr: r.stderr }).toEqual({ args, status: 0, stderr: '' });
}

const getJson = (...args: string[]): any => JSON.parse(kubectlClean(['get', ...args, '-o', 'json']));
const secretData = (ns: string, name: string): Record<string, string> => Object.fromEntries(
  Object.entries(getJson('secret', name, '-n', ns).data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

const deployment = (ns: string, name: string, replicas: number, podSpec: any) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: podSpec } },
});

describe('kube-controller-manager, kube-scheduler and KWOK', () => {
  const ns = 'cp-workloads';
  const web = deployment(ns, 'web', 3, RESTRICTED_POD);
  let replicaSet: any;
  let pods: any[];
  beforeAll(() => {
    ensureNamespaces([web]);
    const r = serverSideApply(writeManifests('cp-web', [web]));
    expect([r.status, r.stderr]).toEqual([0, '']);
  });

  test('the cluster has its fake nodes, Ready', () => {
    const nodes = getJson('nodes', '-l', 'type=kwok').items;
    expect(nodes.map((n: any) => n.metadata.name).sort()).toEqual(['kwok-node-0', 'kwok-node-1', 'kwok-node-2']);
    for (const n of nodes) {
      expect(n.status.conditions.find((c: any) => c.type === 'Ready')?.status).toBe('True');
      expect(n.metadata.annotations['kwok.x-k8s.io/node']).toBe('fake');
      expect(n.spec.taints).toBeUndefined(); // the node lifecycle controller took node.kubernetes.io/not-ready off
    }
  });

  test('a Deployment in a restricted namespace becomes Available: ReplicaSet, pods scheduled on the nodes, Running and Ready', () => {
    expectWait(['--for=condition=Available', 'deployment/web', '-n', ns]);
    const live = getJson('deployment', 'web', '-n', ns);
    expect([live.status.replicas, live.status.readyReplicas, live.status.availableReplicas]).toEqual([3, 3, 3]);

    const sets = getJson('replicasets', '-n', ns, '-l', 'app=web').items;
    expect(sets).toHaveLength(1);
    replicaSet = sets[0];
    expect(replicaSet.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Deployment', name: 'web', uid: live.metadata.uid, controller: true })]);

    pods = getJson('pods', '-n', ns, '-l', 'app=web').items;
    expect(pods).toHaveLength(3);
    for (const pod of pods) {
      expect(pod.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'ReplicaSet', uid: replicaSet.metadata.uid, controller: true })]);
      expect(pod.spec.nodeName).toMatch(/^kwok-node-[0-2]$/);
      expect(pod.status.phase).toBe('Running');
      expect(pod.status.conditions.find((c: any) => c.type === 'Ready')?.status).toBe('True');
      expect(pod.status.containerStatuses).toEqual([expect.objectContaining({ name: 'app', ready: true, state: { running: expect.anything() } })]);
      // the ServiceAccount admission plugin found the namespace's "default" account
      // (made by the controller-manager) and mounted its token and kube-root-ca.crt
      expect(pod.spec.serviceAccountName).toBe('default');
      expect(pod.spec.volumes.find((v: any) => v.name.startsWith('kube-api-access-'))?.projected.sources).toEqual(expect.arrayContaining([
        expect.objectContaining({ serviceAccountToken: expect.objectContaining({ path: 'token' }) }),
        expect.objectContaining({ configMap: expect.objectContaining({ name: 'kube-root-ca.crt' }) }),
      ]));
    }
    expect(getJson('configmap', 'kube-root-ca.crt', '-n', ns).data['ca.crt']).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  test('each controller of the controller-manager has its own service account (--use-service-account-credentials), bound by the bootstrap RBAC', () => {
    const accounts = getJson('serviceaccounts', '-n', 'kube-system').items.map((a: any) => a.metadata.name);
    expect(accounts).toEqual(expect.arrayContaining(['deployment-controller', 'replicaset-controller', 'generic-garbage-collector', 'namespace-controller']));
    const binding = getJson('clusterrolebinding', 'system:controller:deployment-controller');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'deployment-controller', namespace: 'kube-system' }]);
  });

  test('PodSecurity applies to the pods the controllers create: a Deployment whose pods are not restricted gets none', () => {
    const root = deployment(ns, 'root', 1, { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9' }] });
    const r = kubectl(['apply', '--server-side', '--field-manager=argocd-controller', '-f', '-'], toYaml([root]));
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^Warning: would violate PodSecurity "restricted:latest"/);
    expectWait(['--for=condition=ReplicaFailure', 'replicaset', '-n', ns, '-l', 'app=root']);
    const set = getJson('replicasets', '-n', ns, '-l', 'app=root').items[0];
    expect(set.status.conditions.find((c: any) => c.type === 'ReplicaFailure').message).toMatch(/violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
    expect(getJson('pods', '-n', ns, '-l', 'app=root').items).toEqual([]);
    kubectlClean(['delete', 'deployment', 'root', '-n', ns]);
  });

  test('deleting the Deployment: the garbage collector deletes its ReplicaSet and pods (KWOK lets the pods go)', () => {
    expect(replicaSet).toBeDefined();
    kubectlClean(['delete', 'deployment', 'web', '-n', ns, '--wait=false']);
    expectWait(['--for=delete', `replicaset/${replicaSet.metadata.name}`, ...pods.map(p => `pod/${p.metadata.name}`), '-n', ns]);
    expect(getJson('replicasets,pods', '-n', ns, '-l', 'app=web').items).toEqual([]);
  });

  test('deleting a namespace: the namespace controller empties it and it goes', () => {
    const gone = 'cp-namespace-gone';
    ensureNamespaces([{ metadata: { namespace: gone } }]);
    kubectlClean(['create', 'configmap', 'x', '-n', gone, '--from-literal=k=v']);
    kubectlClean(['delete', 'namespace', gone, '--wait=false']);
    expectWait(['--for=delete', `namespace/${gone}`]);
    expect(kubectl(['get', 'namespace', gone]).stderr).toMatch(/NotFound/);
  });
});

describe('cert-manager\'s controller', () => {
  const ns = 'cp-certs';
  const issuer = (name: string, spec: any) => ({ apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name, namespace: ns }, spec });
  const certificate = (name: string, spec: any) => ({ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name, namespace: ns }, spec });
  const docs = [
    issuer('selfsigned', { selfSigned: {} }),
    certificate('ca', { isCA: true, commonName: 'cp-test-ca', secretName: 'cp-ca', privateKey: { algorithm: 'ECDSA', size: 256 }, issuerRef: { name: 'selfsigned', kind: 'Issuer' } }),
    issuer('ca', { ca: { secretName: 'cp-ca' } }),
    certificate('leaf', { dnsNames: ['leaf.cp-certs.svc'], secretName: 'cp-leaf', usages: ['server auth'], privateKey: { algorithm: 'ECDSA', size: 256 }, issuerRef: { name: 'ca', kind: 'Issuer' } }),
  ];
  beforeAll(() => {
    ensureNamespaces(docs);
    const r = serverSideApply(writeManifests('cp-certs', docs));
    expect([r.status, r.stderr]).toEqual([0, '']);
  });

  test('a self-signed Issuer, a CA Certificate, a CA Issuer and a leaf Certificate become Ready', () => {
    expectWait(['--for=condition=Ready', 'certificate/ca', 'certificate/leaf', 'issuer/selfsigned', 'issuer/ca', '-n', ns]);
    const leaf = getJson('certificate', 'leaf', '-n', ns);
    expect(leaf.status.conditions.find((c: any) => c.type === 'Ready')).toEqual(expect.objectContaining({ status: 'True', reason: 'Ready' }));
  });

  test('the leaf Secret holds a real key pair, issued by the CA (node:crypto)', () => {
    const caSecret = secretData(ns, 'cp-ca');
    const leafSecret = secretData(ns, 'cp-leaf');
    const ca = new X509Certificate(caSecret['tls.crt']);
    const leaf = new X509Certificate(leafSecret['tls.crt']);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe('CN=cp-test-ca');
    expect(ca.checkIssued(ca)).toBe(true); // self-signed
    expect(ca.checkPrivateKey(createPrivateKey(caSecret['tls.key']))).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.subjectAltName).toBe('DNS:leaf.cp-certs.svc');
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkPrivateKey(createPrivateKey(leafSecret['tls.key']))).toBe(true);
    expect(new X509Certificate(leafSecret['ca.crt']).fingerprint256).toBe(ca.fingerprint256);
    // the checks can fail: another key neither signed the leaf nor matches it
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(leaf.verify(other.publicKey)).toBe(false);
    expect(leaf.checkPrivateKey(other.privateKey)).toBe(false);
  });
});

describe('a rendered bundle on the control plane (cdk8s-frp render of examples/manifests/postgres-proxy.yaml)', () => {
  const MANIFEST = join(__dirname, '..', '..', 'examples', 'manifests', 'postgres-proxy.yaml');
  const docs = cliRender('cp-postgres-proxy', withNamespacePrefix('cp-', readFileSync(MANIFEST, 'utf8')));
  const ns = 'cp-databases';
  const of = (kind: string) => docs.filter(d => d.kind === kind);
  beforeAll(() => {
    expect([...new Set(docs.map(d => d.metadata.namespace))]).toEqual([ns]);
    ensureNamespaces(docs);
    const r = serverSideApply(writeManifests('cp-postgres-proxy', docs));
    expect([r.status, r.stderr]).toEqual([0, '']);
  });

  test('every Certificate becomes Ready', () => {
    const names = of('Certificate').map(c => c.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['frp-ca-root', 'frps-tls', 'postgres-proxy-frpc-tls']));
    expectWait(['--for=condition=Ready', ...names.map(n => `certificate/${n}`), '-n', ns]);
  });

  test('every Deployment, frps and frpc among them, becomes Available', () => {
    const names = of('Deployment').map(d => d.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['frps', 'postgres-proxy-frpc']));
    expectWait(['--for=condition=Available', ...names.map(n => `deployment/${n}`), '-n', ns]);
    for (const d of of('Deployment')) {
      expect(getJson('deployment', d.metadata.name, '-n', ns).status.readyReplicas).toBe(d.spec.replicas ?? 1);
    }
  });

  test('frps\' certificate names what its Certificate asks for and chains to the bundle\'s CA', () => {
    const spec = of('Certificate').find(c => c.metadata.name === 'frps-tls').spec;
    const secret = secretData(ns, spec.secretName);
    const cert = new X509Certificate(secret['tls.crt']);
    expect(cert.checkPrivateKey(createPrivateKey(secret['tls.key']))).toBe(true);
    expect(cert.verify(new X509Certificate(secret['ca.crt']).publicKey)).toBe(true);
    for (const name of spec.dnsNames) expect(cert.subjectAltName!.split(', ')).toContain(`DNS:${name}`);
  });
});
