import { App, Chart } from 'cdk8s';
import { describeBundleOnCluster } from './bundles';
import { ensureNamespaces, kubectl, startCluster, toYaml } from './cluster';
import { OperatorChart } from '../../examples/operator';
import { FrpOperator, FrpOperatorProps } from '../../lib';
import { MANAGED_KINDS } from '../../lib/operator-deploy/_rbac';

jest.setTimeout(300_000);
beforeAll(() => startCluster());

/** The operator's bundle in namespace `namespace` (the example's, or with these props). */
const operatorBundle = (namespace: string, props: FrpOperatorProps) => () => {
  const chart = new Chart(new App(), 'operator', { namespace });
  new FrpOperator(chart, 'operator', { image: 'ghcr.io/cdk8s-frp/cdk8s-frp:0.1.0', ...props });
  return chart.toJson();
};

// server-side apply (PodSecurity restricted namespaces), no diff on a second apply, the pods admitted
describeBundleOnCluster('example operator (every namespace: ClusterRole)', () => new OperatorChart(new App(), 'operator').toJson());
describeBundleOnCluster('FrpOperator watching two namespaces (Roles)', operatorBundle('op-ns', { watchNamespaces: ['op-team-a', 'op-team-b'], serverNamespace: 'op-frp', certManagerNamespace: 'op-cm' }));

