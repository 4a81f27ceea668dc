import { readFileSync } from 'fs';
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { parseAllDocuments } from 'yaml';
import { clientBundleCommand } from './client-bundle';
import { IMPORT_USAGE, importCommand } from './import';
import { FrpAuth } from '../frp-auth';
import { NetworkPeer } from '../network/network-peer';
import { FrpServer } from '../server/frp-server';
import { DistributedService } from '../service/distributed-service';
import { IssuerKind } from '../service/spec';
import { CertificateAuthority, ICertificateAuthority } from '../tls/certificate-authority';

const USAGE = `usage: cdk8s-frp render [OPTIONS] FILE...
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
  --frps-service-type T   LoadBalancer or NodePort: a control Service for frpc
                          outside the cluster
  --frps-address HOST     (repeatable) a DNS name or IP outside machines dial;
                          goes into frps' certificate (needs --frps-service-type)
  --frps-node-port N      node port of that control Service
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
  readonly frpsServiceType?: kplus.ServiceType;
  readonly frpsAddresses?: string[];
  readonly frpsNodePort?: number;
  readonly clientCidrs?: string[];
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
  let frpsNodePort: number | undefined;
  const frpsAddresses: string[] = [];
  const clientCidrs: string[] = [];
  let machine: string | undefined;
  let server: string | undefined;
  let outputDir: string | undefined;
  const locals: { [service: string]: { host: string; port: number } } = {};
  const bundleOnly = ['--machine', '--server-address', '--output-dir', '--local'];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const value = () => {
      const v = rest[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--help' || a === '-h') return 'help';
    if (command === 'render' && bundleOnly.includes(a)) throw new Error(`unknown option ${a} (it is an option of client-bundle)`);
    if (a === '--namespace') {namespace = value();} else if (a === '--subdomain-host') {subDomainHost = value();} else if (a === '--token-secret') {tokenSecret = value();} else if (a === '--frps-service-type') {
      const v = value();
      if (v !== 'LoadBalancer' && v !== 'NodePort') throw new Error(`--frps-service-type must be LoadBalancer or NodePort, got ${JSON.stringify(v)}`);
      frpsServiceType = v as kplus.ServiceType;
    } else if (a === '--frps-address') {frpsAddresses.push(value());} else if (a === '--frps-node-port') {frpsNodePort = portOf(a, value());} else if (a === '--client-cidr') {clientCidrs.push(value());} else if (a === '--machine') {machine = value();} else if (a === '--server-address') {server = value();} else if (a === '--output-dir') {outputDir = value();} else if (a === '--local') {
      const m = /^([a-z0-9-]+)=(.+):(\d+)$/.exec(value());
      if (!m) throw new Error(`--local must be SERVICE=HOST:PORT, got ${JSON.stringify(rest[i])}`);
      locals[m[1]] = { host: m[2], port: portOf(a, m[3]) };
    } else if (a.startsWith('-')) {throw new Error(`unknown option ${a}`);} else {files.push(a);}
  }
  if (files.length === 0) throw new Error('no FILE given');
  if (namespace !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) throw new Error(`--namespace must be a DNS label, got ${JSON.stringify(namespace)}`);
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
    frpsServiceType,
    frpsAddresses,
    frpsNodePort,
    clientCidrs,
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
}

/**
 * Renders the bundle for the manifests in `files`. Throws on any invalid
 * input (with every message it can collect) before producing output.
 * @internal
 */
export function render(options: RenderOptions): string {
  return buildBundle(options).app.synthYaml();
}

/**
 * Builds the app for the manifests in `files` (render and client-bundle build
 * the same tree, so that names agree). Throws on any invalid input.
 * @internal
 */
export function buildBundle(options: RenderOptions): BuiltBundle {
  const manifests: { source: string; doc: any }[] = [];
  const errors: string[] = [];
  for (const file of options.files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      errors.push(`${file}: cannot read: ${(e as Error).message}`);
      continue;
    }
    parseAllDocuments(text).forEach((doc, i) => {
      const source = `${file}: document ${i + 1}`;
      if (doc.errors.length > 0) {
        errors.push(`${source}: invalid YAML: ${doc.errors[0].message.split('\n')[0]}`);
        return;
      }
      const value = doc.toJS();
      if (value === null || value === undefined) return; // empty document
      manifests.push({ source, doc: value });
    });
  }
  if (errors.length === 0 && manifests.length === 0) errors.push('no DistributedService in the given files');
  if (errors.length > 0) throw new Error(errors.join('\n'));

  const namespaces = [...new Set(manifests.map(m => m.doc?.metadata?.namespace).filter((n): n is string => typeof n === 'string'))];
  const serverNs = options.namespace ?? (namespaces.length === 1 && manifests.every(m => m.doc?.metadata?.namespace) ? namespaces[0] : 'default');
  const app = new App();
  const charts = new Map<string, Chart>();
  const chartFor = (ns: string) => {
    if (!charts.has(ns)) charts.set(ns, new Chart(app, ns, { namespace: ns, disableResourceNameHashes: false }));
    return charts.get(ns)!;
  };
  const serverChart = chartFor(serverNs);
  const externalAddresses = options.frpsAddresses?.length ? options.frpsAddresses
    : options.command === 'client-bundle' && options.serverAddress ? [options.serverAddress] : [];
  const external = options.frpsServiceType !== undefined || (options.command === 'client-bundle' && externalAddresses.length > 0);
  let server: FrpServer;
  try {
    server = new FrpServer(serverChart, 'frps', {
      auth: FrpAuth.token(kplus.Secret.fromSecretName(serverChart, 'frp-token', options.tokenSecret)),
      subDomainHost: options.subDomainHost,
      certificateAuthority: serverTrust(serverChart, manifests),
      externalAccess: external ? { serviceType: options.frpsServiceType, addresses: externalAddresses, nodePort: options.frpsNodePort } : undefined,
      clientPeers: (options.clientCidrs ?? []).map(c => NetworkPeer.cidr(c)),
      // client-bundle only needs the names; the NetworkPolicy is render's business
      networkPolicy: options.command === 'client-bundle' ? false : undefined,
    });
  } catch (e) {
    throw new Error(`frps: ${(e as Error).message}`);
  }
  const services: DistributedService[] = [];
  const seen = new Map<string, string>();
  for (const { source, doc } of manifests) {
    try {
      const ns = typeof doc?.metadata?.namespace === 'string' ? doc.metadata.namespace : serverNs;
      const name = doc?.metadata?.name;
      const key = `${ns}/${name}`;
      if (typeof name === 'string' && seen.has(key)) throw new Error(`DistributedService ${key} is also defined in ${seen.get(key)}`);
      seen.set(key, source);
      services.push(DistributedService.fromManifest(chartFor(ns), typeof name === 'string' ? name : `unnamed-${seen.size}`, doc, { server }));
    } catch (e) {
      errors.push(`${source}: ${(e as Error).message}`);
    }
  }
  if (errors.length > 0) throw new Error(errors.join('\n'));
  return { app, server, serverChart, services };
}

/**
 * The shared frps has one client CA (`trustedCaFile`), so the services that
 * ask for mTLS must agree on it: the CA it gets is the one they name (auto: a
 * CA in the bundle; manual: an issuer over their caSecret, in the frps
 * namespace too; external: their issuer). Services without mTLS on an mTLS
 * frps get client certificates from the same CA.
 */
function serverTrust(scope: Chart, manifests: { source: string; doc: any }[]): ICertificateAuthority | undefined {
  const wanted = new Map<string, { sources: string[]; mtls: any }>();
  for (const { source, doc } of manifests) {
    const mtls = doc?.spec?.security?.mtls;
    if (mtls?.enabled !== true) continue;
    const mode = mtls.mode ?? 'auto';
    const key = mode === 'manual' ? `manual mTLS with caSecret ${mtls.caSecret}`
      : mode === 'external' ? `external mTLS with ${mtls.issuerKind ?? 'ClusterIssuer'} ${mtls.issuerName}` : 'auto mTLS';
    if (!wanted.has(key)) wanted.set(key, { sources: [], mtls });
    wanted.get(key)!.sources.push(source);
  }
  if (wanted.size > 1) {
    throw new Error(`the services share one frps, which trusts one client CA, but they ask for ${[...wanted.entries()]
      .map(([k, v]) => `${k} (${v.sources.join(', ')})`).join(' and ')}; render them in separate runs (with --namespace)`);
  }
  const [only] = [...wanted.values()];
  if (!only) return undefined;
  const m = only.mtls;
  if (m.mode === 'manual') return typeof m.caSecret === 'string' ? CertificateAuthority.fromCaSecret(scope, 'ca', { caSecretName: m.caSecret }) : undefined;
  if (m.mode === 'external') {
    return typeof m.issuerName === 'string'
      ? CertificateAuthority.fromIssuer(scope, 'ca', { name: m.issuerName, kind: m.issuerKind === 'Issuer' ? IssuerKind.ISSUER : IssuerKind.CLUSTER_ISSUER })
      : undefined;
  }
  return new CertificateAuthority(scope, 'ca');
}

/** The CLI: returns the exit code. @internal */
export function main(argv: string[], out: (s: string) => void, err: (s: string) => void): number {
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
    if (options.command === 'client-bundle') return clientBundleCommand(options, out);
    out(render(options));
    return 0;
  } catch (e) {
    err(`cdk8s-frp: ${(e as Error).message}\n`);
    if (/missing command|unknown command|unknown option|needs a value|no FILE|needs --/.test((e as Error).message)) err(`${USAGE}\n`);
    return 1;
  }
}
