import { readFileSync } from 'fs';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { renderBundle } from '../../lib/bundle/distributed-service-bundle';
import { render } from '../../lib/cli/render';
import {
  FIELD_MANAGER, INVENTORY_KINDS, conflictingManagers, mayForce, ServiceRef, appliedByUs, differences, manifestOf, needsApply, objectKey, ownedKindOf,
  planObjects, planPrune, renderWithFallback, usersOf, watchedKinds, withOwners, writtenNamespaces,
} from '../../lib/operator/plan';

const EXAMPLES = ['ollama-cluster', 'postgres-proxy', 'user-service', 'webapp-frontend'].map(n => join(__dirname, '..', '..', 'examples', 'manifests', `${n}.yaml`));

function renderExamples(extra: { frpsReplicas?: number } = {}): any[] {
  const yaml = render({ files: EXAMPLES, tokenSecret: 'frp-token', ...extra });
  return parseAllDocuments(yaml).map(d => d.toJS()).filter(Boolean);
}

const SERVICES: ServiceRef[] = [
  { namespace: 'ai-services', name: 'ollama-cluster', uid: 'u-ollama' },
  { namespace: 'databases', name: 'postgres-proxy', uid: 'u-pg' },
  { namespace: 'microservices', name: 'user-service', uid: 'u-user' },
  { namespace: 'web', name: 'webapp-frontend', uid: 'u-web' },
];

const find = (objects: any[], kind: string, ns: string | undefined, name: string) =>
  objects.find(o => o.kind === kind && o.metadata.namespace === ns && o.metadata.name === name);

describe('inventory kinds', () => {
  test('every kind the examples render (one and two frps replicas) is a kind the controller watches and prunes', () => {
    const kinds = [...renderExamples(), ...renderExamples({ frpsReplicas: 2 })].map(o => `${o.apiVersion} ${o.kind}`);
    expect(new Set(kinds).size).toBeGreaterThanOrEqual(9);
    expect([...new Set(kinds)].filter(k => !INVENTORY_KINDS.some(i => `${i.apiVersion} ${i.kind}` === k))).toEqual([]);
    expect(kinds).toContain('policy/v1 PodDisruptionBudget');
  });

  test('every rendered object carries the label the informers select on', () => {
    const objects = renderExamples();
    expect(objects.filter(o => o.metadata.labels?.['app.kubernetes.io/managed-by'] !== 'cdk8s').map(objectKey)).toEqual([]);
  });
});

