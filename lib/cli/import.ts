import { readFileSync } from 'fs';
import { stringify } from 'yaml';
import { importFrpcConfigs } from '../migrate/import-frpc';

/** Usage of `cdk8s-frp import`. @internal */
export const IMPORT_USAGE = `usage: cdk8s-frp import [--namespace NS] FILE...

Reads existing frpc configs (TOML, YAML or JSON in frp's v1 format, or the
legacy INI format with [common]) and prints frp.io/v1beta1 DistributedService
manifests on stdout, for \`cdk8s-frp render\`:

  - proxies that share a load-balancing group (across all FILEs) become one
    service with one endpoint per member (the same address twice: weight 2);
  - customDomains, subdomain, locations and remotePort become expose (an http
    proxy with several domains or locations becomes one service per route);
  - healthCheck, transport.bandwidthLimit(Mode), transport.poolCount,
    dialServerTimeout/Keepalive and a client certificate (mTLS) map to the
    spec's fields.

Everything that cannot be mapped is reported on stderr, one line per key or
proxy ("not mapped: ..."); nothing is dropped silently. {{ .Envs.NAME }}
templates are filled from the environment, as frp does; a variable is needed
only where its field is mapped (not for the token or a group key, which the
bundle reads from Secrets).

  --namespace NS   metadata.namespace of every manifest (default: none)

Exit code 0 when at least one service was written, 1 otherwise.`;

/** Runs \`import\`; returns the exit code. @internal */
export function importCommand(argv: string[], out: (s: string) => void, err: (s: string) => void): number {
  const files: string[] = [];
  let namespace: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      out(`${IMPORT_USAGE}\n`);
      return 0;
    } else if (a === '--namespace') {
      namespace = argv[++i];
      if (namespace === undefined || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace)) throw new Error(`--namespace needs a DNS label, got ${JSON.stringify(namespace)}`);
    } else if (a.startsWith('-')) {
      throw new Error(`unknown option ${a}`);
    } else {
      files.push(a);
    }
  }
  if (files.length === 0) throw new Error('no FILE given');
  const sources = files.map(path => {
    try {
      return { path, text: readFileSync(path, 'utf8') };
    } catch (e) {
      throw new Error(`${path}: cannot read: ${(e as Error).message}`);
    }
  });
  const result = importFrpcConfigs(sources, { namespace, env: process.env });
  for (const r of result.reports) err(`cdk8s-frp import: ${r}\n`);
  if (result.manifests.length === 0) {
    err('cdk8s-frp import: no proxy could be mapped to a DistributedService\n');
    return 1;
  }
  out(result.manifests.map(m => stringify(m, { lineWidth: 0 })).join('---\n'));
  return 0;
}
