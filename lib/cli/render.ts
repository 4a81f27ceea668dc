import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { App, Chart, Yaml } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { parseAllDocuments } from 'yaml';
import { clientBundleCommand } from './client-bundle';
import { IMPORT_USAGE, importCommand } from './import';
import { documentValue } from '../k8s/yaml-input';
import { FrpAuth } from '../frp-auth';
import { derivedName } from '../k8s/names';
import { NetworkPeer } from '../network/network-peer';
import { FRPS_IMAGE, FrpCaCertificate, FrpServer } from '../server/frp-server';
import { DistributedService, manifestProblems } from '../service/distributed-service';
import { CHECKS, isDnsLabel } from '../service/field-checks';
import { IssuerKind } from '../spec';
import { SynthWarnings } from '../synth-warnings';
import { CertificateAuthority, ICertificateAuthority } from '../tls/certificate-authority';

const USAGE = `usage: cdk8s-frp render [--output-dir DIR] [OPTIONS] FILE...
       cdk8s-frp --version
       cdk8s-frp client-bundle --machine NAME --server-address HOST[:PORT] [--output-dir DIR]
                               [--local SERVICE=HOST:PORT]... [OPTIONS] FILE...
       cdk8s-frp import [--namespace NS] FILE...   (frpc configs in; see import --help)

render reads frp.io/v1beta1 DistributedService manifests (several YAML documents
per file are fine) and prints the complete bundle as YAML on stdout: one frps
shared by every service, in namespace NS, and each service's objects in its
metadata.namespace (or NS).

client-bundle renders, for one machine outside the cluster, an frpc that joins
the groups of the services in FILE as one more member: DIR/frpc.toml,
DIR/frpc.service (systemd), DIR/export-credentials.sh (token, group key and
certificate from the cluster; how to install) and, with mTLS, DIR/cluster.yaml
(the machine's cert-manager Certificate, to apply in the cluster). Give it the
same OPTIONS as render. Each service's backend on the machine is
127.0.0.1:<its backend port> unless --local says otherwise.

OPTIONS:
  --namespace NS          namespace of the shared frps (default: the services'
                          namespace if they all share one, else "default")
  --subdomain-host DOMAIN frps subDomainHost, for expose.type subdomain
  --token-secret NAME     Secret (key "token") with the frpc-frps token, in NS
                          and in every service namespace (default: frp-token)
  --frps-replicas N       N frps replicas (HA, 1-9): every frpc pod runs one frpc
                          per replica, so every replica holds every group
  --frps-service-type T   LoadBalancer or NodePort: a control Service for frpc
                          outside the cluster
  --frps-address HOST     (repeatable) a DNS name or IP outside machines dial;
                          goes into frps' certificate (needs --frps-service-type)
  --frps-node-port N      node port of that control Service
  --cert-manager-namespace NS
                          cert-manager's cluster resource namespace (its
                          --cluster-resource-namespace; default: cert-manager),
                          where the CA goes when services span namespaces
                          (the CA is then a ClusterIssuer)
  --insecure-skip-verify  no certificate for frps and no cert-manager objects: frpc
                          does not verify frps (not recommended; refused with mTLS)
  --client-cidr CIDR      (repeatable) outside machines' addresses, admitted to
                          the control port by the NetworkPolicy

Invalid input: the errors go to stderr, nothing to stdout, exit code 1.`;

/** Parsed command line of `render` and `client-bundle`. @internal */
export interface RenderOptions {
  readonly command?: 'render' | 'client-bundle';
  readonly files: string[];
  readonly namespace?: string;
  readonly subDomainHost?: string;
  readonly tokenSecret: string;
  readonly frpsReplicas?: number;
  readonly frpsServiceType?: kplus.ServiceType;
  readonly frpsAddresses?: string[];
  readonly frpsNodePort?: number;
  readonly clientCidrs?: string[];
  /** frpc does not verify frps (no CA in the bundle). */
  readonly insecureSkipVerify?: boolean;
  /** cert-manager's cluster resource namespace (of a cluster-wide CA). */
  readonly certManagerNamespace?: string;
  /** client-bundle: the machine. */
  readonly machine?: string;
  /** client-bundle: the address and port it dials. */
  readonly serverAddress?: string;
  readonly serverPort?: number;
  /** client-bundle: where the files go. */
  readonly outputDir?: string;
  /** client-bundle: backends on the machine, by service name. */
  readonly locals?: { [service: string]: { host: string; port: number } };
}

