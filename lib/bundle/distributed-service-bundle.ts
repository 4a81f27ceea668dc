import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { FrpAuth } from '../frp-auth';
import { derivedName } from '../k8s/names';
import { NetworkPeer } from '../network/network-peer';
import { FrpCaCertificate, FrpServer } from '../server/frp-server';
import { DistributedService, manifestProblems } from '../service/distributed-service';
import { IssuerKind } from '../spec';
import { SynthWarnings } from '../synth-warnings';
import { CertificateAuthority, ICertificateAuthority } from '../tls/certificate-authority';

/**
 * How several DistributedServices become one bundle: the options of the shared
 * frps, the same as `cdk8s-frp render`'s and `cdk8s-frp operator`'s.
 */
export interface BundleOptions {
  /**
   * Namespace of the shared frps (`--namespace` of `render`, `--frps-namespace`
   * of `operator`).
   * @default - the services' namespace if they all share one, else "default"
   */
  readonly serverNamespace?: string;
  /**
   * frps `subDomainHost`, for `expose.type: subdomain`.
   * @default - none: subdomain exposure is refused
   */
  readonly subDomainHost?: string;
  /**
   * Name of the Secret (key `token`) with the frpc-frps token, in the frps
   * namespace and in every service namespace.
   * @default "frp-token"
   */
  readonly tokenSecret?: string;
  /**
   * Number of frps replicas (HA, 1 to 9): every frpc pod runs one frpc per
   * replica, so that every replica holds every group.
   * @default 1
   */
  readonly frpsReplicas?: number;
  /**
   * A control Service for frpc outside the cluster (LoadBalancer or NodePort).
   * @default - none: frpc only inside the cluster (a LoadBalancer when
   * `frpsAddresses` are given)
   */
  readonly frpsServiceType?: kplus.ServiceType;
  /**
   * DNS names or IPs that machines outside the cluster dial; they go into
   * frps' certificate, and the control Service for them is made.
   * @default - none
   */
  readonly frpsAddresses?: string[];
  /**
   * Node port of the outside control Service (with `frpsServiceType`).
   * @default - one the cluster picks
   */
  readonly frpsNodePort?: number;
  /**
   * Addresses (CIDRs) of machines outside the cluster, admitted to frps'
   * control port by its NetworkPolicy.
   * @default - none
   */
  readonly clientCidrs?: string[];
  /**
   * frpc does not verify frps: no certificate for frps and no cert-manager
   * objects (not recommended; refused for services with mTLS).
   * @default false
   */
  readonly insecureSkipVerify?: boolean;
  /**
   * cert-manager's cluster resource namespace, where the CA goes when the
   * services span namespaces (the CA is then a ClusterIssuer).
   * @default "cert-manager"
   */
  readonly certManagerNamespace?: string;
}

/** Properties of a `DistributedServiceBundle`. */
export interface DistributedServiceBundleProps extends BundleOptions {
  /** The `frp.io/v1beta1` DistributedService objects, as parsed JSON/YAML. */
  readonly manifests: any[];
  /**
   * Where each manifest comes from (a file and document, or namespace/name),
   * in the order of `manifests`; problems are reported at it.
   * @default - "manifest N" (N from 1)
   */
  readonly sources?: string[];
}

/** A problem of one input manifest (source) or of the whole bundle (source ""). @internal */
export interface BundleProblem {
  readonly source: string;
  readonly message: string;
}

/**
 * Invalid input of a bundle: every problem of every manifest. The message is
 * one line per problem, `<source>: <message>`. @internal
 */
export class BundleError extends Error {
  constructor(public readonly problems: BundleProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'BundleError';
  }
}

const formatProblem = (p: BundleProblem) => (p.source ? `${p.source}: ${p.message}` : p.message);

/** What only `cdk8s-frp client-bundle` asks of the composition. @internal */
export interface ComposeExtras {
  /** false: no NetworkPolicy for frps (client-bundle only needs the names). */
  readonly networkPolicy?: boolean;
}

