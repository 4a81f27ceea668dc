import * as kplus from 'cdk8s-plus-28';
import { lazyString } from '../k8s/pod-defaults';

/**
 * What happens to running frps/frpc pods when a certificate they mount is
 * renewed.
 *
 * cert-manager starts renewing a certificate `renewBefore` ahead of its
 * expiry (`notAfter`) and writes the new certificate and key into the same
 * Secret. The kubelet updates the mounted files within a minute or two, but
 * frps and frpc read their certificates only at start, so a running process
 * keeps serving (frps) or presenting (frpc) the old certificate until its
 * container restarts. The old certificate stays valid until its `notAfter`,
 * which is `renewBefore` after renewal began: that is the window in which
 * every pod must restart. A container restart is enough (the Secret is
 * mounted as a directory, not with subPath, so it sees the new files).
 *
 * If a pod is still running with the old certificate after its `notAfter`:
 * tunnels that are already connected keep working, but every new TLS
 * handshake fails (frpc rejects frps' expired server certificate, frps
 * rejects an frpc's expired client certificate), so the next reconnect
 * takes the tunnel down.
 */
export enum CertificateRotation {
  /**
   * Put the Stakater Reloader annotation
   * (`secret.reloader.stakater.com/reload: <secret>,...`) on the workloads
   * that mount the certificates. Reloader (installed separately) rolls them
   * as soon as cert-manager writes the renewed Secret, so a pod serves the
   * old certificate only for the minutes the rollout takes. Without Reloader
   * in the cluster the annotation does nothing (see NONE).
   *
   * With Argo CD, run Reloader with `reloadStrategy: annotations` and have
   * Argo CD ignore the annotation it adds to pod templates; with the default
   * env-vars strategy Argo CD reports drift and self-heal reverts the restart.
   *
   * @see https://github.com/stakater/Reloader
   * @see https://docs.stakater.com/reloader/1.4/how-to-guides/use-reloader-with-argocd.html
   */
  RELOADER = 'Reloader',
  /**
   * Annotate nothing. cert-manager still renews the Secrets, but the pods
   * keep the old certificate until they restart for another reason: roll
   * them (`kubectl rollout restart`, a CronJob, your deploy cadence) within
   * `renewBefore` of each renewal.
   */
  NONE = 'None',
}

/** The Reloader annotation that rolls a workload when one of the named Secrets changes. */
export const RELOADER_SECRET_ANNOTATION = 'secret.reloader.stakater.com/reload';

/** Annotations for `secrets` under `rotation` (sorted, deduplicated names). @internal */
export function rotationAnnotationsFor(rotation: CertificateRotation, secrets: readonly kplus.ISecret[]): { [key: string]: string } {
  if (rotation !== CertificateRotation.RELOADER) return {};
  const names = secretNames(secrets);
  return names.length > 0 ? { [RELOADER_SECRET_ANNOTATION]: names.join(',') } : {};
}

// Secrets already annotated per workload, so that several calls (several
// certificates, several authorities) merge into one annotation value.
const annotated = new WeakMap<kplus.AbstractPod, Set<string>>();

/** Adds (merges) the Reloader annotation to a workload's metadata. @internal */
export function addReloaderAnnotation(workload: kplus.AbstractPod, secrets: readonly kplus.ISecret[]): void {
  const add = secretNames(secrets);
  if (add.length === 0) return;
  let names = annotated.get(workload);
  if (!names) {
    const set = new Set<string>();
    names = set;
    annotated.set(workload, set);
    workload.metadata.addAnnotation(RELOADER_SECRET_ANNOTATION, lazyString(() => [...set].sort().join(',')));
  }
  for (const name of add) names.add(name);
}

function secretNames(secrets: readonly kplus.ISecret[]): string[] {
  return [...new Set((secrets ?? []).map(s => s.name))].sort();
}
