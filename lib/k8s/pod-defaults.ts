import { createHash } from 'crypto';
import { ApiObject, JsonPatch, Lazy, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { invalid } from '../frp/errors';

/** The uid/gid every container runs as (the frp images have no USER). @internal */
export const NON_ROOT_ID = 65532;

/**
 * Container security context for Pod Security Standards "restricted": non-root,
 * no privilege escalation, all capabilities dropped, RuntimeDefault seccomp,
 * read-only root filesystem. @internal
 */
export function restrictedSecurityContext(): kplus.ContainerSecurityContextProps {
  return {
    ensureNonRoot: true,
    user: NON_ROOT_ID,
    group: NON_ROOT_ID,
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: [kplus.Capability.ALL] },
    seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
  };
}

/** Pod-level security context for the restricted profile. @internal */
export function restrictedPodSecurityContext(): kplus.PodSecurityContextProps {
  return { ensureNonRoot: true, user: NON_ROOT_ID, group: NON_ROOT_ID, fsGroup: NON_ROOT_ID };
}

/**
 * Pod settings of every workload we render: the restricted security context,
 * no service account token, no NetworkPolicy of cdk8s-plus' own (`isolate`)
 * and no selector by its path-hash label (`select`: we select by labels).
 * @internal
 */
export function restrictedPodProps(): {
  securityContext: kplus.PodSecurityContextProps; automountServiceAccountToken: false; isolate: false; select: false;
} {
  return { securityContext: restrictedPodSecurityContext(), automountServiceAccountToken: false, isolate: false, select: false };
}

/** Default requests and limits of a container. @internal */
export interface ResourceDefaults {
  readonly cpuRequest: kplus.Cpu;
  readonly cpuLimit: kplus.Cpu;
  readonly memoryRequest: Size;
  readonly memoryLimit: Size;
}

/** The small frp processes (and HAProxy, nginx). @internal */
export const FRP_RESOURCES: ResourceDefaults = {
  cpuRequest: kplus.Cpu.millis(50), cpuLimit: kplus.Cpu.millis(500), memoryRequest: Size.mebibytes(32), memoryLimit: Size.mebibytes(256),
};

/**
 * Requests and limits for the small frp processes (or `defaults`). What the user gives wins,
 * field by field; what they leave out keeps the default, so every container
 * always has cpu and memory requests and limits. @internal
 */
export function resourcesWithDefaults(user?: kplus.ContainerResources, defaults: ResourceDefaults = FRP_RESOURCES): kplus.ContainerResources {
  return {
    cpu: {
      request: storedCpu(user?.cpu?.request) ?? defaults.cpuRequest,
      limit: storedCpu(user?.cpu?.limit) ?? defaults.cpuLimit,
    },
    memory: {
      request: user?.memory?.request ?? defaults.memoryRequest,
      limit: user?.memory?.limit ?? defaults.memoryLimit,
    },
    ephemeralStorage: user?.ephemeralStorage,
  };
}

/**
 * A CPU quantity in the form the API server stores it: whole cores as units
 * ("1000m" reads back as "1"), else as given. Rendered otherwise, a client-side
 * diff (Argo CD's default) never settles. @internal
 */
export function storedCpu(cpu: kplus.Cpu | undefined): kplus.Cpu | undefined {
  const m = cpu && /^([0-9]+)000m$/.exec(cpu.amount);
  return m ? kplus.Cpu.units(Number(m[1])) : cpu;
}

/**
 * Drops what cdk8s-plus renders at a value the API server does not store (Go's
 * omitempty drops the zero value): minReadySeconds 0 and hostNetwork false on a
 * workload, an empty externalIPs on a Service. Left in, they read back as
 * removed and a client-side diff (Argo CD's default) shows the object OutOfSync
 * for ever. Each is dropped only at that value. @internal
 */
export function omitUnstoredDefaults(obj: kplus.Deployment | kplus.DaemonSet | kplus.StatefulSet | kplus.Service): void {
  const api = ApiObject.of(obj);
  if (obj instanceof kplus.Service) {
    // our Services never set externalIPs (cdk8s-plus has no way to add them later)
    api.addJsonPatch(JsonPatch.remove('/spec/externalIPs'));
    return;
  }
  const minReady = obj instanceof kplus.DaemonSet ? obj.minReadySeconds : obj.minReady.toSeconds();
  if (minReady === 0) api.addJsonPatch(JsonPatch.remove('/spec/minReadySeconds'));
  if (!obj.hostNetwork) api.addJsonPatch(JsonPatch.remove('/spec/template/spec/hostNetwork'));
}

/** sha256 of text, hex. @internal */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A string computed when the manifest is written (after every construct has
 * registered its part), typed as string so it fits cdk8s-plus props. @internal
 */
export function lazyString(produce: () => string): string {
  return Lazy.any({ produce }) as unknown as string;
}

/** Annotation that rolls pods when their config changes. @internal */
export const CONFIG_CHECKSUM_ANNOTATION = 'checksum/config';

/** Checks that an image reference is pinned (a tag other than latest, or a digest). @internal */
export function checkImage(where: string, field: string, image: string): void {
  const m = /^([^@\s]+?)(?::([\w][\w.-]{0,127}))?(@sha256:[a-f0-9]{64})?$/.exec(image ?? '');
  if (!m || (!m[2] && !m[3]) || m[2] === 'latest') {
    invalid(where, field, `must be a pinned image (name:tag other than latest, or name@sha256:digest), got ${JSON.stringify(image)}`);
  }
}