/** A manifest that passed the checks of a document on its own. */
interface Manifest {
  readonly source: string;
  readonly doc: any;
  readonly namespace: string;
  /**
   * A document with problems of its own, rendered without the fields they
   * are at (these fields' paths), only to find more problems.
   */
  readonly reported?: string[];
}

/**
 * Several DistributedServices rendered together, as `cdk8s-frp render` and
 * `cdk8s-frp operator` render them: one shared frps (its ports, its trusts:
 * every CA the services' mTLS names, as one bundle), each service's objects in
 * its own namespace, one Chart per namespace (id: the namespace) in `scope`,
 * usually the App. Every cross-manifest decision (the shared frps' name and
 * trusts, name claims, the order that keeps the output stable whatever the
 * order of the input) is made here, so an app, the CLI and the operator give
 * the same objects for the same manifests.
 *
 * Not a construct itself: its charts are children of `scope` so that their
 * construct paths, which name generated objects and label pods, are the same
 * as `render`'s.
 *
 * Invalid input throws, with every problem of every manifest, each at its source.
 */
export class DistributedServiceBundle {
  /** The shared frps. */
  public readonly server: FrpServer;
  /** The chart of the frps namespace. */
  public readonly serverChart: Chart;
  /** The services, in namespace/name order. */
  public readonly services: DistributedService[];
  /** The charts, one per namespace. */
  public readonly charts: Chart[];
  /** Synth-time warnings of the services, each at its source (`<source>: <ns>/<name>: ...`). */
  public readonly warnings: string[];

  constructor(scope: Construct, props: DistributedServiceBundleProps) {
    const built = composeBundle(scope, props);
    this.server = built.server;
    this.serverChart = built.serverChart;
    this.services = built.services;
    this.charts = built.charts;
    this.warnings = built.warnings;
  }
}

/** The parts of a composed bundle. @internal */
export interface ComposedBundle {
  readonly server: FrpServer;
  readonly serverChart: Chart;
  readonly services: DistributedService[];
  readonly charts: Chart[];
  readonly warnings: string[];
}

/**
 * Composes the bundle in `scope` (see DistributedServiceBundle). Throws a
 * BundleError with every problem. @internal
 */
