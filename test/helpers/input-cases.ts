/**
 * Generated input for the contract of `cdk8s-frp render` (issue 11): mutations
 * of valid manifests, conflicting manifests rendered together and raw YAML
 * edge cases, and the contract every outcome must meet. Used by
 * test/input-property.test.ts and, for a sample of the valid bundles, by the
 * test API server suite (test/cluster).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import { checkBundle } from './bundle';
import { checkWiring } from './wiring';
import { main } from '../../lib/cli/render';

const dir = mkdtempSync(join(tmpdir(), 'cdk8s-frp-input-property-'));
const examples = join(__dirname, '..', '..', 'examples', 'manifests');

// ---------------------------------------------------------------- valid bases

const manifest = (name: string, namespace: string | undefined, spec: any) =>
  ({ apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', metadata: namespace ? { name, namespace } : { name }, spec });

/** Valid manifests covering every protocol, backend kind, exposure, tier and mTLS mode. */
const BASES: any[] = [
  ...['ollama-cluster', 'postgres-proxy', 'user-service', 'webapp-frontend'].map(n => parseAllDocuments(readFileSync(join(examples, `${n}.yaml`), 'utf8'))[0].toJS()),
  manifest('pg', 'apps', { serviceType: 'tcp', backends: { endpoints: [{ host: '10.0.0.1', port: 5432 }, { host: 'db-2.internal', port: 5432, weight: 2 }] }, expose: { type: 'port', port: 5432 } }),
  manifest('dns', 'apps', { serviceType: 'udp', backends: { endpoints: [{ host: 'fd00::53', port: 53 }] }, expose: { type: 'port', port: 53 } }),
  manifest('web', undefined, { serviceType: 'http', backends: { discovery: { mode: 'selector', selector: { matchLabels: { app: 'web' } }, port: 3000 } }, expose: { domain: 'web.example.com' } }),
  manifest('api', 'team-a', {
    serviceType: 'http',
    backends: { replicas: 3, discovery: { mode: 'selector', selector: { matchLabels: { 'app.kubernetes.io/name': 'api' } }, namespace: 'team-a', port: 8080 } },
    expose: { type: 'path', domain: 'api.example.com', path: '/v2', ingressClassName: 'nginx', ingressTlsSecret: 'api-tls' },
    loadBalancing: { algorithm: 'round-robin', healthCheck: { path: '/healthz', interval: '5s', timeout: '2s', failureThreshold: 5 } },
    security: { mtls: { enabled: true, mode: 'external', issuerName: 'vault', issuerKind: 'ClusterIssuer' } },
    advanced: { connectionPool: { size: 8 }, bandwidth: { limit: '10MB', mode: 'server' }, timeout: { dial: '5s', keepAlive: '60s' } },
  }),
  manifest('cache', 'team-b', {
    serviceType: 'tcp',
    backends: { endpoints: [{ host: 'redis-0.redis', port: 6379 }, { host: 'redis-1.redis', port: 6379 }] },
    expose: { type: 'port', port: 6379, serviceType: 'LoadBalancer' },
    loadBalancing: { algorithm: 'least-conn', sessionAffinity: { enabled: true, timeout: '30m' } },
    advanced: { retry: { enabled: true, maxAttempts: 2, backoff: 'linear' } },
  }),
  manifest('grpc', 'team-b', {
    serviceType: 'grpc',
    backends: { discovery: { mode: 'dns', serviceName: 'grpc-headless', port: 9090 } },
    expose: { type: 'port', port: 443 },
    security: { mtls: { enabled: true, mode: 'manual', caSecret: 'ca', certSecret: 'grpc-client', certRotation: { beforeExpiry: '48h' } } },
  }),
  manifest('sub', undefined, { serviceType: 'http', backends: { endpoints: [{ host: 'a.internal', port: 80 }] }, expose: { type: 'subdomain', subdomain: 'sub' } }),
];

