// Regression tests of issue 11: for any input, `cdk8s-frp render` gives a
// bundle that applies cleanly, or exit 1, nothing on stdout and messages that
// name the file, the document and the user's spec./metadata. field. One
// describe per class of defect found by the generated-input run.
import { spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as fc from 'fast-check';
import { parse as parseToml } from 'smol-toml';
import { Document, isSeq, Pair, parseAllDocuments, stringify, visit } from 'yaml';
import { checkWiring, expectValidBundle, withoutRequiredSecrets } from './helpers';
import { main } from '../lib/cli/render';

const dir = mkdtempSync(join(tmpdir(), 'cdk8s-frp-contract-'));
let fileNo = 0;

/** Runs `cdk8s-frp render` in-process over files with these texts. */
function render(texts: string[], ...args: string[]) {
  const files = texts.map(t => {
    const p = join(dir, `in-${++fileNo}.yaml`);
    writeFileSync(p, t);
    return p;
  });
  let out = '';
  let err = '';
  const code = main(['render', ...args, ...files], s => { out += s; }, s => { err += s; });
  return { code, out, err, files };
}

/** A manifest: metadata plus spec (plain objects, YAML text via stringify). */
const manifest = (name: any, spec: any, metadata: any = {}) => ({ apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', metadata: { name, ...metadata }, spec });
const yaml = (...docs: any[]) => docs.map(d => stringify(d)).join('---\n');
const tcp = (port = 5432, extra: any = {}) => ({ serviceType: 'tcp', backends: { endpoints: [{ host: '10.0.0.1', port: 5432 }] }, expose: { type: 'port', port }, ...extra });
const http = (domain = 'app.example.com', extra: any = {}) => ({ serviceType: 'http', backends: { discovery: { mode: 'selector', selector: { matchLabels: { app: 'web' } }, port: 3000 } }, expose: { domain }, ...extra });

/** A message line: file, document, maybe the service, then the user's field (or the YAML problem). */
const CONTRACT_LINE = /^\S+\.yaml: (document \d+: ([a-z0-9-]+\/[a-z0-9-]+: )?(spec[.[:]|metadata[.[:]|apiVersion\/kind:|("(?:[^"\\]|\\.)*"|[^ :"]+): is not a field of a DistributedService|invalid YAML: )|cannot read)/;

function expectRefused(r: ReturnType<typeof render>, ...messages: (string | RegExp)[]) {
  expect(r.out).toBe('');
  expect(r.code).toBe(1);
  for (const m of messages) expect(r.err).toMatch(m);
  // every line names a file and document (or the file) and a user's field
  const lines = r.err.replace(/^cdk8s-frp: /, '').trimEnd().split('\n');
  for (const line of lines) expect(line).toMatch(CONTRACT_LINE);
  // never an internal: no JavaScript error names, no construct paths of our objects
  expect(r.err).not.toMatch(/ReferenceError|RangeError|TypeError|call stack|\bconstruct\b|Construct |\/Client:|\/Frps|\/frps/);
  return lines;
}

function expectRendered(r: ReturnType<typeof render>) {
  expect(withoutRequiredSecrets(r.err)).toBe('');
  expect(r.code).toBe(0);
  const docs = parseAllDocuments(r.out).map(d => d.toJS());
  expectValidBundle(docs);
  expect(checkWiring(docs)).toEqual([]);
  return docs;
}

const frpsToml = (docs: any[]) => parseToml(docs.find(d => d.kind === 'ConfigMap' && d.data?.['frps.toml']).data['frps.toml']) as any;

describe('1. YAML errors in the user\'s words, limits kept', () => {
  test.each<[string, string, RegExp]>([
    ['an undefined alias', 'a: *nope\n', /document 1: invalid YAML: alias \*nope has no anchor &nope before it/],
    ['an alias across documents', [
      yaml(manifest('a', tcp())),
      yaml(manifest('b', tcp(5433, { advanced: { timeout: { dial: 'x' } } }))).replace('dial: x', 'dial: &d 5s'),
      yaml(manifest('c', tcp(5434, { advanced: { timeout: { dial: 'x' } } }))).replace('dial: x', 'dial: *d'),
    ].join('---\n'), /document 3: invalid YAML: alias \*d has no anchor &d before it in this document \(anchors do not reach across documents\)/],
    ['a billion laughs', 'a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n',
      /document 1: invalid YAML: aliases expand to too many nodes/],
    ['deep flow nesting', `${'['.repeat(5000)}${']'.repeat(5000)}\n`, /document 1: invalid YAML: nested deeper than 64 levels/],
    ['deep block nesting', `${Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')} 1\n`, /document 1: invalid YAML: nested deeper than 64 levels/],
    ['a duplicate key', 'a: 1\na: 2\n', /document 1: invalid YAML: Map keys must be unique/],
  ])('%s', (_name, text, message) => {
    expectRefused(render([text]), message);
  });

  test('the other documents of the file are still checked', () => {
    const r = render([`a: *nope\n---\n${yaml(manifest('Bad', tcp()))}`]);
    expectRefused(r, /document 1: invalid YAML/, /document 2: metadata\.name: must be a DNS label/);
  });
});

describe('2. metadata.name is checked before it becomes a construct id', () => {
  test.each(['', 'A', 'a/b', 'frps-', '-x', 'x'.repeat(55), 'Frps'])('name %j is refused at metadata.name', (name) => {
    expectRefused(render([yaml(manifest(name, tcp()))]), /document 1: metadata\.name: must be a DNS label/);
  });

  test('a name that is not a string', () => {
    expectRefused(render([yaml(manifest(12, tcp()))]), /document 1: metadata\.name: must be a DNS label .* got 12/);
  });

  test('a service and a namespace named constructor (constructs keep children in a plain object; found by seed 9)', () => {
    const docs = expectRendered(render([yaml(manifest('constructor', tcp(), { namespace: 'constructor' }), manifest('constructor', http(), { namespace: 'team' }))], '--namespace', 'constructor'));
    expect(docs.find(d => d.kind === 'Service' && d.metadata.name === 'constructor').metadata.namespace).toBe('constructor');
    expectRefused(render([yaml(manifest('constructor', { ...http(), expose: { type: 'subdomain', subdomain: 'sub' } }, { namespace: 'constructor' }))]),
      /document 1: constructor\/constructor: spec\.expose\.subdomain: needs a server with subDomainHost/);
  });

  test('services named like the library\'s own construct ids render together', () => {
    const docs = expectRendered(render([yaml(manifest('frps', tcp(5432)), manifest('frp-token', tcp(5433)), manifest('ca', http('ca.example.com', { security: { mtls: { enabled: true } } })))]));
    expect(docs.filter(d => d.kind === 'Deployment' && d.metadata.labels['app.kubernetes.io/name'] === 'frps')).toHaveLength(1);
    expect(docs.find(d => d.kind === 'Service' && d.metadata.name === 'frps')).toBeDefined();
    expect(docs.find(d => d.kind === 'Ingress' && d.metadata.name === 'ca')).toBeDefined();
  });

  test('matchLabels keys named like JavaScript members select pods', () => {
    const spec = http();
    spec.backends.discovery.selector.matchLabels = { constructor: 'x', toString: 'y', valueOf: 'z' } as any;
    const docs = expectRendered(render([yaml(manifest('web', spec))]));
    const backends = docs.find(d => d.kind === 'Service' && d.spec.ports[0].name === 'backend');
    expect(backends.spec.selector).toEqual({ constructor: 'x', toString: 'y', valueOf: 'z' });
  });
});

describe('3. clashes between services are reported at both manifests\' fields', () => {
  test('two services on one route', () => {
    const r = render([yaml(manifest('a', http('app.example.com')))], ...[]);
    expect(r.code).toBe(0);
    const two = render([yaml(manifest('a', http('app.example.com'))), yaml(manifest('b', http('app.example.com')))]);
    const [line] = expectRefused(two);
    expect(line).toBe(`${two.files[1]}: document 1: default/b: spec.expose.domain: the route http://app.example.com/ is already served by default/a (${two.files[0]}: document 1) at its spec.expose.domain; only one service can serve a host and path (give one another domain or path)`);
  });

  test('the same host on different paths is no clash', () => {
    expectRendered(render([yaml(
      manifest('a', http('app.example.com', { expose: { type: 'path', domain: 'app.example.com', path: '/a' } })),
      manifest('b', http('app.example.com', { expose: { type: 'path', domain: 'app.example.com', path: '/b' } })),
    )]));
  });

  test('a name next to frps taken by a service of another namespace', () => {
    const r = render([yaml(manifest('web', http('a.example.com'), { namespace: 'team' }), manifest('web-team', http('b.example.com'), { namespace: 'frp' }))], '--namespace', 'frp');
    // services claim names in namespace/name order (not input order): frp/web-team first, so the
    // clash is reported at team/web, whose name and namespace make the qualified name web-team
    expectRefused(r, /document 1: team\/web: metadata\.name\/metadata\.namespace: the Ingress web-team next to frps is also the one of frp\/web-team \(\S+: document 2\) at its metadata\.name; rename one of the services/);
  });

  test('two services exposing the same port both work: frps listens on two ports', () => {
    const docs = expectRendered(render([yaml(manifest('a', tcp(5432)), manifest('b', tcp(5432)))]));
    const ports = docs.filter(d => d.kind === 'Service' && ['a', 'b'].includes(d.metadata.name)).map(d => d.spec.ports[0]);
    expect(ports.map(p => p.port)).toEqual([5432, 5432]);
    expect(new Set(ports.map(p => p.targetPort)).size).toBe(2);
  });

  test('different mTLS trusts on the shared frps render together: frps trusts each CA (a PEM bundle), every frpc verifies frps against the bundle\'s CA', () => {
    const r = render([yaml(manifest('a', tcp(5432, { security: { mtls: { enabled: true } } })), manifest('b', tcp(5433, { security: { mtls: { enabled: true, mode: 'external', issuerName: 'vault' } } })))]);
    const docs = expectRendered(r);
    // vault's CA reaches frps as ca.crt of a certificate vault issues next to frps
    const anchor = docs.find((d: any) => d.kind === 'Certificate' && d.spec.issuerRef.name === 'vault' && d.metadata.namespace === 'default' && d.spec.secretName === 'frps-trust-vault');
    expect(anchor).toBeDefined();
    const frps = docs.find((d: any) => d.kind === 'Deployment' && d.metadata.name === 'frps');
    const init = frps.spec.template.spec.initContainers;
    expect(init.map((c: any) => c.name)).toEqual(['client-ca-bundle']);
    expect(frps.spec.template.spec.volumes).toContainEqual({ name: 'client-ca-0', secret: { secretName: 'frps-trust-vault', items: [{ key: 'ca.crt', path: 'ca.crt' }] } });
  });

  test('two services of one name sending their backends Service to one namespace clash at metadata.name of both (issue 19)', () => {
    const sel = (ns: string) => manifest('api', { ...http('api.example.com'), backends: { discovery: { mode: 'selector', selector: { matchLabels: { app: 'api' } }, namespace: 'team-a', port: 8080 } } }, { namespace: ns });
    const r = render([yaml(sel('team-a'), { ...sel('team-b'), spec: { ...sel('team-b').spec, expose: { domain: 'api-b.example.com' } } })]);
    expectRefused(r, /document 2: team-b\/api: metadata\.name: the Service "api-backends" in namespace team-a, named after this metadata\.name, is also the one team-a\/api \(\S+: document 1\) renders from its metadata\.name/);
  });

  test('an Issuer and a ClusterIssuer of one name are two trusts (found by seed 7)', () => {
    const ext = (issuerKind: string) => ({ security: { mtls: { enabled: true, mode: 'external', issuerName: 'vault', issuerKind } } });
    const docs = expectRendered(render([yaml(manifest('a', tcp(5432, ext('ClusterIssuer'))), manifest('b', tcp(5433, ext('Issuer'))))]));
    const anchors = docs.filter((d: any) => d.kind === 'Certificate' && d.spec.secretName.startsWith('frps-trust-'));
    expect(anchors.map((d: any) => [d.spec.secretName, d.spec.issuerRef.kind]).sort()).toEqual([['frps-trust-issuer-vault', 'Issuer'], ['frps-trust-vault', 'ClusterIssuer']]);
  });

  test('an external namespaced Issuer in another namespace than frps is refused at issuerKind, naming what to do', () => {
    const r = render([yaml(manifest('b', tcp(5433, { security: { mtls: { enabled: true, mode: 'external', issuerName: 'vault', issuerKind: 'Issuer' } } }), { namespace: 'team' }))], '--namespace', 'frp');
    expectRefused(r, /document 1: team\/b: spec\.security\.mtls\.issuerKind: frps \(namespace frp\) must trust the CA of the Issuer vault, but an Issuer signs only in its own namespace \(team\): use a ClusterIssuer, or render this service in a separate run \(with --namespace team\)/);
  });
});

describe('4. every spec string and duration is checked at the spec, whatever renders it', () => {
  test.each<[string, any, RegExp]>([
    ['a host frp would take as localIP', tcp(5432, { backends: { endpoints: [{ host: 'db_1!', port: 5432 }] } }), /spec\.backends\.endpoints\[0\]\.host: must be an ipv4 address/],
    ['the same host behind the balancer tier', tcp(5432, { backends: { endpoints: [{ host: 'db_1!', port: 5432 }, { host: 'b', port: 1 }] }, loadBalancing: { algorithm: 'least-conn' } }), /spec\.backends\.endpoints\[0\]\.host: must be an ipv4 address/],
    ['a zero health check timeout', tcp(5432, { loadBalancing: { healthCheck: { timeout: '0s' } } }), /spec\.loadBalancing\.healthCheck\.timeout: must be longer than zero/],
    ['a zero idle timeout without a balancer', tcp(5432, { advanced: { connectionPool: { idleTimeout: '0s' } } }), /spec\.advanced\.connectionPool\.idleTimeout: must be longer than zero/],
    ['an affinity timeout over a day, affinity off', http('a.example.com', { loadBalancing: { sessionAffinity: { timeout: '25h' } } }), /spec\.loadBalancing\.sessionAffinity\.timeout: must be at most 24h/],
    ['a cookie name HAProxy refuses', http('a.example.com', { loadBalancing: { sessionAffinity: { enabled: true, cookieName: 'a!b' } } }), /spec\.loadBalancing\.sessionAffinity\.cookieName: must be a cookie name/],
    ['a health check path with a quote', http('a.example.com', { loadBalancing: { healthCheck: { path: '/a"b' } } }), /spec\.loadBalancing\.healthCheck\.path: must be an absolute url path/],
    ['a role with a space', http('a.example.com', { security: { authentication: { type: 'oauth2', tokenSecret: 'jwt' }, authorization: { enabled: true, rules: [{ path: '/a', roles: ['a b'] }] } } }),
      /spec\.security\.authorization\.rules\[0\]\.roles\[0\]: must be a role name/],
    ['a Secret name that is no object name', tcp(5432, { security: { mtls: { enabled: true, mode: 'manual', caSecret: 'CA!', certSecret: 'c' } } }), /spec\.security\.mtls\.caSecret: must be a Kubernetes object name/],
    ['a renewal longer than the certificate lives', tcp(5432, { security: { mtls: { enabled: true, certRotation: { beforeExpiry: '90d' } } } }), /spec\.security\.mtls\.certRotation\.beforeExpiry: must be more than zero and less than/],
    ['an empty methods list (the balancer refuses it)', http('a.example.com', { security: { authentication: { type: 'oauth2', tokenSecret: 'jwt' }, authorization: { enabled: true, rules: [{ path: '/a', methods: [] }] } } }),
      /spec\.security\.authorization\.rules\[0\]\.methods: must have at least 1 entry/],
    ['an empty roles list', http('a.example.com', { security: { authentication: { type: 'oauth2', tokenSecret: 'jwt' }, authorization: { enabled: true, rules: [{ path: '/a', roles: [] }] } } }),
      /spec\.security\.authorization\.rules\[0\]\.roles: must have at least 1 entry/],
    ['a dns Service name with capitals', tcp(5432, { backends: { discovery: { mode: 'dns', serviceName: 'Pg', port: 5432 } } }), /spec\.backends\.discovery\.serviceName: must be a Service name/],
  ])('%s', (_name, spec, message) => {
    expectRefused(render([yaml(manifest('svc', spec))]), message);
  });
});

describe('5. exposed ports that frps uses itself work', () => {
  test('8080, 7000, 7500, 8443 and 5002 next to an http service on one frps', () => {
    const ports = [8080, 7000, 7500, 8443, 5002];
    const docs = expectRendered(render([yaml(...ports.map(p => manifest(`p${p}`, tcp(p))), manifest('web', http()))]));
    const own = frpsToml(docs);
    const taken = [own.bindPort, own.vhostHTTPPort, own.webServer.port];
    for (const p of ports) {
      const svc = docs.find(d => d.kind === 'Service' && d.metadata.name === `p${p}`);
      expect(svc.spec.ports[0].port).toBe(p);
      expect(taken).not.toContain(svc.spec.ports[0].targetPort);
      const target = svc.spec.ports[0].targetPort;
      expect(own.allowPorts.some((r: any) => r.single === target || (r.start <= target && target <= r.end))).toBe(true);
    }
  });
  test('udp on frps\' control port works too', () => {
    const udp = { serviceType: 'udp', backends: { endpoints: [{ host: '10.0.0.1', port: 53 }] }, expose: { type: 'port', port: 7000 } };
    const docs = expectRendered(render([yaml(manifest('dns', udp))]));
    const svc = docs.find(d => d.kind === 'Service' && d.metadata.name === 'dns');
    expect(svc.spec.ports[0]).toMatchObject({ port: 7000, protocol: 'UDP' });
    expect(svc.spec.ports[0].targetPort).not.toBe(7000);
  });
});

describe('6. metadata.namespace is checked', () => {
  test.each(['Apps', 'a.b', '名前', '{{ .Values.ns }}', '-a', 'x'.repeat(64), ''])('namespace %j', (ns) => {
    expectRefused(render([yaml(manifest('svc', tcp(), { namespace: ns }))]), /document 1: metadata\.namespace: must be a DNS label/);
  });

  test('a namespace starting with a digit (found by seed 2): generated names still start with a letter', () => {
    expectRendered(render([yaml(manifest('svc', tcp(), { namespace: '0x10' }), manifest('web', http(), { namespace: '0x10' }))]));
    // and messages name the namespace, not the chart
    expectRefused(render([yaml(manifest('sub', { ...http(), expose: { type: 'subdomain', subdomain: 'sub' } }, { namespace: '0x10' }))]),
      /document 1: 0x10\/sub: spec\.expose\.subdomain: needs a server with subDomainHost/);
  });
});

describe('7. selector labels are checked', () => {
  test.each<[string, any, RegExp]>([
    ['a label key with a space', { matchLabels: { 'a b': 'x' } }, /spec\.backends\.discovery\.selector\.matchLabels: key "a b": must be a label key/],
    ['a label value with a slash', { matchLabels: { app: 'a/b' } }, /spec\.backends\.discovery\.selector\.matchLabels: key "app": must be a label value/],
    ['a matchExpressions key', { matchExpressions: [{ key: '-x', operator: 'Exists' }] }, /spec\.backends\.discovery\.selector\.matchExpressions\[0\]\.key: must be a label key/],
    ['a matchExpressions value', { matchExpressions: [{ key: 'x', operator: 'In', values: ['a b'] }] }, /spec\.backends\.discovery\.selector\.matchExpressions\[0\]\.values\[0\]: must be a label value/],
  ])('%s', (_name, selector, message) => {
    const spec = http();
    spec.backends.discovery.selector = selector;
    expectRefused(render([yaml(manifest('web', spec))]), message);
  });
});

describe('8. same-name services in different namespaces render together', () => {
  test('their objects next to frps have namespace-qualified names', () => {
    const docs = expectRendered(render([yaml(
      manifest('web', http('a.example.com'), { namespace: 'team-a' }),
      manifest('web', http('b.example.com'), { namespace: 'team-b' }),
      manifest('pg', tcp(5432), { namespace: 'team-a' }),
      manifest('pg', tcp(5432), { namespace: 'team-b' }),
    )], '--namespace', 'frp'));
    const front = docs.filter(d => ['Ingress', 'Service'].includes(d.kind) && d.metadata.namespace === 'frp' && d.metadata.labels?.['frp.io/distributed-service']);
    expect(front.map(d => `${d.kind}/${d.metadata.name}`).sort()).toEqual(['Ingress/web-team-a', 'Ingress/web-team-b', 'Service/pg-team-a', 'Service/pg-team-b']);
  });

  test('a service in the frps namespace keeps its plain name', () => {
    const docs = expectRendered(render([yaml(manifest('web', http(), { namespace: 'frp' }))], '--namespace', 'frp'));
    expect(docs.find(d => d.kind === 'Ingress').metadata.name).toBe('web');
  });
});

describe('9. hosts are IP addresses or DNS names', () => {
  test.each(['.a', 'bücher.example', 'a..b', 'a b', '-a', 'x'.repeat(254)])('endpoint host %j', (host) => {
    expectRefused(render([yaml(manifest('svc', tcp(5432, { backends: { endpoints: [{ host, port: 1 }] } })))]), /spec\.backends\.endpoints\[0\]\.host: must be/);
  });

  test.each(['1.2.3.4', '-a.example.com', 'a_b.example.com', 'localhost', 'A.example.com'])('Ingress domain %j', (domain) => {
    expectRefused(render([yaml(manifest('svc', http(domain)))]), /spec\.expose\.domain: must be/);
  });

  test('IPv6 and DNS names render', () => {
    expectRendered(render([yaml(manifest('svc', tcp(5432, { backends: { endpoints: [{ host: 'fd00::1', port: 1 }, { host: 'db-1.internal', port: 1 }] } })))]));
  });
});

describe('10. ConfigMaps stay under the API server\'s 1 MiB', () => {
  test('too many endpoints', () => {
    const endpoints = Array.from({ length: 1001 }, (_, i) => ({ host: `h${i}.example.com`, port: 1 }));
    expectRefused(render([yaml(manifest('svc', tcp(5432, { backends: { endpoints } })))]), /spec\.backends\.endpoints: must have at most 1000 entries, got 1001/);
  });

  test('an frpc config over 1 MiB', () => {
    const metadata = Object.fromEntries(Array.from({ length: 12 }, (_, j) => [`k${j}`, 'x'.repeat(1000)]));
    const endpoints = Array.from({ length: 100 }, (_, i) => ({ host: `h${i}.example.com`, port: 1, metadata }));
    expectRefused(render([yaml(manifest('svc', tcp(5432, { backends: { endpoints } })))]),
      /document 1: default\/svc: spec\.backends\.endpoints: the ConfigMap \S+ would be \d+ bytes, but the API server stores at most 1048576 \(1 MiB\) per object/);
  });
});

describe('11. unknown fields named like JavaScript object members', () => {
  const names = ['toString', 'constructor', 'hasOwnProperty', '__proto__', 'valueOf', 'isPrototypeOf', '__defineGetter__'];
  test.each(names)('%s at every level of the spec', (name) => {
    const text = `apiVersion: frp.io/v1beta1
kind: DistributedService
metadata: {name: svc}
spec:
  ${name}: 1
  serviceType: tcp
  backends:
    ${name}: 1
    endpoints: [{host: a, port: 1, ${name}: 1}]
  expose: {type: port, port: 2000, ${name}: 1}
  loadBalancing: {healthCheck: {${name}: 1}}
`;
    expectRefused(render([text]),
      `spec.${name}: is not a known field`, `spec.backends.${name}: is not a known field`, `spec.backends.endpoints[0].${name}: is not a known field`,
      `spec.expose.${name}: is not a known field`, `spec.loadBalancing.healthCheck.${name}: is not a known field`);
  });

  test.each(names)('%s at the top and in metadata', (name) => {
    const text = `apiVersion: frp.io/v1beta1\nkind: DistributedService\nmetadata: {name: svc, ${name}: 1}\n${name}: 1\nspec: {serviceType: tcp, backends: {endpoints: [{host: a, port: 1}]}, expose: {port: 2000}}\n`;
    expectRefused(render([text]), `metadata.${name}: is not a field of metadata`, `document 1: default/svc: ${name}: is not a field of a DistributedService`);
  });
});

describe('12. unknown metadata fields are refused like strict validation', () => {
  test('metadata.serviceTypo', () => {
    expectRefused(render([yaml(manifest('svc', tcp(), { serviceTypo: 'x' }))]), /document 1: default\/svc: metadata\.serviceTypo: is not a field of metadata/);
  });

  test('labels and annotations are checked, other ObjectMeta fields pass', () => {
    expectRefused(render([yaml(manifest('svc', tcp(), { labels: { 'a b': 'x' } }))]), /metadata\.labels\["a b"\]: must be a label key/);
    expectRendered(render([yaml(manifest('svc', tcp(), { labels: { team: 'a' }, annotations: { 'x/y': 'any text' }, uid: 'u', resourceVersion: '1' }))]));
  });
});

describe('13. a removed required field is named, not its parent', () => {
  const base = () => manifest('svc', tcp(5432));
  test.each<[string, (m: any) => void, string]>([
    ['spec', m => delete m.spec, 'spec: is required'],
    ['metadata', m => delete m.metadata, 'metadata.name: is required'],
    ['metadata.name', m => delete m.metadata.name, 'metadata.name: is required'],
    ['spec.serviceType', m => delete m.spec.serviceType, 'spec.serviceType: is required'],
    ['spec.backends', m => delete m.spec.backends, 'spec.backends: is required'],
    ['spec.backends.endpoints', m => delete m.spec.backends.endpoints, 'spec.backends.discovery: is required unless spec.backends.endpoints is set'],
    ['spec.backends.endpoints[0].host', m => delete m.spec.backends.endpoints[0].host, 'spec.backends.endpoints[0].host: is required'],
    ['spec.backends.endpoints[0].port', m => delete m.spec.backends.endpoints[0].port, 'spec.backends.endpoints[0].port: is required'],
    ['spec.expose', m => delete m.spec.expose, 'spec.expose.port: is required'],
    ['spec.expose.port', m => delete m.spec.expose.port, 'spec.expose.port: is required'],
  ])('%s', (_name, remove, message) => {
    const m = base();
    remove(m);
    expectRefused(render([yaml(m)]), message);
  });

  test.each<[string, any, string]>([
    ['spec.expose.domain of http', http(undefined as any, { expose: { type: 'domain' } }), 'spec.expose.domain: is required'],
    ['spec.backends.discovery.port', { ...http(), backends: { discovery: { mode: 'selector', selector: { matchLabels: { a: 'b' } } } } }, 'spec.backends.discovery.port: is required'],
    ['spec.security.mtls.caSecret of manual mTLS', tcp(5432, { security: { mtls: { enabled: true, mode: 'manual', certSecret: 'c' } } }), 'spec.security.mtls.caSecret: manual mTLS requires caSecret'],
    ['spec.backends.discovery.selector.matchExpressions[0].operator', { ...http(), backends: { discovery: { mode: 'selector', selector: { matchExpressions: [{ key: 'a' }] }, port: 1 } } },
      'spec.backends.discovery.selector.matchExpressions[0].operator: is required'],
  ])('%s', (_name, spec, message) => {
    expectRefused(render([yaml(manifest('svc', spec))]), message);
  });
});

describe('CLI options are checked like the spec', () => {
  test.each<[string[], RegExp]>([
    [['--subdomain-host', 'Apps.Example.com'], /--subdomain-host must be a lower-case DNS name/],
    [['--subdomain-host', 'a b'], /--subdomain-host must be a lower-case DNS name/],
    [['--token-secret', 'Token!'], /--token-secret must be a Kubernetes object name/],
    [['--namespace', 'Frp'], /--namespace must be a DNS label/],
  ])('%j', (options, message) => {
    const r = render([yaml(manifest('svc', tcp()))], ...options);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(message);
  });
});

describe('every problem of a document at once', () => {
  test('schema problems, metadata problems and other documents together', () => {
    const r = render([yaml(
      manifest('Bad Name', { serviceType: 'sctp', backends: { endpoints: [{ host: '.a', port: 0 }] }, expose: { type: 'port', port: 2000 }, extra: 1 }, { namespace: 'A' }),
      manifest('ok', tcp(5432)),
      manifest('two', tcp(5433, { loadBalancing: { healthCheck: { interval: '5s', timeout: '10s' } }, advanced: { bandwidth: { mode: 'server' } } })),
    )]);
    const lines = expectRefused(r);
    expect(lines.map(l => l.replace(/^\S+: /, ''))).toEqual([
      'document 1: metadata.name: must be a DNS label (lower-case letters, digits and "-", starting with a letter) of at most 53 characters, so that derived names stay within 63; got "Bad Name"',
      'document 1: metadata.namespace: must be a DNS label (at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit), got "A"',
      'document 1: spec.serviceType: must be one of "http", "tcp", "udp", "grpc", got "sctp"',
      'document 1: spec.backends.endpoints[0].host: must be an ipv4 address, an ipv6 address (without brackets) or a dns name, got ".a"',
      'document 1: spec.backends.endpoints[0].port: must be from 1 to 65535, got 0',
      'document 1: spec.extra: is not a known field (known: serviceType, backends, expose, loadBalancing, security, advanced)',
      'document 3: default/two: spec.loadBalancing.healthCheck.timeout: must not be longer than the interval (5s), got 10s',
      'document 3: default/two: spec.advanced.bandwidth.limit: is required when bandwidth.mode is set',
    ]);
  });
});

describe('14. circular documents (issue 19): an alias inside its own anchor, in any field, at any depth', () => {
  test('the issue\'s example: metadata: &m {name: x, labels: *m}', () => {
    const r = render(['apiVersion: frp.io/v1beta1\nkind: DistributedService\nmetadata: &m {name: x, labels: *m}\nspec: {}\n']);
    expectRefused(r, /document 1: invalid YAML: alias \*m is inside its own anchor &m: the document would contain itself/);
  });

  test('property: an anchor on any collection of a valid manifest and an alias (item, value or merge key) anywhere below it is refused at that document', () => {
    const base = manifest('web', http('web.example.com', { loadBalancing: { healthCheck: { path: '/healthz', interval: '5s' } }, advanced: { timeout: { dial: '5s' } } }), { labels: { team: 'a' } });
    fc.assert(fc.property(fc.nat(), fc.nat(), fc.constantFrom('item', 'merge', 'value'), fc.boolean(), fc.nat(3), (a, b, how, flow, position) => {
      const doc = new Document(base);
      const collections: any[] = [];
      visit(doc, { Map: (_k, n) => { collections.push(n); }, Seq: (_k, n) => { collections.push(n); } });
      const anchor = collections[a % collections.length];
      anchor.anchor = 'loop';
      if (flow) anchor.flow = true;
      const below: any[] = [];
      visit(anchor, { Map: (_k, n) => { below.push(n); }, Seq: (_k, n) => { below.push(n); } });
      const at = below[b % below.length];
      const alias = doc.createAlias(anchor, 'loop');
      if (isSeq(at)) at.items.splice(position % (at.items.length + 1), 0, alias);
      else at.items.splice(position % (at.items.length + 1), 0, new Pair(how === 'merge' ? '<<' : 'x', alias));
      const text = `${yaml(manifest('first', tcp()))}---\n${doc.toString()}`;
      const r = render([text]);
      const lines = expectRefused(r, /document 2: invalid YAML: alias \*loop is inside its own anchor &loop/);
      expect(lines.filter(l => /document 2/.test(l))).toHaveLength(1);
    }), { numRuns: 300, seed: 19 });
  });

  test('aliases that are not circular still work (an anchor used after its node)', () => {
    const text = 'apiVersion: frp.io/v1beta1\nkind: DistributedService\nmetadata: {name: web, labels: &l {team: a}, annotations: *l}\nspec:\n  serviceType: tcp\n  backends: {endpoints: [{host: &h 10.0.0.1, port: 5432}, {host: *h, port: 5433}]}\n  expose: {type: port, port: 5432}\n';
    const docs = expectRendered(render([text]));
    expect(docs.find(d => d.kind === 'Service' && d.metadata.name === 'web')).toBeDefined();
  });

  test('import: a circular frpc YAML config is refused, naming the alias', () => {
    const p = join(dir, 'circular-frpc.yaml');
    writeFileSync(p, 'proxies: &p\n  - name: a\n    type: tcp\n    localPort: 1\n    remotePort: 7000\n    more: *p\n');
    let err = '';
    expect(main(['import', p], () => {}, s => { err += s; })).toBe(1);
    expect(err).toContain('circular-frpc.yaml: not a frpc config (YAML/JSON): alias *p is inside its own anchor &p');
  });
});

describe('15. every name Kubernetes accepts in a user field that feeds a derived name (issue 19)', () => {
  const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
  /** DNS-1123 subdomains (Secret, Issuer, IngressClass names): labels joined by ".", up to 253 characters. */
  const subdomain = fc.array(label, { minLength: 1, maxLength: 5 }).map(ls => ls.join('.').slice(0, 253).replace(/[.-]+$/, '')).filter(s => s.length > 0);
  /** Namespaces: DNS-1123 labels (a digit first is fine). */
  const namespace = label;
  const mtls = (m: any) => ({ security: { mtls: { enabled: true, ...m } } });
  /** Each field with a name in it, as a manifest (and options) using it. */
  const FIELDS: [string, (n: string, ns: string) => { spec: any; options?: string[] }][] = [
    ['spec.security.mtls.issuerName (ClusterIssuer)', n => ({ spec: tcp(5432, mtls({ mode: 'external', issuerName: n })) })],
    ['spec.security.mtls.issuerName (Issuer)', n => ({ spec: tcp(5432, mtls({ mode: 'external', issuerName: n, issuerKind: 'Issuer' })) })],
    ['spec.security.mtls.caSecret (external)', n => ({ spec: tcp(5432, mtls({ mode: 'external', caSecret: n })) })],
    ['spec.security.mtls.caSecret/certSecret (manual)', n => ({ spec: tcp(5432, mtls({ mode: 'manual', caSecret: n, certSecret: `${n.slice(0, 240)}.c` })) })],
    ['spec.security.authentication.tokenSecret', n => ({ spec: http('web.example.com', { security: { authentication: { type: 'apikey', tokenSecret: n } }, loadBalancing: { healthCheck: { type: 'tcp' } } }) })],
    ['spec.expose.ingressTlsSecret and ingressClassName', n => ({ spec: http('web.example.com', { expose: { domain: 'web.example.com', ingressTlsSecret: n, ingressClassName: n } }) })],
    ['--token-secret', n => ({ spec: tcp(), options: ['--token-secret', n] })],
    ['metadata.namespace and --namespace', (_n, ns) => ({ spec: tcp(5432, mtls({})), options: ['--namespace', ns] })],
  ];

  test.each(FIELDS.map(f => [f[0], f[1]] as const))('property: %s renders a valid bundle for any name Kubernetes accepts there', (_field, make) => {
    fc.assert(fc.property(subdomain, namespace, (n, ns) => {
      const { spec, options = [] } = make(n, ns);
      const r = render([yaml(manifest('web', spec, { namespace: ns }))], ...options);
      if (r.code !== 0) throw new Error(`${JSON.stringify(n)} / ${ns}: ${r.err}`);
      expectRendered(r);
    }), { numRuns: 25, seed: 19 });
  });

  test('the issue\'s example: issuerName corp-ca.x renders; frps trusts the issuer through a certificate with a valid derived name', () => {
    const docs = expectRendered(render([yaml(manifest('web', tcp(5432, mtls({ mode: 'external', issuerName: 'corp-ca.x', issuerKind: 'Issuer' }))))]));
    const anchor = docs.find(d => d.kind === 'Certificate' && d.spec.issuerRef.name === 'corp-ca.x' && d.metadata.name.startsWith('frps-trust-'));
    expect(anchor.metadata.name).toMatch(/^frps-trust-[0-9a-f]{8}-issuer-corp-ca-x$/);
  });
});

describe('16. a clash of derived names names metadata.name of both services (issue 19)', () => {
  test('the issue\'s example: svc-a-backends next to svc-a', () => {
    const r = render([yaml(manifest('svc-a', http('a.example.com', { loadBalancing: { healthCheck: { type: 'tcp' } } }), { namespace: 'apps' }), manifest('svc-a-backends', tcp(), { namespace: 'apps' }))]);
    const [line] = expectRefused(r);
    expect(line).toBe(`${r.files[0]}: document 2: apps/svc-a-backends: metadata.name: the Service "svc-a-backends" in namespace apps, named after this metadata.name, is also the one apps/svc-a (${r.files[0]}: document 1) renders from its metadata.name: rename one of the services`);
  });

  test('property: a service named like another\'s derived object is rendered, or refused at metadata.name naming the other document\'s metadata.name', () => {
    const SUFFIXES = ['-backends', '-frpc', '-balancer', '-frpc-config', '-balancer-config', '-frpc-tls', '-ca', '-ca-root', '-frps', '-0', '-x'];
    const SPECS = [
      () => tcp(5432),
      () => tcp(5433, { security: { mtls: { enabled: true } } }),
      () => http('a.example.com', { loadBalancing: { healthCheck: { type: 'tcp' } } }),
      () => http('b.example.com', { backends: { replicas: 2, discovery: { mode: 'selector', selector: { matchLabels: { app: 'web' } }, port: 3000 } }, loadBalancing: { algorithm: 'least-conn', healthCheck: { type: 'tcp' } } }),
    ];
    let refused = 0;
    fc.assert(fc.property(fc.constantFrom('svc', 'a', 'web-1'), fc.constantFrom(...SUFFIXES), fc.nat(SPECS.length - 1), fc.nat(SPECS.length - 1), fc.boolean(), (base, suffix, i, j, swap) => {
      const docs = [manifest(base, SPECS[i](), { namespace: 'apps' }), manifest(`${base}${suffix}`, SPECS[j](), { namespace: 'apps' })];
      const r = render([yaml(...(swap ? docs.reverse() : docs))]);
      if (r.code === 0) return void expectRendered(r);
      refused++;
      const lines = expectRefused(r);
      expect(r.err).not.toMatch(/is already rendered by/);
      for (const line of lines.filter(l => / (Service|Deployment|ConfigMap|Certificate|Issuer|Secret|NetworkPolicy|PodDisruptionBudget|ServiceAccount) "/.test(l))) {
        expect(line).toMatch(/document \d: apps\/[a-z0-9-]+: metadata\.name: the \w+ "[a-z0-9-]+" in namespace apps, named after this metadata\.name, is also the one apps\/[a-z0-9-]+ \(\S+: document \d\) renders from its metadata\.name: rename one of the services$/);
      }
    }), { numRuns: 40, seed: 19 });
    expect(refused).toBeGreaterThan(1);
  });
});

describe('17. oversized input is refused before it is parsed, naming the limit (issue 19)', () => {
  // a distinct address per endpoint: 10.a.b.c from the index's base-256 digits
  const octet = (i: number, place: number) => Math.floor(i / 256 ** place) % 256;
  const endpoints = (n: number) => Array.from({ length: n }, (_, i) => `      - {host: 10.${octet(i, 2)}.${octet(i, 1)}.${octet(i, 0) || 1}, port: 80}`).join('\n');
  const big = (n: number) => `apiVersion: frp.io/v1beta1\nkind: DistributedService\nmetadata: {name: big}\nspec:\n  serviceType: tcp\n  expose: {type: port, port: 5432}\n  backends:\n    endpoints:\n${endpoints(n)}\n`;

  test('a manifest of megabytes (100,000 endpoints): the byte limit, and nothing of its content (an error at its end is never parsed)', () => {
    const text = `${big(100_000)}  broken: [\n`;
    expect(text.length).toBeGreaterThan(3_500_000);
    const r = render([text]);
    const [line] = expectRefused(r);
    expect(line).toBe(`${r.files[0]}: cannot read: ${text.length} bytes: over the limit of 512 KiB (524288 bytes) per input (a DistributedService is a few KiB: split the input into several files)`);
  });

  test('thousands of documents: the document limit, before parsing (a broken document among them is not reported)', () => {
    const r = render([`${yaml(manifest('a', tcp()))}---\na: [\n${'---\n{}\n'.repeat(3000)}`]);
    const [line, ...rest] = expectRefused(r);
    expect(rest).toEqual([]);
    expect(line).toMatch(/cannot read: more than 500 documents in one run/);
  });

  test('the document limit counts every input of the run', () => {
    const part = `${'---\n{}\n'.repeat(300)}`;
    const r = render([part, part]);
    expectRefused(r, /in-\d+\.yaml: cannot read: more than 500 documents in one run/);
  });

  test('within the byte limit, more endpoints than the spec allows are refused at the field, naming its limit', () => {
    const text = big(1001);
    expect(text.length).toBeLessThan(512 * 1024);
    expectRefused(render([text]), /document 1: default\/big: spec\.backends\.endpoints: must have at most 1000 entries, got 1001/);
  });

  test('property: any input over the byte limit is refused with that limit alone, whatever it holds', () => {
    fc.assert(fc.property(fc.integer({ min: 512 * 1024 + 1, max: 700 * 1024 }), fc.constantFrom('x', 'a: [', '---\n', '- ', '\u00e9'), (size, unit) => {
      const text = unit.repeat(Math.ceil(size / Buffer.byteLength(unit)));
      const r = render([text]);
      const lines = expectRefused(r);
      expect(lines).toEqual([expect.stringMatching(/cannot read: \d+ bytes: over the limit of 512 KiB \(524288 bytes\) per input/)]);
    }), { numRuns: 20, seed: 19 });
  });

  test('standard input (-) renders like a file, and is held to the same limit', () => {
    const bin = join(__dirname, '..', 'bin', 'cdk8s-frp');
    const text = yaml(manifest('a', tcp()));
    const fromStdin = spawnSync(process.execPath, [bin, 'render', '-'], { input: text, encoding: 'utf8', timeout: 120_000 });
    const fromFile = render([text]);
    expect([fromStdin.status, fromStdin.stdout]).toEqual([0, fromFile.out]);
    const tooBig = spawnSync(process.execPath, [bin, 'render', '-'], { input: big(20_000), encoding: 'utf8', timeout: 120_000 });
    expect([tooBig.status, tooBig.stdout]).toEqual([1, '']);
    expect(tooBig.stderr).toBe('cdk8s-frp: stdin: cannot read: more than 524288 bytes: over the limit of 512 KiB (524288 bytes) per input (a DistributedService is a few KiB: split the input into several files)\n');
  }, 300_000);
});
