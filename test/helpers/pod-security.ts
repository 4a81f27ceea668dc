/**
 * Pod Security Standards "restricted" (Kubernetes 1.28) plus this project's own rules,
 * for every object that holds a pod spec.
 *
 * Restricted (baseline included): no hostNetwork/hostPID/hostIPC, no hostPath volumes,
 * no hostPort, no privileged or Windows HostProcess containers, safe sysctls only, no
 * custom SELinux user/role/type, default procMount, AppArmor annotations only
 * runtime/default or localhost/*, volume types limited to configMap, csi, downwardAPI,
 * emptyDir, ephemeral, persistentVolumeClaim, projected, secret; every container
 * (init and ephemeral too): allowPrivilegeEscalation false, capabilities.drop contains
 * ALL and add only NET_BIND_SERVICE, runAsNonRoot true (container or pod level, never
 * false on a container), runAsUser not 0, seccompProfile RuntimeDefault or Localhost
 * (pod level or on every container, never Unconfined).
 *
 * Project rules: readOnlyRootFilesystem true, cpu and memory requests AND limits on every
 * container (init containers included), image pinned by a non-`latest` tag or a digest,
 * readiness and liveness probes on every regular container.
 *
 * Not checked: that probes point at real ports, that the pinned tag exists, resource sizes.
 */
import { isPlainObject, joinPath, objectLabel, problem, subPath } from './k8s-schema';

/** Where each workload kind keeps its pod template (spec path; a bare Pod has its spec at `spec`). */
const POD_TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/** Kinds that hold a pod spec. */
export const WORKLOAD_KINDS: ReadonlySet<string> = new Set(['Pod', ...Object.keys(POD_TEMPLATE_PATHS)]);

/** A pod spec inside a manifest, with the JSON paths to it and to its metadata. */
export interface PodTemplate {
  readonly spec: any;
  readonly specPath: string;
  readonly metadata: any;
  readonly metadataPath: string;
}

/** The pod spec (and template metadata) held by a workload, or undefined for other kinds. */
export function podTemplateOf(obj: any): PodTemplate | undefined {
  if (!isPlainObject(obj) || typeof obj.kind !== 'string' || !WORKLOAD_KINDS.has(obj.kind)) return undefined;
  if (obj.kind === 'Pod') return { spec: obj.spec, specPath: 'spec', metadata: obj.metadata, metadataPath: 'metadata' };
  let template: any = obj;
  let at = '';
  for (const key of POD_TEMPLATE_PATHS[obj.kind]) {
    template = template?.[key];
    at = joinPath(at, key);
  }
  return { spec: template?.spec, specPath: joinPath(at, 'spec'), metadata: template?.metadata, metadataPath: joinPath(at, 'metadata') };
}

/** One container with its JSON path and role. */
export interface ContainerRef {
  readonly container: any;
  readonly path: string;
  readonly role: 'container' | 'initContainer' | 'ephemeralContainer';
}

/** All containers of a pod spec (regular, init and ephemeral). */
export function containersOf(spec: any, specPath: string): ContainerRef[] {
  const refs: ContainerRef[] = [];
  const roles = [['containers', 'container'], ['initContainers', 'initContainer'], ['ephemeralContainers', 'ephemeralContainer']] as const;
  for (const [field, role] of roles) {
    const list = spec?.[field];
    if (Array.isArray(list)) list.forEach((container, i) => refs.push({ container, path: `${joinPath(specPath, field)}[${i}]`, role }));
  }
  return refs;
}

const ALLOWED_VOLUME_SOURCES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports',
]);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t']);
const SECCOMP_OK = new Set(['RuntimeDefault', 'Localhost']);
const DIGEST = /@sha256:[a-f0-9]{64}$/;

