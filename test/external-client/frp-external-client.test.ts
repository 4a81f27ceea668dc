import { spawnSync } from 'child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import * as fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import {
  CertificateAuthority, DistributedService, ServiceProtocol, ExposeType, FrpAuth, FrpExternalClient, FrpServer,
  LoadBalancingAlgorithm, NetworkPeer,
} from '../../lib';
import { main } from '../../lib/cli/render';
import { expectValidBundle, frpBinary, frpVerify, parseFrpTomlValues as parse } from '../helpers';
import { withoutRequiredSecrets } from '../helpers/stderr';

/** frps in `frp` with a CA and an external address; an http service in `ai` with a group key. */
function setup(external = ['frps.example.com', '203.0.113.7']) {
  const app = Testing.app();
  const frp = new Chart(app, 'frp', { namespace: 'frp' });
  const ai = new Chart(app, 'ai', { namespace: 'ai' });
  const server = new FrpServer(frp, 'frps', {
    auth: FrpAuth.token(kplus.Secret.fromSecretName(frp, 'token', 'frp-token')),
    certificateAuthority: new CertificateAuthority(frp, 'ca', { clusterWide: true }),
    externalAccess: { addresses: external },
    clientPeers: [NetworkPeer.cidr('198.51.100.0/24')],
  });
  const ollama = new DistributedService(ai, 'ollama', {
    server,
    serviceType: ServiceProtocol.HTTP,
    backends: { endpoints: [{ host: 'ollama-0.ai.svc', port: 11434 }] },
    expose: { domain: 'llm.example.com', path: '/v1' },
    groupKeySecret: kplus.Secret.fromSecretName(ai, 'gk', 'llm-group-key'),
  });
  return { app, frp, ai, server, ollama };
}