export function composeBundle(scope: Construct, props: DistributedServiceBundleProps, extras: ComposeExtras = {}): ComposedBundle {
  const sources = props.sources ?? [];
  const read = props.manifests.map((doc, i) => ({ source: sources[i] ?? `manifest ${i + 1}`, doc }));
  const problems: BundleProblem[] = [];
  const problem = (source: string, message: string) => problems.push({ source, message });
  /** What rendering finds in a document: all of it, or, for a repaired one, its other fields' problems. */
  const rendered = (m: Manifest, message: string) => {
    const field = m.reported ? fieldOf(message, m) : undefined;
    if (!m.reported || (field && !m.reported.some(r => overlaps(r, field)))) problem(m.source, message);
  };
  if (read.length === 0) throw new BundleError([{ source: '', message: 'no DistributedService in the given files' }]);

  // every document checked on its own first, with every problem it has
  const nsOf = (doc: any): string | undefined => {
    const ns = isObject(doc) && isObject(doc.metadata) && own(doc.metadata, 'namespace') ? doc.metadata.namespace : undefined;
    return typeof ns === 'string' ? ns : undefined;
  };
  const namespaces = [...new Set(read.map(m => nsOf(m.doc)).filter((n): n is string => n !== undefined))];
  const serverNs = props.serverNamespace ?? (namespaces.length === 1 && read.every(m => nsOf(m.doc) !== undefined) ? namespaces[0] : 'default');
  const manifests: Manifest[] = [];
  const seen = new Map<string, string>();
  for (const { source, doc } of read) {
    const namespace = nsOf(doc) ?? serverNs;
    const found = manifestProblems(doc, namespace);
    const name = doc?.metadata?.name;
    const where = found.some(p => p.startsWith('metadata.name:') || p.startsWith('metadata.namespace:') || p.startsWith('apiVersion/kind:')) ? '' : `${namespace}/${name}: `;
    if (where) {
      // every document with a valid name claims it, a repaired one too (it is rendered)
      const key = `${namespace}/${name}`;
      if (seen.has(key)) found.push(`metadata.name: DistributedService ${key} is also defined in ${seen.get(key)}`);
      else seen.set(key, source);
    }
    if (found.length > 0) {
      found.forEach(p => problem(source, `${where}${p}`));
      // rendered without the fields found wrong, for the problems only rendering finds
      // (its other fields, clashes with other documents): every problem at once
      const repaired = where ? withoutFields(doc, found, namespace) : undefined;
      if (repaired) manifests.push({ source, doc: repaired.doc, namespace, reported: repaired.fields });
    } else {
      manifests.push({ source, doc, namespace });
    }
  }
  // the valid documents are rendered too, for the problems only rendering finds
  if (manifests.every(m => m.reported)) throw new BundleError(inDocumentOrder(problems, read));
  // in the order of namespace/name, not of the input: frps' client CAs (client-ca-N) and the
  // peers of its NetworkPolicy follow the services, so another input order must not roll frps
  const byName = (m: Manifest) => [m.namespace, m.doc.metadata.name as string];
  manifests.sort((a, b) => {
    const [x, y] = [byName(a), byName(b)];
    return x[0] !== y[0] ? (x[0] < y[0] ? -1 : 1) : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0;
  });

  const charts = new Map<string, Chart>();
  const chartFor = (ns: string) => {
    // the chart id starts the generated names, which must start with a letter
    if (!charts.has(ns)) charts.set(ns, new Chart(scope, chartId(ns), { namespace: ns, disableResourceNameHashes: false }));
    return charts.get(ns)!;
  };
  const serverChart = chartFor(serverNs);
  // the library's own ids are not DNS labels, so no service name meets them
  const externalAddresses = props.frpsAddresses ?? [];
  const external = props.frpsServiceType !== undefined || externalAddresses.length > 0;
  const refused = new Set<string>();
  let server: FrpServer;
  try {
    server = new FrpServer(serverChart, 'Frps', {
      name: sharedServerName(manifests.filter(m => m.namespace === serverNs).map(m => m.doc.metadata.name)),
      auth: FrpAuth.token(kplus.Secret.fromSecretName(serverChart, 'FrpToken', props.tokenSecret ?? 'frp-token')),
      subDomainHost: props.subDomainHost,
      replicas: props.frpsReplicas,
      ...(props.insecureSkipVerify ? insecure(manifests, problem, refused)
        : serverTrust(serverChart, serverNs, manifests, problem, refused, props.certManagerNamespace)),
      externalAccess: external ? { serviceType: props.frpsServiceType, addresses: externalAddresses, nodePort: props.frpsNodePort } : undefined,
      clientPeers: (props.clientCidrs ?? []).map(c => NetworkPeer.cidr(c)),
      networkPolicy: extras.networkPolicy,
    });
  } catch (e) {
    throw new BundleError([...inDocumentOrder(problems, read), { source: '', message: `frps: ${(e as Error).message}` }]);
  }
  const services: { manifest: Manifest; service: DistributedService }[] = [];
  for (const m of manifests.filter(x => !refused.has(x.source))) {
    const { source, doc, namespace } = m;
    try {
      const service = DistributedService.fromManifest(chartFor(namespace), constructId(doc.metadata.name), doc, { server, source });
      services.push({ manifest: m, service });
    } catch (e) {
      (e as Error).message.split('\n').forEach(line => rendered(m, inNamespace(line, namespace)));
    }
  }
  // what a document's constructs check at synthesis, reported at that document
  for (const { manifest, service } of services) {
    for (const c of service.node.findAll()) c.node.validate().forEach(msg => rendered(manifest, inNamespace(msg, manifest.namespace)));
  }
  if (problems.length > 0) throw new BundleError(inDocumentOrder(problems, read));
  const warnings = services.flatMap(({ manifest, service }) => SynthWarnings.of(service).map(w => `${manifest.source}: ${inNamespace(w, manifest.namespace)}`));
  // services of several namespaces and no server namespace: frps goes to "default", which none of them asked for
  const spread = [...new Set(manifests.map(m => m.namespace))];
  if (props.serverNamespace === undefined && spread.length > 1) {
    const first = manifests.find(m => nsOf(m.doc) !== undefined) ?? manifests[0];
    warnings.unshift(`${first.source}: ${first.namespace}/${first.doc.metadata.name}: metadata.namespace: the services are in ${spread.length} namespaces (${spread.join(', ')}) `
      + `and no namespace is given for the shared frps, so it goes to namespace "${serverNs}": give it one (render's --namespace, the bundle's serverNamespace)`);
  }
  return { server, serverChart, services: services.map(s => s.service), charts: [...charts.values()], warnings };
}