/** Parses argv (after the program name). @internal */
export function parseArgs(argv: string[]): RenderOptions | 'help' {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') return 'help';
  if (command !== 'render' && command !== 'client-bundle') throw new Error(command === undefined ? 'missing command' : `unknown command ${JSON.stringify(command)}`);
  const files: string[] = [];
  let namespace: string | undefined;
  let subDomainHost: string | undefined;
  let tokenSecret = 'frp-token';
  let frpsServiceType: kplus.ServiceType | undefined;
  let frpsReplicas: number | undefined;
  let frpsNodePort: number | undefined;
  const frpsAddresses: string[] = [];
  const clientCidrs: string[] = [];
  let insecureSkipVerify = false;
  let certManagerNamespace: string | undefined;
  let machine: string | undefined;
  let server: string | undefined;
  let outputDir: string | undefined;
  const locals: { [service: string]: { host: string; port: number } } = {};
  const bundleOnly = ['--machine', '--server-address', '--local'];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const value = () => {
      const v = rest[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--help' || a === '-h') return 'help';
    if (command === 'render' && bundleOnly.includes(a)) throw new Error(`unknown option ${a} (it is an option of client-bundle)`);
    if (a === '--insecure-skip-verify') {insecureSkipVerify = true;} else if (a === '--cert-manager-namespace') {certManagerNamespace = value();} else if (a === '--namespace') {namespace = value();} else if (a === '--subdomain-host') {subDomainHost = value();} else if (a === '--token-secret') {tokenSecret = value();} else if (a === '--frps-service-type') {
      const v = value();
      if (v !== 'LoadBalancer' && v !== 'NodePort') throw new Error(`--frps-service-type must be LoadBalancer or NodePort, got ${JSON.stringify(v)}`);
      frpsServiceType = v as kplus.ServiceType;
    } else if (a === '--frps-replicas') {
      const v = value();
      if (!/^[1-9]$/.test(v)) throw new Error(`--frps-replicas must be 1 to 9, got ${JSON.stringify(v)}`);
      frpsReplicas = Number(v);
    } else if (a === '--frps-address') {frpsAddresses.push(value());} else if (a === '--frps-node-port') {frpsNodePort = portOf(a, value());} else if (a === '--client-cidr') {clientCidrs.push(value());} else if (a === '--machine') {machine = value();} else if (a === '--server-address') {server = value();} else if (a === '--output-dir') {outputDir = value();} else if (a === '--local') {
      const m = /^([a-z0-9-]+)=(.+):(\d+)$/.exec(value());
      if (!m) throw new Error(`--local must be SERVICE=HOST:PORT, got ${JSON.stringify(rest[i])}`);
      locals[m[1]] = { host: m[2], port: portOf(a, m[3]) };
    } else if (a.startsWith('-')) {throw new Error(`unknown option ${a}`);} else {files.push(a);}
  }
  if (files.length === 0) throw new Error('no FILE given');
  if (namespace !== undefined && !isDnsLabel(namespace)) throw new Error(`--namespace must be a DNS label, got ${JSON.stringify(namespace)}`);
  if (certManagerNamespace !== undefined && !isDnsLabel(certManagerNamespace)) throw new Error(`--cert-manager-namespace must be a DNS label, got ${JSON.stringify(certManagerNamespace)}`);
  if (certManagerNamespace !== undefined && insecureSkipVerify) throw new Error('--cert-manager-namespace is for the CA, which --insecure-skip-verify turns off: give one of them');
  const badHost = subDomainHost === undefined ? undefined : CHECKS.domain(subDomainHost);
  if (badHost) throw new Error(`--subdomain-host ${badHost}`);
  const badSecret = CHECKS.objectName(tokenSecret);
  if (badSecret) throw new Error(`--token-secret ${badSecret}`);
  if ((frpsAddresses.length > 0 || frpsNodePort !== undefined) && !frpsServiceType && command === 'render') {
    throw new Error('--frps-address and --frps-node-port need --frps-service-type (LoadBalancer or NodePort)');
  }
  let serverAddress: string | undefined;
  let serverPort: number | undefined;
  if (command === 'client-bundle') {
    if (machine === undefined) throw new Error('client-bundle needs --machine NAME');
    if (server === undefined) throw new Error('client-bundle needs --server-address HOST[:PORT]');
    const m = /^(\[[0-9a-fA-F:]+\]|[^:]+)(?::(\d+))?$/.exec(server);
    if (!m) throw new Error(`--server-address must be HOST or HOST:PORT, got ${JSON.stringify(server)}`);
    serverAddress = m[1].replace(/^\[|\]$/g, '');
    serverPort = m[2] === undefined ? undefined : portOf('--server-address', m[2]);
  }
  return {
    command,
    files,
    namespace,
    subDomainHost,
    tokenSecret,
    frpsReplicas,
    frpsServiceType,
    frpsAddresses,
    frpsNodePort,
    clientCidrs,
    insecureSkipVerify,
    certManagerNamespace,
    machine,
    serverAddress,
    serverPort,
    outputDir,
    locals,
  };
}

function portOf(option: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new Error(`${option}: port must be 1-65535, got ${JSON.stringify(v)}`);
  return n;
}

/** The constructed (not yet synthesized) bundle. @internal */
export interface BuiltBundle {
  readonly app: App;
  readonly server: FrpServer;
  readonly serverChart: Chart;
  readonly services: DistributedService[];
  /** Synth-time warnings of the services, each at its document (`<file>: document N: <ns>/<name>: ...`). */
  readonly warnings: string[];
}

/** A manifest read from a file. */
interface Manifest {
  readonly source: string;
  readonly doc: any;
  readonly namespace: string;
}

/**
 * Renders the bundle for the manifests in `files`. Throws on any invalid
 * input (with every message it can collect, each naming the file and
 * document) before producing output.
 * @internal
 */
export function render(options: RenderOptions, warn: (warning: string) => void = () => {}): string {
  const { app, warnings } = buildBundle(options);
  const yaml = app.synthYaml();
  warnings.forEach(warn);
  return yaml;
}

/**
 * Renders the bundle into DIR, one file per namespace (`<namespace>.k8s.yaml`:
 * what an Argo CD app per team wants); returns the files written. @internal
 */
export function renderToDir(options: RenderOptions, dir: string, warn: (warning: string) => void = () => {}): string[] {
  const { app, warnings } = buildBundle(options);
  app.synthYaml(); // the same validation as render
  warnings.forEach(warn);
  mkdirSync(dir, { recursive: true });
  // by each object's own namespace: a service's front objects live next to frps
  const byNamespace = new Map<string, any[]>();
  for (const chart of app.charts) {
    for (const doc of chart.toJson()) {
      const ns = doc.metadata?.namespace ?? chart.namespace ?? 'default';
      if (!byNamespace.has(ns)) byNamespace.set(ns, []);
      byNamespace.get(ns)!.push(doc);
    }
  }
  const written: string[] = [];
  for (const [ns, docs] of byNamespace) {
    const file = join(dir, `${ns}.k8s.yaml`);
    writeFileSync(file, Yaml.stringify(...docs));
    written.push(file);
  }
  return written;
}

/**
 * Builds the app for the manifests in `files` (render and client-bundle build
 * the same tree, so that names agree). Throws on any invalid input, with
 * every problem of every document.
 * @internal
 */
export function buildBundle(options: RenderOptions): BuiltBundle {
  const read: { source: string; doc: any }[] = [];
  const errors: string[] = [];
  for (const file of options.files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      errors.push(`${file}: cannot read: ${(e as Error).message}`);
      continue;
    }
    parseAllDocuments(text, { merge: true, logLevel: 'error', uniqueKeys: true }).forEach((doc, i) => {
      const source = `${file}: document ${i + 1}`;
      const { value, error } = documentValue(doc);
      if (error) errors.push(`${source}: ${error}`);
      else if (value !== null && value !== undefined) read.push({ source, doc: value });
    });
  }
  if (errors.length === 0 && read.length === 0) errors.push('no DistributedService in the given files');

  // every document checked on its own first, with every problem it has
  const nsOf = (doc: any): string | undefined => {
    const ns = isObject(doc) && isObject(doc.metadata) && own(doc.metadata, 'namespace') ? doc.metadata.namespace : undefined;
    return typeof ns === 'string' ? ns : undefined;
  };
  const namespaces = [...new Set(read.map(m => nsOf(m.doc)).filter((n): n is string => n !== undefined))];
  const serverNs = options.namespace ?? (namespaces.length === 1 && read.every(m => nsOf(m.doc) !== undefined) ? namespaces[0] : 'default');
  const manifests: Manifest[] = [];
  const seen = new Map<string, string>();
  for (const { source, doc } of read) {
    const namespace = nsOf(doc) ?? serverNs;
    const problems = manifestProblems(doc, namespace);
    const name = doc?.metadata?.name;
    const where = problems.some(p => p.startsWith('metadata.name:') || p.startsWith('metadata.namespace:') || p.startsWith('apiVersion/kind:')) ? '' : `${namespace}/${name}: `;
    if (problems.length === 0) {
      const key = `${namespace}/${name}`;
      if (seen.has(key)) problems.push(`metadata.name: DistributedService ${key} is also defined in ${seen.get(key)}`);
      else seen.set(key, source);
    }
    if (problems.length > 0) errors.push(...problems.map(p => `${source}: ${where}${p}`));
    else manifests.push({ source, doc, namespace });
  }
  // the valid documents are rendered too, for the problems only rendering finds
  if (manifests.length === 0) throw new Error(errors.join('\n'));
  // in the order of namespace/name, not of the input: frps' client CAs (client-ca-N) and the
  // peers of its NetworkPolicy follow the services, so another file order must not roll frps
  const byName = (m: Manifest) => [m.namespace, m.doc.metadata.name as string];
  manifests.sort((a, b) => {
    const [x, y] = [byName(a), byName(b)];
    return x[0] !== y[0] ? (x[0] < y[0] ? -1 : 1) : x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0;
  });

  const app = new App();
  const charts = new Map<string, Chart>();
  const chartFor = (ns: string) => {
    // the chart id starts the generated names, which must start with a letter
    if (!charts.has(ns)) charts.set(ns, new Chart(app, chartId(ns), { namespace: ns, disableResourceNameHashes: false }));
    return charts.get(ns)!;
  };
  const serverChart = chartFor(serverNs);
  // the library's own ids are not DNS labels, so no service name meets them
  const externalAddresses = options.frpsAddresses?.length ? options.frpsAddresses
    : options.command === 'client-bundle' && options.serverAddress ? [options.serverAddress] : [];
  const external = options.frpsServiceType !== undefined || (options.command === 'client-bundle' && externalAddresses.length > 0);
  const refused = new Set<string>();
  let server: FrpServer;
  try {
    server = new FrpServer(serverChart, 'Frps', {
      name: sharedServerName(manifests.filter(m => m.namespace === serverNs).map(m => m.doc.metadata.name)),
      auth: FrpAuth.token(kplus.Secret.fromSecretName(serverChart, 'FrpToken', options.tokenSecret)),
      subDomainHost: options.subDomainHost,
      replicas: options.frpsReplicas,
      ...(options.insecureSkipVerify ? insecure(manifests, errors, refused)
        : serverTrust(serverChart, serverNs, manifests, errors, refused, options.certManagerNamespace)),
      externalAccess: external ? { serviceType: options.frpsServiceType, addresses: externalAddresses, nodePort: options.frpsNodePort } : undefined,
      clientPeers: (options.clientCidrs ?? []).map(c => NetworkPeer.cidr(c)),
      // client-bundle only needs the names; the NetworkPolicy is render's business
      networkPolicy: options.command === 'client-bundle' ? false : undefined,
    });
  } catch (e) {
    throw new Error(`frps: ${(e as Error).message}`);
  }
  const services: { source: string; service: DistributedService }[] = [];
  for (const { source, doc, namespace } of manifests.filter(m => !refused.has(m.source))) {
    try {
      const service = DistributedService.fromManifest(chartFor(namespace), constructId(doc.metadata.name), doc, { server, source });
      services.push({ source, service });
    } catch (e) {
      errors.push(...(e as Error).message.split('\n').map(line => `${source}: ${inNamespace(line, namespace)}`));
    }
  }
  // what a document's constructs check at synthesis, reported at that document
  for (const { source, service } of services) {
    const namespace = Chart.of(service).namespace!;
    for (const c of service.node.findAll()) errors.push(...c.node.validate().map(m => `${source}: ${inNamespace(m, namespace)}`));
  }
  if (errors.length > 0) throw new Error(errors.join('\n'));
  const warnings = services.flatMap(({ source, service }) => SynthWarnings.of(service).map(w => `${source}: ${inNamespace(w, Chart.of(service).namespace!)}`));
  return { app, server, serverChart, services: services.map(s => s.service), warnings };
}