describe('FrpExternalClient: frpc on a machine outside the cluster', () => {
  test('joins the service\'s group with the same route and health check, as user <machine>, verifying frps by the dialled name', () => {
    const { frp, server, ollama } = setup();
    const gpu = new FrpExternalClient(frp, 'gpu-1', { server, machine: 'gpu-1', serverAddress: '203.0.113.7' });
    gpu.addService(ollama, { localPort: 8080 });
    const config = gpu.renderConfig();
    expect(frpVerify('frpc', config, { FRP_GROUP_KEY_HEX: '6b' })).toMatchObject({ ok: true });
    const c: any = parse(config);
    const inCluster: any = parse(ollama.clientPool.renderConfig());
    expect(c).toMatchObject({
      serverAddr: '203.0.113.7',
      serverPort: 7000,
      user: 'gpu-1',
      auth: { method: 'token', tokenSource: { type: 'file', file: { path: '/etc/frp/token' } } },
      transport: { tls: { enable: true, certFile: '/etc/frp/tls/tls.crt', keyFile: '/etc/frp/tls/tls.key', trustedCaFile: '/etc/frp/tls/ca.crt', serverName: '203.0.113.7' } },
      webServer: { addr: '127.0.0.1', port: 7400 },
    });
    expect(c.auth.token).toBeUndefined();
    // one more member: the in-cluster member's proxy with the machine's backend
    const { name: _n, localIP: _i, localPort: _p, ...shared } = inCluster.proxies[0];
    // with the same group key: the pods' template computes the hex of the Secret's bytes, the
    // machine's environment file holds that hex (written by the export script)
    expect(c.proxies).toEqual([{ ...shared, name: 'ollama', localIP: '127.0.0.1', localPort: 8080, loadBalancer: { group: 'ai-ollama', groupKey: '{{ .Envs.FRP_GROUP_KEY_HEX }}' } }]);
    expect(shared.loadBalancer).toEqual({ group: 'ai-ollama', groupKey: '{{ .Envs.FRP_GROUP_KEY }}' });
    expect(ollama.clientPool.renderConfig()).toContain('groupKey = "{{ printf `%x` .Envs.FRP_GROUP_KEY }}"');
    expect(config).toContain('groupKey = "{{ .Envs.FRP_GROUP_KEY_HEX }}"');
    // the machine's client certificate is a cert-manager Certificate from the server's CA
    const manifests = Testing.synth(frp);
    expectValidBundle(manifests);
    const cert = manifests.find(m => m.kind === 'Certificate' && m.metadata.name === gpu.certificate!.certificate!.name);
    expect(cert.spec.usages).toEqual(['digital signature', 'client auth']);
    const serverCert = manifests.find(m => m.kind === 'Certificate' && m.spec.usages?.includes('server auth'));
    expect(serverCert.spec.ipAddresses).toEqual(['203.0.113.7']);
    expect(serverCert.spec.dnsNames).toContain('frps.example.com');
  });

  test('the systemd unit: restart on failure, reload through frpc reload, the env file for the group key; systemd-analyze accepts it', () => {
    const { frp, server, ollama } = setup();
    const gpu = new FrpExternalClient(frp, 'gpu-1', { server, machine: 'gpu-1', frpcPath: frpBinary('frpc'), configDir: '/etc/frp-gpu' });
    gpu.addService(ollama);
    const unit = gpu.renderSystemdUnit();
    const lines = unit.split('\n');
    expect(lines).toEqual(expect.arrayContaining([
      'Restart=on-failure',
      `ExecStart=${frpBinary('frpc')} -c /etc/frp-gpu/frpc.toml`,
      `ExecReload=${frpBinary('frpc')} reload -c /etc/frp-gpu/frpc.toml`,
      'EnvironmentFile=/etc/frp-gpu/frpc.env',
      'User=frpc',
      'ReadOnlyPaths=/etc/frp-gpu',
    ]));
    const dir = mkdtempSync(join(tmpdir(), 'frpc-unit-'));
    const file = join(dir, 'frpc.service');
    writeFileSync(file, unit);
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 30_000 });
    expect({ status: r.status, output: `${r.stdout}${r.stderr}`.trim() }).toEqual({ status: 0, output: '' });
    // the check sees a broken unit
    writeFileSync(file, unit.replace('Restart=on-failure', 'Restart=on-failure\nRestartEverything=yes'));
    const bad = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 30_000 });
    expect(`${bad.stdout}${bad.stderr}`).toContain("Unknown key 'RestartEverything'");
  });

  test('the export script fetches the token, the group key and the certificate from the Secrets the bundle names', () => {
    const { frp, server, ollama } = setup();
    const gpu = new FrpExternalClient(frp, 'gpu-1', { server, machine: 'gpu-1' });
    gpu.addService(ollama);
    const script = gpu.renderExportScript();
    const dir = mkdtempSync(join(tmpdir(), 'frpc-export-'));
    // a stand-in kubectl: prints base64 of "<namespace>/<secret>/<key>", records waits
    const bin = join(dir, 'bin');
    spawnSync('mkdir', ['-p', bin]);
    writeFileSync(join(bin, 'kubectl'), `#!/bin/sh
if [ "$3" = wait ]; then echo "$@" >> "${dir}/waits"; exit 0; fi
key=$(echo "$7" | sed -e 's/^jsonpath={.data.//' -e 's/}$//' -e 's/\\\\//g')
printf '%s/%s/%s' "$2" "$5" "$key" | base64
`);
    chmodSync(join(bin, 'kubectl'), 0o755);
    writeFileSync(join(dir, 'export.sh'), script);
    const r = spawnSync('sh', ['export.sh'], { cwd: dir, encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` }, timeout: 30_000 });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toBe(''); // never prints a secret
    const secret = gpu.certificate!.secret.name;
    expect(readFileSync(join(dir, 'token'), 'utf8')).toBe('frp/frp-token/token');
    // the group key as the hex of the Secret's bytes
    expect(readFileSync(join(dir, 'frpc.env'), 'utf8')).toBe(`FRP_GROUP_KEY_HEX=${Buffer.from('ai/llm-group-key/group-key').toString('hex')}\n`);
    expect(readFileSync(join(dir, 'tls/tls.crt'), 'utf8')).toBe(`frp/${secret}/tls.crt`);
    expect(readFileSync(join(dir, 'tls/tls.key'), 'utf8')).toBe(`frp/${secret}/tls.key`);
    expect(readFileSync(join(dir, 'tls/ca.crt'), 'utf8')).toBe(`frp/${gpu.certificate!.caSecret.name}/ca.crt`);
    expect(readFileSync(join(dir, 'waits'), 'utf8')).toContain(`certificate/${gpu.certificate!.certificate!.name}`);

    // a Secret key that is missing (kubectl prints nothing) stops the script, naming it,
    // instead of writing an empty group key (before: frpc.env got FRP_GROUP_KEY= and the
    // machine was refused by the group, or an empty token file)
    writeFileSync(join(bin, 'kubectl'), `#!/bin/sh
if [ "$3" = wait ]; then exit 0; fi
case "$5" in llm-group-key) exit 0;; esac
printf x | base64
`);
    const missing = spawnSync('sh', ['export.sh'], { cwd: dir, encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` }, timeout: 30_000 });
    expect({ status: missing.status, stderr: missing.stderr }).toEqual({ status: 1, stderr: 'export-credentials: Secret ai/llm-group-key has no key group-key, or it is empty\n' });
  });

  test.each<[string, (s: ReturnType<typeof setup>) => void, string]>([
    ['an address frps\' certificate does not name', s => new FrpExternalClient(s.frp, 'm', { server: s.server, machine: 'm', serverAddress: 'other.example.com' }),
      'serverAddress: other.example.com is not in the server certificate'],
    ['a bad machine name', s => new FrpExternalClient(s.frp, 'm', { server: s.server, machine: 'GPU_1' }), 'machine: must be a DNS label'],
    ['a service with a balancer tier', s => {
      const svc = new DistributedService(s.ai, 'lc', {
        server: s.server,
        serviceType: ServiceProtocol.HTTP,
        backends: { endpoints: [{ host: 'a', port: 80 }, { host: 'b', port: 80 }] },
        expose: { domain: 'lc.example.com' },
        loadBalancing: { algorithm: LoadBalancingAlgorithm.LEAST_CONN },
      });
      new FrpExternalClient(s.frp, 'm', { server: s.server, machine: 'm' }).addService(svc);
    }, 'has a balancer tier (algorithm least-conn): a member outside the cluster would bypass it'],
    ['a udp service', s => {
      const svc = new DistributedService(s.ai, 'dns', {
        server: s.server,
        serviceType: ServiceProtocol.UDP,
        backends: { endpoints: [{ host: 'a', port: 53 }] },
        expose: { type: ExposeType.PORT, port: 5353 },
      });
      new FrpExternalClient(s.frp, 'm', { server: s.server, machine: 'm' }).addService(svc);
    }, 'frp has no udp groups'],
  ])('refuses %s', (_name, build, message) => {
    expect(() => build(setup())).toThrow(message);
  });

  test('refuses a server whose certificate it cannot verify (tls Secrets without a CA); an explicit opt-out runs without verification', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c', { namespace: 'frp' });
    const token = FrpAuth.token(kplus.Secret.fromSecretName(chart, 't', 'frp-token'));
    const external = { addresses: ['frps.example.com'] };
    const clientPeers = [NetworkPeer.cidr('198.51.100.0/24')];
    const withSecrets = new FrpServer(chart, 'frps', {
      auth: token, externalAccess: external, clientPeers, tls: { secret: kplus.Secret.fromSecretName(chart, 's', 'frps-tls'), requireClientCertificates: false },
    });
    expect(() => new FrpExternalClient(chart, 'm', { server: withSecrets, machine: 'm' }))
      .toThrow('c/m: server: c/frps serves a certificate from Secrets it was given (tls), which the machine cannot verify: give the server a certificateAuthority (or insecureSkipVerify: true)');
    const insecure = new FrpServer(chart, 'frps2', { name: 'frps2', auth: token, externalAccess: external, clientPeers, insecureSkipVerify: true });
    const m = new FrpExternalClient(chart, 'm2', { server: insecure, machine: 'm2' });
    expect((parse(m.renderConfig()) as any).transport?.tls).toBeUndefined();
  });

  test('serverName: the machine dials an address the certificate does not name and verifies frps by a name it has', () => {
    const { frp, server, ollama } = setup(['frps.example.com']);
    const gpu = new FrpExternalClient(frp, 'gpu-1', { server, machine: 'gpu-1', serverAddress: '198.51.100.9', serverName: 'frps.example.com' });
    gpu.addService(ollama, { localPort: 8080 });
    const c: any = parse(gpu.renderConfig());
    expect(c.serverAddr).toBe('198.51.100.9');
    expect(c.transport.tls).toMatchObject({ enable: true, trustedCaFile: '/etc/frp/tls/ca.crt', serverName: 'frps.example.com' });
    // without serverName the dialled address must be in the certificate: the message says how to fix it
    expect(() => new FrpExternalClient(frp, 'm', { server, machine: 'm', serverAddress: '198.51.100.9' }))
      .toThrow('frp/m: serverAddress: 198.51.100.9 is not in the server certificate (it names frps.frp.svc, frps.example.com): '
        + 'add it to the server\'s externalAccess.addresses, or set serverName to a name it has');
    expect(() => new FrpExternalClient(frp, 'n', { server, machine: 'n', serverAddress: '198.51.100.9', serverName: 'other.example.com' }))
      .toThrow('frp/n: serverName: other.example.com is not in the server certificate');
    expect(() => new FrpExternalClient(frp, 'o', { server, machine: 'o', serverName: 'Bad Name' }))
      .toThrow('frp/o: serverName: must be a DNS name or an IP address, got "Bad Name"');
  });

  test('serverName needs a certificate to check: refused on a server without verification', () => {
    const chart = new Chart(Testing.app(), 'c', { namespace: 'frp' });
    const server = new FrpServer(chart, 'frps', {
      auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 't', 'frp-token')), externalAccess: { addresses: ['frps.example.com'] }, clientPeers: [NetworkPeer.cidr('198.51.100.0/24')], insecureSkipVerify: true,
    });
    expect(() => new FrpExternalClient(chart, 'm', { server, machine: 'm', serverName: 'frps.example.com' }))
      .toThrow('c/m: serverName: checks the certificate from the server\'s certificateAuthority, and c/frps has none');
  });

  test('without a server address or external access it asks for one', () => {
    const app = Testing.app();
    const chart = new Chart(app, 'c', { namespace: 'frp' });
    const server = new FrpServer(chart, 'frps', { auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 't', 'frp-token')) });
    expect(() => new FrpExternalClient(chart, 'm', { server, machine: 'm' })).toThrow('serverAddress: is required: the server c/frps has no externalAccess addresses');
  });
});

