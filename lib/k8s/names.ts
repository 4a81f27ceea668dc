import { createHash } from 'crypto';
import { Chart } from 'cdk8s';
import { IConstruct } from 'constructs';
import { invalid } from '../frp/errors';

/**
 * Readable, stable object names and the recommended app.kubernetes.io/* labels.
 *
 * Objects a person addresses (`kubectl logs deploy/frps`, a Service name in a
 * URL, a Secret to inspect) are named from a base name the user chooses, never
 * from a hash of the construct path. Two constructs that would render the same
 * kind/namespace/name are an error naming both. Selectors use
 * `app.kubernetes.io/name` + `app.kubernetes.io/instance` (the base name), so
 * they survive a refactoring of the construct tree: a Deployment's selector is
 * immutable, and cdk8s-plus' `cdk8s.io/metadata.addr` changes with the path.
 * @internal
 */

/** A DNS-1035 label (Service names): lower-case letters, digits and "-", starting with a letter. @internal */
export const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Checks a base name given by the user: a DNS label (at most 63 characters). @internal */
export function checkBaseName(where: string, field: string, name: string): string {
  if (typeof name !== 'string' || !DNS_LABEL.test(name) || name.length > 63) {
    invalid(where, field, `must be a DNS label (at most 63 lower-case letters, digits and "-", starting with a letter), got ${JSON.stringify(name)}`);
  }
  return name;
}

/** Checks a key of a Secret or ConfigMap (`[-._a-zA-Z0-9]+`). @internal */
export function checkSecretKey(where: string, field: string, key: string): void {
  if (!/^[-._a-zA-Z0-9]+$/.test(key)) invalid(where, field, `must be a Secret key ([-._a-zA-Z0-9]+), got ${JSON.stringify(key)}`);
}

/**
 * `<base><suffix>` when that is a DNS label; else a DNS label made from it:
 * every character a label cannot hold ("." of a DNS subdomain, say) becomes
 * "-", the whole is cut to 63 characters, and a hash of the original keeps it
 * unique (`frps-trust-corp-ca.x` -> `frps-trust-<hash>-corp-ca-x`): stable,
 * still readable, the suffix kept where it fits. Any base and suffix (the user's
 * names are DNS subdomains of up to 253 characters) give a valid label. @internal
 */
export function derivedName(base: string, suffix: string): string {
  const full = `${base}${suffix}`;
  if (full.length <= 63 && DNS_LABEL.test(full)) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  const clean = (s: string) => s.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  // the suffix keeps what fits next to the hash and at least one character of the base
  const tail = clean(suffix).slice(0, 63 - hash.length - 2).replace(/-+$/, '');
  let head = clean(base).replace(/^[^a-z]+/, '').slice(0, 63 - hash.length - 1 - tail.length).replace(/-+$/, '');
  if (head === '') head = 'n';
  return `${head}-${hash}${tail && !tail.startsWith('-') ? '-' : ''}${tail}`.slice(0, 63).replace(/-+$/, '');
}

const claims = new WeakMap<IConstruct, Map<string, string>>();
/** The construct that claimed each key (by root), for the user's words in a clash. */
const claimants = new WeakMap<IConstruct, Map<string, IConstruct>>();

/** What the user calls a construct whose name derives the names below it. @internal */
export interface NameOrigin {
  /** How the user knows it (`namespace/name` of a manifest, or the construct path). */
  readonly label: string;
  /** Where its manifest came from, if it came from one (`file: document N`). */
  readonly source?: string;
  /** The user's field the names derive from (`metadata.name`, or the `name` prop). */
  readonly field: string;
}
const origins = new WeakMap<IConstruct, NameOrigin>();

/**
 * Marks a construct whose name the objects below it derive their names from
 * (a DistributedService: `<name>-backends`, `<name>-frpc`, ...), so that a
 * clash of derived names is reported at the user's field of both. @internal
 */
export function setNameOrigin(scope: IConstruct, origin: NameOrigin): void {
  origins.set(scope, origin);
}

/** The nearest construct at or above `c` that is a name origin. */
function originOf(c: IConstruct): { construct: IConstruct; origin: NameOrigin } | undefined {
  for (const s of [...c.node.scopes].reverse()) {
    const origin = origins.get(s);
    if (origin) return { construct: s, origin };
  }
  return undefined;
}

/**
 * Reserves `kind` `name` in a namespace for a construct. A second construct
 * asking for the same kind, namespace and name is an error that names both
 * (at the user's field of both when their names derive from services').
 * @param owner the construct that renders the object (named in the error)
 * @param kind the object's kind (e.g. "Service")
 * @param name the object name
 * @param namespace the namespace (default: the owner's chart's)
 * @returns the name
 * @internal
 */
