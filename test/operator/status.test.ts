import { readFileSync } from 'fs';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { renderBundle } from '../../lib/bundle/distributed-service-bundle';
import {
  Observation, backendSource, backendEvents, certificateProblem, countEndpoints, deriveStatus, listEndpoints, nextState, workloadProblem,
} from '../../lib/operator/status';
import { RequiredSecrets } from '../../lib/required-secrets';

const NOW = '2026-12-06T05:00:00Z';
const healthy: Observation = {
  generation: 1,
  deleting: false,
  problems: [],
  applied: true,
  workloadProblems: [],
  certificateProblems: [],
  backends: { ready: 3, total: 3, listed: false },
};

describe('observations', () => {
  const deployment = (spec: number, status: any, generation = 2) => ({ kind: 'Deployment', metadata: { namespace: 'n', name: 'd', generation }, spec: { replicas: spec }, status });

  test('a Deployment is available when its controller saw this generation and every replica is updated and available', () => {
    expect(workloadProblem(deployment(2, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }))).toBeUndefined();
    expect(workloadProblem(deployment(2, { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }))).toBe('Deployment n/d: the controller has not observed generation 2 yet');
    expect(workloadProblem(deployment(2, { observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 2 }))).toBe('Deployment n/d: 1 old replicas pending termination');
    expect(workloadProblem(deployment(2, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1 }))).toBe('Deployment n/d: 1 of 2 replicas available');
    expect(workloadProblem(undefined)).toBe('not created yet');
    // the cache still holds the generation before the one just applied
    expect(workloadProblem(deployment(2, { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2 }), 3)).toBe('Deployment n/d: the new generation is not observed yet');
  });

  test('a workload not available names the Secrets its pods read (every Secret the bundle needs, at the workload that reads it)', () => {
    const dir = join(__dirname, '..', '..', 'examples', 'manifests');
    for (const file of ['ollama-cluster.yaml', 'postgres-proxy.yaml', 'user-service.yaml', 'webapp-frontend.yaml']) {
      const inputs = parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d, i) => ({ source: `${file}#${i}`, manifest: d.toJS() }));
      const { objects } = renderBundle(inputs);
      const workloads = objects.filter(o => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind));
      expect(workloads.length).toBeGreaterThan(0);
      const required = RequiredSecrets.fromObjects(objects);
      let named = 0;
      for (const w of workloads) {
        const n = w.spec.replicas ?? 1;
        const replicaSet = { observedGeneration: 1, replicas: n, updatedReplicas: n, readyReplicas: 0, availableReplicas: 0 };
        const status = { ...replicaSet, desiredNumberScheduled: n, updatedNumberScheduled: n, numberAvailable: 0 };
        const down = { ...w, metadata: { ...w.metadata, generation: 1 }, status };
        const message = workloadProblem(down)!;
        expect(message).toMatch(new RegExp(`^${w.kind} ${w.metadata.namespace}/${w.metadata.name}: 0 of ${n} (replicas|pods) (available|ready)`));
        const reads = required.filter(x => x.namespace === w.metadata.namespace && x.readBy.includes(`${w.kind}/${w.metadata.name}`));
        const mounts = JSON.stringify(w.spec.template).includes('"secretName"');
        if (reads.length > 0 || mounts) {
          expect(message).toContain(`kubectl -n ${w.metadata.namespace} get events`);
          for (const r of reads) expect(message).toContain(r.name);
          named += reads.length;
        } else {
          expect(message).not.toContain('Secret');
        }
      }
      // every Secret the bundle needs is named by at least one workload
      expect(named).toBeGreaterThanOrEqual(required.length);
    }
    // the rollout itself still comes first, and an available workload has no problem
    const reads = { template: { spec: { volumes: [{ name: 't', secret: { secretName: 'frp-token' } }], containers: [{ env: [{ name: 'K', valueFrom: { secretKeyRef: { name: 'api-key', key: 'k' } } }] }] } } };
    const d = (status: any) => ({ kind: 'Deployment', metadata: { namespace: 'n', name: 'd', generation: 1 }, spec: { replicas: 1, ...reads }, status });
    expect(workloadProblem(d({ observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }))).toBeUndefined();
    expect(workloadProblem(d({ observedGeneration: 0 }))).toBe('Deployment n/d: the controller has not observed generation 1 yet');
    expect(workloadProblem(d({ observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 0 })))
      .toBe('Deployment n/d: 0 of 1 replicas available (its pods read Secrets api-key, frp-token: if one is missing, `kubectl -n n get events` says so)');
  });

  test('StatefulSets and DaemonSets', () => {
    expect(workloadProblem({ kind: 'StatefulSet', metadata: { namespace: 'n', name: 's', generation: 1 }, spec: { replicas: 2 }, status: { observedGeneration: 1, readyReplicas: 1 } })).toBe('StatefulSet n/s: 1 of 2 replicas ready');
    expect(workloadProblem({ kind: 'DaemonSet', metadata: { namespace: 'n', name: 'x', generation: 1 }, status: { observedGeneration: 1, desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2 } })).toBeUndefined();
  });

  test('a Certificate counts when cert-manager says Ready', () => {
    expect(certificateProblem({ status: { conditions: [{ type: 'Ready', status: 'True' }] } }, 'n/c')).toBeUndefined();
    expect(certificateProblem({ status: { conditions: [{ type: 'Ready', status: 'False', reason: 'Issuing', message: 'in progress' }] } }, 'n/c')).toBe('Certificate n/c: Issuing: in progress');
    expect(certificateProblem({}, 'n/c')).toBe('Certificate n/c: not issued yet');
  });

  test('backends: ready endpoints of the EndpointSlices (unset ready counts as ready), each endpoint once', () => {
    const slices = [
      { endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true }, targetRef: { uid: 'a' } }, { addresses: ['10.0.0.2'], conditions: { ready: false }, targetRef: { uid: 'b' } }] },
      { endpoints: [{ addresses: ['10.0.0.3'], targetRef: { uid: 'c' } }, { addresses: ['10.0.0.1'], conditions: { ready: true }, targetRef: { uid: 'a' } }] },
    ];
    expect(countEndpoints(slices)).toEqual({ ready: 2, total: 3 });
  });

  test('backends by name: the address and port each ready or not ready endpoint answers on, and its pod', () => {
    const slices = [
      {
        ports: [{ name: 'backend', port: 11434 }],
        endpoints: [
          { addresses: ['10.0.0.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', namespace: 'ai', name: 'p-1', uid: 'a' } },
          { addresses: ['10.0.0.2'], conditions: { ready: false, serving: true, terminating: true }, targetRef: { kind: 'Pod', namespace: 'ai', name: 'p-2', uid: 'b' } },
        ],
      },
      { endpoints: [{ addresses: ['10.0.0.3'] }] },
    ];
    expect(listEndpoints(slices)).toEqual([
      { id: 'a', address: '10.0.0.1:11434', pod: 'ai/p-1', ready: true, terminating: false },
      { id: 'b', address: '10.0.0.2:11434', pod: 'ai/p-2', ready: false, terminating: true },
      { id: '10.0.0.3', address: '10.0.0.3', ready: true, terminating: false },
    ]);
  });

  test('backend events: how many after a gain; each backend that left, named, with why; nothing when unchanged', () => {
    const e = (id: string, ready = true, terminating = false) => ({ id, address: `10.0.0.${id}:80`, pod: `ns/p-${id}`, ready, terminating });
    const before = [e('1'), e('2'), e('3')];
    expect(backendEvents(before, before, 3)).toEqual([]);
    expect(backendEvents(before, [...before, e('4'), e('5', false)], 3)).toEqual([{ reason: 'BackendDiscovered', note: 'Discovered 4 backends' }]);
    expect(backendEvents([], [e('1')], 0)).toEqual([{ reason: 'BackendDiscovered', note: 'Discovered 1 backend' }]);
    expect(backendEvents(before, [e('1'), e('2', false), e('3', false, true)], 3)).toEqual([
      { reason: 'BackendRemoved', note: 'Removed backend 10.0.0.2:80 (pod ns/p-2): not ready' },
      { reason: 'BackendRemoved', note: 'Removed backend 10.0.0.3:80 (pod ns/p-3): terminating' },
    ]);
    expect(backendEvents(before, [e('3')], 3)).toEqual([
      { reason: 'BackendRemoved', note: 'Removed backend 10.0.0.1:80 (pod ns/p-1): gone from the EndpointSlices' },
      { reason: 'BackendRemoved', note: 'Removed backend 10.0.0.2:80 (pod ns/p-2): gone from the EndpointSlices' },
    ]);
    // one replaced by another: both said
    expect(backendEvents(before, [e('1'), e('2'), e('4')], 3)).toEqual([
      { reason: 'BackendDiscovered', note: 'Discovered 3 backends' },
      { reason: 'BackendRemoved', note: 'Removed backend 10.0.0.3:80 (pod ns/p-3): gone from the EndpointSlices' },
    ]);
    // nothing seen before (the operator restarted): from the count in status
    expect(backendEvents(undefined, [e('1')], 3)).toEqual([{ reason: 'BackendRemoved', note: 'Removed 2 backends (1 ready)' }]);
    expect(backendEvents(undefined, [e('1'), e('2')], 1)).toEqual([{ reason: 'BackendDiscovered', note: 'Discovered 2 backends' }]);
    expect(backendEvents(undefined, [e('1')], 1)).toEqual([]);
  });

  test('where the backends are observed: the backends Service, listed endpoints, a dns Service', () => {
    const backends = { kind: 'Service', metadata: { namespace: 'web', name: 'w-backends', labels: { 'frp.io/distributed-service': 'w', 'app.kubernetes.io/component': 'backends' } }, spec: { selector: { app: 'w', tier: 'web' } } };
    expect(backendSource({ metadata: { namespace: 'web', name: 'w' }, spec: { backends: { discovery: { mode: 'auto' } } } }, [backends]))
      .toEqual({ kind: 'service', namespace: 'web', name: 'w-backends', selector: 'app=w,tier=web' });
    expect(backendSource({ metadata: { namespace: 'n', name: 'u' }, spec: { backends: { endpoints: [{}, {}] } } }, [])).toEqual({ kind: 'listed', count: 2 });
    expect(backendSource({ metadata: { namespace: 'n', name: 'p' }, spec: { backends: { discovery: { mode: 'dns', namespace: 'db' } } } }, [])).toEqual({ kind: 'service', namespace: 'db', name: 'p-backends' });
    expect(backendSource({ metadata: { namespace: 'n', name: 'p' }, spec: { backends: { discovery: { mode: 'auto' } } } }, [])).toEqual({ kind: 'none' });
  });

  test('with an HAProxy balancer, its server slots (maxBackends, default 32) cap the backends that get traffic', () => {
    const backends = { kind: 'Service', metadata: { namespace: 'web', name: 'w-backends', labels: { 'frp.io/distributed-service': 'w', 'app.kubernetes.io/component': 'backends' } }, spec: { clusterIP: 'None', selector: { app: 'w' } } };
    const balancer = { kind: 'Deployment', metadata: { namespace: 'web', name: 'w-balancer', labels: { 'frp.io/distributed-service': 'w', 'app.kubernetes.io/component': 'balancer', 'app.kubernetes.io/name': 'haproxy' } } };
    const ds = (discovery: any) => ({ metadata: { namespace: 'web', name: 'w' }, spec: { backends: { discovery } } });
    expect(backendSource(ds({ mode: 'selector', maxBackends: 4 }), [backends, balancer])).toEqual({ kind: 'service', namespace: 'web', name: 'w-backends', selector: 'app=w', slots: 4 });
    expect(backendSource(ds({ mode: 'selector' }), [backends, balancer])).toMatchObject({ slots: 32 });
    expect(backendSource(ds({ mode: 'dns', serviceName: 'pods', maxBackends: 7 }), [balancer])).toEqual({ kind: 'service', namespace: 'web', name: 'pods', slots: 7 });
    // frpc forwards to a Service's cluster IP (kube-proxy spreads): no cap
    expect(backendSource(ds({ mode: 'selector', maxBackends: 4 }), [backends])).not.toHaveProperty('slots');
  });
});

