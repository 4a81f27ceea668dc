/**
 * Argo CD sync waves of the objects a CertificateAuthority renders. Argo CD
 * applies a wave only when every object of the previous waves is healthy, and
 * it ships health checks for cert-manager Issuers and Certificates (Ready
 * condition), so each wave starts once the one before has really been issued.
 * Workloads carry no wave (wave 0), so they start after every certificate
 * they mount exists.
 *
 * @see https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/
 */
export class TlsSyncWave {
  /** The annotation holding the wave. */
  public static readonly ANNOTATION = 'argocd.argoproj.io/sync-wave';
  /** The self-signed bootstrap Issuer and the CA Certificate it signs. */
  public static readonly ROOT = -3;
  /** The CA Issuer (needs the CA Certificate's Secret). */
  public static readonly CA_ISSUER = -2;
  /** Server and client Certificates (need the CA Issuer, or an external issuer). */
  public static readonly LEAF_CERTIFICATE = -1;
  /** Workloads that mount the certificates: the default wave. */
  public static readonly WORKLOAD = 0;

  private constructor() {}
}

/** The sync-wave annotation for a wave. @internal */
export function syncWaveAnnotation(wave: number): { [key: string]: string } {
  return { [TlsSyncWave.ANNOTATION]: String(wave) };
}
