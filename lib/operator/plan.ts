import { BUNDLE_KINDS } from '../bundle/bundle-kinds';

/**
 * What the controller decides, as pure functions of what it reads: the input
 * of the composition, who uses which rendered object (owner references), what
 * needs applying, and what to prune. No API calls here (unit-tested in
 * test/operator).
 *
 * The inventory (what "objects it applied" means, for pruning): objects of the
 * kinds in INVENTORY_KINDS that carry the label every rendered object carries
 * (app.kubernetes.io/managed-by=cdk8s, the informers' label selector) and
 * whose metadata.managedFields has an Apply entry of the field manager
 * cdk8s-frp-operator. The API server keeps managedFields by itself, so the
 * applied objects carry nothing the render did not put there but owner
 * references; an object someone else applied or created, even one with the
 * same labels, has no such entry and is never pruned.
 * @internal
 */

/** The controller's field manager (server-side apply). */
export const FIELD_MANAGER = 'cdk8s-frp-operator';
/** The finalizer: cleans up what owner references cannot reach. */
export const FINALIZER = 'frp.io/cleanup';
/** The label every rendered object carries; the owned kinds' informers select on it. */
export const INVENTORY_LABEL_SELECTOR = 'app.kubernetes.io/managed-by=cdk8s';
export const DS_API_VERSION = 'frp.io/v1beta1';
export const DS_KIND = 'DistributedService';
/** The service an object belongs to (set by the library on a service's own objects). */
const SERVICE_LABEL = 'frp.io/distributed-service';

/** A kind the controller applies, watches and prunes. */
export interface OwnedKind {
  readonly apiVersion: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
  /** A cert-manager kind (only in bundles with certificates). */
  readonly certManager?: boolean;
}

/** Every kind a bundle can contain (lib/bundle's BUNDLE_KINDS, which a test proves equal to what the composition renders). */
export const INVENTORY_KINDS: OwnedKind[] = BUNDLE_KINDS.map(k => ({
  apiVersion: k.apiVersion, kind: k.kind, plural: k.resource, namespaced: k.namespaced, ...(k.certManager ? { certManager: true } : {}),
}));

/**
 * The kinds the controller watches (and so applies and prunes): every bundle
 * kind, less cert-manager's with insecureSkipVerify, where no bundle has one
 * and FrpOperator's RBAC grants none (listing them would be forbidden).
 */
export function watchedKinds(insecureSkipVerify: boolean): OwnedKind[] {
  return INVENTORY_KINDS.filter(k => !(insecureSkipVerify && k.certManager));
}

/** The owned kind of `obj`, if it is one. */
export function ownedKindOf(obj: { apiVersion?: string; kind?: string }): OwnedKind | undefined {
  return INVENTORY_KINDS.find(k => k.apiVersion === obj.apiVersion && k.kind === obj.kind);
}

/** A DistributedService the controller serves. */
export interface ServiceRef {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

/** `apiVersion kind namespace/name`: one object, across kinds and namespaces. */
export function objectKey(obj: any): string {
  const ns = obj?.metadata?.namespace;
  return `${obj?.apiVersion} ${obj?.kind} ${ns ? `${ns}/` : ''}${obj?.metadata?.name}`;
}

/** The input of the composition for one service: its source name (`namespace/name`). */
export function sourceOf(ds: { metadata?: { namespace?: string; name?: string } }): string {
  return `${ds.metadata?.namespace}/${ds.metadata?.name}`;
}

/**
 * The DistributedService as the CLI would read it from a file: apiVersion,
 * kind, metadata name and namespace, spec (no status, uid, managedFields...).
 */
export function manifestOf(ds: any): any {
  return {
    apiVersion: ds.apiVersion ?? DS_API_VERSION,
    kind: ds.kind ?? DS_KIND,
    metadata: { name: ds.metadata?.name, namespace: ds.metadata?.namespace },
    spec: ds.spec,
  };
}

/**
 * The services that use a rendered object: a service's own objects (labelled
 * frp.io/distributed-service with its name) are used by that service (the one
 * in the object's namespace, else the one whose name and namespace the
 * object's name carries, as the front objects next to frps are named
 * `<name>-<namespace>`); an unlabelled object named after a service of its
 * namespace (a certificate the CA issues for it) by that service; the shared
 * ones (frps, the CA) by every service in the bundle.
 */
export function usersOf(obj: any, services: readonly ServiceRef[]): ServiceRef[] {
  const own = obj?.metadata?.labels?.[SERVICE_LABEL];
  if (typeof own !== 'string') {
    // a certificate the CA issues for one service (`<name>-frpc-tls` in its namespace) is that service's
    const prefixed = services.filter(s => s.namespace === obj?.metadata?.namespace && String(obj?.metadata?.name).startsWith(`${s.name}-`));
    return prefixed.length > 0 ? prefixed : [...services];
  }
  const named = services.filter(s => s.name === own);
  const local = named.filter(s => s.namespace === obj.metadata.namespace);
  if (local.length > 0) return local;
  const front = named.filter(s => obj.metadata.name === `${s.name}-${s.namespace}` || String(obj.metadata.name).startsWith(`${s.name}-${s.namespace}-`));
  return front.length > 0 ? front : named;
}

/**
 * `obj` with owner references to the `users` that may own it: only those in
 * its namespace (an owner reference cannot cross namespaces, and a
 * cluster-scoped object cannot have a namespaced owner; the finalizer cleans
 * those). A service's own object names its service as controller.
 */
export function withOwners(obj: any, users: readonly ServiceRef[]): any {
  const ns = obj.metadata?.namespace;
  const owners = ns === undefined ? [] : users.filter(u => u.namespace === ns)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (owners.length === 0) return obj;
  const controller = owners.length === 1 && typeof obj.metadata?.labels?.[SERVICE_LABEL] === 'string';
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      ownerReferences: owners.map(o => ({
        apiVersion: DS_API_VERSION,
        kind: DS_KIND,
        name: o.name,
        uid: o.uid,
        ...(controller ? { controller: true } : {}),
      })),
    },
  };
}

