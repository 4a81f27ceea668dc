import { Duration } from 'cdk8s';
import { IConstruct } from 'constructs';
import { invalid } from '../frp/errors';

/**
 * An frps as its server certificate sees it: the address frpc dials. Every
 * IFrpServer (an FrpServer) is one; the certificate also names the control
 * Services of an FrpServer (and of each of its replicas).
 */
export interface IFrpServerEndpoint extends IConstruct {
  /** DNS name frpc dials (the control Service). */
  readonly host: string;
}

/** What a certificate is for (its extended key usage). */
export enum CertificateUsage {
  /** frps' certificate: `server auth`. */
  SERVER = 'server',
  /** An frpc client certificate: `client auth`. */
  CLIENT = 'client',
}

/**
 * Private key algorithm. Every one of them works with frp (Go crypto/tls).
 * @see https://cert-manager.io/docs/reference/api-docs/#cert-manager.io/v1.CertificatePrivateKey
 */
export enum CertificateKeyAlgorithm {
  /** ECDSA: sizes 256 (P-256, default), 384 or 521. */
  ECDSA = 'ECDSA',
  /** RSA: sizes 2048 (default), 4096 or 8192. */
  RSA = 'RSA',
  /** Ed25519 (fixed size: leave keySize unset). */
  ED25519 = 'Ed25519',
}

/** Name and lifetime options of one issued certificate. */
export interface CertificateIssueOptions {
  /**
   * Name of the cert-manager Certificate and of the Secret it writes (FrpServer
   * and FrpClientPool pass `<their name>-tls`).
   * @default - derived from the construct path (with a hash suffix)
   */
  readonly name?: string;
  /**
   * Requested lifetime of the certificate (cert-manager `spec.duration`, at least 1h).
   * @default - the authority's `duration` (Duration.hours(2160), 90 days, unless set)
   */
  readonly duration?: Duration;
  /**
   * How long before expiry cert-manager renews the certificate (`spec.renewBefore`,
   * at least 5m and shorter than `duration`). It is also how long running pods
   * have to restart and pick up the renewed certificate (see CertificateRotation).
   * @default - the authority's `renewBefore` (Duration.hours(168), 7 days, unless set)
   */
  readonly renewBefore?: Duration;
  /**
   * Namespace of the Certificate and of the Secret it writes: where the pod
   * that mounts the Secret runs (a pod mounts Secrets of its own namespace
   * only). A namespaced Issuer signs only in its own namespace, so another
   * namespace needs a ClusterIssuer (`CertificateAuthorityProps.clusterWide`,
   * or `fromIssuer` with IssuerKind.CLUSTER_ISSUER).
   * @default - the authority's namespace
   */
  readonly namespace?: string;
  /**
   * The construct the certificate is issued for (the pod's workload or pool):
   * the Certificate is rendered in its chart, next to the pod that mounts it,
   * under the id given to the issue call.
   * @default - the authority (the Certificate is rendered in the authority's chart)
   */
  readonly owner?: IConstruct;
}

/** Options of frps' server certificate. */
export interface ServerCertificateOptions extends CertificateIssueOptions {
  /**
   * The FrpServer whose names go into the certificate: its control Service as
   * `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc` and `<svc>.<ns>.svc.<clusterDomain>`
   * (only `<svc>` when the chart has no namespace), and the host frpc dials.
   * An FrpServer takes its TLS Secret in its constructor, so usually the
   * certificate is issued first and the server added afterwards with
   * `IssuedCertificate.addServer(server)`.
   * @default - none: use dnsNames, ipAddresses or addServer()
   */
  readonly server?: IFrpServerEndpoint;
  /**
   * More DNS names frpc may dial (for example a LoadBalancer's public name for
   * frpc outside the cluster). A leading `*.` wildcard is allowed.
   * @default - none
   */
  readonly dnsNames?: string[];
  /**
   * IP addresses frpc may dial (frpc verifies the address it dials unless
   * `serverName` is set).
   * @default - none
   */
  readonly ipAddresses?: string[];
  /**
   * Cluster DNS domain used for the `<svc>.<ns>.svc.<clusterDomain>` name.
   * @default "cluster.local"
   */
  readonly clusterDomain?: string;
  /**
   * Subject common name. Go ignores it when checking names (only the
   * subjectAltNames count), so it is informational.
   * @default - none
   */
  readonly commonName?: string;
}

/** Options of an frpc client certificate. */
export interface ClientCertificateOptions extends CertificateIssueOptions {
  /**
   * Subject common name of the client. frps accepts any client certificate
   * its CA signed (it does not check the name), so it identifies the client
   * in logs and audits only.
   * @default - the certificate's generated name, `<chart>-<path>-<hash>`
   */
  readonly commonName?: string;
}

/** A resolved private key setting. @internal */
export interface ResolvedKey {
  readonly algorithm: CertificateKeyAlgorithm;
  readonly size?: number;
}

const KEY_SIZES: Record<CertificateKeyAlgorithm, number[]> = {
  [CertificateKeyAlgorithm.ECDSA]: [256, 384, 521],
  [CertificateKeyAlgorithm.RSA]: [2048, 4096, 8192],
  [CertificateKeyAlgorithm.ED25519]: [],
};

/** Checks and completes an algorithm/size pair. @internal */
export function resolveKey(where: string, algorithm: CertificateKeyAlgorithm | undefined, size: number | undefined): ResolvedKey {
  const alg = algorithm ?? CertificateKeyAlgorithm.ECDSA;
  const allowed = KEY_SIZES[alg];
  if (!allowed) {
    invalid(where, 'keyAlgorithm', `must be one of ${Object.values(CertificateKeyAlgorithm).map(v => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(algorithm)}`);
  }
  if (alg === CertificateKeyAlgorithm.ED25519) {
    if (size !== undefined) invalid(where, 'keySize', `must not be set for Ed25519 keys (their size is fixed), got ${JSON.stringify(size)}`);
    return { algorithm: alg };
  }
  if (size !== undefined && !allowed.includes(size)) {
    invalid(where, 'keySize', `must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]} for ${alg} keys, got ${JSON.stringify(size)}`);
  }
  return { algorithm: alg, size: size ?? allowed[0] };
}