describe('the state diagram of seed 000', () => {
  const notReady = { ...healthy, workloadProblems: ['Deployment n/d: 0 of 1 replicas available'] };

  test('Pending -> Provisioning -> Running', () => {
    expect(nextState({ ...healthy, applied: false }, false, {})).toBe('Pending');
    expect(nextState(notReady, false, { state: 'Pending', observedGeneration: 1 })).toBe('Provisioning');
    expect(nextState(notReady, false, { state: 'Provisioning', observedGeneration: 1 })).toBe('Provisioning');
    expect(nextState(healthy, true, { state: 'Provisioning', observedGeneration: 1 })).toBe('Running');
  });

  test('an edit: Running -> Updating until Ready -> Running', () => {
    const edited = { ...notReady, generation: 2 };
    expect(nextState(edited, false, { state: 'Running', observedGeneration: 1 })).toBe('Updating');
    expect(nextState(edited, false, { state: 'Updating', observedGeneration: 2 })).toBe('Updating');
    expect(nextState({ ...healthy, generation: 2 }, true, { state: 'Updating', observedGeneration: 2 })).toBe('Running');
  });

  test('something unavailable while Running, with no new generation: Degraded, until it recovers', () => {
    expect(nextState(notReady, false, { state: 'Running', observedGeneration: 1 })).toBe('Degraded');
    expect(nextState(notReady, false, { state: 'Degraded', observedGeneration: 1 })).toBe('Degraded');
    expect(nextState(healthy, true, { state: 'Degraded', observedGeneration: 1 })).toBe('Running');
  });

  test('Failed on an invalid spec or a failed apply, from any state; Terminating when deleted', () => {
    for (const state of ['Pending', 'Provisioning', 'Running', 'Updating', 'Degraded'] as const) {
      expect(nextState({ ...healthy, problems: ['spec.x: bad'] }, false, { state })).toBe('Failed');
      expect(nextState({ ...healthy, applyError: 'conflict' }, false, { state })).toBe('Failed');
      expect(nextState({ ...healthy, deleting: true }, false, { state })).toBe('Terminating');
    }
    // fixed: Failed -> Running when ready, Failed -> Updating for a new generation of a served service
    expect(nextState(healthy, true, { state: 'Failed', observedGeneration: 1 })).toBe('Running');
    expect(nextState({ ...notReady, generation: 3 }, false, { state: 'Failed', observedGeneration: 2, conditions: [{ type: 'ConfigurationApplied', status: 'True', reason: 'Applied', message: '' }] })).toBe('Updating');
  });
});

