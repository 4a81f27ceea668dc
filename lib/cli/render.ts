import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'fs';
import { join } from 'path';
import { App, Yaml } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { clientBundleCommand } from './client-bundle';
import { crdYaml } from './crd';
import { importCommand } from './import';
import { OUTPUT_DIR_RECORD, writeOwnedDir } from './output-dir';
import { requiredSecretLines } from './required-secret-lines';
import { BundleArgs, optionValue, portOption } from '../bundle/bundle-args';
import { BundleError, BundleOptions, ComposedBundle, composeBundle } from '../bundle/distributed-service-bundle';
import { documentValue } from '../k8s/yaml-input';
import { FRPS_IMAGE } from '../server/frp-server';

const USAGE = `usage: cdk8s-frp render [--output-dir DIR] [OPTIONS] FILE...   (FILE - is standard input)
       cdk8s-frp crd                                (the DistributedService CRD as YAML)
       cdk8s-frp --version
       cdk8s-frp client-bundle --machine NAME --server-address HOST[:PORT] [--output-dir DIR]
                               [--local SERVICE=HOST:PORT]... [OPTIONS] FILE...
       cdk8s-frp import [--namespace NS] FILE...   (frpc configs in; see import --help)
       cdk8s-frp operator [--kubeconfig FILE] [OPTIONS]
                                             (the controller: DistributedService objects
                                             in a cluster become this bundle; see operator --help)

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
  --output-dir DIR        render: one file per namespace, DIR/<namespace>.k8s.yaml,
                          instead of stdout; DIR is render's own: a later render
                          removes the files it wrote there and no longer writes
                          (listed in DIR/${OUTPUT_DIR_RECORD}); other files stay.
                          client-bundle: where the machine's files go (default:
                          the machine's name)
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

/**
 * Parsed command line of `render` and `client-bundle`: the composition's
 * options (`--namespace` is `serverNamespace`) and the command's own. @internal
 */
export interface RenderOptions extends BundleOptions {
  readonly command?: 'render' | 'client-bundle';
  readonly files: string[];
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
  const bundleArgs = new BundleArgs('--namespace');
  let machine: string | undefined;
  let server: string | undefined;
  let outputDir: string | undefined;
  const locals: { [service: string]: { host: string; port: number } } = {};
  const bundleOnly = ['--machine', '--server-address', '--local'];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const value = () => optionValue(rest, ++i, a);
    if (a === '--help' || a === '-h') return 'help';
    if (command === 'render' && bundleOnly.includes(a)) throw new Error(`unknown option ${a} (it is an option of client-bundle)`);
    if (bundleArgs.take(a, value)) continue;
    if (a === '--machine') {machine = value();} else if (a === '--server-address') {server = value();} else if (a === '--output-dir') {outputDir = value();} else if (a === '--local') {
      const m = /^([a-z0-9-]+)=(.+):(\d+)$/.exec(value());
      if (!m) throw new Error(`--local must be SERVICE=HOST:PORT, got ${JSON.stringify(rest[i])}`);
      locals[m[1]] = { host: m[2], port: portOption(a, m[3]) };
    } else if (a.startsWith('-') && a !== '-') {throw new Error(`unknown option ${a}`);} else {files.push(a);}
  }
  if (files.filter(f => f === '-').length > 1) throw new Error('- (standard input) may be given once');
  if (files.length === 0) throw new Error('no FILE given');
  const bundle = bundleArgs.options();
  const { frpsServiceType, frpsNodePort, insecureSkipVerify = false, frpsAddresses = [] } = bundle;
  let serverAddress: string | undefined;
  let serverPort: number | undefined;
  if (command === 'client-bundle') {
    if (machine === undefined) throw new Error('client-bundle needs --machine NAME');
    if (server === undefined) throw new Error('client-bundle needs --server-address HOST[:PORT]');
    const m = /^(\[[0-9a-fA-F:]+\]|[^:]+)(?::(\d+))?$/.exec(server);
    if (!m) throw new Error(`--server-address must be HOST or HOST:PORT, got ${JSON.stringify(server)}`);
    serverAddress = m[1].replace(/^\[|\]$/g, '');
    serverPort = m[2] === undefined ? undefined : portOption('--server-address', m[2]);
    // the machine dials what the cluster bundle (render with the same options) serves
    const same = 'give render and client-bundle the same options';
    if (!frpsServiceType) {
      throw new Error(`--server-address ${server}: the cluster bundle has no Service that machines outside the cluster reach frps on: ${same}, with --frps-service-type (LoadBalancer or NodePort) and --frps-address ${serverAddress}`);
    }
    if (!insecureSkipVerify && !frpsAddresses.includes(serverAddress)) {
      throw new Error(`--server-address ${server}: frps' certificate names ${frpsAddresses.length > 0 ? `only ${frpsAddresses.join(', ')} outside the cluster` : 'no address outside the cluster'}, so frpc could not verify frps there: ${same}, with --frps-address ${serverAddress}`);
    }
    if (frpsServiceType === 'NodePort' && (frpsNodePort === undefined || (serverPort !== undefined && serverPort !== frpsNodePort))) {
      throw new Error(`--server-address ${server}: a NodePort Service is reached on its node port, which the machine must know: ${same}, with --frps-node-port N, and dial ${serverAddress}:N`);
    }
  }
  return {
    command,
    files,
    ...bundle,
    // what render has always returned for options not given
    tokenSecret: bundle.tokenSecret ?? 'frp-token',
    frpsAddresses,
    clientCidrs: bundle.clientCidrs ?? [],
    insecureSkipVerify,
    machine,
    serverAddress,
    serverPort,
    outputDir,
    locals,
  };
}

