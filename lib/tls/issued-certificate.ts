import { ApiObject, Lazy, Names } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { checkDnsNames } from './_validate';
import { CertificateKeyAlgorithm, CertificateUsage, IFrpServerEndpoint, ResolvedKey } from './certificate-options';
import { syncWaveAnnotation, TlsSyncWave } from './sync-wave';
import * as certmanager from '../../imports/cert-manager.io';
import { invalid } from '../frp/errors';
import { claimName } from '../k8s/names';
import { MtlsMode } from '../spec';

/** Reference to the issuer that signs a leaf certificate. @internal */
export interface IssuerRef {
  readonly name: string;
  readonly kind: string;
  readonly group: string;
}

/** Everything an authority decided about one certificate. @internal */
export interface LeafPlan {
  readonly mode: MtlsMode;
  readonly usage: CertificateUsage;
  /** Rendered modes: the issuer, Go durations and key. */
  readonly issuerRef?: IssuerRef;
  readonly duration?: string;
  readonly renewBefore?: string;
  readonly key?: ResolvedKey;
  readonly commonName?: string;
  readonly dnsNames: string[];
  readonly ipAddresses: string[];
  readonly clusterDomain: string;
  /** Manual mode: the given Secrets. */
  readonly secret?: kplus.ISecret;
  readonly caSecret?: kplus.ISecret;
  readonly labels: { [key: string]: string };
  readonly secretLabels: { [key: string]: string };
  /** Name of the Certificate and its Secret. */
  readonly name?: string;
  /** Namespace of the Certificate and its Secret, when not the authority's. */
  readonly namespace?: string;
}

/**
 * A certificate issued by an ICertificateAuthority: the Secret to mount in
 * frps or frpc (`tls.crt`, `tls.key`, `ca.crt`), and the cert-manager
 * Certificate that keeps it renewed when the authority renders one.
 *
 * Mount `secret` with `FrpServerProps.tls` / `FrpClientPoolProps.tls`.
 */
export class IssuedCertificate extends Construct {
  /** @internal */
  public static _issue(scope: Construct, id: string, plan: LeafPlan): IssuedCertificate {
    return new IssuedCertificate(scope, id, plan);
  }

  /** What the certificate is for. */
  public readonly usage: CertificateUsage;
  /** Secret holding `tls.crt` and `tls.key` (and, from cert-manager, `ca.crt`). */
  public readonly secret: kplus.ISecret;
  /**
   * Secret holding `ca.crt`, the CA that signs the peers' certificates: the
   * same Secret as `secret` unless a manual authority was given a separate
   * CA Secret.
   */
  public readonly caSecret: kplus.ISecret;
  /**
   * The cert-manager Certificate that issues and renews `secret`, or
   * undefined for manual authorities.
   */
  public readonly certificate?: ApiObject;
  /** Subject common name, if any. */
  public readonly commonName?: string;
  /** IP addresses in the certificate. */
  public readonly ipAddresses: string[];
  /** Namespace of the Certificate and its Secret (undefined: the authority's chart's). */
  public readonly namespace?: string;

  private readonly names: string[];
  private readonly clusterDomain: string;

