import { spawnSync } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { checkWiring, expectValidBundle, withoutRequiredSecrets } from './helpers';
import { RequiredSecrets } from '../lib';
import { GRPC_SERVICE as grpc, WEB_SERVICE as web } from './helpers/cli-manifests';
import { main, parseArgs, render, RenderOptions } from '../lib/cli/render';

/**
 * The bound on one run of the installed command (it compiles the sources with ts-node in a
 * checkout): 49 s were seen with jsii builds running beside it on 2 cores, 60 s was too tight.
 */
const BIN_BOUND = 240_000;

const dir = mkdtempSync(join(tmpdir(), 'cdk8s-frp-cli-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const run = (...argv: string[]) => {
  let out = '';
  let err = '';
  const code = main(argv, s => { out += s; }, s => { err += s; });
  return { code, out, err };
};

describe('cdk8s-frp render', () => {
  test('renders several documents and files into one valid bundle with one shared frps', () => {
    const r = run('render', '--namespace', 'frp', '--subdomain-host', 'apps.example.com', file('a.yaml', `${grpc}---\n${web}`));
    expect(withoutRequiredSecrets(r.err)).toBe('');
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.out).map(d => d.toJS());
    expectValidBundle(docs);
    // across namespaces: frpc in microservices reaches frps in frp, the fronts select frps pods
    expect(checkWiring(docs)).toEqual([]);
    const frps = docs.filter(d => d.kind === 'Deployment' && d.metadata.labels['app.kubernetes.io/name'] === 'frps');
    expect(frps).toHaveLength(1);
    expect(frps[0].metadata.namespace).toBe('frp');
    // services live in their own namespace (or the --namespace one); their fronts next to frps
    const clients = docs.filter(d => d.kind === 'Deployment' && d.metadata.labels['app.kubernetes.io/name'] === 'frpc');
    expect(clients.map(d => d.metadata.namespace).sort()).toEqual(['frp', 'microservices']);
    // next to frps, a service of another namespace has a namespace-qualified name
    expect(docs.find(d => d.kind === 'Service' && d.metadata.name === 'user-service-microservices').metadata.namespace).toBe('frp');
    expect(docs.find(d => d.kind === 'Ingress').spec.rules[0].host).toBe('web.apps.example.com');
    const frpsConfig = docs.find(d => d.kind === 'ConfigMap' && d.data['frps.toml']).data['frps.toml'];
    expect(frpsConfig).toContain('subDomainHost = "apps.example.com"');
  });

  test('the same input gives byte-identical output', () => {
    const f = file('b.yaml', grpc);
    expect(run('render', f).out).toBe(run('render', f).out);
  });

  test.each<[string, string[], RegExp]>([
    ['an invalid field', ['render', 'BAD'], /bad\.yaml: document 1: microservices\/user-service: spec\.backends\.endpoints\[0\]\.port: must be from 1 to 65535, got 70000/],
    ['another kind', ['render', 'KIND'], /kind\.yaml: document 1: .*apiVersion\/kind: must be frp\.io\/v1beta1 DistributedService, got "v1" "ConfigMap"/],
    ['broken YAML', ['render', 'YAML'], /yaml\.yaml: document 1: invalid YAML/],
    ['a missing file', ['render', '/nonexistent.yaml'], /\/nonexistent\.yaml: cannot read/],
    ['no file', ['render'], /no FILE given/],
    ['an unknown option', ['render', '--nope', 'x'], /unknown option --nope/],
    ['a duplicate service', ['render', 'DUP'], /DistributedService microservices\/user-service is also defined in/],
  ])('fails on %s: exit 1, message on stderr, nothing on stdout', (_name, argv, message) => {
    const files: Record<string, string> = {
      BAD: file('bad.yaml', grpc.replace('port: 9090, weight: 2', 'port: 70000')),
      KIND: file('kind.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n'),
      YAML: file('yaml.yaml', 'a: [\n'),
      DUP: file('dup.yaml', `${grpc}---\n${grpc}`),
    };
    const r = run(...argv.map(a => files[a] ?? a));
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(message);
  });

  test('the installed bin works as a process (exit codes and streams)', () => {
    const bin = join(__dirname, '..', 'bin', 'cdk8s-frp');
    const ok = spawnSync(process.execPath, [bin, 'render', file('c.yaml', grpc)], { encoding: 'utf8', timeout: BIN_BOUND });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('kind: Deployment');
    const bad = spawnSync(process.execPath, [bin, 'render', file('d.yaml', grpc.replace('grpc', 'sctp'))], { encoding: 'utf8', timeout: BIN_BOUND });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('spec.serviceType: must be one of "http", "tcp", "udp", "grpc", got "sctp"');
  }, 2 * BIN_BOUND + 60_000);
});

