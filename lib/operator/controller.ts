import type * as k8s from '@kubernetes/client-node';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { renderBundle } from '../bundle/distributed-service-bundle';
import { BACKEND_HEALTH_STATES, DISTRIBUTED_SERVICE_STATES, OPERATOR_METRICS } from '../operator-metrics-names';
import { EventRecorder } from './events';
import { apiMessage, Kube, parseBody, statusCode } from './kube';
import type { OperatorOptions } from './options';
import {
  DS_API_VERSION, DS_KIND, FINALIZER, INVENTORY_LABEL_SELECTOR, OwnedKind, PlannedObject, ServiceRef,
  conflictingManagers, manifestOf, mayForce, needsApply, objectKey, ownedKindOf, planObjects, planPrune, renderWithFallback, sourceOf, watchedKinds,
  writtenNamespaces,
} from './plan';
import { WorkQueue } from './queue';
import {
  BackendEndpoint, backendEvents, BackendSource, backendSource, certificateProblem, deriveStatus, listEndpoints, Observation, PreviousStatus, State,
  workloadProblem,
} from './status';

const KEY = 'bundle';
/** The spec the controller last applied for a service (kept on the object: survives restarts). */
const LAST_GOOD = 'frp.io/last-applied-spec';
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);
/** How long a reconcile waits after an event for the events that come with it. */
const BATCH_MS = 250;
/** How many applies run at once. */
const APPLY_CONCURRENCY = 8;

type Log = (msg: string, fields?: object) => void;

/** One service in a reconcile. */
interface Served {
  readonly ds: any;
  readonly ref: ServiceRef;
  readonly source: string;
  /** The manifest rendered for it: its spec, or its last good one (undefined: left out). */
  manifest?: any;
  problems: string[];
  applyErrors: string[];
  /** Objects of this service applied in this reconcile. */
  changed: number;
}

/**
 * The DistributedService controller (controller-runtime's shape): informers
 * feed a rate-limited work queue; each reconcile renders every served
 * DistributedService through the composition, applies what changed or
 * drifted (server-side apply, field manager cdk8s-frp-operator, never
 * forced), prunes what it applied that the render no longer has, and writes
 * every service's status from what the cluster reports.
 * @internal
 */
export class Controller {
  readonly queue = new WorkQueue();
  private readonly dsInformers: (k8s.Informer<any> & k8s.ObjectCache<any>)[] = [];
  private readonly owned = new Map<OwnedKind, k8s.Informer<any> & k8s.ObjectCache<any>>();
  private slices?: k8s.Informer<any> & k8s.ObjectCache<any>;
  private readonly lastApplied = new Map<string, string>();
  private readonly created = new Set<string>();
  private readonly appliedGeneration = new Map<string, number>();
  private renderCache?: { input: string; objects: any[] };
  /** The backends last observed for each service (by uid): what a BackendRemoved names. */
  private readonly backendsSeen = new Map<string, BackendEndpoint[]>();
  /** The services whose per-service metrics are set (`namespace/name`): removed when a service is gone. */
  private readonly measured = new Set<string>();
  private readonly events: EventRecorder;
  private synced = false;
  private stopping = false;
  private worker?: Promise<void>;
  private resync?: ReturnType<typeof setInterval>;
  private readonly metrics: {
    reconciles: Counter<'result'>;
    errors: Counter<string>;
    duration: Histogram<string>;
    state: Gauge<'namespace' | 'name' | 'state'>;
    backends: Gauge<'namespace' | 'name' | 'state'>;
    applied: Counter<'kind'>;
    pruned: Counter<'kind'>;
  };