/** Problems with an image reference: must carry a tag other than `latest`, or a digest. */
export function imagePinError(image: unknown): string | undefined {
  if (typeof image !== 'string' || image === '') return 'image is missing';
  if (image.includes('@')) return DIGEST.test(image) ? undefined : `image ${JSON.stringify(image)} has a malformed digest (want @sha256:<64 hex>)`;
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  if (colon < 0) return `image ${JSON.stringify(image)} is not pinned: add a version tag or a digest`;
  const tag = lastSegment.slice(colon + 1);
  if (tag === 'latest') return `image ${JSON.stringify(image)} uses the mutable "latest" tag: pin a version or a digest`;
  if (!/^[\w][\w.-]{0,127}$/.test(tag)) return `image ${JSON.stringify(image)} has an invalid tag`;
  return undefined;
}

/**
 * Checks one manifest. Objects without a pod spec give no problems.
 * Messages look like `Deployment/web: spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation: ...`.
 */
export function checkPodSecurity(obj: any): string[] {
  const tpl = podTemplateOf(obj);
  if (!tpl) return [];
  const label = objectLabel(obj);
  const out: string[] = [];
  const fail = (at: string, msg: string) => out.push(problem(label, at, msg));
  const { spec, specPath } = tpl;
  if (!isPlainObject(spec)) return [problem(label, specPath, 'pod spec is missing')];

  // --- pod level ---
  for (const ns of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
    if (spec[ns] === true) fail(joinPath(specPath, ns), 'host namespaces are forbidden (baseline)');
  }
  const podSc: any = isPlainObject(spec.securityContext) ? spec.securityContext : {};
  const podScPath = joinPath(specPath, 'securityContext');
  if (podSc.runAsNonRoot === false) fail(joinPath(podScPath, 'runAsNonRoot'), 'must not be false (restricted)');
  if (podSc.runAsUser === 0) fail(joinPath(podScPath, 'runAsUser'), 'must not be 0 (restricted)');
  const podSeccomp = podSc.seccompProfile?.type;
  if (podSeccomp !== undefined && !SECCOMP_OK.has(podSeccomp)) {
    fail(subPath(podScPath, 'seccompProfile.type'), `must be RuntimeDefault or Localhost, got ${JSON.stringify(podSeccomp)} (restricted)`);
  }
  checkSeLinux(podSc.seLinuxOptions, joinPath(podScPath, 'seLinuxOptions'), fail);
  if (podSc.windowsOptions?.hostProcess === true) fail(subPath(podScPath, 'windowsOptions.hostProcess'), 'HostProcess pods are forbidden (baseline)');
  (Array.isArray(podSc.sysctls) ? podSc.sysctls : []).forEach((s: any, i: number) => {
    if (!SAFE_SYSCTLS.has(s?.name)) fail(`${joinPath(podScPath, 'sysctls')}[${i}].name`, `sysctl ${JSON.stringify(s?.name)} is not in the safe set (baseline)`);
  });
  (Array.isArray(spec.volumes) ? spec.volumes : []).forEach((v: any, i: number) => {
    const at = `${joinPath(specPath, 'volumes')}[${i}]`;
    const sources = Object.keys(v ?? {}).filter((k) => k !== 'name');
    for (const src of sources) {
      if (!ALLOWED_VOLUME_SOURCES.has(src)) {
        fail(joinPath(at, src), `volume type ${src} is not allowed (restricted allows ${[...ALLOWED_VOLUME_SOURCES].join(', ')})`);
      }
    }
  });
  const annotations = isPlainObject(tpl.metadata?.annotations) ? tpl.metadata.annotations : {};
  for (const [k, v] of Object.entries(annotations)) {
    if (k.startsWith('container.apparmor.security.beta.kubernetes.io/') && v !== 'runtime/default' && !String(v).startsWith('localhost/')) {
      fail(joinPath(joinPath(tpl.metadataPath, 'annotations'), k), `AppArmor profile ${JSON.stringify(v)} is not allowed (baseline)`);
    }
  }

  // --- containers ---
  const containers = containersOf(spec, specPath);
  if (!containers.some((c) => c.role === 'container')) fail(joinPath(specPath, 'containers'), 'pod has no containers');
  for (const { container: c, path: at, role } of containers) {
    if (!isPlainObject(c)) continue;
    const resources: any = c.resources;
    const sc: any = isPlainObject(c.securityContext) ? c.securityContext : {};
    const scPath = joinPath(at, 'securityContext');
    const scAt = (k: string) => subPath(scPath, k);

    if (sc.privileged === true) fail(scAt('privileged'), 'privileged containers are forbidden (baseline)');
    if (sc.allowPrivilegeEscalation !== false) fail(scAt('allowPrivilegeEscalation'), 'must be false (restricted)');
    if (sc.runAsNonRoot === false) fail(scAt('runAsNonRoot'), 'must not be false (restricted)');
    else if (sc.runAsNonRoot !== true && podSc.runAsNonRoot !== true) fail(scAt('runAsNonRoot'), 'must be true here or in the pod securityContext (restricted)');
    if (sc.runAsUser === 0) fail(scAt('runAsUser'), 'must not be 0 (restricted)');
    const seccomp = sc.seccompProfile?.type;
    if (seccomp !== undefined && !SECCOMP_OK.has(seccomp)) fail(scAt('seccompProfile.type'), `must be RuntimeDefault or Localhost, got ${JSON.stringify(seccomp)} (restricted)`);
    else if (seccomp === undefined && podSeccomp === undefined) fail(scAt('seccompProfile.type'), 'set RuntimeDefault here or in the pod securityContext (restricted)');
    const drop: unknown[] = Array.isArray(sc.capabilities?.drop) ? sc.capabilities.drop : [];
    if (!drop.includes('ALL')) fail(scAt('capabilities.drop'), 'must contain ALL (restricted)');
    const add: unknown[] = Array.isArray(sc.capabilities?.add) ? sc.capabilities.add : [];
    for (const cap of add) if (cap !== 'NET_BIND_SERVICE') fail(scAt('capabilities.add'), `may only add NET_BIND_SERVICE, found ${JSON.stringify(cap)} (restricted)`);
    if (sc.procMount !== undefined && sc.procMount !== 'Default') fail(scAt('procMount'), 'must be Default (baseline)');
    checkSeLinux(sc.seLinuxOptions, scAt('seLinuxOptions'), fail);
    if (sc.windowsOptions?.hostProcess === true) fail(scAt('windowsOptions.hostProcess'), 'HostProcess containers are forbidden (baseline)');
    (Array.isArray(c.ports) ? c.ports : []).forEach((p: any, i: number) => {
      if (p?.hostPort !== undefined && p.hostPort !== 0) fail(`${joinPath(at, 'ports')}[${i}].hostPort`, 'host ports are forbidden (baseline)');
    });

    // Project rules (ephemeral debug containers cannot have resources or probes).
    if (role === 'ephemeralContainer') continue;
    if (sc.readOnlyRootFilesystem !== true) fail(scAt('readOnlyRootFilesystem'), 'must be true (project rule)');
    for (const kind of ['requests', 'limits'] as const) {
      for (const res of ['cpu', 'memory'] as const) {
        if (resources?.[kind]?.[res] === undefined) fail(joinPath(joinPath(at, 'resources'), kind), `missing ${res} ${kind} (project rule)`);
      }
    }
    const pin = imagePinError(c.image);
    if (pin) fail(joinPath(at, 'image'), `${pin} (project rule)`);
    // Restartable init containers (sidecars, restartPolicy Always) are long-running: probe them too.
    if (role === 'container' || c.restartPolicy === 'Always') {
      for (const probe of ['readinessProbe', 'livenessProbe'] as const) {
        if (!isPlainObject(c[probe])) fail(joinPath(at, probe), `missing ${probe} (project rule)`);
      }
    }
  }
  return out;
}

function checkSeLinux(opts: any, at: string, fail: (at: string, msg: string) => void): void {
  if (!isPlainObject(opts)) return;
  if (opts.type !== undefined && !SELINUX_TYPES.has(opts.type as string)) fail(joinPath(at, 'type'), `SELinux type ${JSON.stringify(opts.type)} is not allowed (baseline)`);
  for (const k of ['user', 'role'] as const) if (opts[k] !== undefined && opts[k] !== '') fail(joinPath(at, k), `custom SELinux ${k} is not allowed (baseline)`);
}