// ---------------------------------------------------------------- value pools

/** Names of JavaScript object members, as keys and values. */
const MEMBERS = ['toString', 'constructor', 'hasOwnProperty', '__proto__', 'valueOf', 'isPrototypeOf', '__defineGetter__', 'prototype'];
/** Values that are valid somewhere (ports, durations, names) and may be wrong where they land. */
const PLAUSIBLE: unknown[] = [
  1, 53, 80, 443, 1023, 1024, 5002, 7000, 7500, 8080, 8443, 10080, 18080, 65535, 2, 100, 101,
  '1s', '0s', '59m', '60m', '61m', '1h', '24h', '25h', '7d', '90d', '0d', '5m', '10MB', '1GB', '5TB',
  'frps', 'frp-token', 'ca', 'default', 'kube-system', 'team-a', 'x'.repeat(54), 'a', 'web',
  '10.0.0.9', 'fd00::9', 'db.internal', 'app.example.com', 'web.apps.example.com', '*.example.com', '/', '/v1', '/a/*',
  'http', 'tcp', 'udp', 'grpc', 'domain', 'subdomain', 'path', 'port', 'auto', 'selector', 'dns', 'manual', 'external',
  'random', 'round-robin', 'least-conn', 'weighted', 'ip-hash', 'token', 'oauth2', 'apikey', 'none', 'GET', 'Issuer',
  true, false,
];
/** Values nothing should accept (or only a free-form string field). */
const HOSTILE: unknown[] = [
  '', ' ', 'A', 'a_b', '.a', 'a..b', '-a', 'a-', 'ü', 'bücher.de', '名前', '{{ .Values.x }}', '${X}', 'a b', 'a\nb', 'a"b', "a'b", 'a\\b', '\u0000',
  'x'.repeat(64), 'x'.repeat(254), 'x'.repeat(2000), 'db_1!', '-1', '1.5', '0x10', '1e3', 'NaN', 'null', 'true',
  0, -1, 1.5, 65536, 70000, 1e21, -0, Number.MAX_SAFE_INTEGER,
  null, [], {}, ['a'], [1, 2], { a: 1 }, { host: 'a', port: 1 }, ...MEMBERS,
];
const FIELD_NAMES = ['serviceType', 'backends', 'discovery', 'endpoints', 'expose', 'port', 'host', 'name', 'namespace', 'type', 'domain', 'enabled', 'mode', 'timeout', 'serviceTypo', 'x', 'a b', '', 'ü'];

// ---------------------------------------------------------------- mutations

type Path = (string | number)[];
const clone = (v: any) => structuredClone(v);
/** Every path into a value (objects and arrays, not the root). */
function allPaths(v: any, at: Path = []): Path[] {
  if (v === null || typeof v !== 'object') return [];
  const keys = Array.isArray(v) ? v.map((_, i) => i) : Object.keys(v);
  return keys.flatMap(k => [[...at, k], ...allPaths(v[k], [...at, k])]);
}
const parentOf = (root: any, path: Path) => path.slice(0, -1).reduce((o, k) => o?.[k], root);
const setOwn = (o: any, k: string | number, v: unknown) =>
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });

type Mutation = (m: any, pick: (n: number) => number) => void;
const pickFrom = <T>(xs: readonly T[], pick: (n: number) => number) => xs[pick(xs.length)];
const MUTATIONS: Mutation[] = [
  // remove a field or a list item
  (m, pick) => {
    const paths = allPaths(m);
    const p = pickFrom(paths, pick);
    const parent = parentOf(m, p);
    if (Array.isArray(parent)) parent.splice(p[p.length - 1] as number, 1);
    else delete parent[p[p.length - 1]];
  },
  // a plausible value in any place
  (m, pick) => {
    const p = pickFrom(allPaths(m), pick);
    setOwn(parentOf(m, p), p[p.length - 1], clone(pickFrom(PLAUSIBLE, pick)));
  },
  // a hostile value in any place
  (m, pick) => {
    const p = pickFrom(allPaths(m), pick);
    setOwn(parentOf(m, p), p[p.length - 1], clone(pickFrom(HOSTILE, pick)));
  },
  // an extra key (JavaScript member names included) in any object
  (m, pick) => {
    const objects = [[], ...allPaths(m)].filter(p => { const v = p.reduce((o: any, k) => o?.[k], m); return v && typeof v === 'object' && !Array.isArray(v); });
    const p = pickFrom(objects, pick);
    const target = p.reduce((o: any, k) => o[k], m);
    setOwn(target, pickFrom([...MEMBERS, ...FIELD_NAMES], pick), clone(pickFrom([...PLAUSIBLE, ...HOSTILE], pick)));
  },
  // targeted: a port frps uses itself, or one its remapping would pick
  (m, pick) => {
    if (m?.spec?.expose && typeof m.spec.expose === 'object') m.spec.expose.port = pickFrom([7000, 7500, 8080, 8443, 5002, 80, 53, 10080, 17000, 18080, 27000], pick);
  },
  // targeted: names and namespaces the library or Kubernetes treat specially
  (m, pick) => {
    if (!m?.metadata || typeof m.metadata !== 'object') return;
    if (pick(2) === 0) m.metadata.name = pickFrom(['frps', 'frp-token', 'ca', 'client', 'server', 'balancer', 'web-team-a', 'constructor', 'x'.repeat(54)], pick);
    else m.metadata.namespace = pickFrom(['frp', 'default', 'kube-system', '0x10', '1', 'team-a', 'constructor', 'x'.repeat(63)], pick);
  },
  // another field's value moved here (right shape, wrong place)
  (m, pick) => {
    const paths = allPaths(m);
    const from = pickFrom(paths, pick);
    const to = pickFrom(paths, pick);
    if (to.length > from.length && from.every((k, i) => to[i] === k)) return; // not into itself
    setOwn(parentOf(m, to), to[to.length - 1], clone(from.reduce((o: any, k) => o[k], m)));
  },
];

// ---------------------------------------------------------------- inputs

export interface Case {
  /** File texts. */
  readonly files: string[];
  /** CLI options before the files. */
  readonly options: string[];
  /** What kind of input, for the counts. */
  readonly kind: string;
}

/** One manifest from the bases, mutated 0 to 3 times. */
const mutationSeeds = fc.tuple(fc.nat(MUTATIONS.length - 1), fc.array(fc.nat(), { minLength: 4, maxLength: 4 }));
const mutated = fc.tuple(fc.nat(BASES.length - 1), fc.array(mutationSeeds, { maxLength: 3 }))
  .map(([b, ms]) => {
    const m = clone(BASES[b]);
    for (const [k, seeds] of ms) {
      let i = 0;
      MUTATIONS[k](m, n => seeds[i++ % seeds.length] % Math.max(n, 1));
    }
    return m;
  });

