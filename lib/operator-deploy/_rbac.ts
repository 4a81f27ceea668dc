/**
 * What `cdk8s-frp operator` may do in the cluster, as a pure plan of RBAC rules
 * (the FrpOperator construct renders it). Least privilege:
 * - the kinds a bundle can contain (MANAGED_KINDS; test/operator-deploy proves
 *   the list equals what the composition renders over the examples and
 *   thousands of generated specs), with the verbs server-side apply and pruning
 *   need, and no other kind;
 * - what the controller itself needs: its DistributedServices (and their
 *   status and finalizers), events, its leader Lease (its own namespace, its
 *   own name), and the EndpointSlices and Pods it reads for status;
 * - no Secret at all: bundles reference Secrets by name and never contain
 *   one, and status comes from Certificates, workloads and EndpointSlices,
 *   never from a Secret's data.
 * When the operator watches some namespaces only, namespaced rules become
 * Roles in those namespaces (plus the frps and cert-manager namespaces the
 * bundles write to); the ClusterRole keeps the cluster-scoped kinds
 * (ClusterIssuer) and `list`/`watch` of the bundle kinds and EndpointSlices,
 * since the controller's informers are cluster-wide. @internal
 */
import { BUNDLE_KINDS, BundleKind } from '../bundle/bundle-kinds';

/** One RBAC policy rule (rbac.authorization.k8s.io/v1 PolicyRule). @internal */
export interface RbacRule {
  readonly apiGroups: string[];
  readonly resources: string[];
  readonly verbs: string[];
  readonly resourceNames?: string[];
}

/** A kind a bundle can contain (lib/bundle/bundle-kinds.ts). @internal */
export type ManagedKind = BundleKind;

/** Every kind a bundle of the composition can contain (proven by test/operator-deploy/rbac.test.ts). @internal */
export const MANAGED_KINDS: readonly ManagedKind[] = BUNDLE_KINDS;

/**
 * Verbs on a managed kind: read it (status, drift), apply it server-side
 * (`patch`; `create` when the object is new), prune it (`delete`). No
 * `update`: every write is an apply. @internal
 */
export const APPLY_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'watch'];

/** Verbs of the controller's informers (list, then watch from its resourceVersion). @internal */
export const READ_VERBS = ['list', 'watch'];

/** The Lease the replicas elect a leader on (contract 2). @internal */
export const LEADER_LEASE = 'cdk8s-frp-operator';

/** What decides the rules. @internal */
export interface RbacInputs {
  /** The operator's own namespace (its Lease). */
  readonly namespace: string;
  /** Watched namespaces; empty: every namespace. */
  readonly watchNamespaces: readonly string[];
  /** Namespaces the bundles write to besides the watched ones (frps, cert-manager). */
  readonly writeNamespaces: readonly string[];
  /** Whether bundles can contain cert-manager objects (false with insecureSkipVerify). */
  readonly certManager: boolean;
}

/** The plan: rules cluster-wide and per namespace (sorted, deterministic). @internal */
export interface RbacPlan {
  /** ClusterRole rules (empty: no ClusterRole). */
  readonly cluster: RbacRule[];
  /** Role rules by namespace, namespaces sorted. */
  readonly namespaced: { readonly namespace: string; readonly rules: RbacRule[] }[];
}

/** Rules for a set of kinds with the same verbs: one rule per API group, resources sorted. */
function kindRules(kinds: readonly ManagedKind[], verbs: string[]): RbacRule[] {
  const byGroup = new Map<string, string[]>();
  for (const k of kinds) byGroup.set(k.group, [...byGroup.get(k.group) ?? [], k.resource]);
  return [...byGroup.keys()].sort().map(g => ({ apiGroups: [g], resources: [...byGroup.get(g)!].sort(), verbs }));
}

/** What the controller needs where it watches DistributedServices. */
const WATCH_RULES: RbacRule[] = [
  { apiGroups: ['frp.io'], resources: ['distributedservices'], verbs: ['get', 'list', 'patch', 'update', 'watch'] },
  { apiGroups: ['frp.io'], resources: ['distributedservices/status'], verbs: ['get', 'patch', 'update'] },
  { apiGroups: ['frp.io'], resources: ['distributedservices/finalizers'], verbs: ['update'] },
  { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  // status: ready backends and pods
  { apiGroups: [''], resources: ['pods'], verbs: ['list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
];

/**
 * Leader election on the Lease of contract 2, in the operator's namespace:
 * `create` cannot be limited to a name (the object does not exist yet), the
 * rest is limited to the one Lease.
 */
const LEASE_RULES: RbacRule[] = [
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'patch', 'update', 'watch'], resourceNames: [LEADER_LEASE] },
];

/** Rules of one group/resource set merged: the same kind never appears twice in a role. */
function sortRules(rules: RbacRule[]): RbacRule[] {
  const key = (r: RbacRule) => `${r.apiGroups.join(',')}/${r.resources.join(',')}/${r.resourceNames?.join(',') ?? ''}`;
  return [...rules].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** The RBAC plan for the operator (pure). @internal */
export function planOperatorRbac(inputs: RbacInputs): RbacPlan {
  const kinds = MANAGED_KINDS.filter(k => inputs.certManager || !k.certManager);
  const namespacedKinds = kinds.filter(k => k.namespaced);
  const clusterKinds = kinds.filter(k => !k.namespaced);
  const managed = kindRules(namespacedKinds, APPLY_VERBS);
  const roles = new Map<string, RbacRule[]>();
  const add = (ns: string, rules: RbacRule[]) => roles.set(ns, [...roles.get(ns) ?? [], ...rules]);
  let cluster: RbacRule[] = kindRules(clusterKinds, APPLY_VERBS);
  if (inputs.watchNamespaces.length === 0) {
    cluster = [...cluster, ...managed, ...WATCH_RULES];
  } else {
    // the controller's informers watch each kind cluster-wide (one label-selected
    // watch per kind, and EndpointSlices for status), so reading stays cluster-wide;
    // every write is limited to the Roles below
    cluster = [...cluster, ...kindRules(namespacedKinds, READ_VERBS), { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: READ_VERBS }];
    for (const ns of inputs.watchNamespaces) add(ns, [...managed, ...WATCH_RULES]);
    for (const ns of inputs.writeNamespaces) if (!inputs.watchNamespaces.includes(ns)) add(ns, managed);
  }
  add(inputs.namespace, LEASE_RULES);
  return {
    cluster: sortRules(cluster),
    namespaced: [...roles.keys()].sort().map(namespace => ({ namespace, rules: sortRules(roles.get(namespace)!) })),
  };
}
