import * as dgram from 'dgram';
import { readFileSync } from 'fs';
import { join } from 'path';
import { drift, ensureNamespaces, kubectl, kubectlClean, startCluster, toYaml } from './cluster';

jest.setTimeout(300_000);
beforeAll(() => startCluster());

// The test API server is what scripts/test-cluster.sh promises, and its checks can fail.
describe('the test API server', () => {
  // CDK8S_FRP_K8S_VERSION chooses the Kubernetes minor version (scripts/build-k8s.sh): 1.28 by default
  const minor = process.env.CDK8S_FRP_K8S_VERSION ?? '1.28';
  const module = minor === '1.28' ? 'k8s' : `k8s-${minor}`;
  test(`is the kube-apiserver of scripts/${module}/go.mod (Kubernetes ${minor})`, () => {
    const version = /^require k8s\.io\/kubernetes (v[0-9.]+)/m.exec(readFileSync(join(__dirname, '..', '..', 'scripts', module, 'go.mod'), 'utf8'))![1];
    expect(version.startsWith(`v${minor}.`)).toBe(true);
    const versions = JSON.parse(kubectlClean(['version', '-o', 'json']));
    expect([versions.serverVersion.gitVersion, versions.clientVersion.gitVersion]).toEqual([version, version]);
  });

  test('listens on the run\'s own claimed address, on fixed ports no other test can take (test/helpers/loopback.ts)', async () => {
    const kubeconfig = readFileSync(startCluster(), 'utf8');
    if (process.env.CDK8S_FRP_CLUSTER_RUN !== 'own') return; // a cluster the user runs (CDK8S_FRP_CLUSTER_DIR)
    const address = process.env.CDK8S_FRP_CLUSTER_ADDRESS!;
    const base = /^127\.(\d+)\.0\.1$/.exec(address)![1];
    expect(kubeconfig).toContain(`server: https://${address}:6443\n`);
    // the claim is held for the run: nobody else can bind 127.B.0.53:53
    const probe = dgram.createSocket('udp4');
    const error = await new Promise<Error | undefined>(resolve => {
      probe.once('error', resolve);
      probe.bind(53, `127.${base}.0.53`, () => resolve(undefined));
    });
    probe.close();
    expect(error?.message).toMatch(/EADDRINUSE/);
  });

  test('has every CRD the library renders against, Established', () => {
    const crds = kubectlClean(['get', 'crd', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Established")].status}{"\\n"}{end}']).trim().split('\n');
    for (const name of ['distributedservices.frp.io', 'certificates.cert-manager.io', 'issuers.cert-manager.io', 'clusterissuers.cert-manager.io',
      'servicemonitors.monitoring.coreos.com', 'prometheusrules.monitoring.coreos.com', 'httproutes.gateway.networking.k8s.io', 'tcproutes.gateway.networking.k8s.io']) {
      expect(crds).toContain(`${name} True`);
    }
  });

  describe('PodSecurity restricted in the tests\' namespaces', () => {
    const ns = 'setup-check';
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'root', namespace: ns }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } };
    beforeAll(() => ensureNamespaces([pod]));

    test('refuses a pod that is not restricted', () => {
      const r = kubectl(['create', '--dry-run=server', '-f', '-'], toYaml([pod]));
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
    });

    test('warns on a workload whose pods would not be (the warning the bundle tests assert is absent)', () => {
      const deployment = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'root', namespace: ns },
        spec: { selector: { matchLabels: { app: 'root' } }, template: { metadata: { labels: { app: 'root' } }, spec: pod.spec } },
      };
      const r = kubectl(['apply', '--server-side', '--field-manager=argocd-controller', '--dry-run=server', '-f', '-'], toYaml([deployment]));
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/^Warning: would violate PodSecurity "restricted:latest"/);
    });
  });
});

describe('drift: what the server stores against what was rendered', () => {
  test('finds rewritten quantities, dropped empty lists and zero values, changed lists', () => {
    const rendered = { spec: { minReadySeconds: 0, externalIPs: [], ports: [{ port: 80 }], cpu: '1000m' } };
    const live = { spec: { ports: [{ port: 80, protocol: 'TCP' }, { port: 81 }], cpu: '1' }, status: {} };
    expect(drift(rendered, live, 'x')).toEqual([
      'x.spec.minReadySeconds: rendered 0, live undefined',
      'x.spec.externalIPs: rendered a list of 0, live undefined',
      'x.spec.ports: rendered 1 items, live has 2: [{"port":80,"protocol":"TCP"},{"port":81}]',
      'x.spec.cpu: rendered "1000m", live "1"',
    ]);
  });

  test('accepts fields the server adds', () => {
    expect(drift({ spec: { ports: [{ port: 80 }] } }, { metadata: { uid: 'u' }, spec: { ports: [{ port: 80, protocol: 'TCP' }], clusterIP: '10.96.0.1' } })).toEqual([]);
  });
});