/** The rendered bundle: every object as JSON, in the order `cdk8s synth` writes them. @internal */
export interface RenderedBundle {
  readonly objects: any[];
  /** The same objects as multi-document YAML (what `cdk8s-frp render` prints). */
  readonly yaml: string;
  readonly warnings: string[];
}

/**
 * Renders manifests to objects in a fresh App, validated as `cdk8s synth`
 * validates. Throws a BundleError with every problem. @internal
 */
export function renderBundle(inputs: { source: string; manifest: unknown }[], options: BundleOptions = {}): RenderedBundle {
  const app = new App();
  const { warnings } = composeBundle(app, { ...options, manifests: inputs.map(i => i.manifest), sources: inputs.map(i => i.source) });
  let yaml: string;
  try {
    yaml = app.synthYaml();
  } catch (e) {
    throw new BundleError([{ source: '', message: (e as Error).message }]);
  }
  return { objects: app.charts.flatMap(c => c.toJson()), yaml, warnings };
}

/**
 * The shared frps' base name: `frps`, unless a service in its namespace is
 * named like one of its Services (a service's name is the user's contract,
 * the library's names step aside): then `frps-shared`, `frps-shared-2`, ...
 * @internal
 */
export function sharedServerName(serviceNames: string[]): string {
  const taken = new Set(serviceNames);
  const free = (base: string) => ['', '-vhost', '-remote', '-external'].every(suffix => !taken.has(`${base}${suffix}`));
  if (free('frps')) return 'frps';
  for (let i = 1; ; i++) {
    const base = i === 1 ? 'frps-shared' : `frps-shared-${i}`;
    if (free(base)) return base;
  }
}

type Report = (source: string, message: string) => void;

/**
 * frps' certificate and the client CAs it trusts. frpc always verifies frps:
 * frps' certificate comes from a CA in the bundle (a ClusterIssuer over a CA
 * in cert-manager's namespace when services run in other namespaces than
 * frps, so that each frpc's certificate is issued where it runs). With mTLS
 * frps demands client certificates and trusts the CA of each trust the
 * manifests ask for, as one PEM bundle: the bundle's CA (auto mTLS, and
 * services without mTLS on an mTLS frps), each `caSecret` (manual, external;
 * the Secret must exist in the frps namespace too) and each external issuer's
 * CA (`ca.crt` of a certificate it issues next to frps).
 */