/** Whether the controller applied `live` (an Apply entry of its field manager). */
export function appliedByUs(live: any): boolean {
  const fields: any[] = live?.metadata?.managedFields ?? [];
  return fields.some(f => f?.manager === FIELD_MANAGER && f?.operation === 'Apply');
}

/**
 * Where `live` differs from `desired`: every field `desired` sets must read
 * back with the same value (lists element by element, the same length); the
 * server may add fields (defaults, status). Empty: nothing to apply.
 */
export function differences(desired: unknown, live: unknown, path = ''): string[] {
  if (Array.isArray(desired)) {
    if (!Array.isArray(live)) return [`${path}: want a list of ${desired.length}, have ${JSON.stringify(live)}`];
    if (live.length !== desired.length) return [`${path}: want ${desired.length} items, have ${live.length}`];
    return desired.flatMap((d, i) => differences(d, live[i], `${path}[${i}]`));
  }
  if (desired !== null && typeof desired === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return [`${path}: want an object, have ${JSON.stringify(live)}`];
    return Object.entries(desired).flatMap(([k, v]) => differences(v, (live as any)[k], `${path}.${k}`));
  }
  return desired === live ? [] : [`${path}: want ${JSON.stringify(desired)}, have ${JSON.stringify(live)}`];
}

/** One object of the desired state, with what it needs. */
export interface PlannedObject {
  readonly key: string;
  /** The rendered object plus owner references: what is applied. */
  readonly object: any;
  readonly users: ServiceRef[];
}

/** The rendered objects with their users and owner references, in render order. */
export function planObjects(rendered: readonly any[], services: readonly ServiceRef[]): PlannedObject[] {
  return rendered.map(obj => {
    const users = usersOf(obj, services);
    return { key: objectKey(obj), object: withOwners(obj, users), users };
  });
}

/**
 * Whether `planned` needs a server-side apply: absent, drifted from what is
 * applied (a hand edit), or changed since the controller last applied it
 * (`lastApplied`: the JSON it applied, by key; a field the render dropped
 * must be released by applying without it).
 */
export function needsApply(planned: PlannedObject, live: any | undefined, lastApplied: ReadonlyMap<string, string>): boolean {
  if (live === undefined) return true;
  if (lastApplied.get(planned.key) !== JSON.stringify(planned.object)) return true;
  return differences(planned.object, live).length > 0;
}

/**
 * What to prune: objects of the inventory (applied by the controller) that the
 * desired state no longer has, in the namespaces it writes to (`scope`, see
 * writtenNamespaces; undefined: every namespace; cluster-scoped objects always).
 * Objects being deleted already are left alone.
 */
export function planPrune(inventory: readonly any[], desired: ReadonlySet<string>, scope?: ReadonlySet<string>): any[] {
  const inScope = (o: any) => scope === undefined || o.metadata?.namespace === undefined || scope.has(o.metadata.namespace);
  return inventory.filter(o => appliedByUs(o) && inScope(o) && !desired.has(objectKey(o)) && !o.metadata?.deletionTimestamp);
}

/**
 * The namespaces an operator serving only `served` writes to: those, the
 * shared frps's (render's default: the one served namespace, else "default")
 * and, with certificates, cert-manager's (the CA); the same namespaces
 * FrpOperator's Roles grant. An object its field manager applied elsewhere is
 * another operator's (serving other namespaces), never pruned by this one.
 * Undefined: it serves every namespace.
 */