describe('conditions', () => {
  const byType = (o: Observation, prev = {}) => Object.fromEntries(deriveStatus(o, prev, NOW).conditions.map(c => [c.type, c]));

  test('a healthy service: every condition True, with the generation observed, activeBackends from the ready endpoints', () => {
    const s = deriveStatus(healthy, { state: 'Provisioning', observedGeneration: 1 }, NOW);
    expect(s.state).toBe('Running');
    expect(s.activeBackends).toBe(3);
    expect(s.conditions.map(c => [c.type, c.status, c.observedGeneration])).toEqual([
      ['Ready', 'True', 1], ['ConfigurationValid', 'True', 1], ['ConfigurationApplied', 'True', 1], ['CertificatesReady', 'True', 1], ['BackendsAvailable', 'True', 1],
    ]);
  });

  test('an invalid spec: ConfigurationValid False with the problems (field-named), Ready False', () => {
    const c = byType({ ...healthy, problems: ['spec.expose.port: must be 1-65535, got 0', 'spec.backends: give endpoints or discovery'] });
    expect(c.ConfigurationValid).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: 'spec.expose.port: must be 1-65535, got 0\nspec.backends: give endpoints or discovery' });
    expect(c.ConfigurationApplied).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: 'not applied: the last valid generation keeps serving' });
    expect(c.Ready).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
  });

  test('no ready backends: BackendsAvailable False and not Ready; listed endpoints count as present', () => {
    expect(byType({ ...healthy, backends: { ready: 0, total: 2, listed: false } }).BackendsAvailable).toMatchObject({ status: 'False', message: '0 of 2 backends ready' });
    expect(byType({ ...healthy, backends: { ready: 0, total: 2, listed: false } }).Ready.status).toBe('False');
    const listed = deriveStatus({ ...healthy, backends: { ready: 2, total: 2, listed: true } }, {}, NOW);
    expect(listed.activeBackends).toBe(2);
    expect(listed.conditions.find(c => c.type === 'BackendsAvailable')).toMatchObject({ status: 'True', reason: 'Listed' });
  });

  test('more ready backends than the balancer\'s slots: BackendsAvailable says how many get no traffic (still True: the others serve)', () => {
    const over = byType({ ...healthy, backends: { ready: 5, total: 6, listed: false, slots: 4 } });
    expect(over.BackendsAvailable).toMatchObject({
      status: 'True',
      reason: 'MaxBackendsExceeded',
      message: '5 of 6 backends ready, but the balancer spreads over at most 4 (spec.backends.discovery.maxBackends): 1 gets no traffic from it; raise maxBackends to at least 5',
    });
    expect(over.Ready.status).toBe('True');
    expect(byType({ ...healthy, backends: { ready: 9, total: 9, listed: false, slots: 4 } }).BackendsAvailable.message).toContain(': 5 get no traffic from it; raise maxBackends to at least 9');
    expect(byType({ ...healthy, backends: { ready: 4, total: 5, listed: false, slots: 4 } }).BackendsAvailable).toMatchObject({ reason: 'BackendsReady', message: '4 of 5 backends ready' });
  });

  test('lastTransitionTime moves only when the status changes', () => {
    const before = deriveStatus(healthy, {}, '2026-01-01T00:00:00Z');
    const same = deriveStatus(healthy, { state: 'Running', observedGeneration: 1, conditions: before.conditions }, NOW);
    expect(same.conditions.every(c => c.lastTransitionTime === '2026-01-01T00:00:00Z')).toBe(true);
    const changed = deriveStatus({ ...healthy, certificateProblems: ['Certificate n/c: not issued yet'] }, { state: 'Running', conditions: before.conditions }, NOW);
    expect(changed.conditions.find(c => c.type === 'CertificatesReady')!.lastTransitionTime).toBe(NOW);
    expect(changed.conditions.find(c => c.type === 'ConfigurationValid')!.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
  });
});