describe('users and owner references', () => {
  const objects = renderExamples();

  test('a service\'s own objects are used by it alone; the front object next to frps by the service its name carries', () => {
    expect(usersOf(find(objects, 'Deployment', 'ai-services', 'ollama-cluster-frpc'), SERVICES)).toEqual([SERVICES[0]]);
    expect(usersOf(find(objects, 'Ingress', 'default', 'ollama-cluster-ai-services'), SERVICES)).toEqual([SERVICES[0]]);
    // two services of one name in two namespaces: the front name tells them apart
    const twins: ServiceRef[] = [{ namespace: 'a', name: 'web', uid: '1' }, { namespace: 'b', name: 'web', uid: '2' }];
    const front = { kind: 'Service', metadata: { namespace: 'default', name: 'web-b', labels: { 'frp.io/distributed-service': 'web' } } };
    expect(usersOf(front, twins)).toEqual([twins[1]]);
  });

  test('a certificate the CA issues for a service is that service\'s', () => {
    expect(usersOf(find(objects, 'Certificate', 'ai-services', 'ollama-cluster-frpc-tls'), SERVICES)).toEqual([SERVICES[0]]);
    expect(usersOf(find(objects, 'Certificate', 'microservices', 'user-service-frpc-server-ca'), SERVICES)).toEqual([SERVICES[2]]);
  });

  test('the shared objects (frps, the CA) are used by every service', () => {
    for (const [kind, ns, name] of [['Deployment', 'default', 'frps'], ['ClusterIssuer', undefined, 'frp-ca-default'], ['Certificate', 'cert-manager', 'frp-ca-default-root']] as const) {
      expect(usersOf(find(objects, kind, ns, name), SERVICES)).toEqual(SERVICES);
    }
  });

  test('owner references only where legal: same namespace; none on cluster-scoped or other-namespace objects', () => {
    const planned = planObjects(objects, SERVICES);
    const owners = (kind: string, ns: string | undefined, name: string) =>
      planned.find(p => p.key === objectKey(find(objects, kind, ns, name)))!.object.metadata.ownerReferences;
    expect(owners('Deployment', 'ai-services', 'ollama-cluster-frpc')).toEqual([{ apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', name: 'ollama-cluster', uid: 'u-ollama', controller: true }]);
    expect(owners('Deployment', 'default', 'frps')).toBeUndefined(); // no service lives in default
    expect(owners('ClusterIssuer', undefined, 'frp-ca-default')).toBeUndefined();
    expect(owners('Ingress', 'default', 'ollama-cluster-ai-services')).toBeUndefined();
    // a shared object in a namespace with two services: both own it, neither as controller
    const two: ServiceRef[] = [{ namespace: 'default', name: 'a', uid: '1' }, { namespace: 'default', name: 'b', uid: '2' }];
    expect(withOwners({ kind: 'Deployment', metadata: { namespace: 'default', name: 'frps' } }, two).metadata.ownerReferences)
      .toEqual([{ apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', name: 'a', uid: '1' }, { apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', name: 'b', uid: '2' }]);
    // the rendered object itself is not changed
    expect(find(objects, 'Deployment', 'ai-services', 'ollama-cluster-frpc').metadata.ownerReferences).toBeUndefined();
  });

  test('the composition reads a DistributedService as the CLI reads its file: no status, uid or managedFields', () => {
    const live = { apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', metadata: { name: 'x', namespace: 'n', uid: 'u', resourceVersion: '5', managedFields: [{}], annotations: { a: 'b' } }, spec: { s: 1 }, status: { state: 'Running' } };
    expect(manifestOf(live)).toEqual({ apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', metadata: { name: 'x', namespace: 'n' }, spec: { s: 1 } });
  });
});

describe('apply and prune planning', () => {
  const objects = renderExamples();
  const planned = planObjects(objects, SERVICES);
  const frpc = planned.find(p => p.key === 'apps/v1 Deployment ai-services/ollama-cluster-frpc')!;
  const ours = [{ manager: FIELD_MANAGER, operation: 'Apply' }];
  const live = (o: any, managedFields: any[] = ours) => ({ ...structuredClone(o), metadata: { ...structuredClone(o.metadata), uid: 'x', managedFields }, status: { replicas: 1 } });

  test('applied only when absent, changed since the last apply, or drifted (a hand edit)', () => {
    const applied = new Map([[frpc.key, JSON.stringify(frpc.object)]]);
    expect(needsApply(frpc, undefined, applied)).toBe(true);
    expect(needsApply(frpc, live(frpc.object), applied)).toBe(false); // server fields (uid, status) are not drift
    const edited = live(frpc.object);
    edited.spec.replicas = 5;
    expect(needsApply(frpc, edited, applied)).toBe(true);
    expect(differences(frpc.object, edited)).toEqual([`.spec.replicas: want ${frpc.object.spec.replicas}, have 5`]);
    expect(needsApply(frpc, live(frpc.object), new Map())).toBe(true); // after a restart: applied once again (idempotent)
  });

  test('pruned: what the controller applied that the render no longer has; never what it did not apply', () => {
    const desired = new Set(planned.map(p => p.key));
    const gone = live({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'web', name: 'old' } });
    const foreign = live({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'web', name: 'theirs' } }, [{ manager: 'kubectl', operation: 'Apply' }]);
    const updatedByUs = live({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'web', name: 'upd' } }, [{ manager: FIELD_MANAGER, operation: 'Update' }]);
    const deleting = live({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'web', name: 'going', deletionTimestamp: '2026-01-01T00:00:00Z' } });
    const kept = live(frpc.object);
    expect(planPrune([gone, foreign, updatedByUs, deleting, kept], desired).map(objectKey)).toEqual(['v1 ConfigMap web/old']);
    expect(appliedByUs(foreign)).toBe(false);
    expect(ownedKindOf(gone)?.plural).toBe('configmaps');
  });
});

describe('an invalid spec never takes down what serves (renderWithFallback)', () => {
  const web = parseAllDocuments(readFileSync(EXAMPLES[3], 'utf8'))[0].toJS();
  const twin = { ...web, metadata: { ...web.metadata, name: 'web-two' } };
  const subdomain = { ...web, spec: { ...web.spec, expose: { type: 'subdomain', subdomain: 'web' } } };
  const renderer = (inputs: { source: string; manifest: any }[]) => renderBundle(inputs, {}).objects;
  const keys = (objects: any[] | undefined) => (objects ?? []).map(objectKey).sort();

  test('valid specs render as they are', () => {
    const r = renderWithFallback([{ source: 'web/webapp-frontend', manifest: web }], renderer);
    expect(r.problems.size).toBe(0);
    expect(keys(r.objects)).toEqual(keys(renderer([{ source: 'web/webapp-frontend', manifest: web }])));
  });

  test('a newcomer claiming a served route is refused; the served one keeps its objects', () => {
    const r = renderWithFallback([
      { source: 'web/web-two', manifest: twin },
      { source: 'web/webapp-frontend', manifest: web, lastGood: web },
    ], renderer);
    expect(r.rendered.has('web/web-two')).toBe(false);
    expect(r.rendered.get('web/webapp-frontend')).toBe(web);
    expect(keys(r.objects)).toEqual(keys(renderer([{ source: 'web/webapp-frontend', manifest: web }])));
    // the clash, as the CLI words it, with the source of the service that reports it
    expect(r.problems.get('web/web-two')).toEqual([expect.stringMatching(/^(web\/webapp-frontend: )?web\/webapp-frontend: spec\.expose\.domain\+spec\.expose\.path: the route http:\/\/app\.example\.com\/frontend is already served by web\/web-two/)]);
    expect(r.problems.has('web/webapp-frontend')).toBe(false);
  });

  test('an invalid edit keeps the last good spec rendered, with the CLI\'s field-named message', () => {
    const r = renderWithFallback([{ source: 'web/webapp-frontend', manifest: subdomain, lastGood: web }], renderer);
    expect(r.rendered.get('web/webapp-frontend')).toBe(web);
    expect(keys(r.objects)).toEqual(keys(renderer([{ source: 'web/webapp-frontend', manifest: web }])));
    let cli = '';
    try {
      renderer([{ source: 'web/webapp-frontend', manifest: subdomain }]);
    } catch (e) {
      cli = (e as Error).message;
    }
    expect(cli).toMatch(/spec\.expose\.subdomain/);
    // the status says what the CLI prints for that document, less the source before it
    expect(cli.endsWith(r.problems.get('web/webapp-frontend')!.join('\n'))).toBe(true);
  });

  test('a new invalid service with nothing served: left out, nothing rendered for it', () => {
    const r = renderWithFallback([{ source: 'web/webapp-frontend', manifest: subdomain }], renderer);
    expect(r.rendered.size).toBe(0);
    expect(r.objects).toEqual([]);
    expect(r.problems.get('web/webapp-frontend')).toEqual([expect.stringMatching(/spec\.expose\.subdomain: needs a server with subDomainHost/)]);
  });
});

describe('conflicts: a hand edit is put back, another applier is reported', () => {
  // the Status the API server answers a conflicting apply with
  const conflict = {
    kind: 'Status',
    code: 409,
    reason: 'Conflict',
    message: 'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas',
    details: { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-edit" using apps/v1', field: '.spec.replicas' }] },
  };
  const live = (entries: { manager: string; operation: string }[]) => ({ metadata: { managedFields: entries } });

  test('the managers a conflict names', () => {
    expect(conflictingManagers(conflict)).toEqual(['kubectl-edit']);
    expect(conflictingManagers({ message: 'Apply failed with 2 conflicts: conflict with "argocd-controller": .data.a\nconflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas' })).toEqual(['argocd-controller', 'kubectl']);
    expect(conflictingManagers(undefined)).toEqual([]);
  });

  test('forced only when every conflicting manager edited by hand (Update)', () => {
    expect(mayForce(['kubectl-edit'], live([{ manager: FIELD_MANAGER, operation: 'Apply' }, { manager: 'kubectl-edit', operation: 'Update' }]))).toBe(true);
    expect(mayForce(['argocd-controller'], live([{ manager: 'argocd-controller', operation: 'Apply' }]))).toBe(false);
    expect(mayForce(['kubectl-edit', 'argocd-controller'], live([{ manager: 'kubectl-edit', operation: 'Update' }, { manager: 'argocd-controller', operation: 'Apply' }]))).toBe(false);
    expect(mayForce(['gone'], live([]))).toBe(false);
    expect(mayForce([], live([]))).toBe(false);
  });
});

describe('the kinds the controller watches', () => {
  test('every bundle kind; with insecureSkipVerify none of cert-manager\'s (no bundle has one, and FrpOperator grants no permission on them)', () => {
    expect(watchedKinds(false)).toEqual(INVENTORY_KINDS);
    const insecure = watchedKinds(true).map(k => `${k.apiVersion} ${k.kind}`);
    expect(insecure).toEqual(INVENTORY_KINDS.filter(k => !k.apiVersion.startsWith('cert-manager.io/')).map(k => `${k.apiVersion} ${k.kind}`));
    expect(INVENTORY_KINDS.filter(k => k.apiVersion.startsWith('cert-manager.io/')).map(k => k.kind).sort()).toEqual(['Certificate', 'ClusterIssuer', 'Issuer']);
  });
});

describe('where an operator serving some namespaces prunes', () => {
  test('the served namespaces, the shared frps\'s (render\'s default) and cert-manager\'s; every namespace when it serves all', () => {
    expect(writtenNamespaces([], {})).toBeUndefined();
    expect([...writtenNamespaces(['ai'], {})!].sort()).toEqual(['ai', 'cert-manager']);
    expect([...writtenNamespaces(['ai', 'web'], {})!].sort()).toEqual(['ai', 'cert-manager', 'default', 'web']);
    expect([...writtenNamespaces(['ai'], { serverNamespace: 'frp', certManagerNamespace: 'cm' })!].sort()).toEqual(['ai', 'cm', 'frp']);
    expect([...writtenNamespaces(['ai'], { serverNamespace: 'frp', insecureSkipVerify: true })!].sort()).toEqual(['ai', 'frp']);
  });

  test('another operator\'s object elsewhere (the same field manager) is not pruned; cluster-scoped ones still are', () => {
    const applied = (kind: string, name: string, namespace?: string) => ({
      apiVersion: 'v1', kind, metadata: { name, ...(namespace ? { namespace } : {}), managedFields: [{ manager: FIELD_MANAGER, operation: 'Apply' }] },
    });
    const inventory = [applied('ConfigMap', 'a', 'ai'), applied('ConfigMap', 'b', 'elsewhere'), applied('ConfigMap', 'c', 'frp'), applied('ClusterIssuer', 'ca')];
    const scope = writtenNamespaces(['ai'], { serverNamespace: 'frp' });
    expect(planPrune(inventory, new Set(), scope).map(o => o.metadata.name)).toEqual(['a', 'c', 'ca']);
    expect(planPrune(inventory, new Set(), undefined).map(o => o.metadata.name)).toEqual(['a', 'b', 'c', 'ca']);
  });
});
