import { readFileSync } from 'fs';
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { parseAllDocuments } from 'yaml';
import { IMPORT_USAGE, importCommand } from './import';
import { FrpAuth } from '../frp-auth';
import { FrpServer } from '../server/frp-server';
import { DistributedService } from '../service/distributed-service';
import { IssuerKind } from '../service/spec';
import { CertificateAuthority, ICertificateAuthority } from '../tls/certificate-authority';

const USAGE = `usage: cdk8s-frp render [--namespace NS] [--subdomain-host DOMAIN] [--token-secret NAME] FILE...
       cdk8s-frp import [--namespace NS] FILE...   (frpc configs in; see import --help)

Reads frp.io/v1beta1 DistributedService manifests (several YAML documents per
file are fine) and prints the complete bundle as YAML on stdout: one frps
shared by every service, in namespace NS, and each service's objects in its
metadata.namespace (or NS).

  --namespace NS          namespace of the shared frps (default: the services'
                          namespace if they all share one, else "default")
  --subdomain-host DOMAIN frps subDomainHost, for expose.type subdomain
  --token-secret NAME     Secret (key "token") with the frpc-frps token, in NS
                          and in every service namespace (default: frp-token)

Invalid input: the errors go to stderr, nothing to stdout, exit code 1.`;

/** Parsed command line of `render`. @internal */
export interface RenderOptions {
  readonly files: string[];
  readonly namespace?: string;
  readonly subDomainHost?: string;
  readonly tokenSecret: string;
}

/** Parses argv (after the program name). @internal */
export function parseArgs(argv: string[]): RenderOptions | 'help' {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') return 'help';
  if (command !== 'render') throw new Error(command === undefined ? 'missing command' : `unknown command ${JSON.stringify(command)}`);
  const files: string[] = [];
  let namespace: string | undefined;
  let subDomainHost: string | undefined;
  let tokenSecret = 'frp-token';
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const value = () => {
      const v = rest[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--help' || a === '-h') return 'help';
    else if (a === '--namespace') namespace = value();
    else if (a === '--subdomain-host') subDomainHost = value();
    else if (a === '--token-secret') tokenSecret = value();
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else files.push(a);
  }
  if (files.length === 0) throw new Error('no FILE given');
  if (namespace !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) throw new Error(`--namespace must be a DNS label, got ${JSON.stringify(namespace)}`);
  return { files, namespace, subDomainHost, tokenSecret };
}

/**
 * Renders the bundle for the manifests in `files`. Throws on any invalid
 * input (with every message it can collect) before producing output.
 * @internal
 */
export function render(options: RenderOptions): string {
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
  const server = new FrpServer(serverChart, 'frps', {
    auth: FrpAuth.token(kplus.Secret.fromSecretName(serverChart, 'frp-token', options.tokenSecret)),
    subDomainHost: options.subDomainHost,
    certificateAuthority: serverTrust(serverChart, manifests),
  });
  const seen = new Map<string, string>();
  for (const { source, doc } of manifests) {
    try {
      const ns = typeof doc?.metadata?.namespace === 'string' ? doc.metadata.namespace : serverNs;
      const name = doc?.metadata?.name;
      const key = `${ns}/${name}`;
      if (typeof name === 'string' && seen.has(key)) throw new Error(`DistributedService ${key} is also defined in ${seen.get(key)}`);
      seen.set(key, source);
      DistributedService.fromManifest(chartFor(ns), typeof name === 'string' ? name : `unnamed-${seen.size}`, doc, { server });
    } catch (e) {
      errors.push(`${source}: ${(e as Error).message}`);
    }
  }
  if (errors.length > 0) throw new Error(errors.join('\n'));
  return app.synthYaml();
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
    out(render(options));
    return 0;
  } catch (e) {
    err(`cdk8s-frp: ${(e as Error).message}\n`);
    if (/missing command|unknown command|unknown option|needs a value|no FILE/.test((e as Error).message)) err(`${USAGE}\n`);
    return 1;
  }
}
