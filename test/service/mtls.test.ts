import { Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { CertificateAuthority, DistributedService, ServiceProtocol, ExposeType, FrpServer, MtlsMode } from '../../lib';
import { expectValidBundle } from '../helpers';
import { chartWithToken, tomlOf } from './fixtures';

const spec = (mtls: any) => ({
  serviceType: ServiceProtocol.GRPC,
  backends: { endpoints: [{ host: 'user-service-1.internal', port: 9090 }] },
  expose: { type: ExposeType.PORT, port: 9090 },
  security: { mtls },
});
const kinds = (m: any[], kind: string) => m.filter(x => x.kind === kind);

describe('DistributedService mTLS', () => {
  test('auto: a cert-manager CA issues the frps server and frpc client certificates; both sides verify each other', () => {
    const { chart, auth } = chartWithToken();
    new DistributedService(chart, 'user-service', { auth, ...spec({ enabled: true, mode: MtlsMode.AUTO, certRotation: { beforeExpiry: '10d' } }) });
    const manifests = Testing.synth(chart);
    expect(manifests).toMatchSnapshot();
    expectValidBundle(manifests);

    const certs = kinds(manifests, 'Certificate');
    const ca = certs.find(c => c.spec.isCA);
    const server = certs.find(c => c.spec.usages?.includes('server auth'));
    const client = certs.find(c => c.spec.usages?.includes('client auth'));
    const caIssuer = kinds(manifests, 'Issuer').find(i => i.spec.ca);
    expect(caIssuer.spec.ca.secretName).toBe(ca.spec.secretName);
    expect(server.spec.issuerRef.name).toBe(caIssuer.metadata.name);
    expect(client.spec.issuerRef.name).toBe(caIssuer.metadata.name);
    expect(server.spec.renewBefore).toBe('240h'); // certRotation.beforeExpiry 10d

    const frps = tomlOf(manifests, 'frps.toml');
    expect(frps.transport.tls).toEqual({ force: true, certFile: '/etc/frp/tls/tls.crt', keyFile: '/etc/frp/tls/tls.key', trustedCaFile: '/etc/frp/tls/ca.crt' });
    const frpc = tomlOf(manifests, 'frpc.toml');
    expect(frpc.transport.tls).toMatchObject({ enable: true, certFile: '/etc/frp/tls/tls.crt', keyFile: '/etc/frp/tls/tls.key', trustedCaFile: '/etc/frp/tls/ca.crt' });
    // frpc verifies the name it dials, and the server certificate carries it
    expect(server.spec.dnsNames).toContain(frpc.transport.tls.serverName);
    expect(frpc.serverAddr).toBe(frpc.transport.tls.serverName);

    // each side mounts its issued Secret and rolls when it is renewed
    const deployments = kinds(manifests, 'Deployment');
    const mounts = (name: string) => deployments.find(d => d.metadata.labels['app.kubernetes.io/name'] === name).spec.template.spec;
    expect(mounts('frps').volumes).toContainEqual({ name: 'tls', secret: { secretName: server.spec.secretName } });
    expect(mounts('frpc').volumes).toContainEqual({ name: 'tls', secret: { secretName: client.spec.secretName } });
    const frpsDeployment = deployments.find(d => d.metadata.labels['app.kubernetes.io/name'] === 'frps');
    expect(frpsDeployment.metadata.annotations['secret.reloader.stakater.com/reload']).toBe(server.spec.secretName);
    // Argo CD order: CA before leaf certificates before workloads
    const wave = (o: any) => Number(o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
    expect(wave(ca)).toBeLessThan(wave(caIssuer));
    expect(wave(caIssuer)).toBeLessThan(wave(server));
    expect(wave(server)).toBeLessThan(wave(frpsDeployment));
  });

  test('manual: the named Secrets are mounted, nothing is issued', () => {
    const { chart, auth } = chartWithToken();
    new DistributedService(chart, 'user-service', { auth, ...spec({ enabled: true, mode: MtlsMode.MANUAL, caSecret: 'internal-ca', certSecret: 'user-service-cert', serverCertSecret: 'frps-cert' }) });
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    expect(kinds(manifests, 'Certificate')).toHaveLength(0);
    const frpc = tomlOf(manifests, 'frpc.toml');
    expect(frpc.transport.tls).toMatchObject({ certFile: '/etc/frp/tls/tls.crt', trustedCaFile: '/etc/frp/tls-ca/ca.crt' });
    const pod = (name: string) => kinds(manifests, 'Deployment').find(d => d.metadata.labels['app.kubernetes.io/name'] === name).spec.template.spec;
    // only the CA certificate of the CA Secret is mounted, never its private key (issue 9, defect 3)
    const caOnly = { name: 'tls-ca', secret: { secretName: 'internal-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }] } };
    expect(pod('frpc').volumes).toEqual(expect.arrayContaining([{ name: 'tls', secret: { secretName: 'user-service-cert' } }, caOnly]));
    expect(pod('frps').volumes).toEqual(expect.arrayContaining([{ name: 'tls', secret: { secretName: 'frps-cert' } }, caOnly]));
    expect(tomlOf(manifests, 'frps.toml').transport.tls.trustedCaFile).toBe('/etc/frp/tls-ca/ca.crt');
  });

  test('manual without serverCertSecret: frps\' certificate is issued from the user\'s CA Secret; frpc uses the given client certificate', () => {
    const { chart, auth } = chartWithToken();
    new DistributedService(chart, 'user-service', { auth, ...spec({ enabled: true, mode: MtlsMode.MANUAL, caSecret: 'internal-ca', certSecret: 'user-service-cert' }) });
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    const issuer = kinds(manifests, 'Issuer');
    expect(issuer).toHaveLength(1);
    expect(issuer[0].spec).toEqual({ ca: { secretName: 'internal-ca' } });
    const certs = kinds(manifests, 'Certificate');
    expect(certs).toHaveLength(1); // the frps server certificate only
    expect(certs[0].spec.usages).toContain('server auth');
    expect(certs[0].spec.issuerRef).toEqual({ name: issuer[0].metadata.name, kind: 'Issuer', group: 'cert-manager.io' });
    const pod = (name: string) => kinds(manifests, 'Deployment').find(d => d.metadata.labels['app.kubernetes.io/name'] === name).spec.template.spec;
    // the CA Secret feeds cert-manager's CA issuer, so it is a TLS Secret (maybe from
    // `kubectl create secret tls`, without ca.crt): frpc gets its tls.crt, and only that (defect 3)
    expect(pod('frpc').volumes).toEqual(expect.arrayContaining([
      { name: 'tls', secret: { secretName: 'user-service-cert' } }, { name: 'tls-ca', secret: { secretName: 'internal-ca', items: [{ key: 'tls.crt', path: 'ca.crt' }] } },
    ]));
    expect(tomlOf(manifests, 'frpc.toml').transport.tls.trustedCaFile).toBe('/etc/frp/tls-ca/ca.crt');
    expect(tomlOf(manifests, 'frps.toml').transport.tls.trustedCaFile).toBe('/etc/frp/tls/ca.crt');
  });

  test('external: leaf certificates come from the named ClusterIssuer', () => {
    const { chart, auth } = chartWithToken();
    new DistributedService(chart, 'user-service', { auth, ...spec({ enabled: true, mode: MtlsMode.EXTERNAL, issuerName: 'vault' }) });
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    const certs = kinds(manifests, 'Certificate');
    expect(certs).toHaveLength(2);
    expect(certs.map(c => c.spec.issuerRef)).toEqual([
      { name: 'vault', kind: 'ClusterIssuer', group: 'cert-manager.io' }, { name: 'vault', kind: 'ClusterIssuer', group: 'cert-manager.io' },
    ]);
  });

  test('external with only caSecret (issue 12 item 9): cert-manager issues frps\' and frpc\'s certificates from the external CA; both sides trust it', () => {
    const { chart, auth } = chartWithToken();
    new DistributedService(chart, 'user-service', { auth, ...spec({ enabled: true, mode: MtlsMode.EXTERNAL, caSecret: 'corp-ca' }) });
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    const issuer = kinds(manifests, 'Issuer').find(i => i.spec.ca);
    expect(issuer.spec.ca.secretName).toBe('corp-ca');
    const certs = kinds(manifests, 'Certificate');
    expect(certs.map(c => c.spec.usages.find((u: string) => u.endsWith(' auth'))).sort()).toEqual(['client auth', 'server auth']);
    for (const c of certs) expect(c.spec.issuerRef).toEqual({ name: issuer.metadata.name, kind: 'Issuer', group: 'cert-manager.io' });
    expect(tomlOf(manifests, 'frps.toml').transport.tls.trustedCaFile).toBe('/etc/frp/tls/ca.crt');
    expect(tomlOf(manifests, 'frpc.toml').transport.tls).toMatchObject({ certFile: '/etc/frp/tls/tls.crt', trustedCaFile: '/etc/frp/tls/ca.crt' });
    // the CA's private key is never mounted
    const mounted = manifests.filter(m => m.kind === 'Deployment').flatMap(d => d.spec.template.spec.volumes).filter((v: any) => v.secret);
    expect(mounted.map((v: any) => v.secret.secretName)).not.toContain('corp-ca');
  });

  test('external with caSecret and certSecret: frpc presents certSecret and trusts the CA\'s certificate only', () => {
    const { chart, auth } = chartWithToken();
    new DistributedService(chart, 'user-service', { auth, ...spec({ enabled: true, mode: MtlsMode.EXTERNAL, caSecret: 'corp-ca', certSecret: 'frpc-cert' }) });
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    expect(kinds(manifests, 'Certificate').map(c => c.spec.usages.find((u: string) => u.endsWith(' auth')))).toEqual(['server auth']);
    const frpc = manifests.find(m => m.kind === 'Deployment' && m.metadata.name === 'user-service-frpc');
    const volumes = frpc.spec.template.spec.volumes.filter((v: any) => v.secret);
    expect(volumes.map((v: any) => v.secret)).toEqual(expect.arrayContaining([
      expect.objectContaining({ secretName: 'frpc-cert' }),
      { secretName: 'corp-ca', items: [{ key: 'tls.crt', path: 'ca.crt' }] },
    ]));
    expect(tomlOf(manifests, 'frpc.toml').transport.tls).toMatchObject({ certFile: '/etc/frp/tls/tls.crt', trustedCaFile: '/etc/frp/tls-ca/ca.crt' });
  });

  test('a pool on a shared mTLS server is issued a client certificate from the server\'s CA without asking', () => {
    const { chart, auth } = chartWithToken();
    const ca = new CertificateAuthority(chart, 'ca');
    const server = new FrpServer(chart, 'frps', { auth, certificateAuthority: ca });
    new DistributedService(chart, 'a', { server, ...spec(undefined) });
    new DistributedService(chart, 'b', { server, ...spec({ enabled: true }), expose: { type: ExposeType.PORT, port: 9091 } });
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    const clientCerts = kinds(manifests, 'Certificate').filter(c => c.spec.usages?.includes('client auth'));
    expect(clientCerts).toHaveLength(2);
  });

  describe('fails', () => {
    test.each<[string, (c: any, auth: any) => void, string]>([
      ['external without a CA', (c, auth) => new DistributedService(c, 's', { auth, ...spec({ enabled: true, mode: 'external' }) }),
        'test/s: spec.security.mtls.caSecret: external mTLS requires caSecret (the Secret with the external CA\'s tls.crt and tls.key, from which cert-manager issues the certificates)'],
      ['external with caSecret and issuerName', (c, auth) => new DistributedService(c, 's', { auth, ...spec({ enabled: true, mode: 'external', caSecret: 'ca', issuerName: 'vault' }) }),
        'test/s: spec.security.mtls.issuerName: external mTLS takes the CA as caSecret or an issuer as issuerName, not both'],
      ['auto with caSecret', (c, auth) => new DistributedService(c, 's', { auth, ...spec({ enabled: true, mode: 'auto', caSecret: 'ca' }) }),
        'test/s: spec.security.mtls.caSecret: is for mode manual or external, not auto'],
      ['mTLS asked of a shared server without it', (c, auth) => new DistributedService(c, 's', { server: new FrpServer(c, 'frps', { auth }), ...spec({ enabled: true, mode: 'manual', caSecret: 'ca', certSecret: 'c' }) }),
        'test/s: spec.security.mtls.enabled: the shared server test/frps does not require client certificates: configure mTLS on the server (requireClientCertificates, or tls)'],
      ['auto on a shared server whose own CA asks no client certificates', (c, auth) => new DistributedService(c, 's', { server: new FrpServer(c, 'frps', { auth }), ...spec({ enabled: true }) }),
        'test/s: spec.security.mtls.enabled: the shared server test/frps does not require client certificates: configure mTLS on the server (requireClientCertificates, or tls)'],
      ['auto on a shared server without a CA', (c, auth) => new DistributedService(c, 's', { server: new FrpServer(c, 'frps', { auth, insecureSkipVerify: true }), ...spec({ enabled: true }) }),
        'test/s: spec.security.mtls.mode: auto mTLS on the shared server test/frps needs that server to have a certificateAuthority (or use mode manual with its Secrets)'],
      ['a bad beforeExpiry', (c, auth) => new DistributedService(c, 's', { auth, ...spec({ enabled: true, certRotation: { beforeExpiry: '7w' } }) }),
        'test/s: spec.security.mtls.certRotation.beforeExpiry: must match ^[0-9]+(d|h)$, got "7w"'],
      ['a pool without client certificates on an mTLS server', (c, auth) => {
        const server = new FrpServer(c, 'frps', { auth, tls: { secret: kplus.Secret.fromSecretName(c, 'x', 'frps-tls') } });
        new DistributedService(c, 's', { server, ...spec(undefined) });
      }, 'test/s/Client: tls: the server test/frps requires client certificates: give tls (with a client certificate) or certificateAuthority'],
    ])('%s', (_name, build, message) => {
      const { chart, auth } = chartWithToken();
      expect(() => build(chart, auth)).toThrow(message);
    });
  });
});