describe('--version', () => {
  test('prints the package version and the frp version it renders for', () => {
    const out: string[] = [];
    const err: string[] = [];
    expect(main(['--version'], s => out.push(s), s => err.push(s))).toBe(0);
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
    expect(out.join('')).toBe(`cdk8s-frp ${pkg.version} (frp v0.70.1)\n`);
    expect(err).toEqual([]);
  });
});

describe('--output-dir', () => {
  test('writes one file per namespace; together they are what render prints', () => {
    const outDir = mkdtempSync(join(tmpdir(), 'cdk8s-frp-outdir-'));
    const files = ['ollama-cluster', 'postgres-proxy'].map(n => join(__dirname, '..', 'examples', 'manifests', `${n}.yaml`));
    const out: string[] = [];
    expect(main(['render', '--namespace', 'frp', '--output-dir', outDir, ...files], s => out.push(s), () => undefined)).toBe(0);
    const written = out.join('').trim().split('\n');
    // frpc in other namespaces than frps: the bundle's CA is a ClusterIssuer, whose CA lives in cert-manager's namespace
    expect(written.map(f => f.slice(outDir.length + 1)).sort()).toEqual(['ai-services.k8s.yaml', 'cert-manager.k8s.yaml', 'databases.k8s.yaml', 'frp.k8s.yaml']);
    const root = parseAllDocuments(readFileSync(join(outDir, 'cert-manager.k8s.yaml'), 'utf8')).map(d => d.toJS());
    expect(root.map((d: any) => `${d.kind}/${d.metadata.name}`).sort()).toEqual(['Certificate/frp-ca-frp-root', 'Issuer/frp-ca-frp-selfsign']);
    const all: string[] = [];
    expect(main(['render', '--namespace', 'frp', ...files], s => all.push(s), () => undefined)).toBe(0);
    const docs = (text: string) => parseAllDocuments(text).map(d => d.toJS());
    const fromDir = written.flatMap(f => docs(readFileSync(f, 'utf8')));
    expect(fromDir).toEqual(expect.arrayContaining(docs(all.join(''))));
    expect(fromDir).toHaveLength(docs(all.join('')).length);
    for (const f of written) {
      const ns = f.slice(outDir.length + 1).replace('.k8s.yaml', '');
      for (const d of docs(readFileSync(f, 'utf8'))) if (d.metadata.namespace !== undefined) expect([f, d.metadata.namespace]).toEqual([f, ns]);
    }
  });
});