describe('cdk8s-frp client-bundle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cdk8s-frp-client-bundle-'));
  const manifest = join(dir, 'svc.yaml');
  writeFileSync(manifest, `apiVersion: frp.io/v1beta1
kind: DistributedService
metadata: {name: ollama, namespace: ai}
spec:
  serviceType: http
  backends: {endpoints: [{host: ollama-0.ai.svc, port: 11434}]}
  expose: {domain: llm.example.com, path: /v1}
  security: {mtls: {enabled: true}}
---
apiVersion: frp.io/v1beta1
kind: DistributedService
metadata: {name: pg, namespace: ai}
spec:
  serviceType: tcp
  backends: {endpoints: [{host: pg.ai.svc, port: 5432}]}
  expose: {type: port, port: 5432}
`);
  const run = (...argv: string[]) => {
    let out = '';
    let err = '';
    const code = main(argv, s => { out += s; }, s => { err += s; });
    return { code, out, err };
  };

  test('writes frpc.toml, the unit, the export script and the machine\'s Certificate; the certificate\'s CA is the one render gives frps', () => {
    const outDir = join(dir, 'gpu-1');
    const r = run('client-bundle', '--machine', 'gpu-1', '--server-address', 'frps.example.com:31700', '--output-dir', outDir,
      '--local', 'pg=10.0.0.5:15432', '--namespace', 'frp', '--frps-service-type', 'NodePort', '--frps-node-port', '31700', '--frps-address', 'frps.example.com', manifest);
    // ollama relies on the default health check path (GET /health on the machine's backend): said on stderr
    expect(r.err.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^cdk8s-frp: warning: machine gpu-1: services\["ollama"\]: spec\.loadBalancing\.healthCheck\.path: not set, so frpc checks every backend with GET \/health/),
    ]);
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')).toEqual(['frpc.toml', 'frpc.service', 'export-credentials.sh', 'cluster.yaml'].map(f => join(outDir, f)));
    const c: any = parse(readFileSync(join(outDir, 'frpc.toml'), 'utf8'));
    expect(c.serverAddr).toBe('frps.example.com');
    expect(c.serverPort).toBe(31700);
    expect(c.user).toBe('gpu-1');
    expect(c.proxies.map((p: any) => [p.name, p.localIP, p.localPort, p.loadBalancer.group])).toEqual([
      ['ollama', '127.0.0.1', 11434, 'ai-ollama'],
      ['pg', '10.0.0.5', 15432, 'ai-pg'],
    ]);
    expect(frpVerify('frpc', readFileSync(join(outDir, 'frpc.toml'), 'utf8'))).toMatchObject({ ok: true });
    // the Certificate is issued by the CA issuer the cluster bundle (render) has
    const [cert] = parseAllDocuments(readFileSync(join(outDir, 'cluster.yaml'), 'utf8')).map(d => d.toJS());
    const bundle = run('render', '--namespace', 'frp', '--frps-service-type', 'LoadBalancer', '--frps-address', 'frps.example.com',
      '--client-cidr', '198.51.100.0/24', manifest);
    expect(withoutRequiredSecrets(bundle.err)).toMatch(/^cdk8s-frp: warning: \S+svc\.yaml: document 1: ai\/ollama: spec\.loadBalancing\.healthCheck\.path: not set[^\n]*\n$/);
    const docs = parseAllDocuments(bundle.out).map(d => d.toJS());
    expectValidBundle([...docs, cert]);
    // frpc in namespace ai, frps in frp: the bundle's CA is a ClusterIssuer
    expect(cert.spec.issuerRef.kind).toBe('ClusterIssuer');
    const issuer = docs.find(d => d.kind === cert.spec.issuerRef.kind && d.metadata.name === cert.spec.issuerRef.name);
    expect(issuer?.spec.ca).toBeDefined();
    const serverCert = docs.find(d => d.kind === 'Certificate' && d.spec.usages?.includes('server auth'));
    expect(serverCert.spec.dnsNames).toContain('frps.example.com');
    expect(docs.find(d => d.kind === 'Service' && d.spec.type === 'LoadBalancer').spec.ports).toEqual([{ name: 'control', port: 7000, targetPort: 7000 }]);
    expect(existsSync(join(outDir, 'export-credentials.sh'))).toBe(true);
  });

  test('the issue\'s example: an address the cluster bundle does not serve is refused, naming the options render needs (issue 19 §1)', () => {
    // before: exit 0 and serverName = "frps.example.com", while frps' certificate names only in-cluster names
    const r = run('client-bundle', '--machine', 'm', '--server-address', 'frps.example.com:7000', '--output-dir', join(dir, 'refused'), manifest);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--server-address frps\.example\.com:7000: the cluster bundle has no Service that machines outside the cluster reach frps on: .*--frps-service-type \(LoadBalancer or NodePort\) and --frps-address frps\.example\.com/);
    expect(existsSync(join(dir, 'refused'))).toBe(false);
  });

  test('property: client-bundle writes a machine config only where render with the same options serves that address, port and name', () => {
    const hosts = ['frps.example.com', '203.0.113.7', 'other.example.com'];
    let written = 0;
    let refused = 0;
    fc.assert(fc.property(
      fc.constantFrom(undefined, 'LoadBalancer', 'NodePort'), fc.subarray(hosts.slice(0, 2)), fc.constantFrom(...hosts),
      fc.constantFrom(undefined, 7000, 31700), fc.constantFrom(undefined, 31700), fc.boolean(),
      (type, addresses, host, port, nodePort, skip) => {
        const cluster = [
          '--namespace', 'frp',
          ...(type ? ['--frps-service-type', type] : []), ...addresses.flatMap(a => ['--frps-address', a]),
          ...(nodePort ? ['--frps-node-port', String(nodePort)] : []), ...(skip ? ['--insecure-skip-verify'] : []),
        ];
        const out = join(dir, `combo-${written + refused}`);
        const r = run('client-bundle', '--machine', 'm', '--server-address', port ? `${host}:${port}` : host, '--output-dir', out, ...cluster, manifest);
        if (r.code !== 0) {
          refused++;
          expect(r.code).toBe(1);
          expect(r.err).toMatch(/^cdk8s-frp: (--server-address|--frps-address|--insecure-skip-verify|\S+: document)/);
          expect(existsSync(join(out, 'frpc.toml'))).toBe(false);
          return;
        }
        written++;
        const c: any = parse(readFileSync(join(out, 'frpc.toml'), 'utf8'));
        // the cluster side, rendered with the same options (and the outside range its NetworkPolicy needs)
        const bundle = run('render', ...cluster, '--client-cidr', '198.51.100.0/24', manifest);
        expect(bundle.code).toBe(0);
        const docs = parseAllDocuments(bundle.out).map(d => d.toJS());
        const external = docs.find(d => d.kind === 'Service' && (d.spec.type === 'LoadBalancer' || d.spec.type === 'NodePort'));
        expect(external?.spec.type).toBe(type);
        const control = external.spec.ports.find((p: any) => p.name === 'control');
        expect(c.serverAddr).toBe(host);
        expect(c.serverPort).toBe(type === 'NodePort' ? control.nodePort : control.port);
        if (!skip) {
          const serverCert = docs.find(d => d.kind === 'Certificate' && d.spec.usages?.includes('server auth'));
          const names = [...serverCert.spec.dnsNames ?? [], ...serverCert.spec.ipAddresses ?? []];
          expect(names).toContain(c.transport.tls.serverName ?? c.serverAddr);
        }
      }), { numRuns: 120, seed: 20261206 });
    expect(written).toBeGreaterThan(3);
    expect(refused).toBeGreaterThan(3);
  }, 900_000);

  test.each<[string, string[], RegExp]>([
    ['no machine', ['client-bundle', '--server-address', 'h', manifest], /client-bundle needs --machine NAME/],
    ['no server address', ['client-bundle', '--machine', 'm', manifest], /client-bundle needs --server-address/],
    ['an unknown --local service', ['client-bundle', '--machine', 'm', '--server-address', 'h', '--frps-service-type', 'LoadBalancer', '--frps-address', 'h', '--output-dir', join(dir, 'x'), '--local', 'nope=1.2.3.4:5', manifest], /--local nope: no service of that name/],
    ['a client-bundle option on render', ['render', '--machine', 'm', manifest], /unknown option --machine \(it is an option of client-bundle\)/],
    ['an external address without a Service type', ['render', '--frps-address', 'h', manifest], /--frps-address and --frps-node-port need --frps-service-type/],
    ['external access the NetworkPolicy would block', ['render', '--frps-service-type', 'NodePort', '--frps-address', 'h.example.com', manifest], /frps: .*clientPeers: externalAccess opens the control port/],
  ])('fails on %s with exit 1', (_name, argv, message) => {
    const r = run(...argv);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(message);
  });
});