/** The constructed (not yet synthesized) bundle of `render` and `client-bundle`. @internal */
export interface BuiltBundle extends ComposedBundle {
  readonly app: App;
  /** The documents read, with their sources. */
  readonly inputs: { source: string; manifest: unknown }[];
}

/**
 * Input limits, far above what a real bundle needs (a DistributedService is a
 * few KiB; 1,000 endpoints, the spec's maximum, about 40 KiB), so that an
 * oversized input is refused at once rather than parsed for seconds.
 * @internal
 */
export const INPUT_LIMITS = {
  /** Bytes per input (file or standard input). */
  bytesPerInput: 512 * 1024,
  /** DistributedService documents per run (all inputs together). */
  documents: 500,
};

/** The name standard input has in messages. @internal */
export const STDIN_SOURCE = 'stdin';

/** An input's text, read no further than the byte limit (a file, or `-`: standard input). */
function readInput(file: string): string {
  const limit = INPUT_LIMITS.bytesPerInput;
  const tooBig = (size: string) => new Error(`${size}: over the limit of ${limit / 1024} KiB (${limit} bytes) per input (a DistributedService is a few KiB: split the input into several files)`);
  const fd = file === '-' ? 0 : openSync(file, 'r');
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new Error('is a directory');
    if (stat.isFile() && stat.size > limit) throw tooBig(`${stat.size} bytes`);
    const chunks: Buffer[] = [];
    let total = 0;
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buffer, 0, buffer.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        if ((e as NodeJS.ErrnoException).code === 'EOF') break;
        throw e;
      }
      if (n === 0) break;
      total += n;
      if (total > limit) throw tooBig(`more than ${limit} bytes`);
      chunks.push(Buffer.from(buffer.subarray(0, n)));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/**
 * Reads the DistributedService documents of `files` (`-` is standard input),
 * each with its source (`<file>: document N`), and what is wrong with the
 * inputs that cannot be read (missing, over INPUT_LIMITS) and the documents
 * that are not valid YAML.
 * @internal
 */
export function readManifests(files: string[]): { inputs: { source: string; manifest: unknown }[]; errors: string[] } {
  const inputs: { source: string; manifest: unknown }[] = [];
  const errors: string[] = [];
  let documents = 0;
  for (const file of files) {
    const name = file === '-' ? STDIN_SOURCE : file;
    let text: string;
    try {
      text = readInput(file);
    } catch (e) {
      errors.push(`${name}: cannot read: ${(e as Error).message}`);
      continue;
    }
    // counted before parsing: a document starts at every "---" line (and the first)
    documents += (text.match(/^---(?=[ \t\r\n]|$)/gm)?.length ?? 0) + 1;
    if (documents > INPUT_LIMITS.documents) {
      errors.push(`${name}: cannot read: more than ${INPUT_LIMITS.documents} documents in one run (render them in several runs, each with its own --namespace, or several files of fewer documents)`);
      break;
    }
    parseAllDocuments(text, { merge: true, logLevel: 'error', uniqueKeys: true }).forEach((doc, i) => {
      const source = `${name}: document ${i + 1}`;
      const { value, error } = documentValue(doc);
      if (error) errors.push(`${source}: ${error}`);
      else if (value !== null && value !== undefined) inputs.push({ source, manifest: value });
    });
  }
  return { inputs, errors };
}