describe('warnings (issue 9 defect 7)', () => {
  /** An http service over two endpoints that relies on the seed's default health check path. */
  const defaultPath = `apiVersion: frp.io/v1beta1
kind: DistributedService
metadata: {name: api, namespace: apps}
spec:
  serviceType: http
  backends: {endpoints: [{host: api-0.internal, port: 8000}, {host: api-1.internal, port: 8000}]}
  expose: {domain: api.example.com}
`;
  const warning = (f: string) => `cdk8s-frp: warning: ${f}: document 1: apps/api: spec.loadBalancing.healthCheck.path: not set, so frpc checks every backend with GET /health (the specification's default)`;

  test('a service relying on the default health check path: a warning on stderr; stdout is the bundle render() gives, and the exit code is 0', () => {
    const f = file('default-path.yaml', defaultPath);
    const r = run('render', f);
    expect(r.code).toBe(0);
    expect(withoutRequiredSecrets(r.err).split('\n').filter(Boolean)).toEqual([expect.stringContaining(warning(f))]);
    expect(r.out).toBe(render(parseArgs(['render', f]) as RenderOptions));
    expect(r.out).not.toContain('warning');
    const frpc = parseAllDocuments(r.out).map(d => d.toJS()).find(d => d.kind === 'ConfigMap' && d.data?.['frpc.toml']).data['frpc.toml'];
    expect(frpc).toContain('path = "/health"');
  });

  test('the same service with its own path renders without a warning', () => {
    const r = run('render', file('own-path.yaml', `${defaultPath}  loadBalancing: {healthCheck: {path: /healthz}}\n`));
    expect([r.code, withoutRequiredSecrets(r.err)]).toEqual([0, '']);
  });

  test('--output-dir: the files on stdout, the warning on stderr', () => {
    const f = file('default-path-dir.yaml', defaultPath);
    const outDir = mkdtempSync(join(tmpdir(), 'cdk8s-frp-outdir-'));
    const r = run('render', '--output-dir', outDir, f);
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')).toEqual([join(outDir, 'apps.k8s.yaml')]);
    expect(r.err).toContain(warning(f));
  });

  test('the installed command too: stderr has the warning, stdout stays YAML, exit 0', () => {
    const bin = join(__dirname, '..', 'bin', 'cdk8s-frp');
    const f = file('default-path-bin.yaml', defaultPath);
    const r = spawnSync(process.execPath, [bin, 'render', f], { encoding: 'utf8', timeout: BIN_BOUND });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(warning(f));
    expect(r.stdout).toBe(render(parseArgs(['render', f]) as RenderOptions));
  }, BIN_BOUND + 60_000);
});

describe('the output does not depend on the order of the input', () => {
  const examples = join(__dirname, '..', 'examples', 'manifests');
  // the examples, and two services with CA Secrets of their own (frps' client-ca-N volumes)
  const manual = (name: string, ns: string, port: number) => `apiVersion: frp.io/v1beta1\nkind: DistributedService\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n`
    + `  serviceType: grpc\n  backends:\n    endpoints:\n      - host: ${name}-1.internal\n        port: 9090\n  expose:\n    type: port\n    port: ${port}\n`
    + `  security:\n    mtls:\n      enabled: true\n      mode: manual\n      caSecret: ${name}-ca\n      certSecret: ${name}-frpc\n`;
  const files = [
    ...readdirSync(examples).filter(f => f.endsWith('.yaml')).sort().map(f => join(examples, f)),
    file('order-billing.yaml', manual('billing', 'payments', 19091)),
    file('order-ledger.yaml', manual('ledger', 'accounts', 19092)),
  ];
  const rendered = (order: string[]) => {
    const r = run('render', '--namespace', 'frp', ...order);
    expect(r.code).toBe(0);
    return r.out;
  };
  const base = rendered(files);

  test('the files reversed: byte-identical, frps\' client CAs and NetworkPolicy peers in namespace/name order', () => {
    expect(rendered([...files].reverse())).toBe(base);
    const docs = parseAllDocuments(base).map(d => d.toJS());
    const frps = docs.find(d => d.kind === 'Deployment' && d.metadata.name === 'frps');
    const clientCas = frps.spec.template.spec.volumes.filter((v: any) => /^client-ca-\d+$/.test(v.name)).map((v: any) => [v.name, v.secret.secretName]);
    // accounts/ledger, microservices/user-service, payments/billing
    expect(clientCas).toEqual([['client-ca-0', 'ledger-ca'], ['client-ca-1', 'internal-ca'], ['client-ca-2', 'billing-ca']]);
    const policy = docs.find(d => d.kind === 'NetworkPolicy' && d.metadata.name === 'frps');
    const peers = policy.spec.ingress[0].from.map((p: any) => `${p.namespaceSelector.matchLabels['kubernetes.io/metadata.name']}/${p.podSelector.matchLabels['app.kubernetes.io/instance']}`);
    expect(peers).toEqual(['accounts/ledger-frpc', 'ai-services/ollama-cluster-frpc', 'databases/postgres-proxy-frpc',
      'microservices/user-service-frpc', 'payments/billing-frpc', 'web/webapp-frontend-frpc']);
  });

  test('every order of the files: byte-identical (property)', () => {
    fc.assert(fc.property(fc.shuffledSubarray(files, { minLength: files.length, maxLength: files.length }), order => {
      expect(rendered(order)).toBe(base);
    }), { numRuns: 25, seed: 20261130 });
  });
});