  private constructor(scope: Construct, id: string, plan: LeafPlan) {
    super(scope, id);
    this.usage = plan.usage;
    // Client certificates need a subject; server certificates are named by their SANs.
    const rendered = plan.mode !== MtlsMode.MANUAL;
    this.commonName = plan.commonName ?? (rendered && plan.usage === CertificateUsage.CLIENT ? plan.name ?? Names.toDnsLabel(this) : undefined);
    this.names = [...plan.dnsNames];
    this.ipAddresses = [...plan.ipAddresses];
    this.clusterDomain = plan.clusterDomain;
    this.namespace = plan.namespace;

    if (plan.mode === MtlsMode.MANUAL) {
      this.secret = plan.secret!;
      this.caSecret = plan.caSecret ?? plan.secret!;
      return;
    }

    const secretName = plan.name ? claimName(this, 'Secret', plan.name, plan.namespace) : Names.toDnsLabel(this, { extra: ['tls'] });
    const server = plan.usage === CertificateUsage.SERVER;
    const rsa = plan.key!.algorithm === CertificateKeyAlgorithm.RSA;
    const usages = [
      certmanager.CertificateSpecUsages.DIGITAL_SIGNATURE,
      // RSA key exchange (TLS 1.2) needs keyEncipherment; ECDSA/Ed25519 keys never encipher.
      ...(rsa ? [certmanager.CertificateSpecUsages.KEY_ENCIPHERMENT] : []),
      server ? certmanager.CertificateSpecUsages.SERVER_AUTH : certmanager.CertificateSpecUsages.CLIENT_AUTH,
    ];
    this.certificate = new certmanager.Certificate(this, 'Resource', {
      metadata: {
        ...(plan.name ? { name: claimName(this, 'Certificate', plan.name, plan.namespace) } : {}),
        ...(plan.namespace ? { namespace: plan.namespace } : {}),
        labels: plan.labels,
        annotations: syncWaveAnnotation(TlsSyncWave.LEAF_CERTIFICATE),
      },
      spec: {
        secretName,
        secretTemplate: { labels: plan.secretLabels },
        issuerRef: { name: plan.issuerRef!.name, kind: plan.issuerRef!.kind, group: plan.issuerRef!.group },
        commonName: this.commonName,
        dnsNames: server ? Lazy.any({ produce: () => this.renderedDnsNames() }) as unknown as string[] : undefined,
        ipAddresses: this.ipAddresses.length > 0 ? this.ipAddresses : undefined,
        duration: plan.duration,
        renewBefore: plan.renewBefore,
        usages,
        privateKey: {
          algorithm: plan.key!.algorithm as string as certmanager.CertificateSpecPrivateKeyAlgorithm,
          size: plan.key!.size,
          // A fresh key at every renewal: a leaked key dies with its certificate.
          rotationPolicy: certmanager.CertificateSpecPrivateKeyRotationPolicy.ALWAYS,
        },
      },
    });
    this.secret = kplus.Secret.fromSecretName(this, 'Secret', secretName);
    this.caSecret = this.secret;
  }

  /** DNS names in the certificate (server certificates; empty for client certificates). */
  public get dnsNames(): string[] {
    return [...this.names];
  }

  /**
   * Adds the names frpc uses to reach an FrpServer to this server certificate:
   * `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc`, `<svc>.<ns>.svc.<clusterDomain>`
   * for its control Service (only `<svc>` without a namespace) and its `host`.
   * @param server the server that mounts this certificate
   */
  public addServer(server: IFrpServerEndpoint): void {
    const where = this.node.path;
    if (this.usage !== CertificateUsage.SERVER) invalid(where, 'addServer', 'is for server certificates; this is a client certificate (client auth), frps names belong in the server certificate');
    if (!server || typeof server.host !== 'string') invalid(where, 'server', `must be an FrpServer (IFrpServer), got ${JSON.stringify(server)}`);
    const names = frpServerDnsNames(server, this.clusterDomain);
    checkDnsNames(where, 'server names', names);
    for (const n of names) if (!this.names.includes(n)) this.names.push(n);
  }

  private renderedDnsNames(): string[] | undefined {
    if (this.names.length === 0 && this.ipAddresses.length === 0) {
      invalid(this.node.path, 'dnsNames', 'must not be empty: a server certificate needs the names frpc dials; give server (an FrpServer), dnsNames or ipAddresses, or call addServer(server) before synth');
    }
    return this.names.length > 0 ? [...this.names] : undefined;
  }
}

/** The names frpc may dial for a server, most specific last. @internal */
export function frpServerDnsNames(server: IFrpServerEndpoint, clusterDomain: string): string[] {
  const names: string[] = [];
  // FrpServer exposes its control Service; other IFrpServerEndpoints only their host.
  const service = (server as { service?: unknown }).service;
  if (service instanceof kplus.Service) {
    const svc = service.name;
    const ns = service.metadata.namespace;
    names.push(svc);
    if (ns) names.push(`${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.${clusterDomain}`);
  }
  if (!names.includes(server.host)) names.push(server.host);
  // HA: frpc dials each replica by its own Service
  for (const svc of (server as { replicaServices?: unknown[] }).replicaServices ?? []) {
    if (!(svc instanceof kplus.Service) || svc.name === (service as kplus.Service | undefined)?.name) continue;
    const ns = svc.metadata.namespace;
    for (const n of [svc.name, ...(ns ? [`${svc.name}.${ns}`, `${svc.name}.${ns}.svc`, `${svc.name}.${ns}.svc.${clusterDomain}`] : [])]) {
      if (!names.includes(n)) names.push(n);
    }
  }
  return names;
}