/**
 * Builds the app for the manifests in `files` through the composition
 * (render and client-bundle build the same tree, so that names agree).
 * Throws on any invalid input, with every problem of every document.
 * @internal
 */
export function buildBundle(options: RenderOptions): BuiltBundle {
  const { inputs, errors } = readManifests(options.files);
  // the documents that did parse are checked too, so that every problem shows at once
  if (inputs.length === 0) throw new Error(errors.length > 0 ? errors.join('\n') : 'no DistributedService in the given files');
  const app = new App();
  const clientBundle = options.command === 'client-bundle';
  try {
    const composed = composeBundle(app, { ...options, manifests: inputs.map(i => i.manifest), sources: inputs.map(i => i.source) }, {
      // client-bundle only needs the names; the NetworkPolicy is render's business
      networkPolicy: clientBundle ? false : undefined,
    });
    if (errors.length > 0) throw new Error(errors.join('\n'));
    return { app, inputs, ...composed };
  } catch (e) {
    if (e instanceof BundleError && errors.length > 0) throw new Error([...errors, e.message].join('\n'));
    throw e;
  }
}

/**
 * Renders the bundle for the manifests in `files`. Throws on any invalid
 * input (with every message it can collect, each naming the file and
 * document) before producing output.
 * @internal
 */
export function render(options: RenderOptions, warn: (warning: string) => void = () => {}): string {
  const built = buildBundle(options);
  const yaml = built.app.synthYaml();
  built.warnings.forEach(warn);
  requiredSecretLines(built.app.charts.flatMap(c => c.toJson()), built.inputs, built.serverChart.namespace!).forEach(warn);
  return yaml;
}

/**
 * Renders the bundle into DIR, one file per namespace (`<namespace>.k8s.yaml`:
 * what an Argo CD app per team wants); returns the files written. @internal
 */
export function renderToDir(options: RenderOptions, dir: string, warn: (warning: string) => void = () => {}): string[] {
  const { app, warnings, inputs, serverChart } = buildBundle(options);
  app.synthYaml(); // the same validation as render
  warnings.forEach(warn);
  requiredSecretLines(app.charts.flatMap(c => c.toJson()), inputs, serverChart.namespace!).forEach(warn);
  // by each object's own namespace: a service's front objects live next to frps
  const byNamespace = new Map<string, any[]>();
  for (const chart of app.charts) {
    for (const doc of chart.toJson()) {
      const ns = doc.metadata?.namespace ?? chart.namespace ?? 'default';
      if (!byNamespace.has(ns)) byNamespace.set(ns, []);
      byNamespace.get(ns)!.push(doc);
    }
  }
  return writeOwnedDir(dir, new Map([...byNamespace].map(([ns, docs]) => [`${ns}.k8s.yaml`, Yaml.stringify(...docs)])));
}

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
  if (argv[0] === 'crd') {
    if (argv.length > 1 && !['--help', '-h'].includes(argv[1])) return usageError(err, `crd takes no ${argv[1].startsWith('-') ? 'option' : 'argument'} ${argv[1]}`);
    out(argv.length > 1 ? 'usage: cdk8s-frp crd > crd.yaml   (the DistributedService CustomResourceDefinition, as deploy/crd.yaml)\n' : crdYaml());
    return 0;
  }
  if (argv[0] === 'import') {
    try {
      return importCommand(argv.slice(1), out, err);
    } catch (e) {
      if (USAGE_ERROR.test((e as Error).message)) return usageError(err, (e as Error).message, 'import');
      err(`cdk8s-frp import: ${(e as Error).message}\n`);
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
    if (USAGE_ERROR.test((e as Error).message)) return usageError(err, (e as Error).message);
    err(`cdk8s-frp: ${(e as Error).message}\n`);
    return 1;
  }
}

/** Errors of the command line itself (not of the input). */
const USAGE_ERROR = /^(missing command|unknown command|unknown option|[^ ]+ needs a|no FILE|client-bundle needs --)/;

/** A command-line mistake: one line and where the usage is, not the whole usage. */
function usageError(err: (s: string) => void, message: string, command?: string): number {
  const prefix = command ? `cdk8s-frp ${command}` : 'cdk8s-frp';
  err(`${prefix}: ${message}; see ${prefix} --help\n`);
  return 1;
}
