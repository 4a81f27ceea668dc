import { DEFAULT_MAX_BACKENDS } from '../service/schema';

/**
 * A DistributedService's status (contract 3) from what the cluster reports,
 * never from intent: pure functions of the observed objects (unit-tested in
 * test/operator). The state follows seed 000's diagram.
 * @internal
 */

export type State = 'Pending' | 'Provisioning' | 'Running' | 'Updating' | 'Degraded' | 'Failed' | 'Terminating';
export type ConditionType = 'Ready' | 'ConfigurationValid' | 'ConfigurationApplied' | 'CertificatesReady' | 'BackendsAvailable';
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  readonly type: ConditionType;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
  readonly lastTransitionTime?: string;
  readonly observedGeneration?: number;
}

/**
 * The Secrets a pod template reads (volumes, projected volumes, env and envFrom),
 * sorted: a pod that does not become available may be waiting for one of them,
 * and the operator never reads Secrets to check (least privilege), so it names them.
 */
export function secretsReadBy(template: any): string[] {
  const spec = template?.spec ?? {};
  const names = new Set<string>();
  for (const v of spec.volumes ?? []) {
    if (v.secret?.secretName) names.add(v.secret.secretName);
    for (const p of v.projected?.sources ?? []) if (p.secret?.name) names.add(p.secret.name);
  }
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef?.name) names.add(e.valueFrom.secretKeyRef.name);
    for (const e of c.envFrom ?? []) if (e.secretRef?.name) names.add(e.secretRef.name);
  }
  return [...names].sort();
}

/** Is a workload rolled out and available (as `kubectl rollout status` judges)? Undefined: fine. */
export function workloadProblem(live: any | undefined, appliedGeneration?: number): string | undefined {
  const problem = rolloutProblem(live, appliedGeneration);
  const secrets = secretsReadBy(live?.spec?.template);
  if (problem === undefined || !/ (available|ready)$/.test(problem) || secrets.length === 0) return problem;
  const ns = live.metadata?.namespace;
  return `${problem} (its pods read Secret${secrets.length > 1 ? 's' : ''} ${secrets.join(', ')}: `
    + `if one is missing, \`kubectl -n ${ns} get events\` says so)`;
}

function rolloutProblem(live: any | undefined, appliedGeneration?: number): string | undefined {
  if (live === undefined) return 'not created yet';
  const name = `${live.kind} ${live.metadata?.namespace}/${live.metadata?.name}`;
  const gen = live.metadata?.generation ?? 0;
  const s = live.status ?? {};
  if (appliedGeneration !== undefined && gen < appliedGeneration) return `${name}: the new generation is not observed yet`;
  if ((s.observedGeneration ?? 0) < gen) return `${name}: the controller has not observed generation ${gen} yet`;
  if (live.kind === 'Deployment') {
    const want = live.spec?.replicas ?? 1;
    if ((s.updatedReplicas ?? 0) < want) return `${name}: ${s.updatedReplicas ?? 0} of ${want} replicas updated`;
    if ((s.replicas ?? 0) > (s.updatedReplicas ?? 0)) return `${name}: ${(s.replicas ?? 0) - (s.updatedReplicas ?? 0)} old replicas pending termination`;
    if ((s.availableReplicas ?? 0) < want) return `${name}: ${s.availableReplicas ?? 0} of ${want} replicas available`;
    return undefined;
  }
  if (live.kind === 'StatefulSet') {
    const want = live.spec?.replicas ?? 1;
    if ((s.readyReplicas ?? 0) < want) return `${name}: ${s.readyReplicas ?? 0} of ${want} replicas ready`;
    if (s.updateRevision && s.currentRevision !== s.updateRevision && (s.updatedReplicas ?? 0) < want) return `${name}: ${s.updatedReplicas ?? 0} of ${want} replicas updated`;
    return undefined;
  }
  if (live.kind === 'DaemonSet') {
    const want = s.desiredNumberScheduled ?? 0;
    if ((s.updatedNumberScheduled ?? 0) < want) return `${name}: ${s.updatedNumberScheduled ?? 0} of ${want} pods updated`;
    if ((s.numberAvailable ?? 0) < want) return `${name}: ${s.numberAvailable ?? 0} of ${want} pods available`;
    return undefined;
  }
  return undefined;
}