describe('the user\'s contract renders (issue 12 item 9)', () => {
  const manifest = (name: string, spec: string) => `apiVersion: frp.io/v1beta1\nkind: DistributedService\nmetadata:\n  name: ${name}\n  namespace: apps\nspec:\n${spec}`;
  const grpcSpec = '  serviceType: grpc\n  backends:\n    endpoints:\n      - host: user-service-1.internal\n        port: 9090\n  expose:\n    type: port\n    port: 9090\n';

  test('mtls.mode external with only caSecret: cert-manager issues the certificates from that CA', () => {
    const r = run('render', file('ext.yaml', manifest('user-service', `${grpcSpec}  security:\n    mtls:\n      enabled: true\n      mode: external\n      caSecret: corp-ca\n`)));
    expect(withoutRequiredSecrets(r.err)).toBe('');
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.out).map(d => d.toJS());
    expectValidBundle(docs);
    // frpc's certificate comes from a CA Issuer over corp-ca; frps trusts corp-ca's certificate (its
    // own CA too, for services without mTLS), and frpc verifies frps against the bundle's CA
    const issuers = docs.filter(d => d.kind === 'Issuer' && d.spec.ca?.secretName === 'corp-ca').map(d => d.metadata.name);
    expect(issuers).toEqual(['user-service-ca']);
    const certs = docs.filter(d => d.kind === 'Certificate');
    expect(certs.find(c => c.spec.usages?.includes('client auth') && c.spec.secretName === 'user-service-frpc-tls').spec.issuerRef.name).toBe('user-service-ca');
    expect(certs.find(c => c.spec.usages?.includes('server auth')).spec.issuerRef.name).toBe('frp-ca');
    expect(docs.find(d => d.kind === 'ConfigMap' && d.data?.['frps.toml']).data['frps.toml']).toMatch(/trustedCaFile = "\/etc\/frp\/client-ca\/ca.crt"/);
    const frps = docs.find(d => d.kind === 'Deployment' && d.metadata.name === 'frps');
    expect(frps.spec.template.spec.volumes).toContainEqual({ name: 'client-ca-0', secret: { secretName: 'corp-ca', items: [{ key: 'tls.crt', path: 'ca.crt' }] } });
  });

  test('mtls.mode manual: frps trusts caSecret by the key DistributedService reads (ca.crt with serverCertSecret, else tls.crt); serverCertSecret on the shared frps warns', () => {
    const manual = (name: string, extra: string) => manifest(name, `${grpcSpec.replace(/9090\n$/, `${name === 'with-server-cert' ? 9091 : 9092}\n`)}  security:\n    mtls:\n      enabled: true\n      mode: manual\n      caSecret: ${name}-ca\n      certSecret: ${name}-frpc\n${extra}`);
    const f = file('manual.yaml', `${manual('with-server-cert', '      serverCertSecret: my-frps-cert\n')}---\n${manual('ca-only', '')}`);
    const r = run('render', f);
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.out).map(d => d.toJS());
    expectValidBundle(docs);
    const volumes = docs.find(d => d.kind === 'Deployment' && d.metadata.name === 'frps').spec.template.spec.volumes;
    // (client-ca-N in the order of namespace/name)
    expect(volumes).toContainEqual({ name: 'client-ca-0', secret: { secretName: 'ca-only-ca', items: [{ key: 'tls.crt', path: 'ca.crt' }] } });
    expect(volumes).toContainEqual({ name: 'client-ca-1', secret: { secretName: 'with-server-cert-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } });
    // the shared frps' certificate stays the bundle CA's: serverCertSecret is reported, not silently dropped
    expect(r.err).toContain(`${f}: document 1: apps/with-server-cert: spec.security.mtls.serverCertSecret: not used: frps is shared (apps/frps)`);
    expect(withoutRequiredSecrets(r.err)).not.toContain('ca-only: spec.security');
    expect(JSON.stringify(docs)).not.toContain('my-frps-cert');
  });

  test('a domain under the server\'s subDomainHost routes as that subdomain; two labels below is refused', () => {
    const httpSpec = (domain: string) => `  serviceType: http\n  backends:\n    endpoints:\n      - host: web-1.internal\n        port: 8080\n  expose:\n    type: domain\n    domain: ${domain}\n`
      + '  loadBalancing:\n    healthCheck:\n      path: /healthz\n';
    const r = run('render', '--subdomain-host', 'apps.example.com', file('sub.yaml', manifest('web', httpSpec('web.apps.example.com'))));
    expect(withoutRequiredSecrets(r.err)).toBe('');
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.out).map(d => d.toJS());
    expectValidBundle(docs); // frp's own verify on frps.toml and frpc.toml
    const frpc = docs.find(d => d.kind === 'ConfigMap' && d.data?.['frpc.toml']).data['frpc.toml'];
    expect(frpc).toMatch(/subdomain = "web"/);
    expect(frpc).not.toMatch(/customDomains/);
    expect(docs.find(d => d.kind === 'Ingress').spec.rules[0].host).toBe('web.apps.example.com');
    const deep = run('render', '--subdomain-host', 'apps.example.com', file('deep.yaml', manifest('web', httpSpec('a.web.apps.example.com'))));
    expect(deep.code).toBe(1);
    expect(deep.out).toBe('');
    expect(deep.err).toContain('spec.expose.domain: a.web.apps.example.com is under the server\'s subDomainHost apps.example.com but not one label below it');
  });
});