/** `kubectl auth can-i` as the operator's ServiceAccount: 'yes' or 'no'. */
function canI(sa: string, verb: string, resource: string, namespace?: string): string {
  const r = kubectl(['auth', 'can-i', verb, resource, `--as=system:serviceaccount:${sa}`, ...(namespace ? ['-n', namespace] : ['--all-namespaces'])]);
  if (r.status !== 0 && r.status !== 1) throw new Error(`kubectl auth can-i: exit ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

const group = (k: { group: string; resource: string }) => (k.group === '' ? k.resource : `${k.resource}.${k.group}`);

describe('what the operator\'s ServiceAccount may do on the API server (kubectl auth can-i)', () => {
  const SA = 'frp-system:cdk8s-frp-operator';

  test('every namespace: apply, read and prune every managed kind anywhere; its DistributedServices, status, finalizers; events; pods and EndpointSlices read; its Lease', () => {
    const allowed: [string, string, string?][] = [
      ...MANAGED_KINDS.flatMap(k => ['create', 'patch', 'get', 'list', 'watch', 'delete'].map(v => [v, group(k), k.namespaced ? 'anywhere' : undefined] as [string, string, string?])),
      ['get', 'distributedservices.frp.io', 'apps'], ['list', 'distributedservices.frp.io'], ['watch', 'distributedservices.frp.io'],
      ['patch', 'distributedservices.frp.io', 'apps'], ['update', 'distributedservices.frp.io', 'apps'],
      ['patch', 'distributedservices.frp.io/status', 'apps'], ['update', 'distributedservices.frp.io/finalizers', 'apps'],
      ['create', 'events.events.k8s.io', 'apps'], ['patch', 'events.events.k8s.io', 'apps'],
      ['list', 'pods'], ['watch', 'pods'], ['list', 'endpointslices.discovery.k8s.io'], ['watch', 'endpointslices.discovery.k8s.io'],
      ['create', 'leases.coordination.k8s.io', 'frp-system'],
      ['get', 'leases.coordination.k8s.io/cdk8s-frp-operator', 'frp-system'],
      ['update', 'leases.coordination.k8s.io/cdk8s-frp-operator', 'frp-system'],
    ];
    expect(allowed.filter(([v, r, ns]) => canI(SA, v, r, ns) !== 'yes')).toEqual([]);
  });

  test('every namespace: nothing on Secrets, no update of workloads, no other kinds, no RBAC, no other Lease', () => {
    const denied: [string, string, string?][] = [
      ['get', 'secrets', 'frp'], ['list', 'secrets'], ['watch', 'secrets'], ['create', 'secrets', 'frp'], ['patch', 'secrets', 'frp'], ['delete', 'secrets', 'frp'],
      ['update', 'deployments.apps', 'frp'], ['update', 'services', 'frp'], ['deletecollection', 'configmaps', 'frp'],
      ['create', 'daemonsets.apps', 'frp'], ['create', 'pods', 'frp'], ['get', 'pods', 'frp'], ['delete', 'pods', 'frp'], ['create', 'pods/exec', 'frp'],
      ['create', 'serviceaccounts/token', 'frp-system'], ['create', 'serviceaccounts', 'frp'],
      ['create', 'distributedservices.frp.io', 'apps'], ['delete', 'distributedservices.frp.io', 'apps'],
      ['create', 'events', 'apps'], ['delete', 'events.events.k8s.io', 'apps'],
      ['create', 'customresourcedefinitions.apiextensions.k8s.io'], ['delete', 'customresourcedefinitions.apiextensions.k8s.io'],
      ['create', 'clusterroles.rbac.authorization.k8s.io'], ['create', 'rolebindings.rbac.authorization.k8s.io', 'frp'], ['bind', 'clusterroles.rbac.authorization.k8s.io'],
      ['list', 'nodes'], ['create', 'namespaces'],
      ['get', 'leases.coordination.k8s.io/kube-scheduler', 'frp-system'], ['update', 'leases.coordination.k8s.io/other', 'frp-system'], ['get', 'leases.coordination.k8s.io/cdk8s-frp-operator', 'kube-system'],
      ['create', 'leases.coordination.k8s.io', 'kube-system'],
      ['get', 'servicemonitors.monitoring.coreos.com', 'frp'], ['create', 'horizontalpodautoscalers.autoscaling', 'frp'],
    ];
    expect(denied.filter(([v, r, ns]) => canI(SA, v, r, ns) !== 'no')).toEqual([]);
  });

  test('watching two namespaces: managed kinds there and in the frps and cert-manager namespaces, ClusterIssuers and the informers\' list/watch cluster-wide, no write elsewhere', () => {
    const sa = 'op-ns:cdk8s-frp-operator';
    const yes: [string, string, string?][] = [
      ['patch', 'deployments.apps', 'op-team-a'], ['create', 'configmaps', 'op-team-b'], ['delete', 'services', 'op-frp'], ['patch', 'certificates.cert-manager.io', 'op-cm'],
      ['patch', 'clusterissuers.cert-manager.io'], ['list', 'distributedservices.frp.io', 'op-team-a'], ['patch', 'distributedservices.frp.io/status', 'op-team-b'],
      ['create', 'events.events.k8s.io', 'op-team-a'], ['watch', 'endpointslices.discovery.k8s.io', 'op-team-b'], ['update', 'leases.coordination.k8s.io/cdk8s-frp-operator', 'op-ns'],
      ['list', 'configmaps'], ['watch', 'deployments.apps'], ['list', 'endpointslices.discovery.k8s.io'],
    ];
    const no: [string, string, string?][] = [
      ['patch', 'deployments.apps', 'elsewhere'], ['list', 'distributedservices.frp.io'], ['list', 'distributedservices.frp.io', 'op-frp'],
      ['create', 'events.events.k8s.io', 'op-frp'], ['list', 'pods', 'elsewhere'], ['get', 'secrets', 'op-team-a'], ['patch', 'deployments.apps', 'op-ns'],
      ['get', 'configmaps', 'elsewhere'], ['create', 'configmaps', 'elsewhere'], ['delete', 'services', 'elsewhere'], ['list', 'secrets'],
    ];
    expect(yes.filter(([v, r, ns]) => canI(sa, v, r, ns) !== 'yes')).toEqual([]);
    expect(no.filter(([v, r, ns]) => canI(sa, v, r, ns) !== 'no')).toEqual([]);
  });

  test('as the ServiceAccount, a server-side apply of a bundle object is accepted and of a Secret refused', () => {
    const ns = 'op-apply-check';
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'frpc-config', namespace: ns }, data: { 'frpc.toml': 'serverPort = 7000\n' } };
    ensureNamespaces([configMap]);
    const apply = (obj: unknown) => kubectl(['apply', '--server-side', '--field-manager=cdk8s-frp-operator', `--as=system:serviceaccount:${SA}`, '-f', '-'], toYaml([obj]));
    const ok = apply(configMap);
    expect([ok.status, ok.stdout.trim(), ok.stderr]).toEqual([0, 'configmap/frpc-config serverside-applied', '']);
    const secret = apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'frp-token', namespace: ns }, stringData: { token: 'x' } });
    expect(secret.status).toBe(1);
    expect(secret.stderr).toMatch(/secrets "frp-token" is forbidden: User "system:serviceaccount:frp-system:cdk8s-frp-operator" cannot (patch|get) resource "secrets"/);
  });
});
