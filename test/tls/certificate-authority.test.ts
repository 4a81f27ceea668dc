import { ApiObject, Chart, Duration, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { FrpAuth, FrpClientPool, FrpProxyType, FrpServer } from '../../lib';
import { IssuerKind, MtlsMode } from '../../lib/spec';
import {
  CertificateAuthority, CertificateDuration, CertificateKeyAlgorithm, CertificateRotation, CertificateUsage,
  ICertificateAuthority, RELOADER_SECRET_ANNOTATION, TlsSyncWave,
} from '../../lib/tls';
import { expectDeterministic, expectValidBundle, parseFrpToml } from '../helpers';

const WAVE = TlsSyncWave.ANNOTATION;
const byKind = (manifests: any[], kind: string) => manifests.filter(m => m.kind === kind);
const named = (manifests: any[], kind: string, name: string) => manifests.find(m => m.kind === kind && m.metadata.name === name);
const wave = (obj: any): number => Number(obj.metadata.annotations[WAVE]);
const nsChart = () => new Chart(Testing.app(), 'test', { namespace: 'tunnels' });
const token = (scope: Construct) => FrpAuth.token(kplus.Secret.fromSecretName(scope, 't', 'frp-token'));

/** Certificates by their component label. */
function certs(manifests: any[], component: string): any[] {
  return byKind(manifests, 'Certificate').filter(c => c.metadata.labels['app.kubernetes.io/component'] === component);
}

describe('CertificateDuration', () => {
  test('converts the spec form to a Go duration (days become hours)', () => {
    expect(CertificateDuration.specToGoDuration('7d')).toBe('168h');
    expect(CertificateDuration.specToGoDuration('90d')).toBe('2160h');
    expect(CertificateDuration.specToGoDuration('36h')).toBe('36h');
    expect(CertificateDuration.parseSpec('7d').toHours()).toBe(168);
  });

  test('renders a cdk8s Duration in its largest whole unit', () => {
    expect(CertificateDuration.toGoDuration(Duration.days(90))).toBe('2160h');
    expect(CertificateDuration.toGoDuration(Duration.minutes(90))).toBe('90m');
    expect(CertificateDuration.toGoDuration(Duration.seconds(90))).toBe('90s');
  });

  test.each([
    ['7', 'certRotation.beforeExpiry: must match ^[0-9]+(d|h)$ (for example "7d" or "168h"), got "7"'],
    ['7w', 'certRotation.beforeExpiry: must match ^[0-9]+(d|h)$ (for example "7d" or "168h"), got "7w"'],
    ['-1d', 'certRotation.beforeExpiry: must match ^[0-9]+(d|h)$ (for example "7d" or "168h"), got "-1d"'],
    [' 7d', 'certRotation.beforeExpiry: must match ^[0-9]+(d|h)$ (for example "7d" or "168h"), got " 7d"'],
    ['', 'certRotation.beforeExpiry: must match ^[0-9]+(d|h)$ (for example "7d" or "168h"), got ""'],
    ['0d', 'certRotation.beforeExpiry: must be greater than zero, got "0d"'],
  ])('fails on %j', (value, message) => {
    expect(() => CertificateDuration.specToGoDuration(value)).toThrow(message);
  });

  test('fails naming the field it is given, and on sub-second durations', () => {
    expect(() => CertificateDuration.parseSpec('1m', 'spec.security.mtls.certRotation.beforeExpiry'))
      .toThrow('spec.security.mtls.certRotation.beforeExpiry: must match ^[0-9]+(d|h)$ (for example "7d" or "168h"), got "1m"');
    expect(() => CertificateDuration.toGoDuration(Duration.millis(1500))).toThrow('duration: must be a whole number of seconds, got 1 second 500 millis');
  });
});

describe('auto: new CertificateAuthority', () => {
  function build(): { chart: Chart; ca: CertificateAuthority } {
    const chart = nsChart();
    const ca = new CertificateAuthority(chart, 'ca', { renewBefore: CertificateDuration.parseSpec('7d') });
    ca.issueServerCertificate('frps', { dnsNames: ['frps.example.com'] });
    ca.issueClientCertificate('frpc');
    return { chart, ca };
  }

  test('bootstraps self-signed issuer → CA certificate → CA issuer → leaf certificates', () => {
    // GIVEN / WHEN
    const { chart, ca } = build();
    const manifests = Testing.synth(chart);

    // THEN
    expect(manifests).toMatchSnapshot();
    expectValidBundle(manifests);
    expect(ca.mode).toBe(MtlsMode.AUTO);
    expect(byKind(manifests, 'Issuer')).toHaveLength(2);
    expect(byKind(manifests, 'Certificate')).toHaveLength(3);

    // the self-signed issuer signs the CA certificate
    const selfSigned = byKind(manifests, 'Issuer').find(i => i.spec.selfSigned)!;
    expect(selfSigned.spec).toEqual({ selfSigned: {} });
    const [caCert] = certs(manifests, 'certificate-authority');
    expect(caCert.spec.isCA).toBe(true);
    expect(caCert.spec.issuerRef).toEqual({ name: selfSigned.metadata.name, kind: 'Issuer', group: 'cert-manager.io' });
    expect(caCert.spec.duration).toBe('87600h');
    expect(caCert.spec.renewBefore).toBe('8760h');
    expect(caCert.spec.privateKey).toEqual({ algorithm: 'ECDSA', size: 256, rotationPolicy: 'Never' });

    // the CA issuer signs with the CA certificate's Secret
    const caIssuer = byKind(manifests, 'Issuer').find(i => i.spec.ca)!;
    expect(caIssuer.spec.ca.secretName).toBe(caCert.spec.secretName);
    expect(caCert.spec.secretName).toBe(ca.caSecretName);

    // leaves come from the CA issuer
    const [server] = certs(manifests, 'server-certificate');
    const [client] = certs(manifests, 'client-certificate');
    for (const leaf of [server, client]) {
      expect(leaf.spec.issuerRef).toEqual({ name: caIssuer.metadata.name, kind: 'Issuer', group: 'cert-manager.io' });
      expect(leaf.spec.isCA).toBeUndefined();
      expect(leaf.spec.duration).toBe('2160h');
      expect(leaf.spec.renewBefore).toBe('168h'); // the spec's "7d"
      expect(leaf.spec.privateKey).toEqual({ algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' });
      expect(leaf.metadata.namespace).toBe('tunnels');
    }
    expect(server.spec.usages).toEqual(['digital signature', 'server auth']);
    expect(server.spec.dnsNames).toEqual(['frps.example.com']);
    expect(client.spec.usages).toEqual(['digital signature', 'client auth']);
    expect(client.spec.commonName).toMatch(/^test-ca-frpc-[0-9a-f]{8}$/);
    expect(client.spec.dnsNames).toBeUndefined();
  });

  test('sync waves order issuer and CA certificate < CA issuer < leaf certificates < workloads', () => {
    const manifests = Testing.synth(build().chart);
    const selfSigned = byKind(manifests, 'Issuer').find(i => i.spec.selfSigned)!;
    const caIssuer = byKind(manifests, 'Issuer').find(i => i.spec.ca)!;
    const [caCert] = certs(manifests, 'certificate-authority');
    const leaves = [...certs(manifests, 'server-certificate'), ...certs(manifests, 'client-certificate')];

    expect(wave(selfSigned)).toBe(TlsSyncWave.ROOT);
    expect(wave(caCert)).toBe(TlsSyncWave.ROOT);
    expect(wave(caIssuer)).toBe(TlsSyncWave.CA_ISSUER);
    expect(wave(selfSigned)).toBeLessThan(wave(caIssuer));
    expect(wave(caCert)).toBeLessThan(wave(caIssuer));
    for (const leaf of leaves) {
      expect(wave(leaf)).toBe(TlsSyncWave.LEAF_CERTIFICATE);
      expect(wave(caIssuer)).toBeLessThan(wave(leaf));
      expect(wave(leaf)).toBeLessThan(TlsSyncWave.WORKLOAD);
    }
    // the annotation value is a string, as Kubernetes requires
    expect(caIssuer.metadata.annotations[WAVE]).toBe('-2');
  });

  test('names are deterministic DNS labels of at most 63 characters', () => {
    const yaml = expectDeterministic(() => build().chart);
    expect(yaml).toContain('kind: Certificate');
    const chart = new Chart(Testing.app(), 'a-rather-long-chart-name-for-tunnels', { namespace: 'tunnels' });
    const deep = new Construct(new Construct(chart, 'a-deeply-nested-scope'), 'another-level-of-nesting');
    const ca = new CertificateAuthority(deep, 'certificate-authority-with-a-long-id');
    const leaf = ca.issueClientCertificate('client-certificate-with-a-long-id-too');
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    for (const obj of manifests) {
      expect(obj.metadata.name.length).toBeLessThanOrEqual(63);
      expect(obj.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      if (obj.kind === 'Certificate') expect(obj.spec.secretName.length).toBeLessThanOrEqual(63);
    }
    expect(leaf.commonName!.length).toBeLessThanOrEqual(64);
  });

  test('escape hatch: the CA Issuer and each Certificate are the default children', () => {
    const { ca } = build();
    const chart = Chart.of(ca);
    const server = ca.issueServerCertificate('other', { dnsNames: ['x.example.com'] });
    expect(ApiObject.of(ca)).toBe(ca.issuer);
    expect(ApiObject.of(server)).toBe(server.certificate);
    expect(Testing.synth(chart).map(m => m.kind)).toEqual(['Issuer', 'Certificate', 'Issuer', 'Certificate', 'Certificate', 'Certificate']);
  });

  test('RSA keys: size 2048 and key encipherment; Ed25519: no size', () => {
    const chart = nsChart();
    const rsa = new CertificateAuthority(chart, 'rsa', { name: 'rsa', keyAlgorithm: CertificateKeyAlgorithm.RSA });
    rsa.issueClientCertificate('frpc');
    const ed = new CertificateAuthority(chart, 'ed', { name: 'ed', keyAlgorithm: CertificateKeyAlgorithm.ED25519 });
    ed.issueClientCertificate('frpc');
    const ecdsa384 = new CertificateAuthority(chart, 'p384', { keySize: 384 });
    ecdsa384.issueClientCertificate('frpc');
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    const leafOf = (ca: CertificateAuthority) => named(manifests, 'Certificate', (ca.node.findChild('frpc').node.defaultChild as ApiObject).name);
    expect(leafOf(rsa).spec.privateKey).toEqual({ algorithm: 'RSA', size: 2048, rotationPolicy: 'Always' });
    expect(leafOf(rsa).spec.usages).toEqual(['digital signature', 'key encipherment', 'client auth']);
    expect(leafOf(ed).spec.privateKey).toEqual({ algorithm: 'Ed25519', rotationPolicy: 'Always' });
    expect(leafOf(ecdsa384).spec.privateKey.size).toBe(384);
    expect(named(manifests, 'Certificate', (rsa.caCertificate).name).spec.privateKey).toEqual({ algorithm: 'RSA', size: 2048, rotationPolicy: 'Never' });
  });

  test('per-certificate lifetime overrides the authority defaults', () => {
    const chart = nsChart();
    const ca = new CertificateAuthority(chart, 'ca');
    const cert = ca.issueClientCertificate('frpc', { duration: Duration.days(30), renewBefore: Duration.hours(36), commonName: 'frpc-gpu-box' });
    const spec = (Testing.synth(chart).find(m => m.metadata.name === cert.certificate!.name)).spec;
    expect(spec.duration).toBe('720h');
    expect(spec.renewBefore).toBe('36h');
    expect(spec.commonName).toBe('frpc-gpu-box');
    expect(cert.commonName).toBe('frpc-gpu-box');
  });

  test('server names: <svc>, <svc>.<ns>, <svc>.<ns>.svc, <svc>.<ns>.svc.cluster.local, then extra names and IPs', () => {
    // GIVEN
    const chart = nsChart();
    const ca = new CertificateAuthority(chart, 'ca');
    const cert = ca.issueServerCertificate('frps', { dnsNames: ['frps.example.com'], ipAddresses: ['203.0.113.10', '2001:db8::1'], clusterDomain: 'corp.internal' });
    const server = new FrpServer(chart, 'frps', { auth: token(chart), tls: { secret: cert.secret } });

    // WHEN
    cert.addServer(server);
    cert.addServer(server); // idempotent
    const manifests = Testing.synth(chart);

    // THEN
    const svc = server.service.name;
    const spec = named(manifests, 'Certificate', cert.certificate!.name).spec;
    expect(spec.dnsNames).toEqual(['frps.example.com', svc, `${svc}.tunnels`, `${svc}.tunnels.svc`, `${svc}.tunnels.svc.corp.internal`]);
    expect(spec.ipAddresses).toEqual(['203.0.113.10', '2001:db8::1']);
    expect(spec.dnsNames).toContain(server.host);
    expect(cert.dnsNames).toEqual(spec.dnsNames);
    expectValidBundle(manifests);
  });

  test('server given in the options; without a namespace only <svc>', () => {
    const chart = Testing.chart();
    const ca = new CertificateAuthority(chart, 'ca');
    const server = new FrpServer(chart, 'frps', { auth: token(chart) });
    const cert = ca.issueServerCertificate('frps', { server });
    expect(cert.dnsNames).toEqual([server.service.name]);
    expect(server.host).toBe(server.service.name);
  });

  test('an IFrpServer that is not an FrpServer contributes its host', () => {
    const chart = nsChart();
    const ca = new CertificateAuthority(chart, 'ca');
    const remote = new FrpServer(new Chart(Testing.app(), 'other', { namespace: 'edge' }), 'frps', { auth: token(chart) });
    const fake = { host: 'frps.edge.example.com', bindPort: 7000, auth: remote.auth, node: remote.node, registerProxy: () => {}, requirePoolCount: () => {} };
    const cert = ca.issueServerCertificate('frps', { server: fake as any });
    expect(cert.dnsNames).toEqual(['frps.edge.example.com']);
  });
});

describe('external: CertificateAuthority.fromIssuer', () => {
  test('renders only the leaf certificates, from the named ClusterIssuer', () => {
    // GIVEN
    const chart = nsChart();
    const ca = CertificateAuthority.fromIssuer(chart, 'ca', { name: 'frp-ca-issuer', kind: IssuerKind.CLUSTER_ISSUER, renewBefore: CertificateDuration.parseSpec('7d') });

    // WHEN
    const server = ca.issueServerCertificate('frps', { dnsNames: ['frps.tunnels.svc'] });
    const client = ca.issueClientCertificate('frpc');
    const manifests = Testing.synth(chart);

    // THEN
    expect(manifests).toMatchSnapshot();
    expectValidBundle(manifests);
    expect(ca.mode).toBe(MtlsMode.EXTERNAL);
    expect(byKind(manifests, 'Issuer')).toHaveLength(0);
    expect(byKind(manifests, 'ClusterIssuer')).toHaveLength(0);
    expect(manifests.map(m => m.kind)).toEqual(['Certificate', 'Certificate']);
    const s = named(manifests, 'Certificate', server.certificate!.name);
    const c = named(manifests, 'Certificate', client.certificate!.name);
    for (const leaf of [s, c]) {
      expect(leaf.spec.issuerRef).toEqual({ name: 'frp-ca-issuer', kind: 'ClusterIssuer', group: 'cert-manager.io' });
      expect(leaf.spec.renewBefore).toBe('168h');
      expect(wave(leaf)).toBe(TlsSyncWave.LEAF_CERTIFICATE);
    }
    expect(s.spec.usages).toContain('server auth');
    expect(c.spec.usages).toContain('client auth');
    // the CA bundle is the ca.crt key of the leaf's own Secret
    expect(server.caSecret).toBe(server.secret);
    expect(server.secret.name).toBe(s.spec.secretName);
  });

  test('a namespaced Issuer', () => {
    const chart = nsChart();
    const ca = CertificateAuthority.fromIssuer(chart, 'ca', { name: 'vault-issuer', kind: IssuerKind.ISSUER, keyAlgorithm: CertificateKeyAlgorithm.RSA, keySize: 4096 });
    const cert = ca.issueClientCertificate('frpc');
    const spec = named(Testing.synth(chart), 'Certificate', cert.certificate!.name).spec;
    expect(spec.issuerRef).toEqual({ name: 'vault-issuer', kind: 'Issuer', group: 'cert-manager.io' });
    expect(spec.privateKey).toEqual({ algorithm: 'RSA', size: 4096, rotationPolicy: 'Always' });
  });

  test('fails without a valid issuer name or kind', () => {
    const chart = nsChart();
    expect(() => CertificateAuthority.fromIssuer(chart, 'a', { name: 'Frp_CA', kind: IssuerKind.ISSUER }))
      .toThrow('test/a: name: must be a Kubernetes object name (lowercase RFC 1123 subdomain, at most 253 characters), got "Frp_CA"');
    expect(() => CertificateAuthority.fromIssuer(chart, 'b', { name: 'frp-ca' } as any))
      .toThrow('test/b: kind: is required: IssuerKind.ISSUER or IssuerKind.CLUSTER_ISSUER');
    expect(() => CertificateAuthority.fromIssuer(chart, 'c', { name: 'frp-ca', kind: 'AWSPCAIssuer' as IssuerKind }))
      .toThrow('test/c: kind: must be one of "Issuer", "ClusterIssuer", got "AWSPCAIssuer"');
  });
});

describe('manual: CertificateAuthority.fromSecrets', () => {
  function build() {
    const chart = nsChart();
    const caSecret = kplus.Secret.fromSecretName(chart, 'ca-secret', 'internal-ca');
    const serverCertSecret = kplus.Secret.fromSecretName(chart, 'server-secret', 'frps-cert');
    const clientCertSecret = kplus.Secret.fromSecretName(chart, 'client-secret', 'user-service-cert');
    const ca = CertificateAuthority.fromSecrets(chart, 'ca', { caSecret, serverCertSecret, clientCertSecret });
    return { chart, ca, caSecret, serverCertSecret, clientCertSecret };
  }

  test('renders nothing and hands back the given Secrets', () => {
    // GIVEN
    const { chart, ca, caSecret, serverCertSecret, clientCertSecret } = build();

    // WHEN
    const server = ca.issueServerCertificate('frps');
    const client = ca.issueClientCertificate('frpc');
    const manifests = Testing.synth(chart);

    // THEN
    expect(manifests).toMatchSnapshot();
    expect(manifests).toEqual([]);
    expect(ca.mode).toBe(MtlsMode.MANUAL);
    expect(server.secret).toBe(serverCertSecret);
    expect(server.caSecret).toBe(caSecret);
    expect(server.usage).toBe(CertificateUsage.SERVER);
    expect(server.certificate).toBeUndefined();
    expect(client.secret).toBe(clientCertSecret);
    expect(client.caSecret).toBe(caSecret);
    expect(client.usage).toBe(CertificateUsage.CLIENT);
    expect(client.certificate).toBeUndefined();
    expect(client.commonName).toBeUndefined();
    expect(ca.rotationAnnotations([server.secret, client.secret, caSecret]))
      .toEqual({ [RELOADER_SECRET_ANNOTATION]: 'frps-cert,internal-ca,user-service-cert' });
  });

  test('fails when the needed Secret was not given', () => {
    const chart = nsChart();
    const caSecret = kplus.Secret.fromSecretName(chart, 'ca-secret', 'internal-ca');
    const onlyCa = CertificateAuthority.fromSecrets(chart, 'ca', { caSecret });
    expect(() => onlyCa.issueClientCertificate('frpc'))
      .toThrow('test/ca: clientCertSecret: a client certificate was requested ("frpc") but clientCertSecret was not given to CertificateAuthority.fromSecrets');
    expect(() => onlyCa.issueServerCertificate('frps'))
      .toThrow('test/ca: serverCertSecret: a server certificate was requested ("frps") but serverCertSecret was not given to CertificateAuthority.fromSecrets');
    expect(() => CertificateAuthority.fromSecrets(chart, 'none', {} as any))
      .toThrow('test/none: caSecret: is required: the Secret holding ca.crt, the CA that signed the server and client certificates (manual mTLS needs caSecret)');
  });

  test('fails on lifetime options, which it cannot honour', () => {
    const { ca } = build();
    expect(() => ca.issueClientCertificate('frpc', { renewBefore: Duration.days(7) }))
      .toThrow('test/ca/frpc: renewBefore: has no effect with CertificateAuthority.fromSecrets: the certificates are managed outside this app');
  });
});

describe('rotation', () => {
  test('Reloader annotation lists the Secrets, sorted and de-duplicated; merged on workloads', () => {
    // GIVEN
    const chart = nsChart();
    const ca = new CertificateAuthority(chart, 'ca');
    const a = ca.issueServerCertificate('frps', { dnsNames: ['frps.example.com'] });
    const b = ca.issueClientCertificate('frpc');
    const workload = new kplus.Deployment(chart, 'w', { containers: [{ image: 'busybox:1.36' }] });

    // WHEN
    ca.addRotationAnnotations(workload, [b.secret]);
    ca.addRotationAnnotations(workload, [a.secret, b.secret]);
    ca.addRotationAnnotations(workload, []);
    const manifests = Testing.synth(chart);

    // THEN
    expect(ca.rotation).toBe(CertificateRotation.RELOADER);
    expect(ca.rotationAnnotations([b.secret, a.secret, b.secret]))
      .toEqual({ 'secret.reloader.stakater.com/reload': [a.secret.name, b.secret.name].sort().join(',') });
    expect(ca.rotationAnnotations([])).toEqual({});
    const [deployment] = byKind(manifests, 'Deployment');
    expect(deployment.metadata.annotations).toEqual({ 'secret.reloader.stakater.com/reload': [a.secret.name, b.secret.name].sort().join(',') });
    // Reloader reads the workload's own metadata, not the pod template
    expect(deployment.spec.template.metadata.annotations ?? {}).not.toHaveProperty(RELOADER_SECRET_ANNOTATION);
  });

  test('CertificateRotation.NONE annotates nothing', () => {
    const chart = nsChart();
    const ca = CertificateAuthority.fromIssuer(chart, 'ca', { name: 'frp-ca', kind: IssuerKind.ISSUER, rotation: CertificateRotation.NONE });
    const cert = ca.issueClientCertificate('frpc');
    const workload = new kplus.Deployment(chart, 'w', { containers: [{ image: 'busybox:1.36' }] });
    ca.addRotationAnnotations(workload, [cert.secret]);
    expect(ca.rotationAnnotations([cert.secret])).toEqual({});
    expect(byKind(Testing.synth(chart), 'Deployment')[0].metadata.annotations).toBeUndefined();
  });

  test('fails on a bad rotation or bad Secrets', () => {
    const chart = nsChart();
    expect(() => new CertificateAuthority(chart, 'a', { rotation: 'restart' as CertificateRotation }))
      .toThrow('test/a: rotation: must be one of "Reloader", "None", got "restart"');
    const ca = new CertificateAuthority(chart, 'b');
    expect(() => ca.rotationAnnotations([undefined as any]))
      .toThrow('test/b: secrets[0]: must be a Secret (kplus.ISecret), got undefined');
  });
});

describe('validation', () => {
  const ca = (props = {}) => new CertificateAuthority(nsChart(), 'ca', props);

  test('fails when a server certificate has no name at all (at synth)', () => {
    const c = ca();
    c.issueServerCertificate('frps');
    expect(() => Testing.synth(Chart.of(c)))
      .toThrow('test/ca/frps: dnsNames: must not be empty: a server certificate needs the names frpc dials; give server (an FrpServer), dnsNames or ipAddresses, or call addServer(server) before synth');
  });

  test('an IP address alone is enough for a server certificate', () => {
    const c = ca();
    const cert = c.issueServerCertificate('frps', { ipAddresses: ['10.0.0.7'] });
    const spec = named(Testing.synth(Chart.of(c)), 'Certificate', cert.certificate!.name).spec;
    expect(spec.dnsNames).toBeUndefined();
    expect(spec.ipAddresses).toEqual(['10.0.0.7']);
  });

  test.each([
    [{ dnsNames: ['Frps.Example.com'] }, 'test/ca/frps: dnsNames[0]: must be a lowercase DNS name (RFC 1123 labels of a-z, 0-9 and \'-\', at most 63 characters each, 253 in all; an optional leading "*."), got "Frps.Example.com"'],
    [{ dnsNames: ['ok.example.com', 'frps_1.example.com'] }, 'test/ca/frps: dnsNames[1]: must be a lowercase DNS name (RFC 1123 labels of a-z, 0-9 and \'-\', at most 63 characters each, 253 in all; an optional leading "*."), got "frps_1.example.com"'],
    [{ dnsNames: [''] }, 'test/ca/frps: dnsNames[0]: must be a non-empty DNS name, got ""'],
    [{ dnsNames: ['10.0.0.1'] }, 'test/ca/frps: dnsNames[0]: "10.0.0.1" is an IP address: put it in ipAddresses'],
    [{ dnsNames: [`${'a'.repeat(64)}.example.com`] }, 'test/ca/frps: dnsNames[0]: must be a lowercase DNS name'],
    [{ ipAddresses: ['10.0.0.256'] }, 'test/ca/frps: ipAddresses[0]: must be an IPv4 or IPv6 address, got "10.0.0.256"'],
    [{ clusterDomain: 'Cluster.Local' }, 'test/ca/frps: clusterDomain[0]: must be a lowercase DNS name'],
    [{ commonName: 'x'.repeat(65) }, `test/ca/frps: commonName: must be 1 to 64 characters (the X.509 limit for a common name), got "${'x'.repeat(65)}"`],
    [{ dnsNames: ['x.example.com'], duration: Duration.hours(24) }, 'test/ca/frps: renewBefore: must be shorter than duration (24h), got 168h (the authority\'s default)'],
    [{ dnsNames: ['x.example.com'], duration: Duration.minutes(30), renewBefore: Duration.minutes(10) }, 'test/ca/frps: duration: must be at least 1h (cert-manager\'s minimum), got 30m'],
    [{ dnsNames: ['x.example.com'], renewBefore: Duration.minutes(1) }, 'test/ca/frps: renewBefore: must be at least 5m (cert-manager\'s minimum), got 1m'],
    [{ dnsNames: ['x.example.com'], duration: Duration.days(400) }, 'test/ca/frps: duration: must be shorter than the CA\'s caRenewBefore (8760h), so that every certificate is re-issued with the renewed CA before the old CA certificate expires, got 9600h'],
    [{ dnsNames: ['x.example.com'], duration: Duration.millis(3_600_500) }, 'test/ca/frps: duration: must be a whole number of seconds, got 1 hour 500 millis'],
  ])('fails on server certificate options %#', (options, message) => {
    expect(() => ca().issueServerCertificate('frps', options)).toThrow(message);
  });

  test.each([
    [{ dnsNames: ['frpc.example.com'] }, 'test/ca/frpc: dnsNames: is for server certificates: a client certificate (client auth) carries only a commonName'],
    [{ commonName: '' }, 'test/ca/frpc: commonName: must be 1 to 64 characters (the X.509 limit for a common name), got ""'],
  ])('fails on client certificate options %#', (options, message) => {
    expect(() => ca().issueClientCertificate('frpc', options as any)).toThrow(message);
  });

  test('fails to add a server to a client certificate', () => {
    const chart = nsChart();
    const c = new CertificateAuthority(chart, 'ca');
    const server = new FrpServer(chart, 'frps', { auth: token(chart) });
    expect(() => c.issueClientCertificate('frpc').addServer(server))
      .toThrow('test/ca/frpc: addServer: is for server certificates; this is a client certificate (client auth), frps names belong in the server certificate');
  });

  test.each([
    [{ renewBefore: Duration.hours(2160) }, 'test/ca: renewBefore: must be shorter than duration (2160h), got 2160h'],
    [{ renewBefore: Duration.days(100) }, 'test/ca: renewBefore: must be shorter than duration (2160h), got 2400h'],
    [{ duration: Duration.hours(24), renewBefore: Duration.hours(48) }, 'test/ca: renewBefore: must be shorter than duration (24h), got 48h'],
    [{ caRenewBefore: Duration.hours(87600) }, 'test/ca: caRenewBefore: must be shorter than caDuration (87600h), got 87600h'],
    [{ caRenewBefore: Duration.days(30) }, 'test/ca: duration: must be shorter than the CA\'s caRenewBefore (720h), so that every certificate is re-issued with the renewed CA before the old CA certificate expires, got 2160h'],
    [{ duration: Duration.seconds(0) }, 'test/ca: duration: must be longer than zero, got 0 seconds'],
    [{ keySize: 2048 }, 'test/ca: keySize: must be 256, 384 or 521 for ECDSA keys, got 2048'],
    [{ keyAlgorithm: CertificateKeyAlgorithm.RSA, keySize: 3072 }, 'test/ca: keySize: must be 2048, 4096 or 8192 for RSA keys, got 3072'],
    [{ keyAlgorithm: CertificateKeyAlgorithm.RSA, keySize: 256 }, 'test/ca: keySize: must be 2048, 4096 or 8192 for RSA keys, got 256'],
    [{ keyAlgorithm: CertificateKeyAlgorithm.ED25519, keySize: 256 }, 'test/ca: keySize: must not be set for Ed25519 keys (their size is fixed), got 256'],
    [{ keyAlgorithm: 'DSA' }, 'test/ca: keyAlgorithm: must be one of "ECDSA", "RSA", "Ed25519", got "DSA"'],
    [{ caCommonName: '' }, 'test/ca: caCommonName: must be 1 to 64 characters (the X.509 limit for a common name), got ""'],
  ])('fails on authority props %#', (props, message) => {
    expect(() => ca(props)).toThrow(message);
  });
});

describe('end to end: FrpServer and FrpClientPool with issued certificates', () => {
  function build() {
    const chart = nsChart();
    const ca: ICertificateAuthority = new CertificateAuthority(chart, 'ca', { renewBefore: CertificateDuration.parseSpec('7d') });
    // frps takes its TLS Secret in its constructor: issue first, add the server's names after.
    const serverCert = ca.issueServerCertificate('frps');
    const server = new FrpServer(chart, 'frps', { auth: token(chart), tls: { secret: serverCert.secret } });
    serverCert.addServer(server);
    const clientCert = ca.issueClientCertificate('frpc');
    const serverName = `${server.service.name}.tunnels.svc.cluster.local`;
    const pool = new FrpClientPool(chart, 'frpc', {
      server,
      tls: { secret: clientCert.secret, serverName },
      proxies: [{ name: 'echo', type: FrpProxyType.TCP, localIP: 'echo.tunnels.svc', localPort: 5678, remotePort: 15678, group: 'echo' }],
    });
    ca.addRotationAnnotations(server.deployment, [serverCert.secret]);
    ca.addRotationAnnotations(pool.workload as kplus.Deployment, [clientCert.secret]);
    return { chart, server, pool, serverCert, clientCert, serverName };
  }

  test('mTLS wired through the issued Secrets', () => {
    // GIVEN / WHEN
    const { chart, server, pool, serverCert, clientCert, serverName } = build();
    const manifests = Testing.synth(chart);

    // THEN
    expect(manifests).toMatchSnapshot();
    expectValidBundle(manifests);

    // the server certificate covers what frpc dials and verifies
    const serverSpec = named(manifests, 'Certificate', serverCert.certificate!.name).spec;
    expect(serverSpec.dnsNames).toContain(server.host);
    expect(serverSpec.dnsNames).toContain(serverName);
    expect(serverSpec.usages).toContain('server auth');
    expect(named(manifests, 'Certificate', clientCert.certificate!.name).spec.usages).toContain('client auth');

    // frps: its certificate plus the CA that verifies client certificates (mTLS)
    const frps = parseFrpToml(named(manifests, 'ConfigMap', server.configMap.name).data['frps.toml']) as any;
    expect(frps.transport.tls).toEqual({
      force: true,
      certFile: '/etc/frp/tls/tls.crt',
      keyFile: '/etc/frp/tls/tls.key',
      trustedCaFile: '/etc/frp/tls/ca.crt',
    });
    // frpc: its client certificate, the CA that verifies frps, and the name to verify
    const frpc = parseFrpToml(named(manifests, 'ConfigMap', pool.configMap.name).data['frpc.toml']) as any;
    expect(frpc.serverAddr).toBe(server.host);
    expect(frpc.transport.tls).toEqual({
      enable: true,
      certFile: '/etc/frp/tls/tls.crt',
      keyFile: '/etc/frp/tls/tls.key',
      trustedCaFile: '/etc/frp/tls/ca.crt',
      serverName,
    });

    // the Secret volumes mount the issued Secrets at /etc/frp/tls
    const tlsVolume = (deploymentName: string, container: string) => {
      const pod = named(manifests, 'Deployment', deploymentName).spec.template.spec;
      const mount = pod.containers.find((c: any) => c.name === container).volumeMounts.find((m: any) => m.mountPath === '/etc/frp/tls');
      return pod.volumes.find((v: any) => v.name === mount.name).secret.secretName;
    };
    expect(tlsVolume(server.deployment.name, 'frps')).toBe(serverCert.secret.name);
    expect(tlsVolume((pool.workload as kplus.Deployment).name, 'frpc')).toBe(clientCert.secret.name);
    expect(serverCert.secret.name).toBe(serverSpec.secretName);

    // the workloads roll when their Secret is renewed
    expect(named(manifests, 'Deployment', server.deployment.name).metadata.annotations[RELOADER_SECRET_ANNOTATION]).toBe(serverCert.secret.name);
    expect(named(manifests, 'Deployment', (pool.workload as kplus.Deployment).name).metadata.annotations[RELOADER_SECRET_ANNOTATION]).toBe(clientCert.secret.name);

    // workloads stay in the default wave, after every certificate
    for (const d of byKind(manifests, 'Deployment')) expect(d.metadata.annotations[WAVE]).toBeUndefined();
  });

  test('is deterministic', () => {
    expectDeterministic(() => build().chart);
  });
});