describe('--cert-manager-namespace: cert-manager\'s cluster resource namespace', () => {
  const svc = (name: string, ns: string) => `apiVersion: frp.io/v1beta1\nkind: DistributedService\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n`
    + `  serviceType: tcp\n  backends:\n    endpoints:\n      - host: ${name}-1.internal\n        port: 5432\n  expose:\n    type: port\n    port: 15432\n`;
  const f = file('cm-ns.yaml', svc('pg', 'databases'));

  test('services in other namespaces than frps: the cluster-wide CA\'s objects go to that namespace', () => {
    const r = run('render', '--namespace', 'frp', '--cert-manager-namespace', 'certs', f);
    expect(withoutRequiredSecrets(r.err)).toBe('');
    expect(r.code).toBe(0);
    const docs = parseAllDocuments(r.out).map(d => d.toJS());
    expectValidBundle(docs);
    const root = docs.find(d => d.kind === 'Certificate' && d.spec.isCA);
    expect(root.metadata).toMatchObject({ name: 'frp-ca-frp-root', namespace: 'certs' });
    expect(docs.find(d => d.kind === 'ClusterIssuer' && d.metadata.name === 'frp-ca-frp').spec.ca.secretName).toBe('frp-ca-frp-root');
    // without it: cert-manager's default
    const byDefault = parseAllDocuments(run('render', '--namespace', 'frp', f).out).map(d => d.toJS());
    expect(byDefault.find(d => d.kind === 'Certificate' && d.spec.isCA).metadata.namespace).toBe('cert-manager');
  });

  test.each<[string[], RegExp]>([
    [['--cert-manager-namespace', 'Cert_Manager'], /--cert-manager-namespace must be a DNS label, got "Cert_Manager"/],
    [['--cert-manager-namespace'], /--cert-manager-namespace needs a value/],
    [['--cert-manager-namespace', 'certs', '--insecure-skip-verify'], /--cert-manager-namespace is for the CA, which --insecure-skip-verify turns off/],
  ])('refused: %j', (argv, message) => {
    const r = run('render', f, ...argv);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(message);
  });

  test('in --help', () => {
    expect(run('--help').out).toMatch(/--cert-manager-namespace NS\n\s+cert-manager's cluster resource namespace/);
  });
});

describe('--insecure-skip-verify (issue 9 defect 12: the explicit opt-out)', () => {
  const tcpDoc = (name: string, mtls = false) => `apiVersion: frp.io/v1beta1\nkind: DistributedService\nmetadata:\n  name: ${name}\n  namespace: apps\nspec:\n  serviceType: tcp\n`
    + `  backends:\n    endpoints:\n      - host: db.internal\n        port: 5432\n  expose:\n    type: port\n    port: 5432\n${mtls ? '  security:\n    mtls:\n      enabled: true\n' : ''}`;

  test('without it frpc verifies frps; with it no cert-manager object and frpc without a CA', () => {
    const f = file('insecure.yaml', tcpDoc('db'));
    const secure = parseAllDocuments(run('render', f).out).map(d => d.toJS());
    const frpcOf = (docs: any[]) => docs.find(d => d.kind === 'ConfigMap' && d.data?.['frpc.toml']).data['frpc.toml'];
    expect(frpcOf(secure)).toMatch(/trustedCaFile/);
    const r = run('render', '--insecure-skip-verify', f);
    expect([r.code, withoutRequiredSecrets(r.err)]).toEqual([0, '']);
    const docs = parseAllDocuments(r.out).map(d => d.toJS());
    expectValidBundle(docs);
    expect(docs.filter(d => String(d.apiVersion).startsWith('cert-manager.io/'))).toEqual([]);
    expect(frpcOf(docs)).not.toMatch(/trustedCaFile|\[transport\.tls\]/);
  });

  test('a manifest asking for mTLS is refused at spec.security.mtls.enabled', () => {
    const r = run('render', '--insecure-skip-verify', file('insecure-mtls.yaml', tcpDoc('db', true)));
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain('document 1: apps/db: spec.security.mtls.enabled: mTLS needs frps\' certificate authority, which --insecure-skip-verify turns off');
  });
});

describe('the CLI as a GitOps user expects (issue 19 §2)', () => {
  test.each<[string, string[], string]>([
    ['an unknown option', ['render', '--foo', 'x.yaml'], 'cdk8s-frp: unknown option --foo; see cdk8s-frp --help\n'],
    ['an option without its value', ['render', '--namespace'], 'cdk8s-frp: --namespace needs a value; see cdk8s-frp --help\n'],
    ['an unknown command', ['rendr', 'x.yaml'], 'cdk8s-frp: unknown command "rendr"; see cdk8s-frp --help\n'],
    ['no command', [], 'cdk8s-frp: missing command; see cdk8s-frp --help\n'],
    ['no FILE', ['render'], 'cdk8s-frp: no FILE given; see cdk8s-frp --help\n'],
    ['an unknown option of import', ['import', '--foo'], 'cdk8s-frp import: unknown option --foo; see cdk8s-frp import --help\n'],
    ['an argument to crd', ['crd', '--foo'], 'cdk8s-frp: crd takes no option --foo; see cdk8s-frp --help\n'],
  ])('%s: one line and a hint, not the whole usage', (_name, argv, line) => {
    const r = run(...argv);
    expect([r.code, r.out, r.err]).toEqual([1, '', line]);
  });

  test('--help lists --output-dir under OPTIONS', () => {
    const help = run('--help').out;
    const options = help.slice(help.indexOf('\nOPTIONS:'));
    expect(options).toMatch(/\n {2}--output-dir DIR {8}render: one file per namespace/);
  });

  test('--help names every command, the operator too', () => {
    const usage = run('--help').out.split('\n\n')[0];
    for (const command of ['render', 'crd', 'client-bundle', 'import', 'operator']) expect(usage).toMatch(new RegExp(`^ *(usage: )?cdk8s-frp ${command}\\b`, 'm'));
  });

  test('cdk8s-frp crd prints the DistributedService CRD, and deploy/crd.yaml is that text', () => {
    const r = run('crd');
    expect([r.code, withoutRequiredSecrets(r.err)]).toEqual([0, '']);
    const [crd, ...rest] = parseAllDocuments(r.out).map(d => d.toJS());
    expect(rest).toEqual([]);
    expect(crd).toMatchObject({ kind: 'CustomResourceDefinition', metadata: { name: 'distributedservices.frp.io' }, spec: { group: 'frp.io', names: { kind: 'DistributedService' } } });
    // regenerate with: node bin/cdk8s-frp crd > deploy/crd.yaml
    expect(readFileSync(join(__dirname, '..', 'deploy', 'crd.yaml'), 'utf8')).toBe(r.out);
  });
});

describe('render --output-dir owns the files it writes (issue 19 §2)', () => {
  const svc = (name: string, ns: string) => `apiVersion: frp.io/v1beta1\nkind: DistributedService\nmetadata: {name: ${name}, namespace: ${ns}}\nspec:\n  serviceType: tcp\n  backends: {endpoints: [{host: 10.0.0.1, port: 5432}]}\n  expose: {type: port, port: 5432}\n`;
  const ls = (d: string) => readdirSync(d).sort();

  test('a later render removes the files an earlier one wrote and no longer writes; other files stay', () => {
    const out = mkdtempSync(join(tmpdir(), 'cdk8s-frp-own-'));
    writeFileSync(join(out, 'kustomization.yaml'), 'resources: []\n');
    expect(run('render', '--output-dir', out, file('own-a.yaml', svc('a', 'team-a')), file('own-b.yaml', svc('b', 'team-b')), '--namespace', 'frp').code).toBe(0);
    // services in other namespaces than frps: the cluster-wide CA goes to cert-manager's namespace
    expect(ls(out)).toEqual(['.cdk8s-frp-rendered', 'cert-manager.k8s.yaml', 'frp.k8s.yaml', 'kustomization.yaml', 'team-a.k8s.yaml', 'team-b.k8s.yaml']);
    // the same services without --namespace, then one service: frps moves, team-b goes
    const r = run('render', '--output-dir', out, file('own-c.yaml', svc('a', 'team-a')));
    expect(r.code).toBe(0);
    expect(ls(out)).toEqual(['.cdk8s-frp-rendered', 'kustomization.yaml', 'team-a.k8s.yaml']);
    expect(readFileSync(join(out, 'kustomization.yaml'), 'utf8')).toBe('resources: []\n');
    // exactly one frps in the directory
    const frps = ls(out).filter(f => f.endsWith('.yaml')).flatMap(f => parseAllDocuments(readFileSync(join(out, f), 'utf8')).map(d => d.toJS()))
      .filter(d => d?.kind === 'Deployment' && d.metadata.labels['app.kubernetes.io/name'] === 'frps');
    expect(frps).toHaveLength(1);
  });

  test('rendered-looking files it did not write are refused before anything is written', () => {
    const out = mkdtempSync(join(tmpdir(), 'cdk8s-frp-own-'));
    writeFileSync(join(out, 'old.k8s.yaml'), 'kind: Deployment\n');
    const r = run('render', '--output-dir', out, file('own-d.yaml', svc('a', 'team-a')));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`--output-dir ${out}: old.k8s.yaml was not written by cdk8s-frp render (no .cdk8s-frp-rendered here): remove it or render into another directory`);
    expect(ls(out)).toEqual(['old.k8s.yaml']);
  });

  test('a record naming other files deletes nothing it does not own', () => {
    const out = mkdtempSync(join(tmpdir(), 'cdk8s-frp-own-'));
    writeFileSync(join(out, '.cdk8s-frp-rendered'), '../escape.k8s.yaml\nnotes.txt\n/etc/passwd\n');
    writeFileSync(join(out, 'notes.txt'), 'mine\n');
    expect(run('render', '--output-dir', out, file('own-e.yaml', svc('a', 'team-a'))).code).toBe(0);
    expect(ls(out)).toEqual(['.cdk8s-frp-rendered', 'notes.txt', 'team-a.k8s.yaml']);
  });

  test('property: after any sequence of renders the directory holds exactly the last render\'s files plus the user\'s', () => {
    const NS = ['team-a', 'team-b', 'team-c'];
    fc.assert(fc.property(fc.array(fc.subarray(NS, { minLength: 1 }), { minLength: 1, maxLength: 4 }), (renders) => {
      const out = mkdtempSync(join(tmpdir(), 'cdk8s-frp-own-'));
      writeFileSync(join(out, 'README.md'), 'x\n');
      for (const nss of renders) {
        const files = nss.map((ns, i) => file(`seq-${ns}-${i}.yaml`, svc(`s${i}`, ns)));
        expect(run('render', '--output-dir', out, '--namespace', 'frp', ...files).code).toBe(0);
      }
      const last = renders[renders.length - 1];
      expect(ls(out)).toEqual(['.cdk8s-frp-rendered', 'README.md', 'cert-manager.k8s.yaml', 'frp.k8s.yaml', ...last.map(ns => `${ns}.k8s.yaml`)].sort());
    }), { numRuns: 15, seed: 19 });
  });
});