/**
 * The shared frps' base name: `frps`, unless a service in its namespace is
 * named like one of its Services (a service's name is the user's contract,
 * the library's names step aside): then `frps-shared`, `frps-shared-2`, ...
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
function serverTrust(scope: Chart, serverNs: string, manifests: Manifest[], errors: string[], refused: Set<string>, clusterResourceNamespace?: string)
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
        errors.push(`${source}: ${namespace}/${doc.metadata.name}: spec.security.mtls.issuerKind: frps (namespace ${serverNs}) must trust the CA of the Issuer ${m.issuerName}, `
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

/** `--insecure-skip-verify`: no CA; a manifest asking for mTLS is refused (client certificates come from the CA). */
function insecure(manifests: Manifest[], errors: string[], refused: Set<string>): { insecureSkipVerify: true } {
  for (const { source, doc, namespace } of manifests) {
    if (doc.spec.security?.mtls?.enabled !== true) continue;
    refused.add(source);
    errors.push(`${source}: ${namespace}/${doc.metadata.name}: spec.security.mtls.enabled: mTLS needs frps' certificate authority, which --insecure-skip-verify turns off: drop the option or render this service in a separate run`);
  }
  return { insecureSkipVerify: true };
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

/** This package's version (package.json next to lib/). @internal */
export function packageVersion(): string {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
}

/** The CLI: returns the exit code. @internal */
export function main(argv: string[], out: (s: string) => void, err: (s: string) => void): number {
  if (argv[0] === '--version' || argv[0] === '-V' || argv[0] === 'version') {
    out(`cdk8s-frp ${packageVersion()} (frp ${FRPS_IMAGE.split(':')[1]})\n`);
    return 0;
  }
  if (argv[0] === 'import') {
    try {
      return importCommand(argv.slice(1), out, err);
    } catch (e) {
      err(`cdk8s-frp import: ${(e as Error).message}\n`);
      if (/unknown option|needs a|no FILE/.test((e as Error).message)) err(`${IMPORT_USAGE}\n`);
      return 1;
    }
  }
  try {
    const options = parseArgs(argv);
    if (options === 'help') {
      out(`${USAGE}\n`);
      return 0;
    }
    // warnings go to stderr: stdout stays the bundle, and they do not fail the run
    const warn = (w: string) => err(`cdk8s-frp: warning: ${w}\n`);
    if (options.command === 'client-bundle') return clientBundleCommand(options, out, warn);
    if (options.outputDir !== undefined) {
      for (const file of renderToDir(options, options.outputDir, warn)) out(`${file}\n`);
      return 0;
    }
    out(render(options, warn));
    return 0;
  } catch (e) {
    err(`cdk8s-frp: ${(e as Error).message}\n`);
    if (/missing command|unknown command|unknown option|needs a value|no FILE|needs --/.test((e as Error).message)) err(`${USAGE}\n`);
    return 1;
  }
}