  constructor(
    private readonly kube: Kube, private readonly options: OperatorOptions, registry: Registry, instance: string, private readonly log: Log,
  ) {
    this.events = new EventRecorder(kube, instance, log);
    const m = OPERATOR_METRICS;
    this.metrics = {
      reconciles: new Counter({ name: m.reconcileTotal, help: 'Reconciles finished, by result', labelNames: ['result'], registers: [registry] }),
      errors: new Counter({ name: m.reconcileErrorsTotal, help: 'Reconciles that ended in an error', registers: [registry] }),
      duration: new Histogram({ name: m.reconcileDurationSeconds, help: 'Time of one reconcile (render, apply, prune, status)', registers: [registry], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] }),
      state: new Gauge({ name: m.state, help: 'State of each DistributedService (1 for its status.state)', labelNames: ['namespace', 'name', 'state'], registers: [registry] }),
      backends: new Gauge({ name: m.backends, help: 'Backends of each DistributedService: healthy (ready endpoints) and unhealthy', labelNames: ['namespace', 'name', 'state'], registers: [registry] }),
      applied: new Counter({ name: 'frp_operator_applied_objects_total', help: 'Objects applied (server-side apply)', labelNames: ['kind'], registers: [registry] }),
      pruned: new Counter({ name: 'frp_operator_pruned_objects_total', help: 'Objects pruned', labelNames: ['kind'], registers: [registry] }),
    };
  }

  /** Caches filled and the first reconcile done. */
  get ready(): boolean {
    return this.synced;
  }

  /** Starts the informers, waits for their first lists, and runs the worker. */
  async start(resyncMs = 60_000): Promise<void> {
    // events come in bursts (kubectl apply of many services, a rollout): one reconcile after a short pause serves the burst
    const wake = () => this.queue.addAfter(KEY, BATCH_MS);
    const namespaces = this.options.namespaces.length > 0 ? this.options.namespaces : [undefined];
    for (const ns of namespaces) {
      const path = ns ? `/apis/frp.io/v1beta1/namespaces/${ns}/distributedservices` : '/apis/frp.io/v1beta1/distributedservices';
      this.dsInformers.push(this.kube.informer<any>(path, DS_API_VERSION, DS_KIND, ns));
    }
    for (const kind of watchedKinds(this.options.bundle.insecureSkipVerify === true)) {
      if (!(await this.served(kind))) continue;
      const [group, version] = kind.apiVersion.includes('/') ? kind.apiVersion.split('/') : ['', kind.apiVersion];
      const path = group ? `/apis/${group}/${version}/${kind.plural}` : `/api/${version}/${kind.plural}`;
      this.owned.set(kind, this.kube.informer<any>(path, kind.apiVersion, kind.kind, undefined, INVENTORY_LABEL_SELECTOR));
    }
    this.slices = this.kube.informer<any>('/apis/discovery.k8s.io/v1/endpointslices', 'discovery.k8s.io/v1', 'EndpointSlice');
    const all = [...this.dsInformers, ...this.owned.values(), this.slices];
    for (const informer of all) {
      for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, wake);
      informer.on('error', (err: unknown) => {
        this.log('watch failed, restarting', { error: apiMessage(err) });
        if (!this.stopping) setTimeout(() => void informer.start().catch(() => undefined), 2_000).unref();
      });
    }
    await Promise.all(all.map(i => i.start()));
    this.worker = this.work();
    this.queue.add(KEY);
    this.resync = setInterval(wake, resyncMs);
    this.resync.unref();
  }

  /** Whether the API server serves `kind` (a CRD may be missing: cert-manager, Gateway API...). */
  private async served(kind: OwnedKind): Promise<boolean> {
    try {
      this.kube.requests.inc({ verb: 'list', resource: kind.kind });
      await this.kube.objects.list(kind.apiVersion, kind.kind, undefined, undefined, undefined, undefined, undefined, undefined, 1);
      return true;
    } catch (e) {
      if (statusCode(e) === 404) {
        this.log('kind not served, not watched', { kind: `${kind.apiVersion} ${kind.kind}` });
        return false;
      }
      throw e;
    }
  }

  /** Stops taking work, lets the reconcile in progress finish, stops the informers. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.resync) clearInterval(this.resync);
    this.queue.shutDown();
    await this.worker;
    await Promise.all([...this.dsInformers, ...this.owned.values(), ...(this.slices ? [this.slices] : [])].map(i => i.stop().catch(() => undefined)));
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const end = this.metrics.duration.startTimer();
      try {
        const again = await this.reconcile();
        this.metrics.reconciles.inc({ result: again ? 'requeue' : 'success' });
        this.queue.forget(key);
        if (again) this.queue.addAfter(key, 2_000);
      } catch (e) {
        this.metrics.reconciles.inc({ result: 'error' });
        this.metrics.errors.inc();
        this.log('reconcile failed, retrying', { error: apiMessage(e), retries: this.queue.retries(key) });
        this.queue.addRateLimited(key);
      } finally {
        end();
        this.queue.done(key);
      }
    }
  }

  private services(): any[] {
    return this.dsInformers.flatMap(i => [...i.list()]);
  }

  /**
   * One level-triggered pass over everything served. Returns true when it
   * should look again soon (something applied, not yet observed).
   */
  async reconcile(): Promise<boolean> {
    const served: Served[] = this.services()
      .sort((a, b) => sourceOf(a) < sourceOf(b) ? -1 : sourceOf(a) > sourceOf(b) ? 1 : 0)
      .map(ds => ({
        ds: { ...ds }, // status is replaced on this copy, never on the cache's object
        ref: { namespace: ds.metadata.namespace, name: ds.metadata.name, uid: ds.metadata.uid },
        source: sourceOf(ds),
        problems: [],
        applyErrors: [],
        changed: 0,
      }));
    // the finalizer first: nothing is applied for a service before it can be cleaned up
    for (const s of served) {
      if (s.ds.metadata.deletionTimestamp) continue;
      if (!(s.ds.metadata.finalizers ?? []).includes(FINALIZER) && !this.created.has(s.ref.uid)) {
        this.created.add(s.ref.uid); // the cache may not show the finalizer yet at the next pass
        await this.applyServiceMetadata(s.ds, true, lastGood(s.ds));
        await this.events.record(s.ds, 'Normal', 'ServiceCreated', 'Create', 'DistributedService created');
        if (!s.ds.status?.state) {
          // seen, nothing applied yet
          const generation = s.ds.metadata.generation ?? 0;
          const pending = deriveStatus({ generation, deleting: false, problems: [], applied: false, workloadProblems: [] }, {}, timestamp());
          s.ds.status = { state: pending.state, observedGeneration: generation, conditions: pending.conditions, lastUpdateTime: timestamp() };
          await this.kube.patchStatus('frp.io', 'v1beta1', 'distributedservices', s.ref.namespace, s.ref.name, s.ds.status);
          this.log('state', { service: s.source, from: null, to: 'Pending' });
        }
      }
    }
    const live = served.filter(s => !s.ds.metadata.deletionTimestamp);
    const rendered = this.renderServed(live);
    let objects: PlannedObject[] = [];
    if (rendered) {
      const included = live.filter(s => s.manifest !== undefined);
      objects = planObjects(rendered, included.map(s => s.ref));
      await this.applyAll(objects, served);
      const desired = new Set(objects.map(o => o.key));
      const inventory = [...this.owned.values()].flatMap(i => [...i.list()]);
      for (const obj of planPrune(inventory, desired, writtenNamespaces(this.options.namespaces, this.options.bundle))) {
        this.log('pruning', { object: objectKey(obj) });
        await this.kube.delete(obj);
        this.metrics.pruned.inc({ kind: obj.kind });
        this.lastApplied.delete(objectKey(obj));
      }
      // a service applied without errors at its generation keeps that spec as its last good one
      for (const s of included) {
        if (s.problems.length > 0 || s.applyErrors.length > 0) continue;
        const spec = JSON.stringify(s.ds.spec);
        if (JSON.stringify(s.manifest.spec) === spec && lastGood(s.ds) !== spec) await this.applyServiceMetadata(s.ds, true, spec);
      }
      // the deleted: once their objects are gone (pruned above, or by the garbage collector)
      for (const s of served) {
        if (s.ds.metadata.deletionTimestamp && (s.ds.metadata.finalizers ?? []).includes(FINALIZER)) {
          await this.applyServiceMetadata(s.ds, false, undefined);
        }
      }
    }
    let again = false;
    for (const s of served) {
      if (await this.writeStatus(s, objects, rendered !== undefined)) again = true;
    }
    this.forgetGone(served);
    this.synced = true;
    return again;
  }

  /**
   * Renders the served services (renderWithFallback: a refused spec leaves
   * its service at its last good spec, or out). Undefined: even the last
   * good bundle is refused; nothing is applied or pruned.
   */
  private renderServed(live: Served[]): any[] | undefined {
    const result = renderWithFallback(live.map(s => {
      const good = lastGood(s.ds);
      const manifest = manifestOf(s.ds);
      return { source: s.source, manifest, lastGood: good === undefined ? undefined : { ...manifest, spec: JSON.parse(good) } };
    }), inputs => {
      const key = JSON.stringify([inputs, this.options.bundle]);
      if (this.renderCache?.input === key) return this.renderCache.objects;
      const { objects } = renderBundle(inputs, this.options.bundle);
      this.renderCache = { input: key, objects };
      return objects;
    });
    for (const s of live) {
      s.manifest = result.rendered.get(s.source);
      s.problems.push(...result.problems.get(s.source) ?? []);
    }
    if (result.objects === undefined) {
      this.log('bundle refused, nothing applied', { problems: [...result.problems.values()].flat() });
      for (const s of live) if (s.problems.length === 0) s.applyErrors.push('the bundle of the last good specs is refused: nothing applied');
    }
    return result.objects;
  }

  /** Applies what needs it, APPLY_CONCURRENCY at a time, in render order. */
  private async applyAll(objects: PlannedObject[], served: Served[]): Promise<void> {
    const todo = objects.filter(p => needsApply(p, this.liveOf(p.object), this.lastApplied));
    let next = 0;
    const one = async () => {
      while (next < todo.length) {
        const p = todo[next++];
        try {
          const before = this.liveOf(p.object)?.metadata?.resourceVersion;
          const got: any = await this.applyOne(p.object);
          this.lastApplied.set(p.key, JSON.stringify(p.object));
          if (got?.metadata?.generation !== undefined) this.appliedGeneration.set(p.key, got.metadata.generation);
          this.metrics.applied.inc({ kind: p.object.kind });
          // an apply that changed nothing (after a restart, every object is applied once) is no change
          const changed = got?.metadata?.resourceVersion !== before;
          this.log('applied', { object: p.key, changed });
          if (!changed) continue;
          for (const u of p.users) {
            const s = served.find(x => x.ref.uid === u.uid);
            if (s) s.changed++;
          }
        } catch (e) {
          const conflict = statusCode(e) === 409;
          const message = `${p.key}: ${conflict ? 'conflict with another field manager (not forced): ' : ''}${apiMessage(e)}`;
          this.log('apply failed', { object: p.key, error: message });
          for (const u of p.users) served.find(x => x.ref.uid === u.uid)?.applyErrors.push(message);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(APPLY_CONCURRENCY, todo.length) }, one));
  }

  /**
   * Server-side apply without force; a conflict only with hand edits (Update
   * managers) is drift and is applied again with force, a conflict with
   * another applier is thrown (reported).
   */
  private async applyOne(obj: any): Promise<any> {
    try {
      return await this.kube.apply(obj);
    } catch (e) {
      if (statusCode(e) !== 409) throw e;
      const managers = conflictingManagers(parseBody(e));
      const live = await this.kube.read(obj);
      if (!mayForce(managers, live)) throw e;
      this.log('reverting a hand edit', { object: objectKey(obj), managers });
      return this.kube.apply(obj, true);
    }
  }

  private liveOf(obj: any): any | undefined {
    const kind = ownedKindOf(obj);
    const informer = kind && this.owned.get(kind);
    return informer?.get(obj.metadata.name, obj.metadata.namespace);
  }

  /**
   * The controller's own metadata on a DistributedService (server-side apply:
   * only what it sets): the finalizer and the last good spec.
   */
  private async applyServiceMetadata(ds: any, finalizer: boolean, spec: string | undefined): Promise<void> {
    await this.kube.apply({
      apiVersion: DS_API_VERSION,
      kind: DS_KIND,
      metadata: {
        name: ds.metadata.name,
        namespace: ds.metadata.namespace,
        ...(finalizer ? { finalizers: [FINALIZER] } : {}),
        ...(spec !== undefined ? { annotations: { [LAST_GOOD]: spec } } : {}),
      },
    });
  }

  /** Observes one service and patches its status if it changed; true: look again soon. */
  private async writeStatus(s: Served, objects: PlannedObject[], renderedOk: boolean): Promise<boolean> {
    const ds = s.ds;
    const mine = objects.filter(p => p.users.some(u => u.uid === s.ref.uid));
    const prev: PreviousStatus = ds.status ?? {};
    // applied: the cluster has objects of a render that includes this service
    const applied = renderedOk ? mine.length > 0 && s.applyErrors.length === 0
      : prev.conditions?.some(c => c.type === 'ConfigurationApplied' && c.status === 'True') ?? false;
    const workloads = mine.filter(p => WORKLOAD_KINDS.has(p.object.kind));
    const certificates = mine.filter(p => p.object.kind === 'Certificate');
    const source = mine.length > 0 ? backendSource(ds, mine.map(p => p.object)) : backendSource(ds, []);
    const endpoints = source.kind === 'service' ? listEndpoints(this.slicesOf(source)) : undefined;
    const observation: Observation = {
      generation: ds.metadata.generation ?? 0,
      deleting: !!ds.metadata.deletionTimestamp,
      problems: s.problems,
      applyError: s.applyErrors.length > 0 ? s.applyErrors.join('\n') : undefined,
      applied,
      workloadProblems: workloads.map(p => workloadProblem(this.liveOf(p.object), this.appliedGeneration.get(p.key)))
        .filter((x): x is string => x !== undefined),
      certificateProblems: certificates.length === 0 && !this.options.bundle.insecureSkipVerify ? [] : certificates.length === 0 ? undefined
        : certificates.map(p => certificateProblem(this.liveOf(p.object), `${p.object.metadata.namespace}/${p.object.metadata.name}`)).filter((x): x is string => x !== undefined),
      backends: this.backendsOf(source, endpoints),
    };
    const now = timestamp();
    const derived = deriveStatus(observation, prev, now);
    // a generation applied in this very reconcile is not observed yet
    const state: State = s.changed > 0 && derived.state === 'Running' ? (prev.state === undefined || prev.state === 'Pending' || prev.state === 'Provisioning' ? 'Provisioning' : 'Updating') : derived.state;
    const status = {
      state,
      observedGeneration: observation.generation,
      activeBackends: derived.activeBackends,
      totalBackends: derived.totalBackends,
      selector: source.kind === 'service' ? source.selector ?? null : null,
      externalEndpoint: externalEndpoint(ds) ?? null,
      conditions: derived.conditions,
      lastUpdateTime: (ds.status as any)?.lastUpdateTime ?? now,
    };
    const { namespace, name } = s.ref;
    this.measured.add(`${namespace}/${name}`);
    for (const st of DISTRIBUTED_SERVICE_STATES) this.metrics.state.set({ namespace, name, state: st }, st === state ? 1 : 0);
    this.metrics.backends.set({ namespace, name, state: 'healthy' }, derived.activeBackends);
    this.metrics.backends.set({ namespace, name, state: 'unhealthy' }, derived.totalBackends - derived.activeBackends);
    await this.recordEvents(s, prev, status, observation, endpoints);
    const comparable = (x: any) => JSON.stringify({
      ...x, lastUpdateTime: undefined, selector: x?.selector ?? null, externalEndpoint: x?.externalEndpoint ?? null,
    });
    if (comparable(ds.status ?? {}) !== comparable(status) && !(observation.deleting && !(ds.metadata.finalizers ?? []).includes(FINALIZER))) {
      status.lastUpdateTime = now;
      if (prev.state !== state) this.log('state', { service: s.source, from: prev.state ?? null, to: state, generation: observation.generation });
      try {
        await this.kube.patchStatus('frp.io', 'v1beta1', 'distributedservices', s.ref.namespace, s.ref.name, status);
      } catch (e) {
        if (statusCode(e) !== 404) throw e;
      }
    }
    return s.changed > 0 || (state !== 'Running' && state !== 'Failed' && state !== 'Pending' && observation.workloadProblems.some(p => p.includes('not observed')));
  }

  /** The EndpointSlices of a backends Service (from the informer's cache). */
  private slicesOf(source: BackendSource & { kind: 'service' }): any[] {
    return (this.slices?.list(source.namespace) ?? []).filter((x: any) => x.metadata?.labels?.['kubernetes.io/service-name'] === source.name);
  }

  private backendsOf(source: BackendSource, endpoints: readonly BackendEndpoint[] | undefined): Observation['backends'] {
    if (source.kind === 'listed') return { ready: source.count, total: source.count, listed: true };
    if (source.kind === 'none' || endpoints === undefined) return undefined;
    const ready = endpoints.filter(e => e.ready).length;
    return { ready, total: endpoints.length, listed: false, ...(source.slots !== undefined ? { slots: source.slots } : {}) };
  }

  /** A service no longer served (deleted, or out of the watched namespaces): its series and what was seen of it go. */
  private forgetGone(served: readonly Served[]): void {
    const now = new Set(served.map(s => `${s.ref.namespace}/${s.ref.name}`));
    for (const key of [...this.measured].filter(k => !now.has(k))) {
      const [namespace, name] = key.split('/');
      for (const st of DISTRIBUTED_SERVICE_STATES) this.metrics.state.remove({ namespace, name, state: st });
      for (const st of BACKEND_HEALTH_STATES) this.metrics.backends.remove({ namespace, name, state: st });
      this.measured.delete(key);
    }
    const uids = new Set(served.map(s => s.ref.uid));
    for (const uid of [...this.backendsSeen.keys()].filter(u => !uids.has(u))) this.backendsSeen.delete(uid);
  }

  private async recordEvents(
    s: Served, prev: PreviousStatus & { activeBackends?: number }, status: any, o: Observation, endpoints: BackendEndpoint[] | undefined,
  ): Promise<void> {
    const ds = s.ds;
    const was = (type: string) => prev.conditions?.find(c => c.type === type);
    const now = (type: string) => status.conditions.find((c: any) => c.type === type);
    if (now('ConfigurationValid').status === 'False' && (was('ConfigurationValid')?.status !== 'False' || was('ConfigurationValid')?.message !== now('ConfigurationValid').message)) {
      await this.events.record(ds, 'Warning', 'InvalidSpec', 'Validate', now('ConfigurationValid').message);
    }
    if (o.applyError !== undefined && (was('ConfigurationApplied')?.reason !== 'ApplyFailed' || was('ConfigurationApplied')?.message !== o.applyError)) {
      await this.events.record(ds, 'Warning', 'ApplyFailed', 'Apply', o.applyError);
    }
    if (s.changed > 0 && o.applyError === undefined) {
      await this.events.record(ds, 'Normal', 'ConfigurationApplied', 'Apply', `FRP configuration applied (generation ${o.generation}, ${s.changed} objects)`);
    }
    if (o.backends && !o.backends.listed && endpoints !== undefined) {
      let recorded = true;
      for (const e of backendEvents(this.backendsSeen.get(s.ref.uid), endpoints, prev.activeBackends ?? 0)) {
        recorded = await this.events.record(ds, 'Normal', e.reason, e.reason === 'BackendDiscovered' ? 'Discover' : 'Remove', e.note) && recorded;
      }
      // a change whose events were refused (RBAC, quota) stays unseen: said again at the next reconcile
      if (recorded) this.backendsSeen.set(s.ref.uid, endpoints);
    }
    // more ready backends than the balancer's slots: said once per change (the condition keeps saying it)
    const over = now('BackendsAvailable');
    if (over.reason === 'MaxBackendsExceeded' && (was('BackendsAvailable')?.reason !== over.reason || was('BackendsAvailable')?.message !== over.message)) {
      await this.events.record(ds, 'Warning', 'MaxBackendsExceeded', 'Discover', over.message);
    }
  }
}

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function lastGood(ds: any): string | undefined {
  const v = ds.metadata?.annotations?.[LAST_GOOD];
  return typeof v === 'string' ? v : undefined;
}

/** Where end users reach the service, when the spec says (a domain and path). */
function externalEndpoint(ds: any): string | undefined {
  const e = ds.spec?.expose;
  if (e?.domain) return `${ds.spec.serviceType === 'https' ? 'https' : 'http'}://${e.domain}${e.path ?? ''}`;
  return undefined;
}