describe('render says which Secrets must exist, at the document and field that asks for each (issue 19 §1)', () => {
  const examples = join(__dirname, '..', 'examples', 'manifests');
  const WARNING = 'cdk8s-frp: warning: ';
  const CONTRACT = /^\S+\.yaml: document \d+: [a-z0-9-]+\/[a-z0-9-]+: (spec[.[]|metadata\.)/;

  test('the seed examples: one line per Secret RequiredSecrets lists, each naming its document and field; exit 0, stdout the bundle', () => {
    const files = readdirSync(examples).filter(f => f.endsWith('.yaml')).sort().map(f => join(examples, f));
    const r = run('render', '--namespace', 'frp', ...files);
    expect(r.code).toBe(0);
    const objects = parseAllDocuments(r.out).map(d => d.toJS());
    const lines = r.err.trimEnd().split('\n');
    for (const l of lines) expect(l.startsWith(WARNING) && CONTRACT.test(l.slice(WARNING.length))).toBe(true);
    for (const s of RequiredSecrets.fromObjects(objects)) {
      expect(lines.filter(l => l.endsWith(`: ${RequiredSecrets.line(s)}`))).toHaveLength(1);
    }
    // the field that names it: a spec field, the service name for its group key
    expect(r.err).toMatch(/ollama-cluster\.yaml: document 1: ai-services\/ollama-cluster: spec\.security\.authentication\.tokenSecret: Secret ai-services\/ollama-api-keys must exist/);
    expect(r.err).toMatch(/ollama-cluster\.yaml: document 1: ai-services\/ollama-cluster: metadata\.name: Secret ai-services\/ollama-cluster-group-key must exist \(the bundle reads it, key group-key/);
    expect(r.err).toMatch(/user-service\.yaml: document 1: microservices\/user-service: spec\.security\.mtls\.caSecret: Secret frp\/internal-ca must exist/);
  });

  test('services in several namespaces without --namespace: a warning at metadata.namespace says frps goes to "default"; with --namespace or one namespace, none', () => {
    // user-service in microservices, web without a namespace
    const two = file('spread.yaml', `${grpc}---\n${web}`);
    const r = run('render', '--subdomain-host', 'apps.example.com', two);
    expect(r.code).toBe(0);
    const spread = withoutRequiredSecrets(r.err).split('\n').filter(l => /no namespace is given for the shared frps/.test(l));
    expect(spread).toHaveLength(1);
    expect(spread[0]).toMatch(/^cdk8s-frp: warning: \S+spread\.yaml: document \d: [a-z-]+\/[a-z-]+: metadata\.namespace: the services are in 2 namespaces \(\S+, \S+\) and no namespace is given for the shared frps, so it goes to namespace "default": give it one \(render's --namespace/);
    expect(run('render', '--subdomain-host', 'apps.example.com', '--namespace', 'frp', two).err).not.toMatch(/no namespace is given/);
    expect(run('render', file('one-ns.yaml', grpc)).err).not.toMatch(/no namespace is given/);
  });
});
