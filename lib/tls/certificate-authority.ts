import { ApiObject, Chart, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import { checkCommonName, checkDnsNames, checkIpAddresses, checkObjectName } from './_validate';
import {
  CertificateIssueOptions, CertificateKeyAlgorithm, CertificateUsage, ClientCertificateOptions, ResolvedKey, resolveKey,
  ServerCertificateOptions,
} from './certificate-options';
import { describeDuration, goDuration, millis } from './duration';
import { frpServerDnsNames, IssuedCertificate, IssuerRef } from './issued-certificate';
import { addReloaderAnnotation, CertificateRotation, rotationAnnotationsFor } from './rotation';
import { syncWaveAnnotation, TlsSyncWave } from './sync-wave';
import * as certmanager from '../../imports/cert-manager.io';
import { checkEnum, invalid } from '../frp/errors';
import { checkBaseName, derivedName, claimName, recommendedLabels } from '../k8s/names';
import { IssuerKind, MtlsMode } from '../spec';

const CERT_MANAGER_GROUP = 'cert-manager.io';
const MIN_DURATION_MS = 3_600_000; // cert-manager: at least 1h
const MIN_RENEW_BEFORE_MS = 300_000; // cert-manager: at least 5m

/** Default lifetime of server and client certificates: 90 days. */
const DEFAULT_DURATION = Duration.hours(2160);
/** Default renewal lead time: 7 days (the spec's `certRotation.beforeExpiry: 7d`). */
const DEFAULT_RENEW_BEFORE = Duration.hours(168);
/** Default CA lifetime: 10 years. */
const DEFAULT_CA_DURATION = Duration.hours(87600);
/** Default CA renewal lead time: 1 year. */
const DEFAULT_CA_RENEW_BEFORE = Duration.hours(8760);

/**
 * Issues the certificates for TLS between frpc and frps: one server
 * certificate for frps and client certificates for frpc (mTLS). Three
 * sources, as the spec's `security.mtls.mode` has them:
 * `new CertificateAuthority(...)` (auto), `CertificateAuthority.fromIssuer(...)`
 * (external) and `CertificateAuthority.fromSecrets(...)` (manual).
 */
export interface ICertificateAuthority extends IConstruct {
  /** Where the certificates come from. */
  readonly mode: MtlsMode;
  /** What happens to running pods when a certificate is renewed. */
  readonly rotation: CertificateRotation;

  /**
   * Issues frps' server certificate (`server auth`), for the names frpc dials.
   * @param id construct id of the certificate (under the authority)
   * @param options names and lifetime
   * @returns the certificate; mount its `secret` with `FrpServerProps.tls`
   */
  issueServerCertificate(id: string, options?: ServerCertificateOptions): IssuedCertificate;

  /**
   * Issues an frpc client certificate (`client auth`) for mTLS.
   * @param id construct id of the certificate (under the authority)
   * @param options common name and lifetime
   * @returns the certificate; mount its `secret` with `FrpClientPoolProps.tls`
   */
  issueClientCertificate(id: string, options?: ClientCertificateOptions): IssuedCertificate;

  /**
   * Annotations for the metadata of a workload that mounts `secrets`, so that
   * it rolls when they are renewed: `{ "secret.reloader.stakater.com/reload": "a,b" }`
   * with CertificateRotation.RELOADER, nothing with CertificateRotation.NONE.
   * @param secrets the Secrets the workload mounts
   */
  rotationAnnotations(secrets: kplus.ISecret[]): { [key: string]: string };

  /**
   * Adds `rotationAnnotations(secrets)` to a workload's metadata, merging with
   * Secrets added before.
   * @param workload the Deployment, DaemonSet or StatefulSet that mounts the Secrets
   * @param secrets the Secrets it mounts
   */
  addRotationAnnotations(workload: kplus.AbstractPod, secrets: kplus.ISecret[]): void;
}

/** Options every authority has. */
export interface CertificateAuthorityBaseProps {
  /**
   * What happens to running frps/frpc pods when a certificate is renewed.
   * @default CertificateRotation.RELOADER
   */
  readonly rotation?: CertificateRotation;
}

/** Options of authorities that render cert-manager Certificates. */
export interface CertificateAuthorityLeafProps extends CertificateAuthorityBaseProps {
  /**
   * Lifetime of server and client certificates (cert-manager `spec.duration`, at least 1h).
   * @default Duration.hours(2160)
   */
  readonly duration?: Duration;
  /**
   * How long before expiry server and client certificates are renewed
   * (cert-manager `spec.renewBefore`: at least 5m, shorter than `duration`).
   * Running pods must restart within this window (see CertificateRotation).
   * The spec's `certRotation.beforeExpiry` maps here through
   * `CertificateDuration.parseSpec()`.
   * @default Duration.hours(168)
   */
  readonly renewBefore?: Duration;
  /**
   * Private key algorithm of the certificates (and of the CA, for `new CertificateAuthority`).
   * ECDSA P-256 is the default: the same 128-bit security level as RSA 3072
   * at a fraction of the key size and handshake cost, supported by Go's
   * crypto/tls everywhere frp runs, and accepted in FIPS setups (unlike Ed25519).
   * @default CertificateKeyAlgorithm.ECDSA
   */
  readonly keyAlgorithm?: CertificateKeyAlgorithm;
  /**
   * Key size in bits: 256, 384 or 521 for ECDSA; 2048, 4096 or 8192 for RSA; unset for Ed25519.
   * @default - 256 for ECDSA, 2048 for RSA
   */
  readonly keySize?: number;
}

/** Properties of a CertificateAuthority bootstrapped by cert-manager (mode auto). */
export interface CertificateAuthorityProps extends CertificateAuthorityLeafProps {
  /**
   * Base name of the objects: the CA Issuer is `<name>`, the CA Certificate and
   * its Secret `<name>-root`, the self-signed bootstrap Issuer `<name>-selfsign`.
   * Two authorities in one namespace need different names.
   * @default - "frp-ca"; with `clusterWide`, `frp-ca-<chart namespace>` (the
   * ClusterIssuer and the objects in cert-manager's namespace have
   * cluster-wide names, which the frps of two namespaces must not share;
   * required then in a chart without a namespace)
   */
  readonly name?: string;
  /**
   * Lifetime of the CA certificate.
   * @default Duration.hours(87600)
   */
  readonly caDuration?: Duration;
  /**
   * How long before expiry the CA certificate is renewed. It must be longer
   * than `duration`, so that every certificate is re-issued (and its Secret's
   * `ca.crt` updated) before the old CA certificate expires. The CA keeps its
   * key when renewed, so certificates signed before and after the renewal
   * verify against either CA certificate.
   * @default Duration.hours(8760)
   */
  readonly caRenewBefore?: Duration;
  /**
   * Common name of the CA certificate.
   * @default - `<name>-root`
   */
  readonly caCommonName?: string;
  /**
   * Issue certificates in every namespace, not only this chart's: the CA
   * issuer becomes a cert-manager ClusterIssuer `<name>`, and its CA
   * Certificate, CA Secret `<name>-root` and bootstrap Issuer go to
   * `clusterResourceNamespace`, where cert-manager reads a ClusterIssuer's
   * Secret. Needed when frpc runs in other namespaces than frps (an Issuer
   * signs Certificates in its own namespace only). Any namespace can then
   * request certificates from this CA, and frps accepts them: restrict who
   * may (cert-manager's approver-policy) where namespaces do not trust each
   * other. ClusterIssuer names are cluster-wide: two such authorities in one
   * cluster need different names (the default `name` includes the chart's
   * namespace).
   * @default false
   */
  readonly clusterWide?: boolean;
  /**
   * cert-manager's cluster resource namespace (its controller's
   * `--cluster-resource-namespace`), where the objects of a `clusterWide`
   * authority go.
   * @default "cert-manager"
   */
  readonly clusterResourceNamespace?: string;
}

/** Properties of an authority backed by an issuer that already runs (mode external). */
export interface CertificateAuthorityIssuerProps extends CertificateAuthorityLeafProps {
  /** Name of the Issuer or ClusterIssuer. */
  readonly name: string;
  /**
   * Kind of the issuer. An Issuer issues only in its own namespace, which must
   * be the namespace of this authority's chart.
   */
  readonly kind: IssuerKind;
}

/** Properties of an authority over a CA the user already has as a Secret. */
export interface CertificateAuthorityCaSecretProps extends CertificateAuthorityLeafProps {
  /**
   * Secret (in this chart's namespace) with the CA certificate and its private
   * key, as cert-manager's CA issuer reads them (`tls.crt`, `tls.key`), e.g.
   * `kplus.Secret.fromSecretName(scope, 'CaSecret', 'root-ca')`.
   */
  readonly caSecret: kplus.ISecret;
  /**
   * Name of the cert-manager CA Issuer rendered over the Secret.
   * @default "frp-ca"
   */
  readonly issuerName?: string;
}

/** Properties of an authority backed by existing Secrets (mode manual). */
export interface CertificateAuthoritySecretsProps extends CertificateAuthorityBaseProps {
  /** Secret holding the CA certificate (`ca.crt`) that signed the server and client certificates. */
  readonly caSecret: kplus.ISecret;
  /**
   * Secret of type kubernetes.io/tls with frps' certificate (`tls.crt`, `tls.key`).
   * @default - issueServerCertificate() fails
   */
  readonly serverCertSecret?: kplus.ISecret;
  /**
   * Secret of type kubernetes.io/tls with the frpc client certificate (`tls.crt`, `tls.key`).
   * @default - issueClientCertificate() fails
   */
  readonly clientCertSecret?: kplus.ISecret;
}

/**
 * Which CA signs an authority's certificates: two authorities with the same
 * identity (two Issuers over the same CA Secret name) issue certificates that
 * verify against each other's CA.
 */
const identities = new WeakMap<IConstruct, string>();

/** The identity of the CA behind an authority (its construct path when unknown). @internal */
export function caIdentity(ca: ICertificateAuthority): string {
  return identities.get(ca) ?? ca.node.path;
}

/** Leaf settings an authority resolved once, with the fields they came from. */
interface LeafDefaults {
  readonly mode: MtlsMode;
  readonly issuerRef: IssuerRef;
  /** A namespaced issuer signs only here. */
  readonly namespace: string | undefined;
  readonly duration: Duration;
  readonly renewBefore: Duration;
  readonly key: ResolvedKey;
  /** Auto mode: leaves must be shorter-lived than this (the CA's renewBefore). */
  readonly caRenewBefore?: Duration;
}

/**
 * A private CA for frp, bootstrapped by cert-manager in the bundle (mode auto):
 * a self-signed Issuer signs a CA Certificate (`isCA: true`), a CA Issuer
 * signs server and client certificates with it. Every Secret cert-manager
 * writes carries `tls.crt`, `tls.key` and `ca.crt`, which is what FrpServer and
 * FrpClientPool mount. Needs cert-manager (v1.x) in the cluster.
 *
 * Argo CD sync waves order the objects: self-signed Issuer and CA Certificate
 * (TlsSyncWave.ROOT), CA Issuer (TlsSyncWave.CA_ISSUER), server and client
 * Certificates (TlsSyncWave.LEAF_CERTIFICATE), then the workloads.
 *
 * Use `fromIssuer()` for an issuer you already run and `fromSecrets()` for
 * certificates managed outside this app.
 */
export class CertificateAuthority extends Construct implements ICertificateAuthority {
  /**
   * An authority backed by an Issuer or ClusterIssuer that already runs in the
   * cluster (mode external): only the server and client Certificates are rendered.
   *
   * frps and frpc trust the `ca.crt` that cert-manager writes into each
   * certificate's Secret, so the issuer must be a CA-style issuer that
   * populates it (cert-manager `ca`, `vault`, `venafi` with a chain, or an
   * external issuer that returns its CA). ACME issuers such as Let's Encrypt
   * leave `ca.crt` out and cannot be used. frps accepts every client
   * certificate the issuer signs, so prefer an issuer dedicated to frp.
   * @param scope the scope (its chart's namespace is where the Certificates go)
   * @param id construct id
   * @param props the issuer and the certificates' lifetime
   */
  public static fromIssuer(scope: Construct, id: string, props: CertificateAuthorityIssuerProps): ICertificateAuthority {
    const ca = new IssuerCertificateAuthority(scope, id, props);
    if (props?.kind === IssuerKind.CLUSTER_ISSUER) identities.set(ca, `cluster-issuer:${props.name}`);
    return ca;
  }

  /**
   * An authority over your own CA: a cert-manager CA Issuer reading the CA
   * Secret is rendered, and it issues the server and client certificates.
   * Use it when you keep the CA but want leaf certificates issued and renewed.
   * @param scope the scope (its chart's namespace must hold the CA Secret)
   * @param id construct id
   * @param props the CA Secret and the certificates' lifetime
   */
  public static fromCaSecret(scope: Construct, id: string, props: CertificateAuthorityCaSecretProps): ICertificateAuthority {
    const holder = new Construct(scope, id);
    if (!props || !props.caSecret) invalid(holder.node.path, 'caSecret', 'is required: the Secret holding the CA certificate and key');
    checkObjectName(holder.node.path, 'caSecret', props.caSecret.name);
    const issuerName = checkBaseName(holder.node.path, 'issuerName', props.issuerName ?? 'frp-ca');
    const issuer = new certmanager.Issuer(holder, 'Issuer', {
      metadata: {
        name: claimName(holder, 'Issuer', issuerName),
        labels: caLabels(issuerName),
        annotations: syncWaveAnnotation(TlsSyncWave.CA_ISSUER),
      },
      spec: { ca: { secretName: props.caSecret.name } },
    });
    const { caSecret: _secret, issuerName: _issuer, ...leaf } = props;
    const ca = new IssuerCertificateAuthority(holder, 'Resource', { ...leaf, name: issuer.name, kind: IssuerKind.ISSUER });
    identities.set(ca, `ca-secret:${props.caSecret.name}`);
    return ca;
  }

  /**
   * An authority backed by existing Secrets (mode manual): nothing is rendered,
   * `issueServerCertificate()` returns `serverCertSecret` and
   * `issueClientCertificate()` returns `clientCertSecret`. Renewing them is up
   * to you; CertificateRotation.RELOADER still rolls the pods when you do.
   * @param scope the scope
   * @param id construct id
   * @param props the Secrets
   */
  public static fromSecrets(scope: Construct, id: string, props: CertificateAuthoritySecretsProps): ICertificateAuthority {
    return new SecretsCertificateAuthority(scope, id, props);
  }

  public readonly mode = MtlsMode.AUTO;
  public readonly rotation: CertificateRotation;
  /** The self-signed Issuer that signs the CA certificate. */
  public readonly selfSignedIssuer: ApiObject;
  /** The CA Certificate (`isCA: true`). */
  public readonly caCertificate: ApiObject;
  /** The CA Issuer (a ClusterIssuer with `clusterWide`) that signs server and client certificates. */
  public readonly issuer: ApiObject;
  /** Whether certificates can be issued in every namespace (the issuer is a ClusterIssuer). */
  public readonly clusterWide: boolean;
  /** Namespace of the CA Certificate and its Secret. */
  public readonly caNamespace?: string;
  /**
   * Name of the Secret holding the CA certificate and its private key. Never
   * mount it in frps or frpc: they get the CA certificate as `ca.crt` of their
   * own certificate's Secret.
   */
  public readonly caSecretName: string;
  /** Lifetime of server and client certificates. */
  public readonly duration: Duration;
  /** Renewal lead time of server and client certificates. */
  public readonly renewBefore: Duration;
  /** Private key algorithm. */
  public readonly keyAlgorithm: CertificateKeyAlgorithm;

  private readonly leaves: LeafDefaults;
  private readonly labels: { [key: string]: string };

  constructor(scope: Construct, id: string, props: CertificateAuthorityProps = {}) {
    super(scope, id);
    const where = this.node.path;
    const p = props ?? {};
    this.rotation = resolveRotation(where, p.rotation);
    const key = resolveKey(where, p.keyAlgorithm, p.keySize);
    this.keyAlgorithm = key.algorithm;
    this.duration = p.duration ?? DEFAULT_DURATION;
    this.renewBefore = p.renewBefore ?? DEFAULT_RENEW_BEFORE;
    const caDuration = p.caDuration ?? DEFAULT_CA_DURATION;
    const caRenewBefore = p.caRenewBefore ?? DEFAULT_CA_RENEW_BEFORE;
    checkLifetime(where, { field: 'caDuration', value: caDuration }, { field: 'caRenewBefore', value: caRenewBefore });
    checkLifetime(where, { field: 'duration', value: this.duration }, { field: 'renewBefore', value: this.renewBefore });
    checkShorterThanCaRenewal(where, 'duration', this.duration, caRenewBefore);
    checkCommonName(where, 'caCommonName', p.caCommonName);

    this.clusterWide = p.clusterWide ?? false;
    const chartNs = Chart.of(this).namespace;
    if (this.clusterWide && p.name === undefined && chartNs === undefined) {
      invalid(where, 'name', 'is required with clusterWide in a chart without a namespace: the ClusterIssuer and the CA in cert-manager\'s namespace have cluster-wide names, '
        + 'which two apps must not share (the default is frp-ca-<chart namespace>)');
    }
    // a cluster-wide name per namespace: two frps in two namespaces get two authorities
    const name = checkBaseName(where, 'name', p.name ?? (this.clusterWide ? derivedName('frp-ca', `-${chartNs}`) : 'frp-ca'));
    this.labels = caLabels(name);
    if (p.clusterResourceNamespace !== undefined && !this.clusterWide) invalid(where, 'clusterResourceNamespace', 'is only used with clusterWide: true');
    // a ClusterIssuer reads its CA Secret from cert-manager's cluster resource namespace
    const rootNs = this.clusterWide ? checkBaseName(where, 'clusterResourceNamespace', p.clusterResourceNamespace ?? 'cert-manager') : undefined;
    this.caNamespace = rootNs ?? Chart.of(this).namespace;
    this.caSecretName = claimName(this, 'Secret', derivedName(name, '-root'), rootNs);
    const rootWave = syncWaveAnnotation(TlsSyncWave.ROOT);
    const rootMeta = rootNs ? { namespace: rootNs } : {};

    this.selfSignedIssuer = new certmanager.Issuer(this, 'SelfSigned', {
      metadata: { ...rootMeta, name: claimName(this, 'Issuer', derivedName(name, '-selfsign'), rootNs), labels: this.labels, annotations: rootWave },
      spec: { selfSigned: {} },
    });
    this.caCertificate = new certmanager.Certificate(this, 'CaCertificate', {
      metadata: { ...rootMeta, name: claimName(this, 'Certificate', derivedName(name, '-root'), rootNs), labels: this.labels, annotations: rootWave },
      spec: {
        isCa: true,
        commonName: p.caCommonName ?? derivedName(name, '-root'),
        secretName: this.caSecretName,
        secretTemplate: { labels: secretLabels('certificate-authority') },
        duration: goDuration(where, 'caDuration', caDuration),
        renewBefore: goDuration(where, 'caRenewBefore', caRenewBefore),
        privateKey: {
          algorithm: key.algorithm as string as certmanager.CertificateSpecPrivateKeyAlgorithm,
          size: key.size,
          // Keep the CA key across renewals: certificates signed before the
          // renewal still verify against the renewed CA certificate.
          rotationPolicy: certmanager.CertificateSpecPrivateKeyRotationPolicy.NEVER,
        },
        issuerRef: { name: this.selfSignedIssuer.name, kind: IssuerKind.ISSUER, group: CERT_MANAGER_GROUP },
      },
    });
    const issuerProps = { spec: { ca: { secretName: this.caSecretName } } };
    const issuerAnnotations = syncWaveAnnotation(TlsSyncWave.CA_ISSUER);
    this.issuer = this.clusterWide
      ? new certmanager.ClusterIssuer(this, 'Resource', {
        ...issuerProps,
        metadata: { name: claimName(this, 'ClusterIssuer', name, ''), labels: this.labels, annotations: issuerAnnotations },
      })
      : new certmanager.Issuer(this, 'Resource', {
        ...issuerProps,
        metadata: { name: claimName(this, 'Issuer', name), labels: this.labels, annotations: issuerAnnotations },
      });
    // cluster-scoped: cdk8s gives every object the chart's namespace
    if (this.clusterWide && Chart.of(this).namespace !== undefined) this.issuer.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
    this.leaves = {
      mode: MtlsMode.AUTO,
      issuerRef: { name: this.issuer.name, kind: this.clusterWide ? IssuerKind.CLUSTER_ISSUER : IssuerKind.ISSUER, group: CERT_MANAGER_GROUP },
      namespace: this.clusterWide ? undefined : Chart.of(this).namespace,
      duration: this.duration,
      renewBefore: this.renewBefore,
      key,
      caRenewBefore,
    };
  }

  public issueServerCertificate(id: string, options: ServerCertificateOptions = {}): IssuedCertificate {
    return issueLeaf(this, id, CertificateUsage.SERVER, options, this.leaves, this.labels);
  }

  public issueClientCertificate(id: string, options: ClientCertificateOptions = {}): IssuedCertificate {
    return issueLeaf(this, id, CertificateUsage.CLIENT, options, this.leaves, this.labels);
  }

  public rotationAnnotations(secrets: kplus.ISecret[]): { [key: string]: string } {
    return rotationAnnotations(this, secrets);
  }

  public addRotationAnnotations(workload: kplus.AbstractPod, secrets: kplus.ISecret[]): void {
    addRotationAnnotations(this, workload, secrets);
  }
}

/** Mode external: leaves from an issuer that already runs. */
class IssuerCertificateAuthority extends Construct implements ICertificateAuthority {
  public readonly mode = MtlsMode.EXTERNAL;
  public readonly rotation: CertificateRotation;
  private readonly leaves: LeafDefaults;
  private readonly labels: { [key: string]: string };

  constructor(scope: Construct, id: string, props: CertificateAuthorityIssuerProps) {
    super(scope, id);
    const where = this.node.path;
    if (!props) invalid(where, 'props', 'are required: the issuer name and kind');
    checkObjectName(where, 'name', props.name);
    if (props.kind === undefined) invalid(where, 'kind', 'is required: IssuerKind.ISSUER or IssuerKind.CLUSTER_ISSUER');
    checkEnum(where, 'kind', props.kind, IssuerKind);
    this.rotation = resolveRotation(where, props.rotation);
    const duration = props.duration ?? DEFAULT_DURATION;
    const renewBefore = props.renewBefore ?? DEFAULT_RENEW_BEFORE;
    checkLifetime(where, { field: 'duration', value: duration }, { field: 'renewBefore', value: renewBefore });
    this.labels = caLabels(/^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/.test(props.name) ? props.name : 'external');
    this.leaves = {
      mode: MtlsMode.EXTERNAL,
      issuerRef: { name: props.name, kind: props.kind, group: CERT_MANAGER_GROUP },
      namespace: props.kind === IssuerKind.CLUSTER_ISSUER ? undefined : Chart.of(this).namespace,
      duration,
      renewBefore,
      key: resolveKey(where, props.keyAlgorithm, props.keySize),
    };
  }

  public issueServerCertificate(id: string, options: ServerCertificateOptions = {}): IssuedCertificate {
    return issueLeaf(this, id, CertificateUsage.SERVER, options, this.leaves, this.labels);
  }

  public issueClientCertificate(id: string, options: ClientCertificateOptions = {}): IssuedCertificate {
    return issueLeaf(this, id, CertificateUsage.CLIENT, options, this.leaves, this.labels);
  }

  public rotationAnnotations(secrets: kplus.ISecret[]): { [key: string]: string } {
    return rotationAnnotations(this, secrets);
  }

  public addRotationAnnotations(workload: kplus.AbstractPod, secrets: kplus.ISecret[]): void {
    addRotationAnnotations(this, workload, secrets);
  }
}

/** Mode manual: the given Secrets, nothing rendered. */
class SecretsCertificateAuthority extends Construct implements ICertificateAuthority {
  public readonly mode = MtlsMode.MANUAL;
  public readonly rotation: CertificateRotation;
  private readonly props: CertificateAuthoritySecretsProps;

  constructor(scope: Construct, id: string, props: CertificateAuthoritySecretsProps) {
    super(scope, id);
    const where = this.node.path;
    if (!props || !props.caSecret) {
      invalid(where, 'caSecret', 'is required: the Secret holding ca.crt, the CA that signed the server and client certificates (manual mTLS needs caSecret)');
    }
    for (const f of ['caSecret', 'serverCertSecret', 'clientCertSecret'] as const) {
      const s = props[f];
      if (s !== undefined && (typeof s !== 'object' || typeof s.name !== 'string')) invalid(where, f, `must be a Secret (kplus.ISecret), got ${JSON.stringify(s)}`);
    }
    this.rotation = resolveRotation(where, props.rotation);
    this.props = props;
  }

  public issueServerCertificate(id: string, options: ServerCertificateOptions = {}): IssuedCertificate {
    return this.issue(id, CertificateUsage.SERVER, 'serverCertSecret', 'a server certificate', options);
  }

  public issueClientCertificate(id: string, options: ClientCertificateOptions = {}): IssuedCertificate {
    return this.issue(id, CertificateUsage.CLIENT, 'clientCertSecret', 'a client certificate', options);
  }

  public rotationAnnotations(secrets: kplus.ISecret[]): { [key: string]: string } {
    return rotationAnnotations(this, secrets);
  }

  public addRotationAnnotations(workload: kplus.AbstractPod, secrets: kplus.ISecret[]): void {
    addRotationAnnotations(this, workload, secrets);
  }

  private issue(id: string, usage: CertificateUsage, field: 'serverCertSecret' | 'clientCertSecret', what: string,
    options: ServerCertificateOptions & ClientCertificateOptions): IssuedCertificate {
    const where = this.node.path;
    const secret = this.props[field];
    if (!secret) {
      invalid(where, field, `${what} was requested (${JSON.stringify(id)}) but ${field} was not given to CertificateAuthority.fromSecrets`);
    }
    const o = options ?? {};
    const leafWhere = `${where}/${id}`;
    for (const f of ['duration', 'renewBefore'] as const) {
      if (o[f] !== undefined) invalid(leafWhere, f, 'has no effect with CertificateAuthority.fromSecrets: the certificates are managed outside this app');
    }
    const names = checkNames(leafWhere, usage, o);
    return IssuedCertificate._issue(this, id, {
      mode: MtlsMode.MANUAL,
      usage,
      commonName: o.commonName,
      ...names,
      secret,
      caSecret: this.props.caSecret,
      labels: {},
      secretLabels: {},
    });
  }
}

/** Validates the names of a leaf and adds the server's names. */
function checkNames(where: string, usage: CertificateUsage, o: ServerCertificateOptions & ClientCertificateOptions) {
  checkCommonName(where, 'commonName', o.commonName);
  if (usage === CertificateUsage.CLIENT) {
    for (const f of ['server', 'dnsNames', 'ipAddresses', 'clusterDomain'] as const) {
      if (o[f] !== undefined) invalid(where, f, 'is for server certificates: a client certificate (client auth) carries only a commonName');
    }
    return { dnsNames: [], ipAddresses: [], clusterDomain: 'cluster.local' };
  }
  const clusterDomain = o.clusterDomain ?? 'cluster.local';
  checkDnsNames(where, 'clusterDomain', [clusterDomain]);
  checkDnsNames(where, 'dnsNames', o.dnsNames);
  checkIpAddresses(where, 'ipAddresses', o.ipAddresses);
  if (o.server !== undefined && (!o.server || typeof o.server.host !== 'string')) {
    invalid(where, 'server', `must be an FrpServer (IFrpServer), got ${JSON.stringify(o.server)}`);
  }
  const dnsNames: string[] = [];
  for (const n of [...(o.server ? frpServerDnsNames(o.server, clusterDomain) : []), ...(o.dnsNames ?? [])]) {
    if (!dnsNames.includes(n)) dnsNames.push(n);
  }
  checkDnsNames(where, 'server names', dnsNames);
  return { dnsNames, ipAddresses: [...new Set(o.ipAddresses ?? [])], clusterDomain };
}

/** Validates a leaf's options and renders it (modes auto and external). */
/** Labels of an authority's objects and the certificates it issues. */
function caLabels(instance: string): { [key: string]: string } {
  return recommendedLabels({ app: 'frp-ca', instance, component: 'certificate-authority' });
}

function issueLeaf(
  authority: Construct, id: string, usage: CertificateUsage, options: CertificateIssueOptions & ServerCertificateOptions & ClientCertificateOptions,
  d: LeafDefaults, labels: { [key: string]: string },
): IssuedCertificate {
  const where = `${authority.node.path}/${id}`;
  const o = options ?? {};
  const duration = o.duration ?? d.duration;
  const renewBefore = o.renewBefore ?? d.renewBefore;
  checkLifetime(where,
    { field: 'duration', value: duration, inherited: o.duration === undefined },
    { field: 'renewBefore', value: renewBefore, inherited: o.renewBefore === undefined });
  if (d.caRenewBefore) checkShorterThanCaRenewal(where, 'duration', duration, d.caRenewBefore);
  const names = checkNames(where, usage, o);
  const own = Chart.of(authority).namespace;
  if (o.namespace !== undefined && !(typeof o.namespace === 'string' && /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(o.namespace))) {
    invalid(where, 'namespace', `must be a namespace name (a DNS label), got ${JSON.stringify(o.namespace)}`);
  }
  const namespace = o.namespace === own ? undefined : o.namespace;
  if (namespace !== undefined && d.issuerRef.kind === IssuerKind.ISSUER) {
    invalid(where, 'namespace', `a certificate for namespace ${namespace} cannot come from the Issuer ${d.issuerRef.name} of namespace ${own ?? '(the chart has none)'}: `
      + 'cert-manager\'s namespaced Issuers sign only in their own namespace. Use a ClusterIssuer: new CertificateAuthority(..., { clusterWide: true }) '
      + '(its CA goes to cert-manager\'s cluster resource namespace), or CertificateAuthority.fromIssuer(..., { kind: IssuerKind.CLUSTER_ISSUER })');
  }
  const component = usage === CertificateUsage.SERVER ? 'server-certificate' : 'client-certificate';
  if (o.owner !== undefined && (typeof o.owner !== 'object' || !o.owner.node)) invalid(where, 'owner', 'must be a construct');
  return IssuedCertificate._issue(o.owner ?? authority, id, {
    mode: d.mode,
    usage,
    issuerRef: d.issuerRef,
    duration: goDuration(where, 'duration', duration),
    renewBefore: goDuration(where, 'renewBefore', renewBefore),
    key: d.key,
    commonName: o.commonName,
    name: o.name === undefined ? undefined : checkBaseName(where, 'name', o.name),
    namespace,
    ...names,
    labels: { ...labels, 'app.kubernetes.io/component': component },
    secretLabels: secretLabels(component),
  });
}

interface Lifetime {
  readonly field: string;
  readonly value: Duration;
  /** Taken from the authority rather than the call. */
  readonly inherited?: boolean;
}

/** duration >= 1h, renewBefore >= 5m, renewBefore < duration. */
function checkLifetime(where: string, duration: Lifetime, renewBefore: Lifetime): void {
  const from = (l: Lifetime) => l.inherited ? ' (the authority\'s default)' : '';
  const dMs = millis(where, duration.field, duration.value);
  const rMs = millis(where, renewBefore.field, renewBefore.value);
  goDuration(where, duration.field, duration.value);
  goDuration(where, renewBefore.field, renewBefore.value);
  if (dMs < MIN_DURATION_MS) invalid(where, duration.field, `must be at least 1h (cert-manager's minimum), got ${describeDuration(duration.value)}${from(duration)}`);
  if (rMs < MIN_RENEW_BEFORE_MS) invalid(where, renewBefore.field, `must be at least 5m (cert-manager's minimum), got ${describeDuration(renewBefore.value)}${from(renewBefore)}`);
  if (rMs >= dMs) {
    invalid(where, renewBefore.field, `must be shorter than ${duration.field} (${describeDuration(duration.value)}${from(duration)}), got ${describeDuration(renewBefore.value)}${from(renewBefore)}`);
  }
}

/** A leaf must be re-issued (with the renewed CA) before the old CA certificate expires. */
function checkShorterThanCaRenewal(where: string, field: string, duration: Duration, caRenewBefore: Duration): void {
  if (duration.toMilliseconds() >= caRenewBefore.toMilliseconds()) {
    invalid(where, field, `must be shorter than the CA's caRenewBefore (${describeDuration(caRenewBefore)}), so that every certificate is re-issued with the renewed CA before the old CA certificate expires, got ${describeDuration(duration)}`);
  }
}

function resolveRotation(where: string, rotation: CertificateRotation | undefined): CertificateRotation {
  checkEnum(where, 'rotation', rotation, CertificateRotation);
  return rotation ?? CertificateRotation.RELOADER;
}

/** Labels cert-manager puts on the Secrets it writes (no instance label: Argo CD may track apps by it). */
function secretLabels(component: string): { [key: string]: string } {
  return {
    'app.kubernetes.io/name': 'frp-ca',
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/part-of': 'cdk8s-frp',
  };
}

function checkSecrets(where: string, secrets: kplus.ISecret[]): void {
  if (!Array.isArray(secrets)) invalid(where, 'secrets', `must be a list of Secrets, got ${JSON.stringify(secrets)}`);
  secrets.forEach((s, i) => {
    if (!s || typeof s.name !== 'string') invalid(where, `secrets[${i}]`, `must be a Secret (kplus.ISecret), got ${JSON.stringify(s)}`);
  });
}

function rotationAnnotations(ca: ICertificateAuthority, secrets: kplus.ISecret[]): { [key: string]: string } {
  checkSecrets(ca.node.path, secrets);
  return rotationAnnotationsFor(ca.rotation, secrets);
}

function addRotationAnnotations(ca: ICertificateAuthority, workload: kplus.AbstractPod, secrets: kplus.ISecret[]): void {
  const where = ca.node.path;
  if (!workload || !workload.metadata) invalid(where, 'workload', 'must be a cdk8s-plus workload (Deployment, DaemonSet or StatefulSet)');
  checkSecrets(where, secrets);
  if (ca.rotation === CertificateRotation.RELOADER) addReloaderAnnotation(workload, secrets);
}
