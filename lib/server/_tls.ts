import * as net from 'net';
import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import { ServerContext } from './_context';
import { FrpsWorkload } from './_workload';
import type { FrpCaCertificate, FrpServerProps } from './frp-server';
import { invalid } from '../frp/errors';
import { FrpServerTlsConfig } from '../frp/server-config';
import { checkSecretKey, derivedName } from '../k8s/names';
import { resourcesWithDefaults, restrictedSecurityContext } from '../k8s/pod-defaults';
import { CertificateAuthority, ICertificateAuthority } from '../tls/certificate-authority';
import { IFrpServerEndpoint } from '../tls/certificate-options';
import { IssuedCertificate } from '../tls/issued-certificate';

/**
 * frps' TLS: the server certificate (issued by a CertificateAuthority, or from
 * Secrets), the client CA that verifies frpc's certificates (mTLS), and the
 * Secret mounts and rotation annotations they need. @internal
 */

const TLS_DIR = '/etc/frp/tls';
const CA_DIR = '/etc/frp/tls-ca';

/** A certificate id that is unique per CA: the requester's path. @internal */
export function issueId(requester: IConstruct): string {
  return requester.node.path.replace(/\//g, '-');
}

/** Secrets that differ (by name), in order. @internal */
export function uniqueSecrets(secrets: kplus.ISecret[]): kplus.ISecret[] {
  return secrets.filter((x, i) => secrets.findIndex(y => y.name === x.name) === i);
}

/**
 * A volume with only the CA certificate of a Secret (`key`), as `ca.crt`: a
 * CA Secret also holds the CA's private key.
 */
function caCertificateVolume(scope: Construct, id: string, secret: kplus.ISecret, name: string, key = 'ca.crt'): kplus.Volume {
  return kplus.Volume.fromSecret(scope, id, secret, { name, items: { [key]: { path: 'ca.crt' } } });
}

/**
 * Mounts a certificate Secret at /etc/frp/tls<suffix> and, when the CA comes
 * from another Secret, that one at /etc/frp/tls-ca<suffix>; returns the file
 * paths. @internal
 */
export function mountTlsSecrets(
  scope: Construct, containers: kplus.Container | kplus.Container[], secret: kplus.ISecret | undefined, caSecret: kplus.ISecret, suffix: string,
  caKey: string = 'ca.crt',
) {
  const all = Array.isArray(containers) ? containers : [containers];
  if (secret) {
    const volume = kplus.Volume.fromSecret(scope, 'TlsVolume', secret, { name: `tls${suffix}` });
    for (const c of all) c.mount(TLS_DIR, volume, { readOnly: true });
  }
  let caDir = TLS_DIR;
  // without a certificate to present, only the CA certificate is mounted (never a key)
  if (caSecret.name !== secret?.name) {
    caDir = CA_DIR;
    checkSecretKey(scope.node.path, 'caKey', caKey);
    const caVolume = caCertificateVolume(scope, 'TlsCaVolume', caSecret, `tls-ca${suffix}`, caKey);
    for (const c of all) c.mount(caDir, caVolume, { readOnly: true });
  }
  return { certFile: `${TLS_DIR}/tls.crt`, keyFile: `${TLS_DIR}/tls.key`, caFile: `${caDir}/ca.crt` };
}

/** The TLS props of an FrpServer. @internal */
export interface ServerTlsOptions
  extends Pick<FrpServerProps, 'tls' | 'certificateAuthority' | 'requireClientCertificates' | 'additionalClientCas' | 'insecureSkipVerify' | 'resources'> {
  /** frps' image (the client CA bundle's init container runs it: `sh`, `cat`). */
  readonly image: string;
  /** Addresses external frpc dial (in the server certificate's SANs). */
  readonly externalAddresses: string[];
}

/** frps' TLS as wired. @internal */
export interface ServerTls {
  /** Whether frpc skips verifying frps. */
  readonly insecureSkipVerify: boolean;
  /** The CA of the server certificate, when managed. */
  readonly certificateAuthority?: ICertificateAuthority;
  /** The issued server certificate, when managed. */
  readonly certificate?: IssuedCertificate;
  /** frps' TLS files (`trustedCaFile` when it verifies client certificates). */
  readonly files?: FrpServerTlsConfig;
}

/**
 * Checks the TLS props and wires frps' certificate: by default (secure) one
 * issued by a CertificateAuthority of the server's own, else the given one's
 * or the `tls` Secrets; none with insecureSkipVerify (frps then serves a
 * self-signed certificate). @internal
 */
export function wireServerTls(ctx: ServerContext, server: IFrpServerEndpoint, workload: FrpsWorkload, o: ServerTlsOptions): ServerTls {
  const where = ctx.scope.node.path;
  if (o.tls && o.certificateAuthority) invalid(where, 'certificateAuthority', 'tls and certificateAuthority are exclusive: give the Secrets or the CA that issues them');
  const insecureSkipVerify = o.insecureSkipVerify ?? false;
  if (insecureSkipVerify && (o.tls || o.certificateAuthority)) {
    invalid(where, 'insecureSkipVerify', `turns server verification off; it cannot go with ${o.tls ? 'tls' : 'certificateAuthority'}`);
  }
  if (o.requireClientCertificates && (o.tls || insecureSkipVerify)) {
    invalid(where, 'requireClientCertificates', o.tls ? 'is for certificateAuthority; with tls use tls.requireClientCertificates' : 'needs a certificateAuthority (client certificates come from it)');
  }
  // secure by default: frpc verifies frps against a CA of the server's own
  const ca = o.tls || insecureSkipVerify ? undefined
    : o.certificateAuthority ?? new CertificateAuthority(ctx.scope, 'Ca', { name: derivedName(ctx.name, '-ca') });
  if (ca) {
    const certificate = ca.issueServerCertificate(issueId(server), {
      server,
      name: derivedName(ctx.name, '-tls'),
      dnsNames: o.externalAddresses.filter(a => net.isIP(a) === 0),
      ipAddresses: o.externalAddresses.filter(a => net.isIP(a) !== 0),
    });
    const verifyClients = o.requireClientCertificates ?? o.certificateAuthority !== undefined;
    let files = mountTls(ctx, workload, certificate.secret, certificate.caSecret, verifyClients);
    const extra = o.additionalClientCas ?? [];
    if (extra.length > 0 && !verifyClients) invalid(where, 'additionalClientCas', 'needs requireClientCertificates (frps checks client certificates only then)');
    if (extra.length > 0) files = { ...files, trustedCaFile: mountClientCaBundle(ctx, workload, certificate, extra, o.image, o.resources) };
    const secrets = uniqueSecrets([certificate.secret, certificate.caSecret, ...extra.map(c => c.secret)]);
    for (const d of workload.deployments) ca.addRotationAnnotations(d, secrets);
    return { insecureSkipVerify, certificateAuthority: ca, certificate, files };
  }
  if (o.tls) {
    if (o.additionalClientCas?.length) invalid(where, 'additionalClientCas', 'is for certificateAuthority; with tls give the client CA as tls.caSecret');
    const files = mountTls(ctx, workload, o.tls.secret, o.tls.caSecret ?? o.tls.secret, o.tls.requireClientCertificates !== false, o.tls.caKey);
    return { insecureSkipVerify, files };
  }
  return { insecureSkipVerify };
}

/** Mounts the certificate (and a separate CA Secret) and points frps at the files. */
function mountTls(
  ctx: ServerContext, workload: FrpsWorkload, secret: kplus.ISecret, caSecret: kplus.ISecret, verifyClients: boolean, caKey?: string,
): FrpServerTlsConfig {
  const files = mountTlsSecrets(ctx.scope, workload.containers, secret, caSecret, '', caKey);
  return { certFile: files.certFile, keyFile: files.keyFile, trustedCaFile: verifyClients ? files.caFile : undefined };
}

/**
 * frps trusts its own CA and `extra`: an init container joins their
 * certificates into one PEM bundle on an emptyDir; returns the bundle's path,
 * frps' trustedCaFile.
 */
function mountClientCaBundle(
  ctx: ServerContext, workload: FrpsWorkload, certificate: IssuedCertificate, extra: FrpCaCertificate[],
  image: string, resources?: kplus.ContainerResources,
): string {
  const { scope } = ctx;
  const where = scope.node.path;
  const bundleDir = '/etc/frp/client-ca';
  const sources = [`${TLS_DIR}/ca.crt`];
  const bundle = kplus.Volume.fromEmptyDir(scope, 'ClientCaBundle', 'client-ca', { sizeLimit: Size.mebibytes(1) });
  const volumes = extra.map((ca, i) => {
    const key = ca.key ?? 'ca.crt';
    if (!ca.secret || typeof ca.secret.name !== 'string') invalid(where, `additionalClientCas[${i}].secret`, 'must be a Secret (kplus.ISecret)');
    checkSecretKey(where, `additionalClientCas[${i}].key`, key);
    sources.push(`/etc/frp/client-cas/${i}/ca.crt`);
    return caCertificateVolume(scope, `ClientCa${i}`, ca.secret, `client-ca-${i}`, key);
  });
  const tlsVolume = caCertificateVolume(scope, 'ClientCaOwn', certificate.secret, 'tls-ca-own');
  // every certificate on lines of its own (a file may lack the final newline); a missing
  // or empty file (a wrong key, a Secret not yet filled) stops the pod, naming the file
  const script = `set -e; for f in ${sources.join(' ')}; do [ -s "$f" ] || { echo "client-ca-bundle: $f is missing or empty" >&2; exit 1; }; cat "$f"; echo; done > ${bundleDir}/ca.crt`;
  for (const d of workload.deployments) {
    d.addInitContainer({
      name: 'client-ca-bundle',
      image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: ['sh', '-c', script],
      securityContext: restrictedSecurityContext(),
      resources: resourcesWithDefaults(resources),
      volumeMounts: [
        { path: TLS_DIR, volume: tlsVolume, readOnly: true },
        ...volumes.map((v, i) => ({ path: `/etc/frp/client-cas/${i}`, volume: v, readOnly: true })),
        { path: bundleDir, volume: bundle },
      ],
    });
  }
  for (const c of workload.containers) c.mount(bundleDir, bundle, { readOnly: true });
  return `${bundleDir}/ca.crt`;
}
