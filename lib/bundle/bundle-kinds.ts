/**
 * Every kind a bundle of the composition can contain, in one place: FrpOperator
 * grants the operator exactly these (lib/operator-deploy/_rbac.ts), and the
 * controller applies, watches and prunes exactly these.
 * test/operator-deploy/rbac.test.ts proves the list equal to the kinds the
 * composition renders (the example manifests, every bundle option, generated
 * specs): a kind added to the library's output fails that test until it is
 * added here. @internal
 */

/** A kind a rendered bundle can contain. @internal */
export interface BundleKind {
  /** apiVersion as the bundle writes it. */
  readonly apiVersion: string;
  readonly kind: string;
  /** API group ('' for the core group). */
  readonly group: string;
  /** The plural resource name (URLs, RBAC). */
  readonly resource: string;
  readonly namespaced: boolean;
  /** A cert-manager kind: absent from bundles rendered with insecureSkipVerify. */
  readonly certManager?: boolean;
}

const kind = (apiVersion: string, k: string, resource: string, namespaced = true, certManager?: boolean): BundleKind => ({
  apiVersion, kind: k, group: apiVersion.includes('/') ? apiVersion.split('/')[0] : '', resource, namespaced, ...(certManager ? { certManager } : {}),
});

/** @internal */
export const BUNDLE_KINDS: readonly BundleKind[] = [
  kind('v1', 'ConfigMap', 'configmaps'),
  kind('v1', 'Service', 'services'),
  kind('apps/v1', 'Deployment', 'deployments'),
  kind('apps/v1', 'StatefulSet', 'statefulsets'),
  kind('policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets'),
  kind('networking.k8s.io/v1', 'Ingress', 'ingresses'),
  kind('networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies'),
  kind('gateway.networking.k8s.io/v1', 'HTTPRoute', 'httproutes'),
  kind('gateway.networking.k8s.io/v1', 'TCPRoute', 'tcproutes'),
  kind('gateway.networking.k8s.io/v1', 'UDPRoute', 'udproutes'),
  kind('cert-manager.io/v1', 'Certificate', 'certificates', true, true),
  kind('cert-manager.io/v1', 'Issuer', 'issuers', true, true),
  kind('cert-manager.io/v1', 'ClusterIssuer', 'clusterissuers', false, true),
];