export function writtenNamespaces(
  served: readonly string[],
  bundle: { readonly serverNamespace?: string; readonly certManagerNamespace?: string; readonly insecureSkipVerify?: boolean },
): Set<string> | undefined {
  if (served.length === 0) return undefined;
  const out = new Set(served);
  out.add(bundle.serverNamespace ?? (served.length === 1 ? served[0] : 'default'));
  if (bundle.insecureSkipVerify !== true) out.add(bundle.certManagerNamespace ?? 'cert-manager');
  return out;
}

/** A service as the composition gets it: its current spec and the last one applied. */
export interface RenderCandidate {
  readonly source: string;
  /** The manifest of its current spec. */
  readonly manifest: any;
  /** The manifest of the spec last applied for it (undefined: never applied). */
  readonly lastGood?: any;
}

/** What rendering with fallback decided. */
export interface FallbackRender {
  /** The rendered objects; undefined when even the last good bundle is refused. */
  readonly objects?: any[];
  /** The manifest rendered for each source (its spec or its last good one); absent: left out. */
  readonly rendered: Map<string, any>;
  /** The problems of each refused source: the composition's messages (`<source>: ` before those found at another source). */
  readonly problems: Map<string, string[]>;
}

/**
 * Renders every candidate with its current spec; when the composition
 * refuses that bundle, an invalid spec must not take down what serves: the
 * bundle of the last good specs is rendered, and each changed or new
 * service is added to it one at a time, kept only if the bundle still
 * renders. A refused service keeps its last good spec (or stays out if it
 * never had one) and gets the problems of its attempt: those at its own
 * source, else (a clash reported at the service already serving) every
 * problem, each with its source.
 */
export function renderWithFallback(
  candidates: readonly RenderCandidate[], render: (inputs: { source: string; manifest: any }[]) => any[],
): FallbackRender {
  const problems = new Map<string, string[]>();
  const run = (entries: Map<string, any>) => render([...entries].map(([source, manifest]) => ({ source, manifest })));
  const current = new Map(candidates.map(c => [c.source, c.manifest]));
  try {
    return { objects: run(current), rendered: current, problems };
  } catch (e) {
    if (!isBundleError(e)) throw e;
  }
  const same = (c: RenderCandidate) => c.lastGood !== undefined && JSON.stringify(c.lastGood.spec) === JSON.stringify(c.manifest.spec);
  let base = new Map(candidates.filter(c => c.lastGood !== undefined).map(c => [c.source, c.lastGood]));
  let objects: any[];
  try {
    objects = base.size === 0 ? [] : run(base);
  } catch (e) {
    if (!isBundleError(e)) throw e;
    for (const c of candidates) problems.set(c.source, messagesFor(e.problems, c.source));
    return { objects: undefined, rendered: base, problems };
  }
  for (const c of candidates.filter(x => !same(x))) {
    const trial = new Map(base);
    trial.set(c.source, c.manifest);
    try {
      objects = run(trial);
      base = trial;
    } catch (e) {
      if (!isBundleError(e)) throw e;
      problems.set(c.source, messagesFor(e.problems, c.source));
    }
  }
  return { objects, rendered: base, problems };
}

/** contract 1's BundleError, by shape (problems by source). */
function isBundleError(e: unknown): e is { problems: { source: string; message: string }[] } {
  return e instanceof Error && Array.isArray((e as any).problems);
}

function messagesFor(all: { source: string; message: string }[], source: string): string[] {
  const own = all.filter(p => p.source === source).map(p => p.message);
  // the CLI's messages name the service (`<namespace>/<name>: ...`): the source is not said twice
  return own.length > 0 ? own : all.map(p => (p.source && !p.message.startsWith(`${p.source}: `) ? `${p.source}: ${p.message}` : p.message));
}

/** The field managers an apply conflict names (the API server's causes: `conflict with "kubectl-edit" using apps/v1`). */
export function conflictingManagers(status: any): string[] {
  const causes: any[] = status?.details?.causes ?? [];
  const text = [status?.message ?? '', ...causes.map(c => c?.message ?? '')].join('\n');
  return [...new Set([...text.matchAll(/conflict with "([^"]+)"/g)].map(m => m[1]))].sort();
}

/**
 * Whether a conflicting apply may be forced: only when every manager it
 * conflicts with changed the object by hand (an Update: kubectl edit, patch,
 * scale), which is drift to put back. A manager that applies (server-side
 * apply: Argo CD, another controller) is a conflict to report, never forced.
 */
export function mayForce(managers: readonly string[], live: any): boolean {
  if (managers.length === 0) return false;
  const fields: any[] = live?.metadata?.managedFields ?? [];
  return managers.every(m => {
    const entries = fields.filter(f => f?.manager === m);
    return entries.length > 0 && entries.every(f => f?.operation === 'Update');
  });
}
