/**
 * Trust between frpc and frps (issue 9 defects 1 and 12): frpc always verifies frps, and
 * certificates are issued in the namespace of the pod that mounts them.
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  CertificateAuthority, DistributedService, ServiceProtocol, ExposeType, FrpAuth, FrpClientPool, FrpProxyType, FrpServer, IssuerKind, MtlsMode,
  SynthWarnings,
} from '../../lib';
import { expectValidBundle, parseFrpTomlValues as parse } from '../helpers';

const pg = { name: 'pg', type: FrpProxyType.TCP, localIP: 'db', localPort: 5432, remotePort: 15432 };
const toml = (manifests: any[], file: string, ns?: string): any =>
  parse(manifests.find(m => m.kind === 'ConfigMap' && m.data?.[file] && (ns === undefined || m.metadata.namespace === ns)).data[file]);
const auth = (c: Chart) => FrpAuth.token(kplus.Secret.fromSecretName(c, 'token', 'frp-token'));

describe('frpc verifies frps by default (defect 12)', () => {
  test('a server gets a certificate from a CA of its own; its pools verify it by name and present no certificate', () => {
    const chart = Testing.chart();
    const server = new FrpServer(chart, 'frps', { auth: auth(chart) });
    new FrpClientPool(chart, 'frpc', { server, proxies: [pg] });
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    expect(server.certificateAuthority).toBeDefined();
    expect(server.requiresClientCertificates).toBe(false);
    const certs = manifests.filter(m => m.kind === 'Certificate');
    const serverCert = certs.find(c => c.spec.usages?.includes('server auth'));
    expect(serverCert.spec.issuerRef).toEqual({ name: 'frps-ca', kind: 'Issuer', group: 'cert-manager.io' });
    // frps serves it and asks no client certificates
    expect(toml(manifests, 'frps.toml').transport.tls).toEqual({ force: true, certFile: '/etc/frp/tls/tls.crt', keyFile: '/etc/frp/tls/tls.key' });
    // frpc trusts the CA (ca.crt of its own certificate's Secret) for the name it dials
    const frpc = toml(manifests, 'frpc.toml');
    expect(frpc.transport.tls).toEqual({ enable: true, trustedCaFile: '/etc/frp/tls-ca/ca.crt', serverName: server.host });
    expect(serverCert.spec.dnsNames).toContain(frpc.transport.tls.serverName);
    // it presents no certificate, so only the CA certificate is mounted, never the key
    const pod = manifests.find(m => m.kind === 'Deployment' && m.spec.template.spec.containers[0].name === 'frpc').spec.template.spec;
    expect(pod.volumes.filter((v: any) => v.name.startsWith('tls'))).toEqual([
      { name: 'tls-ca', secret: { secretName: 'frpc-tls', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
    ]);
    const clientCert = certs.find(c => c.spec.secretName === 'frpc-tls');
    expect(clientCert.spec.issuerRef.name).toBe('frps-ca');
  });

  test('a DistributedService without mTLS verifies its frps', () => {
    const chart = Testing.chart();
    new DistributedService(chart, 'db', {
      auth: auth(chart),
      serviceType: ServiceProtocol.TCP,
      backends: { endpoints: [{ host: 'db', port: 5432 }] },
      expose: { type: ExposeType.PORT, port: 5432 },
    });
    const manifests = Testing.synth(chart);
    const frpc = toml(manifests, 'frpc.toml');
    expect(frpc.transport.tls.trustedCaFile).toBe('/etc/frp/tls-ca/ca.crt');
    expect(frpc.transport.tls.serverName).toBe('db-frps');
    expect(frpc.transport.tls.certFile).toBeUndefined();
  });

  test('insecureSkipVerify opts out: no CA, no certificates, frpc without a CA (frp\'s skip-verify)', () => {
    const chart = Testing.chart();
    const server = new FrpServer(chart, 'frps', { auth: auth(chart), insecureSkipVerify: true });
    new FrpClientPool(chart, 'frpc', { server, proxies: [pg] });
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    expect(manifests.filter(m => m.apiVersion?.startsWith('cert-manager.io/'))).toEqual([]);
    expect(toml(manifests, 'frps.toml').transport.tls).toBeUndefined();
    expect(toml(manifests, 'frpc.toml').transport?.tls).toBeUndefined();
  });

  test.each([
    ['a pool cannot verify a server whose certificate comes from Secrets without the CA', (c: Chart) => {
      const server = new FrpServer(c, 'frps', { auth: auth(c), tls: { secret: kplus.Secret.fromSecretName(c, 's', 'frps-tls'), requireClientCertificates: false } });
      new FrpClientPool(c, 'frpc', { server });
    }, 'test/frpc: tls: frpc cannot verify the server test/frps, whose certificate comes from Secrets (its tls): give tls.caSecret with the CA that signed it'],
    ['a pool cannot verify an frps outside the app without its CA', (c: Chart) => new FrpClientPool(c, 'frpc', { serverAddress: 'frps.example.com', auth: auth(c) }),
      'test/frpc: tls: frpc cannot verify the frps at frps.example.com: give tls.caSecret (the CA of its certificate) or certificateAuthority, or opt out with insecureSkipVerify: true'],
    ['insecureSkipVerify with a CA', (c: Chart) => new FrpServer(c, 'frps', { auth: auth(c), insecureSkipVerify: true, certificateAuthority: new CertificateAuthority(c, 'ca') }),
      'test/frps: insecureSkipVerify: turns server verification off; it cannot go with certificateAuthority'],
    ['client certificates without a CA', (c: Chart) => new FrpServer(c, 'frps', { auth: auth(c), insecureSkipVerify: true, requireClientCertificates: true }),
      'test/frps: requireClientCertificates: needs a certificateAuthority (client certificates come from it)'],
  ])('%s', (_name, build, message) => {
    expect(() => build(Testing.chart())).toThrow(message);
  });

  test('an frps outside the app, opted out explicitly: frpc with TLS but no CA', () => {
    const chart = Testing.chart();
    new FrpClientPool(chart, 'frpc', { serverAddress: 'frps.example.com', auth: auth(chart), insecureSkipVerify: true });
    expect(toml(Testing.synth(chart), 'frpc.toml').transport?.tls).toBeUndefined();
  });
});

describe('certificates where frpc runs (defect 1)', () => {
  const twoNamespaces = (caProps: any) => {
    const app = Testing.app();
    const frp = new Chart(app, 'frp', { namespace: 'frp' });
    const apps = new Chart(app, 'apps', { namespace: 'apps' });
    const server = new FrpServer(frp, 'frps', { auth: auth(frp), certificateAuthority: new CertificateAuthority(frp, 'ca', caProps) });
    return { app, frp, apps, server };
  };

  test('a clusterWide CA is a ClusterIssuer over a CA in cert-manager\'s namespace; a pool in another namespace gets its certificate there', () => {
    const { frp, apps, server } = twoNamespaces({ clusterWide: true });
    new FrpClientPool(apps, 'frpc', { server, proxies: [pg] });
    const manifests = [...frp.toJson(), ...apps.toJson()];
    expectValidBundle(manifests);
    const issuer = manifests.find(m => m.kind === 'ClusterIssuer');
    expect(issuer.metadata.namespace).toBeUndefined();
    expect(issuer.metadata.name).toBe('frp-ca-frp');
    const root = manifests.find(m => m.kind === 'Certificate' && m.spec.isCA);
    expect(root.metadata.namespace).toBe('cert-manager');
    expect(issuer.spec.ca.secretName).toBe(root.spec.secretName);
    const selfSigned = manifests.find(m => m.kind === 'Issuer' && m.spec.selfSigned);
    expect(selfSigned.metadata.namespace).toBe('cert-manager');
    // the client certificate is issued where frpc mounts it
    const deployment = manifests.find(m => m.kind === 'Deployment' && m.metadata.namespace === 'apps');
    const mounted = deployment.spec.template.spec.volumes.find((v: any) => v.name === 'tls').secret.secretName;
    const client = manifests.find(m => m.kind === 'Certificate' && m.spec.secretName === mounted);
    expect(client.metadata.namespace).toBe('apps');
    expect(client.spec.issuerRef).toEqual({ name: 'frp-ca-frp', kind: 'ClusterIssuer', group: 'cert-manager.io' });
    // rendered in the pool's chart (the file of its namespace), not in the authority's
    expect(apps.toJson().filter((m: any) => m.kind === 'Certificate').map((m: any) => m.spec.secretName)).toEqual([mounted]);
    expect(frp.toJson().filter((m: any) => m.kind === 'Certificate' && m.metadata.namespace === 'apps')).toEqual([]);
    expect(toml(manifests, 'frpc.toml', 'apps').transport.tls).toMatchObject({ certFile: '/etc/frp/tls/tls.crt', trustedCaFile: '/etc/frp/tls/ca.crt', serverName: server.host });
    // frps' own certificate stays next to frps
    const serverCert = manifests.find(m => m.kind === 'Certificate' && m.spec.usages?.includes('server auth'));
    expect(serverCert.metadata.namespace).toBe('frp');
  });

  test('two cluster-wide CAs of two frps namespaces, both without a name: no cluster-wide name shared', () => {
    const app = Testing.app();
    const names = ['team-a', 'team-b'].map(ns => {
      const chart = new Chart(app, ns, { namespace: ns });
      new FrpServer(chart, 'frps', { auth: auth(chart), certificateAuthority: new CertificateAuthority(chart, 'ca', { clusterWide: true }) });
      const objects = chart.toJson().filter((m: any) => m.kind === 'ClusterIssuer' || m.metadata.namespace === 'cert-manager');
      return objects.map((m: any) => `${m.kind} ${m.metadata.namespace ?? ''}/${m.metadata.name}`).sort();
    });
    expect(names[0]).toEqual(['Certificate cert-manager/frp-ca-team-a-root', 'ClusterIssuer /frp-ca-team-a', 'Issuer cert-manager/frp-ca-team-a-selfsign']);
    expect(names[1]).toEqual(['Certificate cert-manager/frp-ca-team-b-root', 'ClusterIssuer /frp-ca-team-b', 'Issuer cert-manager/frp-ca-team-b-selfsign']);
    // a chart without a namespace has no default: the name is required
    expect(() => new CertificateAuthority(Testing.chart(), 'ca', { clusterWide: true })).toThrow(/test\/ca: name: is required with clusterWide in a chart without a namespace/);
    expect(new CertificateAuthority(Testing.chart(), 'ca', { clusterWide: true, name: 'corp-ca' }).issuer.name).toBe('corp-ca');
  });

  test('clusterResourceNamespace moves the CA', () => {
    const { frp } = twoNamespaces({ clusterWide: true, clusterResourceNamespace: 'certs' });
    const root = frp.toJson().find((m: any) => m.kind === 'Certificate' && m.spec.isCA);
    expect(root.metadata.namespace).toBe('certs');
  });

  test('a namespaced CA refuses a pool in another namespace, saying what to use', () => {
    const { apps, server } = twoNamespaces({});
    expect(() => new FrpClientPool(apps, 'frpc', { server, proxies: [pg] })).toThrow(
      'frp/ca/apps-frpc: namespace: a certificate for namespace apps cannot come from the Issuer frp-ca of namespace frp: cert-manager\'s namespaced Issuers sign only in their own namespace. Use a ClusterIssuer: new CertificateAuthority(..., { clusterWide: true })');
  });

  test('an external ClusterIssuer issues in the pool\'s namespace', () => {
    const app = Testing.app();
    const frp = new Chart(app, 'frp', { namespace: 'frp' });
    const apps = new Chart(app, 'apps', { namespace: 'apps' });
    const ca = CertificateAuthority.fromIssuer(frp, 'ca', { name: 'corp', kind: IssuerKind.CLUSTER_ISSUER });
    const server = new FrpServer(frp, 'frps', { auth: auth(frp), certificateAuthority: ca });
    new FrpClientPool(apps, 'frpc', { server, proxies: [pg] });
    const client = [...frp.toJson(), ...apps.toJson()].find((m: any) => m.kind === 'Certificate' && m.spec.usages.includes('client auth'));
    expect(client.metadata.namespace).toBe('apps');
    expect(client.spec.issuerRef).toEqual({ name: 'corp', kind: 'ClusterIssuer', group: 'cert-manager.io' });
  });

  test('a DistributedService with auto mTLS in another namespace than the shared frps', () => {
    const { frp, apps, server } = twoNamespaces({ clusterWide: true });
    new DistributedService(apps, 'db', {
      server,
      serviceType: ServiceProtocol.TCP,
      backends: { endpoints: [{ host: 'db', port: 5432 }] },
      expose: { type: ExposeType.PORT, port: 5432 },
      security: { mtls: { enabled: true, mode: MtlsMode.AUTO } },
    });
    const manifests = [...frp.toJson(), ...apps.toJson()];
    expectValidBundle(manifests);
    const frpc = manifests.find(m => m.kind === 'Deployment' && m.metadata.namespace === 'apps');
    const secret = frpc.spec.template.spec.volumes.find((v: any) => v.name === 'tls').secret.secretName;
    expect(manifests.find(m => m.kind === 'Certificate' && m.spec.secretName === secret).metadata.namespace).toBe('apps');
  });
});

describe('client certificates from several CAs (additionalClientCas)', () => {
  test('an init container joins frps\' own CA and the extra CAs into one PEM bundle, on every replica; frps trusts the bundle', () => {
    const chart = Testing.chart();
    const corp = kplus.Secret.fromSecretName(chart, 'corp', 'corp-ca');
    const server = new FrpServer(chart, 'frps', {
      auth: auth(chart),
      certificateAuthority: new CertificateAuthority(chart, 'ca'),
      additionalClientCas: [{ secret: corp, key: 'tls.crt' }],
      replicas: 2,
    });
    new FrpClientPool(chart, 'frpc', { server, proxies: [pg] });
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    expect(toml(manifests, 'frps.toml').transport.tls.trustedCaFile).toBe('/etc/frp/client-ca/ca.crt');
    const frps = manifests.filter(m => m.kind === 'Deployment' && m.metadata.labels['app.kubernetes.io/name'] === 'frps');
    expect(frps).toHaveLength(2);
    for (const d of frps) {
      const pod = d.spec.template.spec;
      const [init] = pod.initContainers;
      expect(init.name).toBe('client-ca-bundle');
      expect(init.image).toBe('fatedier/frps:v0.70.1');
      expect(init.command.slice(0, 2)).toEqual(['sh', '-c']);
      expect(init.command[2]).toMatch(/^set -e; for f in \/etc\/frp\/tls\/ca.crt \/etc\/frp\/client-cas\/0\/ca.crt; do .*; done > \/etc\/frp\/client-ca\/ca.crt$/);
      expect(init.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
      // only the CA certificate of the CA Secret, never its key
      expect(pod.volumes).toContainEqual({ name: 'client-ca-0', secret: { secretName: 'corp-ca', items: [{ key: 'tls.crt', path: 'ca.crt' }] } });
      expect(pod.volumes).toContainEqual(expect.objectContaining({ name: 'client-ca', emptyDir: expect.anything() }));
      expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'client-ca', mountPath: '/etc/frp/client-ca', readOnly: true });
      // Reloader rolls frps when an extra CA changes
      expect(d.metadata.annotations['secret.reloader.stakater.com/reload'].split(',')).toContain('corp-ca');
    }
  });

  describe('the init container\'s script, run by a real sh against files', () => {
    const chart = Testing.chart();
    new FrpServer(chart, 'frps', {
      auth: auth(chart),
      certificateAuthority: new CertificateAuthority(chart, 'ca'),
      additionalClientCas: [{ secret: kplus.Secret.fromSecretName(chart, 'a', 'corp-a') }, { secret: kplus.Secret.fromSecretName(chart, 'b', 'corp-b') }],
    });
    const init = Testing.synth(chart).find(m => m.kind === 'Deployment').spec.template.spec.initContainers[0];
    const [shell, flag, script] = init.command as string[];
    const pem = (n: string) => `-----BEGIN CERTIFICATE-----\n${n}\n-----END CERTIFICATE-----`;
    /** The script with /etc/frp/ moved to a temp dir holding `files` (path -> content, undefined: absent). */
    const runScript = (files: Record<string, string | undefined>) => {
      const root = mkdtempSync(join(tmpdir(), 'cdk8s-frp-ca-bundle-'));
      try {
        mkdirSync(join(root, 'client-ca'));
        for (const [path, content] of Object.entries(files)) {
          mkdirSync(dirname(join(root, path)), { recursive: true });
          if (content !== undefined) writeFileSync(join(root, path), content);
        }
        const r = spawnSync(shell, [flag, script.split('/etc/frp/').join(`${root}/`)], { encoding: 'utf8', timeout: 10_000 });
        const out = existsSync(join(root, 'client-ca', 'ca.crt')) ? readFileSync(join(root, 'client-ca', 'ca.crt'), 'utf8') : undefined;
        return { status: r.status, stderr: r.stderr.split(`${root}/`).join('/etc/frp/'), out };
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    };
    const all = { 'tls/ca.crt': pem('own'), 'client-cas/0/ca.crt': pem('a'), 'client-cas/1/ca.crt': `${pem('b')}\n` };

    test('every file present and non-empty: exit 0, one certificate after the other on lines of their own', () => {
      const r = runScript(all);
      expect(r).toMatchObject({ status: 0, stderr: '' });
      expect(r.out).toBe(`${pem('own')}\n${pem('a')}\n${pem('b')}\n\n`);
    });

    test.each([
      ['missing', undefined],
      ['empty', ''],
    ])('a file %s: non-zero exit, the message names the file', (_name, content) => {
      const r = runScript({ ...all, 'client-cas/1/ca.crt': content });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('client-ca-bundle: /etc/frp/client-cas/1/ca.crt is missing or empty');
    });
  });

  test.each([
    ['without client certificates', (c: Chart) => new FrpServer(c, 'frps', { auth: auth(c), additionalClientCas: [{ secret: kplus.Secret.fromSecretName(c, 's', 'corp-ca') }] }),
      'test/frps: additionalClientCas: needs requireClientCertificates (frps checks client certificates only then)'],
    ['with tls Secrets', (c: Chart) => new FrpServer(c, 'frps', {
      auth: auth(c), tls: { secret: kplus.Secret.fromSecretName(c, 't', 'frps-tls') }, additionalClientCas: [{ secret: kplus.Secret.fromSecretName(c, 's', 'corp-ca') }],
    }), 'test/frps: additionalClientCas: is for certificateAuthority; with tls give the client CA as tls.caSecret'],
    ['a key that is no Secret key', (c: Chart) => new FrpServer(c, 'frps', {
      auth: auth(c), certificateAuthority: new CertificateAuthority(c, 'ca'), additionalClientCas: [{ secret: kplus.Secret.fromSecretName(c, 's', 'corp-ca'), key: 'a/b' }],
    }), 'test/frps: additionalClientCas[0].key: must be a Secret key ([-._a-zA-Z0-9]+), got "a/b"'],
  ])('refused %s', (_name, build, message) => {
    expect(() => build(Testing.chart())).toThrow(message);
  });
});

describe('manual mTLS on a shared server', () => {
  test('serverCertSecret is not used there (the shared frps serves its own certificate): a warning says so, and nothing renders it', () => {
    const chart = Testing.chart();
    const server = new FrpServer(chart, 'frps', { auth: auth(chart), certificateAuthority: new CertificateAuthority(chart, 'ca') });
    const svc = new DistributedService(chart, 'db', {
      server,
      serviceType: ServiceProtocol.TCP,
      backends: { endpoints: [{ host: 'db', port: 5432 }] },
      expose: { type: ExposeType.PORT, port: 5432 },
      security: { mtls: { enabled: true, mode: MtlsMode.MANUAL, caSecret: 'team-ca', certSecret: 'db-cert', serverCertSecret: 'my-frps-cert' } },
    });
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    expect(JSON.stringify(manifests)).not.toContain('my-frps-cert');
    expect(SynthWarnings.of(svc)).toEqual([expect.stringContaining(
      'spec.security.mtls.serverCertSecret: not used: frps is shared (default/frps) and serves its own certificate; frps trusts ca.crt of caSecret team-ca')]);
  });
});