/** Is a cert-manager Certificate issued (condition Ready True)? Undefined: fine. */
export function certificateProblem(live: any | undefined, name: string): string | undefined {
  if (live === undefined) return `Certificate ${name}: not created yet`;
  const ready = (live.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
  if (ready?.status === 'True') return undefined;
  return `Certificate ${name}: ${ready ? `${ready.reason ?? 'not ready'}${ready.message ? `: ${ready.message}` : ''}` : 'not issued yet'}`;
}

/** One endpoint of a backends Service's EndpointSlices: a backend. */
export interface BackendEndpoint {
  /** The pod's uid (else its addresses): the same backend across slices and observations. */
  readonly id: string;
  /** `ip:port` it answers on (the slice's first port), or the ip when the slice has no port. */
  readonly address: string;
  /** `namespace/name` of its pod, when the endpoint names one. */
  readonly pod?: string;
  /** Ready (unset counts as ready, as the API defines); in any slice that lists it. */
  readonly ready: boolean;
  readonly terminating: boolean;
}

/** The backends EndpointSlices list, each endpoint once, in the slices' order. */
export function listEndpoints(slices: readonly any[]): BackendEndpoint[] {
  const seen = new Map<string, BackendEndpoint>();
  for (const slice of slices) {
    const port = slice.ports?.[0]?.port;
    for (const e of slice.endpoints ?? []) {
      const ip: string = (e.addresses ?? []).join(',');
      const id: string = e.targetRef?.uid ?? ip;
      const ref = e.targetRef;
      const before = seen.get(id);
      seen.set(id, {
        id,
        address: before?.address ?? (port === undefined ? ip : `${ip}:${port}`),
        ...(ref?.kind === 'Pod' && ref.name ? { pod: `${ref.namespace ?? slice.metadata?.namespace}/${ref.name}` } : {}),
        ready: (before?.ready ?? false) || e.conditions?.ready !== false,
        terminating: (before?.terminating ?? false) || e.conditions?.terminating === true,
      });
    }
  }
  return [...seen.values()];
}

/** Ready and all endpoints of EndpointSlices (ready unset counts as ready, as the API defines). */
export function countEndpoints(slices: readonly any[]): { ready: number; total: number } {
  const all = listEndpoints(slices);
  return { ready: all.filter(e => e.ready).length, total: all.length };
}

/** An event about the backends of a service (issue 18: "Discovered 3 backends", "Removed backend 10.0.1.7:11434: not ready"). */
export interface BackendEvent {
  readonly reason: 'BackendDiscovered' | 'BackendRemoved';
  readonly note: string;
}

/**
 * What changed between two observations of a service's backends: a
 * BackendDiscovered with the number ready when a backend turned ready, and a
 * BackendRemoved for each ready backend that is no longer, naming it and why
 * (not ready, terminating, or gone from the EndpointSlices: its pod deleted or
 * no longer selected). `before` undefined (nothing observed since the
 * operator started): from the number ready in the status, `readyBefore`.
 */
export function backendEvents(
  before: readonly BackendEndpoint[] | undefined, after: readonly BackendEndpoint[], readyBefore: number,
): BackendEvent[] {
  const ready = after.filter(e => e.ready).length;
  const discovered = (): BackendEvent => ({ reason: 'BackendDiscovered', note: `Discovered ${ready} backend${ready === 1 ? '' : 's'}` });
  if (before === undefined) {
    if (ready > readyBefore) return [discovered()];
    if (ready < readyBefore) return [{ reason: 'BackendRemoved', note: `Removed ${readyBefore - ready} backends (${ready} ready)` }];
    return [];
  }
  const wasReady = new Set(before.filter(e => e.ready).map(e => e.id));
  const now = new Map(after.map(e => [e.id, e]));
  const out: BackendEvent[] = after.some(e => e.ready && !wasReady.has(e.id)) ? [discovered()] : [];
  for (const e of before.filter(x => x.ready)) {
    const n = now.get(e.id);
    if (n?.ready) continue;
    const why = n === undefined ? 'gone from the EndpointSlices' : n.terminating ? 'terminating' : 'not ready';
    out.push({ reason: 'BackendRemoved', note: `Removed backend ${e.address}${e.pod ? ` (pod ${e.pod})` : ''}: ${why}` });
  }
  return out;
}

/** What was observed for one service. */
export interface Observation {
  readonly generation: number;
  readonly deleting: boolean;
  /** The spec is valid (alone and with the others); else the problems. */
  readonly problems: readonly string[];
  /** What applying this generation's objects gave: undefined ok; else why not. */
  readonly applyError?: string;
  /** Nothing of this service was applied yet (a first valid spec still pending). */
  readonly applied: boolean;
  readonly workloadProblems: readonly string[];
  /** Undefined when the bundle has no certificates (insecureSkipVerify). */
  readonly certificateProblems?: readonly string[];
  /**
   * Backends: undefined when the cluster cannot observe them. `slots`: the
   * balancer's server slots when it resolves the backends (maxBackends).
   */
  readonly backends?: { readonly ready: number; readonly total: number; readonly listed: boolean; readonly slots?: number };
}

/** The previous status, as read from the object. */
export interface PreviousStatus {
  readonly state?: State;
  readonly observedGeneration?: number;
  readonly conditions?: readonly Condition[];
}

/** The next state, by seed 000's diagram, from the observation and the previous state. */
export function nextState(o: Observation, ready: boolean, prev: PreviousStatus): State {
  if (o.deleting) return 'Terminating';
  if (o.problems.length > 0 || o.applyError !== undefined) return 'Failed';
  if (!o.applied) return 'Pending';
  if (ready) return 'Running';
  const wasServing = prev.state === 'Running' || prev.state === 'Degraded' || prev.state === 'Updating';
  const newGeneration = prev.observedGeneration !== undefined && prev.observedGeneration < o.generation;
  if (prev.state === 'Updating' && !newGeneration) return 'Updating';
  if (wasServing && newGeneration) return 'Updating';
  if (prev.state === 'Failed' && newGeneration && prev.conditions?.some(c => c.type === 'ConfigurationApplied' && c.status === 'True')) return 'Updating';
  if (wasServing) return 'Degraded';
  return 'Provisioning';
}

/** More ready backends than the balancer's server slots: how many get no traffic, and the remedy. */
function overSlots(ready: number, total: number, slots: number): string {
  const left = ready - slots;
  return `${ready} of ${total} backends ready, but the balancer spreads over at most ${slots} (spec.backends.discovery.maxBackends): `
    + `${left} get${left === 1 ? 's' : ''} no traffic from it; raise maxBackends to at least ${ready}`;
}

/** The conditions and state of one service. */
export function deriveStatus(o: Observation, prev: PreviousStatus, now: string): {
  state: State; conditions: Condition[]; activeBackends: number; totalBackends: number;
} {
  const valid = o.problems.length === 0;
  const cond = (type: ConditionType, status: ConditionStatus, reason: string, message: string): Condition => {
    const before = prev.conditions?.find(c => c.type === type);
    const lastTransitionTime = before && before.status === status && before.lastTransitionTime ? before.lastTransitionTime : now;
    return { type, status, reason, message, lastTransitionTime, observedGeneration: o.generation };
  };
  const configValid = valid
    ? cond('ConfigurationValid', 'True', 'Valid', 'the spec renders with every other DistributedService')
    : cond('ConfigurationValid', 'False', 'InvalidSpec', o.problems.join('\n'));
  const configApplied = !valid
    ? cond('ConfigurationApplied', 'False', 'InvalidSpec', o.applied ? 'not applied: the last valid generation keeps serving' : 'not applied: the spec is invalid')
    : o.applyError !== undefined ? cond('ConfigurationApplied', 'False', 'ApplyFailed', o.applyError)
      : o.applied ? cond('ConfigurationApplied', 'True', 'Applied', 'every object of the bundle is applied')
        : cond('ConfigurationApplied', 'Unknown', 'Pending', 'not applied yet');
  const certs = o.certificateProblems === undefined
    ? cond('CertificatesReady', 'True', 'NoCertificates', 'the bundle has no certificates (insecureSkipVerify)')
    : o.certificateProblems.length === 0 ? cond('CertificatesReady', 'True', 'Issued', 'every certificate is issued')
      : cond('CertificatesReady', 'False', 'NotIssued', o.certificateProblems.join('\n'));
  const b = o.backends;
  const active = b?.ready ?? 0;
  const total = b?.total ?? 0;
  const backends = b === undefined ? cond('BackendsAvailable', 'Unknown', 'NotObservable', 'the backends are not observable in the cluster')
    : b.listed ? cond('BackendsAvailable', b.total > 0 ? 'True' : 'False', 'Listed', `${b.total} endpoints listed in spec.backends.endpoints`)
      : b.slots !== undefined && b.ready > b.slots ? cond('BackendsAvailable', 'True', 'MaxBackendsExceeded', overSlots(b.ready, b.total, b.slots))
        : b.ready > 0 ? cond('BackendsAvailable', 'True', 'BackendsReady', `${b.ready} of ${b.total} backends ready`)
          : cond('BackendsAvailable', 'False', 'NoReadyBackends', `0 of ${b.total} backends ready`);
  const notReady = [
    ...(valid ? [] : ['the spec is invalid']),
    ...(o.applyError !== undefined ? ['applying failed'] : []),
    ...(valid && !o.applied ? ['not applied yet'] : []),
    ...o.workloadProblems,
    ...(o.certificateProblems ?? []),
    ...(backends.status === 'False' ? [backends.message] : []),
  ];
  const ready = !o.deleting && notReady.length === 0;
  const readyCond = o.deleting ? cond('Ready', 'False', 'Terminating', 'being deleted')
    : ready ? cond('Ready', 'True', 'Ready', 'frps, frpc and the backends are available')
      : cond('Ready', 'False', valid ? (o.applied ? 'NotAvailable' : 'Pending') : 'InvalidSpec', notReady.join('\n'));
  return {
    state: nextState(o, ready, prev),
    conditions: [readyCond, configValid, configApplied, certs, backends],
    activeBackends: active,
    totalBackends: total,
  };
}

/**
 * Where a service's backends are observed: the Service whose EndpointSlices
 * list them, listed endpoints (present by definition), or nothing observable
 * (frpc as a sidecar of the backends' own workload).
 */
export type BackendSource =
  | { readonly kind: 'service'; readonly namespace: string; readonly name: string; readonly selector?: string; readonly slots?: number }
  | { readonly kind: 'listed'; readonly count: number }
  | { readonly kind: 'none' };

/** The backend source of a service, from its spec and its rendered objects. */
export function backendSource(ds: any, rendered: readonly any[]): BackendSource {
  const ns: string = ds.metadata?.namespace;
  const name: string = ds.metadata?.name;
  const b = ds.spec?.backends ?? {};
  if (Array.isArray(b.endpoints) && b.endpoints.length > 0) return { kind: 'listed', count: b.endpoints.length };
  const d = b.discovery ?? {};
  // an HAProxy balancer resolves the backends into maxBackends server slots; without one, kube-proxy spreads over every pod
  const balancer = rendered.some(o => o.kind === 'Deployment'
    && o.metadata?.labels?.['frp.io/distributed-service'] === name
    && o.metadata?.labels?.['app.kubernetes.io/component'] === 'balancer'
    && o.metadata?.labels?.['app.kubernetes.io/name'] === 'haproxy');
  const slots = balancer ? { slots: typeof d.maxBackends === 'number' ? d.maxBackends : DEFAULT_MAX_BACKENDS } : {};
  if (d.mode === 'dns') return { kind: 'service', namespace: d.namespace ?? ns, name: d.serviceName ?? `${name}-backends`, ...slots };
  const svc = rendered.find(o => o.kind === 'Service'
    && o.metadata?.labels?.['frp.io/distributed-service'] === name
    && o.metadata?.labels?.['app.kubernetes.io/component'] === 'backends'
    && o.metadata?.namespace === (d.namespace ?? ns));
  if (!svc) return { kind: 'none' };
  const selector = Object.entries(svc.spec?.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  return { kind: 'service', namespace: svc.metadata.namespace, name: svc.metadata.name, selector: selector || undefined, ...slots };
}