export function claimName(owner: IConstruct, kind: string, name: string, namespace?: string): string {
  const root = owner.node.root;
  let taken = claims.get(root);
  if (!taken) claims.set(root, taken = new Map());
  let by = claimants.get(root);
  if (!by) claimants.set(root, by = new Map());
  const ns = namespace ?? chartNamespace(owner) ?? '';
  const key = `${kind}\0${ns}\0${name}`;
  const prev = taken.get(key);
  if (prev !== undefined && prev !== owner.node.path) {
    const what = `${kind} ${JSON.stringify(name)}${ns ? ` in namespace ${ns}` : ''}`;
    const mine = originOf(owner);
    const theirs = originOf(by.get(key)!);
    if (mine && theirs && mine.construct !== theirs.construct) {
      const them = `${theirs.origin.label}${theirs.origin.source ? ` (${theirs.origin.source})` : ''}`;
      invalid(mine.construct.node.path, mine.origin.field, `the ${what}, named after this ${mine.origin.field}, is also the one ${them} renders from its ${theirs.origin.field}: rename one of the services`);
    }
    invalid(owner.node.path, 'name', `${what} is already rendered by ${prev}: give one of them another name (the construct's name prop, or the service's metadata.name)`);
  }
  taken.set(key, owner.node.path);
  by.set(key, owner);
  return name;
}

/**
 * Reserves a container name in a workload that this library does not own
 * (frpc as a sidecar); a second construct asking for it is an error naming both.
 * @internal
 */
export function claimContainer(owner: IConstruct, workload: IConstruct, container: string): string {
  const root = owner.node.root;
  let taken = claims.get(root);
  if (!taken) claims.set(root, taken = new Map());
  const key = `container\0${workload.node.path}\0${container}`;
  const prev = taken.get(key);
  if (prev !== undefined && prev !== owner.node.path) {
    invalid(owner.node.path, 'workload', `the pods of ${workload.node.path} already have a container ${JSON.stringify(container)} from ${prev}: one frpc sidecar per workload (put every proxy into one FrpClientPool)`);
  }
  taken.set(key, owner.node.path);
  return container;
}

function chartNamespace(c: IConstruct): string | undefined {
  try {
    return Chart.of(c).namespace;
  } catch {
    return undefined;
  }
}

/** What a component is, for its recommended labels. @internal */
export interface ComponentLabels {
  /** app.kubernetes.io/name: the application (frps, frpc, haproxy, ...). */
  readonly app: string;
  /** app.kubernetes.io/instance: the base name of this instance (unique per namespace). */
  readonly instance: string;
  /** app.kubernetes.io/component. */
  readonly component: string;
  /** app.kubernetes.io/version, when known (an image tag). */
  readonly version?: string;
}

/** The label value an image's tag makes (for app.kubernetes.io/version), if it has a usable tag. @internal */
export function imageVersion(image: string): string | undefined {
  const m = /:([\w][\w.-]{0,62})(?:@sha256:[a-f0-9]{64})?$/.exec(image.replace(/^[^/]*\//, x => x.replace(':', '')));
  return m && m[1] !== 'latest' ? m[1] : undefined;
}

/**
 * The recommended labels (app.kubernetes.io/*) of a component; `extra` (the
 * user's labels, a DistributedService's part-of) wins. @internal
 */
export function recommendedLabels(c: ComponentLabels, extra: { [key: string]: string } = {}): { [key: string]: string } {
  return {
    'app.kubernetes.io/name': c.app,
    'app.kubernetes.io/instance': c.instance,
    'app.kubernetes.io/component': c.component,
    'app.kubernetes.io/part-of': 'cdk8s-frp',
    'app.kubernetes.io/managed-by': 'cdk8s',
    ...(c.version ? { 'app.kubernetes.io/version': c.version } : {}),
    ...extra,
  };
}

/** The labels that select a component's pods: name and instance (stable, readable). @internal */
export function selectorLabels(c: ComponentLabels): { [key: string]: string } {
  return { 'app.kubernetes.io/name': c.app, 'app.kubernetes.io/instance': c.instance };
}

/** DNS name of a Service: `<service>.<namespace>.svc`, or `<service>` without a namespace. @internal */
export function serviceHost(service: string, namespace: string | undefined): string {
  return namespace ? `${service}.${namespace}.svc` : service;
}

/** Makes a Service select pods by these labels (not by cdk8s-plus' path-hash label). @internal */
export function selectPods<T extends { selectLabel(key: string, value: string): void }>(service: T, labels: { [key: string]: string }): T {
  for (const [k, v] of Object.entries(labels)) service.selectLabel(k, v);
  return service;
}