function serverTrust(scope: Chart, serverNs: string, manifests: Manifest[], problem: Report, refused: Set<string>, clusterResourceNamespace?: string)
  : { certificateAuthority: ICertificateAuthority; requireClientCertificates: boolean; additionalClientCas: FrpCaCertificate[] } {
  const clusterWide = manifests.some(m => m.namespace !== serverNs);
  // a ClusterIssuer's name is cluster-wide: one per frps namespace
  // (cert-manager's cluster resource namespace only matters then: a namespaced CA stays next to frps)
  const certificateAuthority = new CertificateAuthority(scope, 'Ca', clusterWide ? { name: derivedName('frp-ca', `-${serverNs}`), clusterWide, clusterResourceNamespace } : {});
  const additionalClientCas: FrpCaCertificate[] = [];
  const trusted = new Set<string>();
  let mtls = false;
  for (const { source, doc, namespace } of manifests) {
    const m = doc.spec.security?.mtls;
    if (m?.enabled !== true) continue;
    mtls = true;
    const mode = m.mode ?? 'auto';
    if (mode === 'auto') continue;
    if (m.caSecret) {
      // manual and external: the CA certificate of caSecret, by the key DistributedService reads
      const key = caSecretKey(mode, m.serverCertSecret);
      if (trusted.has(`secret:${m.caSecret}:${key}`)) continue;
      trusted.add(`secret:${m.caSecret}:${key}`);
      additionalClientCas.push({ secret: kplus.Secret.fromSecretName(scope, `ClientCa${additionalClientCas.length}`, m.caSecret), key });
    } else if (mode === 'external' && m.issuerName) {
      const kind = m.issuerKind === 'Issuer' ? IssuerKind.ISSUER : IssuerKind.CLUSTER_ISSUER;
      if (kind === IssuerKind.ISSUER && namespace !== serverNs) {
        refused.add(source);
        problem(source, `${namespace}/${doc.metadata.name}: spec.security.mtls.issuerKind: frps (namespace ${serverNs}) must trust the CA of the Issuer ${m.issuerName}, `
          + `but an Issuer signs only in its own namespace (${namespace}): use a ClusterIssuer, or render this service in a separate run (with --namespace ${namespace})`);
        continue;
      }
      const key = `${kind}:${m.issuerName}`;
      if (trusted.has(key)) continue;
      trusted.add(key);
      // the issuer's CA reaches frps as ca.crt of a certificate it issues next to frps
      const i = additionalClientCas.length;
      const anchor = CertificateAuthority.fromIssuer(scope, `Trust${i}`, { name: m.issuerName, kind })
        // an Issuer and a ClusterIssuer may share a name
        .issueClientCertificate('Anchor', { name: derivedName('frps-trust', `-${kind === IssuerKind.ISSUER ? 'issuer-' : ''}${m.issuerName}`) });
      additionalClientCas.push({ secret: anchor.secret, key: 'ca.crt' });
    }
  }
  return { certificateAuthority, requireClientCertificates: mtls, additionalClientCas };
}

/**
 * The key of a manual or external `caSecret` that holds the CA certificate, the
 * rule DistributedService follows: `ca.crt` with `serverCertSecret` (manual, the
 * CA Secret then needs no key pair), else `tls.crt` (the Secret is the CA's key
 * pair, as cert-manager's CA issuer reads it and `kubectl create secret tls`
 * writes it).
 */
const caSecretKey = (mode: string, serverCertSecret: string | undefined) => (mode === 'manual' && serverCertSecret ? 'ca.crt' : 'tls.crt');

/** `insecureSkipVerify`: no CA; a manifest asking for mTLS is refused (client certificates come from the CA). */
function insecure(manifests: Manifest[], problem: Report, refused: Set<string>): { insecureSkipVerify: true } {
  for (const { source, doc, namespace } of manifests) {
    if (doc.spec.security?.mtls?.enabled !== true) continue;
    refused.add(source);
    problem(source, `${namespace}/${doc.metadata.name}: spec.security.mtls.enabled: mTLS needs frps' certificate authority, which --insecure-skip-verify turns off: drop the option or render this service in a separate run`);
  }
  return { insecureSkipVerify: true };
}

