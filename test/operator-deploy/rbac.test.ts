import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import * as fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { APPLY_VERBS, MANAGED_KINDS, planOperatorRbac, READ_VERBS } from '../../lib/operator-deploy/_rbac';
import { GRPC_SERVICE, WEB_SERVICE } from '../helpers/cli-manifests';
import { cases, runInProcess } from '../helpers/input-cases';

/**
 * The operator's permissions cover exactly the kinds its bundles contain: every
 * kind any bundle of the composition renders (the example manifests, the
 * inputs the CLI tests render with every bundle option, and generated specs)
 * is in MANAGED_KINDS, and every kind in MANAGED_KINDS is rendered by some
 * bundle (nothing more).
 */
const MANIFESTS = join(__dirname, '..', '..', 'examples', 'manifests');
const kindOf = (d: any) => `${d.apiVersion.includes('/') ? d.apiVersion.split('/')[0] : ''}/${d.kind}`;

function render(docs: string[], ...options: string[]): any[] {
  const r = runInProcess({ files: docs, options, kind: 'fixed' });
  if (r.code !== 0) throw new Error(`render ${options.join(' ')} failed: ${r.err}`);
  return parseAllDocuments(r.out).map(d => d.toJS());
}

const yaml = (o: unknown) => JSON.stringify(o);
const TCP_PG = { apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', metadata: { name: 'pg', namespace: 'db' }, spec: { serviceType: 'tcp', backends: { endpoints: [{ host: 'pg.internal', port: 5432 }] }, expose: { type: 'port', port: 5432 } } };
const examples = readdirSync(MANIFESTS).filter(f => f.endsWith('.yaml')).sort().map(f => readFileSync(join(MANIFESTS, f), 'utf8'));

/** Bundles over every bundle option and spec feature the CLI tests exercise. */
function fixedBundles(): any[][] {
  return [
    ...examples.map(e => render([e])),
    render(examples),
    render([yaml(TCP_PG), GRPC_SERVICE], '--insecure-skip-verify'),
    render([GRPC_SERVICE, WEB_SERVICE], '--namespace', 'frp', '--subdomain-host', 'apps.example.com'),
    render([yaml(TCP_PG)], '--frps-replicas', '3'),
    render([yaml({ ...TCP_PG, spec: { serviceType: 'udp', backends: { endpoints: [{ host: '10.0.0.53', port: 53 }] }, expose: { type: 'port', port: 53, gateway: { name: 'public', namespace: 'gateways', sectionName: 'dns' } } } })]),
    render([yaml({ ...TCP_PG, spec: { ...TCP_PG.spec, expose: { type: 'port', port: 5432, gateway: { name: 'public', namespace: 'gateways' } } } })]),
    render([yaml({ apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', metadata: { name: 'web', namespace: 'web' }, spec: { serviceType: 'http', backends: { endpoints: [{ host: 'web.internal', port: 80 }] }, expose: { domain: 'web.example.com', gateway: { name: 'public', namespace: 'gateways' } } } })]),
    render([yaml(TCP_PG)], '--frps-service-type', 'LoadBalancer', '--frps-address', 'frps.example.com', '--client-cidr', '198.51.100.0/24'),
  ];
}

describe('the operator\'s RBAC covers exactly the kinds of its bundles', () => {
  const seen = new Map<string, string>();
  const apiVersions = new Map<string, Set<string>>();
  const note = (docs: any[], from: string) => {
    for (const d of docs) {
      if (!seen.has(kindOf(d))) seen.set(kindOf(d), from);
      apiVersions.set(kindOf(d), new Set([...apiVersions.get(kindOf(d)) ?? [], d.apiVersion]));
    }
  };

  beforeAll(() => {
    fixedBundles().forEach((b, i) => note(b, `fixed bundle ${i}`));
    // generated specs: mutations, several services together, every option set of the generator
    let rendered = 0;
    fc.assert(fc.property(cases, c => {
      const r = runInProcess(c);
      if (r.code === 0) {
        rendered++;
        note(parseAllDocuments(r.out).map(d => d.toJS()), `generated case ${JSON.stringify(c.options)} ${c.files.join('---\n').slice(0, 200)}`);
      }
    }), { numRuns: 400, seed: 20261206 });
    expect(rendered).toBeGreaterThan(100);
  }, 600_000);

  test('every kind a bundle contains is a managed kind (else the operator could not apply it)', () => {
    const managed = new Set(MANAGED_KINDS.map(k => `${k.group}/${k.kind}`));
    expect([...seen.entries()].filter(([k]) => !managed.has(k))).toEqual([]);
  });

  test('every managed kind is in some bundle (no permission for a kind no bundle contains)', () => {
    expect(MANAGED_KINDS.map(k => `${k.group}/${k.kind}`).filter(k => !seen.has(k))).toEqual([]);
  });

  test('with insecureSkipVerify a bundle has no cert-manager kind (the operator then gets none)', () => {
    const kinds = render([yaml(TCP_PG), GRPC_SERVICE], '--insecure-skip-verify').map(kindOf);
    expect(kinds.filter(k => k.startsWith('cert-manager.io/'))).toEqual([]);
    expect(MANAGED_KINDS.filter(k => k.certManager).map(k => `${k.group}/${k.kind}`).sort()).toEqual([...seen.keys()].filter(k => k.startsWith('cert-manager.io/')).sort());
  });

  test('each kind is rendered in the one apiVersion the list gives (the controller watches that version)', () => {
    expect(MANAGED_KINDS.filter(k => ![...apiVersions.get(`${k.group}/${k.kind}`) ?? []].every(v => v === k.apiVersion))
      .map(k => `${k.kind}: listed ${k.apiVersion}, rendered ${[...apiVersions.get(`${k.group}/${k.kind}`) ?? []].join(', ')}`)).toEqual([]);
  });

  test('the kinds, for the record', () => {
    expect([...seen.keys()].sort()).toEqual(MANAGED_KINDS.map(k => `${k.group}/${k.kind}`).sort());
    expect([...seen.keys()]).not.toContain('/Secret');
  });
});

describe('planOperatorRbac', () => {
  const ALL_NS = planOperatorRbac({ namespace: 'frp-system', watchNamespaces: [], writeNamespaces: [], certManager: true });

  test('every namespace: one ClusterRole with the managed kinds and the controller\'s own needs; the Lease in a Role of its namespace', () => {
    const byResource = new Map(ALL_NS.cluster.flatMap(r => r.resources.map(res => [`${r.apiGroups[0]}/${res}`, r.verbs] as const)));
    for (const k of MANAGED_KINDS) expect(byResource.get(`${k.group}/${k.resource}`)).toEqual(APPLY_VERBS);
    expect(byResource.get('frp.io/distributedservices')).toEqual(['get', 'list', 'patch', 'update', 'watch']);
    expect(byResource.get('frp.io/distributedservices/status')).toEqual(['get', 'patch', 'update']);
    expect(byResource.get('frp.io/distributedservices/finalizers')).toEqual(['update']);
    expect(byResource.get('events.k8s.io/events')).toEqual(['create', 'patch']);
    expect(byResource.get('/pods')).toEqual(['list', 'watch']);
    expect(byResource.get('discovery.k8s.io/endpointslices')).toEqual(['list', 'watch']);
    expect(byResource.size).toBe(MANAGED_KINDS.length + 6);
    expect(ALL_NS.cluster.every(r => !r.resources.includes('secrets') && !r.verbs.includes('*') && !r.resources.includes('*'))).toBe(true);
    expect(ALL_NS.cluster.some(r => r.apiGroups.includes('coordination.k8s.io'))).toBe(false);
    expect(ALL_NS.namespaced).toEqual([{
      namespace: 'frp-system',
      rules: [
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'patch', 'update', 'watch'], resourceNames: ['cdk8s-frp-operator'] },
      ],
    }]);
  });

  test('some namespaces: writes in Roles there (and where bundles write); cluster-wide only ClusterIssuers and the informers\' list/watch', () => {
    const plan = planOperatorRbac({ namespace: 'ops', watchNamespaces: ['a', 'b'], writeNamespaces: ['frp', 'cert-manager', 'a'], certManager: true });
    expect(plan.cluster.filter(r => r.verbs !== READ_VERBS)).toEqual([{ apiGroups: ['cert-manager.io'], resources: ['clusterissuers'], verbs: APPLY_VERBS }]);
    expect(plan.cluster.filter(r => r.verbs === READ_VERBS).flatMap(r => r.resources).sort())
      .toEqual([...MANAGED_KINDS.filter(k => k.namespaced).map(k => k.resource), 'endpointslices'].sort());
    expect(READ_VERBS).toEqual(['list', 'watch']);
    expect(plan.namespaced.map(n => n.namespace)).toEqual(['a', 'b', 'cert-manager', 'frp', 'ops']);
    const resources = (ns: string) => plan.namespaced.find(n => n.namespace === ns)!.rules.flatMap(r => r.resources).sort();
    const managedNamespaced = MANAGED_KINDS.filter(k => k.namespaced).map(k => k.resource);
    expect(resources('a')).toEqual([...managedNamespaced, 'distributedservices', 'distributedservices/finalizers', 'distributedservices/status', 'endpointslices', 'events', 'pods'].sort());
    expect(resources('b')).toEqual(resources('a'));
    // written to, not watched: the managed kinds only
    expect(resources('frp')).toEqual([...managedNamespaced].sort());
    expect(resources('ops')).toEqual(['leases', 'leases']);
  });

  test('insecureSkipVerify: no cert-manager kind at all, so the ClusterRole only reads with some namespaces', () => {
    const plan = planOperatorRbac({ namespace: 'ops', watchNamespaces: ['a'], writeNamespaces: ['a'], certManager: false });
    expect(plan.cluster.every(r => r.verbs === READ_VERBS && !r.apiGroups.includes('cert-manager.io'))).toBe(true);
    expect(plan.namespaced.flatMap(n => n.rules).some(r => r.apiGroups.includes('cert-manager.io'))).toBe(false);
  });
});