/** Two or three manifests rendered together, with clashes forced on purpose. */
const CLASHES: ((a: any, b: any) => void)[] = [
  (a, b) => { b.metadata = clone(a.metadata); }, // same name and namespace
  (a, b) => { b.metadata.name = a.metadata.name; b.metadata.namespace = a.metadata.namespace === 'team-b' ? 'team-c' : 'team-b'; }, // same name, other namespace
  (a, b) => { b.spec.serviceType = a.spec.serviceType; b.spec.expose = clone(a.spec.expose); }, // same route or port
  (a, b) => { b.metadata.name = `${a.metadata.name}-${a.metadata.namespace ?? 'default'}`.slice(0, 54); b.metadata.namespace = 'frp'; }, // a qualified name taken
  (a, b) => { b.spec.security = { mtls: { enabled: true, mode: 'external', issuerName: 'other' } }; a.spec.security = { ...a.spec.security, mtls: { enabled: true } }; }, // two trusts
  // mixed mTLS trusts on one frps (issue 12 item 8): frps trusts each CA as a bundle
  (a, b) => {
    a.spec.security = { ...a.spec.security, mtls: { enabled: true, mode: 'manual', caSecret: 'ca-a', certSecret: 'cert-a' } };
    b.spec.security = { ...b.spec.security, mtls: { enabled: true, mode: 'external', caSecret: 'ca-b' } };
  }, // two CA Secrets
  (a, b) => {
    a.spec.security = { ...a.spec.security, mtls: { enabled: true, mode: 'manual', caSecret: 'ca', certSecret: 'c' } };
    b.spec.security = { ...b.spec.security, mtls: { enabled: false } };
    b.metadata.namespace = a.metadata.namespace === 'team-b' ? 'team-c' : 'team-b';
  }, // manual and none in other namespaces
  (a, b) => {
    a.spec.security = { ...a.spec.security, mtls: { enabled: true, mode: 'external', issuerName: 'vault', issuerKind: 'Issuer' } };
    b.spec.security = { ...b.spec.security, mtls: { enabled: true } };
    b.metadata.namespace = a.metadata.namespace === 'team-b' ? 'team-c' : 'team-b';
  }, // a namespaced issuer next to auto mTLS
  () => undefined, // no clash: unrelated services on one frps
];
const together = fc.tuple(fc.array(fc.nat(BASES.length - 1), { minLength: 2, maxLength: 3 }), fc.nat(CLASHES.length - 1), fc.boolean())
  .map(([bs, c, mutate]) => {
    const ms = bs.map(b => clone(BASES[b]));
    CLASHES[c](ms[0], ms[1]);
    if (mutate) MUTATIONS[2](ms[ms.length - 1], n => (c * 7 + bs[0]) % Math.max(n, 1));
    return ms;
  });

/** Raw YAML edits of a valid text. */
const YAML_EDITS: ((text: string, n: number) => string)[] = [
  t => `${t}undefinedAlias: *nope\n`,
  t => t.replace(/port: (\d+)/, 'port: &p $1').replace(/(port: \d+)(?![\s\S]*port: \d)/, 'port: *p'),
  t => `${t}---\na: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`,
  (t, n) => `${t}---\na: ${'['.repeat([10, 63, 64, 65, 500, 3000][n % 6])}${']'.repeat([10, 63, 64, 65, 500, 3000][n % 6])}\n`,
  (t, n) => t.slice(0, n % (t.length + 1)),
  (t, n) => { const i = n % (t.length + 1); return `${t.slice(0, i)}${[':', '{', '[', '\t', '&', '*', '!', '"', '\u0000', '#', '-', '\n', '|', '>', '%', '@', '`'][n % 17]}${t.slice(i)}`; },
  (t, n) => { const lines = t.split('\n'); const i = n % lines.length; lines.splice(i, 0, lines[i]); return lines.join('\n'); },
  t => `---\n---\n${t}---\n`,
  t => `\uFEFF${t}`,
  t => t.replace(/^spec:\n/m, 'base: &base\n  serviceType: tcp\nspec:\n  <<: *base\n'),
  t => t.replace(/host: (\S+)/, 'host: !!binary aGVsbG8='),
  t => t.replace(/enabled: true/, 'enabled: yes'),
  () => '',
  () => '- just\n- a list\n',
  () => 'just a string\n',
];
const rawYaml = fc.tuple(fc.array(fc.nat(BASES.length - 1), { minLength: 1, maxLength: 2 }), fc.nat(YAML_EDITS.length - 1), fc.nat())
  .map(([bs, e, n]) => YAML_EDITS[e](bs.map(b => stringify(BASES[b])).join('---\n'), n));

const options = fc.constantFrom<string[]>([], [], ['--namespace', 'frp'], ['--subdomain-host', 'apps.example.com'], ['--namespace', 'apps', '--subdomain-host', 'example.com']);
export const cases: fc.Arbitrary<Case> = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(mutated, options).map(([m, o]) => ({ files: [stringify(m)], options: o, kind: 'mutation' })) },
  {
    weight: 3,
    arbitrary: fc.tuple(together, options, fc.boolean()).map(([ms, o, split]) => ({
      files: split ? ms.map(m => stringify(m)) : [ms.map(m => stringify(m)).join('---\n')], options: o, kind: 'conflict',
    })),
  },
  { weight: 2, arbitrary: fc.tuple(rawYaml, options).map(([t, o]) => ({ files: [t], options: o, kind: 'yaml' })) },
);