/** Problems in the order of their documents (each document's in the order found); the whole bundle's last. */
function inDocumentOrder(problems: BundleProblem[], read: { source: string }[]): BundleProblem[] {
  const rank = new Map(read.map((r, i) => [r.source, i]));
  return problems.map((p, i) => ({ p, i }))
    .sort((a, b) => (rank.get(a.p.source) ?? read.length) - (rank.get(b.p.source) ?? read.length) || a.i - b.i)
    .map(x => x.p);
}

/** One step of a field path: a key or an index. */
type Step = string | number;
const STEP = /\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;

/** The steps of the field path a problem starts with (`spec.a[0]["b c"]: ...`), if it starts with one. */
function leadingPath(text: string): { steps: Step[]; path: string } | undefined {
  const steps: Step[] = [];
  STEP.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = STEP.exec(text)) !== null) {
    steps.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : JSON.parse(m[3])));
    if (text.startsWith(': ', STEP.lastIndex)) return { steps, path: text.slice(0, STEP.lastIndex) };
  }
  return undefined;
}

/** The field path of a rendering problem of manifest `m` (`<ns>/<name>: <path>: ...`). */
function fieldOf(message: string, m: Manifest): string | undefined {
  const prefix = `${m.namespace}/${m.doc.metadata.name}: `;
  if (!message.startsWith(prefix)) return undefined;
  const found = leadingPath(message.slice(prefix.length));
  return found && /^(spec|metadata)\b/.test(found.path) ? found.path : undefined;
}

/** Whether one field path is the other or lies inside it. */
const overlaps = (a: string, b: string) => a === b || b.startsWith(`${a}.`) || b.startsWith(`${a}[`) || a.startsWith(`${b}.`) || a.startsWith(`${b}[`);

/**
 * A copy of a manifest without the spec fields its problems are at, when that
 * copy has no problems of its own: rendered only to find the problems of its
 * other fields. Undefined when a problem is not at a spec field.
 */
function withoutFields(doc: any, problems: string[], namespace: string): { doc: any; fields: string[] } | undefined {
  let copy = JSON.parse(JSON.stringify(doc));
  const fields: string[] = [];
  let todo = problems;
  // a removed field can leave a required one missing: a few rounds, then give up
  for (let round = 0; round < 3 && todo.length > 0; round++) {
    for (const p of todo) {
      const found = leadingPath(p);
      if (!found || found.steps[0] !== 'spec' || found.steps.length < 2) return undefined;
      const parent = found.steps.slice(0, -1).reduce((o: any, k) => (o === undefined || o === null ? undefined : o[k]), copy);
      const last = found.steps[found.steps.length - 1];
      if (parent === undefined || parent === null || typeof parent !== 'object') return undefined;
      if (Array.isArray(parent) && typeof last === 'number') parent.splice(last, 1);
      else delete parent[last];
      fields.push(found.path);
    }
    todo = manifestProblems(copy, namespace);
    copy = JSON.parse(JSON.stringify(copy));
  }
  return todo.length === 0 ? { doc: copy, fields } : undefined;
}

/**
 * A construct id for a name: the name itself, unless constructs cannot hold it
 * (it keeps children in a plain object, where `constructor` is taken).
 */
const constructId = (name: string) => (name in Object.prototype ? `N-${name}` : name);
/** The chart of a namespace: its id starts the generated names, which must start with a letter. */
const chartId = (ns: string) => (/^[a-z]/.test(ns) ? constructId(ns) : `N-${ns}`);
/** A message of a service's construct, with its namespace and name instead of construct ids. */
function inNamespace(message: string, ns: string): string {
  const m = /^([^/: ]+)\/([^/: ]+)(.*)$/s.exec(message);
  if (!m || m[1] !== chartId(ns)) return message;
  return `${ns}/${m[2].replace(/^N-/, '')}${m[3]}`;
}

const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