// ---------------------------------------------------------------- the contract

/** An error line: file, document, maybe the service, then the user's field or the YAML problem. */
export const CONTRACT_LINE = /^\S+\.yaml: (document \d+: ([a-z0-9-]+\/[a-z0-9-]+: )?(spec[.[:]|metadata[.[:]|apiVersion\/kind:|("(?:[^"\\]|\\.)*"|[^ :"]+): is not a field of a DistributedService|invalid YAML: )|cannot read)/;
const WHOLE_RUN = /^no DistributedService in the given files$/;
/** How a warning line starts (exit 0; stdout is still the bundle). */
const WARNING = 'cdk8s-frp: warning: ';
const INTERNALS = /ReferenceError|RangeError|TypeError|SyntaxError|call stack|undefined \(reading|\bconstruct\b|Construct |\/Frps|\/Client:|Validation failed/;

let fileNo = 0;
export function writeCase(c: Case): string[] {
  return c.files.map(t => {
    const p = join(dir, `c${++fileNo}.yaml`);
    writeFileSync(p, t);
    return p;
  });
}

export interface Outcome { readonly code: number; readonly out: string; readonly err: string }

/** Checks the contract; returns 'rendered' or 'refused'. Throws a readable error otherwise. */
export function expectContract(r: Outcome, c: Case): 'rendered' | 'refused' {
  const show = () => `input (${c.kind}, options ${JSON.stringify(c.options)}):\n${c.files.join('\n=== next file ===\n').slice(0, 4000)}\nstderr:\n${r.err.slice(0, 4000)}`;
  if (r.code === 0) {
    // stderr may only hold warnings (rendered as asked), each naming its document and field
    const notWarnings = r.err.split('\n').filter(l => l !== '' && !(l.startsWith(WARNING) && CONTRACT_LINE.test(l.slice(WARNING.length))));
    if (notWarnings.length > 0 || INTERNALS.test(r.err)) throw new Error(`exit 0 with stderr other than warnings naming document and field\n${show()}`);
    const docs = parseAllDocuments(r.out).map(d => d.toJS());
    const problems = [...checkBundle(docs), ...checkWiring(docs)];
    if (problems.length > 0) throw new Error(`exit 0 but the bundle has problems:\n${problems.join('\n')}\n${show()}`);
    return 'rendered';
  }
  if (r.code !== 1) throw new Error(`exit ${r.code}\n${show()}`);
  if (r.out !== '') throw new Error(`exit 1 with stdout\n${show()}`);
  const lines = r.err.replace(/^cdk8s-frp: /, '').trimEnd().split('\n');
  const bad = lines.filter(l => !CONTRACT_LINE.test(l) && !WHOLE_RUN.test(l));
  if (r.err.trim() === '' || bad.length > 0 || INTERNALS.test(r.err)) throw new Error(`exit 1 but a message names no document and field, or an internal:\n${bad.join('\n')}\n${show()}`);
  return 'refused';
}

export function runInProcess(c: Case): Outcome {
  let out = '';
  let err = '';
  const code = main(['render', ...c.options, ...writeCase(c)], s => { out += s; }, s => { err += s; });
  return { code, out, err };
}

